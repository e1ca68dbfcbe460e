#include "policy/config_policy.hpp"

#include <algorithm>

#include "config/yaml_util.hpp"

namespace meridian::policy {

std::expected<PolicySet, std::vector<config::ConfigIssue>> CompileConfigPolicy(const config::Config& config) {
  std::vector<config::ConfigIssue> issues;
  PolicySet out;
  out.facts.reserve(config.backends.size());
  for (const config::BackendConfig& b : config.backends) {
    auto facts = OverlayFacts(FactsFrom(b), b.facts, config.source, b.path + ".facts");
    if (facts) {
      out.facts.push_back(std::move(*facts));
    } else {
      issues.insert(issues.end(), facts.error().begin(), facts.error().end());
    }
  }
  auto compiled = CompilePolicy(config.policies, config.source, "policies");
  if (compiled) {
    out.policy = std::move(*compiled);
  } else {
    issues.insert(issues.end(), compiled.error().begin(), compiled.error().end());
  }
  if (!issues.empty()) {
    std::stable_sort(issues.begin(), issues.end(),
                     [](const config::ConfigIssue& a, const config::ConfigIssue& b) { return a.line < b.line; });
    return std::unexpected(std::move(issues));
  }
  return out;
}

}  // namespace meridian::policy
