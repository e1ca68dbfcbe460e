#pragma once
// Pure OpenAI wire-format codecs for the simulator: parses the requests it serves into small
// plain structs and renders the responses, SSE events and error bodies as JSON text. No I/O,
// no timing; thread-safe. Parse failures are core::Error{kInvalidRequest} whose message and
// param are meant for the 400 body.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meridian::sim {

// `created` of every simulated object: fixed so that equal requests give byte-identical bodies.
inline constexpr uint64_t kCreated = 1735689600;  // 2025-01-01T00:00:00Z
inline constexpr std::string_view kFingerprint = "fp_meridian_sim";
inline constexpr std::string_view kOwnedBy = "meridian-simulator";

// Upper bound on the tokens of one answer (protects the simulator from huge requests).
inline constexpr uint64_t kMaxOutputTokens = 65536;
// Upper bound on embedding dimensions.
inline constexpr uint64_t kMaxEmbeddingDims = 8192;

struct ToolCall {
  std::string id;         // "call_sim_<hex>"
  std::string name;       // the function's name
  std::string arguments;  // JSON object text built from the function's required parameters
};

struct ChatRequest {
  std::string model;
  uint64_t hash = 0;           // FNV-1a over the messages' roles and text: drives the answer
  uint64_t prompt_tokens = 1;  // ceil(code points of message text / 4), at least 1
  std::optional<uint64_t> max_tokens;  // max_completion_tokens, else max_tokens
  bool stream = false;
  bool include_usage = false;          // stream_options.include_usage
  std::optional<ToolCall> tool_call;   // set when the answer is a tool call
  // Echo mode (x-sim-echo: 1) without a tool call: the answer text, i.e. the text of the last
  // "user" message (see LastUserText). Unset otherwise.
  std::optional<std::string> echo;
};

// Parses and validates a chat completion request body. `force_tool_call` (x-sim-tool-call: 1)
// makes the answer a tool call when the request has tools, as the text "call a tool" in the
// last user message does; tool_choice "required" or a named function always does, "none" never.
// `echo` (x-sim-echo: 1) sets ChatRequest::echo unless the answer is a tool call.
core::Result<ChatRequest> ParseChatRequest(std::string_view body, bool force_tool_call,
                                           bool echo = false);

// Splits `text` into pieces of `bytes` bytes (>= 1), each extended to the end of a UTF-8
// sequence it would otherwise cut (only the last piece may be shorter). Empty text, no pieces.
std::vector<std::string_view> Utf8Chunks(std::string_view text, std::size_t bytes);

// The `n` words of the answer (joined by spaces) for a request hashing to `hash`.
std::string AnswerText(uint64_t hash, uint64_t n);

// The argument fragments a streamed tool call is split into (Utf8Chunks of 4 bytes; one empty
// fragment for empty arguments); their count is the call's completion_tokens.
std::vector<std::string_view> ToolArgumentFragments(std::string_view arguments);

// Complete non-streaming chat.completion body. `completion_tokens` words of text, the echo
// text when the request has one, or the request's tool call when it has one.
std::string RenderChatCompletion(const ChatRequest& request, uint64_t completion_tokens,
                                 std::string_view finish_reason);

// Renders the SSE events ("data: {...}\n\n") of one streamed chat completion.
class ChatStreamRenderer {
 public:
  explicit ChatStreamRenderer(const ChatRequest& request);

  // First event: delta {"role":"assistant","content":""}.
  std::string RoleEvent() const;
  // Event with the i-th word of the answer (words after the first carry a leading space, so
  // the concatenated deltas equal the non-streaming content).
  std::string TokenEvent(uint64_t hash, uint64_t i) const;
  // Event with a piece of text as its delta content (echo mode).
  std::string ContentEvent(std::string_view text) const;
  // First event of a tool call answer: role, and the call's index, id, type, name, "" args.
  std::string ToolHeadEvent(const ToolCall& call) const;
  // A fragment of the tool call's arguments.
  std::string ToolArgumentsEvent(std::string_view fragment) const;
  // Empty delta with the finish_reason.
  std::string FinishEvent(std::string_view finish_reason) const;
  // choices: [] and the usage (only with include_usage).
  std::string UsageEvent(uint64_t prompt_tokens, uint64_t completion_tokens) const;
  static constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";

 private:
  std::string Event(std::string_view delta, std::string_view finish_reason) const;

  std::string prefix_;  // `data: {"id":...,"choices":[{"index":0,"delta":`
  std::string head_;    // `data: {"id":...,"system_fingerprint":...,` for the usage event
  bool include_usage_;
};

struct EmbeddingsRequest {
  std::string model;
  std::vector<uint64_t> input_hashes;  // one per input item
  uint64_t prompt_tokens = 0;
  std::optional<uint64_t> dimensions;
  bool base64 = false;
};

// Parses and validates an embeddings request (input: string, [string], [int], [[int]]).
core::Result<EmbeddingsRequest> ParseEmbeddingsRequest(std::string_view body);

// The embeddings list body, `dims` floats per input, unit norm.
std::string RenderEmbeddings(const EmbeddingsRequest& request, uint64_t dims);

std::string RenderModel(std::string_view id);
std::string RenderModelList(std::span<const std::string> ids);

// OpenAI error body {"error":{"message","type","param","code"}}; empty param/code render null.
std::string RenderErrorBody(std::string_view message, std::string_view type,
                            std::string_view param = {}, std::string_view code = {});

}  // namespace meridian::sim
