// Cost of routing on the request path (src/route, docs/routing.md): Route() over 2, 8 and 32
// candidates for each strategy (target: well under 1 µs for 8), and the LiveStats updates an
// attempt makes (Begin + End) and the View a candidate is built from.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "route/quality.hpp"
#include "route/router.hpp"
#include "route/stats.hpp"

namespace {

using namespace meridian::route;  // NOLINT
using namespace std::chrono_literals;

struct Fixture {
  std::vector<std::string> ids;
  std::vector<meridian::catalog::Entry> entries;
  std::vector<Candidate> candidates;

  explicit Fixture(std::size_t n) {
    Rng gen(n);
    ids.reserve(n);
    entries.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      ids.push_back("backend-" + std::to_string(i));
      entries[i].prices.input = 100'000 + static_cast<std::int64_t>(gen.Below(5'000'000));
      entries[i].prices.output = 400'000 + static_cast<std::int64_t>(gen.Below(20'000'000));
    }
    for (std::size_t i = 0; i < n; ++i) {
      Candidate c;
      c.backend_id = ids[i];
      c.prices = &entries[i];
      c.weight = 1 + gen.Below(5);
      c.stats.samples = 50;
      c.stats.ttft_samples = 50;
      c.stats.ttft_ms = 100 + gen.Uniform() * 900;
      c.stats.latency_ms = c.stats.ttft_ms * 5;
      c.stats.tokens_per_s = 20 + gen.Uniform() * 100;
      c.stats.error_rate = gen.Uniform() * 0.1;
      c.stats.in_flight = static_cast<std::int32_t>(gen.Below(8));
      c.stats.health = gen.Below(10) == 0 ? Health::kOpen : Health::kHealthy;
      candidates.push_back(c);
    }
  }
};

void BM_Route(benchmark::State& state, Strategy strategy) {
  Fixture f(static_cast<std::size_t>(state.range(0)));
  Rng rng(1);
  RouteRequest r;
  r.strategy = strategy;
  r.estimated_input_tokens = 1200;
  r.expected_output_tokens = 300;
  r.now = TimePoint(1000s);
  r.deadline = r.now + 30s;
  r.max_attempts = 3;
  r.rng = &rng;
  for (auto _ : state) {
    Plan p = Route(r, f.candidates);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK_CAPTURE(BM_Route, p2c, Strategy::kPowerOfTwo)->Arg(2)->Arg(8)->Arg(32);
BENCHMARK_CAPTURE(BM_Route, cheapest, Strategy::kCheapest)->Arg(2)->Arg(8)->Arg(32);
BENCHMARK_CAPTURE(BM_Route, fastest, Strategy::kFastest)->Arg(2)->Arg(8)->Arg(32);
BENCHMARK_CAPTURE(BM_Route, weighted, Strategy::kWeighted)->Arg(2)->Arg(8)->Arg(32);
BENCHMARK_CAPTURE(BM_Route, least_busy, Strategy::kLeastBusy)->Arg(2)->Arg(8)->Arg(32);

void BM_StatsBeginEnd(benchmark::State& state) {
  LiveStats s;
  TimePoint now = TimePoint(1000s);
  AttemptReport report;
  report.ttft = 120ms;
  report.total = 900ms;
  report.output_tokens = 200;
  for (auto _ : state) {
    Admission a = s.Begin(now);
    s.End(a, report, now);
  }
}
BENCHMARK(BM_StatsBeginEnd);

void BM_StatsView(benchmark::State& state) {
  LiveStats s;
  TimePoint now = TimePoint(1000s);
  for (auto _ : state) {
    StatsView v = s.View(now);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_StatsView);

// One quality-router decision (src/route/quality.hpp, docs/quality_router.md): features of the
// prompt + dot product + sigmoid + threshold compare, for prompts of 200, 1000, 4096 and 16384
// bytes (only the first max_bytes = 4096 are read). Target: <= 50 us for a typical prompt. The
// weights are pseudo-random with the shipped model's shape (the cost does not depend on their
// values, and this binary links only meridian_route, so it does not read the model file).
void BM_QualityPredict(benchmark::State& state) {
  QualityModel model;
  model.features.hash_bits = 14;
  model.features.max_bytes = 4096;
  model.weights.resize(model.features.dim());
  Rng gen(42);
  for (auto& w : model.weights) w = static_cast<float>(gen.Uniform() - 0.5);
  const std::string sentence =
      "Explain, step by step, how to compute the determinant of a 3x3 matrix, and then write a short "
      "Python function that does it; compare its cost with Gaussian elimination. ";
  std::string prompt;
  while (prompt.size() < static_cast<std::size_t>(state.range(0))) prompt += sentence;
  prompt.resize(static_cast<std::size_t>(state.range(0)));
  bool strong = false;
  for (auto _ : state) {
    strong ^= model.PreferStrong(prompt, 0.5);
    benchmark::DoNotOptimize(strong);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_QualityPredict)->Arg(200)->Arg(1000)->Arg(4096)->Arg(16384);

}  // namespace

BENCHMARK_MAIN();
