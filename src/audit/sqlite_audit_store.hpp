#pragma once
// The embedded audit store: one SQLite database in WAL mode, one table of records, a head
// record MACed with a key kept beside the database, and a head file written after each commit.
// Layout and threat model: docs/audit.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "audit/anchor.hpp"
#include "audit/store.hpp"

namespace meridian::audit {

enum class Durability {
  // synchronous=FULL and the head file fsynced: a committed record survives power loss, so the
  // head file can never name a record the database lost. The default.
  kFull,
  // synchronous=NORMAL, head file not fsynced: survives a process crash, not power loss (the
  // newest commits may then be lost, and verification reports them as truncated).
  kNormal,
};

struct SqliteAuditStoreOptions {
  Durability durability = Durability::kFull;
  // Wait this long for another process's write lock before failing an append.
  int busy_timeout_ms = 5000;
  // Unix time in milliseconds; defaults to the system clock. For tests.
  std::function<std::int64_t()> clock;
};

class SqliteAuditStore final : public AuditStore {
 public:
  // Opens the log at `db_path`, creating it (and its parent directory, key file and head file)
  // if the database does not exist. An existing log is checked against its anchors before any
  // append: the head record's MAC, the head record against the newest row, and the head file
  // against the row it names. A head file that lags (the process died between a commit and
  // the head file update) is brought forward; anything else inconsistent fails with kInternal
  // ("run `meridian audit verify`") rather than appending on top of a tampered log.
  // The full chain is not re-verified here (that is O(records); see verify.hpp).
  // The caller owns the store. Not thread-safe with other Opens of the same path in this
  // process; the returned store is thread-safe.
  static core::Result<std::unique_ptr<SqliteAuditStore>> Open(const std::string& db_path,
                                                              SqliteAuditStoreOptions options = {});

  ~SqliteAuditStore() override;
  SqliteAuditStore(const SqliteAuditStore&) = delete;
  SqliteAuditStore& operator=(const SqliteAuditStore&) = delete;

  // AuditStore. All methods are serialised by one mutex; appends take SQLite's write lock
  // (BEGIN IMMEDIATE) and read the head inside the transaction, so several processes
  // appending to the same file also chain correctly. After the commit the head file is
  // updated; if that fails the append still succeeds (the record is committed and chained,
  // only the outside anchor lags) and last_anchor_error() says why.
  core::Result<AuditRecord> Append(std::string_view kind, std::string_view body) override;
  core::Result<AuditHead> AppendBatch(std::span<const AppendEntry> entries) override;
  core::Result<std::vector<AuditRecord>> ReadRange(std::int64_t from_seq, std::size_t limit) override;
  core::Result<AuditHead> Head() override;

  const AuditPaths& paths() const;
  // Empty, or why the last head file update failed. Thread-safe.
  std::string last_anchor_error() const;

 private:
  struct Impl;
  explicit SqliteAuditStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meridian::audit
