#include "gateway/egress.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/codecs.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using dialect::Dialect;
namespace http = boost::beast::http;

namespace {

// Members an Anthropic count_tokens body may have (the Messages body minus generation settings).
bool IsCountTokensField(std::string_view key) {
  return key == "model" || key == "messages" || key == "system" || key == "tools" || key == "tool_choice" ||
         key == "thinking" || key == "mcp_servers";
}

std::string_view AzureDeployment(const Backend& backend, std::string_view model) {
  for (const auto& [m, deployment] : backend.config().deployments) {
    if (m == model) return deployment;
  }
  return model;
}

std::string_view AzureApiVersion(const Backend& backend) {
  return backend.config().api_version.empty() ? config::kDefaultAzureApiVersion
                                              : std::string_view(backend.config().api_version);
}

}  // namespace

std::string UpstreamPath(const Backend& backend, Dialect target, Api api, std::string_view model, bool stream) {
  const config::ProviderPreset* preset = backend.preset();
  bool azure = preset && preset->deployments;
  switch (target) {
    case Dialect::kAnthropicMessages:
      return api == Api::kMessagesCountTokens || api == Api::kGeminiCountTokens ? "/messages/count_tokens"
                                                                                : "/messages";
    case Dialect::kGemini: {
      if (api == Api::kMessagesCountTokens || api == Api::kGeminiCountTokens) {
        return fmt::format("/models/{}:countTokens", model);
      }
      return stream ? fmt::format("/models/{}:streamGenerateContent?alt=sse", model)
                    : fmt::format("/models/{}:generateContent", model);
    }
    case Dialect::kOpenAiResponses:
      return azure ? fmt::format("/responses?api-version={}", AzureApiVersion(backend)) : "/responses";
    default: {
      std::string_view leaf = api == Api::kEmbeddings ? "embeddings" : "chat/completions";
      if (azure) {
        return fmt::format("/deployments/{}/{}?api-version={}", AzureDeployment(backend, model), leaf,
                           AzureApiVersion(backend));
      }
      return fmt::format("/{}", leaf);
    }
  }
}

void SetUpstreamAuth(http::fields& headers, const Backend& backend) {
  const std::string& key = backend.config().api_key;
  Dialect d = backend.dialect();
  if (d == Dialect::kAnthropicMessages) {
    // The version header is part of the protocol, sent with or without a key.
    headers.set("anthropic-version", config::kAnthropicVersion);
    if (!key.empty()) headers.set("x-api-key", key);
    return;
  }
  if (key.empty()) return;
  if (d == Dialect::kGemini) {
    headers.set(dialect::gemini::kApiKeyHeader, key);
  } else if (backend.preset() && backend.preset()->deployments) {
    headers.set("api-key", key);
  } else {
    headers.set(http::field::authorization, "Bearer " + key);
  }
}

core::Result<const dialect::ChatRequest*> RequestTranslator::Canonical() {
  if (!canonical_) {
    canonical_ = DecodeClientRequest(in_.client, *in_.body, in_.upstream_model, in_.stream);
  }
  if (!*canonical_) return std::unexpected(canonical_->error());
  return &**canonical_;
}

core::Result<UpstreamCall> RequestTranslator::For(const Backend& backend) {
  UpstreamCall call;
  call.dialect = backend.dialect();
  if (in_.api == Api::kEmbeddings && call.dialect != Dialect::kOpenAiChat) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("backend '{}' speaks {} and offers no embeddings", backend.id(),
                                  dialect::DialectTitle(call.dialect)),
                      "model");
  }
  // Gemini's countTokens and Anthropic's count_tokens are the same question.
  bool count = in_.api == Api::kMessagesCountTokens || in_.api == Api::kGeminiCountTokens;
  if (count && call.dialect != Dialect::kAnthropicMessages && call.dialect != Dialect::kGemini) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("backend '{}' speaks {}, which has no token-counting endpoint", backend.id(),
                                  dialect::DialectTitle(call.dialect)));
  }
  call.path = UpstreamPath(backend, call.dialect, in_.api, in_.upstream_model, in_.stream);
  if (call.dialect == in_.client) {
    auto body = SameDialectBody(backend);
    if (!body) return std::unexpected(std::move(body.error()));
    call.body = std::move(*body);
    return call;
  }
  call.translated = true;
  auto body = TranslatedBody(backend, call.dialect);
  if (!body) return std::unexpected(std::move(body.error()));
  call.body = std::move(*body);
  return call;
}

core::Result<std::string> RequestTranslator::SameDialectBody(const Backend& backend) {
  json::object& body = *in_.body;
  bool model_differs = in_.upstream_model != in_.client_model;
  switch (in_.client) {
    case Dialect::kGemini:
      if (in_.api == Api::kGeminiCountTokens) {
        // The body was unwrapped for decoding (model_call.cpp); countTokens takes a whole request
        // as generateContentRequest, whichever form the client used.
        json::object request = body;
        request["model"] = "models/" + std::string(in_.upstream_model);
        json::object wrapped;
        wrapped["generateContentRequest"] = std::move(request);
        return json::serialize(wrapped);
      }
      // The model is in the path; the body has nothing the gateway changes.
      return in_.body_changed ? json::serialize(body) : in_.raw;
    case Dialect::kOpenAiChat: {
      if (in_.api == Api::kChatCompletions) {
        // Every stream is metered: the usage chunk is asked for (and dropped again on the way
        // out when the client did not ask), where the server accepts the option.
        bool ask_usage = in_.stream && !in_.client_wants_usage && backend.preset() &&
                         backend.preset()->stream_usage_option;
        if (!in_.body_changed && !model_differs && !ask_usage) return in_.raw;
        body["model"] = in_.upstream_model;
        if (ask_usage) {
          json::value& so = body["stream_options"];
          if (!so.is_object()) so = json::object();
          so.as_object()["include_usage"] = true;
        }
        return json::serialize(body);
      }
      [[fallthrough]];
    }
    case Dialect::kAnthropicMessages:
      if (in_.api == Api::kMessagesCountTokens) {
        // count_tokens takes the prompt only (the gateway added max_tokens for decoding).
        json::object trimmed;
        for (const auto& kv : body) {
          if (IsCountTokensField(kv.key())) trimmed.emplace(kv.key(), kv.value());
        }
        trimmed["model"] = in_.upstream_model;
        return json::serialize(trimmed);
      }
      [[fallthrough]];
    default:
      if (!in_.body_changed && !model_differs) return in_.raw;
      body["model"] = in_.upstream_model;
      return json::serialize(body);
  }
}

core::Result<std::string> RequestTranslator::TranslatedBody(const Backend& backend, Dialect target) {
  auto canonical = Canonical();
  if (!canonical) return std::unexpected(canonical.error());
  dialect::ChatRequest request = **canonical;
  // A Responses request's neutral defaults and hints (store: false, item ids, ...) have no
  // meaning elsewhere: dropped by rule R2 before another dialect's encoder sees them.
  if (in_.client == Dialect::kOpenAiResponses) dialect::responses::PrepareForeign(request);
  request.model = std::string(in_.upstream_model);
  request.stream = in_.stream;
  if (target == Dialect::kAnthropicMessages && in_.reasoning) in_.reasoning->Restore(in_.scope, request);
  const config::ProviderPreset* preset = backend.preset();
  switch (target) {
    case Dialect::kAnthropicMessages: {
      auto body = dialect::anthropic::EncodeRequest(request);
      if (!body || (in_.api != Api::kGeminiCountTokens && in_.api != Api::kMessagesCountTokens)) return body;
      // count_tokens takes the prompt only.
      json::value v = json::parse(*body);
      json::object trimmed;
      for (auto& kv : v.as_object()) {
        if (IsCountTokensField(kv.key())) trimmed.emplace(kv.key(), std::move(kv.value()));
      }
      return json::serialize(trimmed);
    }
    case Dialect::kGemini: {
      auto encoded = dialect::gemini::EncodeRequest(request);
      if (!encoded) return std::unexpected(std::move(encoded.error()));
      if (in_.api == Api::kGeminiCountTokens || in_.api == Api::kMessagesCountTokens) {
        // countTokens counts a whole generateContent request given inside it.
        json::value v = json::parse(encoded->body);
        v.as_object()["model"] = "models/" + encoded->model;
        json::object wrapped;
        wrapped["generateContentRequest"] = std::move(v);
        return json::serialize(wrapped);
      }
      return std::move(encoded->body);
    }
    case Dialect::kOpenAiResponses: return dialect::responses::EncodeRequest(request);
    default: {
      dialect::openai::EncodeOptions options;
      options.cache_breakpoints = preset ? preset->cache_breakpoints : false;
      options.legacy_max_tokens = preset ? preset->legacy_max_tokens : false;
      // Every stream is metered: ask for the usage chunk where the server accepts the option
      // (the client's own wish is applied by the stream encoder on the way back).
      if (in_.stream && (!preset || preset->stream_usage_option)) {
        request.stream_include_usage = true;
      } else {
        request.stream_include_usage.reset();  // the server takes no stream_options
      }
      return dialect::openai::EncodeRequest(request, options);
    }
  }
}

}  // namespace meridian::gateway
