#pragma once
// The gateway's view of one loaded configuration: backends with their upstream endpoints,
// the model index and the auth key digests. Built once, immutable afterwards (except the
// backends' live health, which is atomic), shared read-only between worker threads.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "catalog/catalog.hpp"
#include "classify/classifier.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "dialect/canonical.hpp"
#include "net/client.hpp"
#include "policy/config_policy.hpp"
#include "route/affinity.hpp"
#include "route/quality.hpp"
#include "route/retry.hpp"
#include "route/router.hpp"

namespace meridian::gateway {

using Clock = std::chrono::steady_clock;

// One configured backend and its live health.
class Backend {
 public:
  Backend(config::BackendConfig config, std::shared_ptr<const net::Upstream> upstream,
          policy::BackendFacts facts);

  const config::BackendConfig& config() const { return config_; }
  // Residency facts (configuration fields overlaid with its `facts` map).
  const policy::BackendFacts& facts() const { return facts_; }
  const std::string& id() const { return config_.id; }
  const std::shared_ptr<const net::Upstream>& upstream() const { return upstream_; }
  // The wire dialect the backend is spoken to in, and its provider's preset (null for none).
  dialect::Dialect dialect() const { return dialect_; }
  // The price of `model` on this backend (catalog + overrides), or null when unpriced.
  const catalog::Entry* price(std::string_view model) const {
    auto it = prices_.find(std::string(model));
    return it == prices_.end() ? nullptr : &it->second;
  }
  void set_prices(std::unordered_map<std::string, catalog::Entry> prices) { prices_ = std::move(prices); }
  const config::ProviderPreset* preset() const { return preset_; }

  // Healthy = the active check (if any) last passed and no connect failure in the cool-down.
  // Thread-safe.
  bool healthy(Clock::time_point now = Clock::now()) const;
  // Active health check result (backends without a check are always "passing").
  void SetCheckPassing(bool passing) { check_passing_.store(passing, std::memory_order_relaxed); }
  bool check_passing() const { return check_passing_.load(std::memory_order_relaxed); }
  // A failed connect takes the backend out of rotation for `cool_down`.
  void MarkConnectFailure(std::chrono::milliseconds cool_down);

 private:
  config::BackendConfig config_;
  std::shared_ptr<const net::Upstream> upstream_;
  policy::BackendFacts facts_;
  dialect::Dialect dialect_;
  const config::ProviderPreset* preset_;
  std::unordered_map<std::string, catalog::Entry> prices_;
  std::atomic<bool> check_passing_;
  std::atomic<Clock::rep> unhealthy_until_{0};
};

// How Forward orders and retries the eligible backends of one model (config::RoutingConfig,
// parsed): the alias's, or the configuration's `routing` defaults.
struct RoutePolicy {
  route::Strategy strategy = route::Strategy::kPowerOfTwo;
  unsigned max_attempts = 3;
  std::chrono::milliseconds deadline{0};    // 0 = none
  route::OpenPolicy open_policy = route::OpenPolicy::kLast;
  route::LatencyGoal latency_goal = route::LatencyGoal::kTtft;
  bool hedge = false;
  route::HedgePolicy hedge_policy;           // when hedge: the delay's quantile and bounds
  bool prefix_affinity = false;             // affinity: prefix
  std::unordered_map<std::string, std::uint32_t> weights;  // backend id -> weight; absent = 1
  std::uint32_t WeightOf(std::string_view backend) const {
    auto it = weights.find(std::string(backend));
    return it == weights.end() ? 1 : it->second;
  }
};

// An alias with a learned quality router (config `quality`, docs/quality_router.md): each
// request goes to `weak` when the model scores its prompt below `threshold`, else to the
// alias's target.
struct QualityRoute {
  std::shared_ptr<const route::QualityModel> model;
  std::string weak;
  double threshold = 0.5;
};

// What a client's "model" resolves to.
struct ModelRoute {
  std::string_view upstream_model;           // the model id sent upstream (alias resolved)
  const std::vector<Backend*>* backends;     // every backend serving it, in config order
  std::span<const policy::BackendFacts> facts;  // their facts, index-aligned with *backends
  const RoutePolicy* routing = nullptr;      // never null from Resolve (snapshot-owned)
  // Consistent-hash ring over *backends (index-aligned), built when some routing policy asks
  // for prefix affinity and the model has two or more backends; else null.
  const route::AffinityRing* ring = nullptr;
};

// Who is calling, as far as policy is concerned: from the matched key's configuration (or
// empty when authentication is disabled).
struct Caller {
  std::string tenant;
  std::string team;
  // The first characters of the key (at most 8, never more than half of it): what policies'
  // `scope.key` patterns and records name. Empty when authentication is disabled.
  std::string key_prefix;
  std::uint32_t declared_mask = 0;          // bit per core::DataClass, from the key's data_classes
  std::string jurisdiction;                 // declared by the key's configuration; "" = none
};

class Snapshot {
 public:
  // Builds upstream endpoints (TLS contexts, CA files) for every enabled backend.
  // Fails with a message naming the backend if one cannot be set up.
  static core::Result<std::shared_ptr<const Snapshot>> Build(config::Config config);

  const config::Config& config() const { return config_; }
  const std::vector<std::unique_ptr<Backend>>& backends() const { return backends_; }

  // Resolves an alias or model id. Fails with kModelNotFound listing what is served.
  core::Result<ModelRoute> Resolve(std::string_view model) const;

  // Served model ids and alias names, sorted, for /v1/models and error messages.
  const std::vector<std::string>& model_ids() const { return model_ids_; }
  const std::vector<std::string>& alias_names() const { return alias_names_; }
  // The backend that would serve `model` first (for owned_by), or null.
  const Backend* FirstBackendFor(std::string_view model) const;
  // The quality router of alias `name`, or null when it has none (or is no alias).
  const QualityRoute* QualityFor(std::string_view name) const;

  // The caller holding `bearer_key`, or null if the key is not configured. With authentication
  // disabled, every key (and none) is the anonymous caller. Compares SHA-256 digests, so the
  // time taken does not depend on how much of a key matched. Thread-safe; the result lives as
  // long as the snapshot.
  const Caller* FindCaller(std::string_view bearer_key) const;
  bool KeyAccepted(std::string_view bearer_key) const { return FindCaller(bearer_key) != nullptr; }
  // The caller with no key: no tenant, team, prefix or declarations (what explain uses when no
  // client key is named).
  const Caller& anonymous_caller() const { return anonymous_; }
  bool auth_enabled() const { return !key_digests_.empty(); }
  // True if `bearer_key` is one of admin.keys (digests compared). False when there are none.
  bool AdminKeyAccepted(std::string_view bearer_key) const;

  // The compiled residency policy (empty policy when the file has none).
  const policy::CompiledPolicy& policy() const { return policy_; }
  // The classifier every request is scanned with (shared by all snapshots of the process).
  const classify::Classifier& classifier() const { return *classifier_; }
  // Secret for stable pseudonyms: random per process, so placeholders are stable across
  // requests and configuration reloads but mean nothing outside this process.
  std::string_view pseudonym_key() const;

 private:
  Snapshot() = default;
  config::Config config_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::unordered_map<std::string, std::vector<Backend*>> by_model_;
  std::unordered_map<std::string, route::AffinityRing> rings_;  // model -> ring over by_model_[model]
  struct AliasEntry {
    std::string target;
    RoutePolicy routing;
    std::optional<QualityRoute> quality;
  };
  std::unordered_map<std::string, AliasEntry> aliases_;
  RoutePolicy default_routing_;
  std::vector<std::string> model_ids_;
  std::vector<std::string> alias_names_;
  std::unordered_map<std::string, std::size_t> key_digests_;  // digest -> index in callers_
  std::vector<Caller> callers_;
  std::unordered_set<std::string> admin_digests_;
  Caller anonymous_;
  policy::CompiledPolicy policy_;
  std::unordered_map<std::string, std::vector<policy::BackendFacts>> facts_by_model_;
  std::shared_ptr<const classify::Classifier> classifier_;
  std::uint64_t generation_ = 0;  // unique per Build(), for per-thread caches
};

// SHA-256 of `data` as 32 raw bytes.
std::string Sha256(std::string_view data);

}  // namespace meridian::gateway
