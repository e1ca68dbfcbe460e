// gateway/policy_stage: classification of every string a request would send, declarations,
// policy evaluation against a model's backends, the 403 body and the explanation. No sockets.

#include "gateway/policy_stage.hpp"

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace meridian::gateway {
namespace {

namespace json = boost::json;

// Three backends serving m1: one in the US, one in the EU (ZDR), one local.
const std::string kConfig = R"(
auth:
  keys:
    - sk-anonymous-caller
    - key: sk-acme-ops-0001
      tenant: acme
      team: ops
      jurisdiction: DE
    - key: sk-classified-0001
      tenant: mod
      data_classes: [classification_marking]
backends:
  - id: us
    provider: openai
    base_url: http://127.0.0.1:9/v1
    models: [m1]
    tier: cloud
    jurisdiction: US
    vendor: openai
  - id: eu
    provider: mistral
    base_url: http://127.0.0.1:9/v1
    models: [m1]
    tier: cloud
    jurisdiction: FR
    vendor: mistral
    facts: {storage_jurisdiction: FR, zero_data_retention: true}
  - id: box
    provider: vllm
    base_url: http://127.0.0.1:9/v1
    models: [m1]
    tier: local
    jurisdiction: DE
policies:
  - name: eu-personal-data
    when: {data_classes: [email, phone, iban]}
    require: {inference_jurisdiction: [EU]}
  - name: classified-local
    when: {data_classes: [classification_marking]}
    require: {tier: [local]}
  - name: secrets-never-leave
    when: {data_classes: [secret]}
    action: block
  - name: acme-no-openai
    scope: {tenant: acme}
    deny: {vendors: [openai]}
  - name: pseudonymize-ids
    when: {data_classes: [iban]}
    action: pseudonymize
)";

std::shared_ptr<const Snapshot> Snap() {
  static std::shared_ptr<const Snapshot> snap = [] {
    auto c = config::ParseConfig(kConfig, "t.yaml");
    if (!c) throw std::runtime_error(c.error().front().ToString());
    auto s = Snapshot::Build(std::move(*c));
    if (!s) throw std::runtime_error(s.error().message);
    return *s;
  }();
  return snap;
}

struct Run {
  PolicyDecision decision;
  json::object body;
};

Run Decide(std::string_view body_json, std::string_view key = "sk-anonymous-caller", Declared declared = {}) {
  auto snap = Snap();
  auto route = snap->Resolve("m1");
  EXPECT_TRUE(route.has_value());
  Run r;
  r.body = json::parse(body_json).as_object();
  const Caller* caller = snap->FindCaller(key);
  EXPECT_NE(caller, nullptr);
  r.decision = DecidePolicy(*snap, *caller, declared, r.body, route->facts);
  return r;
}

std::vector<std::string> Eligible(const PolicyDecision& d) {
  auto route = Snap()->Resolve("m1");
  std::vector<std::string> ids;
  for (Backend* b : EligibleBackends(d, *route->backends)) ids.push_back(b->id());
  return ids;
}

std::vector<std::string> Paths(const PolicyDecision& d) {
  std::vector<std::string> out;
  for (const auto& f : d.found.fields) out.push_back(f.path);
  return out;
}

using V = std::vector<std::string>;

TEST(PolicyStage, NothingFoundAllowsEveryBackend) {
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"What is the capital of France?"}]})");
  EXPECT_TRUE(r.decision.allowed());
  EXPECT_EQ(Eligible(r.decision), (V{"us", "eu", "box"}));
  EXPECT_TRUE(r.decision.found.fields.empty());
  EXPECT_TRUE(r.decision.eligibility.applied_rules.empty());
}

TEST(PolicyStage, AnEmailKeepsTheRequestInTheEuAndSaysWhy) {
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"Write to alice.martin@example.org today"}]})");
  EXPECT_TRUE(r.decision.allowed());
  EXPECT_EQ(Eligible(r.decision), (V{"eu", "box"}));
  EXPECT_EQ(r.decision.found.Count(core::DataClass::kEmail), 1);
  ASSERT_EQ(Paths(r.decision), V{"messages[0].content"});
  const auto& f = r.decision.found.fields[0].findings.at(0);
  EXPECT_EQ(f.begin, 9u);
  EXPECT_EQ(f.end, 33u);
  ASSERT_EQ(r.decision.eligibility.excluded.size(), 1u);
  EXPECT_EQ(r.decision.eligibility.excluded[0].backend, "us");
  EXPECT_EQ(r.decision.eligibility.excluded[0].rule, "eu-personal-data");
  EXPECT_EQ(r.decision.eligibility.excluded[0].reason, "inference_jurisdiction US not in [EU]");
}

TEST(PolicyStage, ScansSystemToolArgumentsToolResultsAndImageUrlsButNotBase64Payloads) {
  auto r = Decide(R"({"model":"m1","messages":[
      {"role":"system","content":"Escalate to ops@example.com"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"lookup","arguments":"{\"email\":\"bob@example.net\"}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"found carol@example.com"},
      {"role":"user","content":[{"type":"text","text":"see image"},
        {"type":"image_url","image_url":{"url":"https://img.example.com/a.png?owner=dave@example.com"}},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,ZXZlQGV4YW1wbGUuY29t"}}]}]})");
  EXPECT_EQ(Paths(r.decision), (V{"messages[0].content", "messages[1].tool_calls[0].function.arguments",
                                  "messages[2].content", "messages[3].content[1].image_url.url"}));
  EXPECT_EQ(r.decision.found.Count(core::DataClass::kEmail), 4);
  EXPECT_EQ(Eligible(r.decision), (V{"eu", "box"}));
}

TEST(PolicyStage, ASecretBlocksTheRequestWithARuleNamingDenial) {
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"deploy with ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"}]})");
  ASSERT_EQ(r.decision.found.Count(core::DataClass::kSecret), 1);
  EXPECT_FALSE(r.decision.allowed());
  EXPECT_TRUE(Eligible(r.decision).empty());
  EXPECT_EQ(DenialBody(r.decision),
            R"({"error":{"message":"request blocked by policy rule(s): secrets-never-leave","type":"permission_error",)"
            R"("param":null,"code":"policy_blocked","policy":{"outcome":"policy_blocked","rules":["secrets-never-leave"],)"
            R"("excluded":[{"backend":"us","rule":"secrets-never-leave","reason":"request blocked by rule secrets-never-leave"},)"
            R"({"backend":"eu","rule":"secrets-never-leave","reason":"request blocked by rule secrets-never-leave"},)"
            R"({"backend":"box","rule":"secrets-never-leave","reason":"request blocked by rule secrets-never-leave"}],)"
            R"("data_classes":{"secret":1}}}})");
  // The body names rules and backends, never the value.
  EXPECT_EQ(DenialBody(r.decision).find("ghp_"), std::string::npos);
}

TEST(PolicyStage, KeyDeclaredClassificationKeepsEveryRequestOfThatKeyLocal) {
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"hello"}]})", "sk-classified-0001");
  EXPECT_EQ(Eligible(r.decision), V{"box"});
  EXPECT_EQ(r.decision.facts.tenant, "mod");
  EXPECT_EQ(r.decision.facts.key_prefix, "sk-class");
  EXPECT_EQ(r.decision.facts.class_counts[static_cast<int>(core::DataClass::kClassificationMarking)], 1);
}

TEST(PolicyStage, HeaderDeclarationsAddToTheKeys) {
  auto declared = ParseDeclared(" email , classification_marking", "FR");
  ASSERT_TRUE(declared) << declared.error().message;
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"hello"}]})", "sk-anonymous-caller", *declared);
  EXPECT_EQ(Eligible(r.decision), V{"box"});
  EXPECT_EQ(r.decision.facts.declared_jurisdiction, "FR");
}

TEST(PolicyStage, TenantScopeComesFromTheKey) {
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"hello"}]})", "sk-acme-ops-0001");
  // The local box declares no vendor: a deny on vendors excludes an unknown vendor (fail closed).
  EXPECT_EQ(Eligible(r.decision), V{"eu"});
  EXPECT_EQ(r.decision.facts.declared_jurisdiction, "DE");  // the key's default
  EXPECT_EQ(r.decision.eligibility.applied_rules, V{"acme-no-openai"});
  ASSERT_EQ(r.decision.eligibility.excluded.size(), 2u);
  EXPECT_EQ(r.decision.eligibility.excluded[0].reason, "vendor openai is denied [openai]");
  EXPECT_EQ(r.decision.eligibility.excluded[1].backend, "box");
}

TEST(PolicyStage, PseudonymizedClassesNoLongerRestrictRouting) {
  // An IBAN alone: the pseudonymize rule removes it, so the EU rule does not apply.
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"pay to DE89370400440532013000 now"}]})");
  ASSERT_EQ(r.decision.found.Count(core::DataClass::kIban), 1);
  EXPECT_TRUE(r.decision.must_transform());
  EXPECT_EQ(r.decision.pseudonymize_mask, 1u << static_cast<int>(core::DataClass::kIban));
  EXPECT_EQ(Eligible(r.decision), (V{"us", "eu", "box"}));
  ASSERT_EQ(r.decision.hits.size(), 1u);
  EXPECT_EQ(*r.decision.hits[0].value, "pay to DE89370400440532013000 now");
}

TEST(PolicyStage, AValueInAnObjectKeyCannotBeRedactedSoItStillRestrictsRouting) {
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"hi"}],
                      "metadata":{"DE89370400440532013000":"x"}})");
  ASSERT_EQ(r.decision.found.Count(core::DataClass::kIban), 1);
  EXPECT_EQ(Paths(r.decision), V{"metadata.DE89370400440532013000 (key)"});
  EXPECT_EQ(Eligible(r.decision), (V{"eu", "box"}));
  // The pseudonymize obligation still rewrites the key, in place, keeping its value.
  redact::Pseudonymizer p(std::string(32, 'k'));
  EXPECT_EQ(ApplyObligations(r.decision, p), 1);
  const json::object& metadata = r.body.at("metadata").as_object();
  ASSERT_EQ(metadata.size(), 1u);
  EXPECT_TRUE(metadata.begin()->key().starts_with("[IBAN_")) << metadata.begin()->key();
  EXPECT_EQ(metadata.begin()->value(), json::value("x"));
  EXPECT_EQ(p.Restore(metadata.begin()->key()), "DE89370400440532013000");
}

TEST(PolicyStage, RedactedKeysThatWouldCollideKeepEveryMember) {
  auto snap = Snap();
  auto route = snap->Resolve("m1");
  json::object body = json::parse(R"({"model":"m1","messages":[{"role":"user","content":"hi"}],
      "metadata":{"a":1,"DE89370400440532013000":2,"GB82WEST12345698765432":3,"z":4}})").as_object();
  PolicyDecision d = DecidePolicy(*snap, snap->anonymous_caller(), {}, body, route->facts);
  d.redact_mask = 1u << static_cast<int>(core::DataClass::kIban);  // as a redact rule would
  d.pseudonymize_mask = 0;
  redact::Pseudonymizer p(std::string(32, 'k'));
  EXPECT_EQ(ApplyObligations(d, p), 2);
  EXPECT_EQ(json::serialize(body.at("metadata")),
            R"({"a":1,"[REDACTED_IBAN]#2":2,"[REDACTED_IBAN]":3,"z":4})");
}

TEST(PolicyStage, BadDeclarationHeadersAreNamed) {
  auto bad_class = ParseDeclared("email, passport", "");
  ASSERT_FALSE(bad_class);
  EXPECT_EQ(bad_class.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(bad_class.error().param, "x-meridian-data-classes");
  EXPECT_TRUE(bad_class.error().message.starts_with("header x-meridian-data-classes: unknown data class 'passport'"))
      << bad_class.error().message;
  auto bad_j = ParseDeclared("", "de");
  ASSERT_FALSE(bad_j);
  EXPECT_EQ(bad_j.error().param, "x-meridian-data-jurisdiction");
  EXPECT_EQ(bad_j.error().message,
            "header x-meridian-data-jurisdiction: unknown jurisdiction 'de' (expected an upper-case ISO 3166-1 "
            "alpha-2 code such as DE, or EU)");
  auto none = ParseDeclared("", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->mask, 0u);
  EXPECT_FALSE(none->jurisdiction);
}

TEST(PolicyStage, ExplainListsClassesSpansRulesAndBackendsButNoValues) {
  auto r = Decide(R"({"model":"m1","messages":[{"role":"user","content":"mail alice.martin@example.org"}]})");
  auto route = Snap()->Resolve("m1");
  json::object e = ExplainJson(r.decision, "m1", route->facts);
  EXPECT_EQ(json::serialize(e),
            R"({"model":"m1","caller":{"tenant":"","team":"","key_prefix":"sk-anony","declared_jurisdiction":null},)"
            R"("classes":[{"class":"email","count":1,"declared":false,"spans":[{"field":"messages[0].content","begin":5,"end":29}]}],)"
            R"("rules_fired":["eu-personal-data"],"outcome":"allowed","denying_rules":[],"candidates":["us","eu","box"],)"
            R"("eligible":["eu","box"],"excluded":[{"backend":"us","rule":"eu-personal-data","reason":"inference_jurisdiction US not in [EU]"}],)"
            R"("obligations":[],"removed_before_routing":[]})");
}

}  // namespace
}  // namespace meridian::gateway
