#pragma once
// Deterministic content for the provider simulator: hashing, the word generator behind chat
// answers, embedding vectors, base64 and JSON string escaping. Pure functions, no I/O;
// thread-safe (no shared mutable state).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meridian::sim {

// 64-bit FNV-1a. Feed several pieces by passing the previous result as `seed`.
inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
uint64_t Fnv1a(std::string_view data, uint64_t seed = kFnvOffset);
// Mixes one integer into an FNV-1a state (byte-wise, little-endian order).
uint64_t Fnv1aInt(uint64_t value, uint64_t seed);

// SplitMix64 finaliser: a well-mixed 64-bit value from any 64-bit input.
uint64_t Mix64(uint64_t x);

// Uniform double in [0, 1) derived from `x` (53 significant bits).
double UnitDouble(uint64_t x);

// The i-th word (0-based) of the deterministic answer for a request whose content hashes to
// `hash`. Always a plain lowercase ASCII word, so it never needs JSON escaping.
std::string_view AnswerWord(uint64_t hash, std::size_t i);

// Appends `count` answer words separated by single spaces (no leading/trailing space).
void AppendAnswer(std::string& out, uint64_t hash, std::size_t count);

// Approximate token count of `chars` characters of text: ceil(chars / 4), at least 1.
uint64_t ApproxTokens(std::size_t chars);

// A unit-norm (L2) vector of `dims` floats determined by `hash`. dims must be >= 1.
std::vector<float> UnitVector(uint64_t hash, std::size_t dims);

// Standard base64 (RFC 4648, with padding) of `bytes`, appended to `out`.
void AppendBase64(std::string& out, std::span<const unsigned char> bytes);
// Base64 of the vector's float32 values in little-endian byte order (OpenAI's
// encoding_format "base64").
void AppendBase64Floats(std::string& out, std::span<const float> values);

// Appends `text` as the body of a JSON string (no surrounding quotes), escaping '"', '\\' and
// control characters. Bytes >= 0x80 are copied as they are (input is assumed UTF-8).
void AppendJsonEscaped(std::string& out, std::string_view text);
// Appends `text` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view text);

// Appends the decimal form of `value`.
void AppendUint(std::string& out, uint64_t value);

// Lowercase 16-digit hex of `value`.
std::string Hex16(uint64_t value);

}  // namespace meridian::sim
