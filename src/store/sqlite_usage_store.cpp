#include "store/sqlite_usage_store.hpp"

#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "audit/sqlite_util.hpp"

namespace meridian::store {

namespace sqlite = audit::sqlite;
using core::ErrorCode;

namespace {

using sqlite::BindText;
using sqlite::BindOptionalInt;
using sqlite::ColumnOptionalInt;

constexpr std::int64_t kApplicationId = 1297437511;  // "MUSG"

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS usage (
  id               INTEGER PRIMARY KEY,
  time_ms          INTEGER NOT NULL,
  day              TEXT NOT NULL,
  request_id       TEXT NOT NULL,
  tenant           TEXT NOT NULL,
  team             TEXT NOT NULL,
  key_prefix       TEXT NOT NULL,
  route            TEXT NOT NULL,
  alias            TEXT NOT NULL,
  model            TEXT NOT NULL,
  backend          TEXT NOT NULL,
  input_tokens     INTEGER,
  output_tokens    INTEGER,
  cached_tokens    INTEGER,
  reasoning_tokens INTEGER,
  cost_micro_usd   INTEGER,
  latency_us       INTEGER NOT NULL,
  status           INTEGER NOT NULL,
  error            TEXT NOT NULL,
  stream           INTEGER NOT NULL,
  attempts         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_day ON usage (day);
CREATE INDEX IF NOT EXISTS usage_tenant_day ON usage (tenant, day);
CREATE INDEX IF NOT EXISTS usage_key_day ON usage (key_prefix, day);
CREATE INDEX IF NOT EXISTS usage_model_day ON usage (model, day);
PRAGMA application_id = 1297437511;
PRAGMA user_version = 1;
)sql";

constexpr std::string_view kInsert =
    "INSERT INTO usage (time_ms, day, request_id, tenant, team, key_prefix, route, alias, model, backend, "
    "input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_micro_usd, latency_us, status, error, "
    "stream, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20)";

constexpr std::string_view kRecordColumns =
    "time_ms, request_id, tenant, team, key_prefix, route, alias, model, backend, input_tokens, output_tokens, "
    "cached_tokens, reasoning_tokens, cost_micro_usd, latency_us, status, error, stream, attempts";

core::Result<std::int64_t> PragmaInt(sqlite3* db, const char* sql) {
  auto stmt = sqlite::Prepare(db, sql);
  if (!stmt) return std::unexpected(stmt.error());
  if (sqlite3_step(stmt->get()) != SQLITE_ROW) return sqlite::Fail(db, "usage: pragma");
  return sqlite3_column_int64(stmt->get(), 0);
}

core::Result<UsageResult> RunQuery(sqlite3* db, const UsageQuery& q) {
  if (auto ok = ValidateQuery(q); !ok) return std::unexpected(ok.error());
  std::string where;
  std::vector<std::string> binds;
  auto cond = [&](std::string_view sql, const std::string& value, int uses = 1) {
    where += where.empty() ? " WHERE " : " AND ";
    where += sql;
    for (int i = 0; i < uses; ++i) binds.push_back(value);
  };
  // Placeholders are numbered in order of appearance.
  if (q.tenant) cond(fmt::format("tenant = ?{}", binds.size() + 1), *q.tenant);
  if (q.key_prefix) cond(fmt::format("key_prefix = ?{}", binds.size() + 1), *q.key_prefix);
  if (q.model) cond(fmt::format("(model = ?{0} OR alias = ?{0})", binds.size() + 1), *q.model);
  if (q.from) cond(fmt::format("day >= ?{}", binds.size() + 1), *q.from);
  if (q.to) cond(fmt::format("day <= ?{}", binds.size() + 1), *q.to);

  UsageResult result;
  std::string sql;
  if (q.records) {
    result.records_query = true;
    sql = fmt::format("SELECT {} FROM usage{} ORDER BY id", kRecordColumns, where);
    if (q.limit > 0) sql += fmt::format(" LIMIT {}", q.limit);
  } else {
    result.group_by = q.group_by;
    std::string cols;
    for (GroupKey k : q.group_by) {
      cols += GroupKeyColumn(k);
      cols += ", ";
    }
    sql = fmt::format(
        "SELECT {}COUNT(*), COALESCE(SUM(status >= 400), 0), COALESCE(SUM(input_tokens), 0), "
        "COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(reasoning_tokens), 0), "
        "SUM(cost_micro_usd), COALESCE(SUM(latency_us) / COUNT(*), 0) FROM usage{}",
        cols, where);
    if (!q.group_by.empty()) {
      std::string keys = cols.substr(0, cols.size() - 2);
      sql += fmt::format(" GROUP BY {0} ORDER BY {0}", keys);
    }
  }
  auto stmt = sqlite::Prepare(db, sql);
  if (!stmt) return std::unexpected(stmt.error());
  sqlite3_stmt* s = stmt->get();
  // Each value is bound once, at its own placeholder number (the model's is used twice).
  for (std::size_t i = 0; i < binds.size(); ++i) BindText(s, static_cast<int>(i + 1), binds[i]);
  for (;;) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return sqlite::Fail(db, "usage: query");
    if (q.records) {
      UsageRecord r;
      r.time_ms = sqlite3_column_int64(s, 0);
      r.request_id = sqlite::ColumnString(s, 1);
      r.tenant = sqlite::ColumnString(s, 2);
      r.team = sqlite::ColumnString(s, 3);
      r.key_prefix = sqlite::ColumnString(s, 4);
      r.route = sqlite::ColumnString(s, 5);
      r.alias = sqlite::ColumnString(s, 6);
      r.model = sqlite::ColumnString(s, 7);
      r.backend = sqlite::ColumnString(s, 8);
      r.input_tokens = ColumnOptionalInt(s, 9);
      r.output_tokens = ColumnOptionalInt(s, 10);
      r.cached_tokens = ColumnOptionalInt(s, 11);
      r.reasoning_tokens = ColumnOptionalInt(s, 12);
      r.cost_micro_usd = ColumnOptionalInt(s, 13);
      r.latency_us = sqlite3_column_int64(s, 14);
      r.status = sqlite3_column_int(s, 15);
      r.error = sqlite::ColumnString(s, 16);
      r.stream = sqlite3_column_int(s, 17) != 0;
      r.attempts = sqlite3_column_int(s, 18);
      result.records.push_back(std::move(r));
    } else {
      UsageTotals t;
      int c = 0;
      for (std::size_t i = 0; i < q.group_by.size(); ++i) t.keys.push_back(sqlite::ColumnString(s, c++));
      t.requests = sqlite3_column_int64(s, c++);
      t.errors = sqlite3_column_int64(s, c++);
      t.input_tokens = sqlite3_column_int64(s, c++);
      t.output_tokens = sqlite3_column_int64(s, c++);
      t.cached_tokens = sqlite3_column_int64(s, c++);
      t.reasoning_tokens = sqlite3_column_int64(s, c++);
      t.cost_micro_usd = ColumnOptionalInt(s, c++);
      t.avg_latency_us = sqlite3_column_int64(s, c++);
      result.totals.push_back(std::move(t));
    }
  }
  return result;
}

}  // namespace

struct SqliteUsageStore::Impl {
  std::string path;
  std::mutex mu;
  sqlite::DbPtr db;
  sqlite::StmtPtr begin, commit, rollback, insert;

  core::Result<void> Step(sqlite3_stmt* s, const char* what) {
    sqlite::ResetGuard reset(s);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite::Fail(db.get(), what);
    return {};
  }

  core::Result<void> InsertAll(std::span<const UsageRecord> records) {
    sqlite3_stmt* s = insert.get();
    for (const UsageRecord& r : records) {
      sqlite::ResetGuard reset(s);
      sqlite3_bind_int64(s, 1, r.time_ms);
      BindText(s, 2, UtcDay(r.time_ms));
      BindText(s, 3, r.request_id);
      BindText(s, 4, r.tenant);
      BindText(s, 5, r.team);
      BindText(s, 6, r.key_prefix);
      BindText(s, 7, r.route);
      BindText(s, 8, r.alias);
      BindText(s, 9, r.model);
      BindText(s, 10, r.backend);
      BindOptionalInt(s, 11, r.input_tokens);
      BindOptionalInt(s, 12, r.output_tokens);
      BindOptionalInt(s, 13, r.cached_tokens);
      BindOptionalInt(s, 14, r.reasoning_tokens);
      BindOptionalInt(s, 15, r.cost_micro_usd);
      sqlite3_bind_int64(s, 16, r.latency_us);
      sqlite3_bind_int(s, 17, r.status);
      BindText(s, 18, r.error);
      sqlite3_bind_int(s, 19, r.stream ? 1 : 0);
      sqlite3_bind_int(s, 20, r.attempts);
      if (sqlite3_step(s) != SQLITE_DONE) return sqlite::Fail(db.get(), "usage: insert");
    }
    return {};
  }
};

SqliteUsageStore::SqliteUsageStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteUsageStore::~SqliteUsageStore() = default;

const std::string& SqliteUsageStore::path() const { return impl_->path; }

core::Result<std::unique_ptr<SqliteUsageStore>> SqliteUsageStore::Open(const std::string& db_path,
                                                                       SqliteUsageStoreOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->path = db_path;
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(db_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return core::Fail(ErrorCode::kInternal, fmt::format("cannot create {}: {}", parent.string(), ec.message()));

  auto db = sqlite::Open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db) return std::unexpected(db.error());
  impl->db = *std::move(db);
  sqlite3* raw = impl->db.get();
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  auto app_id = PragmaInt(raw, "PRAGMA application_id");
  if (!app_id) return std::unexpected(app_id.error());
  auto tables = PragmaInt(raw, "SELECT COUNT(*) FROM sqlite_master");
  if (!tables) return std::unexpected(tables.error());
  if (*app_id != kApplicationId && *tables > 0) {
    return core::Fail(ErrorCode::kInternal, fmt::format("{} is not a Meridian usage ledger", db_path));
  }
  {
    auto stmt = sqlite::Prepare(raw, "PRAGMA journal_mode = WAL");
    if (!stmt) return std::unexpected(stmt.error());
    if (sqlite3_step(stmt->get()) != SQLITE_ROW) return sqlite::Fail(raw, "usage: journal_mode");
    if (sqlite::ColumnString(stmt->get(), 0) != "wal") {
      return core::Fail(ErrorCode::kInternal, fmt::format("cannot put {} in WAL mode", db_path));
    }
  }
  if (auto ok = sqlite::Exec(raw, options.sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = sqlite::Exec(raw, kSchema); !ok) {
    return core::Fail(ErrorCode::kInternal, fmt::format("cannot create the ledger in {}: {}", db_path, ok.error().message));
  }
  struct {
    sqlite::StmtPtr* stmt;
    std::string_view sql;
  } const statements[] = {
      {&impl->begin, "BEGIN IMMEDIATE"},
      {&impl->commit, "COMMIT"},
      {&impl->rollback, "ROLLBACK"},
      {&impl->insert, kInsert},
  };
  for (const auto& s : statements) {
    auto prepared = sqlite::Prepare(raw, s.sql);
    if (!prepared) return std::unexpected(prepared.error());
    *s.stmt = *std::move(prepared);
  }
  return std::unique_ptr<SqliteUsageStore>(new SqliteUsageStore(std::move(impl)));
}

core::Result<void> SqliteUsageStore::AppendBatch(std::span<const UsageRecord> records) {
  if (records.empty()) return {};
  std::lock_guard lock(impl_->mu);
  if (auto ok = impl_->Step(impl_->begin.get(), "usage: begin"); !ok) return ok;
  auto inserted = impl_->InsertAll(records);
  if (!inserted) {
    (void)impl_->Step(impl_->rollback.get(), "usage: rollback");
    return inserted;
  }
  if (auto ok = impl_->Step(impl_->commit.get(), "usage: commit"); !ok) {
    (void)impl_->Step(impl_->rollback.get(), "usage: rollback");
    return ok;
  }
  return {};
}

core::Result<UsageResult> SqliteUsageStore::Query(const UsageQuery& query) { return QueryFile(impl_->path, query); }

core::Result<UsageResult> SqliteUsageStore::QueryFile(const std::string& db_path, const UsageQuery& query) {
  if (auto ok = ValidateQuery(query); !ok) return std::unexpected(ok.error());
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) {
    return core::Fail(ErrorCode::kNotFound, fmt::format("no usage ledger at {}", db_path));
  }
  auto db = sqlite::Open(db_path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  if (!db) return std::unexpected(db.error());
  sqlite3* raw = db->get();
  sqlite3_busy_timeout(raw, 5000);
  auto app_id = PragmaInt(raw, "PRAGMA application_id");
  if (!app_id) return std::unexpected(app_id.error());
  if (*app_id != kApplicationId) {
    return core::Fail(ErrorCode::kInternal, fmt::format("{} is not a Meridian usage ledger", db_path));
  }
  // One read transaction: every row of the answer comes from the same snapshot.
  if (auto ok = sqlite::Exec(raw, "BEGIN"); !ok) return std::unexpected(ok.error());
  auto result = RunQuery(raw, query);
  (void)sqlite::Exec(raw, "COMMIT");
  return result;
}

}  // namespace meridian::store
