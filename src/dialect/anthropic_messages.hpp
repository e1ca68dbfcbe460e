#pragma once
// Anthropic Messages (POST /v1/messages) <-> the canonical model: requests, responses, stream
// events and errors, as ingress and as egress. Pure (no I/O); every function is thread-safe;
// the stream classes are per-stream and not thread-safe. docs/dialects.md has the field
// tables and every rule for what the other dialect lacks.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "dialect/canonical.hpp"
#include "dialect/codec_util.hpp"

namespace meridian::dialect::anthropic {

// ---- requests --------------------------------------------------------------------------

// A client's request body → canonical. Fails with kInvalidRequest naming the field. Members
// the model does not cover are kept in `extra` objects (origin kAnthropicMessages).
core::Result<ChatRequest> DecodeRequest(const boost::json::object& body);
core::Result<ChatRequest> DecodeRequest(std::string_view body);

struct EncodeOptions {
  // max_tokens is required by Anthropic; used when the canonical request has none.
  std::int64_t default_max_tokens = 4096;
  // How an OpenAI reasoning_effort is written: false (default) = thinking {type: adaptive}
  // plus output_config.effort (current models); true = thinking {type: enabled,
  // budget_tokens: table} for models without adaptive thinking. docs/dialects.md.
  bool effort_as_budget = false;
};

// Canonical → an upstream request body. Fails with kInvalidRequest naming the field the
// dialect cannot express.
core::Result<std::string> EncodeRequest(const ChatRequest& request,
                                        const EncodeOptions& options = {});

// ---- responses -------------------------------------------------------------------------

// An upstream response body → canonical. Fails with kUpstreamError when it is not a message.
core::Result<ChatResponse> DecodeResponse(std::string_view body);
// Canonical → a client response body. Fails with kUpstreamError when the response holds a
// block Anthropic cannot carry.
core::Result<std::string> EncodeResponse(const ChatResponse& response);

// ---- streams ---------------------------------------------------------------------------

// Upstream SSE events (their `data`; the event name is redundant with data.type) →
// canonical events, one event in, its events out at once.
class StreamDecoder {
 public:
  core::Result<void> Feed(std::string_view data, std::vector<StreamEvent>& out);
  // The upstream ended: nothing is synthesised (an Anthropic stream that ends without
  // message_stop is truncated; the caller reports that). Kept for symmetry.
  void Finish(std::vector<StreamEvent>& out) {}

 private:
  detail::EventParser parser_;
  Usage usage_;  // cumulative, canonical meaning
  bool have_usage_ = false;
  std::string scratch_;
  ApiError error_;
};

// Canonical events → Anthropic SSE bytes ("event: <type>\ndata: {...}\n\n"), each at once.
class StreamEncoder {
 public:
  core::Result<void> Encode(const StreamEvent& event, std::string& out);

 private:
  Usage start_usage_;
  bool refusal_ = false;
  std::string scratch_;
};

// ---- errors ----------------------------------------------------------------------------

ApiError DecodeError(int status, std::string_view body, const ErrorHeaders& headers = {});
// Canonical → Anthropic status, body ({"type":"error","error":{type,message}}) and headers.
HttpError EncodeError(const ApiError& error);
std::string ErrorBody(const ApiError& error);

// Stop reasons: canonical ↔ Anthropic strings.
std::string_view StopReasonString(FinishReason reason, std::string_view raw = {});
FinishReason ParseStopReason(std::string_view s);

}  // namespace meridian::dialect::anthropic
