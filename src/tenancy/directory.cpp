#include "tenancy/directory.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <unordered_map>

namespace meridian::tenancy {

namespace {

bool Listed(const AllowList& list, std::string_view name) {
  return !name.empty() && std::binary_search(list.begin(), list.end(), name, std::less<>());
}

std::optional<std::vector<std::string>> Intersect(const std::vector<AllowList>& lists) {
  if (lists.empty()) return std::nullopt;
  std::vector<std::string> out = lists.front();
  for (std::size_t i = 1; i < lists.size(); ++i) {
    std::vector<std::string> next;
    std::set_intersection(out.begin(), out.end(), lists[i].begin(), lists[i].end(), std::back_inserter(next));
    out = std::move(next);
  }
  return out;
}

bool HasLimit(const limits::ScopeLimits& l) {
  return l.usd_per_day_micro || l.usd_per_month_micro || l.requests_per_minute || l.input_tokens_per_minute ||
         l.output_tokens_per_minute || l.concurrent_requests;
}

struct HashOfKeyHash {
  std::size_t operator()(const KeyHash& h) const {
    // The digest is uniformly distributed: its first bytes are a good hash already.
    std::size_t out;
    std::memcpy(&out, h.data(), sizeof(out));
    return out;
  }
};

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AddLevel(ResolvedKey& r, const Settings& s) {
  if (!s.models.empty()) r.restrictions.models.push_back(s.models);
  if (!s.backends.empty()) r.restrictions.backends.push_back(s.backends);
  for (core::DataClass c : s.data_classes) r.declared_mask |= 1u << static_cast<unsigned>(c);
}

}  // namespace

bool EffectiveRestrictions::AllowsModel(std::string_view model_id, std::string_view alias) const {
  return std::all_of(models.begin(), models.end(),
                     [&](const AllowList& list) { return Listed(list, model_id) || Listed(list, alias); });
}

bool EffectiveRestrictions::AllowsBackend(std::string_view backend_id) const {
  return std::all_of(backends.begin(), backends.end(), [&](const AllowList& list) { return Listed(list, backend_id); });
}

std::optional<std::vector<std::string>> EffectiveRestrictions::ModelIntersection() const { return Intersect(models); }
std::optional<std::vector<std::string>> EffectiveRestrictions::BackendIntersection() const { return Intersect(backends); }

std::string_view AuthStatusName(AuthStatus status) {
  switch (status) {
    case AuthStatus::kOk: return "ok";
    case AuthStatus::kUnknown: return "unknown";
    case AuthStatus::kRevoked: return "revoked";
    case AuthStatus::kExpired: return "expired";
    case AuthStatus::kDisabled: return "disabled";
    case AuthStatus::kUnavailable: return "unavailable";
  }
  return "unknown";
}

std::string_view ClientMessage(AuthStatus status) {
  switch (status) {
    case AuthStatus::kOk: return "";
    case AuthStatus::kUnavailable: return "The key store is unavailable; try again shortly.";
    default: return "Invalid API key.";
  }
}

ScopeDiff DiffScopes(const ScopeTable* before, const ScopeTable& after) {
  ScopeDiff diff;
  std::map<std::pair<limits::Level, std::string_view>, const ScopeEntry*> old;
  if (before != nullptr) {
    for (const ScopeEntry& e : before->entries) old[{e.level, e.id}] = &e;
  }
  for (const ScopeEntry& e : after.entries) {
    auto it = old.find({e.level, e.id});
    if (it == old.end()) {
      diff.configure.push_back(e);
    } else {
      if (!SameLimits(it->second->limits, e.limits)) diff.configure.push_back(e);
      old.erase(it);
    }
  }
  for (const auto& [k, e] : old) diff.remove.emplace_back(e->level, e->id);
  return diff;
}

// One load of the store: every key by digest, and the scopes.
struct KeyDirectory::Index {
  struct Entry {
    AuthStatus status = AuthStatus::kUnknown;  // kOk, kRevoked or kDisabled (expiry is checked per call)
    std::shared_ptr<const ResolvedKey> key;
  };
  std::uint64_t version = 0;
  std::unordered_map<KeyHash, Entry, HashOfKeyHash> by_hash;
  std::shared_ptr<const ScopeTable> scopes;

  static std::shared_ptr<const Index> Build(const TenancyData& data, std::uint64_t version, std::uint64_t generation,
                                            std::int64_t now_ms) {
    auto index = std::make_shared<Index>();
    index->version = version;
    auto table = std::make_shared<ScopeTable>();
    table->generation = generation;
    std::unordered_map<std::string_view, const Tenant*> tenants;
    std::map<std::pair<std::string_view, std::string_view>, const Team*> teams;
    for (const Tenant& t : data.tenants) {
      tenants[t.id] = &t;
      if (!t.disabled && HasLimit(t.settings.limits)) {
        table->entries.push_back({limits::Level::kTenant, t.id, t.settings.limits});
      }
    }
    for (const Team& t : data.teams) {
      teams[{t.tenant, t.id}] = &t;
      auto tenant = tenants.find(t.tenant);
      if (!t.disabled && tenant != tenants.end() && !tenant->second->disabled && HasLimit(t.settings.limits)) {
        table->entries.push_back({limits::Level::kTeam, TeamScopeId(t.tenant, t.id), t.settings.limits});
      }
    }
    for (const KeyRecord& rec : data.keys) {
      const Key& k = rec.key;
      Entry entry;
      auto tenant = tenants.find(k.tenant);
      const Team* team = nullptr;
      if (!k.team.empty()) {
        auto it = teams.find({k.tenant, k.team});
        if (it != teams.end()) team = it->second;
      }
      if (k.revoked_ms) {
        entry.status = AuthStatus::kRevoked;
      } else if (tenant == tenants.end() || (!k.team.empty() && team == nullptr)) {
        // The store refuses to delete what live keys depend on; treat an orphan as unknown.
        entry.status = AuthStatus::kUnknown;
      } else if (tenant->second->disabled || (team != nullptr && team->disabled)) {
        entry.status = AuthStatus::kDisabled;
      } else {
        auto r = std::make_shared<ResolvedKey>();
        r->tenant = k.tenant;
        r->team = k.team;
        r->key_id = k.id;
        r->key_name = k.name;
        r->expires_ms = k.expires_ms;
        AddLevel(*r, tenant->second->settings);
        if (team != nullptr) AddLevel(*r, team->settings);
        AddLevel(*r, k.settings);
        r->tenant_scope = k.tenant;
        r->team_scope = TeamScopeId(k.tenant, k.team);
        r->key_scope = k.id;
        entry.status = AuthStatus::kOk;
        entry.key = std::move(r);
        const bool expired = k.expires_ms && now_ms >= *k.expires_ms;
        if (!expired && HasLimit(k.settings.limits)) {
          table->entries.push_back({limits::Level::kKey, k.id, k.settings.limits});
        }
      }
      index->by_hash.emplace(rec.hash, std::move(entry));
    }
    std::sort(table->entries.begin(), table->entries.end(), [](const ScopeEntry& a, const ScopeEntry& b) {
      return std::tie(a.level, a.id) < std::tie(b.level, b.id);
    });
    index->scopes = std::move(table);
    return index;
  }
};

KeyDirectory::KeyDirectory(TenancyStore& store, KeyDirectoryOptions options)
    : store_(store), options_(std::move(options)) {
  if (!options_.clock) options_.clock = NowMs;
}

StoreResult<std::shared_ptr<const KeyDirectory::Index>> KeyDirectory::Current() {
  // The check and the reload happen under one lock: a caller that returns after a revocation
  // was committed has seen the new version, and concurrent callers share one reload.
  std::lock_guard lock(mu_);
  auto version = store_.Version();
  if (!version) return std::unexpected(version.error());
  if (index_ && index_->version == *version) return index_;
  // Version first, then the data (store.hpp): a commit in between is seen again next time.
  auto data = store_.LoadAll();
  if (!data) return std::unexpected(data.error());
  const std::uint64_t generation = index_ ? index_->scopes->generation + 1 : 1;
  index_ = Index::Build(*data, *version, generation, options_.clock());
  return index_;
}

AuthResult KeyDirectory::Authenticate(std::string_view presented_key) {
  if (!LooksLikeKey(presented_key)) return {AuthStatus::kUnknown, nullptr};
  const KeyHash hash = HashKey(presented_key);
  auto index = Current();
  if (!index) return {AuthStatus::kUnavailable, nullptr};
  auto it = (*index)->by_hash.find(hash);
  if (it == (*index)->by_hash.end()) return {AuthStatus::kUnknown, nullptr};
  const Index::Entry& entry = it->second;
  if (entry.status != AuthStatus::kOk) return {entry.status, nullptr};
  if (entry.key->expires_ms && options_.clock() >= *entry.key->expires_ms) return {AuthStatus::kExpired, nullptr};
  return {AuthStatus::kOk, entry.key};
}

StoreResult<void> KeyDirectory::Refresh() {
  auto index = Current();
  if (!index) return std::unexpected(index.error());
  return {};
}

std::shared_ptr<const ScopeTable> KeyDirectory::scopes() {
  auto index = Current();
  if (index) return (*index)->scopes;
  std::lock_guard lock(mu_);
  if (index_) return index_->scopes;
  return std::make_shared<const ScopeTable>();
}

void KeyDirectory::ForEachScope(
    const std::function<void(limits::Level, std::string_view, const limits::ScopeLimits&)>& fn) {
  auto table = scopes();
  for (const ScopeEntry& e : table->entries) fn(e.level, e.id, e.limits);
}

std::uint64_t KeyDirectory::generation() const {
  std::lock_guard lock(mu_);
  return index_ ? index_->scopes->generation : 0;
}

}  // namespace meridian::tenancy
