#pragma once
// The audit store interface: an append-only, hash-chained log of AuditRecords. The SQLite
// store (sqlite_audit_store.hpp) implements it now; PostgreSQL (several gateway instances
// sharing one chain) can implement it later without the pipeline changing. Verification of a
// store's chain is in verify.hpp.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.hpp"
#include "core/error.hpp"

namespace meridian::audit {

// The newest record of a log: seq 0 and kGenesisHash when the log is empty.
struct AuditHead {
  std::int64_t seq = 0;
  std::string hash{kGenesisHash};
};

// One record to append; the store assigns seq, time, prev_hash and hash.
struct AppendEntry {
  std::string_view kind;  // kKindRequest or kKindAdmin
  std::string_view body;  // canonical JSON object (see decision.hpp)
};

// Largest body a store accepts, in bytes.
inline constexpr std::size_t kMaxBodyBytes = 1 << 20;

// Checks an entry before it is appended: kind is "request" or "admin", body is a JSON object of
// at most kMaxBodyBytes. Failure: kInvalidRequest naming the field. Pure, thread-safe.
core::Result<void> ValidateEntry(std::string_view kind, std::string_view body);

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Appends one record after the current head and returns it as stored (seq, time, hashes
  // filled in). On success the record is committed (durable as the store's options say) and
  // chained; on failure nothing was appended (kInvalidRequest for a bad entry, kInternal for a
  // storage failure). Thread-safe: concurrent callers are serialised so that seqs stay
  // contiguous and every record chains to the one before it.
  virtual core::Result<AuditRecord> Append(std::string_view kind, std::string_view body) = 0;

  // Appends `entries` in order as one atomic unit (all or nothing) and returns the new head.
  // A background writer draining a queue should use this: one commit for many records.
  // An empty span appends nothing and returns the current head. Thread-safe like Append.
  virtual core::Result<AuditHead> AppendBatch(std::span<const AppendEntry> entries) = 0;

  // Up to `limit` records with seq >= from_seq, in ascending seq order (fewer at the end of
  // the log; empty past it). The records are copies the caller owns. Failure: kInternal.
  // Thread-safe. Does not verify anything: see verify.hpp.
  virtual core::Result<std::vector<AuditRecord>> ReadRange(std::int64_t from_seq, std::size_t limit) = 0;

  // The newest committed record's seq and hash. Failure: kInternal. Thread-safe.
  virtual core::Result<AuditHead> Head() = 0;
};

}  // namespace meridian::audit
