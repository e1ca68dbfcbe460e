// SSE parse throughput on typical OpenAI chat-completion chunk events (~200 bytes each),
// fed as one buffer, as TCP-segment-sized chunks and as tiny chunks; and encoder throughput.
// "allocs/event" counts heap allocations during the timed loop (steady state should be 0).

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "net/sse.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using meridian::net::SseEvent;
using meridian::net::SseParser;

std::string ChunkEvent(int i) {
  return "data: {\"id\":\"chatcmpl-9x7Yq2LmN4pQrStUvWxYz0AbCd\","
         "\"object\":\"chat.completion.chunk\","
         "\"created\":1718000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
         "\"delta\":{\"content\":\" token" +
         std::to_string(i % 1000) + "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
}

const std::string& Stream() {
  static const std::string stream = [] {
    std::string s;
    for (int i = 0; i < 1000; ++i) s += ChunkEvent(i);
    s += "data: [DONE]\n\n";
    return s;
  }();
  return stream;
}

void BM_SseParse(benchmark::State& state) {
  const std::string& stream = Stream();
  const std::size_t chunk = static_cast<std::size_t>(state.range(0));
  SseParser parser;
  std::size_t events = 0;
  std::size_t data_bytes = 0;
  auto on_event = [&](const SseEvent& e) {
    ++events;
    data_bytes += e.data.size();
  };
  // Warm up the parser's buffers once, then count allocations in the steady state.
  (void)parser.Feed(stream, on_event);
  events = 0;
  std::uint64_t allocs_before = g_allocations.load();
  for (auto _ : state) {
    std::string_view rest = stream;
    while (!rest.empty()) {
      std::size_t n = std::min(chunk, rest.size());
      if (!parser.Feed(rest.substr(0, n), on_event)) state.SkipWithError("parse failed");
      rest.remove_prefix(n);
    }
  }
  std::uint64_t allocs = g_allocations.load() - allocs_before;
  benchmark::DoNotOptimize(data_bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["allocs/event"] = events ? static_cast<double>(allocs) / events : 0;
  state.counters["ns/event"] = benchmark::Counter(
      static_cast<double>(events), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SseParse)->Arg(1 << 20)->Arg(1460)->Arg(64)->Arg(16)->ArgName("chunk");

void BM_SseEncode(benchmark::State& state) {
  std::string data = ChunkEvent(42);
  data = data.substr(6, data.size() - 8);  // the JSON payload only
  std::string out;
  out.reserve(4096);
  std::uint64_t allocs_before = g_allocations.load();
  for (auto _ : state) {
    out.clear();
    meridian::net::AppendSseEvent(out, data);
    benchmark::DoNotOptimize(out.data());
  }
  std::uint64_t allocs = g_allocations.load() - allocs_before;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["allocs/event"] = static_cast<double>(allocs) / state.iterations();
}
BENCHMARK(BM_SseEncode);

}  // namespace

BENCHMARK_MAIN();
