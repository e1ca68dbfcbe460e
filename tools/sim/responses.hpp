#pragma once
// OpenAI Responses wire format for the simulator (POST /v1/responses): request parsing into the
// dialect-neutral ChatRequest, and the Dialect that renders `response` objects, the typed SSE
// events of a stream (`event: <type>` + `data:` with sequence_number) and errors (OpenAI's
// {"error":{message,type,param,code}}). Pure, thread-safe. Contract: docs/simulator.md.

#include <string_view>

#include "core/error.hpp"
#include "sim/dialect.hpp"
#include "sim/openai.hpp"

namespace meridian::sim {

// Parses and validates a Responses request body. Errors are kInvalidRequest with OpenAI-style
// messages ("Missing required parameter: 'input'.") and the field in `param`. The hash and
// prompt tokens cover `instructions` (as a "system" message) and the input items' roles and
// text (a string input is one "user" message; function_call_output items count as "tool"
// messages), like the OpenAI parser for the same conversation. Tool-call triggers:
// `force_tool_call`, "call a tool" in the last user message's text, tool_choice "required" or
// {"type":"function","name":...}; never tool_choice "none". Only `function` tools are called;
// built-in tools (web_search, ...) are accepted and never called.
core::Result<ChatRequest> ParseResponsesRequest(std::string_view body, bool force_tool_call, bool echo = false);

const Dialect& ResponsesDialect();

}  // namespace meridian::sim
