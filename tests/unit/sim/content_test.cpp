// Pure helpers and codecs of the simulator: hashing, answers, vectors, base64, escaping.

#include <cmath>
#include <cstring>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "sim/content.hpp"
#include "sim/fault.hpp"
#include "sim/openai.hpp"

namespace meridian::sim {
namespace {

namespace json = boost::json;

TEST(Content, Fnv1aKnownVectors) {
  EXPECT_EQ(Fnv1a(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(Fnv1a("bar", Fnv1a("foo")), Fnv1a("foobar"));
}

TEST(Content, AnswerIsDeterministicWords) {
  std::string a = AnswerText(42, 10);
  EXPECT_EQ(a, AnswerText(42, 10));
  EXPECT_NE(a, AnswerText(43, 10));
  std::size_t spaces = 0;
  for (char c : a) {
    spaces += c == ' ';
    EXPECT_TRUE(c == ' ' || (c >= 'a' && c <= 'z')) << a;
  }
  EXPECT_EQ(spaces, 9u);
  EXPECT_EQ(AnswerText(42, 0), "");
  // A prefix of a longer answer is the shorter answer.
  EXPECT_EQ(AnswerText(42, 20).substr(0, a.size()), a);
}

TEST(Content, ApproxTokens) {
  EXPECT_EQ(ApproxTokens(0), 1u);
  EXPECT_EQ(ApproxTokens(1), 1u);
  EXPECT_EQ(ApproxTokens(4), 1u);
  EXPECT_EQ(ApproxTokens(5), 2u);
  EXPECT_EQ(ApproxTokens(400), 100u);
}

TEST(Content, UnitVectorHasUnitNorm) {
  for (std::size_t dims : {1u, 2u, 16u, 1536u}) {
    auto v = UnitVector(7, dims);
    ASSERT_EQ(v.size(), dims);
    double n = 0;
    for (float f : v) n += double{f} * f;
    EXPECT_NEAR(std::sqrt(n), 1.0, 1e-5) << dims;
  }
  EXPECT_EQ(UnitVector(7, 8), UnitVector(7, 8));
  EXPECT_NE(UnitVector(7, 8), UnitVector(8, 8));
}

TEST(Content, Base64) {
  auto b64 = [](std::string_view s) {
    std::string out;
    AppendBase64(out, {reinterpret_cast<const unsigned char*>(s.data()), s.size()});
    return out;
  };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  std::string floats;
  const float one[] = {1.0f};  // 0x3f800000 little-endian: 00 00 80 3f
  AppendBase64Floats(floats, one);
  EXPECT_EQ(floats, "AACAPw==");
}

TEST(Content, JsonEscaping) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\nd\x01\xc3\xa9");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"");
  EXPECT_EQ(json::parse(out).as_string(), "a\"b\\c\nd\x01\xc3\xa9");
}

TEST(Fault, NamesRoundTrip) {
  for (int i = 0; i < kFaultKinds; ++i) {
    Fault f = static_cast<Fault>(i);
    EXPECT_EQ(ParseFault(FaultName(f)), f);
  }
  EXPECT_FALSE(ParseFault("explode").has_value());
  EXPECT_EQ(ParseFault("429"), Fault::kRateLimit);
}

TEST(Fault, PickerIsSeededAndRoughlyAtRate) {
  FaultPicker a(Fault::kServerError, 0.3, 42), b(Fault::kServerError, 0.3, 42), c(Fault::kServerError, 0.3, 43);
  int hits = 0, differ = 0;
  for (int i = 0; i < 2000; ++i) {
    Fault fa = a.Next();
    EXPECT_EQ(fa, b.Next());
    differ += fa != c.Next();
    hits += fa == Fault::kServerError;
  }
  EXPECT_GT(hits, 450);
  EXPECT_LT(hits, 750);
  EXPECT_GT(differ, 0);
  FaultPicker always(Fault::kRateLimit, 1.0, 0), never(Fault::kRateLimit, 0.0, 0), none(Fault::kNone, 1.0, 0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(always.Next(), Fault::kRateLimit);
    EXPECT_EQ(never.Next(), Fault::kNone);
    EXPECT_EQ(none.Next(), Fault::kNone);
  }
}

TEST(OpenAi, ParseChatComputesPromptTokensFromCodePoints) {
  // 8 + 6 code points ("héllo!" has 6 code points, 7 bytes) = 14 → ceil(14/4) = 4.
  auto r = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"system","content":"12345678"},)"
      R"({"role":"user","content":[{"type":"text","text":"h\u00e9llo!"}]}]})",
      false);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->prompt_tokens, 4u);
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->max_tokens.has_value());
}

TEST(OpenAi, ParseChatValidation) {
  struct Case {
    const char* body;
    const char* param;  // "" = null
  } cases[] = {
      {R"({"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":7,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":"m"})", "messages"},
      {R"({"model":"m","messages":{}})", "messages"},
      {R"({"model":"m","messages":[]})", "messages"},
      {R"({"model":"m","messages":[3]})", "messages[0]"},
      {R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"model":"m","messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":"9"})", "max_tokens"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})",
       "tools[0].function"},
      {R"([1,2])", ""},
      {R"({"model":)", ""},
      {"", ""},
  };
  for (const Case& c : cases) {
    auto r = ParseChatRequest(c.body, false);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidRequest);
    EXPECT_EQ(r.error().param, c.param) << c.body;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(OpenAi, ToolArgumentsFromRequiredParameters) {
  auto r = ParseChatRequest(R"({"model":"m","messages":[{"role":"user","content":"hi"}],
      "tool_choice":"required",
      "tools":[{"type":"function","function":{"name":"get_weather","parameters":{
        "type":"object",
        "properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},
                      "days":{"type":"integer"},"detail":{"type":"boolean"},"extra":{"type":"string"}},
        "required":["city","unit","days","detail"]}}}]})",
                            false);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->tool_call);
  EXPECT_EQ(r->tool_call->name, "get_weather");
  EXPECT_EQ(r->tool_call->arguments, R"({"city":"sim","unit":"celsius","days":1,"detail":true})");
  EXPECT_TRUE(r->tool_call->id.starts_with("call_sim_"));
}

TEST(OpenAi, ToolArgumentFragmentsReassemble) {
  std::string args = R"({"city":"Z\u00fcrich","n":1})";
  auto frags = ToolArgumentFragments(args);
  std::string joined;
  for (auto f : frags) {
    EXPECT_LE(f.size(), 6u);
    joined += f;
  }
  EXPECT_EQ(joined, args);
  EXPECT_EQ(ToolArgumentFragments("{}").size(), 1u);
}

TEST(OpenAi, ErrorBody) {
  auto v = json::parse(RenderErrorBody("bad \"x\"", "invalid_request_error", "model"));
  const auto& e = v.at("error");
  EXPECT_EQ(e.at("message").as_string(), "bad \"x\"");
  EXPECT_EQ(e.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(e.at("param").as_string(), "model");
  EXPECT_TRUE(e.at("code").is_null());
}

}  // namespace
}  // namespace meridian::sim
