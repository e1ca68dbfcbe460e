#pragma once
// The hot path: a presented key -> who it is and what it may do (docs/tenancy.md,
// "Authentication"). An in-memory index of every key, rebuilt from the store whenever the
// store's Version() changes — checked before every lookup, so a revocation committed by any
// process (the CLI included) refuses the key at its next request.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "limits/limits.hpp"
#include "tenancy/store.hpp"

namespace meridian::tenancy {

// One level's allow-list of model ids / alias names or backend ids.
using AllowList = std::vector<std::string>;  // sorted, non-empty

// The allow-lists of every level that has one (tenant, team, key). A name is allowed when every
// list admits it: the intersection across levels. No list = everything allowed.
struct EffectiveRestrictions {
  std::vector<AllowList> models;
  std::vector<AllowList> backends;

  // True if every level's model list holds `model_id` or `alias` (the name the client sent,
  // "" when it was no alias). Listing a model id admits every alias of it; listing an alias
  // admits that alias only. Pure.
  bool AllowsModel(std::string_view model_id, std::string_view alias = {}) const;
  // True if every level's backend list holds `backend_id`. Pure.
  bool AllowsBackend(std::string_view backend_id) const;
  // The names in every level's list (the plain intersection, sorted; for the admin view and
  // /v1/models), or nullopt when no level has a list (everything allowed).
  std::optional<std::vector<std::string>> ModelIntersection() const;
  std::optional<std::vector<std::string>> BackendIntersection() const;
};

// What an accepted key resolves to. Immutable; shared by every request that uses the key until
// the next reload.
struct ResolvedKey {
  std::string tenant;
  std::string team;        // "" = none
  std::string key_id;      // the visible prefix; what records and messages may name
  std::string key_name;
  EffectiveRestrictions restrictions;
  // Bit (1 << int(core::DataClass)) per class declared by the tenant, the team or the key (the
  // union), like gateway::Caller::declared_mask.
  std::uint32_t declared_mask = 0;
  std::optional<std::int64_t> expires_ms;
  // The limiter's scope ids: tenant id, "tenant/team" ("" = no team), the key's prefix.
  std::string tenant_scope;
  std::string team_scope;
  std::string key_scope;
  limits::Scopes scopes() const { return limits::Scopes{tenant_scope, team_scope, key_scope}; }
};

enum class AuthStatus {
  kOk,
  kUnknown,       // not a key of this store (or not even of the key format)
  kRevoked,
  kExpired,
  kDisabled,      // its tenant or team is disabled
  kUnavailable,   // the store could not be read: refuse (fail closed), 503
};

// "ok", "unknown", "revoked", "expired", "disabled", "unavailable" (for logs and metrics; never
// shown to the client, who gets ClientMessage). Pure.
std::string_view AuthStatusName(AuthStatus status);
// What the client is told: one 401 message for every refused key — unknown, revoked, expired or
// disabled look the same, so a client learns nothing about keys it does not hold. kUnavailable
// has its own (503) message. Pure.
std::string_view ClientMessage(AuthStatus status);

struct AuthResult {
  AuthStatus status = AuthStatus::kUnknown;
  std::shared_ptr<const ResolvedKey> key;  // set iff status == kOk
  explicit operator bool() const { return status == AuthStatus::kOk; }
};

// The limits of one scope, for configuring a limits::Limiter.
struct ScopeEntry {
  limits::Level level = limits::Level::kTenant;
  std::string id;          // as in ResolvedKey's scope ids
  limits::ScopeLimits limits;
};

// Every scope of one load, ordered by (level, id). Immutable.
struct ScopeTable {
  std::uint64_t generation = 0;  // KeyDirectory::generation() of the load
  std::vector<ScopeEntry> entries;
};

// What changed between two scope tables: scopes to (re)configure, scopes to remove.
struct ScopeDiff {
  std::vector<ScopeEntry> configure;
  std::vector<std::pair<limits::Level, std::string>> remove;
};
// `before` nullptr = nothing configured yet (everything in `after` is configured). Pure.
ScopeDiff DiffScopes(const ScopeTable* before, const ScopeTable& after);

struct KeyDirectoryOptions {
  // Unix time in milliseconds, for expiry; defaults to the system clock. For tests.
  std::function<std::int64_t()> clock;
};

class KeyDirectory {
 public:
  // `store` must outlive the directory. Nothing is loaded until the first call.
  explicit KeyDirectory(TenancyStore& store, KeyDirectoryOptions options = {});
  KeyDirectory(const KeyDirectory&) = delete;
  KeyDirectory& operator=(const KeyDirectory&) = delete;

  // Checks the store's Version() (reloading the index when it changed), then looks the key's
  // SHA-256 up. The presented key is never stored, logged or put in a message. A key not of the
  // key format is kUnknown without touching the store. Thread-safe; concurrent callers share
  // one reload.
  AuthResult Authenticate(std::string_view presented_key);

  // Checks the version and reloads if needed without a lookup (e.g. from housekeeping, so the
  // limiter's scopes follow changes even when no request comes). Failure: the store's error.
  // Thread-safe.
  StoreResult<void> Refresh();

  // Calls `fn` for every scope of the current index: enabled tenants, enabled teams of enabled
  // tenants, and keys that are neither revoked nor expired (as of the last load) under them.
  // Loads the index first if nothing is loaded. Thread-safe; `fn` must not call back into the
  // directory.
  void ForEachScope(const std::function<void(limits::Level, std::string_view, const limits::ScopeLimits&)>& fn);

  // The scope table of the current index (reloaded if the version moved; the last loaded table,
  // or an empty one, if the store cannot be read). Compare generation() / use DiffScopes to apply only what changed.
  std::shared_ptr<const ScopeTable> scopes();

  // Increases by one at every reload; 0 before the first. Thread-safe.
  std::uint64_t generation() const;

 private:
  struct Index;
  // The current index, reloaded first if the store's version moved. Caller must not hold mu_.
  StoreResult<std::shared_ptr<const Index>> Current();

  TenancyStore& store_;
  KeyDirectoryOptions options_;
  mutable std::mutex mu_;  // guards index_ and the version check + reload
  std::shared_ptr<const Index> index_;
};

}  // namespace meridian::tenancy
