#include <fmt/format.h>

#include "app/commands.hpp"
#include "config/config.hpp"
#include "gateway/pricing.hpp"
#include "policy/config_policy.hpp"

namespace meridian::app {

int ConfigCheck(const std::string& path) {
  auto loaded = config::LoadConfigFile(path);
  if (!loaded) {
    for (const auto& issue : loaded.error()) fmt::print(stderr, "{}\n", issue.ToString());
    fmt::print(stderr, "{}: {} error(s)\n", path, loaded.error().size());
    return 2;
  }
  // The residency part (policies, backends[].facts) is compiled by the policy module.
  auto residency = policy::CompileConfigPolicy(*loaded);
  if (!residency) {
    for (const auto& issue : residency.error()) fmt::print(stderr, "{}\n", issue.ToString());
    fmt::print(stderr, "{}: {} error(s)\n", path, residency.error().size());
    return 2;
  }
  // Prices: the catalog file and each backend's `prices` overrides (docs/catalog.md).
  auto prices = gateway::BuildPrices(*loaded);
  if (!prices) {
    for (const auto& issue : prices.error()) fmt::print(stderr, "{}\n", issue.ToString());
    fmt::print(stderr, "{}: {} error(s)\n", path, prices.error().size());
    return 2;
  }
  for (const auto& warning : loaded->warnings) fmt::print(stderr, "warning: {}\n", warning);
  fmt::print("{}: ok ({} backends enabled, {} disabled, {} aliases, {} policy rules)\n", path,
             loaded->backends.size(), loaded->disabled_backends.size(), loaded->aliases.size(),
             residency->policy.rule_count());
  return 0;
}

}  // namespace meridian::app
