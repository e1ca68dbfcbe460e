// The routes of the non-OpenAI-Chat dialects: Anthropic Messages, OpenAI Responses and Gemini
// generateContent (Gateway::ModelCall), and the token-counting routes (Gateway::CountTokens).
// Both decode the client's body into the canonical model first, so a malformed request is a
// 400 naming the field in the client's own error format before anything else happens.

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/codecs.hpp"
#include "gateway/gateway.hpp"
#include "tokenize/tokenize.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::ErrorCode;
using dialect::Dialect;

namespace {

// The body and model of a request whose model may be in the path (Gemini) or in the body.
struct ClientRequest {
  json::object body;
  std::string model;
};

core::Result<ClientRequest> ReadClientRequest(const net::Request& request, const ApiRoute& api) {
  if (api.dialect != Dialect::kGemini) {
    auto parsed = ParseModelRequest(request);
    if (!parsed) return std::unexpected(std::move(parsed.error()));
    return ClientRequest{std::move(parsed->body), std::move(parsed->model)};
  }
  if (auto ok = CheckModelName(api.model); !ok) return std::unexpected(std::move(ok.error()));
  auto parsed = ParseJsonRequest(request);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  if (api.api == Api::kGeminiCountTokens) {
    // countTokens takes either {contents, ...} or a whole request in generateContentRequest.
    if (json::value* inner = parsed->if_contains("generateContentRequest")) {
      if (!inner->is_object()) {
        return core::Fail(ErrorCode::kInvalidRequest, "generateContentRequest: must be an object",
                          "generateContentRequest");
      }
      json::object unwrapped = std::move(inner->as_object());
      unwrapped.erase("model");
      return ClientRequest{std::move(unwrapped), api.model};
    }
  }
  return ClientRequest{std::move(*parsed), api.model};
}

// Every text of the prompt, for a local token estimate.
void AppendPromptText(const dialect::ChatRequest& request, std::string& out) {
  auto part_text = [&out](const dialect::ContentPart& p, auto& self) -> void {
    out += p.text;
    out += p.arguments;
    for (const auto& inner : p.content) self(inner, self);
    out += '\n';
  };
  for (const auto& m : request.messages) {
    for (const auto& p : m.content) part_text(p, part_text);
  }
  for (const auto& t : request.tools) {
    out += t.name;
    out += t.description;
    if (t.parameters) out += json::serialize(*t.parameters);
    out += '\n';
  }
}

const tokenize::Estimator& TokenEstimator() {
  // Loaded once per process; a rank file that does not load leaves that family estimated.
  static const tokenize::Estimator estimator = tokenize::Estimator::Load(tokenize::DefaultDataDir());
  return estimator;
}

}  // namespace

asio::awaitable<void> Gateway::ModelCall(net::Request& request, net::Responder& out, RequestContext& ctx,
                                         const ApiRoute& api) {
  if (api.stream && !api.sse) {
    co_await ReplyError(out, ctx,
                        core::Fail(ErrorCode::kInvalidRequest,
                                   "streamGenerateContent is served as server-sent events only: add ?alt=sse", "alt")
                            .error());
    co_return;
  }
  auto parsed = ReadClientRequest(request, api);
  if (!parsed) {
    co_await ReplyError(out, ctx, parsed.error());
    co_return;
  }
  json::object& body = parsed->body;
  ctx.model = std::move(parsed->model);
  // Decoding validates the whole request (a 400 naming the field) before any policy work.
  auto decoded = DecodeClientRequest(ctx.dialect, body, ctx.model, api.stream);
  if (!decoded) {
    co_await ReplyError(out, ctx, decoded.error());
    co_return;
  }
  ctx.stream = decoded->stream;
  if (ctx.dialect == Dialect::kOpenAiResponses) {
    // What a Responses answer echoes, as the client wrote it (before any pseudonymization).
    json::object& echo = ctx.response_echo.emplace();
    for (std::string_view key : {"instructions", "metadata", "parallel_tool_calls", "temperature", "tool_choice",
                                 "tools", "top_p"}) {
      if (const json::value* v = body.if_contains(key)) echo[key] = *v;
    }
    // A Response's function tools always state strict and parameters (null when unset).
    if (json::value* tools = echo.if_contains("tools"); tools && tools->is_array()) {
      for (json::value& t : tools->as_array()) {
        if (!t.is_object()) continue;
        json::object& tool = t.as_object();
        const json::value* type = tool.if_contains("type");
        if (!type || *type != "function") continue;
        if (!tool.contains("strict")) tool["strict"] = nullptr;
        if (!tool.contains("parameters")) tool["parameters"] = nullptr;
      }
    }
  }
  auto route = ResolveModel(ctx, body);
  if (!route) {
    co_await ReplyError(out, ctx, route.error());
    co_return;
  }
  ctx.upstream_model = route->upstream_model;
  ctx.routing = route->routing;
  ctx.affinity_ring = route->ring;
  ctx.model_backends = route->backends;
  bool body_changed = false;
  auto eligible = co_await ApplyPolicy(request, out, ctx, *route, body, body_changed);
  if (!eligible) co_return;
  RequestTranslator translator({.client = ctx.dialect,
                                .api = ctx.api,
                                .body = &body,
                                .raw = std::move(request.body()),
                                .body_changed = body_changed,
                                .upstream_model = route->upstream_model,
                                .client_model = ctx.model,
                                .stream = ctx.stream,
                                .reasoning = &reasoning_,
                                .scope = ReasoningScope(ctx)});
  co_await Forward(out, ctx, *eligible, translator, ctx.stream, false);
}

asio::awaitable<void> Gateway::CountTokens(net::Request& request, net::Responder& out, RequestContext& ctx,
                                           const ApiRoute& api) {
  auto parsed = ReadClientRequest(request, api);
  if (!parsed) {
    co_await ReplyError(out, ctx, parsed.error());
    co_return;
  }
  json::object& body = parsed->body;
  ctx.model = std::move(parsed->model);
  if (ctx.dialect == Dialect::kAnthropicMessages && !body.contains("max_tokens")) {
    // count_tokens bodies have no max_tokens; the Messages decoder requires one. It stays in
    // the body for decoding; the count request sent upstream leaves it out (egress.cpp).
    body["max_tokens"] = 1;
  }
  auto decoded = DecodeClientRequest(ctx.dialect, body, ctx.model, false);
  if (!decoded) {
    co_await ReplyError(out, ctx, decoded.error());
    co_return;
  }
  auto route = ctx.snapshot->Resolve(ctx.model);
  if (!route) {
    co_await ReplyError(out, ctx, route.error());
    co_return;
  }
  ctx.upstream_model = route->upstream_model;
  ctx.routing = route->routing;
  ctx.affinity_ring = route->ring;
  ctx.model_backends = route->backends;
  bool policy_changed = false;
  auto eligible = co_await ApplyPolicy(request, out, ctx, *route, body, policy_changed);
  if (!eligible) co_return;
  // Only Anthropic and Gemini backends count tokens; the others are left out of this request.
  std::vector<Backend*> counting;
  for (Backend* b : *eligible) {
    if (b->dialect() == Dialect::kAnthropicMessages || b->dialect() == Dialect::kGemini) counting.push_back(b);
  }
  if (counting.empty()) {
    // No eligible backend can count: the local tokenizer answers (exact for the o200k and
    // cl100k families, an estimate otherwise), and says which in a header.
    std::string text;
    AppendPromptText(*decoded, text);
    tokenize::Estimator::Estimate estimate = TokenEstimator().Count(ctx.upstream_model, text);
    ctx.prompt_tokens = static_cast<std::int64_t>(estimate.tokens);
    std::string answer = ctx.dialect == Dialect::kGemini
                             ? fmt::format(R"({{"totalTokens":{}}})", estimate.tokens)
                             : fmt::format(R"({{"input_tokens":{}}})", estimate.tokens);
    auto res = MakeResponse(ctx, http::status::ok, std::move(answer));
    res.set("x-meridian-token-count", estimate.exact ? "local-exact" : "local-estimate");
    res.set("x-meridian-tokenizer", tokenize::FamilyName(estimate.family));
    co_await Reply(out, ctx, std::move(res));
    co_return;
  }
  RequestTranslator translator({.client = ctx.dialect,
                                .api = ctx.api,
                                .body = &body,
                                .raw = {},
                                .body_changed = true,  // unwrapped or given max_tokens: never the raw bytes
                                .upstream_model = route->upstream_model,
                                .client_model = ctx.model});
  co_await Forward(out, ctx, counting, translator, false, false);
}

}  // namespace meridian::gateway
