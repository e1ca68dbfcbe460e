// The OpenAI Responses dialect (POST /v1/responses): requests, responses, streams and errors
// against the other three dialects, table-driven from tests/fixtures/dialect/responses_api
// (requests/, rejected/, responses/, streams/), plus a round-trip property.
//
// Fixture dialect names: "responses", "openai" (Chat Completions), "anthropic", "gemini" (a
// Gemini request form is {"path", "body"}, as in codecs.hpp). A Responses request crossing to
// another dialect goes through responses::PrepareForeign first, as the gateway must do.

#include <random>

#include "codecs.hpp"
#include "dialect/openai_responses.hpp"
#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

using testing::JsonDiff;
using testing::ListFixtures;
using testing::LoadFixture;
using testing::ParseOrString;
using testing::SplitSse;
namespace json = boost::json;

const std::vector<std::string>& AllDialects() {
  static const std::vector<std::string> kAll = {"responses", "openai", "anthropic", "gemini"};
  return kAll;
}

bool Known(std::string_view d) {
  return d == "responses" || d == "openai" || d == "anthropic" || d == "gemini";
}

bool SplitDirection(std::string_view key, std::string& from, std::string& to) {
  const std::size_t sep = key.find("_to_");
  if (sep == std::string_view::npos) return false;
  from = key.substr(0, sep);
  to = key.substr(sep + 4);
  return Known(from) && Known(to);
}

responses::EncodeOptions ResponsesOptions(const json::object& fx) {
  responses::EncodeOptions o;
  if (const auto* v = fx.if_contains("responses_options"); v && v->is_object()) {
    if (const auto* b = v->get_object().if_contains("cache_breakpoints")) {
      o.cache_breakpoints = b->as_bool();
    }
  }
  return o;
}

core::Result<ChatRequest> DecodeForm(std::string_view d, const json::value& form) {
  if (d == "responses") return responses::DecodeRequest(form.as_object());
  return testing::DecodeRequestForm(d, form);
}

core::Result<json::value> EncodeForm(std::string_view d, const ChatRequest& in,
                                     const json::object& fx) {
  if (d == "responses") {
    auto out = responses::EncodeRequest(in, ResponsesOptions(fx));
    if (!out) return std::unexpected(out.error());
    return json::parse(*out);
  }
  ChatRequest req = in;
  responses::PrepareForeign(req);
  return testing::EncodeRequestForm(d, req, fx);
}

core::Result<json::value> TranslateRequest(std::string_view from, std::string_view to,
                                           const json::value& input, const json::object& fx) {
  auto req = DecodeForm(from, input);
  if (!req) return std::unexpected(req.error());
  return EncodeForm(to, *req, fx);
}

void ExpectRequest(std::string_view from, std::string_view to, const json::value& input,
                   const json::value& want, const json::object& fx) {
  SCOPED_TRACE(std::string(from) + " -> " + std::string(to));
  auto out = TranslateRequest(from, to, input, fx);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const std::string diff = JsonDiff(want, *out);
  EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << json::serialize(*out);
}

// ---- requests ----------------------------------------------------------------------------

class ResponsesRequest : public ::testing::TestWithParam<std::string> {};

TEST_P(ResponsesRequest, Translates) {
  const json::object fx = LoadFixture("responses_api/requests", GetParam());
  ASSERT_FALSE(fx.empty());
  int checked = 0;
  const auto& ds = AllDialects();
  for (std::size_t a = 0; a < ds.size(); ++a) {
    for (std::size_t b = a + 1; b < ds.size(); ++b) {
      const json::value* x = fx.if_contains(ds[a]);
      const json::value* y = fx.if_contains(ds[b]);
      if (x == nullptr || y == nullptr) continue;
      ExpectRequest(ds[a], ds[b], *x, *y, fx);
      ExpectRequest(ds[b], ds[a], *y, *x, fx);
      checked += 2;
    }
  }
  for (const auto& kv : fx) {
    std::string from, to;
    if (!SplitDirection(kv.key(), from, to)) continue;
    ExpectRequest(from, to, kv.value().at("input"), kv.value().at("output"), fx);
    ++checked;
  }
  // A fixture with only a Responses body is checked by SameDialectIsLossless.
  EXPECT_TRUE(checked > 0 || fx.contains("responses")) << "fixture checks nothing";
}

// Every Responses body of a fixture survives decode → encode unchanged (up to the
// normalisations listed under "same_dialect").
TEST_P(ResponsesRequest, SameDialectIsLossless) {
  const json::object fx = LoadFixture("responses_api/requests", GetParam());
  std::vector<const json::value*> bodies;
  if (const json::value* b = fx.if_contains("responses")) bodies.push_back(b);
  for (const auto& kv : fx) {
    std::string from, to;
    if (SplitDirection(kv.key(), from, to) && from == "responses") {
      bodies.push_back(&kv.value().at("input"));
    }
  }
  const json::value* same = nullptr;
  if (const auto* s = fx.if_contains("same_dialect"); s && s->is_object()) {
    same = s->get_object().if_contains("responses");
  }
  for (const json::value* body : bodies) {
    auto out = TranslateRequest("responses", "responses", *body, fx);
    ASSERT_TRUE(out.has_value()) << out.error().message;
    const json::value& want = (same != nullptr && bodies.size() == 1) ? *same : *body;
    const std::string diff = JsonDiff(want, *out);
    EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << json::serialize(*out);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResponsesRequest,
                         ::testing::ValuesIn(ListFixtures("responses_api/requests")),
                         [](const auto& info) { return info.param; });

class ResponsesRejected : public ::testing::TestWithParam<std::string> {};

TEST_P(ResponsesRejected, FailsNamingTheField) {
  const json::object fx = LoadFixture("responses_api/rejected", GetParam());
  ASSERT_FALSE(fx.empty());
  const std::string from(fx.at("from").as_string());
  const json::value* to = fx.if_contains("to");
  core::Error error;
  if (to == nullptr) {
    auto req = DecodeForm(from, fx.at("input"));
    ASSERT_FALSE(req.has_value()) << "decoding succeeded";
    error = req.error();
  } else {
    auto out = TranslateRequest(from, to->as_string(), fx.at("input"), fx);
    ASSERT_FALSE(out.has_value()) << "translation succeeded: " << json::serialize(*out);
    error = out.error();
  }
  EXPECT_EQ(error.code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(error.param, fx.at("param").as_string());
  EXPECT_EQ(error.message, fx.at("message").as_string());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResponsesRejected,
                         ::testing::ValuesIn(ListFixtures("responses_api/rejected")),
                         [](const auto& info) { return info.param; });

// ---- responses ---------------------------------------------------------------------------

core::Result<ChatResponse> DecodeBody(std::string_view d, std::string_view body) {
  if (d == "responses") return responses::DecodeResponse(body);
  return testing::DecodeResponseBody(d, body);
}

core::Result<std::string> EncodeBody(std::string_view d, const ChatResponse& resp,
                                     const json::object& fx) {
  if (d == "responses") {
    responses::ResponseOptions opt;
    if (const auto* c = fx.if_contains("created")) opt.created = c->as_int64();
    return responses::EncodeResponse(resp, opt);
  }
  return testing::EncodeResponseBody(d, resp, fx);
}

core::Result<std::string> TranslateResponse(std::string_view from, std::string_view to,
                                            const json::value& input, const json::object& fx) {
  auto resp = DecodeBody(from, json::serialize(input));
  if (!resp) return std::unexpected(resp.error());
  return EncodeBody(to, *resp, fx);
}

class ResponsesResponse : public ::testing::TestWithParam<std::string> {};

TEST_P(ResponsesResponse, Translates) {
  const json::object fx = LoadFixture("responses_api/responses", GetParam());
  ASSERT_FALSE(fx.empty());
  int checked = 0;
  for (const auto& kv : fx) {
    std::string from, to;
    if (!SplitDirection(kv.key(), from, to)) continue;
    SCOPED_TRACE(std::string(kv.key()));
    auto out = TranslateResponse(from, to, kv.value().at("input"), fx);
    ASSERT_TRUE(out.has_value()) << out.error().message;
    const std::string diff = JsonDiff(kv.value().at("output"), json::parse(*out));
    EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << *out;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST_P(ResponsesResponse, SameDialectIsLossless) {
  const json::object fx = LoadFixture("responses_api/responses", GetParam());
  for (const auto& kv : fx) {
    std::string from, to;
    if (!SplitDirection(kv.key(), from, to) || from != "responses") continue;
    const json::value& body = kv.value().at("input");
    auto out = TranslateResponse("responses", "responses", body, fx);
    ASSERT_TRUE(out.has_value()) << out.error().message;
    const std::string diff = JsonDiff(body, json::parse(*out));
    EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << *out;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResponsesResponse,
                         ::testing::ValuesIn(ListFixtures("responses_api/responses")),
                         [](const auto& info) { return info.param; });

// ---- streams -----------------------------------------------------------------------------

// One SSE event of the output as the fixtures write it: named events (Anthropic, Responses)
// as {"event", "data"}, OpenAI / Gemini chunks as the chunk, "[DONE]" as the string, comments
// as {"comment": text}.
json::value Rendered(const testing::SseOut& ev) {
  if (ev.event == ":") return json::object{{"comment", ev.data}};
  if (!ev.event.empty()) {
    return json::object{{"event", ev.event}, {"data", ParseOrString(ev.data)}};
  }
  return ParseOrString(ev.data);
}

struct Pipeline {
  std::string from, to;
  openai::StreamDecoder oa_dec;
  anthropic::StreamDecoder an_dec;
  gemini::StreamDecoder ge_dec;
  responses::StreamDecoder re_dec;
  openai::StreamEncoder oa_enc;
  anthropic::StreamEncoder an_enc;
  gemini::StreamEncoder ge_enc;
  responses::StreamEncoder re_enc;
  std::vector<StreamEvent> events;

  explicit Pipeline(const json::object& fx)
      : oa_enc([&] {
          openai::StreamOptions o;
          if (const auto* v = fx.if_contains("include_usage")) o.include_usage = v->as_bool();
          if (const auto* v = fx.if_contains("created")) o.created = v->as_int64();
          return o;
        }()),
        re_enc([&] {
          responses::StreamOptions o;
          if (const auto* v = fx.if_contains("created")) o.created = v->as_int64();
          return o;
        }()) {
    EXPECT_TRUE(SplitDirection(fx.at("direction").as_string(), from, to));
  }

  core::Result<std::string> Step(const json::value& in) {
    events.clear();
    core::Result<void> fed;
    // Named-event dialects give {"event", "data"}; the decoders read the data only.
    const json::value& data = (from == "anthropic" || from == "responses") ? in.at("data") : in;
    const std::string text = data.is_string() ? std::string(data.as_string()) : json::serialize(data);
    if (from == "openai") fed = oa_dec.Feed(text, events);
    else if (from == "anthropic") fed = an_dec.Feed(text, events);
    else if (from == "gemini") fed = ge_dec.Feed(text, events);
    else fed = re_dec.Feed(text, events);
    if (!fed) return std::unexpected(fed.error());
    return EncodeAll();
  }

  core::Result<std::string> Finish() {
    events.clear();
    if (from == "openai") oa_dec.Finish(events);
    else if (from == "anthropic") an_dec.Finish(events);
    else if (from == "gemini") ge_dec.Finish(events);
    else re_dec.Finish(events);
    return EncodeAll();
  }

  core::Result<std::string> EncodeAll() {
    std::string out;
    for (const StreamEvent& ev : events) {
      auto r = to == "anthropic" ? an_enc.Encode(ev, out)
               : to == "openai"  ? oa_enc.Encode(ev, out)
               : to == "gemini"  ? ge_enc.Encode(ev, out)
                                 : re_enc.Encode(ev, out);
      if (!r) return std::unexpected(r.error());
    }
    return out;
  }
};

void ExpectOutput(const json::array& want, const std::string& bytes, std::size_t step) {
  json::array rendered;
  for (const auto& ev : SplitSse(bytes)) rendered.push_back(Rendered(ev));
  const std::string diff = JsonDiff(want, rendered);
  EXPECT_TRUE(diff.empty()) << "step " << step << ": " << diff << "\noutput:\n" << bytes;
}

class ResponsesStream : public ::testing::TestWithParam<std::string> {};

TEST_P(ResponsesStream, TranslatesEachEventAtOnce) {
  const json::object fx = LoadFixture("responses_api/streams", GetParam());
  ASSERT_FALSE(fx.empty());
  Pipeline p(fx);
  const json::array& steps = fx.at("steps").as_array();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const json::object& step = steps[i].as_object();
    auto out = p.Step(step.at("in"));
    ASSERT_TRUE(out.has_value()) << "step " << i << ": " << out.error().message;
    ExpectOutput(step.at("out").as_array(), *out, i);
  }
  auto fin = p.Finish();
  ASSERT_TRUE(fin.has_value());
  const json::array empty;
  const json::value* want = fx.if_contains("finish");
  ExpectOutput(want ? want->as_array() : empty, *fin, steps.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResponsesStream,
                         ::testing::ValuesIn(ListFixtures("responses_api/streams")),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace meridian::dialect

namespace meridian::dialect {
namespace {

namespace json = boost::json;

// ---- errors ------------------------------------------------------------------------------

TEST(ResponsesErrors, SameShapeAsChatCompletions) {
  const std::string body =
      R"({"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}})";
  ErrorHeaders h;
  h.retry_after = "3";
  const ApiError e = responses::DecodeError(429, body, h);
  EXPECT_EQ(e.cls, ErrorClass::kRateLimited);
  EXPECT_EQ(e.origin, Dialect::kOpenAiResponses);
  EXPECT_EQ(e.code, "rate_limit_exceeded");
  const HttpError out = responses::EncodeError(e);
  EXPECT_EQ(out.status, 429);
  EXPECT_EQ(json::parse(out.body), json::parse(body));  // the client's own error, unchanged
  ASSERT_EQ(out.headers.size(), 1u);
  EXPECT_EQ(out.headers[0], (std::pair<std::string, std::string>{"retry-after", "3"}));
  // A Chat Completions upstream's error is the same vocabulary: kept as is too.
  const HttpError chat = responses::EncodeError(openai::DecodeError(429, body, h));
  EXPECT_EQ(json::parse(chat.body), json::parse(body));
}

TEST(ResponsesErrors, AnthropicOverloadedIsA503) {
  const ApiError e = anthropic::DecodeError(
      529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", {});
  const HttpError out = responses::EncodeError(e);
  EXPECT_EQ(out.status, 503);
  EXPECT_EQ(json::parse(out.body),
            json::parse(R"({"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded"}})"));
  EXPECT_EQ(responses::ErrorBody(e), out.body);
}

TEST(ResponsesErrors, GatewayErrorNamesTheParam) {
  core::Error ce;
  ce.code = core::ErrorCode::kInvalidRequest;
  ce.message = "previous_response_id: not supported by Anthropic Messages";
  ce.param = "previous_response_id";
  const HttpError out = responses::EncodeError(ApiErrorFromCore(ce));
  EXPECT_EQ(out.status, 400);
  EXPECT_EQ(json::parse(out.body),
            json::parse(R"({"error":{"message":"previous_response_id: not supported by Anthropic Messages","type":"invalid_request_error","param":"previous_response_id","code":null}})"));
}

TEST(ResponsesResponseBody, FailedResponseIsAnUpstreamError) {
  auto r = responses::DecodeResponse(
      R"({"id":"resp_1","object":"response","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
  EXPECT_EQ(r.error().message, "the upstream response failed: boom");
  auto bad = responses::DecodeResponse(R"({"id":"resp_1","object":"response","status":"completed"})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "output: missing");
}

TEST(ResponsesResponseBody, OpaqueForeignBlockIsA502) {
  ChatResponse resp;
  resp.origin = Dialect::kAnthropicMessages;
  ContentPart p;
  p.kind = PartKind::kOpaque;
  p.raw = json::object{{"type", "server_tool_use"}};
  resp.content.push_back(p);
  auto out = responses::EncodeResponse(resp);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, core::ErrorCode::kUpstreamError);
}

// ---- streams -----------------------------------------------------------------------------

TEST(ResponsesStreamDecode, ErrorEventAndFailedResponse) {
  std::vector<StreamEvent> events;
  responses::StreamDecoder d;
  ASSERT_TRUE(d.Feed(R"({"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null,"sequence_number":3})", events));
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].kind, StreamEventKind::kError);
  EXPECT_EQ(events[0].error->cls, ErrorClass::kRateLimited);
  EXPECT_EQ(events[0].error->message, "slow down");

  events.clear();
  responses::StreamDecoder f;
  ASSERT_TRUE(f.Feed(R"({"type":"response.created","response":{"id":"r","model":"m","created_at":5}})", events));
  ASSERT_TRUE(f.Feed(R"({"type":"response.failed","response":{"id":"r","status":"failed","error":{"code":"server_error","message":"The model failed"}}})", events));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, StreamEventKind::kMessageStart);
  EXPECT_EQ(events[0].created, 5);
  ASSERT_EQ(events[1].kind, StreamEventKind::kError);
  EXPECT_EQ(events[1].error->cls, ErrorClass::kInternal);
  EXPECT_EQ(events[1].error->message, "The model failed");
}

TEST(ResponsesStreamDecode, TruncatedStreamIsNotCompleted) {
  std::vector<StreamEvent> events;
  responses::StreamDecoder d;
  ASSERT_TRUE(d.Feed(R"({"type":"response.created","response":{"id":"r","model":"m"}})", events));
  ASSERT_TRUE(d.Feed(R"({"type":"response.output_text.delta","item_id":"msg","output_index":0,"content_index":0,"delta":"Hi"})", events));
  // No content_part.added: the text block is opened by the delta.
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].kind, StreamEventKind::kBlockStart);
  EXPECT_EQ(events[2].text, "Hi");
  events.clear();
  d.Finish(events);
  EXPECT_TRUE(events.empty());
  // Unknown events and a trailing [DONE] translate to nothing.
  ASSERT_TRUE(d.Feed(R"({"type":"response.web_search_call.searching","output_index":1})", events));
  ASSERT_TRUE(d.Feed("[DONE]", events));
  EXPECT_TRUE(events.empty());
  auto bad = d.Feed("{oops", events);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, core::ErrorCode::kUpstreamError);
}

TEST(ResponsesStreamDecode, IncompleteIsLength) {
  std::vector<StreamEvent> events;
  responses::StreamDecoder d;
  ASSERT_TRUE(d.Feed(R"({"type":"response.incomplete","response":{"id":"r","model":"m","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":3,"output_tokens":16,"output_tokens_details":{"reasoning_tokens":10}}}})", events));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].kind, StreamEventKind::kMessageDelta);
  EXPECT_EQ(events[1].finish, FinishReason::kLength);
  ASSERT_TRUE(events[1].usage.has_value());
  EXPECT_EQ(events[1].usage->output_tokens, 16);
  EXPECT_EQ(events[1].usage->reasoning_tokens, 10);
  EXPECT_EQ(events[2].kind, StreamEventKind::kMessageStop);
}

// A whole Gemini-like sequence of canonical events: each Encode call writes whole SSE events
// whose sequence numbers count from 0 without gaps.
TEST(ResponsesStreamEncode, SequenceNumbersAreContiguous) {
  responses::StreamEncoder enc;
  std::vector<StreamEvent> evs(7);
  evs[0].kind = StreamEventKind::kMessageStart;
  evs[0].id = "x";
  evs[1].kind = StreamEventKind::kBlockStart;
  evs[1].block = PartKind::kThinking;
  evs[2].kind = StreamEventKind::kThinkingDelta;
  evs[2].text = "hmm";
  evs[3].kind = StreamEventKind::kBlockStop;
  evs[4].kind = StreamEventKind::kMessageDelta;
  evs[4].finish = FinishReason::kLength;
  evs[5].kind = StreamEventKind::kMessageStop;
  evs[6].kind = StreamEventKind::kPing;
  std::vector<std::string> names;
  std::int64_t next = 0;
  for (const StreamEvent& ev : evs) {
    std::string out;
    ASSERT_TRUE(enc.Encode(ev, out));
    for (const auto& sse : testing::SplitSse(out)) {
      names.push_back(sse.event);
      if (sse.event == ":") continue;
      const json::value data = json::parse(sse.data);
      EXPECT_EQ(data.at("type").as_string(), sse.event);
      EXPECT_EQ(data.at("sequence_number").as_int64(), next++);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "response.created", "response.in_progress", "response.output_item.added",
                       "response.reasoning_summary_part.added",
                       "response.reasoning_summary_text.delta",
                       "response.reasoning_summary_text.done",
                       "response.reasoning_summary_part.done", "response.output_item.done",
                       "response.incomplete", ":"}));
}

TEST(ResponsesRequestDecode, KeepsNestedMembersUnderDottedKeys) {
  auto req = responses::DecodeRequest(std::string_view(
      R"({"model":"m","input":"hi","text":{"verbosity":"low"},"reasoning":{"effort":"high","summary":"auto"},"store":false})"));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  EXPECT_EQ(req->origin, Dialect::kOpenAiResponses);
  EXPECT_EQ(req->reasoning.effort, "high");
  EXPECT_EQ(req->extra.at("text.verbosity"), "low");
  EXPECT_EQ(req->extra.at("reasoning.summary"), "auto");
  responses::PrepareForeign(*req);
  EXPECT_EQ(req->extra.size(), 1u);  // store: false and the summary hint are dropped
  EXPECT_TRUE(req->extra.contains("text.verbosity"));
  // PrepareForeign leaves other origins alone.
  auto chat = openai::DecodeRequest(std::string_view(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"store":false})"));
  ASSERT_TRUE(chat.has_value());
  const ChatRequest before = *chat;
  responses::PrepareForeign(*chat);
  EXPECT_EQ(*chat, before);
}

// ---- round-trip property -----------------------------------------------------------------

class Gen {
 public:
  explicit Gen(std::uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Coin(int percent = 50) { return Int(1, 100) <= percent; }
  std::string Text() {
    static const char* kPieces[] = {"hello", " ", "world", "\"q\"", "back\\slash", "\n", "é",
                                    "日本", "🙂", "{json}", "\x01", "0"};
    std::string s;
    for (int i = 0, n = Int(0, 5); i < n; ++i) s += kPieces[Int(0, 11)];
    return s;
  }
  std::string Id() {
    static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    std::string s = "id_";
    for (int i = 0, n = Int(1, 10); i < n; ++i) s += kChars[Int(0, 63)];
    return s;
  }
  std::string Args() {
    json::object o;
    for (int i = 0, n = Int(0, 3); i < n; ++i) o["k" + std::to_string(i)] = Text();
    return json::serialize(o);
  }
  ContentPart Part() {
    ContentPart p = ContentPart::Text(Text());
    const int k = Int(0, 5);
    if (k == 4) {
      p = ContentPart{};
      p.kind = PartKind::kImage;
      if (Coin()) {
        p.source = SourceKind::kUrl;
        p.data = "https://example.com/" + Id() + ".png";
      } else {
        p.source = SourceKind::kBase64;
        p.media_type = "image/png";
        p.data = "iVBORw0KGgo" + Id();
      }
      if (Coin(30)) p.detail = Coin() ? "low" : "high";
    } else if (k == 5) {
      p = ContentPart{};
      p.kind = PartKind::kDocument;
      p.source = SourceKind::kBase64;
      p.media_type = "application/pdf";
      p.data = "JVBERi0x" + Id();
      if (Coin()) p.name = Id() + ".pdf";
    }
    if (Coin(20)) p.cache = CacheControl{};
    return p;
  }
  std::mt19937 rng_;
};

ChatRequest ResponsesRequest(Gen& g) {
  ChatRequest r;
  r.origin = Dialect::kOpenAiResponses;
  r.model = "gpt-" + g.Id();
  if (g.Coin()) {
    Message s;
    s.role = g.Coin() ? Role::kSystem : Role::kDeveloper;
    for (int i = 0, n = g.Int(1, 2); i < n; ++i) s.content.push_back(ContentPart::Text(g.Text()));
    r.messages.push_back(std::move(s));
  }
  for (int turn = 0, n = g.Int(1, 4); turn < n; ++turn) {
    Message u;
    u.role = Role::kUser;
    for (int i = 0, k = g.Int(1, 3); i < k; ++i) u.content.push_back(g.Part());
    r.messages.push_back(std::move(u));
    if (turn + 1 == n && g.Coin()) break;
    Message a;
    a.role = Role::kAssistant;
    if (g.Coin(30)) {
      ContentPart t;
      t.kind = PartKind::kThinking;
      t.text = g.Text();
      if (g.Coin()) t.id = "rs_" + g.Id();
      if (g.Coin()) t.signature = "gAAAA" + g.Id();
      a.content.push_back(std::move(t));
    }
    for (int i = 0, k = g.Int(0, 2); i < k; ++i) {
      if (g.Coin(10)) {
        ContentPart rf;
        rf.kind = PartKind::kRefusal;
        rf.text = g.Text();
        a.content.push_back(std::move(rf));
      } else {
        a.content.push_back(ContentPart::Text(g.Text()));
      }
    }
    std::vector<std::string> ids;
    for (int i = 0, k = g.Int(a.content.empty() ? 1 : 0, 2); i < k; ++i) {
      ContentPart c;
      c.kind = PartKind::kToolUse;
      c.id = "call_" + g.Id();
      c.name = "fn_" + std::to_string(i);
      c.arguments = g.Args();
      ids.push_back(c.id);
      a.content.push_back(std::move(c));
    }
    r.messages.push_back(std::move(a));
    for (const std::string& id : ids) {
      Message t;
      t.role = Role::kTool;
      ContentPart res;
      res.kind = PartKind::kToolResult;
      res.id = id;
      res.content.push_back(ContentPart::Text(g.Text()));
      t.content.push_back(std::move(res));
      r.messages.push_back(std::move(t));
    }
  }
  for (int i = 0, n = g.Int(0, 2); i < n; ++i) {
    Tool t;
    t.name = "fn_" + std::to_string(i);
    if (g.Coin()) t.description = g.Text();
    if (g.Coin(80)) t.parameters = json::object{{"type", "object"}, {"properties", json::object{}}};
    if (g.Coin()) t.strict = g.Coin();
    r.tools.push_back(std::move(t));
  }
  const int choice = g.Int(0, 4);
  r.tool_choice.mode = static_cast<ToolChoice::Mode>(choice);
  if (r.tool_choice.mode == ToolChoice::Mode::kTool) r.tool_choice.name = "fn_0";
  if (g.Coin(30)) r.parallel_tool_calls = g.Coin();
  if (g.Coin(30)) {
    ResponseFormat f;
    f.type = static_cast<ResponseFormat::Type>(g.Int(0, 2));
    if (f.type == ResponseFormat::Type::kJsonSchema) {
      f.name = "out_" + g.Id();
      f.schema = json::object{{"type", "object"}};
      if (g.Coin()) f.strict = g.Coin();
      if (g.Coin(20)) f.description = g.Text();
    }
    r.response_format = f;
  }
  if (g.Coin()) r.temperature = g.Int(0, 200) / 100.0;
  if (g.Coin()) r.top_p = g.Int(1, 100) / 100.0;
  if (g.Coin()) r.max_tokens = g.Int(16, 100000);
  if (g.Coin()) r.reasoning.effort = g.Coin() ? "low" : "high";
  r.stream = g.Coin();
  if (g.Coin(20)) r.user = "u_" + g.Id();
  if (g.Coin(20)) r.service_tier = g.Coin() ? "auto" : "flex";
  return r;
}

TEST(ResponsesRoundTrip, DecodeOfEncodeIsIdentity) {
  for (std::uint32_t seed = 1; seed <= 400; ++seed) {
    Gen g(seed);
    const ChatRequest x = ResponsesRequest(g);
    auto body = responses::EncodeRequest(x);
    ASSERT_TRUE(body.has_value()) << "seed " << seed << ": " << body.error().message;
    auto y = responses::DecodeRequest(std::string_view(*body));
    ASSERT_TRUE(y.has_value()) << "seed " << seed << ": " << y.error().message << "\n" << *body;
    ASSERT_TRUE(*y == x) << "seed " << seed << "\n" << *body << "\n"
                         << *responses::EncodeRequest(*y);
  }
}

// Generated Responses requests to each other dialect either translate (and the result decodes
// in that dialect) or fail naming a field; and back from each.
TEST(ResponsesRoundTrip, CrossDialectTranslationsDecode) {
  int ok = 0, refused = 0;
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    Gen g(seed);
    ChatRequest x = ResponsesRequest(g);
    responses::PrepareForeign(x);
    for (const char* to : {"openai", "anthropic", "gemini"}) {
      SCOPED_TRACE(std::string("seed ") + std::to_string(seed) + " to " + to);
      auto out = testing::EncodeRequestForm(to, x, {});
      if (!out) {
        EXPECT_FALSE(out.error().param.empty()) << out.error().message;
        EXPECT_EQ(out.error().code, core::ErrorCode::kInvalidRequest);
        ++refused;
        continue;
      }
      auto back = testing::DecodeRequestForm(to, *out);
      ASSERT_TRUE(back.has_value()) << back.error().message << "\n" << json::serialize(*out);
      auto again = responses::EncodeRequest(*back);
      if (again) {
        EXPECT_TRUE(responses::DecodeRequest(std::string_view(*again)).has_value()) << *again;
        ++ok;
      } else {
        EXPECT_FALSE(again.error().param.empty()) << again.error().message;
        ++refused;
      }
    }
  }
  EXPECT_GT(ok, 300);  // most translations succeed; some are refused by rule
}

}  // namespace
}  // namespace meridian::dialect
