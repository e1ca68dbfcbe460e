#pragma once
// One entry point per codec operation for whichever dialect a request or a backend speaks, so
// the pipeline does not switch on dialects itself. Thin dispatch over src/dialect; pure and
// thread-safe (the stream classes are per stream).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>

#include "config/providers.hpp"
#include "core/error.hpp"
#include "dialect/anthropic_messages.hpp"
#include "dialect/canonical.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "dialect/openai_responses.hpp"

namespace meridian::gateway {

// The dialect module's name for a backend's wire dialect.
dialect::Dialect DialectOf(config::WireDialect wire);

// A client's body → canonical (`model`/`stream` from the path for Gemini). Fails with
// kInvalidRequest naming the field.
core::Result<dialect::ChatRequest> DecodeClientRequest(dialect::Dialect client, const boost::json::object& body,
                                                       std::string_view gemini_model, bool gemini_stream);

// An upstream's success body → canonical. kUpstreamError when malformed.
core::Result<dialect::ChatResponse> DecodeUpstreamResponse(dialect::Dialect upstream, std::string_view body);
// Canonical → the client's response body. kUpstreamError when the client's dialect cannot
// carry a block of the answer.
// `echo`: for a Responses client, the request members its response echoes (may be null).
core::Result<std::string> EncodeClientResponse(dialect::Dialect client, const dialect::ChatResponse& response,
                                               std::int64_t created, const boost::json::object* echo = nullptr);

// An upstream error (status, body, back-off headers) → canonical; never fails.
dialect::ApiError DecodeUpstreamError(dialect::Dialect upstream, int status, std::string_view body,
                                      const dialect::ErrorHeaders& headers);
// Canonical → status, body and headers in the client's dialect.
dialect::HttpError EncodeClientError(dialect::Dialect client, const dialect::ApiError& error);

// Upstream SSE `data` → canonical stream events, for any dialect.
class AnyStreamDecoder {
 public:
  explicit AnyStreamDecoder(dialect::Dialect upstream);
  core::Result<void> Feed(std::string_view data, std::vector<dialect::StreamEvent>& out);
  void Finish(std::vector<dialect::StreamEvent>& out);

 private:
  std::variant<dialect::openai::StreamDecoder, dialect::anthropic::StreamDecoder, dialect::gemini::StreamDecoder,
               dialect::responses::StreamDecoder>
      impl_;
};

// Canonical stream events → the client's SSE bytes.
class AnyStreamEncoder {
 public:
  // `include_usage` / `created`: what an OpenAI Chat client asked and the time to report;
  // `echo`: as EncodeClientResponse (must outlive the encoder).
  AnyStreamEncoder(dialect::Dialect client, bool include_usage, std::int64_t created,
                   const boost::json::object* echo = nullptr);
  core::Result<void> Encode(const dialect::StreamEvent& event, std::string& out);

 private:
  std::variant<dialect::openai::StreamEncoder, dialect::anthropic::StreamEncoder, dialect::gemini::StreamEncoder,
               dialect::responses::StreamEncoder>
      impl_;
};

}  // namespace meridian::gateway
