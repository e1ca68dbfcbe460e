// Cost of the model catalog on the request path (src/catalog, docs/catalog.md): one Find
// (exact key, provider-prefixed key, the "provider/model" fallback) and one Cost, as the
// gateway will do per response; plus loading LiteLLM's whole file (start-up and reload only).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "catalog/catalog.hpp"
#include "catalog/cost.hpp"

namespace {

using namespace meridian::catalog;  // NOLINT

const std::string kFile =
    std::string(MERIDIAN_SOURCE_DIR) + "/../shared/data/prices/litellm/model_prices_and_context_window.json";

const Catalog& Real() {
  static const Catalog catalog = [] {
    auto loaded = Catalog::LoadLiteLlmFile(kFile);
    if (!loaded) {
      std::fprintf(stderr, "%s\n", loaded.error().ToString().c_str());
      std::abort();
    }
    return std::move(*loaded);
  }();
  return catalog;
}

void Find(benchmark::State& state, std::string model, std::string hint) {
  const Catalog& c = Real();
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.Find(model, hint));
  }
}
BENCHMARK_CAPTURE(Find, exact_openai, std::string("gpt-4o"), std::string("openai"));
BENCHMARK_CAPTURE(Find, prefixed_azure, std::string("gpt-4o"), std::string("azure-openai"));
BENCHMARK_CAPTURE(Find, prefixed_gemini, std::string("gemini-2.5-flash"), std::string("gemini"));
BENCHMARK_CAPTURE(Find, slash_fallback, std::string("openai/gpt-4o"), std::string(""));
BENCHMARK_CAPTURE(Find, miss, std::string("no-such-model-anywhere"), std::string("vllm"));

void CostOnly(benchmark::State& state) {
  const Entry* e = Real().FindKey("claude-sonnet-4-5");
  Usage usage{.input_tokens = 10'000, .output_tokens = 1'000, .cache_read_tokens = 6'000,
              .cache_write_tokens = 2'000, .reasoning_tokens = 300};
  for (auto _ : state) {
    benchmark::DoNotOptimize(usage);
    benchmark::DoNotOptimize(Cost(*e, usage));
  }
}
BENCHMARK(CostOnly);

// What the gateway does per response: find the backend's model, price its usage.
void FindAndCost(benchmark::State& state) {
  const Catalog& c = Real();
  std::string model = "gemini-2.5-flash";
  Usage usage{.input_tokens = 2'000, .output_tokens = 500, .cache_read_tokens = 1'000, .reasoning_tokens = 200};
  for (auto _ : state) {
    const Entry* e = c.Find(model, "gemini");
    benchmark::DoNotOptimize(Cost(*e, usage));
  }
}
BENCHMARK(FindAndCost);

void UpperBound(benchmark::State& state) {
  const Entry* e = Real().FindKey("gpt-4o");
  for (auto _ : state) {
    benchmark::DoNotOptimize(UpperBoundCost(*e, 3'000, 1'024));
  }
}
BENCHMARK(UpperBound);

void LoadWholeFile(benchmark::State& state) {
  std::ifstream in(kFile);
  std::stringstream text;
  text << in.rdbuf();
  const std::string json = text.str();
  for (auto _ : state) {
    auto loaded = Catalog::LoadLiteLlm(json, "prices.json");
    benchmark::DoNotOptimize(loaded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}
BENCHMARK(LoadWholeFile)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
