#pragma once
// One record of the tamper-evident audit log, and the exact hash that chains records together.
// Pure: no I/O. The full format, the hash and the threat model are in docs/audit.md.

#include <cstdint>
#include <string>
#include <string_view>

namespace meridian::audit {

inline constexpr std::string_view kKindRequest = "request";  // one decision record per request
inline constexpr std::string_view kKindAdmin = "admin";      // one record per admin change

// prev_hash of record 1: 64 ASCII zeros.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Domain-separation tags: the first field of every hashed/MACed encoding (docs/audit.md).
inline constexpr std::string_view kRecordHashTag = "meridian.audit.record.v1";
inline constexpr std::string_view kHeadMacTag = "meridian.audit.head.v1";

struct AuditRecord {
  std::int64_t seq = 0;      // 1, 2, 3, ... contiguous; the position in the chain
  std::int64_t time_ms = 0;  // unix time in milliseconds when the store appended it
  std::string kind;          // "request" or "admin"
  std::string body;          // canonical JSON object supplied by the caller; never inspected
  std::string prev_hash;     // `hash` of record seq-1, or kGenesisHash for record 1
  std::string hash;          // RecordHash(seq, time_ms, kind, body, prev_hash)
};

// The canonical byte string that is hashed (exposed for tests and for re-implementations):
//   F(kRecordHashTag) || I64(seq) || I64(time_ms) || F(kind) || F(body) || F(prev_hash)
// where I64(x) is x as 8 bytes big-endian two's complement and F(s) is I64(size of s) followed
// by the bytes of s. Fixed-width integers and length-prefixed strings leave no ambiguity
// between fields. Pure, thread-safe.
std::string CanonicalEncoding(std::int64_t seq, std::int64_t time_ms, std::string_view kind,
                              std::string_view body, std::string_view prev_hash);

// Lowercase hex SHA-256 of CanonicalEncoding(...): 64 characters. Pure, thread-safe; aborts
// only if OpenSSL cannot provide SHA-256 at all.
std::string RecordHash(std::int64_t seq, std::int64_t time_ms, std::string_view kind,
                       std::string_view body, std::string_view prev_hash);
inline std::string RecordHash(const AuditRecord& r) {
  return RecordHash(r.seq, r.time_ms, r.kind, r.body, r.prev_hash);
}

// Lowercase hex HMAC-SHA256 under `key` of F(kHeadMacTag) || I64(seq) || F(hash): the MAC that
// the store keeps next to its head (seq, hash) so that whoever can write the database but not
// read the key file cannot move the head. Pure, thread-safe.
std::string HeadMac(std::string_view key, std::int64_t seq, std::string_view hash);

// True if `s` is 64 lowercase hex digits.
bool IsHashHex(std::string_view s);

// Lowercase hex of bytes. Pure.
std::string ToHex(std::string_view bytes);

// Constant-time comparison of two strings of equal length (false if lengths differ).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

}  // namespace meridian::audit
