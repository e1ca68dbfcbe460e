// Cost of budgets and rate limits on the request path (src/limits, docs/limits.md): one
// Reserve + Settle per request across three configured levels (tenant, team, key) with a
// budget, rate buckets and a concurrency limit at each. Single-threaded, and two threads
// sharing the tenant and team (the hot, contended locks) with a key each.

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>

#include "limits/limits.hpp"

namespace {

using namespace meridian::limits;  // NOLINT

const ScopeLimits kLimits{
    .usd_per_day_micro = INT64_MAX / 4,
    .usd_per_month_micro = INT64_MAX / 4,
    .requests_per_minute = kMaxPerMinute,
    .input_tokens_per_minute = kMaxPerMinute,
    .output_tokens_per_minute = kMaxPerMinute,
    .concurrent_requests = 1'000'000,
};

Limiter& Shared() {
  static Limiter* limiter = [] {
    auto* l = new Limiter();
    l->Configure(Level::kTenant, "acme", kLimits);
    l->Configure(Level::kTeam, "research", kLimits);
    for (int i = 0; i < 8; ++i) l->Configure(Level::kKey, "key-" + std::to_string(i), kLimits);
    return l;
  }();
  return *limiter;
}

void ReserveSettle(benchmark::State& state) {
  Limiter& limiter = Shared();
  const std::string key = "key-" + std::to_string(state.thread_index());
  const Scopes scopes{"acme", "research", key};
  const Demand demand{30'000, 1'200, 800};
  const Actual actual{21'000, 1'180, 412};
  TimePoint now = std::chrono::system_clock::now();
  for (auto _ : state) {
    now += std::chrono::microseconds{3};
    auto r = limiter.Reserve(scopes, demand, now);
    if (!r) {
      state.SkipWithError("denied");
      break;
    }
    limiter.Settle(std::move(*r), actual, now);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(ReserveSettle)->Threads(1)->Threads(2)->UseRealTime();

// The same with a stream's Charge calls that stay within the reservation (the common case).
void ReserveChargeSettle(benchmark::State& state) {
  Limiter& limiter = Shared();
  const Scopes scopes{"acme", "research", "key-7"};
  TimePoint now = std::chrono::system_clock::now();
  for (auto _ : state) {
    auto r = limiter.Reserve(scopes, Demand{30'000, 1'200, 800}, now);
    for (int i = 0; i < 8; ++i) benchmark::DoNotOptimize(limiter.Charge(*r, 50, 1'000, now));
    limiter.Settle(std::move(*r), Actual{21'000, 1'180, 400}, now);
  }
}
BENCHMARK(ReserveChargeSettle);

// A denial (the rate bucket is empty): the cost of saying no, including the message.
void Denied(benchmark::State& state) {
  Limiter limiter;
  limiter.Configure(Level::kKey, "k", ScopeLimits{.requests_per_minute = 1});
  const TimePoint now = std::chrono::system_clock::now();
  auto first = limiter.Reserve({"", "", "k"}, Demand{}, now);
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.Reserve({"", "", "k"}, Demand{}, now));
  }
}
BENCHMARK(Denied);

}  // namespace

BENCHMARK_MAIN();
