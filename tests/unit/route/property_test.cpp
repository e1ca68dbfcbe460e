// Property test: thousands of random routing problems and simulated executions.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "route/retry.hpp"
#include "route/router.hpp"

namespace meridian::route {
namespace {

using namespace std::chrono_literals;

TEST(RouteProperty, PlansStayInsideTheEligibleSetAndExecutorsNeverRetryAfterTheFirstByte) {
  Rng gen(20240501);
  std::vector<std::string> names;
  for (int i = 0; i < 24; ++i) names.push_back("backend-" + std::to_string(i));
  std::vector<catalog::Entry> entries(4);
  entries[0].prices = {1'000'000, 4'000'000, {}, {}, {}};
  entries[1].prices = {150'000, 600'000, {}, {}, {}};
  entries[2].prices = {5'000'000, std::nullopt, {}, {}, {}};
  entries[3].prices = {0, 0, {}, {}, {}};
  const Strategy strategies[] = {Strategy::kPowerOfTwo, Strategy::kCheapest, Strategy::kFastest,
                                 Strategy::kWeighted, Strategy::kLeastBusy, Strategy::kPriority};
  const int statuses[] = {200, 200, 200, 400, 401, 404, 413, 429, 500, 502, 503, 529};
  int executed_attempts = 0, cut_streams = 0;

  for (int iter = 0; iter < 5000; ++iter) {
    const TimePoint now = TimePoint(1000s);
    std::size_t n = gen.Below(41);  // 0..40 candidates, ids from 24 names: duplicates happen
    std::vector<Candidate> c(n);
    for (auto& x : c) {
      x.backend_id = names[gen.Below(static_cast<std::uint32_t>(names.size()))];
      x.weight = gen.Below(4);
      std::uint32_t p = gen.Below(5);
      x.prices = p < 4 ? &entries[p] : nullptr;
      x.stats.health = static_cast<Health>(gen.Below(4));
      x.stats.samples = gen.Below(3) ? gen.Below(100) : 0;
      x.stats.ttft_samples = x.stats.samples;
      x.stats.latency_ms = gen.Uniform() * 5000;
      x.stats.ttft_ms = gen.Uniform() * 1000;
      x.stats.tokens_per_s = gen.Below(2) ? gen.Uniform() * 200 : 0;
      x.stats.error_rate = gen.Uniform();
      x.stats.in_flight = static_cast<std::int32_t>(gen.Below(10));
      if (gen.Below(5) == 0) x.stats.remaining_tokens = gen.Below(3000);
    }
    Rng route_rng(gen.Next());
    RouteRequest r;
    r.strategy = strategies[gen.Below(5)];
    r.estimated_input_tokens = gen.Below(2000);
    r.expected_output_tokens = gen.Below(1000);
    r.latency_goal = gen.Below(2) ? LatencyGoal::kTtft : LatencyGoal::kTotal;
    r.open_policy = gen.Below(2) ? OpenPolicy::kLast : OpenPolicy::kExclude;
    r.max_attempts = gen.Below(21);
    r.now = now;
    r.deadline = now + std::chrono::milliseconds(gen.Below(20000));
    r.rng = gen.Below(4) ? &route_rng : nullptr;

    Plan plan = Route(r, c);
    SCOPED_TRACE(::testing::Message() << "iteration " << iter << " strategy " << StrategyName(r.strategy));

    // Inside the eligible set, no repeats, bounded.
    std::set<std::string_view> seen;
    // The first occurrence of each id decides whether it is eligible.
    std::set<std::string_view> first_seen, eligible_first;
    for (const auto& x : c) {
      if (!first_seen.insert(x.backend_id).second) continue;
      if (!(r.open_policy == OpenPolicy::kExclude && x.stats.health == Health::kOpen)) {
        eligible_first.insert(x.backend_id);
      }
    }
    ASSERT_LE(plan.size, std::min<std::size_t>(r.max_attempts, Plan::kMaxAttempts));
    int last_tier = -1;
    for (std::uint16_t idx : plan.attempts()) {
      ASSERT_LT(idx, c.size());
      const Candidate& x = c[idx];
      ASSERT_TRUE(eligible_first.count(x.backend_id)) << x.backend_id;
      ASSERT_TRUE(seen.insert(x.backend_id).second) << "repeated " << x.backend_id;
      if (r.open_policy == OpenPolicy::kExclude) {
        ASSERT_NE(x.stats.health, Health::kOpen);
      }
      int tier = static_cast<int>(x.stats.health);
      if (x.stats.remaining_tokens && *x.stats.remaining_tokens < r.estimated_input_tokens + r.expected_output_tokens) {
        tier = std::max(tier, static_cast<int>(Health::kRateLimited));
      }
      ASSERT_GE(tier, last_tier) << "health tiers out of order";
      last_tier = tier;
    }
    // Nothing that could be tried is lost.
    std::size_t expect = r.max_attempts == 0 || r.deadline <= r.now
                             ? 0
                             : std::min<std::size_t>({eligible_first.size(), r.max_attempts, Plan::kMaxAttempts});
    ASSERT_EQ(plan.size, expect);
    ASSERT_EQ(plan.deadline, r.deadline);

    // Simulated executor.
    RetryPolicy policy;
    TimePoint t = now;
    std::uint32_t attempts = 0;
    bool bytes_out = false;
    std::set<std::string_view> tried;
    std::vector<std::string> retry_after_texts{"", "1", "5", "Wed, 01 May 2024 12:00:05 GMT"};
    for (std::size_t pos = 0; pos < plan.size;) {
      ASSERT_FALSE(bytes_out) << "an attempt after a byte reached the client";
      ASSERT_LT(t, plan.deadline) << "an attempt at or after the deadline";
      const Candidate& x = c[plan.order[pos]];
      ASSERT_TRUE(tried.insert(x.backend_id).second) << "a cycle";
      ++attempts;
      ++executed_attempts;
      AttemptOutcome o;
      std::uint32_t kind = gen.Below(8);
      if (kind == 0) {
        o.failure = FailureKind::kConnect;
      } else if (kind == 1) {
        o.failure = FailureKind::kTimeout;
      } else if (kind == 2) {
        o.failure = FailureKind::kReset;  // stream cut after bytes went out
        o.client_bytes_sent = true;
        ++cut_streams;
      } else {
        o.status = statuses[gen.Below(std::size(statuses))];
        o.retry_after = retry_after_texts[gen.Below(4)];
        o.client_bytes_sent = o.status == 200;
      }
      bytes_out = bytes_out || o.client_bytes_sent;
      t += std::chrono::milliseconds(gen.Below(3000));
      RetryContext ctx;
      ctx.attempts_made = attempts;
      ctx.max_attempts = r.max_attempts;
      ctx.has_next = pos + 1 < plan.size;
      ctx.now = t;
      ctx.deadline = plan.deadline;
      ctx.wall_now = WallTime(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h);
      RetryDecision d = DecideRetry(o, ctx, policy);
      ASSERT_NE(d.action, RetryAction::kSameBackend);  // policy allows none
      if (d.action == RetryAction::kStop) break;
      ASSERT_EQ(d.action, RetryAction::kNextBackend);
      ASSERT_FALSE(o.client_bytes_sent);
      ASSERT_TRUE(IsRetryable(o));
      ++pos;
    }
    ASSERT_LE(attempts, r.max_attempts);
  }
  EXPECT_GT(executed_attempts, 5000);
  EXPECT_GT(cut_streams, 100);
}

}  // namespace
}  // namespace meridian::route
