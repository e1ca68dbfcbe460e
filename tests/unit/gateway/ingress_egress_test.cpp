// gateway/ingress and gateway/egress: which API a path addresses, where a client's key is,
// how an error is written in the client's dialect, and what each kind of backend is sent
// (path, key header, body in its dialect). Pure: no sockets.

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "gateway/egress.hpp"
#include "gateway/ingress.hpp"
#include "gateway/snapshot.hpp"

namespace meridian::gateway {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
using dialect::Dialect;

// ---- ingress -------------------------------------------------------------------------------

TEST(IngressTest, MatchesEveryApiPath) {
  struct Case {
    std::string_view target;
    Api api;
    Dialect dialect;
    std::string_view route;
  } cases[] = {
      {"/v1/chat/completions", Api::kChatCompletions, Dialect::kOpenAiChat, "chat_completions"},
      {"/v1/responses", Api::kResponses, Dialect::kOpenAiResponses, "responses"},
      {"/v1/messages", Api::kMessages, Dialect::kAnthropicMessages, "messages"},
      {"/v1/messages?beta=true", Api::kMessages, Dialect::kAnthropicMessages, "messages"},
      {"/v1/messages/count_tokens", Api::kMessagesCountTokens, Dialect::kAnthropicMessages, "count_tokens"},
      {"/v1/embeddings", Api::kEmbeddings, Dialect::kOpenAiChat, "embeddings"},
      {"/v1/models", Api::kModels, Dialect::kOpenAiChat, "models"},
      {"/v1/models/gpt-4o", Api::kModels, Dialect::kOpenAiChat, "models"},
      {"/v1beta/models/gemini-2.5-flash:generateContent", Api::kGenerateContent, Dialect::kGemini, "generate_content"},
      {"/v1beta/models/gemini-2.5-flash:countTokens", Api::kGeminiCountTokens, Dialect::kGemini, "count_tokens"},
  };
  for (const Case& c : cases) {
    auto route = MatchApiRoute(c.target);
    ASSERT_TRUE(route) << c.target;
    EXPECT_EQ(route->api, c.api) << c.target;
    EXPECT_EQ(route->dialect, c.dialect) << c.target;
    EXPECT_EQ(route->metric_route, c.route) << c.target;
  }
}

TEST(IngressTest, GeminiPathCarriesModelAndStreaming) {
  auto plain = MatchApiRoute("/v1beta/models/gemini-2.5-flash:generateContent?key=abc");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->model, "gemini-2.5-flash");
  EXPECT_FALSE(plain->stream);
  EXPECT_TRUE(plain->sse);

  auto sse = MatchApiRoute("/v1beta/models/gemini-2.5-pro:streamGenerateContent?key=k&alt=sse");
  ASSERT_TRUE(sse);
  EXPECT_EQ(sse->model, "gemini-2.5-pro");
  EXPECT_TRUE(sse->stream);
  EXPECT_TRUE(sse->sse);

  auto array = MatchApiRoute("/v1/models/gemini-2.5-pro:streamGenerateContent");
  ASSERT_TRUE(array);
  EXPECT_TRUE(array->stream);
  EXPECT_FALSE(array->sse);  // the JSON-array stream form: answered with a 400
}

TEST(IngressTest, UnknownPathsAreNotApis) {
  for (std::string_view target : {"/", "/v1", "/v1/", "/v1/chat", "/v1/completions", "/v2/messages",
                                  "/v1beta/models/x:embedContent", "/v1beta/models/:generateContent",
                                  "/v1beta/tunedModels:list"}) {
    EXPECT_FALSE(MatchApiRoute(target)) << target;
  }
}

net::Request RequestWith(std::string_view target, std::initializer_list<std::pair<std::string, std::string>> headers) {
  net::Request req{http::verb::post, target, 11};
  for (const auto& [name, value] : headers) req.set(name, value);
  return req;
}

TEST(IngressTest, ClientKeyFromEachSdksPlace) {
  EXPECT_EQ(ClientKey(RequestWith("/v1/chat/completions", {{"authorization", "Bearer sk-a"}})), "sk-a");
  EXPECT_EQ(ClientKey(RequestWith("/v1/chat/completions", {{"authorization", "bearer   sk-a  "}})), "sk-a");
  EXPECT_EQ(ClientKey(RequestWith("/v1/messages", {{"x-api-key", "sk-b"}})), "sk-b");
  EXPECT_EQ(ClientKey(RequestWith("/v1beta/models/m:generateContent", {{"x-goog-api-key", "sk-c"}})), "sk-c");
  EXPECT_EQ(ClientKey(RequestWith("/v1beta/models/m:generateContent?alt=sse&key=sk-d", {})), "sk-d");
  // Authorization wins; another scheme is no key at all (never falls through to x-api-key).
  EXPECT_EQ(ClientKey(RequestWith("/v1/messages", {{"authorization", "Bearer sk-a"}, {"x-api-key", "sk-b"}})), "sk-a");
  EXPECT_FALSE(ClientKey(RequestWith("/v1/messages", {{"authorization", "Basic abc"}, {"x-api-key", "sk-b"}})));
  EXPECT_FALSE(ClientKey(RequestWith("/v1/messages", {{"authorization", "Bearer "}})));
  EXPECT_FALSE(ClientKey(RequestWith("/v1/messages?key=", {})));
  EXPECT_FALSE(ClientKey(RequestWith("/v1/messages", {})));
}

TEST(IngressTest, BearerTokenIsTheOneParserForClientAndAdminKeys) {
  EXPECT_EQ(BearerToken("Bearer adm-1"), "adm-1");
  EXPECT_EQ(BearerToken("BEARER  adm-1 "), "adm-1");
  EXPECT_FALSE(BearerToken("Bearer"));
  EXPECT_FALSE(BearerToken("Bearer    "));
  EXPECT_FALSE(BearerToken("Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
  EXPECT_FALSE(BearerToken(""));
}

TEST(IngressTest, ErrorsAreWrittenInTheClientsDialect) {
  core::Error e = core::Fail(core::ErrorCode::kInvalidRequest, "messages: required", "messages").error();
  ErrorReply openai = RenderError(Dialect::kOpenAiChat, e);
  EXPECT_EQ(openai.status, 400);
  EXPECT_EQ(openai.body,
            R"({"error":{"message":"messages: required","type":"invalid_request_error","param":"messages","code":"invalid_request"}})");

  ErrorReply anthropic = RenderError(Dialect::kAnthropicMessages, e);
  EXPECT_EQ(anthropic.status, 400);
  EXPECT_EQ(json::parse(anthropic.body),
            json::parse(R"({"type":"error","error":{"type":"invalid_request_error","message":"messages: required"}})"));

  ErrorReply gemini = RenderError(Dialect::kGemini, e);
  EXPECT_EQ(gemini.status, 400);
  EXPECT_EQ(json::parse(gemini.body).at("error").at("status"), "INVALID_ARGUMENT");

  core::Error limited = core::Fail(core::ErrorCode::kRateLimited, "slow down").error();
  limited.retry_after = "7";
  for (Dialect d : {Dialect::kOpenAiChat, Dialect::kAnthropicMessages, Dialect::kGemini}) {
    ErrorReply r = RenderError(d, limited);
    EXPECT_EQ(r.status, 429) << dialect::DialectName(d);
    bool has_retry_after = false;
    for (const auto& [name, value] : r.headers) has_retry_after |= name == "retry-after" && value == "7";
    EXPECT_TRUE(has_retry_after) << dialect::DialectName(d);
  }
}

TEST(IngressTest, PolicyDenialKeepsItsExplanationInEveryDialect) {
  std::string openai =
      R"({"error":{"message":"blocked by rule no-secrets","type":"permission_error","param":null,"code":"policy_blocked","policy":{"outcome":"blocked","rules":["no-secrets"]}}})";
  EXPECT_EQ(RenderOpenAiErrorBodyAs(Dialect::kOpenAiChat, openai, 403), openai);
  json::value anthropic = json::parse(RenderOpenAiErrorBodyAs(Dialect::kAnthropicMessages, openai, 403));
  EXPECT_EQ(anthropic.at("type"), "error");
  EXPECT_EQ(anthropic.at("error").at("type"), "permission_error");
  EXPECT_EQ(anthropic.at("error").at("message"), "blocked by rule no-secrets");
  EXPECT_EQ(anthropic.at("error").at("policy").at("rules").at(0), "no-secrets");
  json::value gemini = json::parse(RenderOpenAiErrorBodyAs(Dialect::kGemini, openai, 403));
  EXPECT_EQ(gemini.at("error").at("code"), 403);
  EXPECT_EQ(gemini.at("error").at("status"), "PERMISSION_DENIED");
  EXPECT_EQ(gemini.at("error").at("policy").at("outcome"), "blocked");
}

// ---- egress --------------------------------------------------------------------------------

config::BackendConfig MakeBackend(std::string id, std::string provider, config::WireDialect dialect) {
  config::BackendConfig b;
  b.id = std::move(id);
  b.provider = std::move(provider);
  b.base_url = "http://127.0.0.1:9/v1";
  b.api_key = "sk-upstream";
  b.models = {"m1"};
  b.dialect = dialect;
  return b;
}

std::shared_ptr<const Snapshot> OneBackend(config::BackendConfig b) {
  config::Config c;
  c.backends.push_back(std::move(b));
  auto snap = Snapshot::Build(std::move(c));
  if (!snap) throw std::runtime_error(snap.error().message);
  return *snap;
}

TEST(EgressTest, EachDialectsPathAndKeyHeader) {
  struct Case {
    std::string provider;
    config::WireDialect dialect;
    std::string path, stream_path;
    std::vector<std::pair<std::string, std::string>> headers;
  } cases[] = {
      {"openai", config::WireDialect::kOpenAiChat, "/chat/completions", "/chat/completions",
       {{"authorization", "Bearer sk-upstream"}}},
      {"vllm", config::WireDialect::kOpenAiResponses, "/responses", "/responses", {{"authorization", "Bearer sk-upstream"}}},
      {"anthropic", config::WireDialect::kAnthropicMessages, "/messages", "/messages",
       {{"x-api-key", "sk-upstream"}, {"anthropic-version", "2023-06-01"}}},
      {"gemini", config::WireDialect::kGemini, "/models/m1:generateContent", "/models/m1:streamGenerateContent?alt=sse",
       {{"x-goog-api-key", "sk-upstream"}}},
      {"simulator", config::WireDialect::kAnthropicMessages, "/messages", "/messages",
       {{"x-api-key", "sk-upstream"}, {"anthropic-version", "2023-06-01"}}},
  };
  for (const Case& c : cases) {
    auto snap = OneBackend(MakeBackend("b", c.provider, c.dialect));
    const Backend& b = *snap->backends().front();
    Dialect d = b.dialect();
    EXPECT_EQ(UpstreamPath(b, d, Api::kChatCompletions, "m1", false), c.path) << c.provider;
    EXPECT_EQ(UpstreamPath(b, d, Api::kChatCompletions, "m1", true), c.stream_path) << c.provider;
    http::fields headers;
    SetUpstreamAuth(headers, b);
    std::size_t n = 0;
    for (auto it = headers.begin(); it != headers.end(); ++it) ++n;
    EXPECT_EQ(n, c.headers.size()) << c.provider;
    for (const auto& [name, value] : c.headers) EXPECT_EQ(headers[name], value) << c.provider << " " << name;
  }
}

TEST(EgressTest, AzureUsesDeploymentPathsApiVersionAndApiKeyHeader) {
  config::BackendConfig b = MakeBackend("az", "azure-openai", config::WireDialect::kOpenAiChat);
  b.base_url = "https://contoso.openai.azure.com/openai";
  b.models = {"gpt-4o", "gpt-4o-mini"};
  b.deployments = {{"gpt-4o", "prod-4o"}};
  auto snap = OneBackend(b);
  const Backend& backend = *snap->backends().front();
  EXPECT_EQ(UpstreamPath(backend, Dialect::kOpenAiChat, Api::kChatCompletions, "gpt-4o", false),
            "/deployments/prod-4o/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(UpstreamPath(backend, Dialect::kOpenAiChat, Api::kEmbeddings, "gpt-4o-mini", false),
            "/deployments/gpt-4o-mini/embeddings?api-version=2024-10-21");
  http::fields headers;
  SetUpstreamAuth(headers, backend);
  EXPECT_EQ(headers["api-key"], "sk-upstream");
  EXPECT_EQ(headers[http::field::authorization], "");

  b.api_version = "2025-04-01-preview";
  auto snap2 = OneBackend(b);
  EXPECT_EQ(UpstreamPath(*snap2->backends().front(), Dialect::kOpenAiChat, Api::kChatCompletions, "gpt-4o", true),
            "/deployments/prod-4o/chat/completions?api-version=2025-04-01-preview");
}

json::object Body(std::string_view text) { return json::parse(text).as_object(); }

TEST(EgressTest, SameDialectSendsTheClientsBytesUnlessSomethingChanged) {
  auto snap = OneBackend(MakeBackend("b", "anthropic", config::WireDialect::kAnthropicMessages));
  const Backend& b = *snap->backends().front();
  std::string raw = R"({"model":"m1", "max_tokens":10,"messages":[{"role":"user","content":"hi"}]})";
  json::object body = Body(raw);
  RequestTranslator same({.client = Dialect::kAnthropicMessages, .api = Api::kMessages, .body = &body, .raw = raw,
                          .upstream_model = "m1", .client_model = "m1"});
  auto call = same.For(b);
  ASSERT_TRUE(call) << call.error().message;
  EXPECT_EQ(call->body, raw);  // byte for byte, spacing included
  EXPECT_FALSE(call->translated);
  EXPECT_EQ(call->path, "/messages");

  json::object aliased = Body(raw);
  RequestTranslator alias({.client = Dialect::kAnthropicMessages, .api = Api::kMessages, .body = &aliased, .raw = raw,
                           .upstream_model = "m1", .client_model = "fast"});
  auto call2 = alias.For(b);
  ASSERT_TRUE(call2);
  EXPECT_EQ(json::parse(call2->body).at("model"), "m1");
}

TEST(EgressTest, OpenAiClientToAnthropicBackendIsTranslated) {
  auto snap = OneBackend(MakeBackend("b", "anthropic", config::WireDialect::kAnthropicMessages));
  std::string raw =
      R"({"model":"fast","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"max_completion_tokens":20})";
  json::object body = Body(raw);
  RequestTranslator t({.client = Dialect::kOpenAiChat, .api = Api::kChatCompletions, .body = &body, .raw = raw,
                       .upstream_model = "m1", .client_model = "fast"});
  auto call = t.For(*snap->backends().front());
  ASSERT_TRUE(call) << call.error().message;
  EXPECT_TRUE(call->translated);
  EXPECT_EQ(call->dialect, Dialect::kAnthropicMessages);
  EXPECT_EQ(json::parse(call->body),
            json::parse(R"({"model":"m1","system":"Be brief.","messages":[{"role":"user","content":"hi"}],"max_tokens":20})"));
}

TEST(EgressTest, StreamsToOpenAiCompatibleServersAskForUsageWhereTheyAcceptIt) {
  std::string raw = R"({"model":"m1","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]})";
  for (auto [provider, asks] : {std::pair{"vllm", true}, std::pair{"mistral", false}}) {
    auto snap = OneBackend(MakeBackend("b", provider, config::WireDialect::kOpenAiChat));
    json::object body = Body(raw);
    RequestTranslator t({.client = Dialect::kAnthropicMessages, .api = Api::kMessages, .body = &body, .raw = raw,
                         .upstream_model = "m1", .client_model = "m1", .stream = true});
    auto call = t.For(*snap->backends().front());
    ASSERT_TRUE(call) << call.error().message;
    json::object sent = json::parse(call->body).as_object();
    EXPECT_EQ(sent.contains("stream_options"), asks) << provider << ": " << call->body;
    // Compatible servers get the classic max_tokens.
    EXPECT_TRUE(sent.contains("max_tokens")) << provider << ": " << call->body;
    EXPECT_FALSE(sent.contains("max_completion_tokens")) << provider;
  }
}

TEST(EgressTest, AFieldTheBackendCannotExpressIsA400NamingIt) {
  auto snap = OneBackend(MakeBackend("b", "openai", config::WireDialect::kOpenAiChat));
  std::string raw = R"({"model":"m1","max_tokens":8,"top_k":5,"messages":[{"role":"user","content":"hi"}]})";
  json::object body = Body(raw);
  RequestTranslator t({.client = Dialect::kAnthropicMessages, .api = Api::kMessages, .body = &body, .raw = raw,
                       .upstream_model = "m1", .client_model = "m1"});
  auto call = t.For(*snap->backends().front());
  ASSERT_FALSE(call);
  EXPECT_EQ(call.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_NE(call.error().message.find("top_k"), std::string::npos) << call.error().message;
}

TEST(EgressTest, EmbeddingsAndTokenCountsOnlyWhereTheDialectHasThem) {
  auto gemini = OneBackend(MakeBackend("g", "gemini", config::WireDialect::kGemini));
  std::string raw = R"({"model":"m1","input":"hi"})";
  json::object body = Body(raw);
  RequestTranslator embed({.client = Dialect::kOpenAiChat, .api = Api::kEmbeddings, .body = &body, .raw = raw,
                           .upstream_model = "m1", .client_model = "m1"});
  auto e = embed.For(*gemini->backends().front());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "backend 'g' speaks Google Gemini and offers no embeddings");

  std::string count_raw = R"({"model":"m1","messages":[{"role":"user","content":"hi"}]})";
  json::object count_body = Body(count_raw);
  count_body["max_tokens"] = 1;  // what CountTokens adds for the decoder
  RequestTranslator count({.client = Dialect::kAnthropicMessages, .api = Api::kMessagesCountTokens,
                           .body = &count_body, .raw = count_raw, .body_changed = true,
                           .upstream_model = "m1", .client_model = "m1"});
  auto c = count.For(*gemini->backends().front());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->path, "/models/m1:countTokens");
  json::value sent = json::parse(c->body);
  EXPECT_EQ(sent.at("generateContentRequest").at("model"), "models/m1");
  EXPECT_EQ(sent.at("generateContentRequest").at("contents").at(0).at("parts").at(0).at("text"), "hi");
}

TEST(EgressTest, GeminiCountTokensToAGeminiBackendSendsAWholeRequest) {
  auto gemini = OneBackend(MakeBackend("g", "gemini", config::WireDialect::kGemini));
  // What model_call.cpp hands on: the client's contents (unwrapped if it sent
  // generateContentRequest), with a systemInstruction countTokens only takes inside a request.
  json::object body = Body(R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}],"systemInstruction":{"parts":[{"text":"be brief"}]}})");
  RequestTranslator t({.client = dialect::Dialect::kGemini, .api = Api::kGeminiCountTokens, .body = &body,
                       .raw = {}, .body_changed = true, .upstream_model = "m1", .client_model = "m1"});
  auto call = t.For(*gemini->backends().front());
  ASSERT_TRUE(call) << call.error().message;
  EXPECT_FALSE(call->translated);
  EXPECT_EQ(call->path, "/models/m1:countTokens");
  EXPECT_EQ(json::parse(call->body),
            json::parse(R"({"generateContentRequest":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],)"
                        R"("systemInstruction":{"parts":[{"text":"be brief"}]},"model":"models/m1"}})"));
}

}  // namespace
}  // namespace meridian::gateway
