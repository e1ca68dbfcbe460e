#include "policy/facts.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "policy/yaml_read.hpp"

namespace meridian::policy {

using detail::Entry;
using detail::Find;
using detail::Issues;

BackendFacts FactsFrom(const config::BackendConfig& backend) {
  BackendFacts f;
  f.id = backend.id;
  f.tier = backend.tier;
  f.inference_jurisdiction = backend.jurisdiction;
  f.region = backend.region;
  f.vendor = backend.vendor;
  return f;
}

namespace {

void ReadJurisdiction(Issues& issues, const std::vector<Entry>& fields, std::string_view key,
                      std::string& out) {
  const Entry* e = Find(fields, key);
  if (!e) return;
  auto s = detail::ReadString(issues, e->value, e->line, e->path);
  if (!s) return;
  if (s->empty()) {  // explicitly unknown
    out.clear();
    return;
  }
  if (detail::CheckJurisdiction(issues, detail::Item{*s, e->line, e->path})) out = *s;
}

void ReadPlain(Issues& issues, const std::vector<Entry>& fields, std::string_view key,
               std::string& out) {
  const Entry* e = Find(fields, key);
  if (!e) return;
  if (auto s = detail::ReadString(issues, e->value, e->line, e->path)) out = *s;
}

}  // namespace

std::expected<BackendFacts, std::vector<config::ConfigIssue>> OverlayFacts(
    BackendFacts base, const YAML::Node& node, std::string_view file, std::string_view path) {
  if (!node.IsDefined() || node.IsNull()) return base;
  Issues issues{std::string(file), {}};
  try {
    auto fields = detail::ReadFields(
        issues, node, detail::LineOf(node), path,
        {"tier", "inference_jurisdiction", "region", "vendor", "vendor_home_jurisdiction",
         "storage_jurisdiction", "retention_days", "zero_data_retention", "trains_on_data",
         "certifications"});
    if (const Entry* e = Find(fields, "tier")) {
      if (auto s = detail::ReadString(issues, e->value, e->line, e->path)) {
        if (*s == "edge") base.tier = config::Tier::kEdge;
        else if (*s == "local") base.tier = config::Tier::kLocal;
        else if (*s == "cloud") base.tier = config::Tier::kCloud;
        else issues.Add(e->line, e->path, fmt::format("unknown tier '{}' (expected edge, local or cloud)", *s));
      }
    }
    ReadJurisdiction(issues, fields, "inference_jurisdiction", base.inference_jurisdiction);
    ReadJurisdiction(issues, fields, "vendor_home_jurisdiction", base.vendor_home_jurisdiction);
    ReadJurisdiction(issues, fields, "storage_jurisdiction", base.storage_jurisdiction);
    ReadPlain(issues, fields, "region", base.region);
    ReadPlain(issues, fields, "vendor", base.vendor);
    if (const Entry* e = Find(fields, "retention_days")) {
      if (auto v = detail::ReadInt(issues, *e, 100 * 365)) base.retention_days = *v;
    }
    if (const Entry* e = Find(fields, "zero_data_retention")) {
      if (auto v = detail::ReadBool(issues, *e)) base.zero_data_retention = *v;
    }
    if (const Entry* e = Find(fields, "trains_on_data")) {
      if (auto v = detail::ReadBool(issues, *e)) base.trains_on_data = *v;
    }
    if (const Entry* e = Find(fields, "certifications")) {
      if (auto items = detail::ReadStringList(issues, *e)) {
        base.certifications.clear();
        for (auto& item : *items) {
          if (item.value.empty()) {
            issues.Add(item.line, item.path, "must not be empty");
            continue;
          }
          base.certifications.push_back(item.value);
        }
      }
    }
  } catch (const std::exception& ex) {  // yaml-cpp conversions; defensive
    issues.Add(detail::LineOf(node), std::string(path), ex.what());
  }
  if (!issues.list.empty()) {
    std::stable_sort(issues.list.begin(), issues.list.end(),
                     [](const config::ConfigIssue& a, const config::ConfigIssue& b) { return a.line < b.line; });
    return std::unexpected(std::move(issues.list));
  }
  return base;
}

}  // namespace meridian::policy
