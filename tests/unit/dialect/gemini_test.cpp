// Gemini-specific behaviour the fixtures do not show well: the model in the path, usage
// arithmetic both ways, stream incrementality and the one held translation, errors made by
// the gateway itself.

#include <random>

#include "codecs.hpp"
#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

namespace json = boost::json;

TEST(GeminiTarget, ParsesModelAndStreamingFromThePath) {
  auto t = gemini::ParseTarget("/v1beta/models/gemini-2.5-flash:generateContent");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->model, "gemini-2.5-flash");
  EXPECT_FALSE(t->stream);
  EXPECT_EQ(t->version, "v1beta");

  t = gemini::ParseTarget("/v1/models/gemini-2.5-pro:streamGenerateContent?key=k&alt=sse");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->model, "gemini-2.5-pro");
  EXPECT_TRUE(t->stream);
  EXPECT_TRUE(t->sse);
  EXPECT_EQ(t->version, "v1");

  t = gemini::ParseTarget("/v1beta/models/gemini-2.5-pro:streamGenerateContent");
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->sse);  // the JSON-array stream: the gateway refuses it

  t = gemini::ParseTarget("/v1beta/tunedModels/my-model-123:generateContent");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->model, "tunedModels/my-model-123");

  for (std::string_view bad :
       {"/v1beta/models/gemini-2.5-flash:countTokens", "/v1beta/models/:generateContent",
        "/v1/chat/completions", "v1beta/models/m:generateContent", "/v1beta/models/a/b:generateContent",
        ""}) {
    EXPECT_FALSE(gemini::ParseTarget(bad).has_value()) << bad;
  }
}

TEST(GeminiTarget, EncodeReturnsThePathAndModelBesideTheBody) {
  auto req = openai::DecodeRequest(std::string_view(
      R"({"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}],"stream":true})"));
  ASSERT_TRUE(req.has_value());
  auto out = gemini::EncodeRequest(*req);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(out->model, "gemini-2.5-flash");
  EXPECT_TRUE(out->stream);
  EXPECT_FALSE(json::parse(out->body).as_object().contains("model"));

  gemini::EncodeOptions opt;
  opt.version = "v1";
  req->stream = false;
  req->model = "models/gemini-2.5-pro";
  out = gemini::EncodeRequest(*req, opt);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->path, "/v1/models/gemini-2.5-pro:generateContent");

  req->model = "gemini 2.5?";
  out = gemini::EncodeRequest(*req);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().param, "model");
}

TEST(GeminiTarget, AModelIsRequired) {
  auto req = gemini::DecodeRequest(
      std::string_view(R"({"contents":[{"role":"user","parts":[{"text":"Hi"}]}]})"),
      gemini::Target{});
  ASSERT_FALSE(req.has_value());
  EXPECT_EQ(req.error().param, "model");
  // A `model` member in the body (the proto's field) does not override the path.
  req = gemini::DecodeRequest(
      std::string_view(
          R"({"model":"models/other","contents":[{"role":"user","parts":[{"text":"Hi"}]}]})"),
      gemini::Target{.model = "gemini-2.5-flash"});
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->model, "gemini-2.5-flash");
  EXPECT_TRUE(req->extra.empty());
}

TEST(GeminiRequest, UnsignedCallSignatureCanBeSwitchedOff) {
  auto req = openai::DecodeRequest(std::string_view(
      R"({"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant",)"
      R"("content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f",)"
      R"("arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]})"));
  ASSERT_TRUE(req.has_value());
  auto on = gemini::EncodeRequest(*req);
  ASSERT_TRUE(on.has_value());
  EXPECT_NE(on->body.find("skip_thought_signature_validator"), std::string::npos);
  gemini::EncodeOptions opt;
  opt.unsigned_call_signature = {};
  auto off = gemini::EncodeRequest(*req, opt);
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->body.find("thoughtSignature"), std::string::npos);
}

// Usage means the same in every dialect: for any counts, Gemini → canonical → Gemini is the
// identity, and canonical → Gemini → canonical keeps every count Gemini can carry.
TEST(GeminiUsage, CountsAreExactBothWays) {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 500; ++i) {
    const int prompt = pick(1, 100000), cached = pick(0, 1) ? pick(1, prompt) : 0;
    const int candidates = pick(0, 5000), thoughts = pick(0, 1) ? pick(1, 5000) : 0;
    const int tool = pick(0, 3) == 0 ? pick(1, 500) : 0;
    json::object u{{"promptTokenCount", prompt},
                   {"totalTokenCount", prompt + candidates + thoughts + tool}};
    if (candidates) u["candidatesTokenCount"] = candidates;
    if (cached) u["cachedContentTokenCount"] = cached;
    if (thoughts) u["thoughtsTokenCount"] = thoughts;
    if (tool) u["toolUsePromptTokenCount"] = tool;
    const json::object body{
        {"candidates", json::array{json::object{
                           {"content", json::object{{"parts", json::array{json::object{{"text", "x"}}}},
                                                    {"role", "model"}}},
                           {"finishReason", "STOP"}}}},
        {"usageMetadata", u}};
    auto resp = gemini::DecodeResponse(json::serialize(body));
    ASSERT_TRUE(resp.has_value()) << resp.error().message;
    const Usage& c = *resp->usage;
    EXPECT_EQ(c.input_tokens, prompt + tool);
    EXPECT_EQ(c.output_tokens, candidates + thoughts);
    EXPECT_EQ(c.cache_read_tokens.value_or(0), cached);
    EXPECT_EQ(c.reasoning_tokens.value_or(0), thoughts);
    // Same dialect: identical counts.
    auto again = gemini::EncodeResponse(*resp);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(testing::JsonDiff(u, json::parse(*again).at("usageMetadata")), "");
    // Through OpenAI and back: the same canonical counts (the tool-use share is inside input).
    auto oa = openai::EncodeResponse(*resp);
    ASSERT_TRUE(oa.has_value());
    auto back = openai::DecodeResponse(*oa);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->usage->input_tokens, c.input_tokens);
    EXPECT_EQ(back->usage->output_tokens, c.output_tokens);
    EXPECT_EQ(back->usage->cache_read_tokens.value_or(0), cached);
    EXPECT_EQ(back->usage->reasoning_tokens.value_or(0), thoughts);
    auto ge = gemini::EncodeResponse(*back);
    ASSERT_TRUE(ge.has_value());
    const json::value gu = json::parse(*ge).at("usageMetadata");
    EXPECT_EQ(gu.at("totalTokenCount").to_number<std::int64_t>(),
              prompt + candidates + thoughts + tool);
    EXPECT_EQ(gu.at("promptTokenCount").to_number<std::int64_t>(), prompt + tool);
  }
}

// ---- streams ----------------------------------------------------------------------------

std::vector<StreamEvent> FeedGemini(gemini::StreamDecoder& dec, const std::string& chunk) {
  std::vector<StreamEvent> events;
  auto r = dec.Feed(chunk, events);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return events;
}

TEST(GeminiStream, AFunctionCallIsStartedFilledAndStoppedInOneFeed) {
  gemini::StreamDecoder dec;
  auto events = FeedGemini(
      dec, R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}}],)"
           R"("role":"model"},"index":0}],"responseId":"r"})");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, StreamEventKind::kMessageStart);
  EXPECT_EQ(events[1].kind, StreamEventKind::kBlockStart);
  EXPECT_EQ(events[1].block, PartKind::kToolUse);
  EXPECT_EQ(events[1].id, "call_r_0");
  EXPECT_EQ(events[2].kind, StreamEventKind::kToolArgsDelta);
  EXPECT_EQ(events[2].text, R"({"a":1})");
  EXPECT_EQ(events[3].kind, StreamEventKind::kBlockStop);
  // Text after it opens a new block at once.
  events = FeedGemini(dec, R"({"candidates":[{"content":{"parts":[{"text":"ok"}]},"index":0}]})");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, StreamEventKind::kBlockStart);
  EXPECT_EQ(events[0].index, 1);
  EXPECT_EQ(events[1].kind, StreamEventKind::kTextDelta);
  // Nothing after the finish chunk is read.
  events = FeedGemini(dec, R"({"candidates":[{"finishReason":"STOP","index":0}]})");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].finish, FinishReason::kToolCalls);
  EXPECT_TRUE(FeedGemini(dec, R"({"candidates":[{"content":{"parts":[{"text":"late"}]}}]})").empty());
}

TEST(GeminiStream, MalformedChunksAreUpstreamErrors) {
  gemini::StreamDecoder dec;
  std::vector<StreamEvent> events;
  auto r = dec.Feed("{not json", events);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
  r = dec.Feed("[1]", events);
  ASSERT_FALSE(r.has_value());
}

// Text is written at once, event by event; a call's fragments are held until its block stops
// and its arguments are complete JSON — also when an OpenAI-compatible server interleaves two
// calls' fragments (the second fragments of call 0 arrive after call 1 started).
TEST(GeminiStream, OnlyToolArgumentsAreHeldAndInterleavedCallsComplete) {
  const std::vector<std::string> chunks = {
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"t2","type":"function","function":{"name":"g","arguments":"{}"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
      "[DONE]"};
  openai::StreamDecoder dec;
  gemini::StreamEncoder enc;
  std::vector<std::vector<std::string>> per_chunk;
  for (const auto& c : chunks) {
    std::vector<StreamEvent> events;
    ASSERT_TRUE(dec.Feed(c, events));
    std::string out;
    for (const auto& ev : events) ASSERT_TRUE(enc.Encode(ev, out));
    std::vector<std::string> datas;
    for (const auto& sse : testing::SplitSse(out)) datas.push_back(sse.data);
    per_chunk.push_back(std::move(datas));
  }
  auto part = [](const std::string& data) {
    return json::parse(data).at("candidates").at(0).at("content").at("parts").at(0);
  };
  ASSERT_EQ(per_chunk[0].size(), 1u);  // the text, at once
  EXPECT_EQ(part(per_chunk[0][0]).at("text"), "Hi");
  EXPECT_TRUE(per_chunk[1].empty());  // call 0 started: held
  // Call 1 starts, so call 0's block stops, but its arguments are incomplete: still held.
  EXPECT_TRUE(per_chunk[2].empty());
  ASSERT_EQ(per_chunk[3].size(), 1u);  // call 0 completes
  EXPECT_EQ(part(per_chunk[3][0]).at("functionCall").at("args").at("a"), 1);
  ASSERT_EQ(per_chunk[4].size(), 1u);  // finish_reason stops call 1, complete: written
  EXPECT_EQ(part(per_chunk[4][0]).at("functionCall").at("name"), "g");
  ASSERT_EQ(per_chunk[5].size(), 1u);  // [DONE]: the final chunk
  EXPECT_EQ(json::parse(per_chunk[5][0]).at("candidates").at(0).at("finishReason"), "STOP");
}

TEST(GeminiStream, ArgumentsThatNeverCompleteFailAtTheEnd) {
  gemini::StreamEncoder enc;
  std::string out;
  StreamEvent ev;
  ev.kind = StreamEventKind::kMessageStart;
  ASSERT_TRUE(enc.Encode(ev, out));
  ev.kind = StreamEventKind::kBlockStart;
  ev.block = PartKind::kToolUse;
  ev.name = "f";
  ASSERT_TRUE(enc.Encode(ev, out));
  ev.kind = StreamEventKind::kToolArgsDelta;
  ev.text = "{\"a\":";
  ASSERT_TRUE(enc.Encode(ev, out));
  ev.kind = StreamEventKind::kBlockStop;
  ASSERT_TRUE(enc.Encode(ev, out));
  EXPECT_TRUE(out.empty());
  ev.kind = StreamEventKind::kMessageDelta;
  ev.finish = FinishReason::kToolCalls;
  auto r = enc.Encode(ev, out);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
}

// A whole Gemini stream through the Anthropic encoder is a well-formed Anthropic sequence.
TEST(GeminiStream, GeminiToAnthropicSequenceIsWellFormed) {
  const std::vector<std::string> chunks = {
      R"({"candidates":[{"content":{"parts":[{"text":"Hmm.","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4},"responseId":"r"})",
      R"({"candidates":[{"content":{"parts":[{"text":"Calling."},{"functionCall":{"name":"f","args":{}}},{"functionCall":{"name":"g","args":{"x":[1]}}}],"role":"model"},"index":0}]})",
      R"({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":9,"totalTokenCount":13}})"};
  gemini::StreamDecoder dec;
  anthropic::StreamEncoder enc;
  std::string out;
  for (const auto& c : chunks) {
    std::vector<StreamEvent> events;
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
    if (ev.event == "message_delta") {
      EXPECT_EQ(data.at("delta").at("stop_reason"), "tool_use");
    }
  }
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "message_start");
  EXPECT_EQ(names.back(), "message_stop");
  EXPECT_EQ(std::count(names.begin(), names.end(), "message_delta"), 1);
  EXPECT_EQ(started, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(stopped, (std::vector<int>{0, 1, 2, 3}));
}

// ---- errors -----------------------------------------------------------------------------

TEST(GeminiError, GatewayErrorsRenderInGeminiForm) {
  core::Error err;
  err.code = core::ErrorCode::kInvalidRequest;
  err.message = "contents[1].parts[0]: unknown part";
  err.param = "contents[1].parts[0]";
  const HttpError out = gemini::EncodeError(ApiErrorFromCore(err));
  EXPECT_EQ(out.status, 400);
  EXPECT_EQ(json::parse(out.body),
            json::parse(R"({"error":{"code":400,"message":"contents[1].parts[0]: unknown part",)"
                        R"("status":"INVALID_ARGUMENT"}})"));
  core::Error limited;
  limited.code = core::ErrorCode::kUpstreamStatus;
  limited.upstream_status = 529;
  limited.message = "Overloaded";
  limited.retry_after = "3";
  const HttpError over = gemini::EncodeError(ApiErrorFromCore(limited));
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(json::parse(over.body).at("error").at("status"), "UNAVAILABLE");
  ASSERT_EQ(over.headers.size(), 1u);
  EXPECT_EQ(over.headers[0].second, "3");
}

TEST(GeminiError, UpstreamErrorsFeedTheRetryLogic) {
  const ApiError e = gemini::DecodeError(
      429, R"({"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED",)"
           R"("details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"4s"}]}})");
  const core::Error c = CoreErrorFromApi(e);
  EXPECT_EQ(c.upstream_status, 429);
  EXPECT_EQ(c.retry_after, "4");
  EXPECT_TRUE(c.retryable);
  // A streamGenerateContent error without alt=sse comes wrapped in an array.
  const ApiError a = gemini::DecodeError(
      404, R"([{"error":{"code":404,"message":"no such model","status":"NOT_FOUND"}}])");
  EXPECT_EQ(a.cls, ErrorClass::kNotFound);
  EXPECT_EQ(a.message, "no such model");
}

}  // namespace
}  // namespace meridian::dialect
