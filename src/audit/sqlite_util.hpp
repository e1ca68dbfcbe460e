#pragma once
// Small RAII wrappers over the SQLite C API for the audit module (internal to src/audit/).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace meridian::audit::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// kInternal error "<what>: <sqlite message>".
std::unexpected<core::Error> Fail(sqlite3* db, std::string_view what);

// Opens `path` with `flags` (SQLITE_OPEN_*); failure names the path and SQLite's reason.
core::Result<DbPtr> Open(const std::string& path, int flags);

// Runs statements without results.
core::Result<void> Exec(sqlite3* db, const char* sql);

core::Result<StmtPtr> Prepare(sqlite3* db, std::string_view sql);

// A prepared statement reset and its bindings cleared when the guard goes out of scope.
class ResetGuard {
 public:
  explicit ResetGuard(sqlite3_stmt* s) : s_(s) {}
  ~ResetGuard() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Column `i` as bytes (TEXT or BLOB); empty for NULL.
std::string ColumnString(sqlite3_stmt* s, int i);
// Column `i` as an integer; nullopt for NULL.
std::optional<std::int64_t> ColumnOptionalInt(sqlite3_stmt* s, int i);

// Binds parameter `i` (1-based) to a copy of `text`, or to an integer / NULL for nullopt.
void BindText(sqlite3_stmt* s, int i, std::string_view text);
void BindOptionalInt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v);

// True if a table named `name` exists.
core::Result<bool> TableExists(sqlite3* db, std::string_view name);

}  // namespace meridian::audit::sqlite
