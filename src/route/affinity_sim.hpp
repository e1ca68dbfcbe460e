#pragma once
// A KV-cache replica simulator (issue 5, item 6; docs/replay.md, "Prefix reuse"): how much of
// a trace's reusable prompt prefix lands on a replica that already holds it, for three ways of
// placing requests on the replicas of one self-hosted backend:
//
//   affinity     AffinityRing::Pick on a key of the request's first `key_blocks` prefix blocks
//   round-robin  replica (request number mod replicas)
//   least-busy   the replica with the fewest requests in flight (ties: the lowest index), what
//                route::Strategy::kLeastBusy does with replicas as candidates
//
// Model. Each replica keeps an LRU cache of `cache_blocks` prefix blocks (Mooncake's hash_ids:
// one id per 512-token block, identical ids = identical prefix). A request arriving at t is
// placed, its blocks are looked up in the chosen replica's cache, then all of them become the
// most recently used there. It occupies the replica (counts in flight) until
// t + input / prefill_tokens_per_s + output / decode_tokens_per_s; that service time does not
// depend on the placement or on cache hits, so all placements see the same offered load.
// A block is *reusable* when an earlier request of the trace (on any replica) had it: only those
// could have been hits under any placement. A *hit* is a reusable block the chosen replica holds;
// a *prefix hit* is one of the leading blocks held without a gap (what a prefix cache such as
// vLLM's can actually skip: the first miss ends reuse).
//
// Pure and deterministic (no clock, no randomness). Not thread-safe: one simulator per thread.

#include <cstdint>
#include <list>
#include <optional>
#include <queue>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "route/affinity.hpp"

namespace meridian::route {

enum class Placement : std::uint8_t { kAffinity, kRoundRobin, kLeastBusy };

// "affinity", "round-robin", "least-busy".
std::string_view PlacementName(Placement placement);
std::optional<Placement> ParsePlacement(std::string_view name);

// One request as the simulator sees it; `blocks` is borrowed for the call only.
struct PrefixRequest {
  double arrival_ms = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::span<const std::uint64_t> blocks;  // prefix block ids, in prompt order
};

struct ReplicaSimOptions {
  std::uint32_t replicas = 8;
  std::uint64_t cache_blocks = 2048;      // per replica (2048 × 512 tokens ≈ 1M tokens of KV)
  std::uint32_t key_blocks = 4;           // affinity key: hash of the first K block ids (fewer if shorter)
  double prefill_tokens_per_s = 10000;    // per request
  double decode_tokens_per_s = 50;        // per request
  AffinityOptions affinity;               // c and virtual nodes of the ring
};

// The affinity key of a block list: MixKey over its first `key_blocks` ids. Thread-safe.
std::uint64_t BlockPrefixKey(std::span<const std::uint64_t> blocks, std::uint32_t key_blocks);

// Totals of one simulated placement.
struct ReuseCounts {
  std::uint64_t requests = 0;
  std::uint64_t blocks = 0;             // all prefix blocks of all requests
  std::uint64_t reusable_blocks = 0;    // seen earlier in the trace
  std::uint64_t hit_blocks = 0;         // reusable and held by the chosen replica
  std::uint64_t prefix_hit_blocks = 0;  // leading blocks held without a gap
  std::int32_t max_in_flight = 0;       // most requests one replica held at once
  std::vector<std::uint64_t> per_replica;  // requests placed on each replica

  // hit_blocks / reusable_blocks (0 when nothing was reusable).
  double hit_share() const;
  double prefix_hit_share() const;
};

// What one placement decision found.
struct PlacedRequest {
  std::uint32_t replica = 0;
  std::uint64_t blocks = 0, reusable_blocks = 0, hit_blocks = 0, prefix_hit_blocks = 0;
};

// The replicas of one backend, their caches and loads. Requests must come in arrival order
// (an earlier arrival than the previous one is treated as arriving at the previous time).
class ReplicaPool {
 public:
  // Fails like AffinityRing::Build (replica ids are "r0", "r1", ...), or when replicas is 0,
  // cache_blocks is 0 or a throughput is not positive.
  static core::Result<ReplicaPool> Create(const ReplicaSimOptions& options);

  // Places one request with `placement` and updates caches, loads and counts.
  PlacedRequest Place(const PrefixRequest& request, Placement placement);
  // Same, with a caller-computed affinity key (the replay uses the gateway's key).
  PlacedRequest Place(const PrefixRequest& request, Placement placement, std::uint64_t key);

  const ReuseCounts& counts() const { return counts_; }
  std::int32_t in_flight(std::uint32_t replica) const { return loads_[replica].in_flight; }

 private:
  struct Lru {
    std::list<std::uint64_t> order;  // front = most recently used
    std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
  };
  struct Ending {
    double at_ms;
    std::uint32_t replica;
    bool operator>(const Ending& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : replica > o.replica; }
  };
  void Release(double now_ms);
  std::uint32_t Choose(Placement placement, std::uint64_t key);
  void Touch(Lru& lru, std::uint64_t block);

  ReplicaSimOptions options_;
  AffinityRing ring_;
  std::vector<ReplicaLoad> loads_;
  std::vector<Lru> caches_;
  std::unordered_set<std::uint64_t> seen_;
  std::priority_queue<Ending, std::vector<Ending>, std::greater<>> endings_;
  std::uint64_t next_round_robin_ = 0;
  double last_arrival_ms_ = 0;
  ReuseCounts counts_;
};

// Runs the whole trace once per placement (each from empty caches), in this order: affinity,
// round-robin, least-busy. Fails only on invalid options.
core::Result<std::vector<std::pair<Placement, ReuseCounts>>> SimulatePrefixReuse(
    std::span<const PrefixRequest> requests, const ReplicaSimOptions& options);

}  // namespace meridian::route
