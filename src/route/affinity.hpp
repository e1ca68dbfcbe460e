#pragma once
// Prefix affinity for self-hosted replicas (issue 5, item 6; docs/replay.md, "Prefix affinity").
//
// Requests that share a prompt prefix (system prompt and early turns) should reach the same
// replica of a self-hosted backend (vLLM, SGLang, llama.cpp), so that the replica's KV cache
// for that prefix is reused instead of recomputed. AffinityRing does this by consistent
// hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with
// Bounded Loads", 2018): the key's owner on a ring of virtual nodes serves it unless that
// replica already holds ceil(c × (in flight + 1) / healthy replicas) requests; then the next
// replica clockwise under its bound does. c ≥ 1 trades cache locality (large c) against
// balance (c → 1). Unhealthy replicas are skipped. Removing a replica moves only the keys it
// owned.
//
// The key. The caller computes a 64-bit prefix key and passes it in. The gateway should use
// PrefixKeyBuilder: Add(model), then for the system prompt and the first N − 1 turns of the
// conversation (N = 2 or 3 is typical: system prompt + first user turn [+ first answer]) Add(role)
// and Add(the message's text as sent upstream, content parts concatenated). Including only early
// turns is the point: every later request of the conversation, and every conversation with the
// same system prompt and opening, gets the same key, while the prefix that differs goes where
// its cache lives. Requests with no shared prefix (N larger than the conversation) still get a
// stable key and spread uniformly.
//
// Pure: no clock, no I/O, no randomness. Deterministic across runs and machines (the hashes are
// defined here, not std::hash).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meridian::route {

// 64-bit hash of `data` (FNV-1a, then the MurmurHash3 finaliser for avalanche), seeded.
// Stable across platforms and releases. Not for anything secret. Thread-safe.
std::uint64_t HashBytes(std::string_view data, std::uint64_t seed = 0);
// Combines a running hash with one 64-bit value (order-sensitive). Thread-safe.
std::uint64_t MixKey(std::uint64_t hash, std::uint64_t value);

// Builds a prefix key from parts; each part is length-delimited so ("ab","c") != ("a","bc").
// Not thread-safe (a value type; one per request).
class PrefixKeyBuilder {
 public:
  PrefixKeyBuilder& Add(std::string_view part) {
    hash_ = MixKey(MixKey(hash_, part.size()), HashBytes(part));
    return *this;
  }
  PrefixKeyBuilder& Add(std::uint64_t value) {
    hash_ = MixKey(hash_, value);
    return *this;
  }
  std::uint64_t key() const { return hash_; }

 private:
  std::uint64_t hash_ = 0x6d65726964696166ull;  // "meridiaf": any fixed non-zero start
};

struct AffinityOptions {
  double load_factor = 1.25;          // c ≥ 1: a replica takes at most ceil(c × average) requests
  std::uint32_t virtual_nodes = 100;  // ring points per replica (1..1024); more = smoother shares
};

// What a decision needs to know about one replica now (the caller reads LiveStats::in_flight
// and its health per replica).
struct ReplicaLoad {
  std::int32_t in_flight = 0;
  bool healthy = true;
};

// ceil(c × (total_in_flight + 1) / healthy_replicas), computed exactly with c rounded to 1/1000:
// the most requests one replica may hold, counting the one being placed. 0 when
// healthy_replicas is 0. Thread-safe.
std::int64_t LoadBound(std::int64_t total_in_flight, std::size_t healthy_replicas, double load_factor);

// The ring of one replica set. Immutable after Build: every method is const and safe to call
// from any number of threads at once. Build allocates; Pick and Owner do not.
class AffinityRing {
 public:
  AffinityRing() = default;

  // A ring over `replica_ids` (index i of the ring = replica_ids[i]). Points depend only on each
  // id's text, so rings built over overlapping id sets agree on the shared replicas' points
  // (minimal movement when one is added or removed). Fails (kInvalidRequest) on an empty or
  // duplicate id, no replicas, more than 65535, load_factor < 1 or not finite, or
  // virtual_nodes outside 1..1024.
  static core::Result<AffinityRing> Build(std::span<const std::string> replica_ids,
                                          const AffinityOptions& options = {});

  // The replica for `key`: walking clockwise from the key's point, the first healthy replica
  // whose in_flight is below LoadBound(sum of healthy in_flight, healthy count, c). nullopt when
  // no replica is healthy or `loads` does not have one entry per replica. When some replica is
  // healthy the answer always exists (c ≥ 1 leaves room). O(replicas) to sum loads, then
  // O(points visited) for the walk.
  std::optional<std::uint32_t> Pick(std::uint64_t key, std::span<const ReplicaLoad> loads) const;

  // The key's owner ignoring load and health (the first point clockwise). nullopt when empty.
  std::optional<std::uint32_t> Owner(std::uint64_t key) const;

  std::size_t size() const { return replica_count_; }
  double load_factor() const { return static_cast<double>(load_milli_) / 1000.0; }

 private:
  struct Point {
    std::uint64_t hash;
    std::uint32_t replica;
  };
  std::size_t First(std::uint64_t key) const;  // index of the first point at or after key (wraps)

  std::vector<Point> points_;  // sorted by hash, then replica
  std::size_t replica_count_ = 0;
  std::int64_t load_milli_ = 1250;  // c × 1000
};

}  // namespace meridian::route
