// Property test: the compiled evaluator against a deliberately naive oracle.
//
// Random policies (rendered to YAML and compiled), random backend fact sets and random requests;
// the oracle below reads the generator's own rule structs with plain string sets and loops,
// sharing no code with src/policy. Seeded and reproducible: set MERIDIAN_POLICY_SEED to repeat
// a run; a failure prints the seed, the case, the policy YAML and the request.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>

#include "policy/policy.hpp"

namespace meridian::policy {
namespace {

const std::set<std::string> kEu27 = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI",
                                     "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
                                     "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"};

const std::vector<std::string> kClassNames = {
    "email", "phone", "ip_address", "payment_card", "iban", "us_ssn", "cn_resident_id", "de_tax_id",
    "fr_nir", "in_aadhaar", "uk_nino", "es_dni_nie", "it_codice_fiscale", "br_cpf", "secret",
    "classification_marking"};

struct GenRule {
  std::string name;
  std::vector<std::string> tenants, teams, keys;
  int when_kind = 0;  // 0 none, 1 any, 2 list
  std::vector<std::string> when_classes;
  std::vector<std::string> when_declared;
  std::string action = "route";
  std::vector<std::string> r_tier, r_inf, r_sto, r_home, r_vendors, r_regions, r_certs;
  bool r_zdr = false, r_notrain = false;
  int r_maxret = -1;
  std::vector<std::string> d_backends, d_tier, d_inf, d_sto, d_home, d_vendors, d_regions;
};

// ---------------------------------------------------------------------------------------------
// Oracle

bool Glob(const std::string& pattern, const std::string& s) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') {
    std::string prefix = pattern.substr(0, pattern.size() - 1);
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
  }
  return pattern == s;
}

bool ScopeOk(const std::vector<std::string>& patterns, const std::string& s) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns) {
    if (Glob(p, s)) return true;
  }
  return false;
}

std::set<std::string> Expand(const std::vector<std::string>& codes, bool deny) {
  std::set<std::string> out;
  for (const auto& c : codes) {
    out.insert(c);
    if (c == "EU") out.insert(kEu27.begin(), kEu27.end());
    if (deny && kEu27.count(c)) out.insert("EU");
  }
  return out;
}

bool In(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool HasClass(const RequestFacts& req, const std::string& name) {
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    if (kClassNames[i] == name) return req.class_counts[i] > 0;
  }
  return false;
}

bool OracleApplies(const GenRule& r, const RequestFacts& req) {
  if (!ScopeOk(r.tenants, req.tenant) || !ScopeOk(r.teams, req.team) || !ScopeOk(r.keys, req.key_prefix)) {
    return false;
  }
  if (r.when_kind == 1) {
    bool any = false;
    for (const auto& n : kClassNames) any = any || HasClass(req, n);
    if (!any) return false;
  } else if (r.when_kind == 2) {
    bool any = false;
    for (const auto& n : r.when_classes) any = any || HasClass(req, n);
    if (!any) return false;
  }
  if (!r.when_declared.empty()) {
    if (!req.declared_jurisdiction) return false;
    if (!Expand(r.when_declared, false).count(*req.declared_jurisdiction)) return false;
  }
  return true;
}

std::string TierStr(config::Tier t) {
  return t == config::Tier::kEdge ? "edge" : t == config::Tier::kLocal ? "local" : "cloud";
}

// True if `b` passes the route rule `r`.
bool OraclePasses(const GenRule& r, const BackendFacts& b) {
  if (!r.r_tier.empty() && !In(r.r_tier, TierStr(b.tier))) return false;
  auto require_j = [](const std::vector<std::string>& list, const std::string& v) {
    return list.empty() || (!v.empty() && Expand(list, false).count(v) > 0);
  };
  if (!require_j(r.r_inf, b.inference_jurisdiction)) return false;
  if (!require_j(r.r_sto, b.storage_jurisdiction)) return false;
  if (!require_j(r.r_home, b.vendor_home_jurisdiction)) return false;
  if (!r.r_vendors.empty() && (b.vendor.empty() || !In(r.r_vendors, b.vendor))) return false;
  if (!r.r_regions.empty() && (b.region.empty() || !In(r.r_regions, b.region))) return false;
  if (r.r_zdr && b.zero_data_retention != std::optional<bool>(true)) return false;
  if (r.r_notrain && b.trains_on_data != std::optional<bool>(false)) return false;
  if (r.r_maxret >= 0 && (b.retention_days < 0 || b.retention_days > r.r_maxret)) return false;
  for (const auto& c : r.r_certs) {
    if (!In(b.certifications, c)) return false;
  }
  if (In(r.d_backends, b.id)) return false;
  if (In(r.d_tier, TierStr(b.tier))) return false;
  auto deny_j = [](const std::vector<std::string>& list, const std::string& v) {
    return !list.empty() && (v.empty() || Expand(list, true).count(v) > 0);
  };
  if (deny_j(r.d_inf, b.inference_jurisdiction)) return false;
  if (deny_j(r.d_sto, b.storage_jurisdiction)) return false;
  if (deny_j(r.d_home, b.vendor_home_jurisdiction)) return false;
  if (!r.d_vendors.empty() && (b.vendor.empty() || In(r.d_vendors, b.vendor))) return false;
  if (!r.d_regions.empty() && (b.region.empty() || In(r.d_regions, b.region))) return false;
  return true;
}

struct OracleResult {
  bool blocked = false;
  std::vector<std::string> allowed;
  std::vector<std::pair<std::string, std::string>> first_failing;  // backend, rule
  std::vector<std::pair<std::string, std::vector<std::string>>> obligations;  // rule, class names
};

OracleResult Oracle(const std::vector<GenRule>& rules, const RequestFacts& req,
                    const std::vector<BackendFacts>& backends) {
  OracleResult out;
  for (const GenRule& r : rules) {
    if (!OracleApplies(r, req) || r.action == "route") continue;
    std::vector<std::string> classes;
    for (const auto& n : kClassNames) {
      if (HasClass(req, n) && (r.when_kind != 2 || In(r.when_classes, n))) classes.push_back(n);
    }
    if (r.action == "block") out.blocked = true;
    if (r.action == "block" || !classes.empty()) out.obligations.emplace_back(r.name, classes);
  }
  if (out.blocked) return out;
  // Route rules see the request after redaction/pseudonymization: replaced classes are gone,
  // unless declared (declared classes have no spans to replace).
  RequestFacts routed = req;
  for (const auto& [rule, classes] : out.obligations) {
    const GenRule& r = *std::find_if(rules.begin(), rules.end(), [&](const GenRule& g) { return g.name == rule; });
    if (r.action != "redact" && r.action != "pseudonymize") continue;
    for (const std::string& n : classes) {
      std::size_t i = static_cast<std::size_t>(std::find(kClassNames.begin(), kClassNames.end(), n) - kClassNames.begin());
      if (((req.declared_mask >> i) & 1u) == 0) routed.class_counts[i] = 0;
    }
  }
  for (const BackendFacts& b : backends) {
    std::string failing;
    for (const GenRule& r : rules) {
      if (r.action == "route" && OracleApplies(r, routed) && !OraclePasses(r, b)) {
        failing = r.name;
        break;
      }
    }
    if (failing.empty()) out.allowed.push_back(b.id);
    else out.first_failing.emplace_back(b.id, failing);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generator

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(1, 100) <= percent; }
  const std::string& Pick(const std::vector<std::string>& v) {
    return v[static_cast<std::size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }
  // 1..max distinct items of `pool`.
  std::vector<std::string> Some(const std::vector<std::string>& pool, int max) {
    std::vector<std::string> out;
    int n = Int(1, max);
    for (int i = 0; i < n; ++i) {
      const std::string& s = Pick(pool);
      if (!In(out, s)) out.push_back(s);
    }
    return out;
  }
  std::vector<std::string> Maybe(const std::vector<std::string>& pool, int max, int percent) {
    return Chance(percent) ? Some(pool, max) : std::vector<std::string>{};
  }

 private:
  std::mt19937_64 rng_;
};

const std::vector<std::string> kRuleJur = {"EU", "DE", "FR", "US", "CN", "CH", "GB"};
const std::vector<std::string> kFactJur = {"", "DE", "FR", "IT", "US", "CN", "CH", "GB", "EU"};
const std::vector<std::string> kTiers = {"edge", "local", "cloud"};
const std::vector<std::string> kVendors = {"openai", "mistral", "deepseek", "meridian"};
const std::vector<std::string> kRegions = {"r1", "r2", "r3"};
const std::vector<std::string> kCerts = {"soc2", "iso27001", "c5"};

GenRule RandomRule(Gen& g, int index) {
  GenRule r;
  r.name = fmt::format("rule-{}", index);
  r.tenants = g.Maybe({"acme", "beta", "a*", "*", "acme-eu"}, 2, 30);
  r.teams = g.Maybe({"web", "data", "d*", "*"}, 2, 20);
  r.keys = g.Maybe({"sk-1", "sk-*", "*"}, 2, 20);
  int w = g.Int(0, 9);
  if (w < 4) {
    r.when_kind = 0;
  } else if (w < 5) {
    r.when_kind = 1;
  } else {
    r.when_kind = 2;
    r.when_classes = g.Some(kClassNames, 3);
  }
  r.when_declared = g.Maybe({"EU", "DE", "US", "CH"}, 2, 10);
  int a = g.Int(0, 9);
  r.action = a < 7 ? "route" : a == 7 ? "block" : a == 8 ? "redact" : "pseudonymize";
  if (r.action != "route") return r;
  for (;;) {
    r.r_tier = g.Maybe(kTiers, 2, 15);
    r.r_inf = g.Maybe(kRuleJur, 3, 20);
    r.r_sto = g.Maybe(kRuleJur, 3, 10);
    r.r_home = g.Maybe(kRuleJur, 3, 10);
    r.r_vendors = g.Maybe(kVendors, 3, 10);
    r.r_regions = g.Maybe(kRegions, 2, 5);
    r.r_certs = g.Maybe(kCerts, 2, 10);
    r.r_zdr = g.Chance(10);
    r.r_notrain = g.Chance(10);
    r.r_maxret = g.Chance(10) ? g.Int(0, 40) : -1;
    r.d_backends = g.Maybe({"b0", "b1", "b2", "b3", "bx"}, 2, 10);
    r.d_tier = g.Maybe(kTiers, 1, 10);
    r.d_inf = g.Maybe(kRuleJur, 2, 10);
    r.d_sto = g.Maybe(kRuleJur, 2, 5);
    r.d_home = g.Maybe(kRuleJur, 2, 10);
    r.d_vendors = g.Maybe(kVendors, 2, 10);
    r.d_regions = g.Maybe(kRegions, 1, 5);
    bool has_require = !r.r_tier.empty() || !r.r_inf.empty() || !r.r_sto.empty() ||
                       !r.r_home.empty() || !r.r_vendors.empty() || !r.r_regions.empty() ||
                       !r.r_certs.empty() || r.r_zdr || r.r_notrain || r.r_maxret >= 0;
    bool has_deny = !r.d_backends.empty() || !r.d_tier.empty() || !r.d_inf.empty() ||
                    !r.d_sto.empty() || !r.d_home.empty() || !r.d_vendors.empty() ||
                    !r.d_regions.empty();
    if (has_require || has_deny) return r;
  }
}

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += fmt::format("{}\"{}\"", i ? ", " : "", v[i]);
  return out + "]";
}

std::string Render(const std::vector<GenRule>& rules) {
  std::string y = "policies:\n";
  for (const GenRule& r : rules) {
    y += fmt::format("  - name: {}\n", r.name);
    if (!r.tenants.empty() || !r.teams.empty() || !r.keys.empty()) {
      y += "    scope:\n";
      if (!r.tenants.empty()) y += fmt::format("      tenant: {}\n", List(r.tenants));
      if (!r.teams.empty()) y += fmt::format("      team: {}\n", List(r.teams));
      if (!r.keys.empty()) y += fmt::format("      key: {}\n", List(r.keys));
    }
    if (r.when_kind != 0 || !r.when_declared.empty()) {
      y += "    when:\n";
      if (r.when_kind == 1) y += "      data_classes: any\n";
      if (r.when_kind == 2) y += fmt::format("      data_classes: {}\n", List(r.when_classes));
      if (!r.when_declared.empty()) y += fmt::format("      declared_jurisdiction: {}\n", List(r.when_declared));
    }
    if (r.action != "route" || r.name.back() == '0') y += fmt::format("    action: {}\n", r.action);
    if (r.action != "route") continue;
    std::string req, deny;
    auto add = [](std::string& s, const char* key, const std::vector<std::string>& v) {
      if (!v.empty()) s += fmt::format("      {}: {}\n", key, List(v));
    };
    add(req, "tier", r.r_tier);
    add(req, "inference_jurisdiction", r.r_inf);
    add(req, "storage_jurisdiction", r.r_sto);
    add(req, "vendor_home_jurisdiction", r.r_home);
    add(req, "vendors", r.r_vendors);
    add(req, "regions", r.r_regions);
    add(req, "certifications", r.r_certs);
    if (r.r_zdr) req += "      zero_data_retention: true\n";
    if (r.r_notrain) req += "      trains_on_data: false\n";
    if (r.r_maxret >= 0) req += fmt::format("      max_retention_days: {}\n", r.r_maxret);
    add(deny, "backends", r.d_backends);
    add(deny, "tier", r.d_tier);
    add(deny, "inference_jurisdiction", r.d_inf);
    add(deny, "storage_jurisdiction", r.d_sto);
    add(deny, "vendor_home_jurisdiction", r.d_home);
    add(deny, "vendors", r.d_vendors);
    add(deny, "regions", r.d_regions);
    if (!req.empty()) y += "    require:\n" + req;
    if (!deny.empty()) y += "    deny:\n" + deny;
  }
  return y;
}

BackendFacts RandomBackend(Gen& g, int index) {
  BackendFacts b;
  b.id = fmt::format("b{}", index);
  b.tier = static_cast<config::Tier>(g.Int(0, 2));
  b.inference_jurisdiction = g.Pick(kFactJur);
  b.storage_jurisdiction = g.Pick(kFactJur);
  b.vendor_home_jurisdiction = g.Pick(kFactJur);
  b.vendor = g.Chance(15) ? "" : g.Pick(kVendors);
  b.region = g.Chance(30) ? "" : g.Pick(kRegions);
  b.retention_days = g.Chance(25) ? -1 : g.Int(0, 40);
  int z = g.Int(0, 2);
  b.zero_data_retention = z == 0 ? std::nullopt : std::optional<bool>(z == 1);
  int t = g.Int(0, 2);
  b.trains_on_data = t == 0 ? std::nullopt : std::optional<bool>(t == 1);
  b.certifications = g.Maybe(kCerts, 3, 60);
  return b;
}

RequestFacts RandomRequest(Gen& g) {
  RequestFacts r;
  r.tenant = g.Pick({"acme", "beta", "acme-eu", "gamma", ""});
  r.team = g.Pick({"web", "data", "dev", ""});
  r.key_prefix = g.Pick({"sk-1", "sk-2", "pk-1", ""});
  int n = g.Int(0, 3);
  for (int i = 0; i < n; ++i) r.class_counts[static_cast<std::size_t>(g.Int(0, core::kDataClassCount - 1))] += g.Int(1, 3);
  for (int i = 0; i < core::kDataClassCount; ++i) {
    if (r.class_counts[static_cast<std::size_t>(i)] > 0 && g.Int(0, 3) == 0) r.declared_mask |= 1u << i;
  }
  int d = g.Int(0, 6);
  if (d > 0) r.declared_jurisdiction = std::vector<std::string>{"DE", "FR", "US", "CH", "EU", "IT"}[static_cast<std::size_t>(d - 1)];
  return r;
}

std::string Describe(const RequestFacts& r, const std::vector<BackendFacts>& backends) {
  std::string s = fmt::format("request tenant={} team={} key={} declared={} classes=[", r.tenant, r.team,
                              r.key_prefix, r.declared_jurisdiction.value_or("-"));
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    if (r.class_counts[i] > 0) s += kClassNames[i] + " ";
  }
  s += "]\n";
  for (const auto& b : backends) {
    s += fmt::format(
        "  {} tier={} inf={} sto={} home={} vendor={} region={} ret={} zdr={} trains={} certs={}\n", b.id,
        TierStr(b.tier), b.inference_jurisdiction, b.storage_jurisdiction, b.vendor_home_jurisdiction,
        b.vendor, b.region, b.retention_days,
        b.zero_data_retention ? (*b.zero_data_retention ? "true" : "false") : "?",
        b.trains_on_data ? (*b.trains_on_data ? "true" : "false") : "?", fmt::join(b.certifications, ","));
  }
  return s;
}

TEST(PolicyProperty, EvaluatorMatchesNaiveOracle) {
  uint64_t seed = 20261124;
  if (const char* env = std::getenv("MERIDIAN_POLICY_SEED")) seed = std::strtoull(env, nullptr, 10);
  constexpr int kPolicies = 1000;
  constexpr int kCasesPerPolicy = 100;
  int cases = 0, blocked = 0, empty = 0, nonempty = 0;
  for (int p = 0; p < kPolicies; ++p) {
    Gen g(seed * 1'000'003ull + static_cast<uint64_t>(p));
    std::vector<GenRule> rules;
    std::string yaml;
    std::expected<CompiledPolicy, std::vector<config::ConfigIssue>> compiled;
    // A rule whose require and deny of one fact leave no value is rejected by the compiler
    // (tested in policy_test.cpp); draw again from the same stream.
    for (;;) {
      rules.clear();
      int n = g.Int(0, 5);
      for (int i = 0; i < n; ++i) rules.push_back(RandomRule(g, i));
      yaml = Render(rules);
      compiled = CompilePolicyText(yaml, "gen.yaml");
      if (compiled || compiled.error()[0].message.find("contradicts require.") == std::string::npos) break;
    }
    ASSERT_TRUE(compiled.has_value()) << "seed " << seed << " policy " << p << "\n" << yaml << "\n"
                                      << compiled.error()[0].ToString();
    for (int c = 0; c < kCasesPerPolicy; ++c, ++cases) {
      std::vector<BackendFacts> backends;
      int nb = g.Int(0, 6);
      for (int i = 0; i < nb; ++i) backends.push_back(RandomBackend(g, i));
      RequestFacts req = RandomRequest(g);

      Eligibility got = compiled->Evaluate(req, backends);
      OracleResult want = Oracle(rules, req, backends);

      auto where = [&] {
        return fmt::format("seed {} (MERIDIAN_POLICY_SEED={}) policy {} case {}\n{}{}", seed, seed, p, c,
                           yaml, Describe(req, backends));
      };
      ASSERT_EQ(got.blocked, want.blocked) << where();
      ASSERT_EQ(got.allowed, want.allowed) << where();
      for (const auto& id : got.allowed) {  // never a backend the oracle excludes
        for (const auto& [bid, rule] : want.first_failing) ASSERT_NE(id, bid) << where();
      }
      Eligibility::Outcome want_outcome = want.blocked          ? Eligibility::Outcome::kBlocked
                                          : want.allowed.empty() ? Eligibility::Outcome::kNoEligibleBackend
                                                                 : Eligibility::Outcome::kAllowed;
      ASSERT_EQ(got.outcome, want_outcome) << where();
      ASSERT_EQ(got.excluded.size() + got.allowed.size(), backends.size()) << where();
      if (!want.blocked) {
        ASSERT_EQ(got.excluded.size(), want.first_failing.size()) << where();
        for (std::size_t i = 0; i < got.excluded.size(); ++i) {
          ASSERT_EQ(got.excluded[i].backend, want.first_failing[i].first) << where();
          ASSERT_EQ(got.excluded[i].rule, want.first_failing[i].second) << where();
          ASSERT_FALSE(got.excluded[i].reason.empty()) << where();
        }
      }
      ASSERT_EQ(got.obligations.size(), want.obligations.size()) << where();
      for (std::size_t i = 0; i < got.obligations.size(); ++i) {
        ASSERT_EQ(got.obligations[i].rule, want.obligations[i].first) << where();
        std::vector<std::string> names;
        for (core::DataClass dc : got.obligations[i].classes) names.emplace_back(core::DataClassName(dc));
        ASSERT_EQ(names, want.obligations[i].second) << where();
      }
      if (want.blocked) ++blocked;
      else if (want.allowed.empty()) ++empty;
      else ++nonempty;
    }
  }
  std::printf("seed %llu: %d cases (%d blocked, %d no eligible backend, %d allowed)\n",
              static_cast<unsigned long long>(seed), cases, blocked, empty, nonempty);
  EXPECT_GE(cases, 100'000);
  // The generator must exercise every outcome, or the comparison proves little.
  EXPECT_GT(blocked, 1000);
  EXPECT_GT(empty, 1000);
  EXPECT_GT(nonempty, 1000);
}

}  // namespace
}  // namespace meridian::policy
