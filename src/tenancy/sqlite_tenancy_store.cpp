#include "tenancy/sqlite_tenancy_store.hpp"

#include <filesystem>
#include <functional>
#include <mutex>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "audit/sqlite_util.hpp"

namespace meridian::tenancy {

namespace sqlite = audit::sqlite;

namespace {

using sqlite::BindText;
using sqlite::BindOptionalInt;
using sqlite::ColumnOptionalInt;

constexpr std::int64_t kApplicationId = 1297368398;  // "MTEN"

// The settings columns, in the order BindSettings / ReadSettings use.
#define MERIDIAN_SETTINGS_COLUMNS                                                                      \
  "usd_per_day_micro, usd_per_month_micro, requests_per_minute, input_tokens_per_minute, "             \
  "output_tokens_per_minute, concurrent_requests, models, backends, data_classes"
#define MERIDIAN_SETTINGS_DECL                                                                         \
  "usd_per_day_micro INTEGER, usd_per_month_micro INTEGER, requests_per_minute INTEGER, "              \
  "input_tokens_per_minute INTEGER, output_tokens_per_minute INTEGER, concurrent_requests INTEGER, "   \
  "models TEXT NOT NULL, backends TEXT NOT NULL, data_classes TEXT NOT NULL"
constexpr int kSettingsColumnCount = 9;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, disabled INTEGER NOT NULL, "
    "created_ms INTEGER NOT NULL, " MERIDIAN_SETTINGS_DECL ");"
    "CREATE TABLE IF NOT EXISTS teams (tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, "
    "disabled INTEGER NOT NULL, created_ms INTEGER NOT NULL, " MERIDIAN_SETTINGS_DECL ", PRIMARY KEY (tenant, id));"
    "CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, tenant TEXT NOT NULL, "
    "team TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER, expires_ms INTEGER, "
    MERIDIAN_SETTINGS_DECL ");"
    "CREATE INDEX IF NOT EXISTS keys_tenant_team ON keys (tenant, team);"
    "PRAGMA application_id = 1297368398;"
    "PRAGMA user_version = 1;";

constexpr const char* kTenantColumns = "id, name, disabled, created_ms, " MERIDIAN_SETTINGS_COLUMNS;
constexpr const char* kTeamColumns = "tenant, id, name, disabled, created_ms, " MERIDIAN_SETTINGS_COLUMNS;
constexpr const char* kKeyColumns =
    "id, tenant, team, name, created_ms, revoked_ms, expires_ms, " MERIDIAN_SETTINGS_COLUMNS ", hash";

std::string ListJson(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& item : items) a.emplace_back(item);
  return boost::json::serialize(a);
}

std::string ClassesJson(const std::vector<core::DataClass>& classes) {
  boost::json::array a;
  for (core::DataClass c : classes) a.emplace_back(core::DataClassName(c));
  return boost::json::serialize(a);
}

// Binds the nine settings columns at `first`..`first + 8`.
void BindSettings(sqlite3_stmt* s, int first, const Settings& st) {
  BindOptionalInt(s, first + 0, st.limits.usd_per_day_micro);
  BindOptionalInt(s, first + 1, st.limits.usd_per_month_micro);
  BindOptionalInt(s, first + 2, st.limits.requests_per_minute);
  BindOptionalInt(s, first + 3, st.limits.input_tokens_per_minute);
  BindOptionalInt(s, first + 4, st.limits.output_tokens_per_minute);
  BindOptionalInt(s, first + 5, st.limits.concurrent_requests);
  BindText(s, first + 6, ListJson(st.models));
  BindText(s, first + 7, ListJson(st.backends));
  BindText(s, first + 8, ClassesJson(st.data_classes));
}

// Reads what BindSettings wrote. Failure: the JSON lists are not what this store writes.
StoreResult<Settings> ReadSettings(sqlite3_stmt* s, int first) {
  Settings st;
  st.limits.usd_per_day_micro = ColumnOptionalInt(s, first + 0);
  st.limits.usd_per_month_micro = ColumnOptionalInt(s, first + 1);
  st.limits.requests_per_minute = ColumnOptionalInt(s, first + 2);
  st.limits.input_tokens_per_minute = ColumnOptionalInt(s, first + 3);
  st.limits.output_tokens_per_minute = ColumnOptionalInt(s, first + 4);
  st.limits.concurrent_requests = ColumnOptionalInt(s, first + 5);
  auto strings = [&](int col, auto&& add) -> bool {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(sqlite::ColumnString(s, col), ec);
    if (ec || !v.is_array()) return false;
    for (const auto& item : v.as_array()) {
      if (!item.is_string() || !add(std::string_view(item.as_string()))) return false;
    }
    return true;
  };
  const bool ok =
      strings(first + 6, [&](std::string_view x) { st.models.emplace_back(x); return true; }) &&
      strings(first + 7, [&](std::string_view x) { st.backends.emplace_back(x); return true; }) &&
      strings(first + 8, [&](std::string_view x) {
        auto c = core::ParseDataClass(x);
        if (c) st.data_classes.push_back(*c);
        return c.has_value();
      });
  if (!ok) return StoreFail(StoreErrc::kInternal, "tenancy store: a stored list is malformed");
  return st;
}

StoreResult<Tenant> ReadTenant(sqlite3_stmt* s) {
  Tenant t;
  t.id = sqlite::ColumnString(s, 0);
  t.name = sqlite::ColumnString(s, 1);
  t.disabled = sqlite3_column_int(s, 2) != 0;
  t.created_ms = sqlite3_column_int64(s, 3);
  auto st = ReadSettings(s, 4);
  if (!st) return std::unexpected(st.error());
  t.settings = std::move(*st);
  return t;
}

StoreResult<Team> ReadTeam(sqlite3_stmt* s) {
  Team t;
  t.tenant = sqlite::ColumnString(s, 0);
  t.id = sqlite::ColumnString(s, 1);
  t.name = sqlite::ColumnString(s, 2);
  t.disabled = sqlite3_column_int(s, 3) != 0;
  t.created_ms = sqlite3_column_int64(s, 4);
  auto st = ReadSettings(s, 5);
  if (!st) return std::unexpected(st.error());
  t.settings = std::move(*st);
  return t;
}

StoreResult<KeyRecord> ReadKey(sqlite3_stmt* s) {
  KeyRecord r;
  Key& k = r.key;
  k.id = sqlite::ColumnString(s, 0);
  k.tenant = sqlite::ColumnString(s, 1);
  k.team = sqlite::ColumnString(s, 2);
  k.name = sqlite::ColumnString(s, 3);
  k.created_ms = sqlite3_column_int64(s, 4);
  k.revoked_ms = ColumnOptionalInt(s, 5);
  k.expires_ms = ColumnOptionalInt(s, 6);
  auto st = ReadSettings(s, 7);
  if (!st) return std::unexpected(st.error());
  k.settings = std::move(*st);
  const std::string hash = sqlite::ColumnString(s, 7 + kSettingsColumnCount);
  if (hash.size() != r.hash.size()) return StoreFail(StoreErrc::kInternal, "tenancy store: a stored digest is malformed");
  std::copy(hash.begin(), hash.end(), r.hash.begin());
  return r;
}

StoreError Internal(sqlite3* db, std::string_view what) {
  return StoreError{StoreErrc::kInternal, sqlite::Fail(db, what).error().message};
}

}  // namespace

struct SqliteTenancyStore::Impl {
  std::string path;
  std::mutex mu;        // guards db
  sqlite::DbPtr db;
  std::mutex watch_mu;  // guards watch and data_version
  sqlite::DbPtr watch;
  sqlite::StmtPtr data_version;

  // Runs `body` in one BEGIN IMMEDIATE transaction: committed if it succeeds, rolled back if
  // not. Caller holds mu.
  StoreResult<void> Write(const std::function<StoreResult<void>()>& body) {
    if (auto ok = sqlite::Exec(db.get(), "BEGIN IMMEDIATE"); !ok) {
      return StoreFail(StoreErrc::kInternal, ok.error().message);
    }
    auto result = body();
    if (!result) {
      (void)sqlite::Exec(db.get(), "ROLLBACK");
      return result;
    }
    if (auto ok = sqlite::Exec(db.get(), "COMMIT"); !ok) {
      (void)sqlite::Exec(db.get(), "ROLLBACK");
      return StoreFail(StoreErrc::kInternal, ok.error().message);
    }
    return {};
  }

  StoreResult<sqlite::StmtPtr> Prepare(std::string_view sql) {
    auto stmt = sqlite::Prepare(db.get(), sql);
    if (!stmt) return StoreFail(StoreErrc::kInternal, stmt.error().message);
    return std::move(*stmt);
  }

  // Runs a statement without rows. Constraint violations become kConflict with `conflict`.
  StoreResult<void> Run(sqlite3_stmt* s, std::string_view what, std::string_view conflict = {}) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
    if ((rc & 0xff) == SQLITE_CONSTRAINT && !conflict.empty()) {
      return StoreFail(StoreErrc::kConflict, std::string(conflict));
    }
    return std::unexpected(Internal(db.get(), what));
  }

  // SELECT COUNT(*)-style queries with text parameters.
  StoreResult<std::int64_t> Count(std::string_view sql, std::initializer_list<std::string_view> params) {
    auto stmt = Prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    int i = 1;
    for (std::string_view p : params) BindText(stmt->get(), i++, p);
    if (sqlite3_step(stmt->get()) != SQLITE_ROW) return std::unexpected(Internal(db.get(), "tenancy: count"));
    return sqlite3_column_int64(stmt->get(), 0);
  }

  // Rows of `sql` (text parameters) read with `read`.
  template <class T, class Read>
  StoreResult<std::vector<T>> Rows(const std::string& sql, const std::vector<std::string>& params, Read read) {
    auto stmt = Prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    for (std::size_t i = 0; i < params.size(); ++i) BindText(stmt->get(), static_cast<int>(i + 1), params[i]);
    std::vector<T> out;
    for (;;) {
      const int rc = sqlite3_step(stmt->get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return std::unexpected(Internal(db.get(), "tenancy: query"));
      auto row = read(stmt->get());
      if (!row) return std::unexpected(row.error());
      out.push_back(std::move(*row));
    }
    return out;
  }

  StoreResult<std::vector<KeyRecord>> KeyRows(const std::string& where, const std::vector<std::string>& params) {
    return Rows<KeyRecord>(fmt::format("SELECT {} FROM keys{} ORDER BY id", kKeyColumns, where), params, ReadKey);
  }
};

SqliteTenancyStore::SqliteTenancyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteTenancyStore::~SqliteTenancyStore() = default;

const std::string& SqliteTenancyStore::path() const { return impl_->path; }

StoreResult<std::unique_ptr<SqliteTenancyStore>> SqliteTenancyStore::Open(const std::string& db_path,
                                                                          SqliteTenancyStoreOptions options) {
  auto fail = [](const core::Error& e) { return StoreFail(StoreErrc::kInternal, e.message); };
  auto impl = std::make_unique<Impl>();
  impl->path = db_path;
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(db_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return StoreFail(StoreErrc::kInternal, fmt::format("cannot create {}: {}", parent.string(), ec.message()));

  auto db = sqlite::Open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db) return fail(db.error());
  impl->db = *std::move(db);
  sqlite3* raw = impl->db.get();
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  auto pragma = [&](const char* sql) -> StoreResult<std::string> {
    auto stmt = sqlite::Prepare(raw, sql);
    if (!stmt) return fail(stmt.error());
    if (sqlite3_step(stmt->get()) != SQLITE_ROW) {
      return StoreFail(StoreErrc::kInternal, fmt::format("{} is not a database: {}", db_path, sqlite3_errmsg(raw)));
    }
    return sqlite::ColumnString(stmt->get(), 0);
  };
  auto app_id = pragma("PRAGMA application_id");
  if (!app_id) return std::unexpected(app_id.error());
  auto tables = pragma("SELECT COUNT(*) FROM sqlite_master");
  if (!tables) return std::unexpected(tables.error());
  if (*app_id != std::to_string(kApplicationId) && *tables != "0") {
    return StoreFail(StoreErrc::kInternal, fmt::format("{} is not a Meridian tenancy store", db_path));
  }
  auto mode = pragma("PRAGMA journal_mode = WAL");
  if (!mode) return std::unexpected(mode.error());
  if (*mode != "wal") return StoreFail(StoreErrc::kInternal, fmt::format("cannot put {} in WAL mode", db_path));
  // Admin changes are rare and a revocation must not be lost: commits are durable.
  if (auto ok = sqlite::Exec(raw, "PRAGMA synchronous = FULL"); !ok) return fail(ok.error());
  {
    // Two processes creating the schema at once: the write lock serialises them.
    std::lock_guard lock(impl->mu);
    auto created = impl->Write([&]() -> StoreResult<void> {
      if (auto ok = sqlite::Exec(raw, kSchema); !ok) {
        return StoreFail(StoreErrc::kInternal,
                         fmt::format("cannot create the tenancy store in {}: {}", db_path, ok.error().message));
      }
      return {};
    });
    if (!created) return std::unexpected(created.error());
  }

  auto watch = sqlite::Open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!watch) return fail(watch.error());
  impl->watch = *std::move(watch);
  sqlite3_busy_timeout(impl->watch.get(), options.busy_timeout_ms);
  auto dv = sqlite::Prepare(impl->watch.get(), "PRAGMA data_version");
  if (!dv) return fail(dv.error());
  impl->data_version = *std::move(dv);
  return std::unique_ptr<SqliteTenancyStore>(new SqliteTenancyStore(std::move(impl)));
}

// ---- tenants ----

StoreResult<void> SqliteTenancyStore::CreateTenant(const Tenant& t) {
  std::lock_guard lock(impl_->mu);
  return impl_->Write([&]() -> StoreResult<void> {
    auto stmt = impl_->Prepare(fmt::format("INSERT INTO tenants ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                                           "?11, ?12, ?13)",
                                           kTenantColumns));
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = stmt->get();
    BindText(s, 1, t.id);
    BindText(s, 2, t.name);
    sqlite3_bind_int(s, 3, t.disabled ? 1 : 0);
    sqlite3_bind_int64(s, 4, t.created_ms);
    BindSettings(s, 5, t.settings);
    return impl_->Run(s, "tenancy: insert tenant", fmt::format("tenant '{}' already exists", t.id));
  });
}

StoreResult<Tenant> SqliteTenancyStore::GetTenant(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->Rows<Tenant>(fmt::format("SELECT {} FROM tenants WHERE id = ?1", kTenantColumns),
                                  {std::string(id)}, ReadTenant);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return StoreFail(StoreErrc::kNotFound, fmt::format("no tenant '{}'", id));
  return std::move(rows->front());
}

StoreResult<std::vector<Tenant>> SqliteTenancyStore::ListTenants() {
  std::lock_guard lock(impl_->mu);
  return impl_->Rows<Tenant>(fmt::format("SELECT {} FROM tenants ORDER BY id", kTenantColumns), {}, ReadTenant);
}

StoreResult<Updated<Tenant>> SqliteTenancyStore::UpdateTenant(std::string_view id, const Edit<Tenant>& edit) {
  std::lock_guard lock(impl_->mu);
  Updated<Tenant> out;
  auto done = impl_->Write([&]() -> StoreResult<void> {
    auto rows = impl_->Rows<Tenant>(fmt::format("SELECT {} FROM tenants WHERE id = ?1", kTenantColumns),
                                    {std::string(id)}, ReadTenant);
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return StoreFail(StoreErrc::kNotFound, fmt::format("no tenant '{}'", id));
    out.before = rows->front();
    out.after = std::move(rows->front());
    edit(out.after);
    out.after.id = out.before.id;
    out.after.created_ms = out.before.created_ms;
    Normalize(out.after.settings);
    auto stmt = impl_->Prepare(
        "UPDATE tenants SET name = ?2, disabled = ?3, usd_per_day_micro = ?4, usd_per_month_micro = ?5, "
        "requests_per_minute = ?6, input_tokens_per_minute = ?7, output_tokens_per_minute = ?8, "
        "concurrent_requests = ?9, models = ?10, backends = ?11, data_classes = ?12 WHERE id = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = stmt->get();
    const Tenant& t = out.after;
    BindText(s, 1, t.id);
    BindText(s, 2, t.name);
    sqlite3_bind_int(s, 3, t.disabled ? 1 : 0);
    BindSettings(s, 4, t.settings);
    return impl_->Run(s, "tenancy: update tenant");
  });
  if (!done) return std::unexpected(done.error());
  return out;
}

StoreResult<void> SqliteTenancyStore::DeleteTenant(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->Write([&]() -> StoreResult<void> {
    auto exists = impl_->Count("SELECT COUNT(*) FROM tenants WHERE id = ?1", {id});
    if (!exists) return std::unexpected(exists.error());
    if (*exists == 0) return StoreFail(StoreErrc::kNotFound, fmt::format("no tenant '{}'", id));
    auto teams = impl_->Count("SELECT COUNT(*) FROM teams WHERE tenant = ?1", {id});
    if (!teams) return std::unexpected(teams.error());
    auto keys = impl_->Count("SELECT COUNT(*) FROM keys WHERE tenant = ?1 AND revoked_ms IS NULL", {id});
    if (!keys) return std::unexpected(keys.error());
    if (*teams > 0 || *keys > 0) {
      return StoreFail(StoreErrc::kConflict,
                       fmt::format("tenant '{}' still has {} team(s) and {} key(s) not revoked; delete the teams and "
                                   "revoke the keys first (or disable the tenant)",
                                   id, *teams, *keys));
    }
    auto stmt = impl_->Prepare("DELETE FROM tenants WHERE id = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    BindText(stmt->get(), 1, id);
    return impl_->Run(stmt->get(), "tenancy: delete tenant");
  });
}

// ---- teams ----

StoreResult<void> SqliteTenancyStore::CreateTeam(const Team& t) {
  std::lock_guard lock(impl_->mu);
  return impl_->Write([&]() -> StoreResult<void> {
    auto tenant = impl_->Count("SELECT COUNT(*) FROM tenants WHERE id = ?1", {t.tenant});
    if (!tenant) return std::unexpected(tenant.error());
    if (*tenant == 0) return StoreFail(StoreErrc::kNotFound, fmt::format("no tenant '{}'", t.tenant));
    auto stmt = impl_->Prepare(fmt::format("INSERT INTO teams ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                                           "?11, ?12, ?13, ?14)",
                                           kTeamColumns));
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = stmt->get();
    BindText(s, 1, t.tenant);
    BindText(s, 2, t.id);
    BindText(s, 3, t.name);
    sqlite3_bind_int(s, 4, t.disabled ? 1 : 0);
    sqlite3_bind_int64(s, 5, t.created_ms);
    BindSettings(s, 6, t.settings);
    return impl_->Run(s, "tenancy: insert team",
                      fmt::format("team '{}' already exists in tenant '{}'", t.id, t.tenant));
  });
}

StoreResult<Team> SqliteTenancyStore::GetTeam(std::string_view tenant, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->Rows<Team>(fmt::format("SELECT {} FROM teams WHERE tenant = ?1 AND id = ?2", kTeamColumns),
                                {std::string(tenant), std::string(id)}, ReadTeam);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return StoreFail(StoreErrc::kNotFound, fmt::format("no team '{}' in tenant '{}'", id, tenant));
  return std::move(rows->front());
}

StoreResult<std::vector<Team>> SqliteTenancyStore::ListTeams(std::string_view tenant) {
  std::lock_guard lock(impl_->mu);
  auto exists = impl_->Count("SELECT COUNT(*) FROM tenants WHERE id = ?1", {tenant});
  if (!exists) return std::unexpected(exists.error());
  if (*exists == 0) return StoreFail(StoreErrc::kNotFound, fmt::format("no tenant '{}'", tenant));
  return impl_->Rows<Team>(fmt::format("SELECT {} FROM teams WHERE tenant = ?1 ORDER BY id", kTeamColumns),
                           {std::string(tenant)}, ReadTeam);
}

StoreResult<Updated<Team>> SqliteTenancyStore::UpdateTeam(std::string_view tenant, std::string_view id,
                                                          const Edit<Team>& edit) {
  std::lock_guard lock(impl_->mu);
  Updated<Team> out;
  auto done = impl_->Write([&]() -> StoreResult<void> {
    auto rows = impl_->Rows<Team>(fmt::format("SELECT {} FROM teams WHERE tenant = ?1 AND id = ?2", kTeamColumns),
                                  {std::string(tenant), std::string(id)}, ReadTeam);
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return StoreFail(StoreErrc::kNotFound, fmt::format("no team '{}' in tenant '{}'", id, tenant));
    out.before = rows->front();
    out.after = std::move(rows->front());
    edit(out.after);
    out.after.tenant = out.before.tenant;
    out.after.id = out.before.id;
    out.after.created_ms = out.before.created_ms;
    Normalize(out.after.settings);
    auto stmt = impl_->Prepare(
        "UPDATE teams SET name = ?3, disabled = ?4, usd_per_day_micro = ?5, usd_per_month_micro = ?6, "
        "requests_per_minute = ?7, input_tokens_per_minute = ?8, output_tokens_per_minute = ?9, "
        "concurrent_requests = ?10, models = ?11, backends = ?12, data_classes = ?13 WHERE tenant = ?1 AND id = ?2");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = stmt->get();
    const Team& t = out.after;
    BindText(s, 1, t.tenant);
    BindText(s, 2, t.id);
    BindText(s, 3, t.name);
    sqlite3_bind_int(s, 4, t.disabled ? 1 : 0);
    BindSettings(s, 5, t.settings);
    return impl_->Run(s, "tenancy: update team");
  });
  if (!done) return std::unexpected(done.error());
  return out;
}

StoreResult<void> SqliteTenancyStore::DeleteTeam(std::string_view tenant, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->Write([&]() -> StoreResult<void> {
    auto exists = impl_->Count("SELECT COUNT(*) FROM teams WHERE tenant = ?1 AND id = ?2", {tenant, id});
    if (!exists) return std::unexpected(exists.error());
    if (*exists == 0) return StoreFail(StoreErrc::kNotFound, fmt::format("no team '{}' in tenant '{}'", id, tenant));
    auto keys = impl_->Count("SELECT COUNT(*) FROM keys WHERE tenant = ?1 AND team = ?2 AND revoked_ms IS NULL",
                             {tenant, id});
    if (!keys) return std::unexpected(keys.error());
    if (*keys > 0) {
      return StoreFail(StoreErrc::kConflict,
                       fmt::format("team '{}' of tenant '{}' still has {} key(s) not revoked; revoke them first", id,
                                   tenant, *keys));
    }
    auto stmt = impl_->Prepare("DELETE FROM teams WHERE tenant = ?1 AND id = ?2");
    if (!stmt) return std::unexpected(stmt.error());
    BindText(stmt->get(), 1, tenant);
    BindText(stmt->get(), 2, id);
    return impl_->Run(stmt->get(), "tenancy: delete team");
  });
}

// ---- keys ----

StoreResult<void> SqliteTenancyStore::CreateKey(const Key& k, const KeyHash& hash) {
  std::lock_guard lock(impl_->mu);
  return impl_->Write([&]() -> StoreResult<void> {
    auto tenant = impl_->Count("SELECT COUNT(*) FROM tenants WHERE id = ?1", {k.tenant});
    if (!tenant) return std::unexpected(tenant.error());
    if (*tenant == 0) return StoreFail(StoreErrc::kNotFound, fmt::format("no tenant '{}'", k.tenant));
    if (!k.team.empty()) {
      auto team = impl_->Count("SELECT COUNT(*) FROM teams WHERE tenant = ?1 AND id = ?2", {k.tenant, k.team});
      if (!team) return std::unexpected(team.error());
      if (*team == 0) {
        return StoreFail(StoreErrc::kNotFound, fmt::format("no team '{}' in tenant '{}'", k.team, k.tenant));
      }
    }
    auto stmt = impl_->Prepare(fmt::format("INSERT INTO keys ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                                           "?12, ?13, ?14, ?15, ?16, ?17)",
                                           kKeyColumns));
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = stmt->get();
    BindText(s, 1, k.id);
    BindText(s, 2, k.tenant);
    BindText(s, 3, k.team);
    BindText(s, 4, k.name);
    sqlite3_bind_int64(s, 5, k.created_ms);
    BindOptionalInt(s, 6, k.revoked_ms);
    BindOptionalInt(s, 7, k.expires_ms);
    BindSettings(s, 8, k.settings);
    sqlite3_bind_blob(s, 8 + kSettingsColumnCount, hash.data(), static_cast<int>(hash.size()), SQLITE_TRANSIENT);
    return impl_->Run(s, "tenancy: insert key", fmt::format("key '{}' already exists", k.id));
  });
}

StoreResult<Key> SqliteTenancyStore::GetKey(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->KeyRows(" WHERE id = ?1", {std::string(id)});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return StoreFail(StoreErrc::kNotFound, fmt::format("no key '{}'", id));
  return std::move(rows->front().key);
}

StoreResult<std::vector<Key>> SqliteTenancyStore::ListKeys(const KeyFilter& filter) {
  std::string where;
  std::vector<std::string> params;
  auto cond = [&](std::string_view sql) { where += where.empty() ? " WHERE " : " AND "; where += sql; };
  if (filter.tenant) {
    params.push_back(*filter.tenant);
    cond(fmt::format("tenant = ?{}", params.size()));
  }
  if (filter.team) {
    params.push_back(*filter.team);
    cond(fmt::format("team = ?{}", params.size()));
  }
  if (filter.revoked) cond(*filter.revoked ? "revoked_ms IS NOT NULL" : "revoked_ms IS NULL");
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->KeyRows(where, params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<Key> out;
  out.reserve(rows->size());
  for (auto& r : *rows) out.push_back(std::move(r.key));
  return out;
}

StoreResult<Updated<Key>> SqliteTenancyStore::UpdateKey(std::string_view id, const Edit<Key>& edit) {
  std::lock_guard lock(impl_->mu);
  Updated<Key> out;
  auto done = impl_->Write([&]() -> StoreResult<void> {
    auto rows = impl_->KeyRows(" WHERE id = ?1", {std::string(id)});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return StoreFail(StoreErrc::kNotFound, fmt::format("no key '{}'", id));
    out.before = rows->front().key;
    out.after = std::move(rows->front().key);
    edit(out.after);
    // Only name, settings and expires_ms change.
    Key& k = out.after;
    k.id = out.before.id;
    k.tenant = out.before.tenant;
    k.team = out.before.team;
    k.created_ms = out.before.created_ms;
    k.revoked_ms = out.before.revoked_ms;
    Normalize(k.settings);
    auto stmt = impl_->Prepare(
        "UPDATE keys SET name = ?2, expires_ms = ?3, usd_per_day_micro = ?4, usd_per_month_micro = ?5, "
        "requests_per_minute = ?6, input_tokens_per_minute = ?7, output_tokens_per_minute = ?8, "
        "concurrent_requests = ?9, models = ?10, backends = ?11, data_classes = ?12 WHERE id = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = stmt->get();
    BindText(s, 1, k.id);
    BindText(s, 2, k.name);
    BindOptionalInt(s, 3, k.expires_ms);
    BindSettings(s, 4, k.settings);
    return impl_->Run(s, "tenancy: update key");
  });
  if (!done) return std::unexpected(done.error());
  return out;
}

StoreResult<Key> SqliteTenancyStore::RevokeKey(std::string_view id, std::int64_t now_ms) {
  std::lock_guard lock(impl_->mu);
  Key revoked;
  auto done = impl_->Write([&]() -> StoreResult<void> {
    auto stmt = impl_->Prepare("UPDATE keys SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL");
    if (!stmt) return std::unexpected(stmt.error());
    BindText(stmt->get(), 1, id);
    sqlite3_bind_int64(stmt->get(), 2, now_ms);
    if (auto ok = impl_->Run(stmt->get(), "tenancy: revoke key"); !ok) return ok;
    auto rows = impl_->KeyRows(" WHERE id = ?1", {std::string(id)});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return StoreFail(StoreErrc::kNotFound, fmt::format("no key '{}'", id));
    revoked = std::move(rows->front().key);
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return revoked;
}

StoreResult<std::optional<Key>> SqliteTenancyStore::FindKeyByHash(const KeyHash& hash) {
  std::lock_guard lock(impl_->mu);
  auto stmt = impl_->Prepare(fmt::format("SELECT {} FROM keys WHERE hash = ?1", kKeyColumns));
  if (!stmt) return std::unexpected(stmt.error());
  sqlite3_bind_blob(stmt->get(), 1, hash.data(), static_cast<int>(hash.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_DONE) return std::optional<Key>();
  if (rc != SQLITE_ROW) return std::unexpected(Internal(impl_->db.get(), "tenancy: find key"));
  auto row = ReadKey(stmt->get());
  if (!row) return std::unexpected(row.error());
  return std::optional<Key>(std::move(row->key));
}

// ---- caches ----

StoreResult<std::uint64_t> SqliteTenancyStore::Version() {
  std::lock_guard lock(impl_->watch_mu);
  sqlite3_stmt* s = impl_->data_version.get();
  sqlite::ResetGuard reset(s);
  if (sqlite3_step(s) != SQLITE_ROW) return std::unexpected(Internal(impl_->watch.get(), "tenancy: data_version"));
  return static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
}

StoreResult<TenancyData> SqliteTenancyStore::LoadAll() {
  std::lock_guard lock(impl_->mu);
  // One read transaction: the three tables come from the same snapshot.
  if (auto ok = sqlite::Exec(impl_->db.get(), "BEGIN"); !ok) return StoreFail(StoreErrc::kInternal, ok.error().message);
  TenancyData data;
  auto load = [&]() -> StoreResult<void> {
    auto tenants = impl_->Rows<Tenant>(fmt::format("SELECT {} FROM tenants ORDER BY id", kTenantColumns), {}, ReadTenant);
    if (!tenants) return std::unexpected(tenants.error());
    auto teams = impl_->Rows<Team>(fmt::format("SELECT {} FROM teams ORDER BY tenant, id", kTeamColumns), {}, ReadTeam);
    if (!teams) return std::unexpected(teams.error());
    auto keys = impl_->KeyRows("", {});
    if (!keys) return std::unexpected(keys.error());
    data.tenants = std::move(*tenants);
    data.teams = std::move(*teams);
    data.keys = std::move(*keys);
    return {};
  };
  auto ok = load();
  (void)sqlite::Exec(impl_->db.get(), "COMMIT");
  if (!ok) return std::unexpected(ok.error());
  return data;
}

}  // namespace meridian::tenancy
