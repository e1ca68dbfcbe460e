// Stream translation, table-driven from tests/fixtures/dialect/streams: each upstream event is
// fed on its own and must produce exactly its own translation at once (no buffering).

#include "codecs.hpp"
#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

using testing::JsonDiff;
using testing::ListFixtures;
using testing::LoadFixture;
using testing::ParseOrString;
using testing::SplitSse;
namespace json = boost::json;

// Renders one SSE event of the output as the fixtures write it: Anthropic events as
// {"event": name, "data": {...}}, OpenAI and Gemini chunks as the chunk object, "[DONE]" as
// the string, comments as {"comment": text}.
json::value Rendered(const testing::SseOut& ev) {
  if (ev.event == ":") return json::object{{"comment", ev.data}};
  if (!ev.event.empty()) return json::object{{"event", ev.event}, {"data", ParseOrString(ev.data)}};
  return ParseOrString(ev.data);
}

// "openai_to_gemini" → from "openai", to "gemini".
std::string Part(const json::object& fx, bool from) {
  std::string a, b;
  EXPECT_TRUE(testing::SplitDirection(fx.at("direction").as_string(), a, b));
  return from ? a : b;
}

struct Pipeline {
  std::string from, to;
  openai::StreamDecoder oa_dec;
  anthropic::StreamDecoder an_dec;
  gemini::StreamDecoder ge_dec;
  openai::StreamEncoder oa_enc;
  anthropic::StreamEncoder an_enc;
  gemini::StreamEncoder ge_enc;
  std::vector<StreamEvent> events;

  explicit Pipeline(const json::object& fx)
      : from(Part(fx, true)),
        to(Part(fx, false)),
        oa_enc([&] {
          openai::StreamOptions o;
          if (const auto* v = fx.if_contains("include_usage")) o.include_usage = v->as_bool();
          if (const auto* v = fx.if_contains("created")) o.created = v->as_int64();
          return o;
        }()) {}

  // Feeds one upstream event; returns the SSE bytes written for it.
  core::Result<std::string> Step(const json::value& in) {
    events.clear();
    core::Result<void> fed;
    if (from == "openai") {
      const std::string data = in.is_string() ? std::string(in.as_string()) : json::serialize(in);
      fed = oa_dec.Feed(data, events);
    } else if (from == "anthropic") {
      fed = an_dec.Feed(json::serialize(in.at("data")), events);
    } else {
      fed = ge_dec.Feed(json::serialize(in), events);
    }
    if (!fed) return std::unexpected(fed.error());
    return EncodeAll();
  }

  std::string Finish() {
    events.clear();
    if (from == "openai") oa_dec.Finish(events);
    else if (from == "anthropic") an_dec.Finish(events);
    else ge_dec.Finish(events);
    return *EncodeAll();
  }

  core::Result<std::string> EncodeAll() {
    std::string out;
    for (const StreamEvent& ev : events) {
      auto r = to == "anthropic" ? an_enc.Encode(ev, out)
               : to == "openai"  ? oa_enc.Encode(ev, out)
                                 : ge_enc.Encode(ev, out);
      if (!r) return std::unexpected(r.error());
    }
    return out;
  }
};

void ExpectOutput(const json::array& want, const std::string& bytes, std::size_t step) {
  const auto got = SplitSse(bytes);
  json::array rendered;
  for (const auto& ev : got) rendered.push_back(Rendered(ev));
  const std::string diff = JsonDiff(want, rendered);
  EXPECT_TRUE(diff.empty()) << "step " << step << ": " << diff << "\noutput:\n" << bytes;
}

class StreamFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(StreamFixture, TranslatesEachEventAtOnce) {
  const json::object fx = LoadFixture("streams", GetParam());
  ASSERT_FALSE(fx.empty());
  Pipeline p(fx);
  const json::array& steps = fx.at("steps").as_array();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const json::object& step = steps[i].as_object();
    auto out = p.Step(step.at("in"));
    ASSERT_TRUE(out.has_value()) << "step " << i << ": " << out.error().message;
    ExpectOutput(step.at("out").as_array(), *out, i);
  }
  const json::array empty;
  const json::value* fin = fx.if_contains("finish");
  ExpectOutput(fin ? fin->as_array() : empty, p.Finish(), steps.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, StreamFixture, ::testing::ValuesIn(ListFixtures("streams")),
                         [](const auto& info) { return info.param; });

TEST(StreamDecode, MalformedChunksAreUpstreamErrors) {
  std::vector<StreamEvent> events;
  openai::StreamDecoder oa;
  auto r = oa.Feed("{not json", events);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
  anthropic::StreamDecoder an;
  r = an.Feed("[]", events);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
}

TEST(StreamDecode, TruncatedOpenAiStreamIsNotCompleted) {
  // Without a finish reason, Finish() invents nothing: the caller reports the truncation.
  std::vector<StreamEvent> events;
  openai::StreamDecoder oa;
  ASSERT_TRUE(oa.Feed(R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m",)"
                      R"("choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]})",
                      events));
  events.clear();
  oa.Finish(events);
  EXPECT_TRUE(events.empty());
}

TEST(StreamDecode, FinishWithoutDoneClosesTheMessage) {
  std::vector<StreamEvent> events;
  openai::StreamDecoder oa;
  ASSERT_TRUE(oa.Feed(R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m",)"
                      R"("choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]})",
                      events));
  events.clear();
  oa.Finish(events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, StreamEventKind::kMessageDelta);
  EXPECT_EQ(events[0].finish, FinishReason::kStop);
  EXPECT_EQ(events[1].kind, StreamEventKind::kMessageStop);
}

}  // namespace
}  // namespace meridian::dialect

namespace meridian::dialect {
namespace {

TEST(StreamDecode, AzureLeadingFilterChunkIsSkipped) {
  std::vector<StreamEvent> events;
  openai::StreamDecoder oa;
  ASSERT_TRUE(oa.Feed(R"({"choices":[],"created":0,"id":"","model":"","object":"",)"
                      R"("prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]})",
                      events));
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(oa.Feed(R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":5,)"
                      R"("model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant",)"
                      R"("content":""},"finish_reason":null}]})",
                      events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, StreamEventKind::kMessageStart);
  EXPECT_EQ(events[0].id, "chatcmpl-9");
}

// A whole OpenAI stream through the Anthropic encoder yields a well-formed Anthropic event
// sequence: message_start, blocks each started before their deltas and stopped once, indexes
// increasing from 0, one message_delta, message_stop last.
TEST(StreamShape, OpenAiToAnthropicSequenceIsWellFormed) {
  const std::vector<std::string> chunks = {
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":"{"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"t2","type":"function","function":{"name":"g","arguments":""}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
      "[DONE]"};
  openai::StreamDecoder dec;
  anthropic::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  for (const auto& c : chunks) {
    events.clear();
    ASSERT_TRUE(dec.Feed(c, events));
    for (const auto& ev : events) ASSERT_TRUE(enc.Encode(ev, out));
  }
  std::vector<std::string> names;
  std::vector<int> started, stopped;
  for (const auto& ev : testing::SplitSse(out)) {
    names.push_back(ev.event);
    const json::value data = json::parse(ev.data);
    if (ev.event == "content_block_start") started.push_back(static_cast<int>(data.at("index").as_int64()));
    if (ev.event == "content_block_stop") stopped.push_back(static_cast<int>(data.at("index").as_int64()));
  }
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "message_start");
  EXPECT_EQ(names.back(), "message_stop");
  EXPECT_EQ(std::count(names.begin(), names.end(), "message_delta"), 1);
  EXPECT_EQ(started, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(stopped, (std::vector<int>{0, 1, 2}));
}

}  // namespace
}  // namespace meridian::dialect
