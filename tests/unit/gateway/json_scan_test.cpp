// gateway/json_scan: the validating SAX scan of upstream JSON and the in-place usage strip.

#include "gateway/json_scan.hpp"

#include <string>

#include <gtest/gtest.h>

namespace meridian::gateway {
namespace {

using Usage = JsonScan::Usage;

TEST(JsonScanTest, ReadsUsageCountsAndChoices) {
  auto scan = ScanJson(
      R"({"id":"x","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})");
  ASSERT_TRUE(scan) << scan.error().message;
  EXPECT_TRUE(scan->top_level_object);
  EXPECT_EQ(scan->usage, Usage::kObject);
  EXPECT_EQ(scan->prompt_tokens, 9);
  EXPECT_EQ(scan->completion_tokens, 2);
  EXPECT_TRUE(scan->choices_empty);
}

TEST(JsonScanTest, ReadsCachedAndReasoningTokens) {
  auto scan = ScanJson(
      R"({"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29,)"
      R"("prompt_tokens_details":{"audio_tokens":1,"cached_tokens":4},)"
      R"("completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0,"x":{"reasoning_tokens":99}}}})");
  ASSERT_TRUE(scan) << scan.error().message;
  EXPECT_EQ(scan->prompt_tokens, 9);
  EXPECT_EQ(scan->completion_tokens, 20);
  EXPECT_EQ(scan->cached_tokens, 4);
  EXPECT_EQ(scan->reasoning_tokens, 12);

  // Only inside the top-level usage's details objects.
  auto elsewhere = ScanJson(
      R"({"prompt_tokens_details":{"cached_tokens":4},"usage":{"cached_tokens":3,)"
      R"("completion_tokens_details":{"cached_tokens":5}}})");
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->cached_tokens, -1);
  EXPECT_EQ(elsewhere->reasoning_tokens, -1);
}

TEST(JsonScanTest, UsageKinds) {
  struct Case {
    const char* text;
    Usage usage;
  };
  for (Case c : {Case{R"({"a":1})", Usage::kAbsent}, Case{R"({"usage":null})", Usage::kNull},
                 Case{R"({"usage":{}})", Usage::kObject}, Case{R"({"usage":[]})", Usage::kOther},
                 Case{R"({"usage":"x"})", Usage::kOther}, Case{R"({"usage":3})", Usage::kOther},
                 Case{R"({"usage":true})", Usage::kOther}}) {
    SCOPED_TRACE(c.text);
    auto scan = ScanJson(c.text);
    ASSERT_TRUE(scan);
    EXPECT_EQ(scan->usage, c.usage);
  }
}

TEST(JsonScanTest, OnlyTopLevelMembersCount) {
  auto scan = ScanJson(
      R"({"choices":[{"index":0,"delta":{"usage":{"prompt_tokens":5}},"choices":[]}],)"
      R"("meta":{"usage":null,"prompt_tokens":7}})");
  ASSERT_TRUE(scan);
  EXPECT_EQ(scan->usage, Usage::kAbsent);
  EXPECT_EQ(scan->prompt_tokens, -1);
  EXPECT_FALSE(scan->choices_empty);

  auto nested_in_usage = ScanJson(R"({"usage":{"details":{"prompt_tokens":5},"completion_tokens":4}})");
  ASSERT_TRUE(nested_in_usage);
  EXPECT_EQ(nested_in_usage->prompt_tokens, -1);
  EXPECT_EQ(nested_in_usage->completion_tokens, 4);
}

TEST(JsonScanTest, EscapedKeysAreDecoded) {
  auto scan = ScanJson(R"({"us\u0061ge":{"prompt_tokens":3}})");
  ASSERT_TRUE(scan);
  EXPECT_EQ(scan->usage, Usage::kObject);
  EXPECT_EQ(scan->prompt_tokens, 3);
}

TEST(JsonScanTest, NonObjectsAreValidButFlagged) {
  auto scan = ScanJson("[1,2]");
  ASSERT_TRUE(scan);
  EXPECT_FALSE(scan->top_level_object);
}

TEST(JsonScanTest, RejectsWhatIsNotExactlyOneJsonValue) {
  for (std::string_view text : {"", "not json", R"({"a":1} {"b":2})", R"({"a":)", "{\"a\":\"\xff\"}"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(text)));
    auto scan = ScanJson(text);
    ASSERT_FALSE(scan);
    EXPECT_EQ(scan.error().code, core::ErrorCode::kUpstreamError);
  }
}

TEST(JsonScanTest, DepthIsLimitedTo64) {
  auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
  };
  EXPECT_TRUE(ScanJson(nested(64)));
  EXPECT_FALSE(ScanJson(nested(65)));
}

TEST(StripNullUsageTest, RemovesTheMemberWhereverItIs) {
  std::string last = R"({"id":"x","choices":[],"usage":null})";
  ASSERT_TRUE(StripNullUsage(last));
  EXPECT_EQ(last, R"({"id":"x","choices":[]})");

  std::string middle = R"({"id":"x","usage":null,"choices":[]})";
  ASSERT_TRUE(StripNullUsage(middle));
  EXPECT_EQ(middle, R"({"id":"x","choices":[]})");
}

TEST(StripNullUsageTest, RefusesWhatItCannotDoSafely) {
  for (std::string text : {R"({"usage":null})",                       // the only member
                           R"({"a":{"usage":null},"usage":null})",     // twice
                           R"({"id":"x","usage": null})",              // not compact
                           R"({"id":"x"})"}) {                         // absent
    SCOPED_TRACE(text);
    std::string copy = text;
    EXPECT_FALSE(StripNullUsage(copy));
    EXPECT_EQ(copy, text);  // untouched
  }
  // Inside a string the quotes are escaped, so content never matches.
  std::string content = R"({"text":"say \"usage\":null","usage":{"prompt_tokens":1}})";
  EXPECT_FALSE(StripNullUsage(content));
}

// Found by fuzz/json_scan.cpp: with the top-level member written with a space (upstream text is
// not always compact), the one compact match was a nested member, and it was removed.
TEST(StripNullUsageTest, LeavesANestedUsageMemberAlone) {
  const std::string text = R"({"a":{"usage":null,"b":1}, "usage": null})";
  std::string copy = text;
  EXPECT_FALSE(StripNullUsage(copy));
  EXPECT_EQ(copy, text);
  std::string in_array = R"({"choices":[{"usage":null,"i":0}],"x":1, "usage": null})";
  EXPECT_FALSE(StripNullUsage(in_array));
}

}  // namespace
}  // namespace meridian::gateway
