#include "route/stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "route/outlier.hpp"

namespace meridian::route {
namespace {

using namespace std::chrono_literals;
using V = AttemptReport::Verdict;

const TimePoint T0 = TimePoint(1000s);

AttemptReport Ok(Duration ttft, Duration total, std::int64_t tokens = 0) {
  AttemptReport r;
  r.verdict = V::kSuccess;
  r.ttft = ttft;
  r.total = total;
  r.output_tokens = tokens;
  return r;
}
AttemptReport Failed() {
  AttemptReport r;
  r.verdict = V::kFailure;
  return r;
}

TEST(Ewma, FirstSampleThenWeighted) {
  Ewma e(0.5);
  EXPECT_EQ(e.count(), 0u);
  e.Add(100);
  EXPECT_EQ(e.value(), 100);
  e.Add(200);
  EXPECT_EQ(e.value(), 150);
  e.Add(50);
  EXPECT_EQ(e.value(), 100);
  EXPECT_EQ(e.count(), 3u);
}

TEST(LiveStats, EwmasFromAttempts) {
  StatsOptions o;
  o.alpha = 0.5;
  LiveStats s(o);
  Admission a = s.Begin(T0);
  EXPECT_EQ(a, Admission::kAdmitted);
  EXPECT_EQ(s.in_flight(), 1);
  s.End(a, Ok(100ms, 1100ms, 500), T0);  // 500 tokens in 1 s
  EXPECT_EQ(s.in_flight(), 0);
  StatsView v = s.View(T0);
  EXPECT_DOUBLE_EQ(v.ttft_ms, 100);
  EXPECT_DOUBLE_EQ(v.latency_ms, 1100);
  EXPECT_DOUBLE_EQ(v.tokens_per_s, 500);
  EXPECT_DOUBLE_EQ(v.error_rate, 0);
  EXPECT_EQ(v.samples, 1u);
  a = s.Begin(T0);
  s.End(a, Ok(300ms, 600ms, 300), T0);  // 1000 tok/s
  v = s.View(T0);
  EXPECT_DOUBLE_EQ(v.ttft_ms, 200);
  EXPECT_DOUBLE_EQ(v.latency_ms, 850);
  EXPECT_DOUBLE_EQ(v.tokens_per_s, 750);
  a = s.Begin(T0);
  s.End(a, Failed(), T0);
  v = s.View(T0);
  EXPECT_DOUBLE_EQ(v.error_rate, 0.5);
  EXPECT_DOUBLE_EQ(v.latency_ms, 850);  // failures do not move latency
  EXPECT_EQ(v.samples, 2u);
}

TEST(LiveStats, NeutralOutcomesMoveNoRateAndRejectedEndIsNoop) {
  LiveStats s;
  Admission a = s.Begin(T0);
  AttemptReport n;
  n.verdict = V::kNeutral;
  s.End(a, n, T0);
  EXPECT_EQ(s.View(T0).error_rate, 0);
  EXPECT_EQ(s.View(T0).samples, 0u);
  s.End(Admission::kRejected, Failed(), T0);
  EXPECT_EQ(s.in_flight(), 0);
  EXPECT_EQ(s.View(T0).error_rate, 0);
}

TEST(LiveStats, BreakerAdmissionAndLastResort) {
  StatsOptions o;
  o.breaker.consecutive_failures = 2;
  o.breaker.cool_down = 5s;
  LiveStats s(o);
  for (int i = 0; i < 2; ++i) s.End(s.Begin(T0), Failed(), T0);
  StatsView v = s.View(T0);
  EXPECT_EQ(v.breaker, BreakerState::kOpen);
  EXPECT_EQ(v.health, Health::kOpen);
  EXPECT_EQ(s.Begin(T0), Admission::kRejected);
  EXPECT_EQ(s.in_flight(), 0);
  Admission forced = s.Begin(T0, /*last_resort=*/true);
  EXPECT_EQ(forced, Admission::kForced);
  EXPECT_EQ(s.in_flight(), 1);
  s.End(forced, Ok(10ms, 20ms), T0);
  EXPECT_EQ(s.View(T0).breaker, BreakerState::kOpen);  // a forced success does not close it
  EXPECT_EQ(s.View(T0 + 5s).health, Health::kHalfOpen);
  Admission probe = s.Begin(T0 + 5s);
  EXPECT_EQ(probe, Admission::kProbe);
  s.End(probe, Ok(10ms, 20ms), T0 + 5s);
  EXPECT_EQ(s.View(T0 + 5s).breaker, BreakerState::kClosed);
}

TEST(LiveStats, RateLimitHeadroom) {
  LiveStats s;
  RateLimit r;
  r.limit_requests = 100;
  r.remaining_requests = 0;
  r.reset_requests = 2s;
  r.limit_tokens = 1000;
  r.remaining_tokens = 400;
  r.reset_tokens = 10s;
  s.ObserveRateLimit(r, T0);
  StatsView v = s.View(T0);
  EXPECT_EQ(v.health, Health::kRateLimited);
  EXPECT_EQ(v.remaining_tokens, 400);
  EXPECT_EQ(v.headroom, 0.0);
  v = s.View(T0 + 2s);
  EXPECT_EQ(v.health, Health::kHealthy);
  EXPECT_EQ(v.remaining_tokens, 400);
  EXPECT_FALSE(s.View(T0 + 10s).remaining_tokens);  // past its reset
  // retry-after, and an explicit block.
  RateLimit ra;
  ra.retry_after = 3s;
  s.ObserveRateLimit(ra, T0 + 10s);
  EXPECT_EQ(s.View(T0 + 12s).health, Health::kRateLimited);
  EXPECT_EQ(s.View(T0 + 13s).health, Health::kHealthy);
  s.BlockUntil(T0 + 20s);
  EXPECT_EQ(s.View(T0 + 19s).health, Health::kRateLimited);
  // An open breaker outranks rate limiting.
  StatsOptions o;
  o.breaker.consecutive_failures = 1;
  LiveStats t(o);
  t.BlockUntil(T0 + 60s);
  t.End(t.Begin(T0), Failed(), T0);
  EXPECT_EQ(t.View(T0).health, Health::kOpen);
}

TEST(LiveStats, TtftQuantile) {
  LiveStats s;
  EXPECT_FALSE(s.TtftQuantile(0.95));
  for (int i = 1; i <= 100; ++i) s.End(s.Begin(T0), Ok(std::chrono::milliseconds(i), 200ms), T0);
  // The ring keeps the last 64: 37..100 ms.
  EXPECT_EQ(s.TtftQuantile(0.0), Duration(37ms));
  EXPECT_EQ(s.TtftQuantile(0.5), Duration(68ms));
  EXPECT_EQ(s.TtftQuantile(0.95), Duration(97ms));
  EXPECT_EQ(s.TtftQuantile(1.0), Duration(100ms));
  LiveStats few;
  for (int i = 0; i < 3; ++i) few.End(few.Begin(T0), Ok(10ms, 20ms), T0);
  EXPECT_FALSE(few.TtftQuantile(0.5));
  EXPECT_EQ(few.TtftQuantile(0.5, 3), Duration(10ms));
}

TEST(LiveStats, ConcurrentUpdatesAreConsistent) {
  StatsOptions o;
  o.breaker.consecutive_failures = 0;
  o.breaker.error_rate = 1.0;
  LiveStats s(o);
  constexpr int kThreads = 4, kPer = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPer; ++i) {
        Admission a = s.Begin(T0);
        (void)s.View(T0);
        s.End(a, Ok(50ms, 100ms, 10), T0);
      }
    });
  }
  for (auto& th : threads) th.join();
  StatsView v = s.View(T0);
  EXPECT_EQ(v.in_flight, 0);
  EXPECT_EQ(v.samples, static_cast<std::uint32_t>(kThreads * kPer));
  EXPECT_DOUBLE_EQ(v.latency_ms, 100);
}

TEST(Outliers, LatencyAndErrorRateFarFromThePool) {
  OutlierOptions o;
  std::vector<OutlierInput> pool{
      {100, 0.01, 50, false}, {120, 0.02, 50, false}, {110, 0.00, 50, false},
      {900, 0.01, 50, false},  // latency: > 3 × 110 and 790 ms above
      {105, 0.60, 50, false},  // error rate: 0.59 above the median
  };
  o.max_ejected_fraction = 1.0;
  auto v = DetectOutliers(pool, o);
  EXPECT_EQ(v, (std::vector<OutlierKind>{OutlierKind::kNone, OutlierKind::kNone, OutlierKind::kNone,
                                         OutlierKind::kLatency, OutlierKind::kErrorRate}));
}

TEST(Outliers, NeedsSamplesPoolSizeAndGap) {
  OutlierOptions o;
  o.max_ejected_fraction = 1.0;
  // Too few samples on the slow one: not judged.
  std::vector<OutlierInput> a{{100, 0, 50, false}, {100, 0, 50, false}, {100, 0, 50, false}, {900, 0, 5, false}};
  EXPECT_EQ(DetectOutliers(a, o)[3], OutlierKind::kNone);
  // Pool of two: nobody.
  std::vector<OutlierInput> b{{100, 0, 50, false}, {900, 0.9, 50, false}};
  EXPECT_EQ(DetectOutliers(b, o)[1], OutlierKind::kNone);
  // 3 × but under the absolute gap (10 ms vs 40 ms).
  std::vector<OutlierInput> c{{10, 0, 50, false}, {10, 0, 50, false}, {10, 0, 50, false}, {40, 0, 50, false}};
  EXPECT_EQ(DetectOutliers(c, o)[3], OutlierKind::kNone);
}

TEST(Outliers, CapCountsTheAlreadyEjectedAndPicksTheWorst) {
  OutlierOptions o;
  o.max_ejected_fraction = 0.43;  // 6 members: at most 2 out; 7: at most 3
  std::vector<OutlierInput> pool{
      {100, 0, 50, false}, {100, 0, 50, false}, {100, 0, 50, false},
      {0, 0, 0, true},         // already out
      {500, 0, 50, false},     // latency 5×
      {900, 0, 50, false},     // latency 9×: worse
  };
  auto v = DetectOutliers(pool, o);
  EXPECT_EQ(v[4], OutlierKind::kNone);
  EXPECT_EQ(v[5], OutlierKind::kLatency);
  EXPECT_EQ(v[3], OutlierKind::kNone);
  pool.push_back({100, 0.9, 50, false});  // 7 members: one out already, 2 more: errors first
  v = DetectOutliers(pool, o);
  EXPECT_EQ(v[6], OutlierKind::kErrorRate);
  EXPECT_EQ(v[5], OutlierKind::kLatency);
  EXPECT_EQ(v[4], OutlierKind::kNone);
}

TEST(StatsTable, GetFindAndSweep) {
  StatsOptions so;
  so.alpha = 1.0;
  StatsTable table(so);
  EXPECT_EQ(table.Find("a", "m"), nullptr);
  LiveStats& a = table.Get("a", "m");
  EXPECT_EQ(&a, &table.Get("a", "m"));
  EXPECT_EQ(&a, table.Find("a", "m"));
  EXPECT_NE(&a, &table.Get("a", "other"));
  for (const char* id : {"b", "c", "d"}) (void)table.Get(id, "m");
  auto feed = [&](std::string_view id, Duration total) {
    LiveStats& s = table.Get(id, "m");
    for (int i = 0; i < 30; ++i) s.End(s.Begin(T0), Ok(10ms, total), T0);
  };
  feed("a", 100ms);
  feed("b", 110ms);
  feed("c", 105ms);
  feed("d", 2s);
  OutlierOptions oo;
  oo.base_ejection = 10s;
  oo.max_ejection = 25s;
  auto out = table.SweepOutliers("m", T0, oo);
  EXPECT_EQ(out, std::vector<std::string>{"d"});
  LiveStats& d = table.Get("d", "m");
  EXPECT_EQ(d.View(T0).health, Health::kOpen);
  EXPECT_EQ(d.breaker().open_reason(), OpenReason::kOutlier);
  EXPECT_EQ(d.breaker().open_until(), T0 + 10s);
  EXPECT_TRUE(table.SweepOutliers("m", T0 + 1s, oo).empty());  // already out: not judged again
  // Back after the ejection (half-open, a probe closes it); ejected again: longer, capped.
  Admission p = d.Begin(T0 + 10s);
  EXPECT_EQ(p, Admission::kProbe);
  d.End(p, Ok(10ms, 2s), T0 + 10s);
  EXPECT_EQ(d.View(T0 + 10s).breaker, BreakerState::kClosed);
  EXPECT_EQ(table.SweepOutliers("m", T0 + 10s, oo), std::vector<std::string>{"d"});
  EXPECT_EQ(d.breaker().open_until(), T0 + 30s);
  EXPECT_EQ(d.ejections(), 2u);
  int seen = 0;
  table.ForEach([&](std::string_view, std::string_view, LiveStats&) { ++seen; });
  EXPECT_EQ(seen, 5);
}

}  // namespace
}  // namespace meridian::route
