// Cost of the audit log: hashing a record, canonical JSON of a decision record, appending one
// record per transaction and batches of records (fully durable and not), and verifying a log.
// The log lives in a temp directory on the same filesystem as /tmp; fsync figures depend
// entirely on the disk (see docs/audit.md for the numbers measured on the CI machine).

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/decision.hpp"
#include "audit/sqlite_audit_store.hpp"
#include "audit/verify.hpp"

namespace {

using namespace meridian::audit;

DecisionRecord TypicalDecision() {
  DecisionRecord r;
  r.request_id = "req_0123456789abcdef0123456789abcdef";
  r.tenant = "acme";
  r.key_prefix = "sk-live-ab";
  r.data_classes[meridian::core::DataClass::kEmail] = 2;
  r.data_classes[meridian::core::DataClass::kIban] = 1;
  r.rules_fired = {"eu-data-stays-in-eu", "no-training-vendors"};
  r.eligible = {"local-llama", "eu-mistral"};
  r.excluded = {{"us-openai", "eu-data-stays-in-eu: inference jurisdiction us"},
                {"us-anthropic", "eu-data-stays-in-eu: inference jurisdiction us"}};
  r.chosen_backend = "local-llama";
  r.chosen_jurisdiction = "de";
  r.attempts = {{"local-llama", 200, "", 840}};
  r.cost_micro_usd = 0;
  r.status = 200;
  return r;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "meridian-audit-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Db() const { return (path_ / "audit.db").string(); }

 private:
  std::filesystem::path path_;
};

void BM_RecordHash(benchmark::State& state) {
  const std::string body = ToCanonicalJson(TypicalDecision());
  std::int64_t seq = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(RecordHash(seq++, 1'700'000'000'000, kKindRequest, body, kGenesisHash));
  }
  state.SetLabel(std::to_string(body.size()) + "-byte body");
}
BENCHMARK(BM_RecordHash);

void BM_DecisionToCanonicalJson(benchmark::State& state) {
  const DecisionRecord r = TypicalDecision();
  for (auto _ : state) benchmark::DoNotOptimize(ToCanonicalJson(r));
}
BENCHMARK(BM_DecisionToCanonicalJson);

// Arg 0: durability (0 = full, 1 = normal); arg 1: records per transaction.
void BM_Append(benchmark::State& state) {
  TempDir dir;
  SqliteAuditStoreOptions options;
  options.durability = state.range(0) == 0 ? Durability::kFull : Durability::kNormal;
  auto store = SqliteAuditStore::Open(dir.Db(), options);
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  const std::string body = ToCanonicalJson(TypicalDecision());
  const auto batch = static_cast<std::size_t>(state.range(1));
  std::vector<AppendEntry> entries(batch, AppendEntry{kKindRequest, body});
  for (auto _ : state) {
    if (batch == 1) {
      if (!(*store)->Append(kKindRequest, body)) state.SkipWithError("append failed");
    } else if (!(*store)->AppendBatch(entries)) {
      state.SkipWithError("append failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.SetLabel(state.range(0) == 0 ? "full" : "normal");
}
BENCHMARK(BM_Append)->ArgsProduct({{0, 1}, {1, 64}})->UseRealTime();

// Arg: records in the log.
void BM_Verify(benchmark::State& state) {
  TempDir dir;
  {
    SqliteAuditStoreOptions options;
    options.durability = Durability::kNormal;
    auto store = SqliteAuditStore::Open(dir.Db(), options);
    const std::string body = ToCanonicalJson(TypicalDecision());
    std::vector<AppendEntry> entries(1000, AppendEntry{kKindRequest, body});
    for (std::int64_t n = 0; n < state.range(0); n += 1000) {
      if (!(*store)->AppendBatch(entries)) std::abort();
    }
  }
  for (auto _ : state) {
    auto report = Verify(dir.Db());
    if (!report || !report->ok()) state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Verify)->Arg(100'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
