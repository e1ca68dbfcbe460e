#pragma once
// The tenancy store on SQLite: `<state_dir>/tenancy.db`, WAL mode, tables tenants, teams and
// keys (docs/tenancy.md has the schema). Several processes may open the same file: every write
// is one BEGIN IMMEDIATE transaction, and Version() is SQLite's `PRAGMA data_version` read on a
// connection of its own, so a commit by the CLI is seen by the gateway's next Version().

#include <memory>
#include <string>
#include <string_view>

#include "tenancy/store.hpp"

namespace meridian::tenancy {

inline constexpr std::string_view kTenancyDbFileName = "tenancy.db";

struct SqliteTenancyStoreOptions {
  // Wait this long for another process's write lock before failing with kInternal.
  int busy_timeout_ms = 5000;
};

class SqliteTenancyStore final : public TenancyStore {
 public:
  // Opens (creating the file, its parent directory and the schema if needed) the store at
  // `db_path`. Failure: StoreErrc::kInternal naming the file (not a database, another
  // application's database, cannot create). The caller owns the store; it is thread-safe.
  static StoreResult<std::unique_ptr<SqliteTenancyStore>> Open(const std::string& db_path,
                                                               SqliteTenancyStoreOptions options = {});

  ~SqliteTenancyStore() override;
  SqliteTenancyStore(const SqliteTenancyStore&) = delete;
  SqliteTenancyStore& operator=(const SqliteTenancyStore&) = delete;

  // TenancyStore. Reads and writes share one connection under a mutex; Version() uses a second
  // connection under its own mutex, so it never waits for a write in this process.
  StoreResult<void> CreateTenant(const Tenant& tenant) override;
  StoreResult<Tenant> GetTenant(std::string_view id) override;
  StoreResult<std::vector<Tenant>> ListTenants() override;
  StoreResult<Updated<Tenant>> UpdateTenant(std::string_view id, const Edit<Tenant>& edit) override;
  StoreResult<void> DeleteTenant(std::string_view id) override;
  StoreResult<void> CreateTeam(const Team& team) override;
  StoreResult<Team> GetTeam(std::string_view tenant, std::string_view id) override;
  StoreResult<std::vector<Team>> ListTeams(std::string_view tenant) override;
  StoreResult<Updated<Team>> UpdateTeam(std::string_view tenant, std::string_view id,
                                        const Edit<Team>& edit) override;
  StoreResult<void> DeleteTeam(std::string_view tenant, std::string_view id) override;
  StoreResult<void> CreateKey(const Key& key, const KeyHash& hash) override;
  StoreResult<Key> GetKey(std::string_view id) override;
  StoreResult<std::vector<Key>> ListKeys(const KeyFilter& filter) override;
  StoreResult<Updated<Key>> UpdateKey(std::string_view id, const Edit<Key>& edit) override;
  StoreResult<Key> RevokeKey(std::string_view id, std::int64_t now_ms) override;
  StoreResult<std::optional<Key>> FindKeyByHash(const KeyHash& hash) override;
  StoreResult<std::uint64_t> Version() override;
  StoreResult<TenancyData> LoadAll() override;

  const std::string& path() const;

 private:
  struct Impl;
  explicit SqliteTenancyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meridian::tenancy
