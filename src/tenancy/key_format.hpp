#pragma once
// Virtual keys: format, generation and the digest the store keeps (docs/tenancy.md, "Keys").
//
//   mk-<43 base62 characters>      46 characters; the 43 characters encode 32 random bytes
//   mk-<9 characters>               the visible prefix: the key's id, shown in lists and records
//
// Only SHA-256(key) and the prefix are stored. A fast hash is enough because the input is 256
// random bits, not a password: there is nothing to guess a dictionary from, and 2^256 SHA-256
// evaluations are out of reach whatever the speed. A slow hash (bcrypt, argon2) would only cost
// every request its time.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace meridian::tenancy {

inline constexpr std::string_view kKeyMarker = "mk-";
inline constexpr std::size_t kKeyRandomBytes = 32;
inline constexpr std::size_t kKeyBodyChars = 43;  // ceil(256 / log2(62))
inline constexpr std::size_t kKeyChars = 3 + kKeyBodyChars;
inline constexpr std::size_t kKeyPrefixChars = 12;  // "mk-" + 9

using KeyHash = std::array<std::uint8_t, 32>;

// A new key from 32 bytes of OpenSSL's RAND_bytes, base62-encoded (fixed width, leading '0's).
// Failure: kInternal when the random generator fails. Thread-safe. The caller owns the secret:
// show it once, keep only HashKey(key) and KeyPrefix(key).
core::Result<std::string> GenerateKey();

// The key for given random bytes (GenerateKey's encoding; for tests). Pure.
std::string EncodeKey(const std::array<std::uint8_t, kKeyRandomBytes>& bytes);

// True if `text` has the key format: "mk-" and 43 base62 characters. Pure; its time depends
// only on the format (public), not on any stored key.
bool LooksLikeKey(std::string_view text);

// The visible prefix of a key: its first 12 characters. Pure.
std::string_view KeyPrefix(std::string_view key);

// True if `text` has the prefix format: "mk-" and 9 base62 characters. Pure.
bool LooksLikeKeyPrefix(std::string_view text);

// SHA-256 of the key's bytes. Thread-safe (the algorithm is fetched once per process).
KeyHash HashKey(std::string_view key);

}  // namespace meridian::tenancy
