#pragma once
// What the replay's requests may be routed to (docs/replay.md, "Targets and routing"): the
// `replay.targets` resolved against the snapshot into (backend, model) candidates with their
// prices, simulated speeds and strength, and, per target, which of those candidates serve it
// and how the gateway would route it (the alias's routing policy and quality router).
//
// Pure apart from reading the snapshot; thread-safe.

#include <cstddef>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "gateway/snapshot.hpp"
#include "replay/replay_config.hpp"

namespace meridian::replay {

// One (backend, model) pair a request may be routed to.
struct Candidate {
  const gateway::Backend* backend = nullptr;
  std::string model;                      // the upstream model id
  std::string key;                        // "backend/model": the router's identity
  const catalog::Entry* prices = nullptr;  // null: unpriced
  SimBackend sim;
  bool strong = false;  // counted as a strong model (replay.strong, else the highest price)
};

// How requests asking for one target are routed (used when replay.per_alias is true).
struct TargetRoute {
  std::string name;                                // as listed in replay.targets
  std::string model;                               // the upstream model it resolves to
  const gateway::RoutePolicy* routing = nullptr;   // the alias's (or the `routing:` defaults); never null
  const gateway::QualityRoute* quality = nullptr;  // null: no quality router
  std::vector<std::size_t> strong;                 // its model's candidates (indices), configuration order
  std::vector<std::size_t> weak;                   // the quality router's weak model's candidates
};

struct Targets {
  std::vector<std::string> names;     // replay.targets, or the default (every alias, else every model)
  std::vector<Candidate> candidates;  // the union over the targets (and weak models), first seen first
  std::vector<TargetRoute> routes;    // one per name, same order
};

// Resolves `config.targets` (empty: every alias, else every served model). Failure
// (kInvalidRequest, "replay.targets: ..."): a target or a quality router's weak model does not
// resolve, or a target has a quality router while per_alias is false. Success may have no
// candidates when no enabled backend serves the targets (the caller reports that).
core::Result<Targets> ResolveTargets(const gateway::Snapshot& snapshot, const ReplayConfig& config);

}  // namespace meridian::replay
