#pragma once
// Helpers shared by the simulator's request parsers (openai.cpp, anthropic.cpp, gemini.cpp):
// parsing a body into a JSON object, naming JSON kinds, measuring text, and building the
// placeholder arguments of a simulated tool call from a JSON schema. Pure, thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/error.hpp"

namespace meridian::sim::wire {

namespace json = boost::json;

// "null", "boolean", "integer", "number", "string", "array" or "object".
std::string_view KindName(const json::value& v);

inline std::string_view Sv(const json::string& s) { return {s.data(), s.size()}; }

// Parses `body` into a value allocated from `storage`. Fails (kInvalidRequest, no param) when
// the body is empty, is not JSON (the message says what the parser found and where), or is
// not an object.
core::Result<json::value> ParseObject(std::string_view body, json::storage_ptr storage);

// Number of UTF-8 code points of `s` (bytes that are not continuation bytes).
std::size_t CodePoints(std::string_view s);

// ASCII case-insensitive substring test.
bool ContainsCaseInsensitive(std::string_view haystack, std::string_view needle);

// JSON object text with one placeholder per `required` parameter of the JSON schema
// `parameters` (may be null), in `required` order: the first `enum` value if any, else by
// type (case-insensitive, so Gemini's "STRING" works): string "sim", integer 1, number 1.5,
// boolean true, array [], object {}, null null; unknown or missing type "sim".
std::string BuildArguments(const json::value* parameters);

// The member `camel` of `o`, else `snake` (Google's JSON accepts both spellings); null when
// neither is present.
const json::value* Member(const json::object& o, std::string_view camel, std::string_view snake = {});

}  // namespace meridian::sim::wire
