#pragma once
// What Meridian knows about a backend for residency decisions: where inference runs, where the
// provider stores data and for how long, who the vendor is and where it is based.
//
// Unknown is a first-class value (empty string, -1, nullopt) and the policy evaluator fails
// closed on it: a rule that needs a fact the backend does not declare excludes the backend.

#include <yaml-cpp/yaml.h>

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace meridian::policy {

struct BackendFacts {
  std::string id;
  config::Tier tier = config::Tier::kCloud;
  std::string inference_jurisdiction;     // ISO 3166-1 alpha-2 or "EU"; "" = unknown
  std::string region;                     // provider region name; "" = unknown
  std::string vendor;                     // "openai", "mistral", ...; "" = unknown
  std::string vendor_home_jurisdiction;   // where the vendor is incorporated; "" = unknown
  std::string storage_jurisdiction;       // where the provider stores prompts/logs; "" = unknown
  int retention_days = -1;                // provider-side retention; -1 = unknown
  // Unknown (nullopt) is never read as the favourable value: a rule requiring zero data
  // retention excludes a backend whose ZDR is unknown, and so does a rule forbidding training.
  std::optional<bool> zero_data_retention;
  std::optional<bool> trains_on_data;
  std::vector<std::string> certifications;  // "soc2", "iso27001", "c5", ... (free-form ids)
};

// Facts implied by a backend's configuration: id, tier, jurisdiction (as the inference
// jurisdiction), region and vendor. Everything else is unknown. Pure, thread-safe.
BackendFacts FactsFrom(const config::BackendConfig& backend);

// Overlays the `backends[i].facts` map `node` on `base` (fields present in the map replace the
// base's). `path` is the dotted path of the node ("backends[0].facts"), `file` is used only for
// messages. Unknown fields, unknown or lower-case jurisdiction codes, bad types and negative
// retention are issues ("FILE:LINE: FIELD: MESSAGE"); all are reported, not just the first.
// A null/undefined node returns `base` unchanged. Never throws; thread-safe.
std::expected<BackendFacts, std::vector<config::ConfigIssue>> OverlayFacts(
    BackendFacts base, const YAML::Node& node, std::string_view file, std::string_view path);

}  // namespace meridian::policy
