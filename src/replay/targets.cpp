#include "replay/targets.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace meridian::replay {

namespace {

// Adds the candidates of `route` (not yet present) and returns the indices of all of them.
std::vector<std::size_t> AddCandidates(const gateway::ModelRoute& route, const ReplayConfig& config,
                                       std::vector<Candidate>& out) {
  std::vector<std::size_t> indices;
  for (const gateway::Backend* b : *route.backends) {
    std::string key = fmt::format("{}/{}", b->id(), route.upstream_model);
    auto it = std::find_if(out.begin(), out.end(), [&](const Candidate& c) { return c.key == key; });
    if (it != out.end()) {
      indices.push_back(static_cast<std::size_t>(it - out.begin()));
      continue;
    }
    Candidate c;
    c.backend = b;
    c.model = std::string(route.upstream_model);
    c.key = std::move(key);
    c.prices = b->price(c.model);
    c.sim = config.For(b->config());
    indices.push_back(out.size());
    out.push_back(std::move(c));
  }
  return indices;
}

// Strong models: as configured, else the model(s) with the highest input + output price per
// token on some backend. Strength is the model's, so all its candidates are strong.
void MarkStrong(const ReplayConfig& config, std::vector<Candidate>& candidates) {
  std::vector<std::string> strong = config.strong;
  if (strong.empty()) {
    std::int64_t top = -1;
    for (const auto& c : candidates) {
      if (c.prices && c.prices->prices.input && c.prices->prices.output) {
        top = std::max(top, *c.prices->prices.input + *c.prices->prices.output);
      }
    }
    for (const auto& c : candidates) {
      if (top >= 0 && c.prices && c.prices->prices.input && c.prices->prices.output &&
          *c.prices->prices.input + *c.prices->prices.output == top) {
        strong.push_back(c.model);
      }
    }
  }
  for (auto& c : candidates) c.strong = std::find(strong.begin(), strong.end(), c.model) != strong.end();
}

core::Error Bad(std::string message) {
  core::Error e;
  e.code = core::ErrorCode::kInvalidRequest;
  e.message = fmt::format("replay.targets: {}", message);
  return e;
}

}  // namespace

core::Result<Targets> ResolveTargets(const gateway::Snapshot& snapshot, const ReplayConfig& config) {
  Targets out;
  out.names = config.targets;
  if (out.names.empty()) out.names = snapshot.alias_names().empty() ? snapshot.model_ids() : snapshot.alias_names();
  for (const auto& name : out.names) {
    auto route = snapshot.Resolve(name);
    if (!route) return std::unexpected(Bad(route.error().message));
    TargetRoute t;
    t.name = name;
    t.model = std::string(route->upstream_model);
    t.routing = route->routing;
    t.quality = snapshot.QualityFor(name);
    t.strong = AddCandidates(*route, config, out.candidates);
    if (t.quality) {
      if (!config.per_alias) {
        return std::unexpected(Bad(fmt::format(
            "alias '{}' has a quality router, which only a per-alias replay uses (set replay.per_alias: true)", name)));
      }
      auto weak = snapshot.Resolve(t.quality->weak);
      if (!weak) return std::unexpected(Bad(fmt::format("{}: quality.weak: {}", name, weak.error().message)));
      t.weak = AddCandidates(*weak, config, out.candidates);
    }
    out.routes.push_back(std::move(t));
  }
  MarkStrong(config, out.candidates);
  return out;
}

}  // namespace meridian::replay
