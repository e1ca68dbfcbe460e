// Trace readers (replay/trace.hpp) on the fixtures in tests/fixtures/replay/.
#include <gtest/gtest.h>

#include <string>

#include "replay/trace.hpp"

namespace meridian::replay {
namespace {

const std::string kDir = MERIDIAN_SOURCE_DIR "/tests/fixtures/replay/";

TEST(TraceFormat, NamesAndGuesses) {
  EXPECT_EQ(GuessFormat("a/b.jsonl"), TraceFormat::kMooncake);
  EXPECT_EQ(GuessFormat("x.csv"), TraceFormat::kAzure);
  EXPECT_EQ(GuessFormat("x.json"), TraceFormat::kTauBench);
  EXPECT_FALSE(GuessFormat("x.txt").has_value());
  EXPECT_EQ(ParseFormat("tau-bench"), TraceFormat::kTauBench);
  EXPECT_EQ(FormatName(TraceFormat::kAzure), "azure");
  auto unknown = ReadTrace(kDir + "nothing.txt", std::nullopt);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("--format"), std::string::npos);
  auto missing = ReadTrace(kDir + "missing.jsonl", std::nullopt);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("missing.jsonl"), std::string::npos);
}

TEST(Mooncake, ReadsGoodLinesSkipsAndCountsBadOnes) {
  const std::string path = kDir + "mooncake_small.jsonl";
  auto trace = ReadTrace(path, std::nullopt);
  ASSERT_TRUE(trace.has_value()) << trace.error().message;
  EXPECT_EQ(trace->format, TraceFormat::kMooncake);
  ASSERT_EQ(trace->requests.size(), 3u);
  EXPECT_EQ(trace->requests[1].time_ms, 5);
  EXPECT_EQ(trace->requests[1].input_tokens, 2000);
  EXPECT_EQ(trace->requests[1].output_tokens, 200);
  EXPECT_EQ(trace->requests[1].prefix_ids, (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(trace->requests[2].prefix_ids, (std::vector<std::uint64_t>{0}));
  EXPECT_TRUE(trace->has_prefix_ids());
  EXPECT_FALSE(trace->has_text());
  EXPECT_EQ(trace->skipped, 2u);  // line 3 is blank: no record, no issue
  ASSERT_EQ(trace->issues.size(), 2u);
  EXPECT_EQ(trace->issues[0].rfind(path + ":4: not JSON", 0), 0u) << trace->issues[0];
  EXPECT_EQ(trace->issues[1], path + ":5: 'input_length' is missing or not a whole number >= 0");
}

TEST(Mooncake, StrictStopsAtTheFirstBadLine) {
  const std::string path = kDir + "mooncake_small.jsonl";
  auto trace = ReadTrace(path, std::nullopt, {.strict = true});
  ASSERT_FALSE(trace.has_value());
  EXPECT_EQ(trace.error().message.rfind(path + ":4: ", 0), 0u) << trace.error().message;
}

TEST(Mooncake, FieldChecksAndLimit) {
  auto t = ReadMooncake(
      "{\"timestamp\": 1.5, \"input_length\": 3.0, \"output_length\": 1, \"hash_ids\": [7]}\n"
      "{\"timestamp\": 2, \"input_length\": 1.5, \"output_length\": 1, \"hash_ids\": []}\n"
      "{\"timestamp\": 2, \"input_length\": 1, \"output_length\": 1}\n"
      "{\"timestamp\": 2, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [-1]}\n"
      "[1, 2]\n"
      "{\"timestamp\": 3, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1]}\n"
      "{\"timestamp\": 4, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [2]}\n",
      "t.jsonl", {.strict = false, .limit = 2});
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->requests.size(), 2u);  // the limit counts requests read, not lines
  EXPECT_EQ(t->requests[0].time_ms, 1.5);
  EXPECT_EQ(t->requests[0].input_tokens, 3);
  EXPECT_EQ(t->requests[1].time_ms, 3);
  EXPECT_EQ(t->skipped, 4u);
  EXPECT_EQ(t->issues[0], "t.jsonl:2: 'input_length' is missing or not a whole number >= 0");
  EXPECT_EQ(t->issues[1], "t.jsonl:3: 'hash_ids' is missing or not an array");
  EXPECT_EQ(t->issues[2], "t.jsonl:4: 'hash_ids' must hold whole numbers >= 0");
  EXPECT_EQ(t->issues[3], "t.jsonl:5: expected a JSON object");
}

TEST(Azure, TimestampsAreRelativeAndCrossMidnight) {
  EXPECT_EQ(ParseAzureTimestamp("1970-01-01 00:00:01.5"), 1500.0);
  EXPECT_EQ(ParseAzureTimestamp("1970-01-02 00:00:00"), 86'400'000.0);
  EXPECT_EQ(ParseAzureTimestamp("2000-03-01 00:00:00"), 951'868'800'000.0);  // after a leap day
  EXPECT_FALSE(ParseAzureTimestamp("2023-13-01 00:00:00").has_value());
  EXPECT_FALSE(ParseAzureTimestamp("2023-11-16 18:15").has_value());
  EXPECT_FALSE(ParseAzureTimestamp("2023-11-16 18:15:46.").has_value());
  EXPECT_FALSE(ParseAzureTimestamp("2023-11-16 18:15:46x").has_value());

  const std::string path = kDir + "azure_small.csv";
  auto trace = ReadTrace(path, std::nullopt);
  ASSERT_TRUE(trace.has_value()) << trace.error().message;
  ASSERT_EQ(trace->requests.size(), 3u);
  EXPECT_EQ(trace->requests[0].time_ms, 0);
  EXPECT_NEAR(trace->requests[1].time_ms, 4314.579, 1e-6);
  // 18:15:46.68059 → next day 00:00:00: 5 h 44 min 13.31941 s.
  EXPECT_NEAR(trace->requests[2].time_ms, 20'653'319.41, 1e-6);
  EXPECT_EQ(trace->requests[1].input_tokens, 396);
  EXPECT_EQ(trace->requests[1].output_tokens, 109);
  EXPECT_TRUE(trace->requests[1].prefix_ids.empty());
  EXPECT_FALSE(trace->has_prefix_ids());
  EXPECT_EQ(trace->skipped, 2u);
  ASSERT_EQ(trace->issues.size(), 2u);
  EXPECT_EQ(trace->issues[0], path + ":4: ContextTokens is not a whole number >= 0");
  EXPECT_EQ(trace->issues[1], path + ":5: expected 3 fields: TIMESTAMP,ContextTokens,GeneratedTokens");
}

TEST(Azure, HeaderIsRequired) {
  auto t = ReadAzure("time,in,out\n2023-11-16 18:15:46,1,1\n", "a.csv");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().message, "a.csv:1: expected the header 'TIMESTAMP,ContextTokens,GeneratedTokens'");
  EXPECT_FALSE(ReadAzure("", "a.csv").has_value());
  auto crlf = ReadAzure("TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46,1,2\r\n", "a.csv");
  ASSERT_TRUE(crlf.has_value());
  EXPECT_EQ(crlf->requests.size(), 1u);
}

TEST(TauBench, OneRequestPerAssistantTurn) {
  const std::string path = kDir + "tau_small.json";
  auto trace = ReadTrace(path, std::nullopt);
  ASSERT_TRUE(trace.has_value()) << trace.error().message;
  ASSERT_EQ(trace->conversations.size(), 2u);
  ASSERT_EQ(trace->requests.size(), 3u);
  const auto& r = trace->requests;
  EXPECT_EQ(r[0].conversation, 0);
  EXPECT_EQ(r[0].message_count, 2u);  // system + user
  EXPECT_EQ(r[1].message_count, 4u);
  EXPECT_EQ(r[2].conversation, 1);
  EXPECT_EQ(r[2].message_count, 2u);
  // Times: conversation × 20 s + turn × 5 s.
  EXPECT_EQ(r[0].time_ms, 0);
  EXPECT_EQ(r[1].time_ms, 5000);
  EXPECT_EQ(r[2].time_ms, 20000);
  // One prefix id per prompt message; a later turn extends the earlier one's chain, and the two
  // conversations share their first (system) message.
  ASSERT_EQ(r[0].prefix_ids.size(), 2u);
  ASSERT_EQ(r[1].prefix_ids.size(), 4u);
  EXPECT_EQ(r[1].prefix_ids[0], r[0].prefix_ids[0]);
  EXPECT_EQ(r[1].prefix_ids[1], r[0].prefix_ids[1]);
  EXPECT_EQ(r[2].prefix_ids[0], r[0].prefix_ids[0]);
  EXPECT_NE(r[2].prefix_ids[1], r[0].prefix_ids[1]);
  // Token estimates grow with the prompt and are never 0.
  EXPECT_GT(r[0].input_tokens, 8);
  EXPECT_GT(r[1].input_tokens, r[0].input_tokens);
  EXPECT_GE(r[1].output_tokens, 1);
  EXPECT_EQ(trace->skipped, 1u);
  ASSERT_EQ(trace->issues.size(), 1u);
  EXPECT_EQ(trace->issues[0], path + ": [2]: 'traj' is missing or not an array");
  EXPECT_FALSE(ReadTrace(path, std::nullopt, {.strict = true}).has_value());
}

TEST(TauBench, FileLevelErrors) {
  EXPECT_EQ(ReadTauBench("{\"a\": 1}", "t.json").error().message, "t.json: expected a JSON array of trajectories");
  EXPECT_FALSE(ReadTauBench("[1,", "t.json").has_value());
  auto bad_message = ReadTauBench("[{\"traj\": [{\"content\": \"x\"}]}]", "t.json");
  ASSERT_TRUE(bad_message.has_value());
  EXPECT_EQ(bad_message->issues.at(0), "t.json: [0]: a message has no 'role'");
}

}  // namespace
}  // namespace meridian::replay
