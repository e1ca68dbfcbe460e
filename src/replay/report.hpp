#pragma once
// What `meridian replay` reports (docs/replay.md, "Report"), and its two renderings: a table
// for a terminal and JSON for tools. Pure; thread-safe (no shared state).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "route/affinity_sim.hpp"

namespace meridian::replay {

// Nearest-rank percentile (p in 0..100) of `values`, which it sorts. 0 when empty.
double Percentile(std::vector<double>& values, double p);

struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;  // milliseconds
};

// Summarises `values` (sorted in place).
LatencySummary Summarise(std::vector<double>& values);

struct CandidateCount {
  std::string backend;
  std::string model;
  std::uint64_t requests = 0;
  std::int64_t cost_pico_usd = 0;
};

// Per-alias replay: the requests that asked for one target (replay.targets entry).
struct TargetCount {
  std::string name;
  std::string model;     // what it resolves to (its quality router's strong model)
  std::string strategy;  // what its requests were routed with (the alias's, or --strategy)
  std::uint64_t requests = 0;  // asked for it
  std::uint64_t allowed = 0;   // of those, allowed by policy and routed
};

// Per-alias replay: the decisions of one quality alias's router (gateway::DecideQuality).
// scored = sent_weak + sent_strong; scored + unscored = the requests that asked for the alias.
struct QualityCount {
  std::string alias;
  std::string strong_model;  // the alias's target
  std::string weak_model;
  double threshold = 0;
  std::uint64_t scored = 0;       // requests with text: their last user turn was scored
  std::uint64_t sent_weak = 0;    // scored below the threshold
  std::uint64_t sent_strong = 0;  // scored at or above it
  std::uint64_t unscored = 0;     // no text in the trace (Mooncake, Azure): sent to the strong model
};

struct Report {
  std::string trace_file;
  std::string format;
  std::string strategy;  // union: replay.strategy; per-alias: "per-alias", or the --strategy override
  bool per_alias = false;
  std::string placement;
  std::uint64_t seed = 0;

  std::uint64_t requests = 0;      // records replayed
  std::uint64_t skipped = 0;       // bad records the reader left out
  std::vector<std::string> issues; // the first of them

  // Policy outcomes.
  std::uint64_t allowed = 0;
  std::uint64_t blocked = 0;             // a block rule applied
  std::uint64_t no_eligible_backend = 0; // route rules excluded every candidate
  std::uint64_t redacted = 0;            // allowed with a redact/pseudonymize obligation
  // "RULE: REASON" -> how many (request, backend) pairs it excluded.
  std::map<std::string, std::uint64_t> excluded;

  // Routed (allowed) requests.
  std::vector<CandidateCount> by_candidate;  // configuration order
  std::uint64_t unpriced = 0;               // routed to a candidate without prices
  std::int64_t cost_pico_usd = 0;           // what the routed requests cost
  std::int64_t baseline_pico_usd = 0;       // each on its most expensive allowed candidate
  std::uint64_t strong = 0;                 // routed to a strong model
  std::vector<std::string> strong_models;
  std::vector<TargetCount> targets;         // per-alias only: one per distinct target, first listed first
  std::vector<QualityCount> quality;        // per-alias only: one per quality alias among the targets
  std::uint64_t cached_tokens = 0;          // prompt tokens served from a replica's prefix cache
  LatencySummary ttft_ms, total_ms;

  // Prefix reuse on the replicas of each backend that has several (the placement in use).
  std::map<std::string, route::ReuseCounts> backend_reuse;
  // The whole trace on `compare.replicas` replicas, once per placement (empty: no prefix ids).
  std::vector<std::pair<route::Placement, route::ReuseCounts>> comparison;
  std::uint32_t compare_replicas = 0;
  std::uint64_t compare_cache_blocks = 0;
  std::uint32_t compare_key_blocks = 0;
  double compare_load_factor = 0;

  std::int64_t savings_pico_usd() const { return baseline_pico_usd - cost_pico_usd; }
  // savings / baseline (0 when the baseline is 0).
  double savings_share() const;
  // strong / allowed (0 when nothing was allowed).
  double strong_share() const;
};

// Pico-USD as dollars with 6 decimals ("$12.345678"), rounded half away from zero.
std::string FormatUsd(std::int64_t pico_usd);

// The human table (several aligned sections), ending with a newline.
std::string RenderTable(const Report& report);
// The JSON form (docs/replay.md lists every field).
boost::json::object ToJson(const Report& report);

}  // namespace meridian::replay
