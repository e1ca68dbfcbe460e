#include "route/affinity.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

namespace meridian::route {

namespace {

std::uint64_t Fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

}  // namespace

std::uint64_t HashBytes(std::string_view data, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ull ^ Fmix64(seed);
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return Fmix64(h);
}

std::uint64_t MixKey(std::uint64_t hash, std::uint64_t value) {
  // Boost's hash_combine shape on 64 bits, finalised so that nearby values spread.
  return Fmix64(hash ^ (Fmix64(value) + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2)));
}

std::int64_t LoadBound(std::int64_t total_in_flight, std::size_t healthy_replicas, double load_factor) {
  if (healthy_replicas == 0) return 0;
  // Integer arithmetic so that the bound is exact (1.25 × 4 / 5 is 1, not 1.0000000000000002).
  const auto milli = static_cast<std::int64_t>(std::llround(load_factor * 1000.0));
  const std::int64_t numerator = milli * (std::max<std::int64_t>(total_in_flight, 0) + 1);
  const std::int64_t denominator = 1000 * static_cast<std::int64_t>(healthy_replicas);
  return (numerator + denominator - 1) / denominator;
}

core::Result<AffinityRing> AffinityRing::Build(std::span<const std::string> replica_ids,
                                               const AffinityOptions& options) {
  using core::ErrorCode;
  if (replica_ids.empty()) return core::Fail(ErrorCode::kInvalidRequest, "affinity ring: no replicas");
  if (replica_ids.size() > 65535) return core::Fail(ErrorCode::kInvalidRequest, "affinity ring: more than 65535 replicas");
  if (!std::isfinite(options.load_factor) || options.load_factor < 1.0) {
    return core::Fail(ErrorCode::kInvalidRequest,
                      fmt::format("affinity ring: load_factor must be >= 1, got {}", options.load_factor));
  }
  if (options.virtual_nodes < 1 || options.virtual_nodes > 1024) {
    return core::Fail(ErrorCode::kInvalidRequest,
                      fmt::format("affinity ring: virtual_nodes must be 1..1024, got {}", options.virtual_nodes));
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& id : replica_ids) {
    if (id.empty()) return core::Fail(ErrorCode::kInvalidRequest, "affinity ring: empty replica id");
    if (!seen.insert(id).second) {
      return core::Fail(ErrorCode::kInvalidRequest, fmt::format("affinity ring: duplicate replica id '{}'", id));
    }
  }
  AffinityRing ring;
  ring.replica_count_ = replica_ids.size();
  ring.load_milli_ = std::llround(options.load_factor * 1000.0);
  ring.points_.reserve(replica_ids.size() * options.virtual_nodes);
  for (std::uint32_t r = 0; r < replica_ids.size(); ++r) {
    // Points come from the id's text only, never from its index: that is what keeps the other
    // replicas' points in place when one is removed.
    const std::uint64_t base = HashBytes(replica_ids[r], 0x72696e67ull /* "ring" */);
    for (std::uint32_t v = 0; v < options.virtual_nodes; ++v) ring.points_.push_back({MixKey(base, v), r});
  }
  std::sort(ring.points_.begin(), ring.points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.replica < b.replica;
  });
  return ring;
}

std::size_t AffinityRing::First(std::uint64_t key) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), key,
                             [](const Point& p, std::uint64_t k) { return p.hash < k; });
  return it == points_.end() ? 0 : static_cast<std::size_t>(it - points_.begin());
}

std::optional<std::uint32_t> AffinityRing::Owner(std::uint64_t key) const {
  if (points_.empty()) return std::nullopt;
  return points_[First(key)].replica;
}

std::optional<std::uint32_t> AffinityRing::Pick(std::uint64_t key, std::span<const ReplicaLoad> loads) const {
  if (points_.empty() || loads.size() != replica_count_) return std::nullopt;
  std::int64_t total = 0;
  std::size_t healthy = 0;
  for (const auto& load : loads) {
    if (!load.healthy) continue;  // a sick replica's requests are draining, not competing
    total += std::max(load.in_flight, 0);
    ++healthy;
  }
  if (healthy == 0) return std::nullopt;
  const std::int64_t bound = LoadBound(total, healthy, static_cast<double>(load_milli_) / 1000.0);
  const std::size_t start = First(key);
  for (std::size_t step = 0; step < points_.size(); ++step) {
    const Point& p = points_[(start + step) % points_.size()];
    const ReplicaLoad& load = loads[p.replica];
    if (load.healthy && load.in_flight < bound) return p.replica;
  }
  // Unreachable when c >= 1 (some healthy replica is at or below the average); kept total.
  return std::nullopt;
}

}  // namespace meridian::route
