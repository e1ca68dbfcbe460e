#include "policy/policy.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>

namespace meridian::policy {
namespace {

using Outcome = Eligibility::Outcome;

std::vector<std::string> Messages(const std::vector<config::ConfigIssue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.ToString());
  return out;
}

CompiledPolicy Compile(std::string_view yaml) {
  auto p = CompilePolicyText(yaml, "p.yaml");
  EXPECT_TRUE(p.has_value()) << (p ? "" : Messages(p.error())[0]);
  return p ? std::move(*p) : CompiledPolicy{};
}

std::vector<std::string> Errors(std::string_view yaml) {
  auto p = CompilePolicyText(yaml, "p.yaml");
  EXPECT_FALSE(p.has_value());
  return p ? std::vector<std::string>{} : Messages(p.error());
}

BackendFacts Make(std::string id, config::Tier tier, std::string jur, std::string vendor,
                  std::string home, std::string storage, int retention, std::optional<bool> zdr,
                  std::optional<bool> trains, std::vector<std::string> certs = {},
                  std::string region = "") {
  BackendFacts b;
  b.id = std::move(id);
  b.tier = tier;
  b.inference_jurisdiction = std::move(jur);
  b.vendor = std::move(vendor);
  b.vendor_home_jurisdiction = std::move(home);
  b.storage_jurisdiction = std::move(storage);
  b.retention_days = retention;
  b.zero_data_retention = zdr;
  b.trains_on_data = trains;
  b.certifications = std::move(certs);
  b.region = std::move(region);
  return b;
}

const std::vector<BackendFacts>& Fleet() {
  using config::Tier;
  static const std::vector<BackendFacts> fleet = {
      Make("eu-fr", Tier::kCloud, "FR", "mistral", "FR", "FR", 0, true, false, {"soc2"}, "eu-west"),
      Make("us-oa", Tier::kCloud, "US", "openai", "US", "US", 30, false, false, {"soc2", "iso27001"}, "us-east-1"),
      Make("cn-ds", Tier::kCloud, "CN", "deepseek", "CN", "CN", 30, false, true),
      Make("local", Tier::kLocal, "DE", "meridian", "DE", "DE", 0, true, false),
      Make("edge", Tier::kEdge, "", "", "", "", -1, std::nullopt, std::nullopt),
      Make("eu-any", Tier::kCloud, "EU", "acme", "US", "EU", 7, true, false, {"iso27001"}),
  };
  return fleet;
}

RequestFacts Req(std::initializer_list<core::DataClass> classes = {}, std::string tenant = "acme",
                 std::string team = "web", std::string key = "sk-web-1") {
  RequestFacts r;
  r.tenant = std::move(tenant);
  r.team = std::move(team);
  r.key_prefix = std::move(key);
  for (core::DataClass c : classes) r.class_counts[static_cast<std::size_t>(c)] += 1;
  return r;
}

using Ex = std::vector<std::tuple<std::string, std::string, std::string>>;
Ex Excluded(const Eligibility& e) {
  Ex out;
  for (const auto& x : e.excluded) out.emplace_back(x.backend, x.rule, x.reason);
  return out;
}
using Ids = std::vector<std::string>;

TEST(Evaluate, EmptyPolicyAllowsEverything) {
  CompiledPolicy p;
  auto e = p.Evaluate(Req({core::DataClass::kSecret}), Fleet());
  EXPECT_EQ(e.outcome, Outcome::kAllowed);
  EXPECT_EQ(e.allowed, (Ids{"eu-fr", "us-oa", "cn-ds", "local", "edge", "eu-any"}));
  EXPECT_TRUE(e.excluded.empty());
  EXPECT_FALSE(e.blocked);
  EXPECT_EQ(DenialMessage(e), "");
  auto none = CompilePolicyText("server: {}\n", "p.yaml");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->rule_count(), 0u);
}

TEST(Evaluate, EuExpansionAndFailClosedOnUnknownJurisdiction) {
  auto p = Compile(R"(
policies:
  - name: eu-personal
    when: {data_classes: [email, iban]}
    require: {inference_jurisdiction: [EU]}
)");
  auto e = p.Evaluate(Req({core::DataClass::kEmail}), Fleet());
  EXPECT_EQ(e.outcome, Outcome::kAllowed);
  EXPECT_EQ(e.allowed, (Ids{"eu-fr", "local", "eu-any"}));
  EXPECT_EQ(Excluded(e), (Ex{
      {"us-oa", "eu-personal", "inference_jurisdiction US not in [EU]"},
      {"cn-ds", "eu-personal", "inference_jurisdiction CN not in [EU]"},
      {"edge", "eu-personal", "inference_jurisdiction unknown; required one of [EU]"},
  }));
  // The rule does not apply without its classes.
  auto none = p.Evaluate(Req({core::DataClass::kPhone}), Fleet());
  EXPECT_EQ(none.allowed.size(), 6u);
}

TEST(Evaluate, RequireMemberStateDoesNotAcceptPlainEu) {
  auto p = Compile(R"(
policies:
  - name: de-only
    require: {inference_jurisdiction: [DE, FR]}
)");
  auto e = p.Evaluate(Req(), Fleet());
  EXPECT_EQ(e.allowed, (Ids{"eu-fr", "local"}));
  EXPECT_EQ(std::get<2>(Excluded(e).back()), "inference_jurisdiction EU not in [DE, FR]");
}

TEST(Evaluate, StorageAndVendorHomeJurisdiction) {
  auto p = Compile(R"(
policies:
  - name: storage
    require: {storage_jurisdiction: EU, vendor_home_jurisdiction: [EU, CH]}
)");
  auto e = p.Evaluate(Req(), Fleet());
  EXPECT_EQ(e.allowed, (Ids{"eu-fr", "local"}));
  EXPECT_EQ(Excluded(e), (Ex{
      {"us-oa", "storage", "storage_jurisdiction US not in [EU]"},
      {"cn-ds", "storage", "storage_jurisdiction CN not in [EU]"},
      {"edge", "storage", "storage_jurisdiction unknown; required one of [EU]"},
      {"eu-any", "storage", "vendor_home_jurisdiction US not in [EU, CH]"},
  }));
}

TEST(Evaluate, TierRequirement) {
  auto p = Compile(R"(
policies:
  - name: classified-local-only
    when: {data_classes: [classification_marking]}
    require: {tier: [local, edge]}
)");
  auto e = p.Evaluate(Req({core::DataClass::kClassificationMarking}), Fleet());
  EXPECT_EQ(e.allowed, (Ids{"local", "edge"}));
  EXPECT_EQ(Excluded(e)[0], std::make_tuple(std::string("eu-fr"), std::string("classified-local-only"),
                                            std::string("tier cloud not in [local, edge]")));
  EXPECT_EQ(e.excluded.size(), 4u);
}

TEST(Evaluate, RetentionTrainingCertificationsVendorsRegions) {
  struct Case {
    const char* require;
    Ids allowed;
    Ex excluded;
  };
  const Case cases[] = {
      {"{zero_data_retention: true}", {"eu-fr", "local", "eu-any"},
       {{"us-oa", "r", "zero_data_retention is false; required true"},
        {"cn-ds", "r", "zero_data_retention is false; required true"},
        {"edge", "r", "zero_data_retention unknown; required true"}}},
      {"{trains_on_data: false}", {"eu-fr", "us-oa", "local", "eu-any"},
       {{"cn-ds", "r", "trains_on_data is true; required false"},
        {"edge", "r", "trains_on_data unknown; required false"}}},
      {"{max_retention_days: 7}", {"eu-fr", "local", "eu-any"},
       {{"us-oa", "r", "retention_days 30 exceeds 7"},
        {"cn-ds", "r", "retention_days 30 exceeds 7"},
        {"edge", "r", "retention_days unknown; required at most 7"}}},
      {"{certifications: [soc2, iso27001]}", {"us-oa"},
       {{"eu-fr", "r", "certification iso27001 missing; required [soc2, iso27001]"},
        {"cn-ds", "r", "certification soc2 missing; required [soc2, iso27001]"},
        {"local", "r", "certification soc2 missing; required [soc2, iso27001]"},
        {"edge", "r", "certification soc2 missing; required [soc2, iso27001]"},
        {"eu-any", "r", "certification soc2 missing; required [soc2, iso27001]"}}},
      {"{vendors: [mistral, meridian]}", {"eu-fr", "local"},
       {{"us-oa", "r", "vendor openai not in [mistral, meridian]"},
        {"cn-ds", "r", "vendor deepseek not in [mistral, meridian]"},
        {"edge", "r", "vendor unknown; required one of [mistral, meridian]"},
        {"eu-any", "r", "vendor acme not in [mistral, meridian]"}}},
      {"{regions: [eu-west, us-east-1]}", {"eu-fr", "us-oa"},
       {{"cn-ds", "r", "region unknown; required one of [eu-west, us-east-1]"},
        {"local", "r", "region unknown; required one of [eu-west, us-east-1]"},
        {"edge", "r", "region unknown; required one of [eu-west, us-east-1]"},
        {"eu-any", "r", "region unknown; required one of [eu-west, us-east-1]"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.require);
    auto p = Compile(fmt::format("policies:\n  - name: r\n    require: {}\n", c.require));
    auto e = p.Evaluate(Req(), Fleet());
    EXPECT_EQ(e.allowed, c.allowed);
    EXPECT_EQ(Excluded(e), c.excluded);
  }
}

TEST(Evaluate, DenyKinds) {
  struct Case {
    const char* deny;
    Ids allowed;
    Ex excluded;
  };
  const Case cases[] = {
      {"{vendors: [deepseek], vendor_home_jurisdiction: [CN]}", {"eu-fr", "us-oa", "local", "eu-any"},
       {{"cn-ds", "d", "vendor_home_jurisdiction CN is denied [CN]"},
        {"edge", "d", "vendor_home_jurisdiction unknown; denied [CN]"}}},
      {"{vendors: [deepseek]}", {"eu-fr", "us-oa", "local", "eu-any"},
       {{"cn-ds", "d", "vendor deepseek is denied [deepseek]"},
        {"edge", "d", "vendor unknown; denied [deepseek]"}}},
      {"{tier: cloud}", {"local", "edge"},
       {{"eu-fr", "d", "tier cloud is denied [cloud]"},
        {"us-oa", "d", "tier cloud is denied [cloud]"},
        {"cn-ds", "d", "tier cloud is denied [cloud]"},
        {"eu-any", "d", "tier cloud is denied [cloud]"}}},
      {"{backends: [us-oa, nope]}", {"eu-fr", "cn-ds", "local", "edge", "eu-any"},
       {{"us-oa", "d", "backend us-oa is denied"}}},
      // A member state in a deny list also denies a backend that says only "EU".
      {"{inference_jurisdiction: [DE]}", {"eu-fr", "us-oa", "cn-ds"},
       {{"local", "d", "inference_jurisdiction DE is denied [DE]"},
        {"edge", "d", "inference_jurisdiction unknown; denied [DE]"},
        {"eu-any", "d", "inference_jurisdiction EU is denied [DE]"}}},
      // "EU" in a deny list denies every member state.
      {"{storage_jurisdiction: [EU]}", {"us-oa", "cn-ds"},
       {{"eu-fr", "d", "storage_jurisdiction FR is denied [EU]"},
        {"local", "d", "storage_jurisdiction DE is denied [EU]"},
        {"edge", "d", "storage_jurisdiction unknown; denied [EU]"},
        {"eu-any", "d", "storage_jurisdiction EU is denied [EU]"}}},
      {"{regions: [us-east-1]}", {"eu-fr"} /* an unknown region fails closed */,
       {{"us-oa", "d", "region us-east-1 is denied [us-east-1]"},
        {"cn-ds", "d", "region unknown; denied [us-east-1]"},
        {"local", "d", "region unknown; denied [us-east-1]"},
        {"edge", "d", "region unknown; denied [us-east-1]"},
        {"eu-any", "d", "region unknown; denied [us-east-1]"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.deny);
    auto p = Compile(fmt::format("policies:\n  - name: d\n    deny: {}\n", c.deny));
    auto e = p.Evaluate(Req(), Fleet());
    EXPECT_EQ(e.allowed, c.allowed);
    EXPECT_EQ(Excluded(e), c.excluded);
  }
}

TEST(Evaluate, FirstExcludingRuleInPolicyOrderIsReported) {
  auto p = Compile(R"(
policies:
  - name: no-cn
    deny: {vendor_home_jurisdiction: [CN]}
  - name: eu
    require: {inference_jurisdiction: [EU]}
)");
  auto e = p.Evaluate(Req(), Fleet());
  EXPECT_EQ(e.allowed, (Ids{"eu-fr", "local", "eu-any"}));
  EXPECT_EQ(Excluded(e), (Ex{
      {"us-oa", "eu", "inference_jurisdiction US not in [EU]"},
      {"cn-ds", "no-cn", "vendor_home_jurisdiction CN is denied [CN]"},
      {"edge", "no-cn", "vendor_home_jurisdiction unknown; denied [CN]"},
  }));
}

TEST(Evaluate, NoEligibleBackendNamesTheRules) {
  auto p = Compile(R"(
policies:
  - name: unused
    when: {data_classes: [br_cpf]}
    require: {tier: [edge]}
  - name: local-only
    require: {tier: [local]}
  - name: no-de
    deny: {inference_jurisdiction: [DE]}
)");
  auto e = p.Evaluate(Req(), Fleet());
  EXPECT_TRUE(e.allowed.empty());
  EXPECT_FALSE(e.blocked);
  EXPECT_EQ(e.outcome, Outcome::kNoEligibleBackend);
  EXPECT_EQ(OutcomeCode(e.outcome), "no_eligible_backend");
  EXPECT_EQ(e.denying_rules, (Ids{"local-only", "no-de"}));
  EXPECT_EQ(DenialMessage(e), "no backend satisfies policy rule(s): local-only, no-de");
  auto empty = p.Evaluate(Req(), {});
  EXPECT_EQ(empty.outcome, Outcome::kNoEligibleBackend);
  EXPECT_EQ(DenialMessage(empty), "no backend is configured");
}

TEST(Evaluate, BlockTakesPrecedenceOverRoute) {
  auto p = Compile(R"(
policies:
  - name: eu
    require: {inference_jurisdiction: [EU]}
  - name: secrets-never-leave
    when: {data_classes: [secret, payment_card]}
    action: block
  - name: redact-email
    when: {data_classes: [email]}
    action: redact
)");
  auto e = p.Evaluate(Req({core::DataClass::kSecret, core::DataClass::kEmail}), Fleet());
  EXPECT_TRUE(e.blocked);
  EXPECT_EQ(e.outcome, Outcome::kBlocked);
  EXPECT_EQ(OutcomeCode(e.outcome), "policy_blocked");
  EXPECT_TRUE(e.allowed.empty());
  EXPECT_EQ(e.blocking_rules, (Ids{"secrets-never-leave"}));
  EXPECT_EQ(e.denying_rules, (Ids{"secrets-never-leave"}));
  EXPECT_EQ(DenialMessage(e), "request blocked by policy rule(s): secrets-never-leave");
  ASSERT_EQ(e.excluded.size(), 6u);
  for (const auto& x : e.excluded) {
    EXPECT_EQ(x.rule, "secrets-never-leave");
    EXPECT_EQ(x.reason, "request blocked by rule secrets-never-leave");
  }
  ASSERT_EQ(e.obligations.size(), 2u);
  EXPECT_EQ(e.obligations[0].action, Action::kBlock);
  EXPECT_EQ(e.obligations[0].rule, "secrets-never-leave");
  EXPECT_EQ(e.obligations[0].classes, std::vector<core::DataClass>{core::DataClass::kSecret});
  EXPECT_EQ(e.obligations[1].action, Action::kRedact);
  EXPECT_EQ(e.obligations[1].classes, std::vector<core::DataClass>{core::DataClass::kEmail});
}

TEST(Evaluate, RedactAndPseudonymizeObligations) {
  auto p = Compile(R"(
policies:
  - name: pseudo-ids
    when: {data_classes: [de_tax_id, fr_nir, iban]}
    action: pseudonymize
  - name: redact-anything
    when: {data_classes: any}
    action: redact
  - name: redact-unconditional
    action: redact
)");
  auto e = p.Evaluate(Req({core::DataClass::kIban, core::DataClass::kFrNir, core::DataClass::kPhone}), Fleet());
  EXPECT_FALSE(e.blocked);
  EXPECT_EQ(e.allowed.size(), 6u);
  ASSERT_EQ(e.obligations.size(), 3u);
  EXPECT_EQ(e.obligations[0].action, Action::kPseudonymize);
  EXPECT_EQ(e.obligations[0].rule, "pseudo-ids");
  EXPECT_EQ(e.obligations[0].classes,
            (std::vector<core::DataClass>{core::DataClass::kIban, core::DataClass::kFrNir}));
  EXPECT_EQ(e.obligations[1].rule, "redact-anything");
  EXPECT_EQ(e.obligations[1].classes,
            (std::vector<core::DataClass>{core::DataClass::kPhone, core::DataClass::kIban,
                                          core::DataClass::kFrNir}));
  EXPECT_EQ(e.obligations[2].rule, "redact-unconditional");
  // Nothing found: no redaction obligation.
  auto clean = p.Evaluate(Req(), Fleet());
  EXPECT_TRUE(clean.obligations.empty());
}

TEST(Evaluate, BlockWithoutClassesBlocksTheScope) {
  auto p = Compile(R"(
policies:
  - name: suspended-tenant
    scope: {tenant: evil}
    action: block
)");
  auto blocked = p.Evaluate(Req({}, "evil"), Fleet());
  EXPECT_TRUE(blocked.blocked);
  ASSERT_EQ(blocked.obligations.size(), 1u);
  EXPECT_TRUE(blocked.obligations[0].classes.empty());
  EXPECT_FALSE(p.Evaluate(Req({}, "acme"), Fleet()).blocked);
}

TEST(Evaluate, ScopeMatching) {
  auto p = Compile(R"(
policies:
  - name: scoped
    scope: {tenant: [acme, beta], team: "*", key: "sk-ops*"}
    require: {tier: [local]}
)");
  struct Case {
    const char* tenant;
    const char* team;
    const char* key;
    bool applies;
  };
  const Case cases[] = {
      {"acme", "web", "sk-ops-1", true},   {"beta", "", "sk-ops", true},
      {"acme", "web", "sk-web-1", false},  {"gamma", "web", "sk-ops-1", false},
      {"acm", "web", "sk-ops-1", false},   {"acmee", "web", "sk-ops-1", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{}/{}/{}", c.tenant, c.team, c.key));
    auto e = p.Evaluate(Req({}, c.tenant, c.team, c.key), Fleet());
    EXPECT_EQ(e.allowed.size(), c.applies ? 1u : 6u);
  }
  auto teams = Compile(R"(
policies:
  - name: team-rule
    scope: {team: data*}
    require: {tier: [edge]}
)");
  EXPECT_EQ(teams.Evaluate(Req({}, "x", "data-science", "k"), Fleet()).allowed, (Ids{"edge"}));
  EXPECT_EQ(teams.Evaluate(Req({}, "x", "dat", "k"), Fleet()).allowed.size(), 6u);
}

TEST(Evaluate, DeclaredJurisdictionCondition) {
  auto p = Compile(R"(
policies:
  - name: eu-origin
    when: {declared_jurisdiction: [EU]}
    require: {inference_jurisdiction: [EU]}
)");
  RequestFacts r = Req();
  EXPECT_EQ(p.Evaluate(r, Fleet()).allowed.size(), 6u);  // nothing declared
  r.declared_jurisdiction = "IT";
  EXPECT_EQ(p.Evaluate(r, Fleet()).allowed, (Ids{"eu-fr", "local", "eu-any"}));
  r.declared_jurisdiction = "US";
  EXPECT_EQ(p.Evaluate(r, Fleet()).allowed.size(), 6u);
}

TEST(Evaluate, MalformedBackendJurisdictionFailsClosed) {
  auto p = Compile("policies:\n  - name: r\n    require: {inference_jurisdiction: [EU]}\n"
                   "  - name: d\n    deny: {storage_jurisdiction: [CN]}\n");
  std::vector<BackendFacts> b = {Make("x", config::Tier::kCloud, "de", "v", "DE", "de", 0, true, false)};
  auto e = p.Evaluate(Req(), b);
  EXPECT_EQ(Excluded(e), (Ex{{"x", "r", "inference_jurisdiction de not in [EU]"}}));
  b[0].inference_jurisdiction = "DE";
  e = p.Evaluate(Req(), b);
  EXPECT_EQ(Excluded(e), (Ex{{"x", "d", "storage_jurisdiction de unrecognised; denied [CN]"}}));
}

// ---------------------------------------------------------------------------------------------
// Compiler errors

TEST(Compile, ReportsEveryIssueWithFileLineField) {
  auto m = Errors(R"(policies:
  - name: a
    when: {data_classes: [email, emial]}
    require: {inference_jurisdiction: [eu], tier: [cloud, orbit]}
  - name: a
    deny: {vendor: [x]}
  - name: c
    action: obliterate
    require: {zero_data_retention: false, trains_on_data: true}
  - name: d
    scope: {tenant: "a*b", tem: x}
    action: block
    require: {tier: local}
  - name: e
  - description: nameless
    when: {data_classes: []}
    deny: {backends: [x]}
)");
  std::vector<std::string> want = {
      "p.yaml:3: policies[0].when.data_classes[1]: unknown data class 'emial'",
      "p.yaml:4: policies[0].require.tier[1]: unknown tier 'orbit' (expected edge, local or cloud)",
      "p.yaml:4: policies[0].require.inference_jurisdiction[0]: unknown jurisdiction 'eu': codes are upper case, write 'EU'",
      "p.yaml:5: policies[1].name: duplicate rule name 'a' (first declared at line 2)",
      "p.yaml:6: policies[1].deny.vendor: unknown field 'vendor'; did you mean 'vendors'?",
      "p.yaml:6: policies[1].deny: must contain at least one prohibition",
      "p.yaml:8: policies[2].action: unknown action 'obliterate' (expected route, block, redact or pseudonymize)",
      "p.yaml:9: policies[2].require.zero_data_retention: only 'true' is meaningful (leave the field out to allow any)",
      "p.yaml:9: policies[2].require.trains_on_data: only 'false' is meaningful (leave the field out to allow any)",
      "p.yaml:11: policies[3].scope.tem: unknown field 'tem'; did you mean 'team'?",
      "p.yaml:11: policies[3].scope.tenant: 'a*b': '*' is only allowed at the end (prefix match)",
      "p.yaml:13: policies[3].require: 'require' applies only to action 'route' (this rule's action is 'block')",
      "p.yaml:14: policies[4]: a route rule needs 'require' or 'deny' (or set 'action' to block, redact or pseudonymize)",
      "p.yaml:15: policies[5]: missing required field 'name'",
      "p.yaml:16: policies[5].when.data_classes: must list at least one data class, or be 'any'",
  };
  EXPECT_EQ(m, want);
}

TEST(Compile, ShapeErrors) {
  EXPECT_EQ(Errors("policies: {a: 1}\n"),
            (Ids{"p.yaml:1: policies: expected a list of rules, got a map"}));
  EXPECT_EQ(Errors("policies:\n  - just-a-string\n"),
            (Ids{"p.yaml:2: policies[0]: expected a map, got a scalar"}));
  EXPECT_EQ(Errors("- a\n"), (Ids{"p.yaml:1: expected a map at the top level"}));
  auto syntax = Errors("policies: [\n");
  ASSERT_EQ(syntax.size(), 1u);
  EXPECT_TRUE(syntax[0].starts_with("p.yaml:")) << syntax[0];
  EXPECT_NE(syntax[0].find("invalid YAML"), std::string::npos) << syntax[0];
  EXPECT_EQ(Errors("policies:\n  - name: x\n    require: {max_retention_days: soon}\n"),
            (Ids{"p.yaml:3: policies[0].require.max_retention_days: expected a non-negative integer, got 'soon'"}));
  EXPECT_EQ(Errors("policies:\n  - name: x\n    require: {inference_jurisdiction: [XX]}\n"),
            (Ids{"p.yaml:3: policies[0].require.inference_jurisdiction[0]: unknown jurisdiction 'XX' "
                 "(expected an ISO 3166-1 alpha-2 code such as 'DE' or 'US', or 'EU')"}));
}

TEST(Compile, RequireAndDenyThatLeaveNoValueAreRejected) {
  EXPECT_EQ(Errors("policies:\n  - name: x\n    require: {inference_jurisdiction: [EU, FR]}\n"
                   "    deny: {inference_jurisdiction: [EU]}\n"),
            (Ids{"p.yaml:4: policies[0].deny.inference_jurisdiction: contradicts require.inference_jurisdiction: "
                 "every value it requires is denied, so the rule excludes every backend"}));
  EXPECT_EQ(Errors("policies:\n  - name: x\n    require: {tier: [local], vendors: [a, b]}\n"
                   "    deny: {tier: [local, cloud], vendors: [a, b, c]}\n"),
            (Ids{"p.yaml:4: policies[0].deny.tier: contradicts require.tier: every value it requires is denied, so "
                 "the rule excludes every backend",
                 "p.yaml:4: policies[0].deny.vendors: contradicts require.vendors: every value it requires is denied, "
                 "so the rule excludes every backend"}));
  // Overlap that still leaves a value is fine: EU minus France.
  EXPECT_EQ(Compile("policies:\n  - name: x\n    require: {inference_jurisdiction: [EU]}\n"
                    "    deny: {inference_jurisdiction: [FR], vendors: [a]}\n")
                .rule_count(),
            1u);
}

TEST(Compile, TooManyRules) {
  std::string yaml = "policies:\n";
  for (std::size_t i = 0; i <= CompiledPolicy::kMaxRules; ++i) {
    yaml += fmt::format("  - {{name: r{}, deny: {{vendors: [x]}}}}\n", i);
  }
  EXPECT_EQ(Errors(yaml), (Ids{"p.yaml:2: policies: at most 256 rules are supported, got 257"}));
}

TEST(Compile, RuleNamesInOrder) {
  auto p = Compile("policies:\n  - {name: b, action: block}\n  - {name: a, action: redact}\n");
  EXPECT_EQ(p.RuleNames(), (Ids{"b", "a"}));
  EXPECT_EQ(ActionName(Action::kPseudonymize), "pseudonymize");
}

}  // namespace
}  // namespace meridian::policy
