// The replay's report (replay/engine.hpp, replay/report.hpp) on tiny traces, computed by hand,
// and the configuration's `replay:` section (replay/replay_config.hpp).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

#include "gateway/snapshot.hpp"
#include "replay/engine.hpp"
#include "replay/replay_config.hpp"
#include "replay/report.hpp"
#include "replay/trace.hpp"

namespace meridian::replay {
namespace {

const std::string kDir = MERIDIAN_SOURCE_DIR "/tests/fixtures/replay/";

// 1 pico-USD per token = $1 per million tokens.
constexpr std::int64_t kPerMtok = 1'000'000;

struct Loaded {
  std::shared_ptr<const gateway::Snapshot> snapshot;
  ReplayConfig config;
};

Loaded Load(const std::string& name) {
  auto loaded = LoadReplayConfig(kDir + name);
  EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message);
  auto snapshot = gateway::Snapshot::Build(std::move(loaded->gateway));
  EXPECT_TRUE(snapshot.has_value()) << (snapshot ? "" : snapshot.error().message);
  return {*snapshot, loaded->replay};
}

Trace MustRead(const std::string& name) {
  auto t = ReadTrace(kDir + name, std::nullopt);
  EXPECT_TRUE(t.has_value());
  return *t;
}

TEST(ReportMath, SavingsAndFormatting) {
  Report r;
  r.cost_pico_usd = 4'200'000'000;
  r.baseline_pico_usd = 42'000'000'000;
  EXPECT_EQ(r.savings_pico_usd(), 37'800'000'000);
  EXPECT_DOUBLE_EQ(r.savings_share(), 0.9);
  r.allowed = 4;
  r.strong = 1;
  EXPECT_DOUBLE_EQ(r.strong_share(), 0.25);
  EXPECT_EQ(Report{}.savings_share(), 0.0);
  EXPECT_EQ(Report{}.strong_share(), 0.0);
  EXPECT_EQ(FormatUsd(4'200'000'000), "$0.004200");
  EXPECT_EQ(FormatUsd(12'345'678'900'000), "$12.345679");
  EXPECT_EQ(FormatUsd(500'000), "$0.000001");  // half a micro-USD rounds up
  EXPECT_EQ(FormatUsd(499'999), "$0.000000");
  EXPECT_EQ(FormatUsd(-2'000'000), "-$0.000002");
}

TEST(ReportMath, NearestRankPercentiles) {
  std::vector<double> v = {4100, 1100, 2100};
  EXPECT_EQ(Percentile(v, 50), 2100);
  EXPECT_EQ(Percentile(v, 90), 4100);
  EXPECT_EQ(Percentile(v, 0), 1100);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  LatencySummary s = Summarise(hundred);
  EXPECT_EQ(s.p50, 50);
  EXPECT_EQ(s.p90, 90);
  EXPECT_EQ(s.p99, 99);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  std::vector<double> none;
  EXPECT_EQ(Summarise(none).p99, 0);
}

// Mooncake fixture: (1000 in, 100 out), (2000, 200), (500, 50) at 0, 5 and 10 ms.
TEST(Replay, CheapestOnTinyMooncakeTrace) {
  Loaded l = Load("tiny.yaml");
  Trace trace = MustRead("mooncake_small.jsonl");
  auto report = RunReplay(*l.snapshot, l.config, trace);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  const Report& r = *report;
  EXPECT_EQ(r.requests, 3u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.allowed, 3u);
  EXPECT_EQ(r.blocked, 0u);
  EXPECT_TRUE(r.excluded.empty());
  // Everything on edge at $1 / $2 per Mtok: 3500 input, 350 output tokens.
  EXPECT_EQ(r.cost_pico_usd, 3500 * kPerMtok + 350 * 2 * kPerMtok);
  // Baseline: all on cloud at $10 / $20.
  EXPECT_EQ(r.baseline_pico_usd, 3500 * 10 * kPerMtok + 350 * 20 * kPerMtok);
  EXPECT_DOUBLE_EQ(r.savings_share(), 0.9);
  EXPECT_EQ(r.strong_models, (std::vector<std::string>{"big-m"}));  // the highest price
  EXPECT_EQ(r.strong, 0u);
  ASSERT_EQ(r.by_candidate.size(), 2u);
  EXPECT_EQ(r.by_candidate[0].backend, "edge");
  EXPECT_EQ(r.by_candidate[0].requests, 3u);
  EXPECT_EQ(r.by_candidate[1].requests, 0u);
  // Edge: TTFT 100 ms; total = 100 + output / 50 per s: 2100, 4100, 1100.
  EXPECT_EQ(r.ttft_ms.p50, 100);
  EXPECT_EQ(r.total_ms.p50, 2100);
  EXPECT_EQ(r.total_ms.p90, 4100);
  EXPECT_EQ(r.total_ms.p99, 4100);
  EXPECT_DOUBLE_EQ(r.total_ms.mean, 7300.0 / 3);
  // Prefix comparison on 2 replicas: blocks 0, 1 of request 2 and 0 of request 3 were seen.
  // Round robin: request 2 lands on the replica request 1 did not use (no hit), request 3 on
  // request 1's replica (block 0 hit).
  ASSERT_EQ(r.comparison.size(), 3u);
  EXPECT_EQ(r.comparison[1].first, route::Placement::kRoundRobin);
  EXPECT_EQ(r.comparison[1].second.reusable_blocks, 3u);
  EXPECT_EQ(r.comparison[1].second.hit_blocks, 1u);
  EXPECT_TRUE(r.backend_reuse.empty());  // no backend has replicas in tiny.yaml
  // Rendering carries the numbers.
  const std::string table = RenderTable(r);
  EXPECT_NE(table.find("$0.004200"), std::string::npos) << table;
  EXPECT_NE(table.find("90.0%"), std::string::npos) << table;
  const auto json = ToJson(r);
  EXPECT_EQ(json.at("requests").as_uint64(), 3u);
  EXPECT_EQ(json.at("cost").at("total_pico_usd").as_int64(), 4'200'000'000);
  EXPECT_EQ(json.at("cost").at("savings_pico_usd").as_int64(), 37'800'000'000);
  EXPECT_EQ(json.at("prefix_reuse").at("comparison").at("round-robin").at("hit_blocks").as_uint64(), 1u);
}

TEST(Replay, DeclaredJurisdictionExcludesTheUsBackend) {
  Loaded l = Load("tiny.yaml");
  l.config.declared_jurisdiction = "DE";
  auto r = RunReplay(*l.snapshot, l.config, MustRead("mooncake_small.jsonl"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->allowed, 3u);
  ASSERT_EQ(r->excluded.size(), 1u);
  EXPECT_EQ(r->excluded.begin()->first.rfind("german-data-in-eu: ", 0), 0u) << r->excluded.begin()->first;
  EXPECT_EQ(r->excluded.begin()->second, 3u);
  // Only edge is allowed, so the strongest allowed model is edge's: no savings.
  EXPECT_EQ(r->baseline_pico_usd, r->cost_pico_usd);
  EXPECT_EQ(r->savings_pico_usd(), 0);
}

TEST(Replay, StrongOnlyTargetCostsTheBaseline) {
  Loaded l = Load("tiny.yaml");
  l.config.targets = {"big"};
  auto r = RunReplay(*l.snapshot, l.config, MustRead("mooncake_small.jsonl"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->cost_pico_usd, 42'000'000'000);
  EXPECT_EQ(r->baseline_pico_usd, 42'000'000'000);
  EXPECT_EQ(r->strong, 3u);
  EXPECT_DOUBLE_EQ(r->strong_share(), 1.0);
  // Cloud: 400 ms + output / 100 per s: 1400, 2400, 900.
  EXPECT_EQ(r->total_ms.p50, 1400);
  l.config.targets = {"no-such-model"};
  auto bad = RunReplay(*l.snapshot, l.config, MustRead("mooncake_small.jsonl"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message.rfind("replay.targets: ", 0), 0u);
}

TEST(Replay, TauBenchTextIsClassified) {
  Loaded l = Load("tiny.yaml");
  auto r = RunReplay(*l.snapshot, l.config, MustRead("tau_small.json"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->requests, 3u);
  EXPECT_EQ(r->allowed, 3u);
  // The two calls of the conversation whose user gave an email may not go to the US.
  ASSERT_EQ(r->excluded.size(), 1u);
  EXPECT_EQ(r->excluded.begin()->first.rfind("personal-data-in-eu: ", 0), 0u);
  EXPECT_EQ(r->excluded.begin()->second, 2u);
  EXPECT_EQ(r->by_candidate[0].requests, 3u);
}

TEST(Replay, AzureHasNoPrefixComparison) {
  Loaded l = Load("tiny.yaml");
  auto r = RunReplay(*l.snapshot, l.config, MustRead("azure_small.csv"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->requests, 3u);
  EXPECT_TRUE(r->comparison.empty());
  // (374 + 396 + 10) input, (44 + 109 + 1) output on edge.
  EXPECT_EQ(r->cost_pico_usd, 780 * kPerMtok + 154 * 2 * kPerMtok);
}

TEST(ReplayConfig, SectionIsSplitKeepingLineNumbers) {
  const std::string text = "a: 1\nreplay:\n  seed: 7\n  strategy: nope\nb: 2\n";
  std::string block;
  const std::string rest = SplitReplaySection(text, &block);
  EXPECT_EQ(rest, "a: 1\n\n\n\nb: 2\n");
  EXPECT_EQ(block, "\nreplay:\n  seed: 7\n  strategy: nope\n\n");
  auto parsed = ParseReplaySection(block, "r.yaml");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().message.rfind("r.yaml:4: replay.strategy: unknown strategy", 0), 0u) << parsed.error().message;
  auto unknown = ParseReplaySection("replay:\n  sed: 7\n", "r.yaml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message, "r.yaml:2: replay.sed: unknown field");
  auto defaults = ParseReplaySection("", "r.yaml");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->strategy, route::Strategy::kCheapest);
  EXPECT_EQ(defaults->compare.replicas, 8u);
}

TEST(ReplayConfig, ShippedExampleLoads) {
  auto loaded = LoadReplayConfig(MERIDIAN_SOURCE_DIR "/configs/replay.yaml");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->replay.targets.size(), 4u);
  EXPECT_EQ(loaded->replay.backends.at("local-de").replicas, 4u);
  EXPECT_EQ(loaded->replay.compare.key_blocks, 4u);
}

}  // namespace
}  // namespace meridian::replay
