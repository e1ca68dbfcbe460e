#pragma once
// OpenAI Chat Completions (POST /v1/chat/completions) <-> the canonical model: requests,
// responses, stream chunks and errors, as ingress and as egress. Pure (no I/O); every
// function is thread-safe; the stream classes are per-stream and not thread-safe.
// docs/dialects.md has the field tables and every rule for what the other dialect lacks.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "dialect/canonical.hpp"
#include "dialect/codec_util.hpp"

namespace meridian::dialect::openai {

// ---- requests --------------------------------------------------------------------------

// A client's (or a test's) request body → canonical. Fails with kInvalidRequest naming the
// field ("messages[2].content[0].type: unknown content part 'foo'"). Members the model does
// not cover are kept in the `extra` objects (origin kOpenAiChat). The object is only read.
core::Result<ChatRequest> DecodeRequest(const boost::json::object& body);
core::Result<ChatRequest> DecodeRequest(std::string_view body);

struct EncodeOptions {
  // Write cache markers as `prompt_cache_breakpoint` on content parts (OpenAI models from
  // gpt-5.6 on). Off for OpenAI-compatible servers that reject unknown members: markers are
  // then dropped (a caching hint; the upstream's automatic caching applies).
  bool cache_breakpoints = true;
  // Write the output limit as the legacy `max_tokens` instead of `max_completion_tokens`.
  bool legacy_max_tokens = false;
};

// Canonical → an upstream request body. Fails with kInvalidRequest naming the canonical
// field the dialect cannot express (e.g. "top_k: not supported by OpenAI Chat Completions").
core::Result<std::string> EncodeRequest(const ChatRequest& request,
                                        const EncodeOptions& options = {});

// ---- responses -------------------------------------------------------------------------

// An upstream response body → canonical. Fails with kUpstreamError when it is not a chat
// completion with exactly one choice.
core::Result<ChatResponse> DecodeResponse(std::string_view body);

struct ResponseOptions {
  std::int64_t created = 0;  // used when the response has no creation time (unix seconds)
};

// Canonical → a client response body. Fails with kUpstreamError when the response holds a
// block OpenAI cannot carry (an opaque block of another dialect).
core::Result<std::string> EncodeResponse(const ChatResponse& response,
                                         const ResponseOptions& options = {});

// ---- streams ---------------------------------------------------------------------------

// Upstream chunks (the `data` of each SSE event, "[DONE]" included) → canonical events. One
// chunk in, its events out at once; the only state carried is what later chunks need
// (open block, tool-call numbering, a finish reason waiting for the usage chunk).
class StreamDecoder {
 public:
  // Appends the events for one SSE event to `out`. Views in the events stay valid until the
  // next Feed/Finish. Fails with kUpstreamError on a malformed chunk.
  core::Result<void> Feed(std::string_view data, std::vector<StreamEvent>& out);
  // The upstream ended (with or without "[DONE]"): closes what is open. Idempotent.
  void Finish(std::vector<StreamEvent>& out);

 private:
  void CloseBlock(std::vector<StreamEvent>& out);
  void EmitFinish(std::vector<StreamEvent>& out, const Usage* usage);

  detail::EventParser parser_;
  std::string id_, model_;
  std::int64_t created_ = 0;
  bool started_ = false, done_ = false;
  int next_block_ = 0;
  int open_block_ = -1;
  PartKind open_kind_ = PartKind::kText;
  int open_tool_ = -1;          // OpenAI tool_calls index of the open block
  std::vector<int> tool_blocks_;  // tool_calls index -> block index
  FinishReason finish_ = FinishReason::kNone;
  std::string finish_raw_;
  bool finish_pending_ = false, finish_sent_ = false;
  std::optional<Usage> usage_;
  ApiError error_;
};

struct StreamOptions {
  bool include_usage = false;  // the client asked stream_options.include_usage
  std::int64_t created = 0;    // used when the message start carries none
};

// Canonical events → OpenAI chunks as SSE bytes ("data: {...}\n\n", "data: [DONE]\n\n").
// Each event is written at once (thinking deltas and signatures have no OpenAI form and write
// nothing; pings become SSE comments).
class StreamEncoder {
 public:
  explicit StreamEncoder(StreamOptions options = {}) : options_(options) {}
  core::Result<void> Encode(const StreamEvent& event, std::string& out);

 private:
  void BeginChunk(detail::JsonWriter& w);
  void EndChunk(detail::JsonWriter& w, std::string& out);

  StreamOptions options_;
  std::string id_, model_;
  std::int64_t created_ = 0;
  Usage start_usage_;
  bool have_start_usage_ = false;
  std::vector<PartKind> block_kind_;  // block index -> kind
  std::vector<int> block_tool_;  // block index -> tool_calls index (-1: not a tool block)
  int tools_ = 0;
  bool refusal_ = false;
  std::string scratch_;
};

// ---- errors ----------------------------------------------------------------------------

// An upstream error (status, body, headers) → canonical. Never fails: an unreadable body
// keeps the status's class and a generic message.
ApiError DecodeError(int status, std::string_view body, const ErrorHeaders& headers = {});
// Canonical → OpenAI status, body ({"error":{message,type,param,code}}) and headers
// (retry-after, retry-after-ms, x-should-retry).
HttpError EncodeError(const ApiError& error);
// The body alone, also used as a stream's final error chunk ("data: {"error":...}").
std::string ErrorBody(const ApiError& error);

// Finish reasons: canonical ↔ OpenAI strings.
std::string_view FinishReasonString(FinishReason reason, std::string_view raw = {});
FinishReason ParseFinishReason(std::string_view s);

}  // namespace meridian::dialect::openai
