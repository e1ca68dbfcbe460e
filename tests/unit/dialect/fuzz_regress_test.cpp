// Regressions for what the fuzz targets found (fuzz/, docs/ARCHITECTURE.md "Fuzzing"); each
// input is also kept in fuzz/corpus/<target>/regress-*. Several failed only under the
// sanitizers of the dev build (ASan use-after-scope, UBSan signed overflow).

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "dialect/openai_responses.hpp"

namespace meridian::dialect {
namespace {

namespace json = boost::json;

json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return v;
}

// The path of a field under the one choice/candidate was built on a temporary Path that was
// gone when the message was rendered (stack-use-after-scope).
TEST(FuzzRegress, OpenAiResponseErrorUnderTheChoiceNamesTheField) {
  auto r = openai::DecodeResponse(
      R"({"choices":[{"finish_reason":5,"message":{"role":"assistant","content":"x"}}]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("choices[0].finish_reason"), std::string::npos)
      << r.error().message;
}

TEST(FuzzRegress, GeminiResponseErrorUnderTheCandidateNamesTheField) {
  auto r = gemini::DecodeResponse(R"({"candidates":[{"content":{"parts":[{"functionCall":{}}]}}]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("candidates[0].content.parts[0].functionCall.name"),
            std::string::npos)
      << r.error().message;
}

// A member of an Anthropic user message holding tool results was written inside its content
// array: the encoded body was not JSON.
TEST(FuzzRegress, AnthropicToolResultTurnKeepsItsMembersOutsideTheContentArray) {
  auto req = anthropic::DecodeRequest(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},)"
      R"({"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},)"
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}],)"
      R"("x_member":1}]})");
  ASSERT_TRUE(req.has_value()) << req.error().message;
  auto body = anthropic::EncodeRequest(*req);
  ASSERT_TRUE(body.has_value()) << body.error().message;
  const json::value v = ParseJson(*body);
  ASSERT_TRUE(v.is_object());
  const json::value& turn = v.at("messages").at(2);
  EXPECT_EQ(turn.at("x_member"), json::value(1)) << *body;
  EXPECT_EQ(turn.at("content").as_array().size(), 1u) << *body;
}

// Boost.JSON reads 1e999 as infinity and 0e99999 as NaN; its serializer wrote them back as
// Infinity / NaN, which is not JSON.
TEST(FuzzRegress, NonFiniteNumbersInKeptMembersAreWrittenAsJson) {
  auto resp = anthropic::DecodeResponse(
      R"({"id":"m","type":"message","role":"assistant","model":"c","content":[],)"
      R"("stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1},)"
      R"("x":[1e999,-1e999,0e99999,1.5]})");
  ASSERT_TRUE(resp.has_value()) << resp.error().message;
  auto body = anthropic::EncodeResponse(*resp);
  ASSERT_TRUE(body.has_value()) << body.error().message;
  const json::value v = ParseJson(*body);
  ASSERT_TRUE(v.is_object()) << *body;
  const json::array& x = v.at("x").as_array();
  ASSERT_EQ(x.size(), 4u);
  EXPECT_TRUE(x[2].is_null()) << *body;
  EXPECT_EQ(x[3].as_double(), 1.5);
}

// Tool arguments were serialized with json::serialize, which writes 1e999 as a non-JSON
// infinity: the same dialect's encoder then refused its own decoded response.
TEST(FuzzRegress, ToolArgumentsWithHugeNumbersStayJson) {
  auto resp = anthropic::DecodeResponse(
      R"({"id":"m","type":"message","role":"assistant","model":"c","content":[)"
      R"({"type":"tool_use","id":"t","name":"f","input":{"a":1e999,"b":0e99999}}],)"
      R"("stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}})");
  ASSERT_TRUE(resp.has_value()) << resp.error().message;
  ASSERT_EQ(resp->content.size(), 1u);
  const json::value args = ParseJson(resp->content[0].arguments);
  ASSERT_TRUE(args.is_object()) << resp->content[0].arguments;
  EXPECT_TRUE(args.at("b").is_null());
  auto body = anthropic::EncodeResponse(*resp);
  ASSERT_TRUE(body.has_value()) << body.error().message;
  EXPECT_TRUE(ParseJson(*body).is_object()) << *body;
}

// Header values are bytes: an invalid UTF-8 request id made the error body invalid JSON.
TEST(FuzzRegress, InvalidUtf8FromHeadersBecomesReplacementCharacters) {
  ErrorHeaders headers;
  headers.request_id = "req\x81\xff-1";
  const ApiError e = anthropic::DecodeError(500, "", headers);
  const HttpError http = anthropic::EncodeError(e);
  const json::value v = ParseJson(http.body);
  ASSERT_TRUE(v.is_object()) << http.body;
  EXPECT_EQ(v.at("request_id").as_string(), "req\xEF\xBF\xBD\xEF\xBF\xBD-1");
}

// Integers from doubles out of int64 range: converting them is undefined; a Gemini usage count
// became INT64_MIN and the prompt total overflowed.
TEST(FuzzRegress, HugeDoublesAreNotConvertedToIntegers) {
  auto req = openai::DecodeRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":1e300})");
  ASSERT_FALSE(req.has_value());
  EXPECT_NE(req.error().message.find("must be an integer"), std::string::npos)
      << req.error().message;

  auto resp = gemini::DecodeResponse(
      R"({"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"finishReason":"STOP"}],)"
      R"("usageMetadata":{"promptTokenCount":1e300,"toolUsePromptTokenCount":-1}})");
  ASSERT_TRUE(resp.has_value()) << resp.error().message;
  ASSERT_TRUE(resp->usage.has_value());
  EXPECT_EQ(resp->usage->input_tokens, -1);

  const ApiError e = gemini::DecodeError(
      429,
      R"({"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[)"
      R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1e300s"}]}})");
  EXPECT_EQ(e.retry_after, "");
}

}  // namespace
}  // namespace meridian::dialect

namespace meridian::dialect {
namespace {

// responses::DecodeResponse named fields under output[i] / output[i].content[j] through a Path
// built on a temporary (ASan: stack-use-after-scope when the error was rendered).
TEST(FuzzRegress, ResponsesErrorUnderAnOutputItemNamesTheField) {
  auto r = responses::DecodeResponse(
      R"({"id":"r","object":"response","created_at":1,"status":"completed","model":"m",)"
      R"("output":[{"type":"message","id":"m1","role":"assistant","content":[{"type":"output_text","text":5}]}]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("output[0].content[0].text"), std::string::npos) << r.error().message;
}

// A Responses stream event with a number far outside int64 (created_at: 1.5e117) was converted
// to an integer (UBSan: undefined conversion); it is now treated as absent.
TEST(FuzzRegress, ResponsesStreamHugeNumbersAreNotConvertedToIntegers) {
  responses::StreamDecoder decoder;
  std::vector<StreamEvent> events;
  auto fed = decoder.Feed(
      R"({"type":"response.created","sequence_number":0,"response":{"id":"r","object":"response",)"
      R"("created_at":1.5e117,"status":"in_progress","model":"m","output":[]}})",
      events);
  ASSERT_TRUE(fed) << fed.error().message;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].kind, StreamEventKind::kMessageStart);
  EXPECT_EQ(events[0].created, 0);
}

}  // namespace
}  // namespace meridian::dialect

namespace meridian::dialect {
namespace {

// created_at: 1e999 (an infinity after parsing) was converted to an integer (UBSan).
TEST(FuzzRegress, ResponsesInfiniteCreatedAtIsIgnored) {
  auto r = responses::DecodeResponse(
      R"({"id":"r","object":"response","created_at":1700001e9990000,"status":"completed","model":"m","output":[]})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->created, 0);
}

// A toolUsePromptTokenCount written as 300.0 was counted into input_tokens but kept as a double
// among the extras, which the encoder did not subtract: every re-encode added it again.
TEST(FuzzRegress, GeminiToolUseCountWrittenAsADoubleIsAFixpoint) {
  const std::string body =
      R"({"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"finishReason":"STOP"}],)"
      R"("usageMetadata":{"promptTokenCount":300,"toolUsePromptTokenCount":300.0,"totalTokenCount":600}})";
  auto first = gemini::DecodeResponse(body);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->usage);
  EXPECT_EQ(first->usage->input_tokens, 600);
  auto encoded = gemini::EncodeResponse(*first);
  ASSERT_TRUE(encoded) << encoded.error().message;
  auto second = gemini::DecodeResponse(*encoded);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->usage->input_tokens, 600) << *encoded;
  EXPECT_EQ(*gemini::EncodeResponse(*second), *encoded);
}

}  // namespace
}  // namespace meridian::dialect

namespace meridian::dialect {
namespace {

// A part of type "message" inside an output message was kept as an opaque part and written
// back as a whole output item: the item lost its id on the first pass, or its refusal text.
TEST(FuzzRegress, ResponsesOutputMessagePartsAreOutputTextOrRefusal) {
  auto r = responses::DecodeResponse(
      R"({"id":"r","object":"response","created_at":1,"status":"completed","model":"m","output":[)"
      R"({"id":"msg_1","type":"message","role":"assistant","status":"completed",)"
      R"("content":[{"type":"message","role":"assistant","content":[]}]}]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "output[0].content[0].type: unknown output message content part 'message'");
}

}  // namespace
}  // namespace meridian::dialect

namespace meridian::dialect {
namespace {

// A functionResponse without an id answered the earliest unanswered call of its name anywhere
// in the history, so an old unanswered call took a newer call's result, and each re-encode
// swapped them again. It now answers the latest model turn that has such a call.
TEST(FuzzRegress, GeminiResponsesAnswerTheLatestTurnsCalls) {
  gemini::Target target;
  target.model = "gemini-2.5-flash";
  auto r = gemini::DecodeRequest(
      R"({"contents":[{"role":"user","parts":[{"text":"Weather?"}]},)"
      R"({"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},)"
      R"({"role":"user","parts":[{"text":"Never mind, Oslo."}]},)"
      R"({"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Oslo"}}}]},)"
      R"({"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"output":"sunny"}}}]}]})",
      target);
  ASSERT_TRUE(r) << r.error().message;
  const Message& result = r->messages.back();
  ASSERT_EQ(result.role, Role::kTool);
  ASSERT_EQ(result.content.size(), 1u);
  // The Oslo call (content 3, the latest model turn) is the one answered.
  EXPECT_EQ(result.content[0].id, "call_3_0");
}

}  // namespace
}  // namespace meridian::dialect
