#pragma once
// The three dialect codecs behind one interface, for the table-driven tests: a fixture names
// a dialect "openai", "anthropic" or "gemini". Request forms are the body, except Gemini's,
// which is {"path": "/v1beta/models/<model>:generateContent", "body": {...}} because Gemini
// names the model (and streaming) in the path.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"

namespace meridian::dialect::testing {

namespace json = boost::json;

inline const std::vector<std::string>& Dialects() {
  static const std::vector<std::string> kDialects = {"openai", "anthropic", "gemini"};
  return kDialects;
}

inline openai::EncodeOptions OpenAiOptions(const json::object& fx) {
  openai::EncodeOptions o;
  if (const auto* v = fx.if_contains("openai_options"); v && v->is_object()) {
    const auto& obj = v->get_object();
    if (const auto* b = obj.if_contains("cache_breakpoints")) o.cache_breakpoints = b->as_bool();
    if (const auto* b = obj.if_contains("legacy_max_tokens")) o.legacy_max_tokens = b->as_bool();
  }
  return o;
}

inline anthropic::EncodeOptions AnthropicOptions(const json::object& fx) {
  anthropic::EncodeOptions o;
  if (const auto* v = fx.if_contains("anthropic_options"); v && v->is_object()) {
    const auto& obj = v->get_object();
    if (const auto* n = obj.if_contains("default_max_tokens")) {
      o.default_max_tokens = n->as_int64();
    }
    if (const auto* b = obj.if_contains("effort_as_budget")) o.effort_as_budget = b->as_bool();
  }
  return o;
}

// Keeps the option's string alive for the string_view in EncodeOptions.
struct GeminiOptionsHolder {
  std::string signature = "skip_thought_signature_validator";
  gemini::EncodeOptions options;
};

inline GeminiOptionsHolder GeminiOptions(const json::object& fx) {
  GeminiOptionsHolder h;
  if (const auto* v = fx.if_contains("gemini_options"); v && v->is_object()) {
    const auto& obj = v->get_object();
    if (const auto* b = obj.if_contains("effort_as_budget")) {
      h.options.effort_as_budget = b->as_bool();
    }
    if (const auto* s = obj.if_contains("unsigned_call_signature")) {
      h.signature = std::string(s->as_string());
    }
  }
  return h;
}

// A fixture's request form in dialect `d` → canonical.
inline core::Result<ChatRequest> DecodeRequestForm(std::string_view d, const json::value& form) {
  if (d == "openai") return openai::DecodeRequest(form.as_object());
  if (d == "anthropic") return anthropic::DecodeRequest(form.as_object());
  const json::object& o = form.as_object();
  auto target = gemini::ParseTarget(std::string(o.at("path").as_string()));
  if (!target) return core::Fail(core::ErrorCode::kNotFound, "not a Gemini path");
  return gemini::DecodeRequest(o.at("body").as_object(), *target);
}

// Canonical → the request form of dialect `d` (as JSON: Gemini's as {"path", "body"}).
inline core::Result<json::value> EncodeRequestForm(std::string_view d, const ChatRequest& req,
                                                   const json::object& fx) {
  if (d == "openai") {
    auto out = openai::EncodeRequest(req, OpenAiOptions(fx));
    if (!out) return std::unexpected(out.error());
    return json::parse(*out);
  }
  if (d == "anthropic") {
    auto out = anthropic::EncodeRequest(req, AnthropicOptions(fx));
    if (!out) return std::unexpected(out.error());
    return json::parse(*out);
  }
  GeminiOptionsHolder h = GeminiOptions(fx);
  h.options.unsigned_call_signature = h.signature;
  auto out = gemini::EncodeRequest(req, h.options);
  if (!out) return std::unexpected(out.error());
  return json::object{{"path", out->path}, {"body", json::parse(out->body)}};
}

inline core::Result<ChatResponse> DecodeResponseBody(std::string_view d, std::string_view body) {
  if (d == "openai") return openai::DecodeResponse(body);
  if (d == "anthropic") return anthropic::DecodeResponse(body);
  return gemini::DecodeResponse(body);
}

inline core::Result<std::string> EncodeResponseBody(std::string_view d, const ChatResponse& resp,
                                                    const json::object& fx) {
  if (d == "openai") {
    openai::ResponseOptions opt;
    if (const auto* c = fx.if_contains("created")) opt.created = c->as_int64();
    return openai::EncodeResponse(resp, opt);
  }
  if (d == "anthropic") return anthropic::EncodeResponse(resp);
  return gemini::EncodeResponse(resp);
}

inline ApiError DecodeErrorIn(std::string_view d, int status, std::string_view body,
                              const ErrorHeaders& h) {
  if (d == "openai") return openai::DecodeError(status, body, h);
  if (d == "anthropic") return anthropic::DecodeError(status, body, h);
  return gemini::DecodeError(status, body, h);
}

inline HttpError EncodeErrorIn(std::string_view d, const ApiError& e) {
  if (d == "openai") return openai::EncodeError(e);
  if (d == "anthropic") return anthropic::EncodeError(e);
  return gemini::EncodeError(e);
}

// "openai_to_gemini" → {"openai", "gemini"}; false when the key is not a direction.
inline bool SplitDirection(std::string_view key, std::string& from, std::string& to) {
  const std::size_t sep = key.find("_to_");
  if (sep == std::string_view::npos) return false;
  from = key.substr(0, sep);
  to = key.substr(sep + 4);
  auto known = [](std::string_view d) {
    return d == "openai" || d == "anthropic" || d == "gemini";
  };
  return known(from) && known(to);
}

}  // namespace meridian::dialect::testing
