// gateway::ParseJsonObject: what a request body must be before the gateway looks inside.

#include <string>

#include <gtest/gtest.h>

#include "gateway/gateway.hpp"

namespace meridian::gateway {
namespace {

using core::ErrorCode;

std::string Nested(int depth) {
  // {"a":{"a":...{}...}} with `depth` objects.
  std::string s;
  for (int i = 1; i < depth; ++i) s += R"({"a":)";
  s += "{}";
  s += std::string(static_cast<std::size_t>(depth - 1), '}');
  return s;
}

TEST(ParseJsonObjectTest, AcceptsAnObject) {
  auto parsed = ParseJsonObject(R"({"model":"gpt","messages":[{"role":"user","content":"hi"}],"n":1})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->at("model").as_string(), "gpt");
  EXPECT_EQ(parsed->at("messages").as_array().size(), 1u);
  EXPECT_TRUE(ParseJsonObject("  {}\n"));
  EXPECT_TRUE(ParseJsonObject(R"({"text":"caf\u00e9 \ud83d\ude00 café"})"));
}

TEST(ParseJsonObjectTest, EmptyBody) {
  auto parsed = ParseJsonObject("");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidRequest);
  EXPECT_EQ(parsed.error().message, "request body is empty; expected a JSON object");
  EXPECT_TRUE(parsed.error().param.empty());
}

TEST(ParseJsonObjectTest, NotJson) {
  for (std::string_view body : {"hello", R"({"a":)", R"({"a":1,})", R"({"a":1} trailing)", "{'a':1}", "   "}) {
    SCOPED_TRACE(body);
    auto parsed = ParseJsonObject(body);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidRequest);
    EXPECT_TRUE(parsed.error().message.starts_with("request body is not valid JSON: ")) << parsed.error().message;
  }
}

TEST(ParseJsonObjectTest, InvalidUtf8IsRejected) {
  struct Case {
    std::string_view body;
    std::size_t offset;  // of the first invalid byte
  };
  for (const Case& c : {Case{"{\"a\":\"\xff\"}", 6},
                        Case{"{\"a\":\"\xc3\"}", 6},          // truncated sequence
                        Case{"{\"a\":\"\xc0\xaf\"}", 6},      // overlong '/'
                        Case{"{\"a\":\"\xed\xa0\x80\"}", 6},  // UTF-16 surrogate
                        Case{"{\"\xfe\":1}", 2}}) {
    SCOPED_TRACE(testing::PrintToString(std::string(c.body)));
    auto parsed = ParseJsonObject(c.body);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidRequest);
    EXPECT_EQ(parsed.error().message,
              "request body is not valid UTF-8 (invalid byte sequence at offset " + std::to_string(c.offset) + ")");
  }
}

// Invalid UTF-8 gets its own message (gateway.hpp promises one that says what is wrong).
TEST(ParseJsonObjectTest, InvalidUtf8MessageSaysUtf8) {
  auto parsed = ParseJsonObject("{\"a\":\"\xff\"}");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("UTF-8"), std::string::npos) << parsed.error().message;
}

TEST(ParseJsonObjectTest, JsonThatIsNotAnObject) {
  for (std::string_view body : {"[1,2]", "[]", "\"text\"", "42", "null", "true"}) {
    SCOPED_TRACE(body);
    auto parsed = ParseJsonObject(body);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidRequest);
    EXPECT_EQ(parsed.error().message, "request body must be a JSON object");
  }
}

TEST(ParseJsonObjectTest, NestingIsLimitedTo64) {
  EXPECT_TRUE(ParseJsonObject(Nested(64))) << "64 levels are allowed";
  auto deep = ParseJsonObject(Nested(65));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code, ErrorCode::kInvalidRequest);
  EXPECT_EQ(deep.error().message, "request body is not valid JSON: too deep");

  // Arrays count as levels too, and a very deep document fails the same way (no stack blow-up).
  std::string arrays = R"({"a":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto very_deep = ParseJsonObject(arrays);
  ASSERT_FALSE(very_deep);
  EXPECT_EQ(very_deep.error().message, "request body is not valid JSON: too deep");
}

}  // namespace
}  // namespace meridian::gateway
