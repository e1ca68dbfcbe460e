#include "gateway/ingress.hpp"

#include <boost/json.hpp>

#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "gateway/http_error.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using dialect::Dialect;

namespace {

// The value of query parameter `name`, undecoded.
std::optional<std::string_view> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) return item.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// "{model}:{method}" after a Gemini "models/" prefix.
std::optional<ApiRoute> MatchGemini(std::string_view path, std::string_view query) {
  std::string_view rest;
  for (std::string_view prefix : {"/v1beta/models/", "/v1/models/"}) {
    if (path.starts_with(prefix)) {
      rest = path.substr(prefix.size());
      break;
    }
  }
  auto colon = rest.rfind(':');
  if (rest.empty() || colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view model = rest.substr(0, colon);
  std::string_view method = rest.substr(colon + 1);
  ApiRoute route;
  route.dialect = Dialect::kGemini;
  route.model = std::string(model);
  if (method == "generateContent" || method == "streamGenerateContent") {
    route.api = Api::kGenerateContent;
    route.metric_route = "generate_content";
    route.stream = method == "streamGenerateContent";
    // Only the SSE form of a stream is served (without alt=sse Google streams one JSON array).
    route.sse = !route.stream || QueryParam(query, "alt") == "sse";
    return route;
  }
  if (method == "countTokens") {
    route.api = Api::kGeminiCountTokens;
    route.metric_route = "count_tokens";
    return route;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiRoute> MatchApiRoute(std::string_view target) {
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  ApiRoute route;
  if (path == "/v1/chat/completions") {
    route.api = Api::kChatCompletions;
    route.metric_route = "chat_completions";
    return route;
  }
  if (path == "/v1/responses") {
    route.api = Api::kResponses;
    route.dialect = Dialect::kOpenAiResponses;
    route.metric_route = "responses";
    return route;
  }
  if (path == "/v1/messages") {
    route.api = Api::kMessages;
    route.dialect = Dialect::kAnthropicMessages;
    route.metric_route = "messages";
    return route;
  }
  if (path == "/v1/messages/count_tokens") {
    route.api = Api::kMessagesCountTokens;
    route.dialect = Dialect::kAnthropicMessages;
    route.metric_route = "count_tokens";
    return route;
  }
  if (path == "/v1/embeddings") {
    route.api = Api::kEmbeddings;
    route.metric_route = "embeddings";
    return route;
  }
  if (path.find(':') != std::string_view::npos) return MatchGemini(path, query);
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    route.api = Api::kModels;
    route.metric_route = "models";
    return route;
  }
  return std::nullopt;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !boost::beast::iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<std::string_view> ClientKey(const net::Request& request) {
  std::string_view auth = request[boost::beast::http::field::authorization];
  // An Authorization header in another scheme is no key (no fall-through to the others).
  if (!auth.empty()) return BearerToken(auth);
  for (std::string_view header : {"x-api-key", "x-goog-api-key"}) {
    std::string_view key = request[header];
    if (!key.empty()) return key;
  }
  std::string_view target = request.target();
  if (auto q = target.find('?'); q != std::string_view::npos) {
    if (auto key = QueryParam(target.substr(q + 1), "key"); key && !key->empty()) return key;
  }
  return std::nullopt;
}

std::string_view MissingKeyMessage(Dialect client) {
  switch (client) {
    case Dialect::kAnthropicMessages:
      return "Missing API key: send it in the 'x-api-key' header (or as 'Authorization: Bearer <key>').";
    case Dialect::kGemini:
      return "Missing API key: send it in the 'x-goog-api-key' header (or as 'Authorization: Bearer <key>').";
    default:
      return "Missing API key: send it as 'Authorization: Bearer <key>'.";
  }
}

ErrorReply RenderError(Dialect client, const core::Error& error) {
  ErrorReply reply;
  if (client == Dialect::kAnthropicMessages || client == Dialect::kGemini) {
    dialect::ApiError api = dialect::ApiErrorFromCore(error);
    dialect::HttpError http = client == Dialect::kAnthropicMessages ? dialect::anthropic::EncodeError(api)
                                                                    : dialect::gemini::EncodeError(api);
    reply.status = http.status;
    reply.body = std::move(http.body);
    reply.headers = std::move(http.headers);
    return reply;
  }
  reply.status = static_cast<int>(StatusFor(error));
  reply.body = OpenAiErrorBody(error);
  if (!error.retry_after.empty()) reply.headers.emplace_back("retry-after", error.retry_after);
  return reply;
}

std::string RenderOpenAiErrorBodyAs(Dialect client, std::string_view openai_body, int status) {
  if (client != Dialect::kAnthropicMessages && client != Dialect::kGemini) return std::string(openai_body);
  boost::system::error_code ec;
  json::value parsed = json::parse(openai_body, ec);
  const json::object* error = nullptr;
  if (!ec && parsed.is_object()) {
    if (const json::value* e = parsed.as_object().if_contains("error"); e && e->is_object()) error = &e->as_object();
  }
  core::Error core_error;
  core_error.code = status == 403 ? core::ErrorCode::kForbidden : core::ErrorCode::kInvalidRequest;
  if (error) {
    if (const json::value* m = error->if_contains("message"); m && m->is_string()) core_error.message = m->as_string();
  }
  ErrorReply reply = RenderError(client, core_error);
  json::value out = json::parse(reply.body, ec);
  if (ec || !out.is_object() || !error) return reply.body;
  json::value* target = out.as_object().if_contains("error");
  if (!target || !target->is_object()) return reply.body;
  // Members the dialect's error object lacks (the gateway's `policy` explanation) go along.
  for (const auto& kv : *error) {
    if (kv.key() == "message" || kv.key() == "type" || kv.key() == "param" || kv.key() == "code") continue;
    target->as_object()[kv.key()] = kv.value();
  }
  return json::serialize(out);
}

}  // namespace meridian::gateway
