#pragma once
// The replay configuration (docs/replay.md, "Configuration"): an ordinary Meridian YAML file
// (backends with facts and prices, aliases, policies, catalog) plus one top-level `replay:`
// section for what only the simulation needs: each backend's simulated speed and replicas, the
// targets and strategy, what counts as the strong model, and the prefix-cache model.
//
// The Meridian part is loaded by config::ParseConfig, the loader `meridian serve` uses: the
// `replay:` block is blanked out line by line first (so every line number in its messages is
// the file's own), then the section is read here. The block must be block-style YAML starting
// at column 0 (`replay:` on its own line), which is how every example writes it.
//
// Pure apart from reading the file; thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "route/affinity_sim.hpp"
#include "route/router.hpp"

namespace meridian::replay {

// How a simulated backend answers.
struct SimBackend {
  double ttft_ms = 400;               // time to first token without the prompt's prefill
  double tokens_per_s = 60;           // output speed of one request
  double prefill_tokens_per_s = 0;    // > 0: uncached prompt tokens add input / this to TTFT
  std::uint32_t replicas = 1;         // > 1: requests are placed on replicas (prefix caches)
  std::uint64_t cache_blocks = 2048;  // per replica, in prefix blocks
};

struct ReplayConfig {
  // Models or aliases the requests ask for. Empty = every alias (or, with no aliases, every
  // served model).
  std::vector<std::string> targets;
  // false (default, "union"): every request may go to any (backend, model) pair the targets
  // resolve to, ordered by `strategy`; aliases' own routing and quality routers are not used
  // (a quality alias among the targets is an error).
  // true ("per-alias"): request k (arrival order) asks for targets[k mod n] and is routed as the
  // gateway routes that name: its quality router first (weak or strong model), then its own
  // routing policy (alias long form, else the `routing:` defaults: strategy, weights, latency
  // goal) among that model's backends. `strategy` must then be unset.
  bool per_alias = false;
  route::Strategy strategy = route::Strategy::kCheapest;
  std::int64_t expected_output_tokens = 256;  // what the router assumes (it cannot know the answer)
  // Strong models (upstream ids). Empty = the model(s) with the highest input + output price.
  std::vector<std::string> strong;
  // Declared for every request, as the x-meridian-data-* headers: what traces without text
  // (Mooncake, Azure) are taken to carry.
  std::string declared_classes;
  std::string declared_jurisdiction;
  // Per-tier defaults (edge, local, cloud), then per backend id.
  std::map<config::Tier, SimBackend> tier_defaults;
  std::map<std::string, SimBackend, std::less<>> backends;
  // Prefix placement on replicas, and the affinity-vs-round-robin-vs-least-busy comparison.
  route::Placement placement = route::Placement::kAffinity;
  std::uint32_t block_tokens = 512;        // tokens per prefix block (Mooncake: 512)
  route::ReplicaSimOptions compare;        // replicas 0 = no comparison
  std::uint64_t seed = 1;

  // The simulated behaviour of `backend`: its own entry, else its tier's default, else SimBackend{}.
  SimBackend For(const config::BackendConfig& backend) const;
};

struct LoadedReplayConfig {
  config::Config gateway;  // as `meridian serve` would load it
  ReplayConfig replay;
};

// Blanks the top-level `replay:` block of `yaml_text` (its lines become empty, so line numbers
// stay) and returns the rest; `replay_block` receives the block's text (with the key line).
std::string SplitReplaySection(std::string_view yaml_text, std::string* replay_block = nullptr);

// Parses the `replay:` block text (as SplitReplaySection returned it; empty = all defaults).
// Failure: kInvalidRequest "FILE:LINE: replay.FIELD: message" for the first problem.
core::Result<ReplayConfig> ParseReplaySection(std::string_view block, std::string_view file);

// Reads `path`, loads the Meridian part with config::ParseConfig and the `replay:` section.
// Failure: every configuration issue, one per line of the message.
core::Result<LoadedReplayConfig> LoadReplayConfig(const std::string& path);

}  // namespace meridian::replay
