#pragma once
// Tenants ⊃ teams ⊃ virtual keys (issue 6; docs/tenancy.md). Plain values: what the store keeps
// and the admin API shows. A key's secret is never part of this model — only its visible prefix
// (the key's id) is; the store keeps the SHA-256 of the secret beside it (store.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/data_class.hpp"
#include "limits/limits.hpp"

namespace meridian::tenancy {

// What one level (tenant, team or key) allows and declares. Every level has the same settings;
// a key's effective settings combine its tenant's, its team's and its own (directory.hpp).
struct Settings {
  limits::ScopeLimits limits;
  // Allowed model ids or alias names; empty = all. Kept sorted and without duplicates.
  std::vector<std::string> models;
  // Allowed backend ids; empty = all. Kept sorted and without duplicates.
  std::vector<std::string> backends;
  // Classes declared for all traffic of this level: added to what the classifier finds, like
  // auth.keys[].data_classes in the configuration. Kept in enum order without duplicates.
  std::vector<core::DataClass> data_classes;
  bool operator==(const Settings& other) const;
};

// limits::ScopeLimits has no operator== of its own. Pure.
bool SameLimits(const limits::ScopeLimits& a, const limits::ScopeLimits& b);

struct Tenant {
  std::string id;            // IsValidId
  std::string name;          // display name, free text ("" = none)
  Settings settings;
  bool disabled = false;     // a disabled tenant's keys are refused (not revoked: enabling restores them)
  std::int64_t created_ms = 0;
  bool operator==(const Tenant&) const = default;
};

struct Team {
  std::string tenant;        // the tenant it belongs to
  std::string id;            // IsValidId; unique within its tenant
  std::string name;
  Settings settings;
  bool disabled = false;
  std::int64_t created_ms = 0;
  bool operator==(const Team&) const = default;
};

struct Key {
  std::string id;            // the key's visible prefix, e.g. "mk-7Hq2ZbT0x" (key_format.hpp)
  std::string tenant;
  std::string team;          // "" = the key belongs to no team
  std::string name;          // display name, free text
  Settings settings;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> revoked_ms;  // set once, never cleared
  std::optional<std::int64_t> expires_ms;  // refused at and after this unix time (ms)
  bool operator==(const Key&) const = default;
};

// Largest number of entries in models / backends, and the longest entry or display name.
inline constexpr std::size_t kMaxListEntries = 256;
inline constexpr std::size_t kMaxNameBytes = 200;

// Tenant and team ids: 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit.
// No '/', so "tenant/team" names a team unambiguously (the limiter's team scope). Pure.
bool IsValidId(std::string_view id);

// The limiter's team scope id: "tenant/team" ("" when `team` is empty). Pure.
std::string TeamScopeId(std::string_view tenant, std::string_view team);

// Sorts and removes duplicates (the canonical form of Settings' lists). Pure.
void Normalize(Settings& settings);

}  // namespace meridian::tenancy
