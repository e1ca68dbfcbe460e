#pragma once
// The gateway's view of one loaded configuration: backends with their upstream endpoints,
// the model index and the auth key digests. Built once, immutable afterwards (except the
// backends' live health, which is atomic), shared read-only between worker threads.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "net/client.hpp"

namespace meridian::gateway {

using Clock = std::chrono::steady_clock;

// One configured backend and its live health.
class Backend {
 public:
  Backend(config::BackendConfig config, std::shared_ptr<const net::Upstream> upstream);

  const config::BackendConfig& config() const { return config_; }
  const std::string& id() const { return config_.id; }
  const std::shared_ptr<const net::Upstream>& upstream() const { return upstream_; }

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
  std::atomic<bool> check_passing_;
  std::atomic<Clock::rep> unhealthy_until_{0};
};

// What a client's "model" resolves to.
struct ModelRoute {
  std::string_view upstream_model;           // the model id sent upstream (alias resolved)
  const std::vector<Backend*>* backends;     // every backend serving it, in config order
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

  // True if auth is disabled or `bearer_key` is one of the configured keys. Compares SHA-256
  // digests, so the time taken does not depend on how much of a key matched.
  bool KeyAccepted(std::string_view bearer_key) const;
  bool auth_enabled() const { return !key_digests_.empty(); }

 private:
  Snapshot() = default;
  config::Config config_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::unordered_map<std::string, std::vector<Backend*>> by_model_;
  std::unordered_map<std::string, std::string> aliases_;
  std::vector<std::string> model_ids_;
  std::vector<std::string> alias_names_;
  std::unordered_set<std::string> key_digests_;
  std::uint64_t generation_ = 0;  // unique per Build(), for per-thread caches
};

// SHA-256 of `data` as 32 raw bytes.
std::string Sha256(std::string_view data);

}  // namespace meridian::gateway
