#pragma once
// What a provider wire format (OpenAI, Anthropic, Gemini) contributes to the simulator's shared
// answer logic. The handler (simulator.cpp) parses a request into a dialect-neutral ChatRequest,
// decides length, finish, timing and faults once for every dialect, and asks the Dialect only
// to render: the complete response body, the events of a stream (a StreamScript), and errors
// in the provider's own shape. Implementations are pure (no I/O, no clock) and thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/fault.hpp"
#include "sim/openai.hpp"

namespace meridian::sim {

// How an answer ended, whatever the dialect calls it (OpenAI stop/length/tool_calls,
// Anthropic end_turn/max_tokens/tool_use, Gemini STOP/MAX_TOKENS/STOP).
enum class Finish { kStop, kLength, kToolCall };

// Error classes; each dialect picks its own status, type names and body.
enum class ErrorKind {
  kInvalidRequest,    // 400
  kAuthentication,    // 401 (Gemini: 403 PERMISSION_DENIED, as Google answers a missing key)
  kNotFound,          // 404 (unknown route)
  kMethodNotAllowed,  // 405
};

// A complete error response: status, JSON body and extra headers (retry-after).
struct ErrorReply {
  unsigned status = 500;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The events of one streamed answer, in order: `prelude` events sent together right after the
// response head (at ttft), `body` events paced at tps (one per token, argument fragment or echo
// chunk), then `trailer` events sent at once. The shared stream loop applies the faults:
// stall-during holds after the prelude (after the first event when there is no prelude),
// reset-during and error-during cut after the prelude and min(2, body) body events.
class StreamScript {
 public:
  virtual ~StreamScript() = default;
  virtual std::string_view content_type() const = 0;
  virtual std::size_t prelude_size() const = 0;
  virtual std::size_t body_size() const = 0;
  virtual std::size_t trailer_size() const = 0;
  // Event k, 0 <= k < prelude_size() + body_size() + trailer_size(); called once each, in order.
  virtual std::string Event(std::size_t k) = 0;
  // The malformed fault's events (a broken one, then the dialect's end marker if it has one).
  virtual std::vector<std::string> MalformedEvents() = 0;
  // The error-during fault's in-stream error (and, for a JSON-array stream, its closing `]`).
  virtual std::string ErrorEvent() = 0;
};

class Dialect {
 public:
  virtual ~Dialect() = default;

  // The complete non-streaming response body. `completion_tokens` words of text, the echo text
  // when the request has one, or the request's tool call when it has one.
  virtual std::string Response(const ChatRequest& request, uint64_t completion_tokens,
                               Finish finish) const = 0;
  // The events of the streamed answer. The script keeps references into `request`, which must
  // outlive it. `chunk_bytes` sizes the pieces of an echoed text.
  virtual std::unique_ptr<StreamScript> Stream(const ChatRequest& request, uint64_t completion_tokens,
                                               Finish finish, std::size_t chunk_bytes) const = 0;

  // An error of class `kind`. `param` and `code` are used where the dialect has them (OpenAI).
  virtual ErrorReply Error(ErrorKind kind, std::string_view message, std::string_view param = {},
                           std::string_view code = {}) const = 0;
  // 404 for a model that --models does not list.
  virtual ErrorReply ModelNotFound(std::string_view model) const = 0;
  // The error response of a status fault: 429, 500, 503, overloaded, and error-during when it
  // cannot happen mid-stream. 429, 503 and overloaded carry retry-after: `retry_after_s`.
  virtual ErrorReply FaultError(Fault fault, uint64_t retry_after_s) const = 0;
};

// The OpenAI Chat Completions wire format (openai.cpp).
const Dialect& OpenAiDialect();

}  // namespace meridian::sim
