#include "gateway/snapshot.hpp"

#include <openssl/evp.h>

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

Backend::Backend(config::BackendConfig config, std::shared_ptr<const net::Upstream> upstream)
    : config_(std::move(config)),
      upstream_(std::move(upstream)),
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
  std::unordered_set<std::string, StringHash, std::equal_to<>> keys;
};
thread_local AcceptedKeyCache tl_accepted;
constexpr std::size_t kMaxCachedKeys = 1024;
std::atomic<std::uint64_t> next_generation{1};

}  // namespace

core::Result<std::shared_ptr<const Snapshot>> Snapshot::Build(config::Config config) {
  std::shared_ptr<Snapshot> snap(new Snapshot());
  for (const auto& bc : config.backends) {
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
    auto backend = std::make_unique<Backend>(bc, std::move(*upstream));
    for (const auto& model : bc.models) snap->by_model_[model].push_back(backend.get());
    snap->backends_.push_back(std::move(backend));
  }
  for (const auto& alias : config.aliases) snap->aliases_[alias.name] = alias.target;
  for (const auto& [model, _] : snap->by_model_) snap->model_ids_.push_back(model);
  for (const auto& [alias, target] : snap->aliases_) {
    if (snap->by_model_.contains(target)) snap->alias_names_.push_back(alias);
  }
  std::sort(snap->model_ids_.begin(), snap->model_ids_.end());
  std::sort(snap->alias_names_.begin(), snap->alias_names_.end());
  for (const auto& key : config.auth.keys) {
    if (!key.empty()) snap->key_digests_.insert(Sha256(key));
  }
  snap->config_ = std::move(config);
  snap->generation_ = next_generation.fetch_add(1);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

core::Result<ModelRoute> Snapshot::Resolve(std::string_view model) const {
  std::string_view target = model;
  if (auto alias = aliases_.find(std::string(model)); alias != aliases_.end()) target = alias->second;
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
  return ModelRoute{it->first, &it->second};
}

const Backend* Snapshot::FirstBackendFor(std::string_view model) const {
  auto it = by_model_.find(std::string(model));
  return it == by_model_.end() || it->second.empty() ? nullptr : it->second.front();
}

bool Snapshot::KeyAccepted(std::string_view bearer_key) const {
  if (key_digests_.empty()) return true;
  auto& cache = tl_accepted;
  if (cache.generation != generation_) {
    cache.keys.clear();
    cache.generation = generation_;
  }
  if (cache.keys.find(bearer_key) != cache.keys.end()) return true;
  if (!key_digests_.contains(Sha256(bearer_key))) return false;
  if (cache.keys.size() < kMaxCachedKeys) cache.keys.emplace(bearer_key);
  return true;
}

}  // namespace meridian::gateway
