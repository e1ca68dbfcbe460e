#pragma once
// The residency part of a loaded configuration: the compiled `policies` list and every enabled
// backend's facts. Kept out of src/config so that the configuration module does not depend on
// the policy engine; `meridian config check` and the gateway snapshot both call this.

#include <expected>
#include <vector>

#include "config/config.hpp"
#include "policy/facts.hpp"
#include "policy/policy.hpp"

namespace meridian::policy {

struct PolicySet {
  CompiledPolicy policy;
  std::vector<BackendFacts> facts;  // index-aligned with Config::backends
};

// Compiles config.policies and overlays each backends[i].facts on the facts implied by the
// backend's own fields (FactsFrom). Every problem is reported as "FILE:LINE: FIELD: MESSAGE"
// (file = config.source), ordered by line. Never throws; thread-safe.
std::expected<PolicySet, std::vector<config::ConfigIssue>> CompileConfigPolicy(const config::Config& config);

}  // namespace meridian::policy
