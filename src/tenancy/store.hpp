#pragma once
// Where tenants, teams and keys live. The SQLite store (sqlite_tenancy_store.hpp) implements
// this interface now; a PostgreSQL store shared by several gateway instances can implement it
// later without the gateway, the admin API or the CLI changing (docs/tenancy.md, "Store
// interface", lists what an implementation must guarantee). Nothing here names SQLite.

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenancy/key_format.hpp"
#include "tenancy/model.hpp"

namespace meridian::tenancy {

// Why a store call failed. core::ErrorCode has no "conflict", so the store has its own codes;
// the admin API maps them to 404 / 409 / 500.
enum class StoreErrc {
  kNotFound,   // the tenant, team or key named does not exist
  kConflict,   // a duplicate id, or a delete refused because something still depends on it
  kInternal,   // storage failure (I/O, corruption, lock timeout)
};

struct StoreError {
  StoreErrc code = StoreErrc::kInternal;
  std::string message;  // names the object ("tenant 'acme' already exists"); never a key or hash
};

template <class T>
using StoreResult = std::expected<T, StoreError>;

inline std::unexpected<StoreError> StoreFail(StoreErrc code, std::string message) {
  return std::unexpected<StoreError>(StoreError{code, std::move(message)});
}

// A key as the directory loads it: the key and the digest of its secret.
struct KeyRecord {
  Key key;
  KeyHash hash{};
};

// Everything at one instant (one consistent read), for the in-memory directory.
struct TenancyData {
  std::vector<Tenant> tenants;  // ordered by id
  std::vector<Team> teams;      // ordered by (tenant, id)
  std::vector<KeyRecord> keys;  // ordered by id
};

struct KeyFilter {
  std::optional<std::string> tenant = std::nullopt;
  std::optional<std::string> team = std::nullopt;  // only with tenant
  std::optional<bool> revoked = std::nullopt;      // true: only revoked keys; false: only keys not revoked
};

// The object before and after an update.
template <class T>
struct Updated {
  T before;
  T after;
};

// Edits an object in place inside the store's write transaction. Must not fail (validate
// before calling Update*) and must not block; changes to the ids, created_ms and revoked_ms are
// ignored.
template <class T>
using Edit = std::function<void(T&)>;

// Every method is thread-safe, and a committed change is visible to every other store object
// on the same data (other connections, other processes) from their next call.
class TenancyStore {
 public:
  virtual ~TenancyStore() = default;

  // --- tenants ---
  // kConflict if the id exists.
  virtual StoreResult<void> CreateTenant(const Tenant& tenant) = 0;
  // kNotFound if absent.
  virtual StoreResult<Tenant> GetTenant(std::string_view id) = 0;
  virtual StoreResult<std::vector<Tenant>> ListTenants() = 0;  // ordered by id
  // Reads the tenant, applies `edit` and writes it back in one transaction, so no concurrent
  // update (another process's included) is lost. kNotFound if absent.
  virtual StoreResult<Updated<Tenant>> UpdateTenant(std::string_view id, const Edit<Tenant>& edit) = 0;
  // kNotFound if absent; kConflict while it has teams or keys that are not revoked.
  // Its revoked keys stay (history).
  virtual StoreResult<void> DeleteTenant(std::string_view id) = 0;

  // --- teams ---
  // kNotFound if the tenant does not exist; kConflict if the team exists in it.
  virtual StoreResult<void> CreateTeam(const Team& team) = 0;
  virtual StoreResult<Team> GetTeam(std::string_view tenant, std::string_view id) = 0;
  // kNotFound if the tenant does not exist. Ordered by id.
  virtual StoreResult<std::vector<Team>> ListTeams(std::string_view tenant) = 0;
  // As UpdateTenant. kNotFound if absent.
  virtual StoreResult<Updated<Team>> UpdateTeam(std::string_view tenant, std::string_view id,
                                                const Edit<Team>& edit) = 0;
  // kNotFound if absent; kConflict while it has keys that are not revoked.
  virtual StoreResult<void> DeleteTeam(std::string_view tenant, std::string_view id) = 0;

  // --- keys ---
  // Stores a new key with the digest of its secret. kNotFound if its tenant (or team) does
  // not exist; kConflict if the prefix or the digest exists (the caller generates a new key).
  virtual StoreResult<void> CreateKey(const Key& key, const KeyHash& hash) = 0;
  virtual StoreResult<Key> GetKey(std::string_view id) = 0;
  virtual StoreResult<std::vector<Key>> ListKeys(const KeyFilter& filter) = 0;  // ordered by id
  // As UpdateTenant; only name, settings and expires_ms can change. kNotFound if absent.
  virtual StoreResult<Updated<Key>> UpdateKey(std::string_view id, const Edit<Key>& edit) = 0;
  // Sets revoked_ms = now_ms unless already revoked; returns the key as stored afterwards
  // (an already revoked key keeps its first revocation time). kNotFound if absent.
  virtual StoreResult<Key> RevokeKey(std::string_view id, std::int64_t now_ms) = 0;
  // The key whose secret has this digest (revoked and expired ones too), or nullopt.
  virtual StoreResult<std::optional<Key>> FindKeyByHash(const KeyHash& hash) = 0;

  // --- for caches ---
  // A token that changes whenever any change has been committed since the last call, by this
  // object or any other (another process included). Only equality is meaningful. Cheap: it is
  // called before every authentication.
  virtual StoreResult<std::uint64_t> Version() = 0;
  // Everything, read consistently. Read the Version() first, then LoadAll(): a change committed
  // in between is then seen again at the next Version() check (never missed).
  virtual StoreResult<TenancyData> LoadAll() = 0;
};

}  // namespace meridian::tenancy
