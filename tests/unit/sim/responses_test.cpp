// The simulator's OpenAI Responses dialect (tools/sim/responses.cpp): request parsing,
// response bodies and the typed SSE events of a stream.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sim/responses.hpp"

namespace meridian::sim {
namespace {

namespace json = boost::json;

TEST(SimResponses, ParsesInstructionsAndItemsLikeChat) {
  // instructions + a string input hash like a system and a user message in Chat Completions.
  auto r = ParseResponsesRequest(R"({"model":"gpt-5","instructions":"Be terse.","input":"Hello there"})", false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto c = ParseChatRequest(
      R"({"model":"gpt-5","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hello there"}]})",
      false);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(r->hash, c->hash);
  EXPECT_EQ(r->prompt_tokens, c->prompt_tokens);
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->tool_call.has_value());
}

TEST(SimResponses, Rejections) {
  auto missing = ParseResponsesRequest(R"({"model":"gpt-5"})", false);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "Missing required parameter: 'input'.");
  EXPECT_EQ(missing.error().param, "input");
  auto small = ParseResponsesRequest(R"({"model":"m","input":"x","max_output_tokens":5})", false);
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().param, "max_output_tokens");
  auto part = ParseResponsesRequest(R"({"model":"m","input":[{"role":"user","content":[{"type":"text","text":"x"}]}]})", false);
  ASSERT_FALSE(part.has_value());
  EXPECT_EQ(part.error().param, "input[0].content[0].type");
  auto choice = ParseResponsesRequest(
      R"({"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"}})", false);
  ASSERT_FALSE(choice.has_value());
  EXPECT_EQ(choice.error().message, "Tool choice 'g' not found in 'tools' parameter.");
}

TEST(SimResponses, FunctionToolIsCalled) {
  const std::string body =
      R"({"model":"m","input":[{"type":"message","role":"user","content":"call a tool"}],)"
      R"("tools":[{"type":"web_search"},{"type":"function","name":"get_weather","parameters":)"
      R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]})";
  auto r = ParseResponsesRequest(body, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->tool_call.has_value());
  EXPECT_EQ(r->tool_call->name, "get_weather");
  EXPECT_EQ(r->tool_call->arguments, R"({"city":"sim"})");
  const json::value v = json::parse(ResponsesDialect().Response(*r, 4, Finish::kToolCall));
  const json::object& item = v.at("output").at(0).as_object();
  EXPECT_EQ(item.at("type").as_string(), "function_call");
  EXPECT_EQ(item.at("call_id").as_string(), r->tool_call->id);
  EXPECT_EQ(item.at("arguments").as_string(), R"({"city":"sim"})");
  EXPECT_EQ(v.at("status").as_string(), "completed");
  // tool_choice none: never a call.
  auto none = ParseResponsesRequest(
      R"({"model":"m","input":"call a tool","tools":[{"type":"function","name":"f"}],"tool_choice":"none"})", true);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->tool_call.has_value());
}

TEST(SimResponses, ResponseBodyAndLengthLimit) {
  auto r = ParseResponsesRequest(R"({"model":"m","input":"hi","max_output_tokens":16})", false);
  ASSERT_TRUE(r.has_value());
  const json::value v = json::parse(ResponsesDialect().Response(*r, 16, Finish::kLength));
  EXPECT_EQ(v.at("object").as_string(), "response");
  EXPECT_EQ(v.at("status").as_string(), "incomplete");
  EXPECT_EQ(v.at("incomplete_details").at("reason").as_string(), "max_output_tokens");
  EXPECT_EQ(v.at("output").at(0).at("status").as_string(), "incomplete");
  EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 16);
  EXPECT_EQ(v.at("usage").at("total_tokens").as_int64(), 16 + static_cast<std::int64_t>(r->prompt_tokens));
}

// The stream's events: typed, numbered from 0, the deltas adding up to the .done text and to
// the non-streamed answer.
TEST(SimResponses, StreamEvents) {
  auto r = ParseResponsesRequest(R"({"model":"m","input":"hi","stream":true})", false);
  ASSERT_TRUE(r.has_value());
  auto script = ResponsesDialect().Stream(*r, 3, Finish::kStop, 8);
  const std::size_t n = script->prelude_size() + script->body_size() + script->trailer_size();
  ASSERT_EQ(n, 11u);
  std::vector<std::string> types;
  std::string deltas, done_text;
  for (std::size_t k = 0; k < n; ++k) {
    const std::string ev = script->Event(k);
    ASSERT_EQ(ev.rfind("event: ", 0), 0u);
    const std::size_t nl = ev.find('\n');
    const std::string type = ev.substr(7, nl - 7);
    ASSERT_EQ(ev.compare(nl + 1, 6, "data: "), 0);
    ASSERT_EQ(ev.substr(ev.size() - 2), "\n\n");
    const json::value d = json::parse(ev.substr(nl + 7, ev.size() - nl - 9));
    EXPECT_EQ(d.at("type").as_string(), type);
    EXPECT_EQ(d.at("sequence_number").as_int64(), static_cast<std::int64_t>(k));
    types.push_back(type);
    if (type == "response.output_text.delta") deltas += d.at("delta").as_string();
    if (type == "response.output_text.done") done_text = d.at("text").as_string();
    if (type == "response.completed") {
      EXPECT_EQ(d.at("response").at("output").at(0).at("content").at(0).at("text").as_string(), deltas);
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "response.created", "response.in_progress", "response.output_item.added",
                       "response.content_part.added", "response.output_text.delta",
                       "response.output_text.delta", "response.output_text.delta",
                       "response.output_text.done", "response.content_part.done",
                       "response.output_item.done", "response.completed"}));
  EXPECT_EQ(deltas, done_text);
  const json::value whole = json::parse(ResponsesDialect().Response(*r, 3, Finish::kStop));
  EXPECT_EQ(whole.at("output").at(0).at("content").at(0).at("text").as_string(), deltas);
  EXPECT_EQ(script->ErrorEvent().rfind("event: error\ndata: {\"type\":\"error\",\"sequence_number\":11,", 0), 0u);
}

TEST(SimResponses, ErrorsAreOpenAis) {
  const ErrorReply e = ResponsesDialect().FaultError(Fault::kRateLimit, 2);
  EXPECT_EQ(e.status, 429u);
  EXPECT_EQ(json::parse(e.body).at("error").at("code").as_string(), "rate_limit_exceeded");
  ASSERT_EQ(e.headers.size(), 1u);
  EXPECT_EQ(e.headers[0].second, "2");
  EXPECT_EQ(ResponsesDialect().ModelNotFound("x").status, 404u);
}

}  // namespace
}  // namespace meridian::sim
