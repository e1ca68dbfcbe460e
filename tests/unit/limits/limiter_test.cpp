#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "limits/errors.hpp"
#include "limits/limits.hpp"

namespace meridian::limits {
namespace {

using namespace std::chrono;  // NOLINT

// 2025-03-15T12:00:00Z: 43,200 s to the end of the day, 16.5 days to the end of the month.
const TimePoint kT0 = TimePoint{sys_days{2025y / March / 15} + hours{12}};

TimePoint At(std::int64_t seconds) { return kT0 + std::chrono::seconds{seconds}; }
TimePoint AtUs(std::int64_t micros) { return kT0 + microseconds{micros}; }

const Scopes kScopes{"acme", "research", "key-1"};

Demand Req(std::int64_t cost = 0, std::int64_t input = 0, std::optional<std::int64_t> max_out = 0) {
  return Demand{cost, input, max_out};
}

// Reserves `demand` until denied (at most `cap` times); keeps the reservations.
int AdmitAll(Limiter& limiter, const Scopes& scopes, const Demand& demand, TimePoint now,
             std::vector<Reservation>& kept, std::optional<Denial>* last = nullptr, int cap = 100'000) {
  int admitted = 0;
  for (int i = 0; i < cap; ++i) {
    auto r = limiter.Reserve(scopes, demand, now);
    if (!r) {
      if (last != nullptr) *last = r.error();
      break;
    }
    kept.push_back(std::move(*r));
    ++admitted;
  }
  return admitted;
}

// ---- rate limits -----------------------------------------------------------------------------

TEST(RateLimit, SixtyPerMinuteExactCounts) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "key-1", {.requests_per_minute = 60});
  std::vector<Reservation> kept;
  std::optional<Denial> denial;
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept, &denial), 60);
  ASSERT_TRUE(denial);
  EXPECT_EQ(denial->kind, DenialKind::kRequests);
  EXPECT_EQ(denial->level, Level::kKey);
  EXPECT_EQ(denial->scope_id, "key-1");
  EXPECT_EQ(denial->retry_after_seconds, 1);
  EXPECT_FALSE(denial->permanent);
  EXPECT_EQ(denial->message, "Rate limit reached for key 'key-1': 60 requests per minute. Retry after 1 s.");
  // Released requests still count.
  kept.clear();
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept), 0);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), AtUs(999'999), kept), 0);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), At(1), kept), 1);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), At(31), kept, &denial), 30);
  EXPECT_EQ(denial->retry_after_seconds, 1);
  // A full minute idle refills to the capacity, not beyond.
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), At(1000), kept), 60);
}

TEST(RateLimit, HundredPerMinuteFractionsCarryOver) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.requests_per_minute = 100});
  std::vector<Reservation> kept;
  std::optional<Denial> denial;
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept), 100);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), At(1), kept), 1);          // 1.667 → 1, 0.667 left
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), AtUs(1'200'000), kept), 1);        // 0.667 + 0.333 = 1
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), AtUs(1'700'000), kept, &denial), 0);  // 0.833
  EXPECT_EQ(denial->retry_after_seconds, 1);  // 0.1 s, rounded up
  EXPECT_EQ(denial->level, Level::kTenant);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), AtUs(1'800'000), kept), 1);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), AtUs(13'800'000), kept), 20);
}

TEST(RateLimit, InputTokensPerMinuteWithSettleRefund) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "key-1", {.input_tokens_per_minute = 10'000});
  std::vector<Reservation> kept;
  std::optional<Denial> denial;
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(0, 3'000), kT0, kept, &denial), 3);
  EXPECT_EQ(denial->kind, DenialKind::kInputTokens);
  EXPECT_EQ(denial->retry_after_seconds, 12);  // 2,000 missing at 10,000/min
  // The first request used 1,000 of its 3,000: 2,000 come back, and the fourth fits.
  limiter.Settle(std::move(kept[0]), Actual{0, 1'000, 0}, kT0);
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->input_tokens_available, 3'000);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(0, 3'000), kT0, kept), 1);
  // Settling above the estimate puts the bucket in debt.
  limiter.Settle(std::move(kept[1]), Actual{0, 9'000, 0}, kT0);
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->input_tokens_available, -6'000);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(0, 1), kT0, kept, &denial), 0);
  EXPECT_EQ(denial->retry_after_seconds, 37);  // 6,001 tokens: 36.006 s
  // A request without input tokens is not stopped by the input bucket.
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(0, 0), kT0, kept, nullptr, 3), 3);
}

TEST(RateLimit, OutputTokensUseTheDefaultMaximum) {
  Limiter limiter(Limiter::Options{.default_max_output_tokens = 4'096});
  limiter.Configure(Level::kTeam, "research", {.output_tokens_per_minute = 10'000});
  EXPECT_EQ(limiter.MaxOutputTokens(std::nullopt), 4'096);
  EXPECT_EQ(limiter.MaxOutputTokens(100), 100);
  std::vector<Reservation> kept;
  std::optional<Denial> denial;
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(0, 0, std::nullopt), kT0, kept, &denial), 2);
  EXPECT_EQ(denial->kind, DenialKind::kOutputTokens);
  EXPECT_EQ(denial->level, Level::kTeam);
  EXPECT_EQ(kept[0].held().output_tokens, 4'096);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(0, 0, 1'000), kT0, kept), 1);  // 1,808 left
}

TEST(RateLimit, RequestLargerThanTheLimitIsPermanent) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "key-1", {.input_tokens_per_minute = 10'000});
  auto r = limiter.Reserve(kScopes, Req(0, 20'000), kT0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().permanent);
  EXPECT_EQ(r.error().retry_after_seconds, 0);
  EXPECT_EQ(r.error().message,
            "Request too large for key 'key-1': it needs 20000 input tokens, the limit is 10000 per minute.");
  // Nothing was taken.
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->input_tokens_available, 10'000);
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->in_flight, 0);
}

TEST(Concurrency, SlotsComeBackOnSettleReleaseAndDestruction) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "key-1", {.concurrent_requests = 2});
  std::vector<Reservation> kept;
  std::optional<Denial> denial;
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept, &denial), 2);
  EXPECT_EQ(denial->kind, DenialKind::kConcurrency);
  EXPECT_EQ(denial->retry_after_seconds, 1);
  limiter.Release(std::move(kept[0]));
  EXPECT_FALSE(kept[0].active());
  limiter.Release(std::move(kept[0]));  // twice: ignored
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept), 1);
  limiter.Settle(std::move(kept[1]), Actual{}, kT0);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept), 1);
  kept.clear();  // destructors release
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->in_flight, 0);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept), 2);
}

TEST(Concurrency, ZeroMeansBlocked) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.concurrent_requests = 0});
  auto r = limiter.Reserve(kScopes, Req(), kT0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().permanent);
}

// ---- budgets ---------------------------------------------------------------------------------

TEST(Budget, ReservationNeverOvershoots) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 1'000'000});
  auto a = limiter.Reserve(kScopes, Req(400'000), kT0);
  auto b = limiter.Reserve(kScopes, Req(400'000), kT0);
  ASSERT_TRUE(a && b);
  auto c = limiter.Reserve(kScopes, Req(300'000), kT0);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, DenialKind::kDailyBudget);
  EXPECT_EQ(c.error().retry_after_seconds, 43'200);
  EXPECT_EQ(c.error().message,
            "Budget exhausted for tenant 'acme': daily budget of $1.000000 (this request reserves up to "
            "$0.300000). It resets in 43200 s.");
  // Exactly the rest fits.
  auto d = limiter.Reserve(kScopes, Req(200'000), kT0);
  ASSERT_TRUE(d);
  EXPECT_EQ(limiter.Inspect(Level::kTenant, "acme", kT0)->reserved_micro_usd, 1'000'000);
  // Settling below the reservation frees the difference.
  limiter.Settle(std::move(*a), Actual{100'000, 0, 0}, kT0);
  auto u = limiter.Inspect(Level::kTenant, "acme", kT0);
  EXPECT_EQ(u->reserved_micro_usd, 600'000);
  EXPECT_EQ(u->spent_today_micro_usd, 100'000);
  EXPECT_EQ(u->spent_this_month_micro_usd, 100'000);
  EXPECT_TRUE(limiter.Reserve(kScopes, Req(300'000), kT0));
}

TEST(Budget, SeededSpendCountsBeforeTheFirstRequestAndKeepsAcrossConfigure) {
  // The ledger's spend of today and this month, seeded at start, before the limits are set.
  Limiter limiter;
  limiter.SeedSpent(Level::kTenant, "acme", 700'000, 2'500'000, kT0);
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 1'000'000, .usd_per_month_micro = 3'000'000});
  auto u = limiter.Inspect(Level::kTenant, "acme", kT0);
  EXPECT_EQ(u->spent_today_micro_usd, 700'000);
  EXPECT_EQ(u->spent_this_month_micro_usd, 2'500'000);
  auto over = limiter.Reserve(kScopes, Req(300'001), kT0);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().kind, DenialKind::kDailyBudget);
  EXPECT_TRUE(limiter.Reserve(kScopes, Req(300'000), kT0));
  // The next UTC day starts from zero; the month still holds what was seeded.
  auto next_day = limiter.Inspect(Level::kTenant, "acme", At(86'400));
  EXPECT_EQ(next_day->spent_today_micro_usd, 0);
  EXPECT_EQ(next_day->spent_this_month_micro_usd, 2'500'000);
  // Negative amounts count as zero.
  limiter.SeedSpent(Level::kKey, "k", -5, -5, kT0);
  EXPECT_EQ(limiter.Inspect(Level::kKey, "k", kT0)->spent_today_micro_usd, 0);
}

TEST(Budget, SettleAboveTheReservationIsTheOnlyOvershoot) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 1'000'000});
  auto a = limiter.Reserve(kScopes, Req(900'000), kT0);
  ASSERT_TRUE(a);
  limiter.Settle(std::move(*a), Actual{1'200'000, 0, 0}, kT0);
  EXPECT_EQ(limiter.Inspect(Level::kTenant, "acme", kT0)->spent_today_micro_usd, 1'200'000);
  auto z = limiter.Reserve(kScopes, Req(0), kT0);  // even a free request: the budget is used up
  ASSERT_FALSE(z);
  EXPECT_EQ(z.error().kind, DenialKind::kDailyBudget);
}

TEST(Budget, FreeRequestsPassUntilTheBudgetIsUsedUp) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 1'000});
  auto a = limiter.Reserve(kScopes, Req(999), kT0);
  ASSERT_TRUE(a);
  EXPECT_TRUE(limiter.Reserve(kScopes, Req(0), kT0));
  auto b = limiter.Reserve(kScopes, Req(1), kT0);
  ASSERT_TRUE(b);
  EXPECT_FALSE(limiter.Reserve(kScopes, Req(0), kT0));
}

TEST(Budget, TooExpensiveIsPermanent) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "key-1", {.usd_per_month_micro = 5'000'000});
  auto r = limiter.Reserve(kScopes, Req(5'000'001), kT0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().permanent);
  EXPECT_EQ(r.error().kind, DenialKind::kMonthlyBudget);
  EXPECT_EQ(r.error().message,
            "Request too expensive for key 'key-1': it may cost up to $5.000001, the monthly budget is $5.000000.");
}

TEST(Budget, DailyWindowResetsAtUtcMidnight) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 1'000});
  auto a = limiter.Reserve(kScopes, Req(1'000), kT0);
  ASSERT_TRUE(a);
  limiter.Settle(std::move(*a), Actual{1'000, 0, 0}, kT0);
  const TimePoint last_us = kT0 + hours{12} - microseconds{1};  // 23:59:59.999999
  auto denied = limiter.Reserve(kScopes, Req(1), last_us);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().retry_after_seconds, 1);
  auto next = limiter.Reserve(kScopes, Req(1'000), kT0 + hours{12});
  ASSERT_TRUE(next);
  auto u = limiter.Inspect(Level::kTenant, "acme", kT0 + hours{12});
  EXPECT_EQ(u->spent_today_micro_usd, 0);
  EXPECT_EQ(u->spent_this_month_micro_usd, 1'000);
}

TEST(Budget, MonthlyWindowAndReservationsAcrossTheBoundary) {
  Limiter limiter;
  limiter.Configure(Level::kTeam, "research", {.usd_per_month_micro = 10'000});
  auto a = limiter.Reserve(kScopes, Req(6'000), kT0);
  ASSERT_TRUE(a);
  auto b = limiter.Reserve(kScopes, Req(6'000), kT0);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().retry_after_seconds, 1'425'600);  // to 2025-04-01T00:00Z
  limiter.Settle(std::move(*a), Actual{6'000, 0, 0}, kT0);
  // A reservation in flight over the month's end still counts in the new month; its cost
  // lands in the month it is settled in.
  const TimePoint april = TimePoint{sys_days{2025y / April / 1}};
  auto c = limiter.Reserve(kScopes, Req(4'000), april - seconds{1});
  ASSERT_TRUE(c);
  EXPECT_FALSE(limiter.Reserve(kScopes, Req(7'000), april));
  EXPECT_TRUE(limiter.Reserve(kScopes, Req(6'000), april));
  limiter.Settle(std::move(*c), Actual{3'000, 0, 0}, april);
  EXPECT_EQ(limiter.Inspect(Level::kTeam, "research", april)->spent_this_month_micro_usd, 3'000);
}

// ---- levels ----------------------------------------------------------------------------------

TEST(Levels, AllOrNothing) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme",
                    {.usd_per_day_micro = 1'000'000, .requests_per_minute = 100,
                     .input_tokens_per_minute = 100'000, .concurrent_requests = 10});
  limiter.Configure(Level::kTeam, "research", {.usd_per_day_micro = 500'000});
  limiter.Configure(Level::kKey, "key-1", {.requests_per_minute = 1});
  auto a = limiter.Reserve(kScopes, Req(100'000, 1'000), kT0);
  ASSERT_TRUE(a);
  auto b = limiter.Reserve(kScopes, Req(100'000, 1'000), kT0);  // the key says no
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().level, Level::kKey);
  auto tenant = limiter.Inspect(Level::kTenant, "acme", kT0);
  EXPECT_EQ(tenant->reserved_micro_usd, 100'000);
  EXPECT_EQ(tenant->in_flight, 1);
  EXPECT_EQ(tenant->requests_available, 99);
  EXPECT_EQ(tenant->input_tokens_available, 99'000);
  EXPECT_EQ(limiter.Inspect(Level::kTeam, "research", kT0)->reserved_micro_usd, 100'000);
  // The team denies a request the tenant and another key would admit.
  auto c = limiter.Reserve({"acme", "research", "key-2"}, Req(400'001), kT0);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().level, Level::kTeam);
  EXPECT_EQ(c.error().scope_id, "research");
  EXPECT_EQ(limiter.Inspect(Level::kTenant, "acme", kT0)->reserved_micro_usd, 100'000);
  // Tenant first: when several levels deny, the tenant is named.
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 100'000});
  auto d = limiter.Reserve(kScopes, Req(1), kT0);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().level, Level::kTenant);
}

TEST(Levels, UnconfiguredAndRemovedScopesHaveNoLimits) {
  Limiter limiter;
  EXPECT_TRUE(limiter.Reserve(kScopes, Req(1'000'000'000, 1'000'000), kT0));
  EXPECT_TRUE(limiter.Reserve(Scopes{}, Req(5), kT0));
  EXPECT_FALSE(limiter.Inspect(Level::kKey, "key-1", kT0));
  limiter.Configure(Level::kKey, "key-1", {.requests_per_minute = 1});
  std::vector<Reservation> kept;
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept), 1);
  limiter.Remove(Level::kKey, "key-1");
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(), kT0, kept, nullptr, 5), 5);
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->in_flight, 6);
}

TEST(Levels, ReconfigureKeepsCounters) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "key-1", {.usd_per_day_micro = 1'000, .requests_per_minute = 10});
  std::vector<Reservation> kept;
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(100), kT0, kept), 10);
  limiter.Configure(Level::kKey, "key-1", {.usd_per_day_micro = 1'500, .requests_per_minute = 20});
  auto u = limiter.Inspect(Level::kKey, "key-1", kT0);
  EXPECT_EQ(u->reserved_micro_usd, 1'000);
  EXPECT_EQ(u->requests_available, 0);
  EXPECT_EQ(AdmitAll(limiter, kScopes, Req(100), At(15), kept), 5);  // 5 refilled at 20/min
}

// ---- RAII and streams ------------------------------------------------------------------------

TEST(Reservation, DestructorAndMoveAssignmentRelease) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 1'000, .output_tokens_per_minute = 100});
  {
    auto r = limiter.Reserve(kScopes, Req(600, 0, 80), kT0);
    ASSERT_TRUE(r);
    EXPECT_EQ(limiter.Inspect(Level::kTenant, "acme", kT0)->reserved_micro_usd, 600);
    Reservation moved = std::move(*r);
    EXPECT_FALSE(r->active());
    EXPECT_TRUE(moved.active());
  }
  auto u = limiter.Inspect(Level::kTenant, "acme", kT0);
  EXPECT_EQ(u->reserved_micro_usd, 0);
  EXPECT_EQ(u->spent_today_micro_usd, 0);
  EXPECT_EQ(u->output_tokens_available, 100);
  EXPECT_EQ(u->in_flight, 0);
  auto a = limiter.Reserve(kScopes, Req(600), kT0);
  ASSERT_TRUE(a);
  Reservation holder = std::move(*a);
  auto b = limiter.Reserve(kScopes, Req(600), kT0);
  ASSERT_FALSE(b);
  holder = Reservation{};  // releases the first
  EXPECT_TRUE(limiter.Reserve(kScopes, Req(600), kT0));
}

TEST(Charge, WithinTheReservationNeedsNothing) {
  Limiter limiter;
  limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = 10'000});
  auto r = limiter.Reserve(kScopes, Req(1'000, 0, 100), kT0);
  ASSERT_TRUE(r);
  EXPECT_TRUE(limiter.Charge(*r, 50, 500, kT0));
  EXPECT_TRUE(limiter.Charge(*r, 50, 500, kT0));
  EXPECT_EQ(r->held(), (Amounts{1'000, 0, 100}));
  EXPECT_EQ(r->used(), (Amounts{1'000, 0, 100}));
  // Beyond it: the excess is reserved like a new demand.
  EXPECT_TRUE(limiter.Charge(*r, 10, 100, kT0));
  EXPECT_EQ(r->held(), (Amounts{1'100, 0, 110}));
  EXPECT_EQ(limiter.Inspect(Level::kTenant, "acme", kT0)->reserved_micro_usd, 1'100);
  limiter.Settle(std::move(*r), Actual{1'100, 0, 110}, kT0);
  EXPECT_EQ(limiter.Inspect(Level::kTenant, "acme", kT0)->spent_today_micro_usd, 1'100);
}

TEST(Charge, BudgetRunsOutMidStream) {
  Limiter limiter;
  limiter.Configure(Level::kTeam, "research", {.usd_per_day_micro = 2'000});
  auto r = limiter.Reserve(kScopes, Req(1'500, 0, 100), kT0);
  ASSERT_TRUE(r);
  EXPECT_TRUE(limiter.Charge(*r, 100, 1'500, kT0));
  EXPECT_TRUE(limiter.Charge(*r, 30, 500, kT0));  // exactly the budget
  EXPECT_FALSE(limiter.Charge(*r, 10, 100, kT0));
  ASSERT_TRUE(r->cut());
  EXPECT_EQ(r->cut()->kind, DenialKind::kDailyBudget);
  EXPECT_EQ(r->cut()->level, Level::kTeam);
  EXPECT_EQ(limiter.Inspect(Level::kTeam, "research", kT0)->reserved_micro_usd, 2'000);
  // The gateway cuts the stream and settles what was used: the overshoot is what streamed
  // after the last admitted charge.
  limiter.Settle(std::move(*r), Actual{2'100, 0, 140}, kT0);
  EXPECT_EQ(limiter.Inspect(Level::kTeam, "research", kT0)->spent_today_micro_usd, 2'100);
}

TEST(Charge, OutputTokenLimitRunsOutMidStream) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "key-1", {.output_tokens_per_minute = 200});
  auto r = limiter.Reserve(kScopes, Req(0, 0, 100), kT0);
  ASSERT_TRUE(r);
  EXPECT_TRUE(limiter.Charge(*r, 150, 0, kT0));   // 50 more: 50 left
  EXPECT_FALSE(limiter.Charge(*r, 100, 0, kT0));  // 100 more do not fit
  EXPECT_EQ(r->cut()->kind, DenialKind::kOutputTokens);
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->output_tokens_available, 50);
  // Released (client gone): what was charged counts.
  limiter.Release(std::move(*r));
  EXPECT_EQ(limiter.Inspect(Level::kKey, "key-1", kT0)->output_tokens_available, -50);
}

// ---- errors ----------------------------------------------------------------------------------

TEST(Errors, RateLimitsAre429WithRetryAfter) {
  Denial d{.kind = DenialKind::kInputTokens, .level = Level::kKey, .scope_id = "k",
           .retry_after_seconds = 12, .permanent = false, .message = "m"};
  for (ClientFamily f : {ClientFamily::kOpenAi, ClientFamily::kAnthropic, ClientFamily::kGemini}) {
    DenialResponse resp = ResponseFor(d, f);
    EXPECT_EQ(resp.status, 429);
    EXPECT_EQ(resp.retry_after, "12");
    EXPECT_TRUE(resp.should_retry);
  }
  EXPECT_EQ(ResponseFor(d, ClientFamily::kOpenAi).type, "tokens");
  EXPECT_EQ(ResponseFor(d, ClientFamily::kOpenAi).code, "rate_limit_exceeded");
  EXPECT_EQ(ResponseFor(d, ClientFamily::kAnthropic).type, "rate_limit_error");
  EXPECT_EQ(ResponseFor(d, ClientFamily::kGemini).type, "RESOURCE_EXHAUSTED");
  d.kind = DenialKind::kRequests;
  EXPECT_EQ(ResponseFor(d, ClientFamily::kOpenAi).type, "requests");
  core::Error e = ToError(d);
  EXPECT_EQ(e.code, core::ErrorCode::kRateLimited);
  EXPECT_EQ(e.retry_after, "12");
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.message, "m");
}

TEST(Errors, BudgetsAreQuotaErrors) {
  Denial d{.kind = DenialKind::kMonthlyBudget, .level = Level::kTenant, .scope_id = "t",
           .retry_after_seconds = 3600, .permanent = false, .message = "m"};
  DenialResponse openai = ResponseFor(d, ClientFamily::kOpenAi);
  EXPECT_EQ(openai.status, 429);
  EXPECT_EQ(openai.type, "insufficient_quota");
  EXPECT_EQ(openai.code, "insufficient_quota");
  EXPECT_FALSE(openai.should_retry);
  EXPECT_EQ(openai.retry_after, "3600");
  DenialResponse anthropic = ResponseFor(d, ClientFamily::kAnthropic);
  EXPECT_EQ(anthropic.status, 402);
  EXPECT_EQ(anthropic.type, "billing_error");
  EXPECT_EQ(ResponseFor(d, ClientFamily::kGemini).status, 429);
  core::Error e = ToError(d);
  EXPECT_EQ(e.code, core::ErrorCode::kQuotaExceeded);
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(e.retry_after, "3600");
  d.permanent = true;
  d.retry_after_seconds = 0;
  EXPECT_EQ(ResponseFor(d, ClientFamily::kAnthropic).retry_after, "");
  EXPECT_EQ(ToError(d).retry_after, "");
}

TEST(Names, Stable) {
  EXPECT_EQ(LevelName(Level::kTeam), "team");
  EXPECT_EQ(DenialKindName(DenialKind::kConcurrency), "concurrent_requests");
  EXPECT_EQ(DenialKindName(DenialKind::kDailyBudget), "daily_budget");
  EXPECT_TRUE(IsBudget(DenialKind::kMonthlyBudget));
  EXPECT_FALSE(IsBudget(DenialKind::kOutputTokens));
}

}  // namespace
}  // namespace meridian::limits
