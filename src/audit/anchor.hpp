#pragma once
// What lives next to the audit database: the head file `<db>.head` (the newest seq and hash the
// writer has anchored outside the database) and the key file `<db>.key` (the HMAC key of the
// in-database head record). docs/audit.md says which attacker each one stops.

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace meridian::audit {

inline constexpr std::string_view kAuditDbFileName = "audit.db";

struct AuditPaths {
  std::string db;    // the SQLite database
  std::string head;  // db + ".head"
  std::string key;   // db + ".key"
};

// Paths for the database at `db_path`. Pure.
AuditPaths PathsForDb(const std::string& db_path);
// Paths for `<state_dir>/audit.db`. Pure.
AuditPaths PathsForStateDir(const std::string& state_dir);

// The content of the head file.
struct HeadAnchor {
  std::int64_t seq = 0;
  std::string hash;
};

// Reads the head file. nullopt if it does not exist. Failure (kInternal, message says why): it
// cannot be read, or its content is not exactly "meridian-audit-head v1\n<seq> <hash>\n".
// Thread-safe (no shared state).
core::Result<std::optional<HeadAnchor>> ReadHeadFile(const std::string& path);

// Replaces the head file atomically: writes `<path>.tmp.<pid>.<n>`, optionally fsyncs it, renames
// it over `path`. A reader sees the old or the new content, never a mix. Failure: kInternal
// (the old file is left in place). Thread-safe; concurrent writers of one path each succeed and
// the last rename wins (the store serialises its own writes under its append mutex).
core::Result<void> WriteHeadFile(const std::string& path, const HeadAnchor& anchor, bool sync);

// Reads the 32-byte key from the key file (64 hex digits and a newline). Failure: kInternal
// (missing, unreadable, malformed). Thread-safe.
core::Result<std::string> ReadKeyFile(const std::string& path);

// Creates the key file with 32 random bytes, mode 0600, fsynced, never overwriting an existing
// file (a concurrent creator wins and its key is read back). Returns the key. Failure: kInternal.
core::Result<std::string> CreateKeyFile(const std::string& path);

}  // namespace meridian::audit
