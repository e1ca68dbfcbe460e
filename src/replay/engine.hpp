#pragma once
// The replay itself (docs/replay.md, "What a replay does"): every trace request, in arrival
// order, asks for a target (replay/targets.hpp: all of them at once in a union replay; in a
// per-alias replay the targets in turn, and a quality alias's router, gateway::DecideQuality,
// picks its weak or strong model), goes through the gateway's policy stage
// (gateway::DecidePolicy: classification of the prompt's text when the trace has text, plus the
// configured declarations), then the router (route::Route over the allowed (backend, model)
// candidates, whose stats are the simulated speeds and in-flight counts, with replay.strategy
// or the alias's own routing policy), then onto a replica of the chosen backend (prefix
// affinity, round robin or least-busy) when it has several. Cost comes from each backend's
// catalog prices and overrides; latency from the simulated TTFT, prefill and output speeds.
// Nothing is sent anywhere.
//
// Deterministic: the same trace, configuration and seed give the same report. Not thread-safe
// per call (uses the classifier's thread-local scratch); separate calls may run in parallel.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "core/error.hpp"
#include "gateway/snapshot.hpp"
#include "replay/replay_config.hpp"
#include "replay/report.hpp"
#include "replay/trace.hpp"

namespace meridian::replay {

struct RunOptions {
  std::optional<route::Strategy> strategy;    // overrides replay.strategy (per alias: every alias's)
  std::optional<route::Placement> placement;  // overrides replay.prefix.placement
  std::optional<std::uint64_t> seed;          // overrides replay.seed
  // Called after every ~0.5% of the requests and once at the end, with (done, total).
  std::function<void(std::size_t, std::size_t)> progress;
};

// Replays `trace` against the backends of `snapshot` as `config` describes. Fails
// (kInvalidRequest) when ResolveTargets fails (a target or weak model does not resolve, a
// quality alias in a union replay), no backend serves the targets, or the declarations do not
// parse, with the target or header named; never because of a request.
core::Result<Report> RunReplay(const gateway::Snapshot& snapshot, const ReplayConfig& config, const Trace& trace,
                               const RunOptions& options = {});

}  // namespace meridian::replay
