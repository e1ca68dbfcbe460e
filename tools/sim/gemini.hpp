#pragma once
// Gemini (Google AI generateContent) wire format for the simulator:
// POST /v1beta/models/{model}:generateContent, :streamGenerateContent (?alt=sse: SSE events
// `data: {GenerateContentResponse}` separated by CRLF CRLF, no [DONE]; without alt=sse: one
// streamed JSON array), and :countTokens. Path and key checks, request parsing into the
// dialect-neutral ChatRequest, and the Dialect that renders responses, streams and errors
// ({"error":{"code","message","status"}}). Pure, thread-safe. Contract: docs/simulator.md.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "sim/dialect.hpp"
#include "sim/openai.hpp"

namespace meridian::sim {

// A Gemini model method route: "/v1beta/models/{model}:{method}" (also "/v1/models/...").
struct GeminiRoute {
  std::string_view model;   // may be empty
  std::string_view method;  // "generateContent", "streamGenerateContent", "countTokens", ...
};

// Splits a path (no query string) of the form /v1beta/models/{model}:{method} or
// /v1/models/{model}:{method}; nullopt for other paths or when there is no ':{method}'.
std::optional<GeminiRoute> ParseGeminiPath(std::string_view path);

// The value of query parameter `name` in a request target ("/p?a=1&key=K"); nullopt if absent.
std::optional<std::string_view> QueryParam(std::string_view target, std::string_view name);

// Parses and validates a generateContent request body for `model` (from the path). Errors are
// kInvalidRequest with Google-style messages, `param` the field's path ("contents[0].role").
// The hash and prompt tokens cover systemInstruction (as a "system" message) and the contents'
// roles ("model" counts as "assistant", a missing role as "user") and text parts, so the same
// plain-text conversation gets the same answer as on the OpenAI and Anthropic routes.
// Tool-call triggers: `force_tool_call`, "call a tool" in the last user content's text,
// toolConfig.functionCallingConfig.mode ANY; never mode NONE. camelCase and snake_case member
// names are both accepted, as Google's JSON parser does.
core::Result<ChatRequest> ParseGenerateContentRequest(std::string_view body, std::string_view model,
                                                      bool force_tool_call, bool echo = false);

// Parses a countTokens body ({"contents": [...]} or {"generateContentRequest": {...}}) and
// returns the prompt tokens, counted as for generateContent.
core::Result<uint64_t> ParseGeminiCountTokens(std::string_view body, std::string_view model);

// {"error":{"code":CODE,"message":MESSAGE,"status":STATUS}}; with `retry_delay_s`, a details
// entry {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"Ns"}.
std::string RenderGeminiError(unsigned code, std::string_view status, std::string_view message,
                              std::optional<uint64_t> retry_delay_s = std::nullopt);

// {"totalTokens":N}
std::string RenderGeminiCountTokens(uint64_t total_tokens);

// The Gemini dialect; `sse` picks the stream framing (alt=sse events, else a JSON array).
const Dialect& GeminiDialect(bool sse = true);

}  // namespace meridian::sim
