// The budget and rate-limit invariants under real contention: 256 std::threads, released
// together by a barrier (no sleeps), repeated over many rounds; every round asserts the exact
// bound. docs/limits.md, "Concurrency".

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "limits/limits.hpp"

namespace meridian::limits {
namespace {

using namespace std::chrono;  // NOLINT

constexpr int kThreads = 256;
const TimePoint kT0 = TimePoint{sys_days{2025y / March / 15} + hours{12}};

// 256 threads that run one task per phase: the main thread sets the task, and every worker
// starts it at the same barrier and finishes it at the next one.
class Pool {
 public:
  Pool() : start_(kThreads + 1), done_(kThreads + 1) {
    for (int i = 0; i < kThreads; ++i) {
      threads_.emplace_back([this, i] {
        for (;;) {
          start_.arrive_and_wait();
          if (!task_) return;
          task_(i);
          done_.arrive_and_wait();
        }
      });
    }
  }
  ~Pool() {
    task_ = nullptr;
    start_.arrive_and_wait();
    for (auto& t : threads_) t.join();
  }
  // Runs `task(i)` on every thread i at once; returns when all are done.
  void Run(std::function<void(int)> task) {
    task_ = std::move(task);
    start_.arrive_and_wait();
    done_.arrive_and_wait();
  }

 private:
  std::barrier<> start_;
  std::barrier<> done_;
  std::function<void(int)> task_;  // written only while the workers wait at start_
  std::vector<std::thread> threads_;
};

Pool& Threads() {
  static Pool pool;
  return pool;
}

std::vector<std::string> Names(const char* prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// Same reservation r on every thread, B < 196 r remaining of the tenant's day: exactly
// floor(B / r) admitted, reserved = that × r ≤ B. Each admitted request then settles at
// r + δ concurrently: spent rises by exactly count × (r + δ), so the budget ends at most
// count × δ over — the settle overshoot, never the reservation's. Then nobody fits.
TEST(Concurrency256, UniformReservationsNeverOvershoot) {
  const auto teams = Names("team-", 4);
  const auto keys = Names("key-", kThreads);
  for (int round = 0; round < 200; ++round) {
    const std::int64_t r = 10'000 + round * 13;
    const std::int64_t fits = 5 + round % 190;
    const std::int64_t remaining = r * fits + (round * 31) % r;  // B: floor(B / r) = fits
    const std::int64_t already = 3'000'000 + round * 7'919;     // spent earlier today
    const std::int64_t budget = already + remaining;
    const std::int64_t delta = round % 50;
    ASSERT_GT(r * kThreads, remaining);  // r > B / 256

    Limiter limiter;
    limiter.Configure(Level::kTenant, "acme", {.usd_per_day_micro = budget, .usd_per_month_micro = budget * 10});
    for (const auto& t : teams) limiter.Configure(Level::kTeam, t, {.concurrent_requests = kThreads});
    for (const auto& k : keys) limiter.Configure(Level::kKey, k, {.requests_per_minute = 1'000});
    {
      auto pre = limiter.Reserve({"acme", "", ""}, Demand{already, 0, 0}, kT0);
      ASSERT_TRUE(pre);
      limiter.Settle(std::move(*pre), Actual{already, 0, 0}, kT0);
    }

    std::vector<std::optional<Reservation>> held(kThreads);
    std::vector<std::optional<Denial>> denied(kThreads);
    Threads().Run([&](int i) {
      auto res = limiter.Reserve({"acme", teams[i % 4], keys[i]}, Demand{r, 100, 100}, kT0);
      if (res) held[i] = std::move(*res);
      else denied[i] = std::move(res.error());
    });

    std::int64_t admitted = 0;
    for (int i = 0; i < kThreads; ++i) {
      if (held[i]) ++admitted;
      if (denied[i]) {
        ASSERT_EQ(denied[i]->kind, DenialKind::kDailyBudget) << "round " << round;
        ASSERT_EQ(denied[i]->level, Level::kTenant);
      }
    }
    ASSERT_EQ(admitted, fits) << "round " << round;
    auto tenant = limiter.Inspect(Level::kTenant, "acme", kT0);
    ASSERT_EQ(tenant->reserved_micro_usd, fits * r);
    ASSERT_LE(tenant->reserved_micro_usd, remaining);
    ASSERT_EQ(tenant->in_flight, fits);

    Threads().Run([&](int i) {
      if (held[i]) limiter.Settle(std::move(*held[i]), Actual{r + delta, 90, 120}, kT0);
    });
    tenant = limiter.Inspect(Level::kTenant, "acme", kT0);
    ASSERT_EQ(tenant->reserved_micro_usd, 0);
    ASSERT_EQ(tenant->in_flight, 0);
    ASSERT_EQ(tenant->spent_today_micro_usd, already + fits * (r + delta)) << "round " << round;
    ASSERT_LE(tenant->spent_today_micro_usd, budget + fits * delta);

    std::atomic<int> late{0};
    Threads().Run([&](int i) {
      if (limiter.Reserve({"acme", teams[i % 4], keys[i]}, Demand{r, 0, 0}, kT0)) ++late;
    });
    ASSERT_EQ(late.load(), 0) << "round " << round;
  }
}

// Different reservations per thread: the admitted total stays ≤ B, and every denied request
// really did not fit (its r > what was left at the end, which is ≤ what was left when it was
// denied). Reservations only grow during the phase, so this is exact.
TEST(Concurrency256, MixedReservationsFitExactly) {
  const auto keys = Names("key-", kThreads);
  for (int round = 0; round < 200; ++round) {
    const std::int64_t base = 1'000 + round * 17;
    const std::int64_t remaining = base * (20 + round % 100) + round;
    Limiter limiter;
    limiter.Configure(Level::kTeam, "research", {.usd_per_month_micro = remaining});
    std::vector<std::int64_t> want(kThreads);
    for (int i = 0; i < kThreads; ++i) want[i] = base + (i * 7'919 + round * 104'729) % base;
    std::vector<std::optional<Reservation>> held(kThreads);
    Threads().Run([&](int i) {
      auto res = limiter.Reserve({"acme", "research", keys[i]}, Demand{want[i], 0, 0}, kT0);
      if (res) held[i] = std::move(*res);
    });
    std::int64_t total = 0;
    for (int i = 0; i < kThreads; ++i) {
      if (held[i]) total += want[i];
    }
    ASSERT_LE(total, remaining) << "round " << round;
    ASSERT_EQ(limiter.Inspect(Level::kTeam, "research", kT0)->reserved_micro_usd, total);
    for (int i = 0; i < kThreads; ++i) {
      if (!held[i]) {
        ASSERT_GT(want[i], remaining - total) << "round " << round << " thread " << i;
      }
    }
    Threads().Run([&](int i) { held[i].reset(); });  // destructors release, concurrently
    ASSERT_EQ(limiter.Inspect(Level::kTeam, "research", kT0)->reserved_micro_usd, 0);
  }
}

// A frozen clock: a key's 256 racing requests are admitted exactly up to its per-minute and
// concurrency limits, whichever is lower.
TEST(Concurrency256, RateAndConcurrencyLimitsExact) {
  for (int round = 0; round < 100; ++round) {
    const std::int64_t per_minute = 1 + (round * 37) % 300;
    const std::int64_t concurrent = 1 + (round * 53) % 300;
    Limiter limiter;
    limiter.Configure(Level::kTenant, "acme", {.input_tokens_per_minute = 1'000'000});
    limiter.Configure(Level::kKey, "shared", {.requests_per_minute = per_minute, .concurrent_requests = concurrent});
    std::vector<std::optional<Reservation>> held(kThreads);
    std::atomic<int> by_rate{0};
    std::atomic<int> by_concurrency{0};
    Threads().Run([&](int i) {
      auto res = limiter.Reserve({"acme", "", "shared"}, Demand{0, 1'000, 0}, kT0);
      if (res) held[i] = std::move(*res);
      else if (res.error().kind == DenialKind::kRequests) ++by_rate;
      else if (res.error().kind == DenialKind::kConcurrency) ++by_concurrency;
    });
    const std::int64_t expected = std::min<std::int64_t>({per_minute, concurrent, kThreads});
    std::int64_t admitted = 0;
    for (auto& h : held) admitted += h ? 1 : 0;
    ASSERT_EQ(admitted, expected) << "round " << round;
    ASSERT_EQ(admitted + by_rate + by_concurrency, kThreads);
    auto tenant = limiter.Inspect(Level::kTenant, "acme", kT0);
    ASSERT_EQ(tenant->input_tokens_available, 1'000'000 - 1'000 * expected);  // nothing left behind
    Threads().Run([&](int i) { if (held[i]) limiter.Release(std::move(*held[i])); });
    ASSERT_EQ(limiter.Inspect(Level::kKey, "shared", kT0)->in_flight, 0);
    ASSERT_EQ(limiter.Inspect(Level::kTenant, "acme", kT0)->input_tokens_available, 1'000'000);
  }
}

}  // namespace
}  // namespace meridian::limits
