#pragma once
// The request a given backend is sent for a client's request: the path under its base URL,
// the body in the backend's dialect (translated through the canonical model when the client
// speaks another one, as the client sent it otherwise), and the key headers its provider
// expects. Pure; one RequestTranslator per request (not thread-safe).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "dialect/canonical.hpp"
#include "gateway/ingress.hpp"
#include "gateway/reasoning_store.hpp"
#include "gateway/snapshot.hpp"

namespace meridian::gateway {

// One backend's request.
struct UpstreamCall {
  std::string path;              // appended to the backend's base URL path ("/messages")
  std::string body;
  dialect::Dialect dialect = dialect::Dialect::kOpenAiChat;  // what the backend speaks
  bool translated = false;       // the body was re-encoded from another dialect
};

class RequestTranslator {
 public:
  struct Input {
    dialect::Dialect client = dialect::Dialect::kOpenAiChat;
    Api api = Api::kChatCompletions;
    // The client's body, parsed, after the policy stage's rewrites; and its bytes as received
    // (used as they are when the backend speaks the client's dialect and nothing changed).
    boost::json::object* body = nullptr;
    std::string raw;
    bool body_changed = false;
    std::string_view upstream_model;  // the model id sent upstream (alias resolved)
    std::string_view client_model;    // as the client named it
    bool stream = false;
    bool client_wants_usage = false;  // OpenAI Chat clients: stream_options.include_usage
    // Anthropic thinking blocks to put back in front of the tool calls they preceded, when the
    // client's dialect cannot carry them (reasoning_store.hpp); null: none.
    ReasoningStore* reasoning = nullptr;
    std::string scope;                // the caller's scope in that store
  };

  explicit RequestTranslator(Input input) : in_(std::move(input)) {}

  // The request for `backend`. Fails with kInvalidRequest naming the field when the backend's
  // dialect cannot express something the client sent (docs/dialects.md), or when the API has
  // no equivalent there (embeddings on a non-OpenAI backend).
  core::Result<UpstreamCall> For(const Backend& backend);

  // The canonical form of the client's request (decoded once, on first need).
  core::Result<const dialect::ChatRequest*> Canonical();

 private:
  core::Result<std::string> SameDialectBody(const Backend& backend);
  core::Result<std::string> TranslatedBody(const Backend& backend, dialect::Dialect target);

  Input in_;
  std::optional<core::Result<dialect::ChatRequest>> canonical_;
};

// Sets the backend's key in the header its dialect or provider expects (Authorization: Bearer,
// Azure's api-key, Anthropic's x-api-key + anthropic-version, Gemini's x-goog-api-key).
void SetUpstreamAuth(boost::beast::http::fields& headers, const Backend& backend);

// The path of `api` for `backend` (Azure: deployment path and api-version query).
std::string UpstreamPath(const Backend& backend, dialect::Dialect target, Api api, std::string_view model,
                         bool stream);

}  // namespace meridian::gateway
