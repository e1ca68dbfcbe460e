#pragma once
// Request ids: generated ones for every request, and the check that decides whether a
// client-supplied x-request-id may be kept.

#include <string>
#include <string_view>

namespace meridian::core {

// "req_" followed by 32 lowercase hex digits (128 random bits) from a per-thread
// xoshiro256** generator seeded once per thread from std::random_device. Unique for all
// practical purposes, but NOT secret or unpredictable: never use it as a token or nonce.
// Never fails; thread-safe (no shared state). A process that forks must not generate ids in
// the child from a thread that generated them in the parent (the state is copied).
std::string NewRequestId();

// True if a client-supplied request id can be kept as is: 1 to 128 characters, each one of
// [A-Za-z0-9._:-]. Anything else (empty, too long, spaces, quotes, CR/LF, non-ASCII) is
// refused so it cannot inject into logs or headers; the gateway then uses NewRequestId().
// Pure and thread-safe.
bool IsAcceptableClientRequestId(std::string_view id);

inline constexpr std::size_t kMaxClientRequestIdLength = 128;

}  // namespace meridian::core
