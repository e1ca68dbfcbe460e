#pragma once
// What a client's request is, before anything is parsed: which API it calls (and so which
// dialect it speaks and expects back), where its key is, and how an error is written in that
// dialect. Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "dialect/canonical.hpp"
#include "net/server.hpp"

namespace meridian::gateway {

enum class Api {
  kChatCompletions,    // POST /v1/chat/completions (OpenAI Chat)
  kResponses,          // POST /v1/responses (OpenAI Responses)
  kMessages,           // POST /v1/messages (Anthropic)
  kMessagesCountTokens,  // POST /v1/messages/count_tokens (Anthropic)
  kGenerateContent,    // POST /v1beta/models/{model}:generateContent | :streamGenerateContent
  kGeminiCountTokens,  // POST /v1beta/models/{model}:countTokens
  kEmbeddings,         // POST /v1/embeddings (OpenAI)
  kModels,             // GET /v1/models[/{id}]
};

struct ApiRoute {
  Api api = Api::kChatCompletions;
  dialect::Dialect dialect = dialect::Dialect::kOpenAiChat;  // what the client speaks
  std::string_view metric_route;  // the `route` label of the metrics
  // Gemini names the model and streaming in the path.
  std::string model;
  bool stream = false;
  bool sse = true;  // :streamGenerateContent with alt=sse (the only stream form served)
};

// The API `target` (path and query) addresses, or nullopt for a path no API serves.
// Gemini paths are matched under /v1beta/ and /v1/ ("models/" then "{model}:{method}").
std::optional<ApiRoute> MatchApiRoute(std::string_view target);

// The token of an "Authorization: Bearer <token>" value (scheme case-insensitive, surrounding
// spaces ignored), or nullopt when the value is empty, uses another scheme or has no token.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// The client's key, wherever its SDK puts it: `Authorization: Bearer` (OpenAI), `x-api-key`
// (Anthropic), `x-goog-api-key` or a `key` query parameter (Gemini). nullopt when none is
// present; an empty optional value is never returned.
std::optional<std::string_view> ClientKey(const net::Request& request);

// How to tell a client of `client` dialect that it sent no key (names the header its SDK uses).
std::string_view MissingKeyMessage(dialect::Dialect client);

// An error as the client's dialect writes it: status, JSON body and headers to add
// (retry-after, ...). OpenAI dialects keep the gateway's own OpenAI format (http_error.hpp);
// Anthropic and Gemini use their codecs' encoders.
struct ErrorReply {
  int status = 500;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};
ErrorReply RenderError(dialect::Dialect client, const core::Error& error);

// Renders an OpenAI-format error body (the gateway's policy 403 with its `policy` object) in
// `client`'s dialect, keeping the extra members of `error` (policy) inside the error object.
std::string RenderOpenAiErrorBodyAs(dialect::Dialect client, std::string_view openai_body, int status);

}  // namespace meridian::gateway
