// Hot-path cost of redaction/pseudonymization (src/redact): Apply on a 2 KB prompt with 4
// findings (a fresh Pseudonymizer per request, as the gateway does, and a warm one whose
// values are known), Restore on a 2 KB answer with and without placeholders, and a
// StreamRestorer over the same answer in 20 chunks.

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <vector>

#include "redact/redact.hpp"

namespace {

using meridian::classify::Finding;
using meridian::core::DataClass;
using meridian::redact::Bit;
using meridian::redact::ClassMask;
using meridian::redact::Pseudonymizer;
using meridian::redact::StreamRestorer;

constexpr std::string_view kKey = "bench-key-0123456789abcdef";

std::string Filler(std::size_t n) {
  static constexpr std::string_view kWords =
      "the quick brown fox jumps over the lazy dog while the model considers the question "
      "and writes a careful answer about quarterly revenue, shipping dates and invoices. ";
  std::string s;
  while (s.size() < n) s.append(kWords.substr(0, std::min(kWords.size(), n - s.size())));
  return s;
}

struct Prompt {
  std::string text;
  std::vector<Finding> findings;
};

// ~2 KB with 4 findings: two e-mails, a phone number, a secret.
Prompt MakePrompt() {
  Prompt p;
  auto add = [&](DataClass cls, std::string_view value) {
    p.text += Filler(470);
    p.findings.push_back(Finding{cls, p.text.size(), p.text.size() + value.size()});
    p.text += value;
  };
  add(DataClass::kEmail, "alice.smith@example.com");
  add(DataClass::kPhone, "+1-984-182-0190");
  add(DataClass::kEmail, "bob@example.org");
  add(DataClass::kSecret, "sk-proj-abcdefghijklmnop0123456789");
  p.text += Filler(2048 - p.text.size());
  return p;
}

const ClassMask kRedact = Bit(DataClass::kSecret);
const ClassMask kPseudonymize = Bit(DataClass::kEmail) | Bit(DataClass::kPhone);

void BM_ApplyFreshPseudonymizer(benchmark::State& state) {
  const Prompt p = MakePrompt();
  for (auto _ : state) {
    Pseudonymizer ps(kKey);
    std::string out = ps.Apply(p.text, p.findings, kRedact, kPseudonymize);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.text.size()));
}
BENCHMARK(BM_ApplyFreshPseudonymizer);

void BM_ApplyWarmPseudonymizer(benchmark::State& state) {
  const Prompt p = MakePrompt();
  Pseudonymizer ps(kKey);
  ps.Apply(p.text, p.findings, kRedact, kPseudonymize);
  for (auto _ : state) {
    std::string out = ps.Apply(p.text, p.findings, kRedact, kPseudonymize);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.text.size()));
}
BENCHMARK(BM_ApplyWarmPseudonymizer);

// The backend's answer: the pseudonymized prompt itself (2 KB, 3 placeholders, one redaction).
struct Answer {
  Pseudonymizer ps{kKey};
  std::string text;
  Answer() {
    const Prompt p = MakePrompt();
    text = ps.Apply(p.text, p.findings, kRedact, kPseudonymize);
  }
};

void BM_Restore(benchmark::State& state) {
  Answer a;
  for (auto _ : state) {
    std::string out = a.ps.Restore(a.text);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * a.text.size()));
}
BENCHMARK(BM_Restore);

void BM_RestoreNoBracket(benchmark::State& state) {
  Answer a;
  const std::string text = Filler(2048);
  for (auto _ : state) {
    std::string out = a.ps.Restore(text);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_RestoreNoBracket);

void BM_StreamRestorer20Chunks(benchmark::State& state) {
  Answer a;
  std::vector<std::string_view> chunks;
  const std::size_t size = (a.text.size() + 19) / 20;
  for (std::size_t at = 0; at < a.text.size(); at += size) {
    chunks.push_back(std::string_view(a.text).substr(at, size));
  }
  for (auto _ : state) {
    StreamRestorer s(a.ps);
    for (std::string_view c : chunks) {
      std::string out = s.Feed(c);
      benchmark::DoNotOptimize(out);
    }
    std::string out = s.Flush();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * a.text.size()));
}
BENCHMARK(BM_StreamRestorer20Chunks);

}  // namespace

BENCHMARK_MAIN();
