// Per-alias replays (replay/engine.hpp, replay/targets.hpp): each alias routed with its own
// routing policy, and a quality alias deciding per request with the gateway's own function
// (gateway::DecideQuality), on tiny inline traces with every count worked out by hand.
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/snapshot.hpp"
#include "replay/engine.hpp"
#include "replay/replay_config.hpp"
#include "replay/report.hpp"
#include "replay/trace.hpp"
#include "route/quality.hpp"

namespace meridian::replay {
namespace {

namespace fs = std::filesystem;

// edge serves small-m ($1 / $2 per Mtok); big-m is served by cloud-b (FR, $12 / $24), listed
// first, and cloud-a (US, $10 / $20). Emails must stay in the EU.
constexpr std::string_view kGateway = R"(backends:
  - id: edge
    provider: llamacpp
    base_url: http://127.0.0.1:18999/v1
    models: [small-m]
    tier: edge
    jurisdiction: DE
    prices: {small-m: {input_per_mtok: 1, output_per_mtok: 2}}
  - id: cloud-b
    provider: mistral
    base_url: https://api.mistral.ai/v1
    api_key: unused
    models: [big-m]
    tier: cloud
    jurisdiction: FR
    prices: {big-m: {input_per_mtok: 12, output_per_mtok: 24}}
  - id: cloud-a
    provider: openai
    base_url: https://api.openai.com/v1
    api_key: unused
    models: [big-m]
    tier: cloud
    jurisdiction: US
    prices: {big-m: {input_per_mtok: 10, output_per_mtok: 20}}
policies:
  - name: personal-data-in-eu
    when: {data_classes: [email]}
    require: {inference_jurisdiction: [EU]}
)";

// Three text-less requests: (1000 in, 100 out), (2000, 200), (500, 50).
constexpr std::string_view kMooncake =
    "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 100, \"hash_ids\": [1]}\n"
    "{\"timestamp\": 5, \"input_length\": 2000, \"output_length\": 200, \"hash_ids\": [2]}\n"
    "{\"timestamp\": 10, \"input_length\": 500, \"output_length\": 50, \"hash_ids\": [3]}\n";

// Four calls (one per assistant message). Last user turns: "Please calculate my refund",
// "thanks, bye" (the same conversation: only the last user turn is scored), "Hello there",
// "Can you calculate the fare?".
constexpr std::string_view kTau = R"([
  {"task_id": 0, "traj": [
    {"role": "system", "content": "You are an airline agent."},
    {"role": "user", "content": "Please calculate my refund"},
    {"role": "assistant", "content": "It is 120 dollars."},
    {"role": "user", "content": "thanks, bye"},
    {"role": "assistant", "content": "Goodbye."}]},
  {"task_id": 1, "traj": [
    {"role": "user", "content": "Hello there"},
    {"role": "assistant", "content": "Hi, how can I help?"}]},
  {"task_id": 2, "traj": [
    {"role": "user", "content": "Can you calculate the fare?"},
    {"role": "assistant", "content": "Sure."}]}
])";

// A router that scores sigmoid(-1 + 10 × math-detector): ≈ 0.27 without a math word, ≈ 0.92
// with one ("calculate"). Default threshold 0.5.
route::QualityModel MathRouter() {
  route::QualityModel m;
  m.features.hash_bits = 8;
  m.weights.assign(m.features.dim(), 0.0f);
  m.weights[route::kQualityDetectorMath] = 10.0f;
  m.bias = -1;
  m.default_threshold = 0.5;
  return m;
}

// A configuration folder with the router file next to the YAML (quality.model is relative to it).
class PerAlias : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("meridian-replay-{}-{}", getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_TRUE(route::SaveQualityModel(MathRouter(), (dir_ / "router.json").string()).has_value());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Loads kGateway + `aliases_and_replay` as a replay configuration file.
  void Load(std::string_view aliases_and_replay) {
    const fs::path file = dir_ / "replay.yaml";
    std::ofstream(file) << kGateway << aliases_and_replay;
    auto loaded = LoadReplayConfig(file.string());
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    auto snapshot = gateway::Snapshot::Build(std::move(loaded->gateway));
    ASSERT_TRUE(snapshot.has_value()) << snapshot.error().message;
    snapshot_ = *snapshot;
    config_ = loaded->replay;
  }

  Report Run(const Trace& trace, RunOptions options = {}) {
    auto report = RunReplay(*snapshot_, config_, trace, options);
    EXPECT_TRUE(report.has_value()) << report.error().message;
    return report ? *report : Report{};
  }

  // Requests routed to backend `id`.
  static std::uint64_t On(const Report& r, std::string_view id) {
    for (const auto& c : r.by_candidate) {
      if (c.backend == id) return c.requests;
    }
    return 0;
  }

  fs::path dir_;
  std::shared_ptr<const gateway::Snapshot> snapshot_;
  ReplayConfig config_;
};

Trace Mooncake() {
  auto t = ReadMooncake(kMooncake, "inline.jsonl");
  EXPECT_TRUE(t.has_value());
  return *t;
}

Trace Tau() {
  auto t = ReadTauBench(kTau, "inline.json");
  EXPECT_TRUE(t.has_value());
  return *t;
}

constexpr std::string_view kStrategies = R"(aliases:
  pri: {target: big-m, strategy: priority}
  cheap: {target: big-m, strategy: cheapest}
  w: {target: big-m, strategy: weighted, weights: {cloud-a: 0}}
  tiny: small-m
replay:
  per_alias: true
)";

TEST_F(PerAlias, EachAliasRoutesWithItsOwnStrategy) {
  Load(kStrategies);
  config_.targets = {"pri"};
  Report pri = Run(Mooncake());
  EXPECT_EQ(On(pri, "cloud-b"), 3u);  // priority: configuration order
  EXPECT_EQ(On(pri, "cloud-a"), 0u);
  EXPECT_EQ(pri.strategy, "per-alias");
  ASSERT_EQ(pri.targets.size(), 1u);
  EXPECT_EQ(pri.targets[0].strategy, "priority");
  EXPECT_EQ(pri.targets[0].requests, 3u);

  config_.targets = {"cheap"};
  Report cheap = Run(Mooncake());
  EXPECT_EQ(On(cheap, "cloud-a"), 3u);  // cheapest: $10 / $20 beats $12 / $24
  // 3500 in × 10 + 350 out × 20 pico-USD per token; the baseline is the dearest allowed: cloud-b.
  EXPECT_EQ(cheap.cost_pico_usd, (3500 * 10 + 350 * 20) * 1'000'000LL);
  EXPECT_EQ(cheap.baseline_pico_usd, (3500 * 12 + 350 * 24) * 1'000'000LL);
  // Strength is the model's: big-m is strong on both backends.
  EXPECT_EQ(cheap.strong, 3u);

  // Weighted with cloud-b's weight 1 and cloud-a's 0: always cloud-b.
  config_.targets = {"w"};
  EXPECT_EQ(On(Run(Mooncake()), "cloud-b"), 3u);

  // Targets in turn, by arrival: pri, cheap, pri.
  config_.targets = {"pri", "cheap"};
  Report both = Run(Mooncake());
  EXPECT_EQ(On(both, "cloud-b"), 2u);
  EXPECT_EQ(On(both, "cloud-a"), 1u);
  ASSERT_EQ(both.targets.size(), 2u);
  EXPECT_EQ(both.targets[0].requests, 2u);
  EXPECT_EQ(both.targets[1].requests, 1u);

  // --strategy overrides every alias's strategy.
  config_.targets = {"pri"};
  RunOptions cheapest;
  cheapest.strategy = route::Strategy::kCheapest;
  Report overridden = Run(Mooncake(), cheapest);
  EXPECT_EQ(On(overridden, "cloud-a"), 3u);
  EXPECT_EQ(overridden.strategy, "cheapest");
  EXPECT_EQ(overridden.targets[0].strategy, "cheapest");
}

TEST_F(PerAlias, PolicyExclusionsCountTheServingModelsBackendsOnly) {
  Load(kStrategies);
  config_.targets = {"cheap", "tiny"};
  // Two calls, both with an email in the prompt: the first asks for cheap, the second for tiny.
  auto trace = ReadTauBench(R"([{"task_id": 0, "traj": [
    {"role": "user", "content": "I am jane.doe@example.com"},
    {"role": "assistant", "content": "Thanks."},
    {"role": "user", "content": "Refund please"},
    {"role": "assistant", "content": "Done."}]}])", "inline.json");
  ASSERT_TRUE(trace.has_value());
  Report r = Run(*trace);
  EXPECT_EQ(r.allowed, 2u);
  EXPECT_EQ(On(r, "cloud-b"), 1u);  // the US backend is excluded, so cheapest has only cloud-b
  EXPECT_EQ(On(r, "cloud-a"), 0u);
  EXPECT_EQ(On(r, "edge"), 1u);
  // cloud-a is excluded for both requests, but only the first asked for a model it serves.
  ASSERT_EQ(r.excluded.size(), 1u);
  EXPECT_EQ(r.excluded.begin()->first.rfind("personal-data-in-eu: ", 0), 0u);
  EXPECT_EQ(r.excluded.begin()->second, 1u);
}

constexpr std::string_view kQuality = R"(aliases:
  smart:
    target: big-m
    strategy: cheapest
    quality: {weak: small-m, model: router.json%s}
replay:
  per_alias: true
  targets: [smart]
)";

std::string QualityConfig(std::string_view threshold_line) {
  std::string text(kQuality);
  text.replace(text.find("%s"), 2, threshold_line);
  return text;
}

TEST_F(PerAlias, QualityAliasScoresTheLastUserTurnLikeTheGateway) {
  Load(QualityConfig(""));  // the model's default threshold, 0.5
  Report r = Run(Tau());
  ASSERT_EQ(r.quality.size(), 1u);
  const QualityCount& q = r.quality[0];
  EXPECT_EQ(q.alias, "smart");
  EXPECT_EQ(q.strong_model, "big-m");
  EXPECT_EQ(q.weak_model, "small-m");
  EXPECT_DOUBLE_EQ(q.threshold, 0.5);
  EXPECT_EQ(q.scored, 4u);
  EXPECT_EQ(q.sent_strong, 2u);  // the two "calculate" turns
  EXPECT_EQ(q.sent_weak, 2u);    // "thanks, bye" (after a math turn) and "Hello there"
  EXPECT_EQ(q.unscored, 0u);
  EXPECT_EQ(On(r, "edge"), 2u);
  EXPECT_EQ(On(r, "cloud-a"), 2u);  // the alias's strategy (cheapest) among big-m's backends
  EXPECT_EQ(r.strong, 2u);
  EXPECT_DOUBLE_EQ(r.strong_share(), 0.5);
  EXPECT_GT(r.savings_pico_usd(), 0);
}

TEST_F(PerAlias, QualityThresholdZeroSendsAllStrongAndOneAllWeak) {
  Load(QualityConfig(", threshold: 0"));
  Report strong = Run(Tau());
  EXPECT_EQ(strong.quality[0].sent_strong, 4u);
  EXPECT_EQ(strong.quality[0].sent_weak, 0u);
  EXPECT_EQ(On(strong, "cloud-a"), 4u);
  EXPECT_EQ(strong.strong, 4u);
  // All on the cheaper big-m backend; the baseline is the dearer one, so savings = 1/6 exactly.
  EXPECT_EQ(strong.baseline_pico_usd * 5, strong.cost_pico_usd * 6);

  // The configuration allows thresholds in [0, 1]; every score is below 1.
  Load(QualityConfig(", threshold: 1"));
  Report weak = Run(Tau());
  EXPECT_EQ(weak.quality[0].sent_weak, 4u);
  EXPECT_EQ(weak.quality[0].sent_strong, 0u);
  EXPECT_EQ(On(weak, "edge"), 4u);
  EXPECT_EQ(weak.strong, 0u);
  EXPECT_DOUBLE_EQ(weak.strong_share(), 0.0);
}

TEST_F(PerAlias, TextlessRequestsAreUnscoredAndGoStrong) {
  Load(QualityConfig(""));
  Report r = Run(Mooncake());
  ASSERT_EQ(r.quality.size(), 1u);
  EXPECT_EQ(r.quality[0].scored, 0u);
  EXPECT_EQ(r.quality[0].unscored, 3u);
  EXPECT_EQ(r.quality[0].sent_weak + r.quality[0].sent_strong, 0u);
  EXPECT_EQ(On(r, "cloud-a"), 3u);
  EXPECT_EQ(r.strong, 3u);

  const auto json = ToJson(r);
  EXPECT_TRUE(json.at("per_alias").as_bool());
  EXPECT_EQ(json.at("strategy").as_string(), "per-alias");
  const auto& target = json.at("targets").as_array().at(0).as_object();
  EXPECT_EQ(target.at("name").as_string(), "smart");
  EXPECT_EQ(target.at("model").as_string(), "big-m");
  EXPECT_EQ(target.at("strategy").as_string(), "cheapest");
  EXPECT_EQ(target.at("requests").as_uint64(), 3u);
  EXPECT_EQ(target.at("allowed").as_uint64(), 3u);
  const auto& quality = json.at("quality").as_array().at(0).as_object();
  EXPECT_EQ(quality.at("alias").as_string(), "smart");
  EXPECT_EQ(quality.at("weak_model").as_string(), "small-m");
  EXPECT_EQ(quality.at("strong_model").as_string(), "big-m");
  EXPECT_DOUBLE_EQ(quality.at("threshold").as_double(), 0.5);
  EXPECT_EQ(quality.at("scored").as_uint64(), 0u);
  EXPECT_EQ(quality.at("sent_weak").as_uint64(), 0u);
  EXPECT_EQ(quality.at("sent_strong").as_uint64(), 0u);
  EXPECT_EQ(quality.at("unscored").as_uint64(), 3u);
  const std::string table = RenderTable(r);
  EXPECT_NE(table.find("quality router of smart (weak small-m, strong big-m, threshold 0.5000)"), std::string::npos)
      << table;
}

TEST_F(PerAlias, QualityAliasNeedsPerAliasAndPerAliasRejectsAStrategy) {
  Load(QualityConfig(""));
  config_.per_alias = false;
  auto r = RunReplay(*snapshot_, config_, Mooncake());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "replay.targets: alias 'smart' has a quality router, which only a per-alias replay uses "
            "(set replay.per_alias: true)");
  auto parsed = ParseReplaySection("replay:\n  per_alias: true\n  strategy: p2c\n", "r.yaml");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().message.rfind("r.yaml:3: replay.strategy: not used with per_alias: true", 0), 0u)
      << parsed.error().message;
  auto bad = ParseReplaySection("replay:\n  per_alias: yes\n", "r.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "r.yaml:2: replay.per_alias: expected true or false");
  auto union_json = ToJson(Report{});
  EXPECT_FALSE(union_json.at("per_alias").as_bool());
  EXPECT_TRUE(union_json.at("quality").as_array().empty());
}

TEST(ReplayQualityExample, ShippedConfigurationLoadsItsModelRelativeToItsFolder) {
  auto loaded = LoadReplayConfig(MERIDIAN_SOURCE_DIR "/configs/replay-quality.yaml");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_TRUE(loaded->replay.per_alias);
  EXPECT_EQ(loaded->replay.targets, (std::vector<std::string>{"smart"}));
  auto snapshot = gateway::Snapshot::Build(std::move(loaded->gateway));
  ASSERT_TRUE(snapshot.has_value()) << snapshot.error().message;
  const gateway::QualityRoute* q = (*snapshot)->QualityFor("smart");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->weak, "llama-3.1-70b");
}

}  // namespace
}  // namespace meridian::replay
