#include "route/affinity_sim.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace meridian::route {

std::string_view PlacementName(Placement placement) {
  switch (placement) {
    case Placement::kAffinity: return "affinity";
    case Placement::kRoundRobin: return "round-robin";
    case Placement::kLeastBusy: return "least-busy";
  }
  return "?";
}

std::optional<Placement> ParsePlacement(std::string_view name) {
  if (name == "affinity") return Placement::kAffinity;
  if (name == "round-robin") return Placement::kRoundRobin;
  if (name == "least-busy") return Placement::kLeastBusy;
  return std::nullopt;
}

std::uint64_t BlockPrefixKey(std::span<const std::uint64_t> blocks, std::uint32_t key_blocks) {
  PrefixKeyBuilder key;
  const std::size_t n = std::min<std::size_t>(blocks.size(), key_blocks);
  for (std::size_t i = 0; i < n; ++i) key.Add(blocks[i]);
  return key.key();
}

double ReuseCounts::hit_share() const {
  return reusable_blocks == 0 ? 0.0 : static_cast<double>(hit_blocks) / static_cast<double>(reusable_blocks);
}

double ReuseCounts::prefix_hit_share() const {
  return reusable_blocks == 0 ? 0.0
                              : static_cast<double>(prefix_hit_blocks) / static_cast<double>(reusable_blocks);
}

core::Result<ReplicaPool> ReplicaPool::Create(const ReplicaSimOptions& options) {
  using core::ErrorCode;
  if (options.replicas == 0) return core::Fail(ErrorCode::kInvalidRequest, "replica simulator: replicas must be >= 1");
  if (options.cache_blocks == 0) {
    return core::Fail(ErrorCode::kInvalidRequest, "replica simulator: cache_blocks must be >= 1");
  }
  if (!(options.prefill_tokens_per_s > 0) || !(options.decode_tokens_per_s > 0)) {
    return core::Fail(ErrorCode::kInvalidRequest, "replica simulator: throughputs must be positive");
  }
  std::vector<std::string> ids;
  ids.reserve(options.replicas);
  for (std::uint32_t r = 0; r < options.replicas; ++r) ids.push_back(fmt::format("r{}", r));
  auto ring = AffinityRing::Build(ids, options.affinity);
  if (!ring) return std::unexpected(ring.error());
  ReplicaPool pool;
  pool.options_ = options;
  pool.ring_ = std::move(*ring);
  pool.loads_.assign(options.replicas, ReplicaLoad{});
  pool.caches_.resize(options.replicas);
  pool.counts_.per_replica.assign(options.replicas, 0);
  return pool;
}

void ReplicaPool::Release(double now_ms) {
  while (!endings_.empty() && endings_.top().at_ms <= now_ms) {
    --loads_[endings_.top().replica].in_flight;
    endings_.pop();
  }
}

std::uint32_t ReplicaPool::Choose(Placement placement, std::uint64_t key) {
  switch (placement) {
    case Placement::kAffinity:
      // Every replica is healthy in the simulation, so Pick always answers.
      return ring_.Pick(key, loads_).value_or(0);
    case Placement::kRoundRobin:
      return static_cast<std::uint32_t>(next_round_robin_++ % options_.replicas);
    case Placement::kLeastBusy: {
      std::uint32_t best = 0;
      for (std::uint32_t r = 1; r < loads_.size(); ++r) {
        if (loads_[r].in_flight < loads_[best].in_flight) best = r;
      }
      return best;
    }
  }
  return 0;
}

void ReplicaPool::Touch(Lru& lru, std::uint64_t block) {
  if (auto it = lru.where.find(block); it != lru.where.end()) {
    lru.order.splice(lru.order.begin(), lru.order, it->second);
    return;
  }
  lru.order.push_front(block);
  lru.where.emplace(block, lru.order.begin());
  if (lru.order.size() > options_.cache_blocks) {
    lru.where.erase(lru.order.back());
    lru.order.pop_back();
  }
}

PlacedRequest ReplicaPool::Place(const PrefixRequest& request, Placement placement) {
  return Place(request, placement, BlockPrefixKey(request.blocks, options_.key_blocks));
}

PlacedRequest ReplicaPool::Place(const PrefixRequest& request, Placement placement, std::uint64_t key) {
  const double now = std::max(request.arrival_ms, last_arrival_ms_);
  last_arrival_ms_ = now;
  Release(now);

  PlacedRequest placed;
  placed.replica = Choose(placement, key);
  Lru& cache = caches_[placed.replica];
  bool prefix_intact = true;
  for (std::uint64_t block : request.blocks) {
    ++placed.blocks;
    const bool held = cache.where.contains(block);
    if (!held) prefix_intact = false;
    if (!seen_.contains(block)) continue;
    ++placed.reusable_blocks;
    if (held) ++placed.hit_blocks;
    if (held && prefix_intact) ++placed.prefix_hit_blocks;
  }
  // Only after the lookup: a block repeated inside one request is not a hit on itself.
  for (std::uint64_t block : request.blocks) {
    Touch(cache, block);
    seen_.insert(block);
  }

  const double service_ms = 1000.0 * (static_cast<double>(std::max<std::int64_t>(request.input_tokens, 0)) /
                                          options_.prefill_tokens_per_s +
                                      static_cast<double>(std::max<std::int64_t>(request.output_tokens, 0)) /
                                          options_.decode_tokens_per_s);
  ReplicaLoad& load = loads_[placed.replica];
  ++load.in_flight;
  endings_.push({now + service_ms, placed.replica});

  ++counts_.requests;
  counts_.blocks += placed.blocks;
  counts_.reusable_blocks += placed.reusable_blocks;
  counts_.hit_blocks += placed.hit_blocks;
  counts_.prefix_hit_blocks += placed.prefix_hit_blocks;
  counts_.max_in_flight = std::max(counts_.max_in_flight, load.in_flight);
  ++counts_.per_replica[placed.replica];
  return placed;
}

core::Result<std::vector<std::pair<Placement, ReuseCounts>>> SimulatePrefixReuse(
    std::span<const PrefixRequest> requests, const ReplicaSimOptions& options) {
  std::vector<std::pair<Placement, ReuseCounts>> out;
  for (Placement placement : {Placement::kAffinity, Placement::kRoundRobin, Placement::kLeastBusy}) {
    auto pool = ReplicaPool::Create(options);
    if (!pool) return std::unexpected(pool.error());
    for (const auto& request : requests) pool->Place(request, placement);
    out.emplace_back(placement, pool->counts());
  }
  return out;
}

}  // namespace meridian::route
