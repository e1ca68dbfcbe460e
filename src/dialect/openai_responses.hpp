#pragma once
// OpenAI Responses API (POST /v1/responses) <-> the canonical model: requests, responses,
// stream events and errors, as ingress and as egress. Pure (no I/O); every function is
// thread-safe; the stream classes are per-stream and not thread-safe. The interface mirrors
// dialect::openai. docs/dialects.md ("OpenAI Responses") has the field tables and the rules for
// what cannot cross to another dialect (previous_response_id, store: true, conversation, ...).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "dialect/canonical.hpp"
#include "dialect/codec_util.hpp"

namespace meridian::dialect::responses {

// ---- requests --------------------------------------------------------------------------

// A client's request body → canonical (origin kOpenAiResponses). Fails with kInvalidRequest
// naming the field ("input[2].content[0].type: unknown content part 'foo'"). `instructions`
// becomes a leading system message; input items become messages (function_call and reasoning
// items join the assistant message before them; function_call_output items are kTool
// messages). Members the model does not cover are kept in `extra` objects; members of nested
// request objects are kept under dotted keys ("text.verbosity", "reasoning.summary") so that a
// 400 from another dialect's encoder names them as the client wrote them.
core::Result<ChatRequest> DecodeRequest(const boost::json::object& body);
core::Result<ChatRequest> DecodeRequest(std::string_view body);

// Prepares a request decoded from a Responses body for another dialect's encoder (call it
// before openai::/anthropic::/gemini::EncodeRequest when request.origin is kOpenAiResponses):
// removes what docs/dialects.md drops when crossing (rule R2: neutral defaults such as
// `store: false`, caching and transport hints, item ids and statuses, output annotations,
// reasoning items without encrypted_content) and moves `safety_identifier` to `user`. What is
// left and cannot cross is refused by that encoder with a 400 naming the member
// (previous_response_id, store, conversation, ...). A no-op for other origins.
void PrepareForeign(ChatRequest& request);

// Rule R2 (see PrepareForeign): whether the extra member `key` of a Responses body (at `scope`)
// may be dropped when the request goes to another dialect.
bool DroppableExtra(detail::ExtraScope scope, std::string_view key,
                    const boost::json::value& value);

struct EncodeOptions {
  // Write cache markers as `prompt_cache_breakpoint` on input parts. Off for
  // Responses-compatible servers that reject unknown members (markers are then dropped, D2).
  bool cache_breakpoints = true;
};

// Canonical → an upstream request body. Fails with kInvalidRequest naming the field as the
// origin's client wrote it (e.g. "stop: not supported by OpenAI Responses"). A request from
// another dialect is sent with `store: false` (nothing is kept upstream, as in Chat Completions
// and Anthropic). `include: ["reasoning.encrypted_content"]` is not written yet, so reasoning
// items of such a client cannot be handed back on the next turn (docs/dialects.md, "Known
// limitations").
core::Result<std::string> EncodeRequest(const ChatRequest& request,
                                        const EncodeOptions& options = {});

// ---- responses -------------------------------------------------------------------------

// An upstream `response` object → canonical. Fails with kUpstreamError when it is not one, or
// when its status is `failed` (the error's message is kept).
core::Result<ChatResponse> DecodeResponse(std::string_view body);

struct ResponseOptions {
  std::int64_t created = 0;  // used when the response has no creation time (unix seconds)
  // The client's own request members a response echoes (instructions, tools, tool_choice,
  // temperature, top_p, parallel_tool_calls, metadata), written instead of neutral values for
  // a response from another dialect. Not owned; may be null.
  const boost::json::object* echo = nullptr;
};

// Canonical → a client `response` object. Fails with kUpstreamError when the response holds a
// block the Responses API cannot carry (an opaque block of another dialect). Request echo
// members the canonical response does not carry (instructions, tools, temperature, ...) are
// written with neutral values for a response from another dialect.
core::Result<std::string> EncodeResponse(const ChatResponse& response,
                                         const ResponseOptions& options = {});

// ---- streams ---------------------------------------------------------------------------

// Upstream SSE events (the `data` of each; the type is inside it) → canonical events, one in,
// its events out at once. Closes the message at response.completed / response.incomplete
// (kMessageDelta with finish and usage, then kMessageStop); response.failed and `error` give
// kError. Unknown event types are ignored.
class StreamDecoder {
 public:
  core::Result<void> Feed(std::string_view data, std::vector<StreamEvent>& out);
  // The upstream ended: nothing is synthesised (a stream without response.completed is
  // truncated; the caller reports that). Kept for symmetry.
  void Finish(std::vector<StreamEvent>& out) {}

 private:
  struct Block {
    int output = -1;   // output_index
    int content = -1;  // content_index (message parts), -1 for whole items
    int index = -1;    // canonical block index
    PartKind kind = PartKind::kText;
    bool open = false;
    bool had_delta = false;
    int summaries = 0;  // reasoning: summary parts seen
  };
  Block* Find(std::int64_t output, std::int64_t content);
  void Stop(Block& b, std::vector<StreamEvent>& out);
  void StopAll(std::vector<StreamEvent>& out);

  detail::EventParser parser_;
  std::string id_, model_;
  bool started_ = false, done_ = false, calls_ = false;
  int next_block_ = 0;
  std::vector<Block> blocks_;
  std::string scratch_, scratch2_;
  std::optional<Usage> usage_;
  ApiError error_;
};

struct StreamOptions {
  std::int64_t created = 0;  // used when the message start carries none
  const boost::json::object* echo = nullptr;  // as ResponseOptions::echo; must outlive the encoder
};

// Canonical events → Responses SSE bytes ("event: <type>\ndata: {...,"sequence_number":n}\n\n"),
// each event written at once. kMessageStart → response.created + response.in_progress; each
// block is one output item (text → a message with one output_text part; refusal → a message
// with one refusal part; tool use → function_call; thinking → reasoning with one summary
// part, its signature as encrypted_content; redacted thinking → reasoning with only
// encrypted_content); kBlockStop → the .done events and response.output_item.done;
// kMessageDelta → nothing (its finish and usage are kept); kMessageStop →
// response.completed or response.incomplete with the whole response; kError → `error` and,
// after a start, response.failed; kPing → an SSE comment. The text of each block is kept
// until the end (the .done events and the final response carry it).
class StreamEncoder {
 public:
  explicit StreamEncoder(StreamOptions options = {}) : options_(options) {}
  core::Result<void> Encode(const StreamEvent& event, std::string& out);

 private:
  struct Item {
    PartKind kind = PartKind::kText;
    std::string id;         // item id
    std::string call_id;    // function_call
    std::string name;       // function_call
    std::string text;       // text / refusal / arguments / thinking summary
    std::string signature;  // reasoning encrypted_content
    bool done = false;
    bool summary_open = false;  // reasoning: the summary part was added
  };
  // Writes one SSE event of `type`; `body` writes its members (type and sequence_number are
  // added).
  template <class Body>
  void Emit(std::string_view type, std::string& out, Body&& body);
  void WriteItem(detail::JsonWriter& w, const Item& item, bool final_state,
                 std::string_view status) const;
  void WriteResponse(detail::JsonWriter& w, std::string_view status, bool with_output,
                     const ApiError* error) const;
  Item* ItemFor(int block);

  StreamOptions options_;
  std::string id_, model_;
  std::int64_t created_ = 0;
  std::int64_t seq_ = 0;
  bool started_ = false;
  std::vector<int> block_item_;  // block index -> item index (-1: none)
  std::vector<Item> items_;
  FinishReason finish_ = FinishReason::kNone;
  std::optional<Usage> usage_;
  std::string scratch_;
};

// ---- errors ----------------------------------------------------------------------------
// The Responses API reports errors exactly as Chat Completions does ({"error": {message,
// type, param, code}}, same statuses and headers); these are the openai:: functions, with an
// error from either OpenAI API treated as the client's own.

ApiError DecodeError(int status, std::string_view body, const ErrorHeaders& headers = {});
HttpError EncodeError(const ApiError& error);
std::string ErrorBody(const ApiError& error);

// Finish reasons ↔ the response's status and incomplete_details.reason: "completed" (kStop,
// or kToolCalls when the output has function calls), "incomplete" with "max_output_tokens"
// (kLength) or "content_filter" (kContentFilter).
FinishReason ParseStatus(std::string_view status, std::string_view incomplete_reason,
                         bool has_calls);

}  // namespace meridian::dialect::responses
