#pragma once
// A validating single-pass scan of an OpenAI response body or stream chunk that reads the few
// facts the gateway needs (usage counts, whether usage/choices are present) without building
// a DOM. Built on Boost.JSON's SAX parser; costs a fraction of json::parse.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace meridian::gateway {

struct JsonScan {
  enum class Usage { kAbsent, kNull, kObject, kOther };
  bool top_level_object = false;
  Usage usage = Usage::kAbsent;       // the top-level "usage" member
  std::int64_t prompt_tokens = -1;    // usage.prompt_tokens, when an integer
  std::int64_t completion_tokens = -1;
  std::int64_t cached_tokens = -1;     // usage.prompt_tokens_details.cached_tokens
  std::int64_t reasoning_tokens = -1;  // usage.completion_tokens_details.reasoning_tokens
  bool choices_empty = false;         // top-level "choices" is []
  // Bytes of generated text inside "choices": the string values of members named content,
  // reasoning_content, refusal, text or arguments (escapes counted as sent). What a stream is
  // charged by before its usage is known (docs/limits.md).
  std::int64_t text_bytes = 0;
};

// Validates `text` as exactly one JSON value (UTF-8 checked, depth <= 64) and reports what it
// found. Fails with kUpstreamError and the parser's message. Thread-safe.
core::Result<JsonScan> ScanJson(std::string_view text);

// Removes a top-level `"usage":null` member from a compact JSON object text in place, when it
// occurs exactly once (inside string values a quote is always escaped, so the sequence cannot
// come from content). Returns false when it could not be done safely; the caller then falls
// back to a full parse.
bool StripNullUsage(std::string& text);

}  // namespace meridian::gateway
