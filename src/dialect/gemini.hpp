#pragma once
// Google Gemini (POST /v1beta/models/{model}:generateContent and
// :streamGenerateContent?alt=sse) <-> the canonical model: requests, responses, stream chunks
// and errors, as ingress and as egress. Pure (no I/O); every function is thread-safe; the
// stream classes are per-stream and not thread-safe. docs/dialects.md has the field tables and
// every rule for what the other dialects lack.
//
// Unlike the other dialects, Gemini names the model and the streaming mode in the URL path,
// not in the body: DecodeRequest takes them as a Target (ParseTarget reads one from a request
// target) and EncodeRequest returns them next to the body, with the path to call. The API key
// travels in the `x-goog-api-key` header (kApiKeyHeader) or a `key` query parameter; both are
// the gateway's business, not the codec's.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "dialect/canonical.hpp"
#include "dialect/codec_util.hpp"

namespace meridian::dialect::gemini {

inline constexpr std::string_view kApiKeyHeader = "x-goog-api-key";

// ---- endpoints -------------------------------------------------------------------------

// What a Gemini request's path says.
struct Target {
  std::string model;     // "gemini-2.5-flash" ("models/" stripped); "tunedModels/x" kept whole
  bool stream = false;   // :streamGenerateContent
  bool sse = true;       // alt=sse (a stream without it is a JSON array: not supported)
  std::string version = "v1beta";
};

// "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" → {model, stream, sse}.
// nullopt when the path is not a generateContent / streamGenerateContent call.
std::optional<Target> ParseTarget(std::string_view path_and_query);
// The path (and query) to call for `model`: "/v1beta/models/{model}:generateContent" or
// ":streamGenerateContent?alt=sse".
std::string TargetPath(std::string_view model, bool stream, std::string_view version = "v1beta");

// ---- requests --------------------------------------------------------------------------

// A client's request body and the target its path named → canonical (model and stream come
// from the target). Fails with kInvalidRequest naming the field
// ("contents[1].parts[0]: unknown part"). Members the model does not cover are kept in the
// `extra` objects (origin kGemini). Tool calls get deterministic ids ("call_<content>_<n>")
// unless they carry one; each functionResponse is matched to its id, else to the earliest
// unanswered call of the same name in the latest model turn that has one.
core::Result<ChatRequest> DecodeRequest(const boost::json::object& body, const Target& target);
core::Result<ChatRequest> DecodeRequest(std::string_view body, const Target& target);

struct EncodeOptions {
  std::string_view version = "v1beta";
  // How an effort (OpenAI reasoning_effort, Anthropic output_config.effort) is written:
  // false (default) = thinkingConfig.thinkingLevel (Gemini 3); true = thinkingBudget from
  // Google's table (Gemini 2.5). docs/dialects.md, rule G5.
  bool effort_as_budget = false;
  // Written as the thoughtSignature of the first functionCall of each model turn that has
  // none, when the history comes from another dialect: Gemini 3 refuses unsigned calls in
  // the current turn, and Google documents this value for histories made elsewhere. Empty:
  // write nothing. docs/dialects.md, rule G3.
  std::string_view unsigned_call_signature = "skip_thought_signature_validator";
};

struct EncodedRequest {
  std::string path;   // TargetPath(model, stream, version)
  std::string model;  // as in the path ("gemini-2.5-flash")
  bool stream = false;
  std::string body;
};

// Canonical → an upstream request. Fails with kInvalidRequest naming the field as the client
// wrote it ("top_k" stays "top_k"; "logit_bias: not supported by Google Gemini").
core::Result<EncodedRequest> EncodeRequest(const ChatRequest& request,
                                           const EncodeOptions& options = {});

// ---- responses -------------------------------------------------------------------------

// An upstream response body → canonical. Fails with kUpstreamError when it is not a
// GenerateContentResponse with at most one candidate. A prompt blocked before generation (no
// candidate, promptFeedback.blockReason) becomes an empty content-filtered response.
core::Result<ChatResponse> DecodeResponse(std::string_view body);
// Canonical → a client response body. Fails with kUpstreamError when the response holds a
// block Gemini cannot carry (an opaque block of another dialect).
core::Result<std::string> EncodeResponse(const ChatResponse& response);

// ---- streams ---------------------------------------------------------------------------

// Upstream SSE events (each `data` a whole GenerateContentResponse with the new parts) →
// canonical events, one chunk in, its events out at once. A functionCall arrives whole:
// its block is started, given its arguments and stopped in the same Feed. The stream has no
// terminator: the chunk with a finishReason ends the message (kMessageDelta + kMessageStop).
class StreamDecoder {
 public:
  core::Result<void> Feed(std::string_view data, std::vector<StreamEvent>& out);
  // The upstream ended. Without a finishReason nothing is synthesised (a truncated stream;
  // the caller reports it). Idempotent.
  void Finish(std::vector<StreamEvent>& out) {}

 private:
  void CloseBlock(std::vector<StreamEvent>& out);
  int OpenBlock(PartKind kind, std::vector<StreamEvent>& out);

  detail::EventParser parser_;
  std::string id_, model_;
  bool started_ = false, done_ = false;
  int next_block_ = 0;
  int open_block_ = -1;
  PartKind open_kind_ = PartKind::kText;
  int calls_ = 0;                  // function calls seen (for generated ids)
  std::deque<std::string> texts_;  // ids, arguments and opaque parts of the current chunk
  Usage usage_;
  bool have_usage_ = false;
  ApiError error_;
};

// Canonical events → Gemini SSE bytes ("data: {...}\n\n"), each at once, with one
// exception: a tool call's arguments are held until the call's block stops (and until they
// are complete JSON), because Gemini carries them as one JSON object; docs/dialects.md.
// Pings write nothing (Gemini clients expect only data lines).
class StreamEncoder {
 public:
  core::Result<void> Encode(const StreamEvent& event, std::string& out);

 private:
  struct PendingCall {
    int index = -1;
    std::string name;
    std::string args;
    std::string signature;
    bool stopped = false;
  };
  PendingCall* Pending(int index);
  // Writes the call's chunk when its arguments are complete (or fails when `force`).
  core::Result<bool> FlushCall(PendingCall& call, bool force, std::string& out);
  void Chunk(std::string& out, std::string_view parts_json, std::string_view finish,
             const Usage* usage);

  std::string id_, model_;
  Usage start_usage_;
  bool refusal_ = false;
  std::vector<PendingCall> calls_;
  std::vector<PartKind> block_kind_;
  std::string scratch_, parts_;
};

// ---- errors ----------------------------------------------------------------------------

// An upstream error (status, body {"error":{code,message,status,details}}, headers) →
// canonical. Never fails. A RetryInfo detail's retryDelay becomes retry_after when the
// headers have none; an API_KEY_INVALID reason (sent as 400) is an authentication error.
ApiError DecodeError(int status, std::string_view body, const ErrorHeaders& headers = {});
// Canonical → Gemini status, body and headers (retry-after).
HttpError EncodeError(const ApiError& error);
std::string ErrorBody(const ApiError& error);

// Finish reasons: canonical ↔ Gemini strings.
std::string_view FinishReasonString(FinishReason reason, std::string_view raw = {});
FinishReason ParseFinishReason(std::string_view s);

}  // namespace meridian::dialect::gemini
