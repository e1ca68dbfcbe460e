#pragma once
// Server-sent events (text/event-stream) framing: an incremental parser following the WHATWG
// HTML "event stream interpretation", and an encoder. Knows nothing about LLMs ("[DONE]" is
// ordinary data).
//
// Parser: bytes may arrive split anywhere (also between CR and LF or inside the BOM); lines
// end in LF, CRLF or a lone CR; one leading UTF-8 BOM is skipped at stream start; ":" lines
// are comments; "field" without a colon is a field with an empty value; one space after the
// colon is stripped; an event is dispatched on a blank line, and only if it has at least
// one "data" line; fields other than event/data/id/retry are ignored. The payload is not
// validated as UTF-8. Memory is bounded by SseParserOptions::max_event_bytes. Lines that fit
// in one Feed() chunk are parsed in place; only a line cut by a chunk boundary is copied.
// The event buffers are reused, so steady-state parsing does not allocate.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.hpp"

namespace meridian::net {

struct SseEvent {
  std::string_view type;  // the "event" field; empty when absent (browsers would say "message")
  std::string_view data;  // the "data" lines joined with '\n' (no trailing '\n')
  std::string_view id;    // the last event ID: per spec it persists until an "id" line changes it
  std::optional<std::uint64_t> retry;  // a valid "retry" field (milliseconds) in this event
};

// Non-owning reference to a callable taking Arg; it must outlive the call it is passed to.
template <class Arg>
class SseCallbackRef {
 public:
  template <class F>
    requires(std::is_invocable_v<F&, Arg> &&
             !std::is_same_v<std::remove_cvref_t<F>, SseCallbackRef>)
  SseCallbackRef(F&& f) noexcept  // NOLINT: implicit by design, like a function_ref
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Arg arg) {
          (*static_cast<std::remove_reference_t<F>*>(object))(static_cast<Arg>(arg));
        }) {}

  void operator()(Arg arg) const { call_(object_, static_cast<Arg>(arg)); }

 private:
  void* object_;
  void (*call_)(void*, Arg);
};

using SseEventCallback = SseCallbackRef<const SseEvent&>;
using SseCommentCallback = SseCallbackRef<std::string_view>;

struct SseParserOptions {
  // Upper bound on one event: its data lines (joined) plus the line being read. Exceeding it
  // fails the stream instead of buffering more.
  std::size_t max_event_bytes = std::size_t{4} << 20;
};

// One parser per stream. Not thread-safe; movable.
class SseParser {
 public:
  explicit SseParser(SseParserOptions options = {}) : options_(options) {}

  // Parses the next chunk, calling on_event for every complete event (and on_comment, if
  // given, for every comment line, with the text after ':' minus one leading space). The
  // views passed to the callbacks are valid only during the call; callbacks must not call
  // back into this parser. Fails (kUpstreamError) when an event exceeds max_event_bytes;
  // the parser then stays failed (every later Feed fails the same way) until Reset().
  core::Result<void> Feed(std::string_view bytes, SseEventCallback on_event);
  core::Result<void> Feed(std::string_view bytes, SseEventCallback on_event,
                          SseCommentCallback on_comment);

  // Declares the end of the stream. Succeeds if the stream ended on an event boundary.
  // Fails (kUpstreamError, message says "truncated") if data lines or a partial line were
  // left without the terminating blank line: such an event is never dispatched (per spec).
  // Also fails if the parser has failed. Does not reset the parser.
  core::Result<void> Finish() const;

  // Back to the start-of-stream state (BOM expected again); keeps buffer capacity.
  void Reset();

  // The last event ID set by an "id" line (persists across events), and the last valid
  // "retry" value (reconnection time in ms) seen anywhere in the stream.
  std::string_view last_event_id() const { return id_; }
  std::optional<std::uint64_t> reconnection_time() const { return reconnect_; }

 private:
  core::Result<void> FeedImpl(std::string_view bytes, SseEventCallback on_event,
                              const SseCommentCallback* on_comment);
  void ProcessLine(std::string_view line, SseEventCallback on_event,
                   const SseCommentCallback* on_comment);
  void Dispatch(SseEventCallback on_event);
  core::Result<void> TooLarge() const;

  SseParserOptions options_;
  std::string line_;  // a line cut by a chunk boundary
  std::string data_;  // data lines, each followed by '\n'
  std::string type_;
  std::string id_;
  std::optional<std::uint64_t> retry_;      // in the current event
  std::optional<std::uint64_t> reconnect_;  // stream-wide
  std::uint8_t bom_seen_ = 0;               // bytes of a BOM prefix held back at stream start
  bool at_start_ = true;
  bool skip_lf_ = false;  // the last chunk ended in CR: a leading LF of the next one is its pair
  bool failed_ = false;
};

// Appends one event to `out`: "event: <event>\n" and "id: <id>\n" when non-empty, one
// "data: <line>\n" per line of `data` (split at LF, CRLF or CR, so line endings in data are
// normalized to LF on the receiving side), then the blank line. CR, LF and NUL are removed
// from `event` and `id` (they cannot be represented and would break framing); an empty id
// is not written. Never fails; allocates only if `out` lacks capacity. Thread-compatible.
void AppendSseEvent(std::string& out, std::string_view data, std::string_view event = {},
                    std::string_view id = {});

// The same as AppendSseEvent into a new string.
std::string EncodeSseEvent(std::string_view data, std::string_view event = {},
                           std::string_view id = {});

// Appends a comment block (": <text>\n" per line of text, then the blank line), e.g. a
// keep-alive ": ping". Receivers ignore it. Never fails.
void AppendSseComment(std::string& out, std::string_view text);

}  // namespace meridian::net
