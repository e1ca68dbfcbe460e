// Prefix affinity (route/affinity.hpp) and the KV-cache replica simulator (route/affinity_sim.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "route/affinity.hpp"
#include "route/affinity_sim.hpp"

namespace meridian::route {
namespace {

std::vector<std::string> Ids(std::initializer_list<const char*> names) {
  return {names.begin(), names.end()};
}

AffinityRing MustBuild(const std::vector<std::string>& ids, AffinityOptions options = {}) {
  auto ring = AffinityRing::Build(ids, options);
  EXPECT_TRUE(ring.has_value()) << (ring ? "" : ring.error().message);
  return ring ? std::move(*ring) : AffinityRing{};
}

TEST(AffinityHash, StableAndOrderSensitive) {
  EXPECT_EQ(HashBytes("abc"), HashBytes("abc"));
  EXPECT_NE(HashBytes("abc"), HashBytes("abd"));
  EXPECT_NE(HashBytes("abc", 1), HashBytes("abc", 2));
  EXPECT_NE(MixKey(MixKey(0, 1), 2), MixKey(MixKey(0, 2), 1));
  // Parts are length-delimited: ("ab", "c") and ("a", "bc") differ.
  EXPECT_NE(PrefixKeyBuilder().Add("ab").Add("c").key(), PrefixKeyBuilder().Add("a").Add("bc").key());
  EXPECT_EQ(PrefixKeyBuilder().Add("system").Add("You are terse.").key(),
            PrefixKeyBuilder().Add("system").Add("You are terse.").key());
}

TEST(AffinityBound, ExactCeiling) {
  EXPECT_EQ(LoadBound(0, 4, 1.25), 1);   // ceil(1.25 × 1 / 4)
  EXPECT_EQ(LoadBound(3, 4, 1.25), 2);   // ceil(1.25 × 4 / 4) = ceil(1.25)
  EXPECT_EQ(LoadBound(7, 4, 1.25), 3);   // ceil(10 / 4)
  EXPECT_EQ(LoadBound(3, 5, 1.25), 1);   // 1.25 × 4 / 5 = 1 exactly, no floating drift
  EXPECT_EQ(LoadBound(39, 4, 1.25), 13); // ceil(50 / 4)
  EXPECT_EQ(LoadBound(9, 2, 1.0), 5);
  EXPECT_EQ(LoadBound(5, 0, 1.25), 0);
}

TEST(AffinityRing, BuildRejectsBadInput) {
  EXPECT_FALSE(AffinityRing::Build(std::vector<std::string>{}).has_value());
  EXPECT_FALSE(AffinityRing::Build(Ids({"a", "a"})).has_value());
  EXPECT_FALSE(AffinityRing::Build(Ids({"a", ""})).has_value());
  EXPECT_FALSE(AffinityRing::Build(Ids({"a"}), {.load_factor = 0.9}).has_value());
  EXPECT_FALSE(AffinityRing::Build(Ids({"a"}), {.load_factor = 1.25, .virtual_nodes = 0}).has_value());
  EXPECT_FALSE(AffinityRing::Build(Ids({"a"}), {.load_factor = 1.25, .virtual_nodes = 2000}).has_value());
  auto ok = AffinityRing::Build(Ids({"a", "b"}), {.load_factor = 1.5});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_DOUBLE_EQ(ok->load_factor(), 1.5);
}

TEST(AffinityRing, SameKeySameReplica) {
  AffinityRing ring = MustBuild(Ids({"a", "b", "c", "d"}));
  std::vector<ReplicaLoad> idle(4);
  std::vector<std::uint32_t> used(4, 0);
  for (std::uint64_t k = 0; k < 500; ++k) {
    const std::uint64_t key = PrefixKeyBuilder().Add("system prompt").Add(k).key();
    auto first = ring.Pick(key, idle);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first, ring.Pick(key, idle));
    EXPECT_EQ(first, ring.Owner(key));  // idle replicas: the owner always takes it
    ++used[*first];
  }
  // Every replica owns part of the key space.
  for (auto n : used) EXPECT_GT(n, 0u);
}

TEST(AffinityRing, BoundedLoadRespectedExactly) {
  AffinityRing ring = MustBuild(Ids({"a", "b", "c", "d"}));
  std::vector<ReplicaLoad> loads(4);
  const std::uint64_t key = 42;
  const std::uint32_t owner = *ring.Owner(key);
  std::int64_t total = 0;
  for (int i = 0; i < 40; ++i) {
    auto pick = ring.Pick(key, loads);
    ASSERT_TRUE(pick.has_value());
    const std::int64_t bound = LoadBound(total, 4, 1.25);
    EXPECT_LT(loads[*pick].in_flight, bound) << "request " << i;
    if (i == 0) {
      EXPECT_EQ(*pick, owner);
    }
    // Second request: bound = ceil(1.25 × 2 / 4) = 1 and the owner holds 1, so it moves on.
    if (i == 1) {
      EXPECT_NE(*pick, owner);
    }
    ++loads[*pick].in_flight;
    ++total;
  }
  std::int32_t max_load = 0;
  for (const auto& l : loads) max_load = std::max(max_load, l.in_flight);
  EXPECT_LE(max_load, 13);  // LoadBound(39, 4, 1.25)
  EXPECT_EQ(loads[owner].in_flight, 13);  // the owner is filled to its bound, never beyond
  // Releasing the owner's requests sends the key home again.
  loads[owner].in_flight = 0;
  EXPECT_EQ(ring.Pick(key, loads), owner);
}

TEST(AffinityRing, UnhealthySkippedLikeRemoved) {
  const auto all = Ids({"a", "b", "c", "d", "e"});
  const auto without_c = Ids({"a", "b", "d", "e"});
  AffinityRing ring = MustBuild(all);
  AffinityRing smaller = MustBuild(without_c);
  std::vector<ReplicaLoad> loads(5);
  loads[2].healthy = false;  // "c"
  int moved = 0;
  for (std::uint64_t k = 0; k < 2000; ++k) {
    const std::uint64_t key = MixKey(7, k);
    auto pick = ring.Pick(key, loads);
    ASSERT_TRUE(pick.has_value());
    EXPECT_NE(*pick, 2u);
    // Idle replicas: skipping "c" on the full ring = its owner on the ring without "c".
    EXPECT_EQ(all[*pick], without_c[*smaller.Owner(key)]);
    if (*ring.Owner(key) == 2u) ++moved;
  }
  EXPECT_GT(moved, 0);
  std::vector<ReplicaLoad> sick(5, ReplicaLoad{0, false});
  EXPECT_FALSE(ring.Pick(1, sick).has_value());
  EXPECT_FALSE(ring.Pick(1, std::vector<ReplicaLoad>(4)).has_value());  // wrong size
}

TEST(AffinityRing, MinimalMovementWhenReplicaRemoved) {
  const auto all = Ids({"a", "b", "c", "d", "e"});
  const auto without_b = Ids({"a", "c", "d", "e"});
  AffinityRing ring = MustBuild(all);
  AffinityRing smaller = MustBuild(without_b);
  int kept = 0, moved = 0;
  for (std::uint64_t k = 0; k < 5000; ++k) {
    const std::uint64_t key = MixKey(99, k);
    const std::string& before = all[*ring.Owner(key)];
    const std::string& after = without_b[*smaller.Owner(key)];
    if (before == "b") {
      ++moved;
    } else {
      EXPECT_EQ(before, after) << "key " << k << " moved although its replica stayed";
      ++kept;
    }
  }
  EXPECT_GT(moved, 0);
  EXPECT_EQ(kept + moved, 5000);
}

// ---- simulator -----------------------------------------------------------------------------

ReplicaSimOptions Options(std::uint32_t replicas, std::uint64_t cache_blocks, std::uint32_t key_blocks,
                          double prefill = 10000, double decode = 50) {
  ReplicaSimOptions o;
  o.replicas = replicas;
  o.cache_blocks = cache_blocks;
  o.key_blocks = key_blocks;
  o.prefill_tokens_per_s = prefill;
  o.decode_tokens_per_s = decode;
  return o;
}

struct Req {
  double at;
  std::vector<std::uint64_t> blocks;
};

std::vector<PrefixRequest> View(const std::vector<Req>& reqs, std::int64_t input, std::int64_t output) {
  std::vector<PrefixRequest> out;
  for (const auto& r : reqs) out.push_back({r.at, input, output, r.blocks});
  return out;
}

ReuseCounts Simulate(const std::vector<PrefixRequest>& trace, const ReplicaSimOptions& options, Placement placement,
                std::vector<std::uint32_t>* replicas = nullptr) {
  auto pool = ReplicaPool::Create(options);
  EXPECT_TRUE(pool.has_value());
  for (const auto& r : trace) {
    auto placed = pool->Place(r, placement);
    if (replicas) replicas->push_back(placed.replica);
  }
  return pool->counts();
}

TEST(ReplicaSim, RoundRobinWithEvictionKnownAnswer) {
  // Two replicas of 3 blocks each. Round robin: r0 gets requests 1, 3, 5; r1 gets 2, 4, 6.
  //   1 [1,2]    r0  reusable 0                      r0 = {2,1}
  //   2 [1,3]    r1  reusable 1 (1)   hit 0          r1 = {3,1}
  //   3 [1,2,4]  r0  reusable 2 (1,2) hit 2, prefix 2  r0 = {4,2,1}
  //   4 [5,1]    r1  reusable 1 (1)   hit 1, prefix 0 (5 misses first)  r1 = {1,5,3}
  //   5 [3,6,7]  r0  reusable 1 (3)   hit 0          r0 = {7,6,3} (1, 2, 4 evicted)
  //   6 [1,2,4]  r1  reusable 3       hit 1 (1), prefix 1
  std::vector<Req> reqs = {{0, {1, 2}}, {0, {1, 3}}, {0, {1, 2, 4}}, {0, {5, 1}}, {0, {3, 6, 7}}, {0, {1, 2, 4}}};
  ReplicaSimOptions options = Options(2, 3, 1);
  std::vector<std::uint32_t> where;
  ReuseCounts c = Simulate(View(reqs, 100, 10), options, Placement::kRoundRobin, &where);
  EXPECT_EQ(where, (std::vector<std::uint32_t>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(c.requests, 6u);
  EXPECT_EQ(c.blocks, 15u);
  EXPECT_EQ(c.reusable_blocks, 8u);
  EXPECT_EQ(c.hit_blocks, 4u);
  EXPECT_EQ(c.prefix_hit_blocks, 3u);
  EXPECT_DOUBLE_EQ(c.hit_share(), 0.5);
  EXPECT_EQ(c.max_in_flight, 3);  // all arrive at 0 and last 0.21 s: nothing ends
  EXPECT_EQ(c.per_replica, (std::vector<std::uint64_t>{3, 3}));
}

TEST(ReplicaSim, LeastBusyReleasesFinishedRequests) {
  // Service time 100 tokens / 1000 per s + 10 / 1000 per s = 110 ms; arrivals 1 s apart, so every
  // request finds both replicas idle and least-busy (ties: lowest index) keeps using r0. With 8
  // blocks nothing is evicted: every reusable block is a hit except block 3 of request 5
  // (prefix 1: block 3 is held and first).
  std::vector<Req> reqs = {{0, {1, 2}}, {1000, {1, 3}}, {2000, {1, 2, 4}}, {3000, {5, 1}}, {4000, {3, 6, 7}},
                           {5000, {1, 2, 4}}};
  ReplicaSimOptions options = Options(2, 8, 1, 1000, 1000);
  std::vector<std::uint32_t> where;
  ReuseCounts c = Simulate(View(reqs, 100, 10), options, Placement::kLeastBusy, &where);
  EXPECT_EQ(where, (std::vector<std::uint32_t>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(c.reusable_blocks, 8u);
  EXPECT_EQ(c.hit_blocks, 8u);
  EXPECT_EQ(c.prefix_hit_blocks, 7u);  // request 4: block 5 is new, so block 1 after it is no prefix hit
  EXPECT_EQ(c.max_in_flight, 1);

  // Overlapping requests (all at 0, 110 ms each) alternate instead.
  for (auto& r : reqs) r.at = 0;
  where.clear();
  c = Simulate(View(reqs, 100, 10), options, Placement::kLeastBusy, &where);
  EXPECT_EQ(where, (std::vector<std::uint32_t>{0, 1, 0, 1, 0, 1}));
}

TEST(ReplicaSim, AffinityKeepsConversationsTogether) {
  // Two conversations behind one shared system-prompt block 1; key = first 2 blocks.
  //   A: [1,2] [1,2,4] [1,2,4,8]    B: [1,3] [1,3,5]
  // Reusable: B1 {1}, A2 {1,2}, B2 {1,3}, A3 {1,2,4} = 8. Each conversation stays on its
  // owner's replica; if the owners differ B1's block 1 is a miss (7 hits), else 8.
  std::vector<Req> reqs = {{0, {1, 2}}, {1000, {1, 3}}, {2000, {1, 2, 4}}, {3000, {1, 3, 5}}, {4000, {1, 2, 4, 8}}};
  ReplicaSimOptions options = Options(4, 64, 2, 1000, 1000);
  AffinityRing ring = MustBuild(Ids({"r0", "r1", "r2", "r3"}), options.affinity);
  const std::uint64_t ka[] = {1, 2}, kb[] = {1, 3};
  const std::uint32_t owner_a = *ring.Owner(BlockPrefixKey(ka, 2));
  const std::uint32_t owner_b = *ring.Owner(BlockPrefixKey(kb, 2));
  std::vector<std::uint32_t> where;
  ReuseCounts c = Simulate(View(reqs, 100, 10), options, Placement::kAffinity, &where);
  EXPECT_EQ(where, (std::vector<std::uint32_t>{owner_a, owner_b, owner_a, owner_b, owner_a}));
  EXPECT_EQ(c.reusable_blocks, 8u);
  EXPECT_EQ(c.hit_blocks, owner_a == owner_b ? 8u : 7u);
  EXPECT_EQ(c.prefix_hit_blocks, c.hit_blocks);
  // Keys use at most the blocks present: a one-block request's key is that of its one block.
  const std::uint64_t one[] = {1};
  EXPECT_EQ(BlockPrefixKey(one, 2), BlockPrefixKey(ka, 1));
}

TEST(ReplicaSim, SimulateRunsEachPlacementFromScratch) {
  std::vector<Req> reqs = {{0, {1, 2}}, {0, {1, 3}}, {0, {1, 2, 4}}, {0, {5, 1}}, {0, {3, 6, 7}}, {0, {1, 2, 4}}};
  auto trace = View(reqs, 100, 10);
  ReplicaSimOptions options = Options(2, 3, 1);
  auto all = SimulatePrefixReuse(trace, options);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].first, Placement::kAffinity);
  EXPECT_EQ((*all)[1].first, Placement::kRoundRobin);
  EXPECT_EQ((*all)[2].first, Placement::kLeastBusy);
  EXPECT_EQ((*all)[1].second.hit_blocks, 4u);  // as in RoundRobinWithEvictionKnownAnswer
  for (const auto& [p, counts] : *all) EXPECT_EQ(counts.reusable_blocks, 8u) << PlacementName(p);
  EXPECT_FALSE(SimulatePrefixReuse(trace, Options(0, 3, 1)).has_value());
  EXPECT_EQ(ParsePlacement("round-robin"), Placement::kRoundRobin);
  EXPECT_FALSE(ParsePlacement("random").has_value());
}

}  // namespace
}  // namespace meridian::route
