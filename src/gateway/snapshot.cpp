#include "gateway/snapshot.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace meridian::gateway {

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
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
  return key_digests_.contains(Sha256(bearer_key));
}

}  // namespace meridian::gateway
