// Hot-path cost of the metrics registry: label lookup + update, cached updates, histogram
// observations, single-threaded and with 2 threads hitting the same series; and a scrape.
// The argument is the registry's shard count (1 = one shared cache line per series).

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "telemetry/metrics.hpp"

namespace {

using meridian::telemetry::Counter;
using meridian::telemetry::CounterFamily;
using meridian::telemetry::Histogram;
using meridian::telemetry::HistogramFamily;
using meridian::telemetry::Registry;
using meridian::telemetry::RegistryOptions;

struct Fixture {
  explicit Fixture(std::uint32_t shards) : registry(RegistryOptions{.shards = shards}) {
    requests =
        registry.AddCounter("req_total", "Requests.", {"route", "status", "backend"}).value();
    latency = registry
                  .AddHistogram("lat_seconds", "Latency.", {"route", "backend"},
                                meridian::telemetry::DefaultLatencyBuckets())
                  .value();
    // A realistic number of other series in the same families.
    for (int b = 0; b < 20; ++b) {
      for (const char* status : {"200", "400", "429", "500", "502"}) {
        requests->With({"chat", status, "backend-" + std::to_string(b)}).Inc();
      }
      latency->With({"chat", "backend-" + std::to_string(b)}).Observe(0.1);
    }
  }
  Registry registry;
  CounterFamily* requests;
  HistogramFamily* latency;
};

// One fixture per shard count, shared by the benchmark's threads.
Fixture& Get(std::uint32_t shards) {
  static std::mutex mu;
  static std::map<std::uint32_t, std::unique_ptr<Fixture>> fixtures;
  std::lock_guard lock(mu);
  auto& f = fixtures[shards];
  if (!f) f = std::make_unique<Fixture>(shards);
  return *f;
}

void BM_CounterWithInc(benchmark::State& state) {
  Fixture& f = Get(static_cast<std::uint32_t>(state.range(0)));
  for (auto _ : state) {
    f.requests->With({"chat", "200", "backend-7"}).Inc();
  }
}
BENCHMARK(BM_CounterWithInc)->Arg(1)->Arg(8)->Threads(1)->Threads(2)->UseRealTime();

void BM_CachedCounterInc(benchmark::State& state) {
  Fixture& f = Get(static_cast<std::uint32_t>(state.range(0)));
  Counter& c = f.requests->With({"chat", "200", "backend-7"});
  for (auto _ : state) {
    c.Inc();
  }
}
BENCHMARK(BM_CachedCounterInc)->Arg(1)->Arg(8)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramObserve(benchmark::State& state) {
  Fixture& f = Get(static_cast<std::uint32_t>(state.range(0)));
  Histogram& h = f.latency->With({"chat", "backend-7"});
  double v = 0.0001;
  for (auto _ : state) {
    h.Observe(v);
    v = v < 50 ? v * 1.7 : 0.0001;  // walk across the buckets
  }
}
BENCHMARK(BM_HistogramObserve)->Arg(1)->Arg(8)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramWithObserve(benchmark::State& state) {
  Fixture& f = Get(static_cast<std::uint32_t>(state.range(0)));
  for (auto _ : state) {
    f.latency->With({"chat", "backend-7"}).Observe(0.042);
  }
}
BENCHMARK(BM_HistogramWithObserve)->Arg(1)->Arg(8)->Threads(1)->Threads(2)->UseRealTime();

void BM_RenderPrometheus(benchmark::State& state) {
  Fixture& f = Get(static_cast<std::uint32_t>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = f.registry.RenderPrometheus();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderPrometheus)->Arg(8);

}  // namespace

BENCHMARK_MAIN();
