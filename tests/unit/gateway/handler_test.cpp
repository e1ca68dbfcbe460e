// Gateway::Handle end to end, minus the client socket: requests are handed to the gateway
// directly with a recording Responder, and the gateway forwards to a real in-process upstream
// (a net::Server on its own thread answering with canned OpenAI JSON and SSE).

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "../net/test_support.hpp"
#include "gateway_test_support.hpp"
#include "gateway/gateway.hpp"
#include "net/sse.hpp"
#include "telemetry/metrics.hpp"

namespace meridian::gateway {
namespace {

namespace json = boost::json;
using namespace net::test_support;

using test_support::RecordingResponder;

// ---------------------------------------------------------------------------------------------
// Canned upstream answers

constexpr std::string_view kCompletion =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-test",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})";

// What OpenAI streams when stream_options.include_usage is true: "usage":null on every chunk,
// then one chunk with empty choices and the usage.
const std::vector<std::string>& StreamEvents() {
  static const std::vector<std::string> events = {
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null})",
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null})",
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null})",
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null})",
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})",
  };
  return events;
}

using UpstreamBehaviour = std::function<asio::awaitable<void>(net::Request&, net::Responder&)>;

UpstreamBehaviour JsonReply(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {},
                            std::string content_type = "application/json") {
  return [=](net::Request&, net::Responder& out) -> asio::awaitable<void> {
    net::Response res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers) res.set(name, value);
    res.body() = body;
    co_await out.Send(std::move(res));
  };
}

// Streams each event as its own chunk ("data: ...\n\n"), then [DONE] if `done`.
UpstreamBehaviour SseReply(std::vector<std::string> events, bool done = true) {
  return [=](net::Request&, net::Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    head.set(http::field::content_type, "text/event-stream");
    co_await out.StartStream(std::move(head));
    for (const auto& e : events) co_await out.WriteChunk(net::EncodeSseEvent(e));
    if (done) co_await out.WriteChunk("data: [DONE]\n\n");
    co_await out.EndStream();
  };
}

// ---------------------------------------------------------------------------------------------
// Fixture

std::string ChatBody(std::string_view model = "gpt-test", std::string_view extra = "") {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"Hi"}}]{}}})", model, extra);
}

struct ErrorFields {
  std::string message, type, code;
  std::optional<std::string> param;  // nullopt = JSON null
};

// The fields of an OpenAI error body; a failure (and empty fields) if it is not one.
ErrorFields ParseError(std::string_view body) {
  ErrorFields f;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::value* error = ec || !v.is_object() ? nullptr : v.as_object().if_contains("error");
  if (!error || !error->is_object()) {
    ADD_FAILURE() << "not an OpenAI error body: " << body;
    return f;
  }
  const auto& e = error->as_object();
  auto text = [&](std::string_view key) -> std::string {
    const json::value* field = e.if_contains(key);
    if (!field || !field->is_string()) {
      ADD_FAILURE() << "error." << key << " is missing or not a string: " << body;
      return {};
    }
    return std::string(field->as_string());
  };
  f.message = text("message");
  f.type = text("type");
  f.code = text("code");
  const json::value* param = e.if_contains("param");
  if (!param) ADD_FAILURE() << "error.param is missing: " << body;
  if (param && !param->is_null()) f.param = text("param");
  EXPECT_EQ(e.size(), 4u) << body;
  return f;
}

std::vector<std::string> SseData(std::string_view text) {
  std::vector<std::string> out;
  net::SseParser parser;
  auto r = parser.Feed(text, [&](const net::SseEvent& e) { out.emplace_back(e.data); });
  EXPECT_TRUE(r);
  EXPECT_TRUE(parser.Finish()) << "stream ends mid-event: " << text;
  return out;
}

class GatewayHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::ServerOptions o;
    o.workers = 1;
    upstream_ = std::make_unique<TestServer>(o, [this](net::Request& req, net::Responder& out) -> asio::awaitable<void> {
      UpstreamBehaviour behaviour;
      {
        std::lock_guard lock(mu_);
        upstream_requests_.push_back(req);
        behaviour = behaviour_;
      }
      co_await behaviour(req, out);
    });
    SetUpstream(JsonReply(200, std::string(kCompletion)));
  }

  void TearDown() override {
    gateway_.reset();
    upstream_.reset();
  }

  void SetUpstream(UpstreamBehaviour behaviour) {
    std::lock_guard lock(mu_);
    behaviour_ = std::move(behaviour);
  }

  std::vector<net::Request> UpstreamRequests() {
    std::lock_guard lock(mu_);
    return upstream_requests_;
  }

  config::BackendConfig Backend(std::string id, std::string base_url) {
    config::BackendConfig b;
    b.id = std::move(id);
    b.provider = "openai";
    b.base_url = std::move(base_url);
    b.api_key = "sk-upstream";
    b.models = {"gpt-test"};
    return b;
  }

  // Builds a Gateway (with its own registry) over one backend pointing at the upstream.
  void MakeGateway(const std::function<void(config::Config&)>& tweak = {}, GatewayOptions options = {}) {
    config::Config c;
    c.server.request_log = false;
    c.backends.push_back(Backend("b1", upstream_->url() + "/v1"));
    c.aliases.push_back({"fast", "gpt-test"});
    c.auth.keys = {[] { config::KeyConfig k; k.key = "sk-client"; return k; }()};
    if (tweak) tweak(c);
    auto snapshot = Snapshot::Build(std::move(c));
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    gateway_.reset();
    registry_ = std::make_unique<telemetry::Registry>();
    gateway_ = std::make_unique<Gateway>(*snapshot, *registry_, nullptr, options);
  }

  static net::Request ChatRequest(std::string body, std::string_view key = "sk-client",
                                  std::string_view content_type = "application/json") {
    net::Request req{http::verb::post, "/v1/chat/completions", 11};
    req.set(http::field::host, "gateway");
    if (!key.empty()) req.set(http::field::authorization, fmt::format("Bearer {}", key));
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  // Runs Gateway::Handle for `request` to completion on the test thread.
  std::unique_ptr<RecordingResponder> Call(net::Request request,
                                           std::function<asio::awaitable<void>(RecordingResponder&)> alongside = {},
                                           std::function<void()> on_chunk = {}) {
    if (!gateway_) MakeGateway();
    auto out = std::make_unique<RecordingResponder>(ioc_.get_executor());
    out->on_chunk = std::move(on_chunk);
    bool finished = RunOn(ioc_, [&]() -> asio::awaitable<void> {
      if (alongside) asio::co_spawn(ioc_, alongside(*out), asio::detached);
      co_await gateway_->Handle(request, *out);
    }, 10s);
    EXPECT_TRUE(finished) << "Gateway::Handle did not finish";
    return out;
  }

  // Asserts a complete (non-streamed) error answer and returns its fields.
  static ErrorFields ExpectError(const RecordingResponder& out, int status) {
    EXPECT_EQ(out.sends, 1);
    EXPECT_EQ(out.starts, 0);
    if (!out.response()) {
      ADD_FAILURE() << "no response sent";
      return {};
    }
    const auto& res = *out.response();
    EXPECT_EQ(res.result_int(), status) << res.body();
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_FALSE(res["x-request-id"].empty());
    return ParseError(res.body());
  }

  std::string Metrics() { return registry_->RenderPrometheus(); }

  // Events the upstream's handlers use: members, so they outlive the upstream server (a handler
  // may still be inside Wait() when a test body returns).
  Gate never_, received_, relayed_;
  Signal upstream_saw_close_;

  std::mutex mu_;
  UpstreamBehaviour behaviour_;
  std::vector<net::Request> upstream_requests_;
  std::unique_ptr<telemetry::Registry> registry_;
  std::unique_ptr<Gateway> gateway_;
  asio::io_context ioc_;
  std::unique_ptr<TestServer> upstream_;
};

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Authentication and validation: answered by the gateway, never forwarded.

TEST_F(GatewayHandlerTest, MissingKeyIs401AndNeverReachesTheUpstream) {
  auto out = Call(ChatRequest(ChatBody(), ""));
  ErrorFields e = ExpectError(*out, 401);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.code, "invalid_api_key");
  EXPECT_EQ(e.message, "Missing API key: send it as 'Authorization: Bearer <key>'.");
  EXPECT_FALSE(e.param);
  EXPECT_EQ((*out->response())[http::field::www_authenticate], "Bearer");
  EXPECT_TRUE(UpstreamRequests().empty());
}

TEST_F(GatewayHandlerTest, WrongKeyIs401AndNeverReachesTheUpstream) {
  for (std::string_view auth : {"Bearer sk-wrong", "Bearer sk-client-x", "Basic sk-client", "Bearer ", "sk-client"}) {
    SCOPED_TRACE(auth);
    net::Request req = ChatRequest(ChatBody(), "");
    req.set(http::field::authorization, auth);
    auto out = Call(std::move(req));
    ErrorFields e = ExpectError(*out, 401);
    EXPECT_EQ(e.code, "invalid_api_key");
  }
  EXPECT_TRUE(UpstreamRequests().empty());
}

TEST_F(GatewayHandlerTest, BearerSchemeIsCaseInsensitive) {
  net::Request req = ChatRequest(ChatBody(), "");
  req.set(http::field::authorization, "bearer sk-client");
  auto out = Call(std::move(req));
  ASSERT_TRUE(out->response());
  EXPECT_EQ(out->response()->result_int(), 200);
}

TEST_F(GatewayHandlerTest, AuthDisabledWithoutKeys) {
  MakeGateway([](config::Config& c) { c.auth.keys.clear(); });
  auto out = Call(ChatRequest(ChatBody(), ""));
  ASSERT_TRUE(out->response());
  EXPECT_EQ(out->response()->result_int(), 200);
  EXPECT_EQ(UpstreamRequests().size(), 1u);
}

TEST_F(GatewayHandlerTest, WrongContentTypeIs415) {
  for (std::string_view ct : {"text/plain", "", "application/jsonx", "multipart/form-data"}) {
    SCOPED_TRACE(ct);
    auto out = Call(ChatRequest(ChatBody(), "sk-client", ct));
    ErrorFields e = ExpectError(*out, 415);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.code, "unsupported_media_type");
    EXPECT_EQ(e.message, "Content-Type must be application/json");
  }
  EXPECT_TRUE(UpstreamRequests().empty());
  auto ok = Call(ChatRequest(ChatBody(), "sk-client", "Application/JSON; charset=utf-8"));
  ASSERT_TRUE(ok->response());
  EXPECT_EQ(ok->response()->result_int(), 200);
}

TEST_F(GatewayHandlerTest, InvalidFieldsAre400WithTheirParam) {
  struct Case {
    std::string body;
    std::optional<std::string> param;
    std::string message;
  };
  std::vector<Case> cases = {
      {"not json", std::nullopt, ""},
      {"[]", std::nullopt, "request body must be a JSON object"},
      {"", std::nullopt, "request body is empty; expected a JSON object"},
      {R"({"messages":[{"role":"user","content":"Hi"}]})", "model",
       "'model' is required and must be a non-empty string"},
      {R"({"model":"","messages":[{"role":"user","content":"Hi"}]})", "model",
       "'model' is required and must be a non-empty string"},
      {R"({"model":5,"messages":[{"role":"user","content":"Hi"}]})", "model",
       "'model' is required and must be a non-empty string"},
      {ChatBody(std::string(257, 'm')), "model", "'model' is longer than 256 characters"},
      {R"({"model":"gpt-test"})", "messages", "'messages' is required and must be a non-empty array"},
      {R"({"model":"gpt-test","messages":[]})", "messages", "'messages' is required and must be a non-empty array"},
      {R"({"model":"gpt-test","messages":"Hi"})", "messages", "'messages' is required and must be a non-empty array"},
      {ChatBody("gpt-test", R"(,"stream":"yes")"), "stream", "'stream' must be a boolean"},
      {ChatBody("gpt-test", R"(,"stream":1)"), "stream", "'stream' must be a boolean"},
      {ChatBody("gpt-test", R"(,"stream":true,"stream_options":"usage")"), "stream_options",
       "'stream_options' must be an object"},
      {ChatBody("gpt-test", R"(,"stream":true,"stream_options":{"include_usage":"yes"})"),
       "stream_options.include_usage", "'stream_options.include_usage' must be a boolean"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    auto out = Call(ChatRequest(c.body));
    ErrorFields e = ExpectError(*out, 400);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.code, "invalid_request");
    EXPECT_EQ(e.param, c.param);
    if (!c.message.empty()) {
      EXPECT_EQ(e.message, c.message);
    }
  }
  EXPECT_TRUE(UpstreamRequests().empty());
}

TEST_F(GatewayHandlerTest, NullStreamFieldsAreAccepted) {
  auto out = Call(ChatRequest(ChatBody("gpt-test", R"(,"stream":null,"stream_options":null)")));
  ASSERT_TRUE(out->response());
  EXPECT_EQ(out->response()->result_int(), 200);
}

TEST_F(GatewayHandlerTest, UnknownModelIs404ListingWhatIsServed) {
  auto out = Call(ChatRequest(ChatBody("gpt-unknown")));
  ErrorFields e = ExpectError(*out, 404);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.code, "model_not_found");
  EXPECT_EQ(e.param, "model");
  EXPECT_EQ(e.message, "The model 'gpt-unknown' does not exist. Available models: fast, gpt-test");
  EXPECT_TRUE(UpstreamRequests().empty());
}

TEST_F(GatewayHandlerTest, UnknownRouteAndWrongMethod) {
  MakeGateway();
  net::Request unknown{http::verb::get, "/v1/nothing-here", 11};
  unknown.set(http::field::authorization, "Bearer sk-client");
  ErrorFields e = ExpectError(*Call(unknown), 404);
  EXPECT_EQ(e.code, "not_found");
  EXPECT_EQ(e.message, "no route for /v1/nothing-here");

  net::Request get_chat{http::verb::get, "/v1/chat/completions", 11};
  get_chat.set(http::field::authorization, "Bearer sk-client");
  e = ExpectError(*Call(get_chat), 405);
  EXPECT_EQ(e.code, "method_not_allowed");
  EXPECT_EQ(e.message, "GET is not allowed on /v1/chat/completions; use POST");
  EXPECT_TRUE(UpstreamRequests().empty());
}

TEST_F(GatewayHandlerTest, HealthAndReadinessNeedNoKey) {
  MakeGateway();
  auto health = Call(net::Request{http::verb::get, "/healthz", 11});
  ASSERT_TRUE(health->response());
  EXPECT_EQ(health->response()->result_int(), 200);
  EXPECT_EQ(health->response()->body(), "ok\n");

  auto ready = Call(net::Request{http::verb::get, "/readyz", 11});
  ASSERT_TRUE(ready->response());
  EXPECT_EQ(ready->response()->result_int(), 200);
  EXPECT_EQ(json::parse(ready->response()->body()), json::parse(R"({"status":"ready","healthy_backends":1,"backends":1})"));

  // A backend with an active check is out of rotation until the check passes.
  MakeGateway([](config::Config& c) { c.backends[0].health_check.path = "/models"; });
  auto not_ready = Call(net::Request{http::verb::get, "/readyz", 11});
  ASSERT_TRUE(not_ready->response());
  EXPECT_EQ(not_ready->response()->result_int(), 503);
  EXPECT_EQ(json::parse(not_ready->response()->body()),
            json::parse(R"({"status":"no_healthy_backend","healthy_backends":0,"backends":1})"));
  ErrorFields e = ExpectError(*Call(ChatRequest(ChatBody())), 503);
  EXPECT_EQ(e.code, "upstream_unavailable");
  EXPECT_TRUE(UpstreamRequests().empty());
}

TEST_F(GatewayHandlerTest, ModelsListIdsAndAliases) {
  MakeGateway();
  net::Request list{http::verb::get, "/v1/models", 11};
  list.set(http::field::authorization, "Bearer sk-client");
  auto out = Call(list);
  ASSERT_TRUE(out->response());
  EXPECT_EQ(out->response()->result_int(), 200);
  json::value body = json::parse(out->response()->body());
  EXPECT_EQ(body.at("object").as_string(), "list");
  const auto& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].at("id").as_string(), "gpt-test");
  EXPECT_EQ(data[0].at("object").as_string(), "model");
  EXPECT_EQ(data[0].at("owned_by").as_string(), "openai");
  EXPECT_TRUE(data[0].at("created").is_int64());
  EXPECT_EQ(data[1].at("id").as_string(), "fast");
  EXPECT_EQ(data[1].at("meridian_alias_for").as_string(), "gpt-test");

  net::Request one{http::verb::get, "/v1/models/fast", 11};
  one.set(http::field::authorization, "Bearer sk-client");
  out = Call(one);
  ASSERT_TRUE(out->response());
  json::value model = json::parse(out->response()->body());
  EXPECT_EQ(model.at("id").as_string(), "fast");
  EXPECT_EQ(model.at("meridian_alias_for").as_string(), "gpt-test");

  net::Request missing{http::verb::get, "/v1/models/nope", 11};
  missing.set(http::field::authorization, "Bearer sk-client");
  ErrorFields e = ExpectError(*Call(missing), 404);
  EXPECT_EQ(e.code, "model_not_found");

  net::Request no_key{http::verb::get, "/v1/models", 11};
  ExpectError(*Call(no_key), 401);
  EXPECT_TRUE(UpstreamRequests().empty());
}

TEST_F(GatewayHandlerTest, EmbeddingsValidateAndForward) {
  constexpr std::string_view kEmbedding =
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"gpt-test",)"
      R"("usage":{"prompt_tokens":2,"total_tokens":2}})";
  SetUpstream(JsonReply(200, std::string(kEmbedding)));
  auto request = [](std::string body) {
    net::Request req = ChatRequest(std::move(body));
    req.target("/v1/embeddings");
    return req;
  };
  ErrorFields e = ExpectError(*Call(request(R"({"model":"gpt-test"})")), 400);
  EXPECT_EQ(e.param, "input");
  e = ExpectError(*Call(request(R"({"model":"gpt-test","input":5})")), 400);
  EXPECT_EQ(e.param, "input");
  e = ExpectError(*Call(request(R"({"input":"x"})")), 400);
  EXPECT_EQ(e.param, "model");
  EXPECT_TRUE(UpstreamRequests().empty());

  auto out = Call(request(R"({"model":"fast","input":"hello"})"));
  ASSERT_TRUE(out->response());
  EXPECT_EQ(out->response()->result_int(), 200);
  EXPECT_EQ(out->response()->body(), kEmbedding);
  auto upstream = UpstreamRequests();
  ASSERT_EQ(upstream.size(), 1u);
  EXPECT_EQ(upstream[0].target(), "/v1/embeddings");
  EXPECT_EQ(json::parse(upstream[0].body()).at("model").as_string(), "gpt-test");
}

// ---------------------------------------------------------------------------------------------
// Non-streaming relay

TEST_F(GatewayHandlerTest, ChatCompletionRelaysBodyAndHeaders) {
  MakeGateway();
  net::Request req = ChatRequest(ChatBody("fast", R"(,"temperature":0.5)"));
  req.set("x-request-id", "req-abc.123");
  auto out = Call(std::move(req));
  ASSERT_TRUE(out->response());
  const auto& res = *out->response();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), kCompletion);  // byte for byte
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res["x-meridian-backend"], "b1");
  EXPECT_EQ(res["x-meridian-provider"], "openai");
  EXPECT_EQ(res["x-meridian-attempts"], "1");
  EXPECT_EQ(res["x-request-id"], "req-abc.123");

  auto upstream = UpstreamRequests();
  ASSERT_EQ(upstream.size(), 1u);
  const auto& sent = upstream[0];
  EXPECT_EQ(sent.method(), http::verb::post);
  EXPECT_EQ(sent.target(), "/v1/chat/completions");
  EXPECT_EQ(sent[http::field::authorization], "Bearer sk-upstream");  // never the client's key
  EXPECT_EQ(sent[http::field::content_type], "application/json");
  EXPECT_EQ(sent[http::field::accept], "application/json");
  EXPECT_EQ(sent["x-request-id"], "req-abc.123");
  json::value body = json::parse(sent.body());
  EXPECT_EQ(body.at("model").as_string(), "gpt-test");  // the alias resolved
  EXPECT_EQ(body.at("temperature").as_double(), 0.5);
  EXPECT_EQ(body.at("messages").as_array().size(), 1u);
  EXPECT_FALSE(body.as_object().contains("stream_options"));

  std::string metrics = Metrics();
  EXPECT_TRUE(Contains(metrics, R"(meridian_requests_total{route="chat_completions",status="200",backend="b1"} 1)"))
      << metrics;
  EXPECT_TRUE(Contains(metrics, R"(meridian_tokens_total{backend="b1",kind="prompt"} 9)")) << metrics;
  EXPECT_TRUE(Contains(metrics, R"(meridian_tokens_total{backend="b1",kind="completion"} 3)")) << metrics;
}

TEST_F(GatewayHandlerTest, UnacceptableClientRequestIdIsReplaced) {
  net::Request req = ChatRequest(ChatBody());
  req.set("x-request-id", "has spaces\"and quotes");
  auto out = Call(std::move(req));
  ASSERT_TRUE(out->response());
  std::string id((*out->response())["x-request-id"]);
  EXPECT_FALSE(id.empty());
  EXPECT_NE(id, "has spaces\"and quotes");
  auto upstream = UpstreamRequests();
  ASSERT_EQ(upstream.size(), 1u);
  EXPECT_EQ(upstream[0]["x-request-id"], id);
}

TEST_F(GatewayHandlerTest, UpstreamErrorStatusAndBackOffHeadersAreRelayed) {
  constexpr std::string_view kRateLimited =
      R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
  SetUpstream(JsonReply(429, std::string(kRateLimited),
                        {{"retry-after", "7"}, {"x-ratelimit-remaining-requests", "0"}, {"x-other", "dropped"}}));
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream);
    auto out = Call(ChatRequest(ChatBody("gpt-test", stream ? R"(,"stream":true)" : "")));
    ASSERT_TRUE(out->response());
    EXPECT_EQ(out->starts, 0);
    const auto& res = *out->response();
    EXPECT_EQ(res.result_int(), 429);
    EXPECT_EQ(res.body(), kRateLimited);  // an OpenAI error body is kept as is
    EXPECT_EQ(res[http::field::retry_after], "7");
    EXPECT_EQ(res["x-ratelimit-remaining-requests"], "0");
    EXPECT_EQ(res.count("x-other"), 0u);
    EXPECT_EQ(res["x-meridian-backend"], "b1");
  }
}

TEST_F(GatewayHandlerTest, UpstreamErrorWithoutAnOpenAiBodyGetsAGatewayBody) {
  SetUpstream(JsonReply(503, "Service Unavailable", {{"retry-after", "2"}}, "text/plain"));
  auto out = Call(ChatRequest(ChatBody()));
  ErrorFields e = ExpectError(*out, 503);
  EXPECT_EQ(e.type, "server_error");
  EXPECT_EQ(e.code, "upstream_error");
  EXPECT_EQ(e.message, "backend 'b1' answered HTTP 503");
  EXPECT_FALSE(e.param);
  EXPECT_EQ((*out->response())[http::field::retry_after], "2");
}

TEST_F(GatewayHandlerTest, MalformedUpstreamJsonIs502) {
  for (std::string body : {"not json", "[1,2,3]", R"({"truncated":)"}) {
    SCOPED_TRACE(body);
    SetUpstream(JsonReply(200, body));
    auto out = Call(ChatRequest(ChatBody()));
    ErrorFields e = ExpectError(*out, 502);
    EXPECT_EQ(e.type, "server_error");
    EXPECT_EQ(e.code, "upstream_error");
    EXPECT_EQ(e.message, "backend 'b1' returned a malformed JSON body");
  }
}

TEST_F(GatewayHandlerTest, UnreachableBackendIs503AndIsCooledDown) {
  asio::io_context scratch;
  uint16_t closed_port;
  {
    asio::ip::tcp::acceptor acceptor(scratch, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = acceptor.local_endpoint().port();
  }
  MakeGateway([&](config::Config& c) { c.backends[0].base_url = fmt::format("http://127.0.0.1:{}/v1", closed_port); });
  ErrorFields first = ExpectError(*Call(ChatRequest(ChatBody())), 503);
  EXPECT_EQ(first.code, "upstream_unavailable");
  EXPECT_TRUE(Contains(first.message, "cannot connect to backend 'b1'")) << first.message;

  // Within the cool-down the backend is not even tried.
  ErrorFields second = ExpectError(*Call(ChatRequest(ChatBody())), 503);
  EXPECT_EQ(second.code, "upstream_unavailable");
  EXPECT_EQ(second.message, "no healthy backend serves model 'gpt-test'");
  EXPECT_FALSE(gateway_->snapshot()->backends()[0]->healthy());
}

TEST_F(GatewayHandlerTest, ConnectFailureFallsOverToTheNextBackend) {
  asio::io_context scratch;
  uint16_t closed_port;
  {
    asio::ip::tcp::acceptor acceptor(scratch, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = acceptor.local_endpoint().port();
  }
  MakeGateway([&](config::Config& c) {
    c.backends.insert(c.backends.begin(), Backend("down", fmt::format("http://127.0.0.1:{}/v1", closed_port)));
  });
  auto out = Call(ChatRequest(ChatBody()));
  ASSERT_TRUE(out->response());
  EXPECT_EQ(out->response()->result_int(), 200);
  EXPECT_EQ((*out->response())["x-meridian-backend"], "b1");
  EXPECT_EQ((*out->response())["x-meridian-attempts"], "2");
  EXPECT_EQ(UpstreamRequests().size(), 1u);
}

// Regression test for a fixed bug (src/net/client.cpp:297-306, State::ReadError: retryable = phase == "response head";
// src/gateway/proxy.cpp:110-114, Forward: `if (last_error->retryable) continue;`): a first-byte
// (or total) timeout while waiting for the head is marked retryable although the request was
// already sent, so Forward sends the same request to the next backend and also takes the first
// one out of rotation (MarkConnectFailure). gateway.hpp:85 and proxy.cpp:114 say the next backend
// is tried "only if nothing was sent"; a slow but working backend therefore causes duplicate
// (billed) generations and is cooled down. Expected: 504 from the first backend, the second never
// called, the first still healthy. Enable once a timeout after the request was written is not
// retryable.
TEST_F(GatewayHandlerTest, FirstByteTimeoutIsNotRetriedOnAnotherBackend) {
  SetUpstream([this](net::Request& req, net::Responder& out) -> asio::awaitable<void> {
    if (req.target() == "/slow/chat/completions") co_await never_.Wait(5s);
    co_await JsonReply(200, std::string(kCompletion))(req, out);
  });
  MakeGateway([&](config::Config& c) {
    auto slow = Backend("slow", upstream_->url() + "/slow");
    slow.timeouts.first_byte = std::chrono::milliseconds(200);
    c.backends.insert(c.backends.begin(), slow);
  });
  auto out = Call(ChatRequest(ChatBody()));
  never_.Open();
  ErrorFields e = ExpectError(*out, 504);
  EXPECT_EQ(e.code, "upstream_timeout");
  EXPECT_EQ(UpstreamRequests().size(), 1u) << "the request must not be sent to a second backend";
  EXPECT_TRUE(gateway_->snapshot()->backends()[0]->healthy());
}

// ---------------------------------------------------------------------------------------------
// Streaming relay

TEST_F(GatewayHandlerTest, StreamWithoutIncludeUsageDropsUsage) {
  SetUpstream(SseReply(StreamEvents()));
  auto out = Call(ChatRequest(ChatBody("fast", R"(,"stream":true)")));
  EXPECT_EQ(out->sends, 0);
  ASSERT_TRUE(out->head());
  const auto& head = *out->head();
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_type], "text/event-stream");
  EXPECT_EQ(head[http::field::cache_control], "no-cache");
  EXPECT_EQ(head["x-meridian-backend"], "b1");
  EXPECT_FALSE(head["x-request-id"].empty());
  EXPECT_EQ(out->ends, 1);

  auto data = SseData(out->stream_text());
  ASSERT_EQ(data.size(), 5u) << out->stream_text();  // 4 chunks + [DONE]; the usage chunk is gone
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    json::value got = json::parse(data[i]);
    json::value want = json::parse(StreamEvents()[i]);
    want.as_object().erase("usage");
    EXPECT_EQ(got, want);
  }
  EXPECT_EQ(data[4], "[DONE]");
  EXPECT_FALSE(Contains(out->stream_text(), "usage"));

  // Upstream was asked for usage anyway (for metering), with the alias resolved.
  auto upstream = UpstreamRequests();
  ASSERT_EQ(upstream.size(), 1u);
  EXPECT_EQ(upstream[0][http::field::accept], "text/event-stream");
  json::value sent = json::parse(upstream[0].body());
  EXPECT_EQ(sent.at("model").as_string(), "gpt-test");
  EXPECT_EQ(sent.at("stream_options").at("include_usage").as_bool(), true);
  std::string metrics = Metrics();
  EXPECT_TRUE(Contains(metrics, R"(meridian_tokens_total{backend="b1",kind="prompt"} 9)")) << metrics;
  EXPECT_TRUE(Contains(metrics, R"(meridian_tokens_total{backend="b1",kind="completion"} 2)")) << metrics;
}

// Regression test for a fixed bug (src/gateway/proxy.cpp:214-222, RelayStream, the `kNullUsageTail` branch added in
// 10d1972): when an event's data ends in `,"usage":null}` it is written as "data: " + data +
// "\n\n" without splitting at line breaks, so an event whose data came on several "data:" lines
// reaches the client with its later lines lacking the "data:" prefix; the client's SSE parser
// ignores them and the JSON is cut. (Passed at 66bd7a5, which went through AppendSseEvent.)
// Enable once that branch is restricted to single-line data or uses AppendSseEvent.
TEST_F(GatewayHandlerTest, EventSplitOverSeveralDataLinesKeepsItsFraming) {
  // SSE allows one event's data on several "data:" lines (joined with LF); JSON may contain
  // newlines between tokens. Stripping "usage" must keep every line a "data:" line.
  std::vector<std::string> events = {
      "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\n\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
      "\"finish_reason\":null}],\"usage\":null}",
      "{\"id\":\"c1\",\n\"choices\":[],\n\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}",
  };
  SetUpstream(SseReply(events));
  auto out = Call(ChatRequest(ChatBody("gpt-test", R"(,"stream":true)")));
  auto data = SseData(out->stream_text());
  ASSERT_EQ(data.size(), 2u) << out->stream_text();
  boost::system::error_code ec;
  json::value got = json::parse(data[0], ec);
  ASSERT_FALSE(ec) << "event 0 is not JSON any more: " << data[0];
  json::value want = json::parse(events[0]);
  want.as_object().erase("usage");
  EXPECT_EQ(got, want);
  EXPECT_EQ(data[1], "[DONE]");
}

TEST_F(GatewayHandlerTest, StreamWithIncludeUsageKeepsEveryEventVerbatim) {
  SetUpstream(SseReply(StreamEvents()));
  auto out = Call(ChatRequest(ChatBody("gpt-test", R"(,"stream":true,"stream_options":{"include_usage":true})")));
  ASSERT_TRUE(out->head());
  auto data = SseData(out->stream_text());
  std::vector<std::string> want = StreamEvents();
  want.push_back("[DONE]");
  EXPECT_EQ(data, want);
  EXPECT_EQ(out->ends, 1);
}

TEST_F(GatewayHandlerTest, StreamWithoutDoneEndsWithAnErrorEvent) {
  // The whole upstream answer in one segment, so the gateway sees events and end together.
  std::string events = net::EncodeSseEvent(StreamEvents()[0]) + net::EncodeSseEvent(StreamEvents()[1]);
  CannedUpstream canned(fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
      "{:x}\r\n{}\r\n0\r\n\r\n",
      events.size(), events));
  MakeGateway([&](config::Config& c) { c.backends[0].base_url = fmt::format("http://127.0.0.1:{}/v1", canned.port()); });
  auto out = Call(ChatRequest(ChatBody("gpt-test", R"(,"stream":true,"stream_options":{"include_usage":true})")));
  ASSERT_TRUE(out->head());
  EXPECT_EQ(out->head()->result_int(), 200);  // the head was out before the failure
  auto data = SseData(out->stream_text());
  ASSERT_EQ(data.size(), 3u) << out->stream_text();
  EXPECT_EQ(data[0], StreamEvents()[0]);
  EXPECT_EQ(data[1], StreamEvents()[1]);
  ErrorFields e = ParseError(data[2]);
  EXPECT_EQ(e.type, "server_error");
  EXPECT_EQ(e.code, "upstream_error");
  EXPECT_EQ(e.message, "backend 'b1' ended the stream before [DONE]");
  EXPECT_FALSE(e.param);
  EXPECT_EQ(out->ends, 1);
  EXPECT_FALSE(Contains(out->stream_text(), "data: [DONE]"));
}

// Regression test for a fixed bug (src/gateway/proxy.cpp:254-255, RelayStream, added in 10d1972: `if (!failure && !saw_done
// && ex.buffered() > 0 && pending.size() < kMaxBatch) continue;`): after a chunk of a chunked
// upstream body, the chunk's closing CRLF stays unparsed in the connection buffer (Beast parses
// it with the next chunk-size line), so Exchange::buffered() (src/net/client.cpp:413) is 2, not
// 0, and the relay keeps batching and waits for more upstream bytes instead of writing. Events
// reach the client only at [DONE] or after 64 KiB: streaming is not incremental any more (time
// to first token = time to last token). Here the upstream sends its second event only once the
// first one reached the client, so the two wait for each other until the upstream gives up.
// Enable once the relay writes whenever no complete event is pending in the buffer.
TEST_F(GatewayHandlerTest, StreamedEventsAreRelayedAsTheyArrive) {
  std::atomic<bool> first_relayed_in_time{false};
  SetUpstream([this, &first_relayed_in_time](net::Request&, net::Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    head.set(http::field::content_type, "text/event-stream");
    co_await out.StartStream(std::move(head));
    co_await out.WriteChunk(net::EncodeSseEvent(StreamEvents()[0]));
    first_relayed_in_time = co_await relayed_.Wait(2s);
    co_await out.WriteChunk(net::EncodeSseEvent(StreamEvents()[1]) + "data: [DONE]\n\n");
    co_await out.EndStream();
  });
  auto start = Clock::now();
  auto out = Call(ChatRequest(ChatBody("gpt-test", R"(,"stream":true,"stream_options":{"include_usage":true})")), {},
                  [this] { relayed_.Open(); });
  EXPECT_TRUE(first_relayed_in_time) << "the first event was held back until the upstream went on";
  EXPECT_LT(Since(start), 1500ms);
  auto data = SseData(out->stream_text());
  EXPECT_EQ(data, (std::vector<std::string>{StreamEvents()[0], StreamEvents()[1], "[DONE]"}));
}

// Regression test for a fixed bug (src/gateway/proxy.cpp:245 and 254-255, RelayStream, 10d1972): events held back by the
// batching above are dropped when the next read reports the end of the body (`if
// (piece->empty()) break;` leaves the loop with `pending` unwritten) or fails; a stream that ends
// without [DONE] then reaches the client as the error event alone. (Found as an intermittent
// failure of StreamWithoutDoneEndsWithAnErrorEvent; the pause below makes the end arrive in a
// read of its own, so it fails every time.) Enable once `pending` is flushed before the loop is
// left.
TEST_F(GatewayHandlerTest, EventsBeforeTheEndOfTheBodyAreNotLost) {
  SetUpstream([](net::Request&, net::Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    head.set(http::field::content_type, "text/event-stream");
    co_await out.StartStream(std::move(head));
    co_await out.WriteChunk(net::EncodeSseEvent(StreamEvents()[0]) + net::EncodeSseEvent(StreamEvents()[1]));
    co_await Sleep(100ms);  // only makes the end arrive separately; never a cause of failure
    co_await out.EndStream();
  });
  auto out = Call(ChatRequest(ChatBody("gpt-test", R"(,"stream":true,"stream_options":{"include_usage":true})")));
  auto data = SseData(out->stream_text());
  ASSERT_EQ(data.size(), 3u) << out->stream_text();
  EXPECT_EQ(data[0], StreamEvents()[0]);
  EXPECT_EQ(data[1], StreamEvents()[1]);
  EXPECT_EQ(ParseError(data[2]).message, "backend 'b1' ended the stream before [DONE]");
}

TEST_F(GatewayHandlerTest, MalformedStreamEventEndsWithAnErrorEvent) {
  SetUpstream(SseReply({StreamEvents()[0], "this is not json", StreamEvents()[1]}));
  auto out = Call(ChatRequest(ChatBody("gpt-test", R"(,"stream":true)")));
  auto data = SseData(out->stream_text());
  ASSERT_EQ(data.size(), 2u) << out->stream_text();
  ErrorFields e = ParseError(data[1]);
  EXPECT_EQ(e.code, "upstream_error");
  EXPECT_EQ(e.message, "backend 'b1' sent a malformed stream event");
  EXPECT_EQ(out->ends, 1);
}

TEST_F(GatewayHandlerTest, ClientLeavingCancelsTheUpstreamExchange) {
  SetUpstream([this](net::Request&, net::Responder& out) -> asio::awaitable<void> {
    out.WatchPeerClose([this] {
      upstream_saw_close_.Notify();
      never_.Open();
    });
    received_.Open();
    co_await never_.Wait(5s);
  });
  MakeGateway();
  auto out = Call(ChatRequest(ChatBody()), [this](RecordingResponder& client) -> asio::awaitable<void> {
    co_await received_.Wait(5s);  // the upstream is working on it: now the client leaves
    client.ClosePeer();
  });
  EXPECT_EQ(out->sends, 0);
  EXPECT_EQ(out->starts, 0);
  EXPECT_TRUE(upstream_saw_close_.WaitFor(std::chrono::seconds(2)));
  std::string metrics = Metrics();
  EXPECT_TRUE(Contains(metrics, R"(meridian_requests_total{route="chat_completions",status="499",backend="b1"} 1)"))
      << metrics;
}

}  // namespace
}  // namespace meridian::gateway
