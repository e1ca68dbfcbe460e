#include "audit/sqlite_audit_store.hpp"

#include <chrono>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "audit/sqlite_util.hpp"

namespace meridian::audit {

namespace {

using core::ErrorCode;

constexpr const char* kSchema = R"sql(
CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY,
  time_ms   INTEGER NOT NULL,
  kind      TEXT NOT NULL,
  body      TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
CREATE TABLE audit_head (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT NOT NULL,
  mac  TEXT NOT NULL
);
PRAGMA application_id = 1296127300;  -- "MAUD"
PRAGMA user_version = 1;
)sql";

std::int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unexpected<core::Error> Tampered(const std::string& db, std::string_view why) {
  return core::Fail(ErrorCode::kInternal,
                    fmt::format("audit log {} does not match its anchors ({}); refusing to append: run "
                                "`meridian audit verify {}`",
                                db, why, db));
}

void BindText(sqlite3_stmt* s, int i, std::string_view text) {
  sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

}  // namespace

struct SqliteAuditStore::Impl {
  AuditPaths paths;
  SqliteAuditStoreOptions options;
  std::string key;

  mutable std::mutex mu;
  sqlite::DbPtr db;
  sqlite::StmtPtr begin, commit, rollback;
  sqlite::StmtPtr select_head, update_head, insert, select_range, select_last;
  std::string anchor_error;  // guarded by mu

  std::int64_t Now() const { return options.clock ? options.clock() : SystemClockMs(); }

  core::Result<void> Step(sqlite3_stmt* s, const char* what) {
    sqlite::ResetGuard reset(s);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite::Fail(db.get(), what);
    return {};
  }

  // The in-database head record (seq, hash, mac). nullopt if the row is missing.
  core::Result<std::optional<std::pair<AuditHead, std::string>>> ReadHeadRow() {
    sqlite::ResetGuard reset(select_head.get());
    const int rc = sqlite3_step(select_head.get());
    if (rc == SQLITE_DONE) return std::optional<std::pair<AuditHead, std::string>>{};
    if (rc != SQLITE_ROW) return sqlite::Fail(db.get(), "audit: read head");
    AuditHead head{sqlite3_column_int64(select_head.get(), 0), sqlite::ColumnString(select_head.get(), 1)};
    return std::optional(std::pair(std::move(head), sqlite::ColumnString(select_head.get(), 2)));
  }

  // seq and hash of the row with the largest seq, or the genesis head.
  core::Result<AuditHead> ReadLastRow() {
    sqlite::ResetGuard reset(select_last.get());
    const int rc = sqlite3_step(select_last.get());
    if (rc == SQLITE_DONE) return AuditHead{};
    if (rc != SQLITE_ROW) return sqlite::Fail(db.get(), "audit: read last record");
    return AuditHead{sqlite3_column_int64(select_last.get(), 0), sqlite::ColumnString(select_last.get(), 1)};
  }

  // Hash of the record at `seq`; kGenesisHash for seq 0; nullopt if there is no such row.
  core::Result<std::optional<std::string>> HashAt(std::int64_t seq) {
    if (seq == 0) return std::optional<std::string>(kGenesisHash);
    sqlite::ResetGuard reset(select_range.get());
    sqlite3_bind_int64(select_range.get(), 1, seq);
    sqlite3_bind_int64(select_range.get(), 2, 1);
    const int rc = sqlite3_step(select_range.get());
    if (rc == SQLITE_DONE) return std::optional<std::string>{};
    if (rc != SQLITE_ROW) return sqlite::Fail(db.get(), "audit: read record");
    if (sqlite3_column_int64(select_range.get(), 0) != seq) return std::optional<std::string>{};
    return std::optional(sqlite::ColumnString(select_range.get(), 5));
  }

  void UpdateHeadFile(const AuditHead& head) {
    auto written = WriteHeadFile(paths.head, HeadAnchor{head.seq, head.hash},
                                 options.durability == Durability::kFull);
    anchor_error = written ? std::string() : written.error().message;
  }

  // Appends `entries` in one transaction; fills `out` (if given) with the stored records.
  core::Result<AuditHead> AppendLocked(std::span<const AppendEntry> entries, std::vector<AuditRecord>* out) {
    for (const auto& e : entries) {
      if (auto ok = ValidateEntry(e.kind, e.body); !ok) return std::unexpected(ok.error());
    }
    // BEGIN IMMEDIATE takes the write lock now, so the head read below is the one we chain to
    // even if another process appends to the same file.
    if (auto ok = Step(begin.get(), "audit: begin"); !ok) return std::unexpected(ok.error());
    auto result = AppendInTransaction(entries, out);
    if (!result) {
      (void)Step(rollback.get(), "audit: rollback");
      return result;
    }
    if (auto ok = Step(commit.get(), "audit: commit"); !ok) {
      (void)Step(rollback.get(), "audit: rollback");
      return std::unexpected(ok.error());
    }
    UpdateHeadFile(*result);
    return result;
  }

  core::Result<AuditHead> AppendInTransaction(std::span<const AppendEntry> entries, std::vector<AuditRecord>* out) {
    auto row = ReadHeadRow();
    if (!row) return std::unexpected(row.error());
    if (!*row) return Tampered(paths.db, "the head record is missing");
    AuditHead head = (*row)->first;
    const std::int64_t now = Now();
    for (const auto& e : entries) {
      AuditRecord r;
      r.seq = head.seq + 1;
      r.time_ms = now;
      r.kind = std::string(e.kind);
      r.prev_hash = head.hash;
      r.hash = RecordHash(r.seq, r.time_ms, e.kind, e.body, r.prev_hash);
      {
        sqlite3_stmt* s = insert.get();
        sqlite::ResetGuard reset(s);
        sqlite3_bind_int64(s, 1, r.seq);
        sqlite3_bind_int64(s, 2, r.time_ms);
        BindText(s, 3, e.kind);
        BindText(s, 4, e.body);
        BindText(s, 5, r.prev_hash);
        BindText(s, 6, r.hash);
        if (sqlite3_step(s) != SQLITE_DONE) return sqlite::Fail(db.get(), "audit: insert");
      }
      head.seq = r.seq;
      head.hash = r.hash;
      if (out) {
        r.body = std::string(e.body);
        out->push_back(std::move(r));
      }
    }
    if (!entries.empty()) {
      sqlite3_stmt* s = update_head.get();
      sqlite::ResetGuard reset(s);
      const std::string mac = HeadMac(key, head.seq, head.hash);
      sqlite3_bind_int64(s, 1, head.seq);
      BindText(s, 2, head.hash);
      BindText(s, 3, mac);
      if (sqlite3_step(s) != SQLITE_DONE) return sqlite::Fail(db.get(), "audit: update head");
      if (sqlite3_changes(db.get()) != 1) return Tampered(paths.db, "the head record is missing");
    }
    return head;
  }

  core::Result<void> Prepare() {
    struct {
      sqlite::StmtPtr* stmt;
      std::string_view sql;
    } const statements[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&select_head, "SELECT seq, hash, mac FROM audit_head WHERE id = 1"},
        {&update_head, "UPDATE audit_head SET seq = ?1, hash = ?2, mac = ?3 WHERE id = 1"},
        {&insert, "INSERT INTO audit_log (seq, time_ms, kind, body, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
        {&select_range,
         "SELECT seq, time_ms, kind, body, prev_hash, hash FROM audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2"},
        {&select_last, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"},
    };
    for (const auto& s : statements) {
      auto prepared = sqlite::Prepare(db.get(), s.sql);
      if (!prepared) return std::unexpected(prepared.error());
      *s.stmt = *std::move(prepared);
    }
    return {};
  }

  // Creates the key, the head file (seq 0) and the schema of a new log.
  core::Result<void> Create() {
    auto key_read = ReadKeyFile(paths.key);
    if (key_read) {
      key = *std::move(key_read);  // left by a creation that died before the schema was committed
    } else {
      auto created = CreateKeyFile(paths.key);
      if (!created) return std::unexpected(created.error());
      key = *std::move(created);
    }
    if (auto ok = WriteHeadFile(paths.head, HeadAnchor{0, std::string(kGenesisHash)}, true); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = sqlite::Exec(db.get(), "BEGIN IMMEDIATE"); !ok) return ok;
    auto schema = sqlite::Exec(db.get(), kSchema);
    if (schema) {
      auto stmt = sqlite::Prepare(db.get(), "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, 0, ?1, ?2)");
      if (!stmt) {
        schema = std::unexpected(stmt.error());
      } else {
        const std::string mac = HeadMac(key, 0, kGenesisHash);
        BindText(stmt->get(), 1, kGenesisHash);
        BindText(stmt->get(), 2, mac);
        if (sqlite3_step(stmt->get()) != SQLITE_DONE) schema = sqlite::Fail(db.get(), "audit: create head");
      }
    }
    if (!schema) {
      (void)sqlite::Exec(db.get(), "ROLLBACK");
      return schema;
    }
    return sqlite::Exec(db.get(), "COMMIT");
  }

  // Checks an existing log against its anchors; brings a lagging head file forward.
  core::Result<void> CheckExisting() {
    auto key_read = ReadKeyFile(paths.key);
    if (!key_read) return Tampered(paths.db, key_read.error().message);
    key = *std::move(key_read);

    if (auto ok = sqlite::Exec(db.get(), "BEGIN"); !ok) return ok;
    auto checked = CheckInReadTransaction();
    (void)sqlite::Exec(db.get(), "COMMIT");
    if (!checked) return std::unexpected(checked.error());
    if (checked->first) UpdateHeadFile(checked->second);
    return {};
  }

  // {head file must be rewritten, head}
  core::Result<std::pair<bool, AuditHead>> CheckInReadTransaction() {
    auto row = ReadHeadRow();
    if (!row) return std::unexpected(row.error());
    if (!*row) return Tampered(paths.db, "the head record is missing");
    const AuditHead head = (*row)->first;
    if (!ConstantTimeEqual((*row)->second, HeadMac(key, head.seq, head.hash))) {
      return Tampered(paths.db, "the head record's MAC does not match");
    }
    auto last = ReadLastRow();
    if (!last) return std::unexpected(last.error());
    if (last->seq != head.seq || last->hash != head.hash) {
      return Tampered(paths.db, fmt::format("the head record names seq {} but the newest record is seq {}",
                                            head.seq, last->seq));
    }
    auto file = ReadHeadFile(paths.head);
    if (!file) return Tampered(paths.db, file.error().message);
    if (!*file) {
      // Only a brand-new log may lack its head file (creation died before writing it).
      if (head.seq != 0) return Tampered(paths.db, fmt::format("{} is missing", paths.head));
      return std::pair(true, head);
    }
    const HeadAnchor& anchor = **file;
    if (anchor.seq > head.seq) {
      return Tampered(paths.db, fmt::format("the head file names seq {} but the log ends at seq {}",
                                            anchor.seq, head.seq));
    }
    auto hash = HashAt(anchor.seq);
    if (!hash) return std::unexpected(hash.error());
    if (!*hash || **hash != anchor.hash) {
      return Tampered(paths.db, fmt::format("record {} does not match the head file", anchor.seq));
    }
    return std::pair(anchor.seq != head.seq, head);
  }
};

SqliteAuditStore::SqliteAuditStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteAuditStore::~SqliteAuditStore() = default;

core::Result<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Open(const std::string& db_path,
                                                                       SqliteAuditStoreOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->paths = PathsForDb(db_path);
  impl->options = std::move(options);

  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(db_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return core::Fail(ErrorCode::kInternal, fmt::format("cannot create {}: {}", parent.string(), ec.message()));
  }

  auto db = sqlite::Open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db) return std::unexpected(db.error());
  impl->db = *std::move(db);
  sqlite3* raw = impl->db.get();
  sqlite3_busy_timeout(raw, impl->options.busy_timeout_ms);

  {
    auto stmt = sqlite::Prepare(raw, "PRAGMA journal_mode = WAL");
    if (!stmt) return std::unexpected(stmt.error());
    if (sqlite3_step(stmt->get()) != SQLITE_ROW) return sqlite::Fail(raw, "audit: journal_mode");
    if (sqlite::ColumnString(stmt->get(), 0) != "wal") {
      return core::Fail(ErrorCode::kInternal, fmt::format("cannot put {} in WAL mode", db_path));
    }
  }
  const char* sync = impl->options.durability == Durability::kFull ? "PRAGMA synchronous = FULL"
                                                                   : "PRAGMA synchronous = NORMAL";
  if (auto ok = sqlite::Exec(raw, sync); !ok) return std::unexpected(ok.error());

  auto exists = sqlite::TableExists(raw, "audit_log");
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) {
    // A missing table is a new log, unless the head file says records existed.
    auto file = ReadHeadFile(impl->paths.head);
    if (!file) return Tampered(db_path, file.error().message);
    if (*file && (*file)->seq > 0) {
      return Tampered(db_path, fmt::format("the log is empty but its head file names seq {}", (*file)->seq));
    }
    if (auto ok = impl->Create(); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = impl->Prepare(); !ok) return std::unexpected(ok.error());
  if (*exists) {
    if (auto ok = impl->CheckExisting(); !ok) return std::unexpected(ok.error());
  }
  return std::unique_ptr<SqliteAuditStore>(new SqliteAuditStore(std::move(impl)));
}

core::Result<AuditRecord> SqliteAuditStore::Append(std::string_view kind, std::string_view body) {
  std::lock_guard lock(impl_->mu);
  std::vector<AuditRecord> out;
  const AppendEntry entry{kind, body};
  auto head = impl_->AppendLocked(std::span(&entry, 1), &out);
  if (!head) return std::unexpected(head.error());
  return std::move(out.front());
}

core::Result<AuditHead> SqliteAuditStore::AppendBatch(std::span<const AppendEntry> entries) {
  std::lock_guard lock(impl_->mu);
  if (entries.empty()) {
    auto row = impl_->ReadHeadRow();
    if (!row) return std::unexpected(row.error());
    if (!*row) return Tampered(impl_->paths.db, "the head record is missing");
    return (*row)->first;
  }
  return impl_->AppendLocked(entries, nullptr);
}

core::Result<std::vector<AuditRecord>> SqliteAuditStore::ReadRange(std::int64_t from_seq, std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  std::vector<AuditRecord> out;
  if (limit == 0) return out;
  sqlite3_stmt* s = impl_->select_range.get();
  sqlite::ResetGuard reset(s);
  sqlite3_bind_int64(s, 1, from_seq);
  sqlite3_bind_int64(s, 2, limit > static_cast<std::size_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(limit));
  while (true) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return sqlite::Fail(impl_->db.get(), "audit: read range");
    AuditRecord r;
    r.seq = sqlite3_column_int64(s, 0);
    r.time_ms = sqlite3_column_int64(s, 1);
    r.kind = sqlite::ColumnString(s, 2);
    r.body = sqlite::ColumnString(s, 3);
    r.prev_hash = sqlite::ColumnString(s, 4);
    r.hash = sqlite::ColumnString(s, 5);
    out.push_back(std::move(r));
  }
  return out;
}

core::Result<AuditHead> SqliteAuditStore::Head() {
  std::lock_guard lock(impl_->mu);
  auto row = impl_->ReadHeadRow();
  if (!row) return std::unexpected(row.error());
  if (!*row) return Tampered(impl_->paths.db, "the head record is missing");
  return (*row)->first;
}

const AuditPaths& SqliteAuditStore::paths() const { return impl_->paths; }

std::string SqliteAuditStore::last_anchor_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->anchor_error;
}

}  // namespace meridian::audit
