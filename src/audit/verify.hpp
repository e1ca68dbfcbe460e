#pragma once
// Verification of an audit log: recomputes every record's hash, follows the chain in seq
// order, checks the anchors, and reports the FIRST problem with its kind and position.
// VerifyChain works over any store (RecordSource); Verify(path) is the SQLite log on disk.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.hpp"
#include "audit/store.hpp"
#include "core/error.hpp"

namespace meridian::audit {

enum class ProblemKind {
  kEdited,         // a record's content does not match its hash (or it was re-hashed and its
                   // successor still links to the original)
  kDeleted,        // records are missing from the middle or the start (seq gap, or renumbered)
  kInserted,       // a record that is not part of the original chain (forged)
  kReordered,      // a genuine record sits at another seq than the one it was written at
  kChainBroken,    // prev_hash does not match the previous record, cause not determined
  kTruncated,      // an anchor says the log had more records than it has
  kRewritten,      // the record an anchor names has another hash: the chain was rebuilt
  kAnchorMissing,  // the head record or the head file is gone
  kAnchorInvalid,  // the head record's MAC is wrong, the key is missing, or the head file is garbled
};

// "edited", "deleted", "inserted", "reordered", "chain broken", "truncated", "rewritten",
// "anchor missing", "anchor invalid".
std::string_view ProblemKindName(ProblemKind kind);

struct Problem {
  ProblemKind kind = ProblemKind::kChainBroken;
  std::int64_t seq = 0;    // where: the first seq concerned (0 for anchor problems)
  std::int64_t count = 0;  // kDeleted, kInserted, kTruncated: how many records
  std::int64_t other = 0;  // kReordered: the seq the record was written at;
                           // kTruncated: the seq the anchor names
  std::string detail;      // for people, e.g. "hash mismatch"
  std::string anchor;      // kAnchorMissing, kAnchorInvalid: which one ("head file", "head record")

  // "record 17: edited (hash mismatch)"; anchor problems read "head file: missing (...)".
  std::string ToString() const;
};

struct VerifyReport {
  std::int64_t records = 0;  // records read and checked before the problem (all when ok)
  AuditHead head;            // the newest record checked (seq 0, genesis hash when empty)
  // Records newer than the head file: normal only after a crash between a commit and the
  // head file update (or while a writer is running). Not a problem; see docs/audit.md.
  std::int64_t unanchored = 0;
  std::optional<Problem> problem;

  bool ok() const { return !problem.has_value(); }
};

// Where records come from: a store's table, read in ascending seq order.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Calls `fn` for each record in ascending seq order until it returns false or the records
  // end. Failure: kInternal (the source cannot be read).
  virtual core::Result<void> Scan(const std::function<bool(const AuditRecord&)>& fn) = 0;
  // A record whose stored hash is `hash`, if any (used only to explain a problem).
  virtual core::Result<std::optional<AuditRecord>> FindByHash(std::string_view hash) = 0;
};

// An anchor: a (seq, hash) the writer recorded somewhere other than the chain itself.
struct Anchor {
  enum class State { kPresent, kMissing, kInvalid };
  std::string name;  // "head record", "head file"
  State state = State::kMissing;
  std::int64_t seq = 0;
  std::string hash;
  std::string detail;  // why missing/invalid
  // The head file may lag the table (it is written after the commit); the head record, written
  // in the same transaction as the records, may not: records beyond it are reported inserted.
  bool may_lag = false;
};

// Checks the records of `source` and the anchors. Success: a report (ok, or the first
// problem). Failure: kInternal when the source cannot be read. Pure apart from the source.
core::Result<VerifyReport> VerifyChain(RecordSource& source, std::span<const Anchor> anchors);

struct VerifyOptions {
  // Check only the chain, not the head record, key or head file (for a copy of the database
  // without its side files). Truncation and records appended by a forger then go unnoticed.
  bool chain_only = false;
};

// Verifies the SQLite audit log at `db_path` (with `<db>.head` and `<db>.key` beside it),
// opening it read-only; safe while a gateway appends (reads one snapshot). Success: a report.
// Failure (kInternal, message names the file): no log there, not an audit log, unreadable.
core::Result<VerifyReport> Verify(const std::string& db_path, const VerifyOptions& options = {});

}  // namespace meridian::audit
