// The Anthropic Messages wire format of the simulator: exact bodies, exact SSE event sequences,
// errors, headers, count_tokens, echo, faults; plus the overloaded / error-during faults on
// the OpenAI route.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dialect_fixture.hpp"
#include "sim/anthropic.hpp"
#include "sim/content.hpp"
#include "sim/simulator.hpp"

namespace meridian::sim {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::Bare;
using testing::Call;
using testing::Clock;
using testing::Fill;
using testing::Headers;
using testing::NamedEvents;
using testing::OpenAiHash;
using testing::Post;
using testing::SseEvent;
using testing::With;
using testing::Word;

const Headers kAuth = {{"x-api-key", "sk-test"}, {"anthropic-version", "2023-06-01"}};

// System prompt + one user message; the same conversation in OpenAI form.
constexpr const char* kHello =
    R"({"model":"claude-test","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello"}]})";
constexpr const char* kHelloOpenAi = R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}])";

constexpr const char* kTools =
    R"("tools":[{"name":"lookup","description":"Look something up","input_schema":{"type":"object",
        "properties":{"q":{"type":"string"},"limit":{"type":"integer"}},"required":["q","limit"]}},
        {"name":"other","input_schema":{"type":"object"}},
        {"type":"web_search_20250305","name":"web_search","max_uses":1}],)";

std::string ToolBody(std::string_view user_text, std::string_view extra = "") {
  return R"({"model":"claude-test","max_tokens":100,)" + std::string(kTools) + std::string(extra) +
         R"("messages":[{"role":"user","content":")" + std::string(user_text) + R"("}]})";
}

std::string Usage(int input, int output) {
  return R"({"input_tokens":)" + std::to_string(input) +
         R"(,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":)" + std::to_string(output) + "}";
}

// Anthropic's error body for `message` (raw text; escaped here).
std::string Error(std::string_view type, std::string_view message) {
  std::string escaped;
  AppendJsonString(escaped, message);
  return R"({"type":"error","error":{"type":")" + std::string(type) + R"(","message":)" + escaped +
         R"(},"request_id":"req_sim_)" + Hex16(Mix64(Fnv1a(message, Fnv1a(type)))) + R"("})";
}

class AnthropicTest : public testing::DialectTest {};

// --- Plain text ---------------------------------------------------------------------------------

TEST_F(AnthropicTest, NonStreamExactBody) {
  auto r = Run(Post("/v1/messages", kHello, With(kAuth, {{"x-sim-output-tokens", "4"}})));
  ASSERT_EQ(Status(*r), 200u);
  EXPECT_EQ(Header(*r, "content-type"), "application/json");
  EXPECT_EQ(Header(*r, "x-meridian-simulator"), "meridian-sim");
  const uint64_t h = OpenAiHash(kHelloOpenAi);
  // input: "Be brief." (9) + "Hello" (5) = 14 code points -> 4 tokens.
  EXPECT_EQ(BodyText(*r),
            Fill(R"({"id":"msg_sim_{HEX}","type":"message","role":"assistant","model":"claude-test",)"
                 R"("content":[{"type":"text","text":"{TEXT}"}],"stop_reason":"end_turn","stop_sequence":null,)"
                 R"("usage":{USAGE}})",
                 {{"HEX", Hex16(Mix64(h))}, {"TEXT", AnswerText(h, 4)}, {"USAGE", Usage(4, 4)}}));
  // Equal requests, byte-identical bodies.
  EXPECT_EQ(BodyText(*Run(Post("/v1/messages", kHello, With(kAuth, {{"x-sim-output-tokens", "4"}})))), BodyText(*r));
}

TEST_F(AnthropicTest, SameAnswerAsTheOpenAiRoute) {
  auto a = Run(Post("/v1/messages", kHello, kAuth));
  auto o = Run(Post("/v1/chat/completions", std::string(R"({"model":"m","messages":)") + kHelloOpenAi + "}"));
  json::value av = Body(*a), ov = Body(*o);
  EXPECT_EQ(av.at("content").at(0).at("text"), ov.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(av.at("usage").at("input_tokens"), ov.at("usage").at("prompt_tokens"));
  EXPECT_EQ(av.at("usage").at("output_tokens").as_int64(), 16);
  // System as text blocks and content as text blocks hash the same as the strings.
  auto blocks = Run(Post("/v1/messages",
                         R"({"model":"c","max_tokens":100,"system":[{"type":"text","text":"Be "},{"type":"text","text":"brief."}],
                             "messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}]})",
                         kAuth));
  EXPECT_EQ(Body(*blocks).at("content"), av.at("content"));
}

TEST_F(AnthropicTest, MaxTokensStopReason) {
  auto r = Run(Post("/v1/messages",
                    R"({"model":"c","max_tokens":2,"messages":[{"role":"user","content":"Hello"}]})", kAuth));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("stop_reason").as_string(), "max_tokens");
  EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 2);
  const uint64_t h = OpenAiHash(R"([{"role":"user","content":"Hello"}])");
  EXPECT_EQ(v.at("content").at(0).at("text").as_string(), AnswerText(h, 2));
}

TEST_F(AnthropicTest, StreamExactEvents) {
  auto r = Run(Post("/v1/messages",
                    R"({"model":"claude-test","max_tokens":100,"stream":true,"system":"Be brief.",
                        "messages":[{"role":"user","content":"Hello"}]})",
                    With(kAuth, {{"x-sim-output-tokens", "3"}})));
  ASSERT_TRUE(r->head());
  EXPECT_EQ(Header(*r, "content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);
  const uint64_t h = OpenAiHash(kHelloOpenAi);
  std::map<std::string, std::string> v = {
      {"HEX", Hex16(Mix64(h))}, {"W0", Word(h, 0)}, {"W1", Word(h, 1)}, {"W2", Word(h, 2)}};
  const std::string expected = Fill(
      "event: message_start\n"
      R"(data: {"type":"message_start","message":{"id":"msg_sim_{HEX}","type":"message","role":"assistant",)"
      R"("model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":4,)"
      R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}})"
      "\n\n"
      "event: content_block_start\n"
      R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
      "\n\n"
      "event: ping\n"
      R"(data: {"type":"ping"})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{W0}"}})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{W1}"}})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{W2}"}})"
      "\n\n"
      "event: content_block_stop\n"
      R"(data: {"type":"content_block_stop","index":0})"
      "\n\n"
      "event: message_delta\n"
      R"(data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}})"
      "\n\n"
      "event: message_stop\n"
      R"(data: {"type":"message_stop"})"
      "\n\n",
      v);
  EXPECT_EQ(r->StreamText(), expected);
  EXPECT_EQ(r->Count(Call::kWriteChunk), 9u);  // one chunk per event
  // The deltas concatenate to the non-streaming text.
  EXPECT_EQ(Word(h, 0) + Word(h, 1) + Word(h, 2), AnswerText(h, 3));
  EXPECT_EQ(sim_.stats().streams_completed.load(), 1u);
}

TEST_F(AnthropicTest, StreamEventNamesMatchTypesAndLengthStop) {
  auto r = Run(Post("/v1/messages",
                    R"({"model":"c","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]})", kAuth));
  std::vector<SseEvent> events = NamedEvents(r->StreamText());
  ASSERT_EQ(events.size(), 3u + 5u + 3u);
  for (const SseEvent& e : events) EXPECT_EQ(json::parse(e.data).at("type").as_string(), e.event);
  json::value delta = json::parse(events[9].data);
  EXPECT_EQ(delta.at("delta").at("stop_reason").as_string(), "max_tokens");
  EXPECT_EQ(delta.at("usage").at("output_tokens").as_int64(), 5);
  // Zero tokens: an empty text block, output_tokens 0 in message_start too.
  r = Run(Post("/v1/messages",
               R"({"model":"c","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]})",
               With(kAuth, {{"x-sim-output-tokens", "0"}})));
  events = NamedEvents(r->StreamText());
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(json::parse(events[0].data).at("message").at("usage").at("output_tokens").as_int64(), 0);
}

TEST_F(AnthropicTest, StreamPacingAtTps) {
  auto start = Clock::now();
  auto r = Run(Post("/v1/messages",
                    R"({"model":"c","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]})",
                    With(kAuth, {{"x-sim-tps", "100"}, {"x-sim-output-tokens", "5"}, {"x-sim-ttft-ms", "20"}})));
  std::vector<Clock::time_point> chunks;
  for (const Call& c : r->calls) {
    if (c.kind == Call::kWriteChunk) chunks.push_back(c.at);
  }
  ASSERT_EQ(chunks.size(), 3u + 5u + 3u);
  EXPECT_GE(chunks[0] - start, 20ms);          // ttft
  EXPECT_GE(chunks[7] - chunks[3], 39ms);      // 5 deltas at 100/s
}

// --- Tool use -----------------------------------------------------------------------------------

TEST_F(AnthropicTest, ToolUseNonStreamExactBody) {
  auto r = Run(Post("/v1/messages", ToolBody("Please call a tool"), kAuth));
  const uint64_t h = OpenAiHash(R"([{"role":"user","content":"Please call a tool"}])");
  // Arguments {"q":"sim","limit":1} = 6 fragments of 4 bytes = 6 output tokens.
  EXPECT_EQ(BodyText(*r),
            Fill(R"({"id":"msg_sim_{HEX}","type":"message","role":"assistant","model":"claude-test",)"
                 R"("content":[{"type":"tool_use","id":"toolu_sim_{TOOL}","name":"lookup","input":{"q":"sim","limit":1}}],)"
                 R"("stop_reason":"tool_use","stop_sequence":null,"usage":{USAGE}})",
                 {{"HEX", Hex16(Mix64(h))}, {"TOOL", Hex16(Mix64(h ^ 0x7f4a7c15ULL))}, {"USAGE", Usage(5, 6)}}));
}

TEST_F(AnthropicTest, ToolUseStreamExactEvents) {
  auto r = Run(Post("/v1/messages", ToolBody("hello", R"("stream":true,)"), With(kAuth, {{"x-sim-tool-call", "1"}})));
  const uint64_t h = OpenAiHash(R"([{"role":"user","content":"hello"}])");
  std::vector<SseEvent> events = NamedEvents(r->StreamText());
  auto delta = [](std::string_view partial_json) {
    return SseEvent{"content_block_delta",
                    R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":)" +
                        std::string(partial_json) + "}}"};
  };
  std::vector<SseEvent> expected = {
      {"message_start",
       Fill(R"({"type":"message_start","message":{"id":"msg_sim_{HEX}","type":"message","role":"assistant",)"
            R"("model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{USAGE}}})",
            {{"HEX", Hex16(Mix64(h))}, {"USAGE", Usage(2, 1)}})},
      {"content_block_start",
       Fill(R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_sim_{TOOL}",)"
            R"("name":"lookup","input":{}}})",
            {{"TOOL", Hex16(Mix64(h ^ 0x7f4a7c15ULL))}})},
      {"ping", R"({"type":"ping"})"},
      delta(R"("{\"q\"")"),
      delta(R"(":\"si")"),
      delta(R"("m\",\"")"),
      delta(R"("limi")"),
      delta(R"("t\":1")"),
      delta(R"("}")"),
      {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
      {"message_delta",
       R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":6}})"},
      {"message_stop", R"({"type":"message_stop"})"},
  };
  EXPECT_EQ(events, expected);
  // The fragments reassemble to the non-streaming input.
  std::string input;
  for (std::size_t i = 3; i < 9; ++i) input += json::parse(events[i].data).at("delta").at("partial_json").as_string();
  EXPECT_EQ(json::parse(input), json::parse(R"({"q":"sim","limit":1})"));
}

TEST_F(AnthropicTest, ToolTriggersAndChoice) {
  auto stop_reason = [&](const std::string& body, Headers extra = {}) {
    auto r = Run(Post("/v1/messages", body, With(kAuth, extra)));
    EXPECT_EQ(Status(*r), 200u) << BodyText(*r);
    return std::string(Body(*r).at("stop_reason").as_string());
  };
  EXPECT_EQ(stop_reason(ToolBody("hello")), "end_turn");
  EXPECT_EQ(stop_reason(ToolBody("hello"), {{"x-sim-tool-call", "1"}}), "tool_use");
  EXPECT_EQ(stop_reason(ToolBody("CALL A TOOL please")), "tool_use");
  EXPECT_EQ(stop_reason(ToolBody("hello", R"("tool_choice":{"type":"any"},)")), "tool_use");
  EXPECT_EQ(stop_reason(ToolBody("call a tool", R"("tool_choice":{"type":"none"},)")), "end_turn");
  EXPECT_EQ(stop_reason(ToolBody("call a tool", R"("tool_choice":{"type":"auto"},)")), "tool_use");
  // A named tool: that one, with its (empty) arguments.
  auto r = Run(Post("/v1/messages", ToolBody("hello", R"("tool_choice":{"type":"tool","name":"other"},)"), kAuth));
  json::value block = Body(*r).at("content").at(0);
  EXPECT_EQ(block.at("name").as_string(), "other");
  EXPECT_EQ(block.at("input"), json::object());
  EXPECT_EQ(Body(*r).at("usage").at("output_tokens").as_int64(), 1);
  // Only server tools: nothing to call.
  EXPECT_EQ(stop_reason(R"({"model":"c","max_tokens":100,"tools":[{"type":"web_search_20250305","name":"web_search"}],
                            "messages":[{"role":"user","content":"call a tool"}]})"),
            "end_turn");
}

TEST_F(AnthropicTest, HistoryWithToolBlocks) {
  // tool_use / tool_result / image blocks are validated and accepted; tool_result text counts.
  auto r = Run(Post("/v1/messages", R"({"model":"c","max_tokens":10,"messages":[
      {"role":"user","content":"weather?"},
      {"role":"assistant","content":[{"type":"text","text":"Checking."},
                                     {"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"x"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"sunny"}]},
                                {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
                                {"type":"text","text":"thanks"}]}]})",
                    kAuth));
  ASSERT_EQ(Status(*r), 200u) << BodyText(*r);
  // 8 + 9 + 5 + 6 = 28 code points -> 7 tokens.
  EXPECT_EQ(Body(*r).at("usage").at("input_tokens").as_int64(), 7);
}

// --- Echo ---------------------------------------------------------------------------------------

TEST_F(AnthropicTest, Echo) {
  const std::string body = R"({"model":"c","max_tokens":100,"system":"s","messages":[
      {"role":"user","content":"first"},{"role":"assistant","content":"reply"},
      {"role":"user","content":[{"type":"text","text":"Call Alice "},
                                {"type":"image","source":{"type":"url","url":"https://x/y.png"}},
                                {"type":"text","text":"at +1 555 0100"}]}]})";
  auto r = Run(Post("/v1/messages", body, With(kAuth, {{"x-sim-echo", "1"}})));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("content").at(0).at("text").as_string(), "Call Alice at +1 555 0100");
  EXPECT_EQ(v.at("stop_reason").as_string(), "end_turn");
  EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 16);  // the natural length, as without echo
  // Streamed in x-sim-chunk-bytes pieces.
  std::string stream_body = body;
  stream_body.insert(1, R"("stream":true,)");
  r = Run(Post("/v1/messages", stream_body, With(kAuth, {{"x-sim-echo", "1"}, {"x-sim-chunk-bytes", "10"}})));
  std::vector<SseEvent> events = NamedEvents(r->StreamText());
  ASSERT_EQ(events.size(), 3u + 3u + 3u);
  std::vector<std::string> texts;
  for (std::size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(events[i].event, "content_block_delta");
    texts.emplace_back(json::parse(events[i].data).at("delta").at("text").as_string());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"Call Alice", " at +1 555", " 0100"}));
  EXPECT_EQ(json::parse(events[7].data).at("usage").at("output_tokens").as_int64(), 16);
  // A tool call wins over echo.
  r = Run(Post("/v1/messages", ToolBody("hello"), With(kAuth, {{"x-sim-echo", "1"}, {"x-sim-tool-call", "1"}})));
  EXPECT_EQ(Body(*r).at("content").at(0).at("type").as_string(), "tool_use");
}

// --- Headers and validation ---------------------------------------------------------------------

TEST_F(AnthropicTest, RequiredHeaders) {
  auto r = Run(Post("/v1/messages", kHello, {{"anthropic-version", "2023-06-01"}}));
  EXPECT_EQ(Status(*r), 401u);
  EXPECT_EQ(BodyText(*r), Error("authentication_error", "x-api-key header is required"));
  r = Run(Post("/v1/messages", kHello, {{"x-api-key", ""}, {"anthropic-version", "2023-06-01"}}));
  EXPECT_EQ(Status(*r), 401u);
  r = Run(Post("/v1/messages", kHello, {{"x-api-key", "k"}}));
  EXPECT_EQ(Status(*r), 400u);
  EXPECT_EQ(BodyText(*r), Error("invalid_request_error", "anthropic-version: header is required"));
  r = Run(Post("/v1/messages", kHello, {{"x-api-key", "k"}, {"anthropic-version", "2024-10-22"}}));
  EXPECT_EQ(Status(*r), 400u);
  EXPECT_EQ(BodyText(*r), Error("invalid_request_error", R"(anthropic-version: "2024-10-22" is not a valid version)"));
  EXPECT_EQ(Status(*Run(Post("/v1/messages", kHello, {{"x-api-key", "k"}, {"anthropic-version", "2023-01-01"}}))), 200u);
  // Headers are checked before the body, count_tokens too.
  EXPECT_EQ(Status(*Run(Post("/v1/messages/count_tokens", "not json", {{"x-api-key", "k"}}))), 400u);
  EXPECT_EQ(Status(*Run(Post("/v1/messages/count_tokens", kHello, {}))), 401u);
}

TEST_F(AnthropicTest, Validation) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({"max_tokens":1,"messages":[{"role":"user","content":"x"}]})", "model: Field required"},
      {R"({"model":5,"max_tokens":1,"messages":[{"role":"user","content":"x"}]})", "model: Input should be a valid string"},
      {R"({"model":"c","messages":[{"role":"user","content":"x"}]})", "max_tokens: Field required"},
      {R"({"model":"c","max_tokens":0,"messages":[{"role":"user","content":"x"}]})",
       "max_tokens: Input should be greater than or equal to 1"},
      {R"({"model":"c","max_tokens":"5","messages":[{"role":"user","content":"x"}]})",
       "max_tokens: Input should be a valid integer"},
      {R"({"model":"c","max_tokens":1})", "messages: Field required"},
      {R"({"model":"c","max_tokens":1,"messages":[]})", "messages: at least one message is required"},
      {R"({"model":"c","max_tokens":1,"messages":[{"role":"system","content":"x"}]})",
       "messages.0.role: Input should be 'user' or 'assistant'"},
      {R"({"model":"c","max_tokens":1,"messages":[{"role":"user"}]})", "messages.0.content: Field required"},
      {R"({"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]})",
       "messages.0.content.0.text: Field required"},
      {R"({"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]})",
       "messages.0.content.0.type: Field required"},
      {R"({"model":"c","max_tokens":1,"messages":[{"role":"user","content":"x"},
          {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f"}]}]})",
       "messages.1.content.0.input: Field required"},
      {R"({"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result"}]}]})",
       "messages.0.content.0.tool_use_id: Field required"},
      {R"({"model":"c","max_tokens":1,"system":7,"messages":[{"role":"user","content":"x"}]})",
       "system: Input should be a valid string or a valid list"},
      {R"({"model":"c","max_tokens":1,"stream":"yes","messages":[{"role":"user","content":"x"}]})",
       "stream: Input should be a valid boolean"},
      {R"({"model":"c","max_tokens":1,"tools":[{"name":"f"}],"messages":[{"role":"user","content":"x"}]})",
       "tools.0.input_schema: Field required"},
      {R"({"model":"c","max_tokens":1,"tool_choice":{"type":"auto"},"messages":[{"role":"user","content":"x"}]})",
       "tool_choice may only be specified while providing tools."},
      {R"({"model":"c","max_tokens":1,"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool","name":"g"},
          "messages":[{"role":"user","content":"x"}]})",
       "tool_choice.tool.name: Tool 'g' not found in 'tools'."},
      {R"({"model":"c","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"x"}]})",
       "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
      {R"({"model":"c","max_tokens":1024,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"x"}]})",
       "`max_tokens` must be greater than `thinking.budget_tokens`."},
      {R"({"model":"c","max_tokens":1,"thinking":{"type":"sometimes"},"messages":[{"role":"user","content":"x"}]})",
       "thinking.type: Input tag found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"},
      {"[1]", "The request body must be a JSON object, but got array."},
  };
  for (const Case& c : cases) {
    auto r = Run(Post("/v1/messages", c.body, kAuth));
    ASSERT_EQ(Status(*r), 400u) << c.body;
    EXPECT_EQ(BodyText(*r), Error("invalid_request_error", c.message)) << c.body;
  }
  // Thinking that is valid is accepted (and produces no thinking block).
  auto r = Run(Post("/v1/messages",
                    R"({"model":"c","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},
                        "messages":[{"role":"user","content":"x"}]})",
                    kAuth));
  EXPECT_EQ(Status(*r), 200u);
  EXPECT_EQ(Body(*r).at("content").as_array().size(), 1u);
  // A bad x-sim-* header: 400 in Anthropic's shape.
  r = Run(Post("/v1/messages", kHello, With(kAuth, {{"x-sim-echo", "maybe"}})));
  EXPECT_EQ(BodyText(*r), Error("invalid_request_error", "Invalid header 'x-sim-echo': expected 1 or 0 (true or false)."));
}

TEST_F(AnthropicTest, UnknownModelWithModelsList) {
  Simulator sim(SimOptions{.models = {"claude-known"}});
  auto r = Run(sim, Post("/v1/messages", kHello, kAuth));
  EXPECT_EQ(Status(*r), 404u);
  EXPECT_EQ(BodyText(*r), Error("not_found_error", "model: claude-test"));
  r = Run(sim, Post("/v1/messages/count_tokens", kHello, kAuth));
  EXPECT_EQ(Status(*r), 404u);
}

// --- count_tokens -------------------------------------------------------------------------------

TEST_F(AnthropicTest, CountTokens) {
  auto r = Run(Post("/v1/messages/count_tokens",
                    R"({"model":"c","system":"Be brief.","messages":[{"role":"user","content":"Hello"}]})", kAuth));
  ASSERT_EQ(Status(*r), 200u);
  EXPECT_EQ(BodyText(*r), R"({"input_tokens":4})");
  // Equal to the usage of the same request.
  EXPECT_EQ(Body(*Run(Post("/v1/messages", kHello, kAuth))).at("usage").at("input_tokens").as_int64(), 4);
  // Validated like messages (but max_tokens is not required); faults apply.
  r = Run(Post("/v1/messages/count_tokens", R"({"model":"c","messages":[]})", kAuth));
  EXPECT_EQ(BodyText(*r), Error("invalid_request_error", "messages: at least one message is required"));
  r = Run(Post("/v1/messages/count_tokens", R"({"model":"c","messages":[{"role":"user","content":"x"}]})",
               With(kAuth, {{"x-sim-fault", "429"}})));
  EXPECT_EQ(Status(*r), 429u);
  EXPECT_EQ(sim_.stats().by_route[static_cast<int>(Route::kMessagesCountTokens)].load(), 3u);
}

// --- Errors and faults --------------------------------------------------------------------------

TEST_F(AnthropicTest, StatusFaultsExactBodies) {
  struct Case {
    const char* fault;
    unsigned status;
    const char* type;
    const char* message;
    bool retry_after;
  } cases[] = {
      {"429", 429, "rate_limit_error",
       "Number of requests has exceeded your rate limit (simulated by meridian-sim). Please try again later.", true},
      {"500", 500, "api_error", "Internal server error (simulated by meridian-sim).", false},
      {"503", 503, "api_error", "Service unavailable (simulated by meridian-sim).", true},
      {"overloaded", 529, "overloaded_error", "Overloaded (simulated by meridian-sim).", true},
      {"error-during", 529, "overloaded_error", "Overloaded (simulated by meridian-sim).", true},
  };
  for (const Case& c : cases) {
    auto r = Run(Post("/v1/messages", kHello, With(kAuth, {{"x-sim-fault", c.fault}, {"x-sim-retry-after", "7"}})));
    ASSERT_EQ(Status(*r), c.status) << c.fault;
    EXPECT_EQ(BodyText(*r), Error(c.type, c.message)) << c.fault;
    EXPECT_EQ(Header(*r, "retry-after"), c.retry_after ? "7" : "") << c.fault;
    EXPECT_EQ(Header(*r, "content-type"), "application/json");
    if (c.status == 529) EXPECT_EQ(r->response()->reason(), "Overloaded");
  }
  // Streaming requests get the same status errors (before any byte of the stream).
  auto r = Run(Post("/v1/messages",
                    R"({"model":"c","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]})",
                    With(kAuth, {{"x-sim-fault", "overloaded"}})));
  EXPECT_EQ(Status(*r), 529u);
  EXPECT_EQ(Header(*r, "retry-after"), "1");
  EXPECT_EQ(sim_.stats().faults_by_kind[static_cast<int>(Fault::kOverloaded)].load(), 2u);
  EXPECT_EQ(sim_.stats().responses_5xx.load(), 5u);  // all but the 429
}

TEST_F(AnthropicTest, MidStreamErrorEvent) {
  auto r = Run(Post("/v1/messages",
                    R"({"model":"c","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]})",
                    With(kAuth, {{"x-sim-fault", "error-during"}})));
  std::vector<SseEvent> events = NamedEvents(r->StreamText());
  ASSERT_EQ(events.size(), 3u + 2u + 1u);  // message_start, content_block_start, ping, 2 deltas, error
  EXPECT_EQ(events[3].event, "content_block_delta");
  EXPECT_EQ(events[4].event, "content_block_delta");
  EXPECT_EQ(events[5], (SseEvent{"error",
                                 R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded (simulated by meridian-sim)."}})"}));
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);  // the stream then ends cleanly
  EXPECT_EQ(sim_.stats().streams_started.load(), 1u);
  EXPECT_EQ(sim_.stats().streams_completed.load(), 0u);
}

TEST_F(AnthropicTest, StreamResetStallMalformed) {
  const std::string body =
      R"({"model":"c","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]})";
  auto r = Run(Post("/v1/messages", body, With(kAuth, {{"x-sim-fault", "reset-during"}})));
  ASSERT_EQ(r->calls.size(), 1u + 5u + 1u);  // head, 3 prelude events, 2 deltas, reset
  EXPECT_EQ(r->calls.back().kind, Call::kReset);

  r = Run(Post("/v1/messages", body, With(kAuth, {{"x-sim-fault", "stall-during"}})), CloseAfter(30ms));
  ASSERT_EQ(r->calls.size(), 1u + 3u);  // head, message_start, content_block_start, ping; then held
  EXPECT_EQ(NamedEvents(r->StreamText()).back().event, "ping");
  EXPECT_EQ(sim_.stats().client_aborts.load(), 1u);

  r = Run(Post("/v1/messages", body, With(kAuth, {{"x-sim-fault", "malformed"}})));
  EXPECT_EQ(r->StreamText(), "event: message_start\ndata: {not json\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);

  r = Run(Post("/v1/messages", kHello, With(kAuth, {{"x-sim-fault", "malformed"}})));
  std::string whole = BodyText(*Run(Post("/v1/messages", kHello, kAuth)));
  EXPECT_EQ(BodyText(*r), whole.substr(0, whole.size() / 2));

  r = Run(Post("/v1/messages", kHello, With(kAuth, {{"x-sim-fault", "reset-before"}})));
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->calls[0].kind, Call::kReset);
}

// --- Routes, stats, capture ---------------------------------------------------------------------

TEST_F(AnthropicTest, RoutesStatsAndCapture) {
  auto r = Run(Bare(http::verb::get, "/v1/messages", kAuth));
  EXPECT_EQ(Status(*r), 405u);
  EXPECT_EQ(Header(*r, "allow"), "POST");
  EXPECT_EQ(BodyText(*r), Error("invalid_request_error",
                                "Method GET is not allowed for /v1/messages (allowed: POST)."));
  r = Run(Post("/v1/messages/batches", "{}", kAuth));
  EXPECT_EQ(Status(*r), 404u);
  EXPECT_EQ(BodyText(*r), Error("not_found_error", "Invalid URL (POST /v1/messages/batches)"));
  Run(Post("/v1/messages?beta=true", kHello, kAuth));

  json::value stats = json::parse(BodyText(*Run(Bare(http::verb::get, "/sim/stats"))));
  EXPECT_EQ(stats.at("paths").at("messages").as_int64(), 2);
  EXPECT_EQ(stats.at("paths").at("messages_count_tokens").as_int64(), 0);
  EXPECT_EQ(stats.at("paths").at("other").as_int64(), 1);
  EXPECT_EQ(stats.at("faults").at("overloaded").as_int64(), 0);
  EXPECT_EQ(stats.at("faults").at("error-during").as_int64(), 0);

  json::value cap = json::parse(BodyText(*Run(Bare(http::verb::get, "/sim/requests"))));
  const json::array& reqs = cap.at("requests").as_array();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].at("path").as_string(), "/v1/messages/batches");
  EXPECT_EQ(reqs[1], (json::object{{"path", "/v1/messages"}, {"body", kHello}}));
}

// --- The new faults on the OpenAI route ---------------------------------------------------------

TEST_F(AnthropicTest, OpenAiOverloadedAndErrorDuring) {
  const std::string chat = R"({"model":"m","messages":[{"role":"user","content":"x"}]})";
  const std::string overloaded =
      R"({"error":{"message":"That model is currently overloaded with other requests (simulated by meridian-sim). )"
      R"(Please try again later.","type":"server_error","param":null,"code":"overloaded"}})";
  auto r = Run(Post("/v1/chat/completions", chat, {{"x-sim-fault", "overloaded"}, {"x-sim-retry-after", "3"}}));
  EXPECT_EQ(Status(*r), 503u);
  EXPECT_EQ(Header(*r, "retry-after"), "3");
  EXPECT_EQ(BodyText(*r), overloaded);
  r = Run(Post("/v1/chat/completions", chat, {{"x-sim-fault", "error-during"}}));
  EXPECT_EQ(Status(*r), 503u);

  r = Run(Post("/v1/chat/completions", R"({"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]})",
               {{"x-sim-fault", "error-during"}}));
  std::string text = r->StreamText();
  // role, 2 tokens, then the error as a data event; no [DONE].
  EXPECT_EQ(r->Count(Call::kWriteChunk), 4u);
  EXPECT_TRUE(text.ends_with("data: " + overloaded + "\n\n")) << text;
  EXPECT_EQ(text.find("[DONE]"), std::string::npos);
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);

  // An unknown fault lists the kinds, the new ones included.
  r = Run(Post("/v1/chat/completions", chat, {{"x-sim-fault", "explode"}}));
  EXPECT_EQ(Body(*r).at("error").at("message").as_string(),
            "Invalid header 'x-sim-fault': unknown fault 'explode'; expected one of none, 429, 500, 503, overloaded, "
            "reset-before, reset-during, stall-before, stall-during, error-during, malformed.");
}

}  // namespace
}  // namespace meridian::sim
