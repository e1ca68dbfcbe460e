#include "policy/policy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bitset>

#include "core/jurisdiction.hpp"
#include "policy/yaml_read.hpp"

namespace meridian::policy {

using detail::Entry;
using detail::Find;
using detail::Issues;
using detail::Item;

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kRoute: return "route";
    case Action::kBlock: return "block";
    case Action::kRedact: return "redact";
    case Action::kPseudonymize: return "pseudonymize";
  }
  return "route";
}

std::string_view OutcomeCode(Eligibility::Outcome outcome) {
  switch (outcome) {
    case Eligibility::Outcome::kAllowed: return "allowed";
    case Eligibility::Outcome::kBlocked: return "policy_blocked";
    case Eligibility::Outcome::kNoEligibleBackend: return "no_eligible_backend";
  }
  return "no_eligible_backend";
}

std::string DenialMessage(const Eligibility& e) {
  switch (e.outcome) {
    case Eligibility::Outcome::kAllowed: return {};
    case Eligibility::Outcome::kBlocked:
      return fmt::format("request blocked by policy rule(s): {}", fmt::join(e.denying_rules, ", "));
    case Eligibility::Outcome::kNoEligibleBackend:
      if (e.denying_rules.empty()) return "no backend is configured";
      return fmt::format("no backend satisfies policy rule(s): {}", fmt::join(e.denying_rules, ", "));
  }
  return {};
}

namespace {

constexpr int kJurisdictionSlots = 26 * 26;

// Slot of a two-letter upper-case code, or -1 (unknown / malformed: fails closed).
int Slot(std::string_view code) {
  if (code.size() != 2) return -1;
  char a = code[0], b = code[1];
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return -1;
  return (a - 'A') * 26 + (b - 'A');
}

const int kEuSlot = Slot("EU");

// Glob for scope fields: "*" any, "abc*" prefix, otherwise exact.
struct Pattern {
  std::string text;
  bool prefix = false;
  bool Matches(std::string_view s) const {
    return prefix ? s.starts_with(text) : s == text;
  }
};

bool MatchesAny(const std::vector<Pattern>& patterns, std::string_view s) {
  if (patterns.empty()) return true;
  for (const Pattern& p : patterns) {
    if (p.Matches(s)) return true;
  }
  return false;
}

struct JurisdictionSet {
  bool present = false;
  std::bitset<kJurisdictionSlots> bits;
  std::string display;  // as written: "EU, CH"
  bool Contains(std::string_view code) const {
    int s = Slot(code);
    return s >= 0 && bits.test(static_cast<std::size_t>(s));
  }
};

struct StringSet {
  bool present = false;
  std::vector<std::string> values;
  std::string display;
  bool Contains(std::string_view s) const {
    return std::find(values.begin(), values.end(), s) != values.end();
  }
};

struct TierSet {
  uint8_t mask = 0;  // bit per config::Tier; 0 = not present
  std::string display;
  bool Contains(config::Tier t) const { return (mask >> static_cast<int>(t)) & 1u; }
};

std::string Display(const std::vector<Item>& items) {
  std::string out;
  for (const Item& i : items) {
    if (!out.empty()) out += ", ";
    out += i.value;
  }
  return out;
}

}  // namespace

struct CompiledPolicy::Rule {
  std::string name;
  std::vector<Pattern> tenants, teams, keys;  // empty = any
  bool has_class_condition = false;
  uint32_t class_mask = 0;
  JurisdictionSet when_declared;
  Action action = Action::kRoute;

  // require
  TierSet req_tiers;
  JurisdictionSet req_inference, req_storage, req_vendor_home;
  StringSet req_vendors, req_regions, req_certifications;
  bool req_zdr = false;
  bool req_no_training = false;
  int req_max_retention = -1;  // -1 = no limit

  // deny
  TierSet deny_tiers;
  JurisdictionSet deny_inference, deny_storage, deny_vendor_home;
  StringSet deny_vendors, deny_backends, deny_regions;

  bool Applies(const RequestFacts& req, uint32_t req_mask) const {
    if (has_class_condition && (req_mask & class_mask) == 0) return false;
    if (when_declared.present &&
        (!req.declared_jurisdiction || !when_declared.Contains(*req.declared_jurisdiction))) {
      return false;
    }
    return MatchesAny(tenants, req.tenant) && MatchesAny(teams, req.team) &&
           MatchesAny(keys, req.key_prefix);
  }

  // nullopt when `b` passes this (route) rule; otherwise why it does not.
  std::optional<std::string> Check(const BackendFacts& b) const;
};

namespace {

std::optional<std::string> RequireJurisdiction(const JurisdictionSet& set, std::string_view field,
                                               const std::string& value) {
  if (!set.present) return std::nullopt;
  if (value.empty()) return fmt::format("{} unknown; required one of [{}]", field, set.display);
  if (!set.Contains(value)) return fmt::format("{} {} not in [{}]", field, value, set.display);
  return std::nullopt;
}

std::optional<std::string> RequireString(const StringSet& set, std::string_view field,
                                         const std::string& value) {
  if (!set.present) return std::nullopt;
  if (value.empty()) return fmt::format("{} unknown; required one of [{}]", field, set.display);
  if (!set.Contains(value)) return fmt::format("{} {} not in [{}]", field, value, set.display);
  return std::nullopt;
}

std::optional<std::string> DenyJurisdiction(const JurisdictionSet& set, std::string_view field,
                                            const std::string& value) {
  if (!set.present) return std::nullopt;
  if (value.empty()) return fmt::format("{} unknown; denied [{}]", field, set.display);
  if (Slot(value) < 0) return fmt::format("{} {} unrecognised; denied [{}]", field, value, set.display);
  if (set.Contains(value)) return fmt::format("{} {} is denied [{}]", field, value, set.display);
  return std::nullopt;
}

std::optional<std::string> DenyString(const StringSet& set, std::string_view field,
                                      const std::string& value) {
  if (!set.present) return std::nullopt;
  if (value.empty()) return fmt::format("{} unknown; denied [{}]", field, set.display);
  if (set.Contains(value)) return fmt::format("{} {} is denied [{}]", field, value, set.display);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CompiledPolicy::Rule::Check(const BackendFacts& b) const {
  // require: every present requirement must hold.
  if (req_tiers.mask != 0 && !req_tiers.Contains(b.tier)) {
    return fmt::format("tier {} not in [{}]", config::TierName(b.tier), req_tiers.display);
  }
  if (auto r = RequireJurisdiction(req_inference, "inference_jurisdiction", b.inference_jurisdiction)) return r;
  if (auto r = RequireJurisdiction(req_storage, "storage_jurisdiction", b.storage_jurisdiction)) return r;
  if (auto r = RequireJurisdiction(req_vendor_home, "vendor_home_jurisdiction", b.vendor_home_jurisdiction)) return r;
  if (auto r = RequireString(req_vendors, "vendor", b.vendor)) return r;
  if (auto r = RequireString(req_regions, "region", b.region)) return r;
  if (req_zdr) {
    if (!b.zero_data_retention) return std::string("zero_data_retention unknown; required true");
    if (!*b.zero_data_retention) return std::string("zero_data_retention is false; required true");
  }
  if (req_no_training) {
    if (!b.trains_on_data) return std::string("trains_on_data unknown; required false");
    if (*b.trains_on_data) return std::string("trains_on_data is true; required false");
  }
  if (req_max_retention >= 0) {
    if (b.retention_days < 0) {
      return fmt::format("retention_days unknown; required at most {}", req_max_retention);
    }
    if (b.retention_days > req_max_retention) {
      return fmt::format("retention_days {} exceeds {}", b.retention_days, req_max_retention);
    }
  }
  if (req_certifications.present) {
    for (const std::string& c : req_certifications.values) {
      if (std::find(b.certifications.begin(), b.certifications.end(), c) == b.certifications.end()) {
        return fmt::format("certification {} missing; required [{}]", c, req_certifications.display);
      }
    }
  }
  // deny: any matching prohibition excludes.
  if (deny_backends.present && deny_backends.Contains(b.id)) {
    return fmt::format("backend {} is denied", b.id);
  }
  if (deny_tiers.mask != 0 && deny_tiers.Contains(b.tier)) {
    return fmt::format("tier {} is denied [{}]", config::TierName(b.tier), deny_tiers.display);
  }
  if (auto r = DenyJurisdiction(deny_inference, "inference_jurisdiction", b.inference_jurisdiction)) return r;
  if (auto r = DenyJurisdiction(deny_storage, "storage_jurisdiction", b.storage_jurisdiction)) return r;
  if (auto r = DenyJurisdiction(deny_vendor_home, "vendor_home_jurisdiction", b.vendor_home_jurisdiction)) return r;
  if (auto r = DenyString(deny_vendors, "vendor", b.vendor)) return r;
  if (auto r = DenyString(deny_regions, "region", b.region)) return r;
  return std::nullopt;
}

CompiledPolicy::CompiledPolicy() = default;
CompiledPolicy::~CompiledPolicy() = default;
CompiledPolicy::CompiledPolicy(const CompiledPolicy&) = default;
CompiledPolicy::CompiledPolicy(CompiledPolicy&&) noexcept = default;
CompiledPolicy& CompiledPolicy::operator=(const CompiledPolicy&) = default;
CompiledPolicy& CompiledPolicy::operator=(CompiledPolicy&&) noexcept = default;

std::size_t CompiledPolicy::rule_count() const { return rules_.size(); }

std::vector<std::string> CompiledPolicy::RuleNames() const {
  std::vector<std::string> out;
  out.reserve(rules_.size());
  for (const Rule& r : rules_) out.push_back(r.name);
  return out;
}

Eligibility CompiledPolicy::Evaluate(const RequestFacts& req,
                                     std::span<const BackendFacts> backends) const {
  Eligibility out;
  uint32_t req_mask = 0;
  for (int i = 0; i < core::kDataClassCount; ++i) {
    if (req.class_counts[static_cast<std::size_t>(i)] > 0) req_mask |= 1u << i;
  }

  std::bitset<kMaxRules> applied;
  // Pass 1: block, redact and pseudonymize rules see every class found or declared.
  std::size_t first_block = rules_.size();
  uint32_t transformed = 0;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (rule.action == Action::kRoute || !rule.Applies(req, req_mask)) continue;
    applied.set(i);
    uint32_t classes = req_mask & (rule.has_class_condition ? rule.class_mask : ~0u);
    if (rule.action == Action::kBlock) {
      out.blocked = true;
      out.blocking_rules.push_back(rule.name);
      if (first_block == rules_.size()) first_block = i;
    } else if (classes == 0) {
      continue;  // nothing to redact or pseudonymize
    } else {
      transformed |= classes;
    }
    Obligation& ob = out.obligations.emplace_back();
    ob.action = rule.action;
    ob.rule = rule.name;
    for (int c = 0; c < core::kDataClassCount; ++c) {
      if ((classes >> c) & 1u) ob.classes.push_back(static_cast<core::DataClass>(c));
    }
  }

  // Pass 2: route rules see what will actually leave: found values that an obligation replaces
  // are gone; declared classes cannot be replaced and stay.
  uint32_t removed = transformed & ~req.declared_mask;
  uint32_t route_mask = req_mask & ~removed;
  for (int c = 0; c < core::kDataClassCount; ++c) {
    if ((removed >> c) & 1u) out.removed_before_routing.push_back(static_cast<core::DataClass>(c));
  }
  std::bitset<kMaxRules> route_rules;  // applicable route rules
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].action == Action::kRoute && !out.blocked && rules_[i].Applies(req, route_mask)) {
      route_rules.set(i);
      applied.set(i);
    }
  }
  if (applied.any()) {
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      if (applied.test(i)) out.applied_rules.push_back(rules_[i].name);
    }
  }

  if (out.blocked) {
    out.outcome = Eligibility::Outcome::kBlocked;
    out.denying_rules = out.blocking_rules;
    out.excluded.reserve(backends.size());
    const std::string& name = rules_[first_block].name;
    for (const BackendFacts& b : backends) {
      out.excluded.push_back({b.id, name, fmt::format("request blocked by rule {}", name)});
    }
    return out;
  }

  out.allowed.reserve(backends.size());
  for (const BackendFacts& b : backends) {
    bool excluded = false;
    if (route_rules.any()) {
      for (std::size_t i = 0; i < rules_.size(); ++i) {
        if (!route_rules.test(i)) continue;
        if (auto reason = rules_[i].Check(b)) {
          out.excluded.push_back({b.id, rules_[i].name, std::move(*reason)});
          excluded = true;
          break;
        }
      }
    }
    if (!excluded) out.allowed.push_back(b.id);
  }

  if (out.allowed.empty()) {
    out.outcome = Eligibility::Outcome::kNoEligibleBackend;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      if (!route_rules.test(i)) continue;
      bool used = std::any_of(out.excluded.begin(), out.excluded.end(),
                              [&](const Eligibility::Excluded& x) { return x.rule == rules_[i].name; });
      if (used) out.denying_rules.push_back(rules_[i].name);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compiler

namespace {

using Rule = CompiledPolicy::Rule;

void ReadPatterns(Issues& issues, const std::vector<Entry>& fields, std::string_view key,
                  std::vector<Pattern>& out) {
  const Entry* e = Find(fields, key);
  if (!e) return;
  auto items = detail::ReadStringList(issues, *e);
  if (!items) return;
  if (items->empty()) {
    issues.Add(e->line, e->path, "must not be empty (leave the field out to match everything)");
    return;
  }
  std::vector<Pattern> patterns;
  for (const Item& item : *items) {
    const std::string& v = item.value;
    if (v.empty()) {
      issues.Add(item.line, item.path, "must not be empty");
      continue;
    }
    std::size_t star = v.find('*');
    if (star != std::string::npos && star != v.size() - 1) {
      issues.Add(item.line, item.path,
                 fmt::format("'{}': '*' is only allowed at the end (prefix match)", v));
      continue;
    }
    if (star == std::string::npos) {
      patterns.push_back({v, false});
    } else {
      patterns.push_back({v.substr(0, v.size() - 1), true});
    }
  }
  // A lone "*" anywhere means "any": same as leaving the field out.
  if (std::any_of(patterns.begin(), patterns.end(),
                  [](const Pattern& p) { return p.prefix && p.text.empty(); })) {
    patterns.clear();
  }
  out = std::move(patterns);
}

// `deny` lists also match a backend that says only "EU" when they name any member state:
// "somewhere in the EU" cannot be proven to be outside a denied member state.
void ReadJurisdictions(Issues& issues, const std::vector<Entry>& fields, std::string_view key,
                       bool for_deny, JurisdictionSet& out) {
  const Entry* e = Find(fields, key);
  if (!e) return;
  auto items = detail::ReadStringList(issues, *e);
  if (!items) return;
  if (items->empty()) {
    issues.Add(e->line, e->path, "must list at least one jurisdiction");
    return;
  }
  bool ok = true;
  for (const Item& item : *items) {
    if (!detail::CheckJurisdiction(issues, item)) {
      ok = false;
      continue;
    }
    out.bits.set(static_cast<std::size_t>(Slot(item.value)));
    if (item.value == "EU") {
      for (std::string_view c : core::AssignedCountryCodes()) {
        if (core::IsEuMember(c)) out.bits.set(static_cast<std::size_t>(Slot(c)));
      }
    } else if (for_deny && core::IsEuMember(item.value)) {
      out.bits.set(static_cast<std::size_t>(kEuSlot));
    }
  }
  if (!ok) return;
  out.present = true;
  out.display = Display(*items);
}

void ReadStrings(Issues& issues, const std::vector<Entry>& fields, std::string_view key,
                 StringSet& out) {
  const Entry* e = Find(fields, key);
  if (!e) return;
  auto items = detail::ReadStringList(issues, *e);
  if (!items) return;
  if (items->empty()) {
    issues.Add(e->line, e->path, "must list at least one value");
    return;
  }
  for (const Item& item : *items) {
    if (item.value.empty()) {
      issues.Add(item.line, item.path, "must not be empty");
      return;
    }
    out.values.push_back(item.value);
  }
  out.present = true;
  out.display = Display(*items);
}

void ReadTiers(Issues& issues, const std::vector<Entry>& fields, std::string_view key, TierSet& out) {
  const Entry* e = Find(fields, key);
  if (!e) return;
  auto items = detail::ReadStringList(issues, *e);
  if (!items) return;
  if (items->empty()) {
    issues.Add(e->line, e->path, "must list at least one tier");
    return;
  }
  uint8_t mask = 0;
  for (const Item& item : *items) {
    if (item.value == "edge") mask |= 1u << static_cast<int>(config::Tier::kEdge);
    else if (item.value == "local") mask |= 1u << static_cast<int>(config::Tier::kLocal);
    else if (item.value == "cloud") mask |= 1u << static_cast<int>(config::Tier::kCloud);
    else {
      issues.Add(item.line, item.path,
                 fmt::format("unknown tier '{}' (expected edge, local or cloud)", item.value));
      return;
    }
  }
  out.mask = mask;
  out.display = Display(*items);
}

void CompileRule(Issues& issues, const YAML::Node& node, const std::string& path, Rule& rule,
                 bool& ok) {
  std::size_t before = issues.list.size();
  auto fields = detail::ReadFields(issues, node, detail::LineOf(node), path,
                                   {"name", "description", "scope", "when", "require", "deny", "action"});
  if (!node.IsMap()) {
    ok = false;
    return;
  }
  if (const Entry* e = Find(fields, "name")) {
    if (auto s = detail::ReadString(issues, e->value, e->line, e->path)) {
      if (s->empty()) issues.Add(e->line, e->path, "must not be empty");
      rule.name = *s;
    }
  } else {
    issues.Add(detail::LineOf(node), path, "missing required field 'name'");
  }
  if (const Entry* e = Find(fields, "description")) {
    detail::ReadString(issues, e->value, e->line, e->path);
  }
  if (const Entry* e = Find(fields, "action")) {
    if (auto s = detail::ReadString(issues, e->value, e->line, e->path)) {
      if (*s == "route") rule.action = Action::kRoute;
      else if (*s == "block") rule.action = Action::kBlock;
      else if (*s == "redact") rule.action = Action::kRedact;
      else if (*s == "pseudonymize") rule.action = Action::kPseudonymize;
      else issues.Add(e->line, e->path,
                      fmt::format("unknown action '{}' (expected route, block, redact or pseudonymize)", *s));
    }
  }
  if (const Entry* e = Find(fields, "scope")) {
    auto scope = detail::ReadFields(issues, e->value, e->line, e->path, {"tenant", "team", "key"});
    ReadPatterns(issues, scope, "tenant", rule.tenants);
    ReadPatterns(issues, scope, "team", rule.teams);
    ReadPatterns(issues, scope, "key", rule.keys);
  }
  if (const Entry* e = Find(fields, "when")) {
    auto when = detail::ReadFields(issues, e->value, e->line, e->path,
                                   {"data_classes", "declared_jurisdiction"});
    if (const Entry* dc = Find(when, "data_classes")) {
      if (dc->value.IsScalar() && dc->value.Scalar() == "any") {
        rule.has_class_condition = true;
        rule.class_mask = (1u << core::kDataClassCount) - 1;
      } else if (auto items = detail::ReadStringList(issues, *dc)) {
        if (items->empty()) {
          issues.Add(dc->line, dc->path, "must list at least one data class, or be 'any'");
        }
        for (const Item& item : *items) {
          auto c = core::ParseDataClass(item.value);
          if (!c) {
            issues.Add(item.line, item.path, fmt::format("unknown data class '{}'", item.value));
            continue;
          }
          rule.class_mask |= 1u << static_cast<int>(*c);
        }
        rule.has_class_condition = true;
      }
    }
    ReadJurisdictions(issues, when, "declared_jurisdiction", /*for_deny=*/false, rule.when_declared);
  }
  const Entry* require = Find(fields, "require");
  const Entry* deny = Find(fields, "deny");
  if (require) {
    auto r = detail::ReadFields(issues, require->value, require->line, require->path,
                                {"tier", "inference_jurisdiction", "storage_jurisdiction",
                                 "vendor_home_jurisdiction", "vendors", "regions",
                                 "zero_data_retention", "trains_on_data", "max_retention_days",
                                 "certifications"});
    ReadTiers(issues, r, "tier", rule.req_tiers);
    ReadJurisdictions(issues, r, "inference_jurisdiction", false, rule.req_inference);
    ReadJurisdictions(issues, r, "storage_jurisdiction", false, rule.req_storage);
    ReadJurisdictions(issues, r, "vendor_home_jurisdiction", false, rule.req_vendor_home);
    ReadStrings(issues, r, "vendors", rule.req_vendors);
    ReadStrings(issues, r, "regions", rule.req_regions);
    ReadStrings(issues, r, "certifications", rule.req_certifications);
    if (const Entry* e = Find(r, "zero_data_retention")) {
      if (auto v = detail::ReadBool(issues, *e)) {
        if (!*v) issues.Add(e->line, e->path, "only 'true' is meaningful (leave the field out to allow any)");
        rule.req_zdr = *v;
      }
    }
    if (const Entry* e = Find(r, "trains_on_data")) {
      if (auto v = detail::ReadBool(issues, *e)) {
        if (*v) issues.Add(e->line, e->path, "only 'false' is meaningful (leave the field out to allow any)");
        rule.req_no_training = !*v;
      }
    }
    if (const Entry* e = Find(r, "max_retention_days")) {
      if (auto v = detail::ReadInt(issues, *e, 100 * 365)) rule.req_max_retention = *v;
    }
    if (r.empty() && require->value.IsMap()) {
      issues.Add(require->line, require->path, "must contain at least one requirement");
    }
  }
  if (deny) {
    auto d = detail::ReadFields(issues, deny->value, deny->line, deny->path,
                                {"backends", "tier", "inference_jurisdiction", "storage_jurisdiction",
                                 "vendor_home_jurisdiction", "vendors", "regions"});
    ReadStrings(issues, d, "backends", rule.deny_backends);
    ReadTiers(issues, d, "tier", rule.deny_tiers);
    ReadJurisdictions(issues, d, "inference_jurisdiction", true, rule.deny_inference);
    ReadJurisdictions(issues, d, "storage_jurisdiction", true, rule.deny_storage);
    ReadJurisdictions(issues, d, "vendor_home_jurisdiction", true, rule.deny_vendor_home);
    ReadStrings(issues, d, "vendors", rule.deny_vendors);
    ReadStrings(issues, d, "regions", rule.deny_regions);
    if (d.empty() && deny->value.IsMap()) {
      issues.Add(deny->line, deny->path, "must contain at least one prohibition");
    }
  }
  if (require && deny) {
    // A fact that require and deny both constrain so that no value passes: the rule would
    // exclude every backend, which is never what its author meant.
    auto contradiction = [&](std::string_view field) {
      issues.Add(deny->line, detail::Join(deny->path, field),
                 fmt::format("contradicts require.{}: every value it requires is denied, so the rule "
                             "excludes every backend",
                             field));
    };
    if (rule.req_tiers.mask != 0 && rule.deny_tiers.mask != 0 && (rule.req_tiers.mask & ~rule.deny_tiers.mask) == 0) {
      contradiction("tier");
    }
    auto jurisdictions = [&](const JurisdictionSet& req, const JurisdictionSet& den, std::string_view field) {
      if (req.present && den.present && (req.bits & ~den.bits).none()) contradiction(field);
    };
    jurisdictions(rule.req_inference, rule.deny_inference, "inference_jurisdiction");
    jurisdictions(rule.req_storage, rule.deny_storage, "storage_jurisdiction");
    jurisdictions(rule.req_vendor_home, rule.deny_vendor_home, "vendor_home_jurisdiction");
    auto strings = [&](const StringSet& req, const StringSet& den, std::string_view field) {
      if (!req.present || !den.present) return;
      for (const std::string& v : req.values) {
        if (!den.Contains(v)) return;
      }
      contradiction(field);
    };
    strings(rule.req_vendors, rule.deny_vendors, "vendors");
    strings(rule.req_regions, rule.deny_regions, "regions");
  }
  if (rule.action == Action::kRoute) {
    if (!require && !deny) {
      issues.Add(detail::LineOf(node), path,
                 "a route rule needs 'require' or 'deny' (or set 'action' to block, redact or pseudonymize)");
    }
  } else if (require || deny) {
    const Entry* e = require ? require : deny;
    issues.Add(e->line, e->path,
               fmt::format("'{}' applies only to action 'route' (this rule's action is '{}')", e->key,
                           ActionName(rule.action)));
  }
  ok = issues.list.size() == before;
}

}  // namespace

std::expected<CompiledPolicy, std::vector<config::ConfigIssue>> CompilePolicy(
    const YAML::Node& node, std::string_view file, std::string_view path) {
  CompiledPolicy policy;
  if (!node.IsDefined() || node.IsNull()) return policy;
  Issues issues{std::string(file), {}};
  try {
    if (!node.IsSequence()) {
      issues.Add(detail::LineOf(node), std::string(path),
                 fmt::format("expected a list of rules, got {}", detail::KindName(node)));
      return std::unexpected(std::move(issues.list));
    }
    if (node.size() > CompiledPolicy::kMaxRules) {
      issues.Add(detail::LineOf(node), std::string(path),
                 fmt::format("at most {} rules are supported, got {}", CompiledPolicy::kMaxRules,
                             node.size()));
      return std::unexpected(std::move(issues.list));
    }
    std::vector<int> lines;
    std::size_t i = 0;
    for (const YAML::Node& item : node) {
      std::string item_path = detail::Index(path, i++);
      Rule rule;
      bool ok = false;
      CompileRule(issues, item, item_path, rule, ok);
      if (!rule.name.empty()) {
        for (std::size_t j = 0; j < policy.rules_.size(); ++j) {
          if (policy.rules_[j].name == rule.name) {
            issues.Add(detail::LineOf(item), detail::Join(item_path, "name"),
                       fmt::format("duplicate rule name '{}' (first declared at line {})",
                                   rule.name, lines[j]));
            ok = false;
          }
        }
      }
      // Keep even failed rules' names for duplicate detection; the policy is discarded anyway.
      lines.push_back(detail::LineOf(item));
      policy.rules_.push_back(std::move(rule));
      (void)ok;
    }
  } catch (const std::exception& ex) {  // defensive: yaml-cpp conversions
    issues.Add(detail::LineOf(node), std::string(path), ex.what());
  }
  if (!issues.list.empty()) {
    std::stable_sort(issues.list.begin(), issues.list.end(),
                     [](const config::ConfigIssue& a, const config::ConfigIssue& b) { return a.line < b.line; });
    return std::unexpected(std::move(issues.list));
  }
  return policy;
}

std::expected<CompiledPolicy, std::vector<config::ConfigIssue>> CompilePolicyText(
    std::string_view yaml_text, std::string_view file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& ex) {
    int line = ex.mark.line >= 0 ? ex.mark.line + 1 : 0;
    return std::unexpected(std::vector<config::ConfigIssue>{
        config::ConfigIssue{std::string(file), line, "", fmt::format("invalid YAML: {}", ex.msg)}});
  }
  if (root.IsNull() || !root.IsDefined()) return CompiledPolicy{};
  if (!root.IsMap()) {
    return std::unexpected(std::vector<config::ConfigIssue>{config::ConfigIssue{
        std::string(file), detail::LineOf(root), "", "expected a map at the top level"}});
  }
  const YAML::Node& const_root = root;  // const: operator[] must not insert
  return CompilePolicy(const_root["policies"], file, "policies");
}

}  // namespace meridian::policy
