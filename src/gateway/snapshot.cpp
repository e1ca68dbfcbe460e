#include "gateway/snapshot.hpp"

#include <filesystem>

#include "gateway/codecs.hpp"
#include "gateway/pricing.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <mutex>

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace meridian::gateway {

std::string Sha256(std::string_view data) {
  // Fetched once: OpenSSL 3 otherwise looks the algorithm up in its provider on every call,
  // which costs more than hashing a key.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> owned(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_MD_CTX* ctx = owned.get();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!kSha256 || !ctx || !EVP_DigestInit_ex2(ctx, kSha256, nullptr) ||
      !EVP_DigestUpdate(ctx, data.data(), data.size()) || !EVP_DigestFinal_ex(ctx, digest, &length)) {
    return {};  // never equal to a stored digest: the key is refused
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

Backend::Backend(config::BackendConfig config, std::shared_ptr<const net::Upstream> upstream,
                 policy::BackendFacts facts)
    : config_(std::move(config)),
      upstream_(std::move(upstream)),
      facts_(std::move(facts)),
      dialect_(DialectOf(config_.dialect)),
      preset_(config::FindProviderPreset(config_.provider)),
      // A backend with an active check is out of rotation until its first check passes.
      check_passing_(config_.health_check.path.empty()) {}

bool Backend::healthy(Clock::time_point now) const {
  return check_passing() && now.time_since_epoch().count() >= unhealthy_until_.load(std::memory_order_relaxed);
}

void Backend::MarkConnectFailure(std::chrono::milliseconds cool_down) {
  unhealthy_until_.store((Clock::now() + cool_down).time_since_epoch().count(), std::memory_order_relaxed);
}

namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Keys this thread has already seen accepted, for one snapshot generation: hashing every
// request's key cost more than the rest of authentication. Only accepted keys are cached, so
// random keys cannot grow it, and it is bounded anyway.
struct AcceptedKeyCache {
  std::uint64_t generation = 0;
  std::unordered_map<std::string, const Caller*, StringHash, std::equal_to<>> keys;
};
thread_local AcceptedKeyCache tl_accepted;
constexpr std::size_t kMaxCachedKeys = 1024;
std::atomic<std::uint64_t> next_generation{1};

// Compiled once per process: compiling the Hyperscan database takes far longer than the rest
// of a configuration load, and it does not depend on the configuration.
core::Result<std::shared_ptr<const classify::Classifier>> SharedClassifier() {
  static std::mutex mu;
  static std::shared_ptr<const classify::Classifier> shared;
  std::lock_guard lock(mu);
  if (!shared) {
    auto created = classify::Classifier::Create();
    if (!created) return std::unexpected(std::move(created.error()));
    shared = std::move(*created);
  }
  return shared;
}

std::string KeyPrefix(std::string_view key) {
  return std::string(key.substr(0, std::min<std::size_t>(8, key.size() / 2)));
}

// The parsed form of a routing section (its strategy name was validated by the config module).
RoutePolicy ToRoutePolicy(const config::RoutingConfig& c) {
  RoutePolicy p;
  p.strategy = route::ParseStrategy(c.strategy).value_or(route::Strategy::kPowerOfTwo);
  p.max_attempts = c.max_attempts;
  p.deadline = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline);
  p.open_policy = c.exclude_open ? route::OpenPolicy::kExclude : route::OpenPolicy::kLast;
  p.latency_goal = c.latency_total ? route::LatencyGoal::kTotal : route::LatencyGoal::kTtft;
  p.hedge = c.hedge;
  p.hedge_policy.quantile = c.hedge_quantile;
  p.hedge_policy.min_delay = c.hedge_min_delay;
  p.hedge_policy.max_delay = c.hedge_max_delay;
  p.prefix_affinity = c.prefix_affinity;
  for (const auto& [backend, weight] : c.weights) p.weights[backend] = weight;
  return p;
}

}  // namespace

std::string_view Snapshot::pseudonym_key() const {
  static const std::string key = [] {
    std::string k(32, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(k.data()), static_cast<int>(k.size()));
    return k;
  }();
  return key;
}

core::Result<std::shared_ptr<const Snapshot>> Snapshot::Build(config::Config config) {
  std::shared_ptr<Snapshot> snap(new Snapshot());
  auto policy_set = policy::CompileConfigPolicy(config);
  if (!policy_set) {
    std::string message = "invalid residency configuration:";
    for (const auto& issue : policy_set.error()) message += "\n  " + issue.ToString();
    return core::Fail(core::ErrorCode::kInternal, std::move(message));
  }
  snap->policy_ = std::move(policy_set->policy);
  auto classifier = SharedClassifier();
  if (!classifier) return std::unexpected(std::move(classifier.error()));
  snap->classifier_ = std::move(*classifier);
  auto prices = BuildPrices(config);
  if (!prices) {
    std::string message = "invalid prices:";
    for (const auto& issue : prices.error()) message += "\n  " + issue.ToString();
    return core::Fail(core::ErrorCode::kInternal, std::move(message));
  }
  for (std::size_t bi = 0; bi < config.backends.size(); ++bi) {
    const auto& bc = config.backends[bi];
    auto url = core::ParseUrl(bc.base_url);
    if (!url) {
      return core::Fail(core::ErrorCode::kInternal,
                        fmt::format("backend '{}': base_url: {}", bc.id, url.error().message));
    }
    net::UpstreamOptions opts;
    opts.connect_timeout = bc.timeouts.connect;
    opts.first_byte_timeout = bc.timeouts.first_byte;
    opts.between_chunks_timeout = bc.timeouts.between_chunks;
    opts.total_timeout = bc.timeouts.total;
    opts.pool_max_idle = bc.pool.max_idle;
    opts.pool_idle_timeout = bc.pool.idle_timeout;
    opts.pool_max_lifetime = bc.pool.max_lifetime;
    opts.ca_file = bc.ca_file;
    auto upstream = net::Upstream::Create(bc.id, std::move(*url), std::move(opts));
    if (!upstream) return std::unexpected(std::move(upstream.error()));
    auto backend = std::make_unique<Backend>(bc, std::move(*upstream), policy_set->facts[bi]);
    backend->set_prices(std::move((*prices)[bi]));
    for (const auto& model : bc.models) {
      snap->by_model_[model].push_back(backend.get());
      snap->facts_by_model_[model].push_back(backend->facts());
    }
    snap->backends_.push_back(std::move(backend));
  }
  snap->default_routing_ = ToRoutePolicy(config.routing);
  for (const auto& alias : config.aliases) {
    AliasEntry entry{alias.target, ToRoutePolicy(alias.routing), std::nullopt};
    if (alias.quality) {
      // The router's model file, relative to the configuration's folder; loaded once per snapshot.
      std::filesystem::path file(alias.quality->model_file);
      if (file.is_relative() && !config.source.empty()) file = std::filesystem::path(config.source).parent_path() / file;
      auto model = route::LoadQualityModel(file.string());
      if (!model) {
        return core::Fail(core::ErrorCode::kInternal,
                          fmt::format("{}.quality.model: {}", alias.path, model.error().message));
      }
      QualityRoute q;
      q.weak = alias.quality->weak;
      if (alias.quality->threshold) {
        q.threshold = *alias.quality->threshold;
      } else if (alias.quality->strong_share) {
        auto threshold = route::CalibratedThresholdForShare(model->calibration, *alias.quality->strong_share);
        if (!threshold) {
          return core::Fail(core::ErrorCode::kInternal,
                            fmt::format("{}.quality.strong_share: {}", alias.path, threshold.error().message));
        }
        q.threshold = *threshold;
      } else {
        q.threshold = model->default_threshold;
      }
      q.model = std::make_shared<const route::QualityModel>(std::move(*model));
      entry.quality = std::move(q);
    }
    snap->aliases_[alias.name] = std::move(entry);
  }
  bool affinity = config.routing.prefix_affinity ||
                  std::any_of(config.aliases.begin(), config.aliases.end(),
                              [](const config::AliasConfig& a) { return a.routing.prefix_affinity; });
  for (const auto& [model, served_by] : snap->by_model_) {
    if (!affinity || served_by.size() < 2) continue;
    std::vector<std::string> ids;
    for (const Backend* b : served_by) ids.push_back(b->id());
    auto ring = route::AffinityRing::Build(ids);
    if (!ring) return std::unexpected(std::move(ring.error()));
    snap->rings_.emplace(model, std::move(*ring));
  }
  for (const auto& [model, _] : snap->by_model_) snap->model_ids_.push_back(model);
  for (const auto& [alias, entry] : snap->aliases_) {
    if (snap->by_model_.contains(entry.target)) snap->alias_names_.push_back(alias);
  }
  std::sort(snap->model_ids_.begin(), snap->model_ids_.end());
  std::sort(snap->alias_names_.begin(), snap->alias_names_.end());
  for (const auto& key : config.auth.keys) {
    if (key.key.empty()) continue;
    Caller caller;
    caller.tenant = key.tenant;
    caller.team = key.team;
    caller.key_prefix = KeyPrefix(key.key);
    for (core::DataClass c : key.data_classes) caller.declared_mask |= 1u << static_cast<int>(c);
    caller.jurisdiction = key.jurisdiction;
    snap->key_digests_.emplace(Sha256(key.key), snap->callers_.size());
    snap->callers_.push_back(std::move(caller));
  }
  for (const auto& key : config.admin.keys) snap->admin_digests_.insert(Sha256(key));
  snap->config_ = std::move(config);
  snap->generation_ = next_generation.fetch_add(1);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

core::Result<ModelRoute> Snapshot::Resolve(std::string_view model) const {
  std::string_view target = model;
  const RoutePolicy* routing = &default_routing_;
  if (auto alias = aliases_.find(std::string(model)); alias != aliases_.end()) {
    target = alias->second.target;
    routing = &alias->second.routing;
  }
  auto it = by_model_.find(std::string(target));
  if (it == by_model_.end()) {
    std::vector<std::string> all = model_ids_;
    all.insert(all.end(), alias_names_.begin(), alias_names_.end());
    std::sort(all.begin(), all.end());
    return core::Fail(core::ErrorCode::kModelNotFound,
                      fmt::format("The model '{}' does not exist. Available models: {}", model,
                                  all.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(all, ", "))),
                      "model");
  }
  auto ring = rings_.find(it->first);
  return ModelRoute{it->first, &it->second, facts_by_model_.at(it->first), routing,
                    ring == rings_.end() ? nullptr : &ring->second};
}

const QualityRoute* Snapshot::QualityFor(std::string_view name) const {
  auto it = aliases_.find(std::string(name));
  return it == aliases_.end() || !it->second.quality ? nullptr : &*it->second.quality;
}

const Backend* Snapshot::FirstBackendFor(std::string_view model) const {
  auto it = by_model_.find(std::string(model));
  return it == by_model_.end() || it->second.empty() ? nullptr : it->second.front();
}

bool Snapshot::AdminKeyAccepted(std::string_view bearer_key) const {
  return !admin_digests_.empty() && admin_digests_.contains(Sha256(bearer_key));
}

const Caller* Snapshot::FindCaller(std::string_view bearer_key) const {
  if (key_digests_.empty()) return &anonymous_;
  auto& cache = tl_accepted;
  if (cache.generation != generation_) {
    cache.keys.clear();
    cache.generation = generation_;
  }
  if (auto hit = cache.keys.find(bearer_key); hit != cache.keys.end()) return hit->second;
  auto it = key_digests_.find(Sha256(bearer_key));
  if (it == key_digests_.end()) return nullptr;
  const Caller* caller = &callers_[it->second];
  if (cache.keys.size() < kMaxCachedKeys) cache.keys.emplace(bearer_key, caller);
  return caller;
}

}  // namespace meridian::gateway
