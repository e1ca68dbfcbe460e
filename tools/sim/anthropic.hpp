#pragma once
// Anthropic Messages wire format for the simulator (POST /v1/messages and
// /v1/messages/count_tokens): header checks, request parsing into the dialect-neutral
// ChatRequest, and the Dialect that renders messages, SSE events (`event:` + `data:` lines) and
// errors ({"type":"error","error":{"type","message"},"request_id"}). Pure, thread-safe.
// Contract: docs/simulator.md.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "sim/dialect.hpp"
#include "sim/openai.hpp"

namespace meridian::sim {

// The anthropic-version values the simulator accepts (the ones Anthropic publishes).
inline constexpr std::string_view kAnthropicVersions[] = {"2023-06-01", "2023-01-01"};

// Checks the headers every Anthropic request needs. `api_key` is the x-api-key value and
// `version` the anthropic-version value (nullopt when the header is absent). Failure:
// kUnauthorized "x-api-key header is required" (absent or empty key), else kInvalidRequest
// "anthropic-version: header is required" or `anthropic-version: "V" is not a valid version`.
std::optional<core::Error> CheckAnthropicHeaders(std::optional<std::string_view> api_key,
                                                 std::optional<std::string_view> version);

// Parses and validates a Messages request body (count_tokens: a count_tokens body, where
// max_tokens is not required). Errors are kInvalidRequest with Anthropic-style messages that
// start with the field's dotted path ("messages.0.role: ..."), the path also in `param`.
// The hash and prompt tokens cover `system` (as a "system" message) and the messages' roles
// and text (text blocks, and the text inside tool_result blocks), exactly like the OpenAI
// parser does for the same conversation. Tool-call triggers: `force_tool_call`, "call a tool"
// in the last user message's text, tool_choice any/tool; never tool_choice none.
core::Result<ChatRequest> ParseMessagesRequest(std::string_view body, bool force_tool_call,
                                               bool echo = false, bool count_tokens = false);

// {"type":"error","error":{"type":TYPE,"message":MESSAGE},"request_id":"req_sim_<16 hex>"},
// the request id a hash of type and message.
std::string RenderAnthropicError(std::string_view type, std::string_view message);

// {"input_tokens":N}
std::string RenderCountTokens(uint64_t input_tokens);

const Dialect& AnthropicDialect();

}  // namespace meridian::sim
