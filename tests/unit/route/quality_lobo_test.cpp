// Benchmark-outcome training data and the leave-one-benchmark-out (LOBO) training sets
// (src/route/quality_lobo.{hpp,cpp}, docs/quality_router.md "Protocol v3"): the outcome labels
// on hand-written inputs, the per-source weighting, the benchmark list option's errors, and
// determinism of a model trained on combined sources.

#include "route/quality_lobo.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace meridian::route {
namespace {

TEST(QualityLoboLabels, OutcomeLabelIsOneZeroOrHalf) {
  EXPECT_EQ(OutcomeLabel(1, 0), 1.0);    // only strong correct
  EXPECT_EQ(OutcomeLabel(0, 1), 0.0);    // only weak correct
  EXPECT_EQ(OutcomeLabel(1, 1), 0.5);    // both
  EXPECT_EQ(OutcomeLabel(0, 0), 0.5);    // neither
  EXPECT_EQ(OutcomeLabel(8.0, 4.5), 1.0);  // MT-Bench mean judge scores
  EXPECT_EQ(OutcomeLabel(6.5, 7.0), 0.0);
  EXPECT_EQ(OutcomeLabel(9.5, 9.5), 0.5);
}

TEST(QualityLoboLabels, CorrectnessCsvToExamples) {
  // Contaminated Q5 is dropped by the reader before labelling, as in eval.
  const std::string csv =
      "prompt,weak,strong\n"
      "Q1,False,True\n"
      "Q2,True,False\n"
      "Q3,True,True\n"
      "Q4,False,False\n"
      "Q5,False,True\n";
  const std::vector<std::string> bad = {"Q5"};
  auto prompts = ParseCorrectnessCsv(csv, bad, "strong", "weak");
  ASSERT_TRUE(prompts.has_value()) << prompts.error().message;
  const auto ex = OutcomeExamples(*prompts);
  ASSERT_EQ(ex.size(), 4u);
  const std::vector<std::string> texts = {"Q1", "Q2", "Q3", "Q4"};
  const std::vector<double> labels = {1.0, 0.0, 0.5, 0.5};
  for (std::size_t i = 0; i < ex.size(); ++i) {
    EXPECT_EQ(ex[i].text, texts[i]);
    EXPECT_EQ(ex[i].label, labels[i]) << i;
    EXPECT_EQ(ex[i].reference, labels[i]) << i;
    EXPECT_EQ(ex[i].weight, 1.0);
  }
}

TEST(QualityLoboLabels, MtBenchToExamples) {
  // Question 1: strong mean (9+7)/2 = 8 > weak (4+5)/2 = 4.5 → 1. Question 2: 6 < 6.5 → 0.
  // Question 3: 7 = 7 → 0.5 (turn scores differ, the means tie). Question 4 is contaminated.
  const std::string questions =
      "{\"question_id\": 1, \"turns\": [\"q1 first\", \"q1 second\"]}\n"
      "{\"question_id\": 2, \"turns\": [\"q2 first\", \"q2 second\"]}\n"
      "{\"question_id\": 3, \"turns\": [\"q3 first\", \"q3 second\"]}\n"
      "{\"question_id\": 4, \"turns\": [\"dirty\", \"q4 second\"]}\n";
  const std::string judgements =
      "{\"question_id\": 1, \"model\": \"S\", \"score\": 9, \"turn\": 1}\n"
      "{\"question_id\": 1, \"model\": \"S\", \"score\": 7, \"turn\": 2}\n"
      "{\"question_id\": 1, \"model\": \"W\", \"score\": 4, \"turn\": 1}\n"
      "{\"question_id\": 1, \"model\": \"W\", \"score\": 5, \"turn\": 2}\n"
      "{\"question_id\": 2, \"model\": \"S\", \"score\": 6, \"turn\": 1}\n"
      "{\"question_id\": 2, \"model\": \"S\", \"score\": 6, \"turn\": 2}\n"
      "{\"question_id\": 2, \"model\": \"W\", \"score\": 7, \"turn\": 1}\n"
      "{\"question_id\": 2, \"model\": \"W\", \"score\": 6, \"turn\": 2}\n"
      "{\"question_id\": 3, \"model\": \"S\", \"score\": 10, \"turn\": 1}\n"
      "{\"question_id\": 3, \"model\": \"S\", \"score\": 4, \"turn\": 2}\n"
      "{\"question_id\": 3, \"model\": \"W\", \"score\": 6, \"turn\": 1}\n"
      "{\"question_id\": 3, \"model\": \"W\", \"score\": 8, \"turn\": 2}\n";
  const std::vector<std::string> bad = {"dirty"};
  auto prompts = ParseMtBench(questions, judgements, bad, "S", "W");
  ASSERT_TRUE(prompts.has_value()) << prompts.error().message;
  const auto ex = OutcomeExamples(*prompts);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].text, "q1 first");  // the router sees the first turn
  EXPECT_EQ(ex[0].label, 1.0);
  EXPECT_EQ(ex[1].label, 0.0);
  EXPECT_EQ(ex[2].label, 0.5);
}

TEST(QualityLoboSources, EachSourceGetsTheSameTotalWeight) {
  // Sizes 1, 3 and 4: N = 8, K = 3, so each source totals 8/3.
  std::vector<std::vector<TrainingExample>> sources = {
      {{"a", 0.2, 1.0}},
      {{"b1", 1, 1.0}, {"b2", 0, 1.0}, {"b3", 0.5, 1.0}},
      {{"c1", 1, 1.0}, {"c2", 1, 1.0}, {"c3", 1, 2.0}, {"c4", 1, 4.0}},
  };
  auto all = CombineSources(sources);
  ASSERT_TRUE(all.has_value()) << all.error().message;
  ASSERT_EQ(all->size(), 8u);
  EXPECT_EQ((*all)[0].text, "a");
  EXPECT_DOUBLE_EQ((*all)[0].weight, 8.0 / 3.0);
  EXPECT_DOUBLE_EQ((*all)[0].label, 0.2);
  for (int i = 1; i <= 3; ++i) EXPECT_DOUBLE_EQ((*all)[i].weight, 8.0 / 9.0) << i;
  // Unequal weights inside a source keep their ratios: total 8 → scale (8/3)/8 = 1/3.
  EXPECT_DOUBLE_EQ((*all)[4].weight, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ((*all)[6].weight, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ((*all)[7].weight, 4.0 / 3.0);
  double total = 0;
  for (const auto& e : *all) total += e.weight;
  EXPECT_DOUBLE_EQ(total, 8.0);  // mean weight 1

  EXPECT_FALSE(CombineSources({}).has_value());
  sources[1].clear();
  auto empty = CombineSources(sources);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_NE(empty.error().message.find("source 1 is empty"), std::string::npos) << empty.error().message;
  sources[1] = {{"b", 1, 0.0}};
  EXPECT_FALSE(CombineSources(sources).has_value());
}

TEST(QualityLoboSources, LeaveOneOutLeavesTheBenchmarkOut) {
  const std::vector<TrainingExample> base = {{"alpaca 1", 0.3, 1.0}, {"alpaca 2", 0.7, 1.0}};
  std::vector<BenchmarkPrompts> benchmarks = {
      {BenchmarkId::kMmlu, {{"mmlu", 1, 0}}},
      {BenchmarkId::kMtBench, {{"mt", 7, 8}}},
      {BenchmarkId::kGsm8k, {{"gsm 1", 1, 1}, {"gsm 2", 1, 0}}},
  };
  auto set = BenchmarkTrainingSet(base, benchmarks, BenchmarkId::kGsm8k);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  // Base first, then the others in canonical order (MT-Bench before MMLU), GSM8K left out.
  ASSERT_EQ(set->size(), 4u);
  EXPECT_EQ((*set)[0].text, "alpaca 1");
  EXPECT_EQ((*set)[2].text, "mt");
  EXPECT_EQ((*set)[2].label, 0.0);
  EXPECT_EQ((*set)[3].text, "mmlu");
  EXPECT_EQ((*set)[3].label, 1.0);
  EXPECT_DOUBLE_EQ((*set)[0].weight, 4.0 / 3.0 / 2.0);
  EXPECT_DOUBLE_EQ((*set)[3].weight, 4.0 / 3.0);
  for (const auto& e : *set) EXPECT_NE(e.text.rfind("gsm", 0), 0u) << e.text;

  auto all = BenchmarkTrainingSet(base, benchmarks, std::nullopt);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 6u);
  EXPECT_EQ((*all)[3].text, "gsm 1");
  EXPECT_EQ((*all)[3].label, 0.5);

  benchmarks.push_back({BenchmarkId::kMmlu, {{"again", 1, 0}}});
  auto twice = BenchmarkTrainingSet(base, benchmarks, std::nullopt);
  ASSERT_FALSE(twice.has_value());
  EXPECT_NE(twice.error().message.find("mmlu is given twice"), std::string::npos) << twice.error().message;
  EXPECT_FALSE(BenchmarkTrainingSet({}, benchmarks, BenchmarkId::kMmlu).has_value());  // empty base
}

TEST(QualityLoboOptions, BenchmarkListIsCanonicalAndValidated) {
  auto all = ParseBenchmarkList("mmlu,mt-bench,gsm8k");
  ASSERT_TRUE(all.has_value()) << all.error().message;
  EXPECT_EQ(*all, (std::vector<BenchmarkId>{BenchmarkId::kMtBench, BenchmarkId::kGsm8k, BenchmarkId::kMmlu}));
  auto one = ParseBenchmarkList("gsm8k");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, std::vector<BenchmarkId>{BenchmarkId::kGsm8k});
  for (auto id : kAllBenchmarks) {
    auto back = ParseBenchmarkList(BenchmarkName(id));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->front(), id);
  }

  struct Bad {
    const char* input;
    const char* message_part;
  };
  const Bad cases[] = {
      {"", "empty item"},
      {"mt-bench,,mmlu", "empty item"},
      {"gsm8k,", "empty item"},
      {"MMLU", "unknown benchmark \"MMLU\" (accepted: mt-bench, gsm8k, mmlu)"},
      {"mt-bench, gsm8k", "unknown benchmark \" gsm8k\""},
      {"alpaca", "unknown benchmark \"alpaca\""},
      {"gsm8k,mmlu,gsm8k", "\"gsm8k\" is given twice"},
  };
  for (const auto& c : cases) {
    auto r = ParseBenchmarkList(c.input);
    ASSERT_FALSE(r.has_value()) << c.input;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidRequest) << c.input;
    EXPECT_EQ(r.error().param, "benchmarks") << c.input;
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos) << c.input << ": " << r.error().message;
  }
}

TEST(QualityLoboTrain, CombinedSourcesTrainDeterministically) {
  std::vector<TrainingExample> base;
  std::vector<EvalPrompt> bench;
  const char* topics[] = {"cats", "the sea", "primes", "rivers", "trees", "the moon", "a dog", "clouds"};
  for (const char* t : topics) {
    base.push_back({std::string("write a poem about ") + t, 0.2, 1.0});
    base.push_back({std::string("tell a story about ") + t, 0.3, 1.0});
    bench.push_back({std::string("solve 3 + 4 * x = 19 for ") + t, 1, 0});
    bench.push_back({std::string("what colour are ") + t, 1, 1});
  }
  const std::vector<BenchmarkPrompts> benchmarks = {{BenchmarkId::kGsm8k, bench}};
  auto set = BenchmarkTrainingSet(base, benchmarks, std::nullopt);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  TrainOptions opt;
  opt.features.hash_bits = 8;
  auto a = TrainQualityModel(*set, opt);
  auto b = TrainQualityModel(*set, opt);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(SerializeQualityModel(*a), SerializeQualityModel(*b));  // same seed → same bytes
}

}  // namespace
}  // namespace meridian::route
