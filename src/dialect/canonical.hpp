#pragma once
// The canonical chat model: what every dialect codec decodes into and encodes from. One
// request, one response, one stream-event vocabulary and one error vocabulary for all
// dialects (today OpenAI Chat Completions, Anthropic Messages and Google Gemini; docs/dialects.md
// has the field tables and every lossy rule).
//
// Conventions of the model:
//  - Token counts follow one meaning whatever the dialect (see Usage).
//  - Fields of a dialect that have no meaning elsewhere are kept verbatim in `extra` objects,
//    tagged with the dialect that produced them (ChatRequest::origin). An encoder for that same
//    dialect writes them back unchanged; an encoder for another dialect fails with a 400 that
//    names the field, unless docs/dialects.md lists the field as a hint that is dropped.
//  - Content parts a dialect defines but the model does not (server-tool blocks, audio, ...)
//    are kept whole as PartKind::kOpaque with the same rule.
//  - Nothing here does I/O; all types are plain values (copyable, comparable).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.hpp"

namespace meridian::dialect {

enum class Dialect : std::uint8_t {
  kNone,
  kOpenAiChat,         // POST /v1/chat/completions
  kAnthropicMessages,  // POST /v1/messages
  kGemini,             // POST /v1beta/models/{model}:generateContent (model in the path)
  kOpenAiResponses,    // POST /v1/responses
};

// "openai_chat", "anthropic_messages", "gemini", "openai_responses", "none".
std::string_view DialectName(Dialect dialect);
// The name used in 400 messages ("OpenAI Chat Completions", "Anthropic Messages",
// "Google Gemini", "OpenAI Responses").
std::string_view DialectTitle(Dialect dialect);

// A prompt-caching breakpoint: Anthropic `cache_control` / OpenAI `prompt_cache_breakpoint`.
// Marks the end of a reusable prompt prefix at the element that carries it.
// Gemini has no inline markers (docs/dialects.md, rule G1).
struct CacheControl {
  std::string ttl;  // "" (provider default), "5m", "1h" (Anthropic only)
  bool operator==(const CacheControl&) const = default;
};

enum class Role : std::uint8_t { kSystem, kDeveloper, kUser, kAssistant, kTool };
std::string_view RoleName(Role role);

enum class PartKind : std::uint8_t {
  kText,              // text
  kImage,             // source + media_type + data, detail
  kDocument,          // source + media_type + data, name (title / filename)
  kToolUse,           // id, name, arguments (assistant)
  kToolResult,        // id (= tool_use id), content, is_error (role kTool)
  kThinking,          // text, signature (assistant; Anthropic thinking, Gemini thought parts)
  kRedactedThinking,  // signature holds the opaque `data` (assistant; Anthropic)
  kRefusal,           // text (assistant; OpenAI)
  kOpaque,            // raw: a part of ChatRequest::origin's dialect the model does not cover
};
std::string_view PartKindName(PartKind kind);

enum class SourceKind : std::uint8_t {
  kNone,
  kUrl,     // data = the URL
  kBase64,  // media_type + data = base64 payload (no "data:" prefix)
  kFileId,  // data = a provider file id (provider-bound: never crosses dialects)
  kText,    // documents only: text = the document's plain text, media_type "text/plain"
};

// One piece of content. A flat struct: which fields apply depends on `kind` (see PartKind).
struct ContentPart {
  PartKind kind = PartKind::kText;
  std::string text;        // kText, kThinking, kRefusal, kDocument with kText source
  SourceKind source = SourceKind::kNone;
  std::string media_type;  // "image/png", "application/pdf", ...
  std::string data;        // base64 payload, URL or file id (per `source`)
  std::string detail;      // kImage: OpenAI image_url.detail ("auto", "low", "high")
  std::string name;        // kToolUse: tool name; kDocument: title / filename
  std::string id;          // kToolUse: call id; kToolResult: the call it answers
  std::string arguments;   // kToolUse: the input as JSON text (OpenAI `arguments` verbatim)
  std::string signature;   // kThinking: signature; kRedactedThinking: its `data`
  bool is_error = false;   // kToolResult
  std::vector<ContentPart> content;  // kToolResult: text / image / document parts
  std::optional<CacheControl> cache;
  boost::json::object extra;  // unmodelled members of the origin dialect's part
  boost::json::value raw;     // kOpaque: the part as the origin dialect wrote it

  bool operator==(const ContentPart&) const = default;

  static ContentPart Text(std::string text);
};

struct Message {
  Role role = Role::kUser;
  // kTool messages hold exactly one kToolResult part. Consecutive kTool messages are the
  // results of one assistant turn (Anthropic: one user message of tool_result blocks).
  std::vector<ContentPart> content;
  boost::json::object extra;  // e.g. OpenAI `name`
  // Where the message came from in the origin's body, for naming fields in a 400 raised by
  // another dialect's encoder: the index in the origin's `messages` / Gemini `contents` (-1:
  // Anthropic `system`, Gemini `systemInstruction`) and the index there of this message's
  // first part. Not part of equality.
  int source = -1;
  int source_offset = 0;
  bool operator==(const Message& o) const {
    return role == o.role && content == o.content && extra == o.extra;
  }
};

struct Tool {
  std::string name;
  std::string description;
  std::optional<boost::json::value> parameters;  // JSON Schema; absent = no parameters
  std::optional<bool> strict;
  std::optional<CacheControl> cache;
  boost::json::object extra;
  boost::json::value raw;  // non-null: an opaque tool of the origin dialect (server tool,
                           // OpenAI custom tool, Gemini googleSearch); the other fields are
                           // then empty
  // Where the tool came from in a Gemini body (tools[source].functionDeclarations[
  // source_offset]; -1: not Gemini), for naming fields in 400s. Not part of equality.
  int source = -1;
  int source_offset = 0;
  bool operator==(const Tool& o) const {
    return name == o.name && description == o.description && parameters == o.parameters &&
           strict == o.strict && cache == o.cache && extra == o.extra && raw == o.raw;
  }
};

struct ToolChoice {
  enum class Mode : std::uint8_t { kUnset, kAuto, kNone, kRequired, kTool };
  Mode mode = Mode::kUnset;
  std::string name;        // kTool
  boost::json::value raw;  // non-null: an opaque choice (OpenAI allowed_tools / custom)
  bool operator==(const ToolChoice&) const = default;
};

struct ResponseFormat {
  enum class Type : std::uint8_t { kText, kJsonObject, kJsonSchema };
  Type type = Type::kText;
  std::string name;  // kJsonSchema (OpenAI requires one; Anthropic has none)
  std::string description;
  boost::json::value schema;
  std::optional<bool> strict;
  bool operator==(const ResponseFormat&) const = default;
};

struct Reasoning {
  enum class Thinking : std::uint8_t { kUnset, kEnabled, kDisabled, kAdaptive };
  Thinking thinking = Thinking::kUnset;   // Anthropic thinking.type
  std::optional<std::int64_t> budget_tokens;  // Anthropic thinking.budget_tokens
  std::string effort;   // OpenAI reasoning_effort / Anthropic output_config.effort
  std::string display;  // Anthropic thinking.display
  bool operator==(const Reasoning&) const = default;
};

struct ChatRequest {
  Dialect origin = Dialect::kNone;  // the dialect the request was decoded from
  std::string model;
  std::vector<Message> messages;  // system/developer messages included, in order
  std::vector<Tool> tools;
  ToolChoice tool_choice;
  std::optional<bool> parallel_tool_calls;
  std::optional<ResponseFormat> response_format;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<std::int64_t> max_tokens;  // output tokens, reasoning included
  std::vector<std::string> stop;
  std::optional<std::int64_t> seed;
  Reasoning reasoning;
  bool stream = false;
  std::optional<bool> stream_include_usage;
  std::string user;          // OpenAI user / safety_identifier, Anthropic metadata.user_id
  std::string service_tier;  // as the origin dialect wrote it
  boost::json::object extra;  // unmodelled top-level members of the origin dialect
  bool operator==(const ChatRequest&) const = default;
};

// Token counts with one meaning in every dialect:
//  input_tokens  = every prompt token, including those read from and written to the cache
//                  (OpenAI prompt_tokens; Anthropic input_tokens + cache_read_input_tokens +
//                  cache_creation_input_tokens; Gemini promptTokenCount +
//                  toolUsePromptTokenCount);
//  output_tokens = every generated token, reasoning included (Gemini candidatesTokenCount +
//                  thoughtsTokenCount);
//  cache_read_tokens, cache_write_tokens (subsets of input) and reasoning_tokens (a subset of
//  output) are absent when the upstream did not report them.
struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::optional<std::int64_t> cache_read_tokens;
  std::optional<std::int64_t> cache_write_tokens;
  std::optional<std::int64_t> reasoning_tokens;
  // Unmodelled members of the origin's usage object (OpenAI: the rest of
  // prompt_tokens_details / completion_tokens_details under those keys; Anthropic:
  // cache_creation, server_tool_use, ...). Written back by the same dialect only.
  boost::json::object extra;
  bool operator==(const Usage&) const = default;
};

enum class FinishReason : std::uint8_t {
  kNone,              // not finished (streams) / not reported
  kStop,              // natural end (OpenAI stop, Anthropic end_turn)
  kStopSequence,      // a stop sequence matched (Anthropic; OpenAI reports kStop)
  kLength,            // max tokens
  kToolCalls,         // the model called tools
  kContentFilter,     // OpenAI content_filter / Anthropic refusal
  kPauseTurn,         // Anthropic pause_turn (server-tool loop paused)
  kContextExhausted,  // Anthropic model_context_window_exceeded
  kOther,             // anything else; the origin's string is kept in finish_raw
};
std::string_view FinishReasonName(FinishReason reason);

struct ChatResponse {
  Dialect origin = Dialect::kNone;
  std::string id;
  std::string model;
  std::int64_t created = 0;  // unix seconds (OpenAI); 0 when the upstream has none
  std::vector<ContentPart> content;  // kText, kToolUse, kThinking, kRedactedThinking,
                                     // kRefusal, kOpaque, in the order produced
  FinishReason finish_reason = FinishReason::kNone;
  std::string finish_raw;     // the origin dialect's string
  std::string stop_sequence;  // the matched stop sequence (Anthropic)
  std::optional<Usage> usage;
  std::string service_tier;
  boost::json::object extra;  // unmodelled top-level members
  bool operator==(const ChatResponse&) const = default;
};

// ---- streaming -------------------------------------------------------------------------

// Canonical stream events: a block-structured stream (every content block is started,
// receives deltas and is stopped, blocks numbered from 0 in order), framed by kMessageStart
// and kMessageStop. Decoders produce them from one upstream event at a time; encoders write
// each one in their dialect at once. String views point into the decoder's current event and
// are valid until the decoder's next Feed/Finish.
enum class StreamEventKind : std::uint8_t {
  kMessageStart,   // id, model, created, usage (prompt side, when known)
  kBlockStart,     // index, block (kText/kToolUse/kThinking/kRedactedThinking/kOpaque), id,
                   // name (tool), text (initial text / redacted data / opaque raw JSON)
  kTextDelta,      // index, text
  kToolArgsDelta,  // index, text = a fragment of the arguments' JSON text
  kThinkingDelta,  // index, text
  kSignatureDelta, // index, text = signature
  kBlockStop,      // index
  kMessageDelta,   // finish, finish_raw, stop_sequence, usage (cumulative, final when known)
  kMessageStop,    // end of the message
  kPing,           // keep-alive
  kError,          // error (a failure after the stream started)
};

struct ApiError;

struct StreamEvent {
  StreamEventKind kind = StreamEventKind::kPing;
  int index = 0;
  PartKind block = PartKind::kText;
  std::string_view id;
  std::string_view name;
  std::string_view text;
  std::string_view model;
  std::int64_t created = 0;
  FinishReason finish = FinishReason::kNone;
  std::string_view finish_raw;
  std::string_view stop_sequence;
  std::optional<Usage> usage;
  const ApiError* error = nullptr;
};

// ---- errors ----------------------------------------------------------------------------

// What went wrong, independent of how a dialect spells it. Each class has one status, type
// and code per dialect (ErrorMappingFor), chosen so each official SDK raises its own proper
// exception; docs/dialects.md has the table.
enum class ErrorClass : std::uint8_t {
  kInvalidRequest,   // 400
  kAuthentication,   // 401
  kPermission,       // 403
  kNotFound,         // 404
  kConflict,         // 409
  kRequestTooLarge,  // 413
  kUnprocessable,    // 422
  kRateLimited,      // 429, retryable, retry-after kept
  kQuotaExceeded,    // OpenAI 429 insufficient_quota / Anthropic 402 billing_error; final
  kInternal,         // 500
  kBadGateway,       // 502
  kUnavailable,      // 503
  kTimeout,          // 504
  kOverloaded,       // Anthropic 529 overloaded_error; OpenAI 503
  kOther,            // any other status: kept as is
};
std::string_view ErrorClassName(ErrorClass cls);

struct ErrorMapping {
  ErrorClass cls;
  int openai_status;
  std::string_view openai_type;
  std::string_view openai_code;  // "" = null
  int anthropic_status;
  std::string_view anthropic_type;
  int gemini_status;
  std::string_view gemini_status_name;  // google.rpc code name ("RESOURCE_EXHAUSTED")
  bool retryable;  // whether the SDKs' retry logic should try again
};

// The mapping table row for `cls` (kOther: statuses 0, types for a 4xx).
const ErrorMapping& ErrorMappingFor(ErrorClass cls);
// The class an HTTP status belongs to when the body says nothing more specific.
ErrorClass ErrorClassForStatus(int status);

// An API error in canonical form: decoded from an upstream's status, body and headers, or
// made from the gateway's own core::Error, and encoded into any dialect.
struct ApiError {
  ErrorClass cls = ErrorClass::kInternal;
  int status = 500;          // the status as received (kOther keeps it)
  std::string type;          // the origin's type string ("rate_limit_error")
  std::string code;          // the origin's code (OpenAI), if any
  std::string message;
  std::string param;         // the request field at fault (OpenAI param), if any
  std::string retry_after;   // retry-after header, verbatim
  std::string retry_after_ms;  // retry-after-ms header, verbatim
  std::optional<bool> should_retry;  // x-should-retry header
  std::string request_id;
  Dialect origin = Dialect::kNone;
  bool operator==(const ApiError&) const = default;
};

// The headers an error translation reads and writes.
struct ErrorHeaders {
  std::string retry_after;
  std::string retry_after_ms;
  std::string should_retry;  // "true" / "false" / ""
  std::string request_id;    // request-id / x-request-id
};

// An error ready to send: status, JSON body and the headers to add.
struct HttpError {
  int status = 500;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The canonical error for one of the gateway's own errors (class from its code, message and
// param kept, retry-after kept). Pure; thread-safe.
ApiError ApiErrorFromCore(const core::Error& error);
// A core::Error (kUpstreamStatus with the status, retry-after and retryable) for an upstream
// error, for the gateway's retry and logging logic. Pure; thread-safe.
core::Error CoreErrorFromApi(const ApiError& error);

}  // namespace meridian::dialect
