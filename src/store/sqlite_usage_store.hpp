#pragma once
// The usage ledger on SQLite: `<state_dir>/usage.db`, WAL mode, one table `usage` indexed for
// queries by tenant, key prefix, model and day (docs/store.md has the schema).

#include <memory>
#include <string>

#include "store/usage.hpp"

namespace meridian::store {

inline constexpr std::string_view kUsageDbFileName = "usage.db";

struct SqliteUsageStoreOptions {
  // synchronous=FULL: a committed batch survives power loss (strict durability). false:
  // synchronous=NORMAL, which survives a process crash but may lose the newest commits on
  // power loss (batched durability, whose window bounds that loss anyway).
  bool sync_full = false;
  int busy_timeout_ms = 5000;
};

class SqliteUsageStore final : public UsageStore {
 public:
  // Opens (creating the file, its parent directory and the schema if needed) the ledger at
  // `db_path` for appending. Failure: kInternal naming the file. The store is thread-safe.
  static core::Result<std::unique_ptr<SqliteUsageStore>> Open(const std::string& db_path,
                                                              SqliteUsageStoreOptions options = {});

  // Runs `query` over the ledger at `db_path`, opened read-only (for the CLI: safe while a
  // gateway appends). Failure: kNotFound when there is no ledger there, kInvalidRequest for an
  // invalid query, kInternal otherwise.
  static core::Result<UsageResult> QueryFile(const std::string& db_path, const UsageQuery& query);

  ~SqliteUsageStore() override;
  SqliteUsageStore(const SqliteUsageStore&) = delete;
  SqliteUsageStore& operator=(const SqliteUsageStore&) = delete;

  // UsageStore. AppendBatch uses the store's own connection under a mutex; Query opens a
  // read-only connection per call, so a query never waits for a batch commit.
  core::Result<void> AppendBatch(std::span<const UsageRecord> records) override;
  core::Result<UsageResult> Query(const UsageQuery& query) override;

  const std::string& path() const;

 private:
  struct Impl;
  explicit SqliteUsageStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meridian::store
