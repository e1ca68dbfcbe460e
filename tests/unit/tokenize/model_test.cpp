// Model name -> tokenizer family, the approximation's behaviour, the estimator.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "tokenize/tokenize.hpp"

namespace meridian::tokenize {
namespace {

TEST(EncodingFor, OpenAiFamilies) {
  for (const char* m : {"gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "chatgpt-4o-latest",
                        "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4.5-preview", "gpt-5",
                        "gpt-5-mini", "gpt-5.1", "o1", "o1-mini", "o1-preview", "o3", "o3-mini",
                        "o3-pro", "o4-mini", "gpt-oss-120b", "GPT-4o", "openai/gpt-4o",
                        "ft:gpt-4o-mini-2024-07-18:acme::abc123", "azure/openai/gpt-4.1"}) {
    EXPECT_EQ(EncodingFor(m), Family::kO200k) << m;
  }
  for (const char* m : {"gpt-4", "gpt-4-0613", "gpt-4-32k", "gpt-4-turbo",
                        "gpt-4-turbo-2024-04-09", "gpt-3.5-turbo", "gpt-3.5-turbo-0125",
                        "gpt-35-turbo", "text-embedding-3-small", "text-embedding-3-large",
                        "text-embedding-ada-002", "ft:gpt-3.5-turbo-0613:acme::x1"}) {
    EXPECT_EQ(EncodingFor(m), Family::kCl100k) << m;
  }
  for (const char* m : {"claude-3-5-sonnet-20241022", "claude-opus-4", "llama-3.1-70b",
                        "mistral-large", "gemini-2.0-flash", "o1x", "gpt-40", "gpt-4omni",
                        "o", "", "text-davinci-003", "gpt2"}) {
    EXPECT_EQ(EncodingFor(m), Family::kApproximate) << m;
  }
  EXPECT_EQ(FamilyName(Family::kO200k), "o200k_base");
  EXPECT_EQ(FamilyName(Family::kCl100k), "cl100k_base");
  EXPECT_EQ(FamilyName(Family::kApproximate), "approximate");
}

TEST(ApproximateCount, Basics) {
  EXPECT_EQ(ApproximateCount(""), 0u);
  EXPECT_EQ(ApproximateCount("a"), 1u);
  EXPECT_EQ(ApproximateCount(" "), 1u);  // never 0 for non-empty text
  // Grows with the text, roughly linearly.
  const std::string para =
      "The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst "
      "of times. ";
  const std::size_t one = ApproximateCount(para);
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += para;
  EXPECT_NEAR(static_cast<double>(ApproximateCount(ten)), 10.0 * one, 0.05 * 10 * one);
  // Invalid UTF-8 and truncated sequences are counted, not trusted.
  EXPECT_GT(ApproximateCount("\xFF\xFE\xE4\xBD"), 0u);
  EXPECT_GT(ApproximateCount(std::string(1000, '\x80')), 0u);
}

class EstimatorTest : public ::testing::Test {
 protected:
  static std::filesystem::path RankDir() {
    if (const char* env = std::getenv("MERIDIAN_TOKENIZER_DIR"); env && *env) return env;
    return MERIDIAN_TOKENIZER_DIR;
  }
};

TEST_F(EstimatorTest, ExactWhereTheVocabularyLoads) {
  std::vector<core::Error> problems;
  const Estimator est = Estimator::Load(RankDir(), &problems);
  ASSERT_TRUE(problems.empty()) << problems[0].message;
  const std::string text = "hello world";
  auto e = est.Count("gpt-4o", text);
  EXPECT_TRUE(e.exact);
  EXPECT_EQ(e.tokens, 2u);
  EXPECT_EQ(e.family, Family::kO200k);
  e = est.Count("gpt-4", text);
  EXPECT_TRUE(e.exact);
  EXPECT_EQ(e.family, Family::kCl100k);
  EXPECT_EQ(e.tokens, 2u);
  e = est.Count("claude-sonnet-4", text);
  EXPECT_FALSE(e.exact);
  EXPECT_EQ(e.family, Family::kApproximate);
  EXPECT_EQ(e.tokens, ApproximateCount(text));
}

TEST_F(EstimatorTest, ApproximationIsCloseOnEnglish) {
  const Estimator est = Estimator::Load(RankDir());
  const std::string text =
      "Meridian is a gateway that sits between applications and language model providers. It "
      "routes each request to a backend that may serve it, checks what data the request "
      "carries, and records what happened. Before a request is sent, it estimates how many "
      "tokens the prompt holds, so that budgets and context limits can be enforced early.";
  const double exact = static_cast<double>(est.Count("gpt-4o", text).tokens);
  const double approx = static_cast<double>(ApproximateCount(text));
  EXPECT_LT(std::fabs(approx - exact) / exact, 0.15) << approx << " vs " << exact;
}

TEST(DefaultDataDir, NextToTheBinary) {
  const auto dir = DefaultDataDir();
  EXPECT_EQ(dir.filename(), "tokenizer");
  EXPECT_EQ(dir.parent_path().filename(), "share");
}

}  // namespace
}  // namespace meridian::tokenize
