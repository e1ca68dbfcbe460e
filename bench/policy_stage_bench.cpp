// What the residency stage adds to a request (issue 4: <= 5 us for a 2 KB request):
// DecidePolicy (walk the parsed body, classify every string and key, evaluate the policy) on a
// ~2 KB chat body, with and without findings, and the pseudonymize + restore round trip.
//
//   build/release/policy_stage_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "config/config.hpp"
#include "gateway/policy_stage.hpp"
#include "gateway/restore.hpp"
#include "gateway/snapshot.hpp"

namespace {

namespace json = boost::json;
using namespace meridian;

const char* kConfig = R"(
backends:
  - {id: us, provider: openai, base_url: "http://127.0.0.1:9/v1", models: [m], tier: cloud, jurisdiction: US, vendor: openai}
  - {id: eu, provider: mistral, base_url: "http://127.0.0.1:9/v1", models: [m], tier: cloud, jurisdiction: FR, vendor: mistral,
     facts: {storage_jurisdiction: FR, zero_data_retention: true}}
  - {id: de, provider: vllm, base_url: "http://127.0.0.1:9/v1", models: [m], tier: local, jurisdiction: DE}
  - {id: cn, provider: deepseek, base_url: "http://127.0.0.1:9/v1", models: [m], tier: cloud, jurisdiction: CN, vendor: deepseek}
policies:
  - {name: eu-personal-data, when: {data_classes: [email, phone, iban]}, require: {inference_jurisdiction: [EU]}}
  - {name: classified-local, when: {data_classes: [classification_marking]}, require: {tier: [local]}}
  - {name: secrets-never-leave, when: {data_classes: [secret]}, action: block}
  - {name: pseudonymize-ids, when: {data_classes: [de_tax_id, fr_nir, phone]}, action: pseudonymize}
  - {name: no-cn-vendors, deny: {vendor_home_jurisdiction: [CN], vendors: [deepseek]}}
)";

std::shared_ptr<const gateway::Snapshot> Snap() {
  static auto snap = [] {
    auto c = config::ParseConfig(kConfig, "bench.yaml");
    if (!c) std::abort();
    auto s = gateway::Snapshot::Build(std::move(*c));
    if (!s) std::abort();
    return *s;
  }();
  return snap;
}

// A ~2 KB chat body: a system prompt, three turns of English prose, optionally with findings.
std::string Body(bool with_findings) {
  std::string prose =
      "The quarterly report covers revenue, operating costs and the outlook for the next two quarters. "
      "Please summarise the main risks in plain language and suggest three follow-up questions for the board. ";
  json::array messages;
  messages.push_back(json::object{{"role", "system"}, {"content", "You are a careful financial analyst. " + prose}});
  for (int i = 0; i < 3; ++i) {
    std::string text = prose + prose + prose;
    if (with_findings && i == 1) text += " Contact: alice.martin@example.org or +44 20 7946 0958.";
    messages.push_back(json::object{{"role", i % 2 ? "assistant" : "user"}, {"content", text}});
  }
  return json::serialize(json::object{{"model", "m"}, {"messages", std::move(messages)}});
}

void Decide(benchmark::State& state, bool with_findings) {
  auto snap = Snap();
  auto route = snap->Resolve("m");
  const std::string text = Body(with_findings);
  // DecidePolicy only reads the body (it keeps pointers for a later rewrite), so one parse serves
  // every iteration.
  json::object body = json::parse(text).as_object();
  gateway::Declared declared;
  for (auto _ : state) {
    auto d = gateway::DecidePolicy(*snap, snap->anonymous_caller(), declared, body, route->facts);
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["body_bytes"] = static_cast<double>(text.size());
}

void BM_DecidePolicy_2KB_Clean(benchmark::State& state) { Decide(state, false); }
void BM_DecidePolicy_2KB_EmailAndPhone(benchmark::State& state) { Decide(state, true); }
BENCHMARK(BM_DecidePolicy_2KB_Clean);
BENCHMARK(BM_DecidePolicy_2KB_EmailAndPhone);

// The whole added path for a request that must be pseudonymized: decide, rewrite, serialise,
// and restore a 2 KB answer that echoes the placeholder.
void BM_PseudonymizeRoundTrip_2KB(benchmark::State& state) {
  auto snap = Snap();
  auto route = snap->Resolve("m");
  const json::object parsed = json::parse(Body(true)).as_object();
  gateway::Declared declared;
  for (auto _ : state) {
    state.PauseTiming();
    json::object body = parsed;
    state.ResumeTiming();
    auto d = gateway::DecidePolicy(*snap, snap->anonymous_caller(), declared, body, route->facts);
    redact::Pseudonymizer p(snap->pseudonym_key());
    gateway::ApplyObligations(d, p);
    std::string upstream = json::serialize(body);
    std::string restored = gateway::RestoreJsonBody(upstream, p);
    benchmark::DoNotOptimize(restored);
  }
}
BENCHMARK(BM_PseudonymizeRoundTrip_2KB);

}  // namespace

BENCHMARK_MAIN();
