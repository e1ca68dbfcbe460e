#include "policy/facts.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace meridian::policy {
namespace {

std::vector<std::string> Messages(const std::vector<config::ConfigIssue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.ToString());
  return out;
}

config::BackendConfig Backend() {
  config::BackendConfig b;
  b.id = "mistral-eu";
  b.tier = config::Tier::kCloud;
  b.jurisdiction = "FR";
  b.region = "eu-west";
  b.vendor = "mistral";
  return b;
}

TEST(FactsFrom, CopiesConfiguredFactsAndLeavesTheRestUnknown) {
  BackendFacts f = FactsFrom(Backend());
  EXPECT_EQ(f.id, "mistral-eu");
  EXPECT_EQ(f.tier, config::Tier::kCloud);
  EXPECT_EQ(f.inference_jurisdiction, "FR");
  EXPECT_EQ(f.region, "eu-west");
  EXPECT_EQ(f.vendor, "mistral");
  EXPECT_EQ(f.vendor_home_jurisdiction, "");
  EXPECT_EQ(f.storage_jurisdiction, "");
  EXPECT_EQ(f.retention_days, -1);
  EXPECT_FALSE(f.zero_data_retention.has_value());
  EXPECT_FALSE(f.trains_on_data.has_value());
  EXPECT_TRUE(f.certifications.empty());
}

TEST(OverlayFacts, NullNodeKeepsBase) {
  auto f = OverlayFacts(FactsFrom(Backend()), YAML::Node(), "m.yaml", "backends[0].facts");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->inference_jurisdiction, "FR");
}

TEST(OverlayFacts, OverlaysEveryField) {
  YAML::Node n = YAML::Load(R"(
tier: local
inference_jurisdiction: DE
region: fra1
vendor: acme
vendor_home_jurisdiction: US
storage_jurisdiction: EU
retention_days: 30
zero_data_retention: false
trains_on_data: false
certifications: [soc2, iso27001]
)");
  auto f = OverlayFacts(FactsFrom(Backend()), n, "m.yaml", "backends[0].facts");
  ASSERT_TRUE(f.has_value()) << Messages(f.error())[0];
  EXPECT_EQ(f->id, "mistral-eu");
  EXPECT_EQ(f->tier, config::Tier::kLocal);
  EXPECT_EQ(f->inference_jurisdiction, "DE");
  EXPECT_EQ(f->region, "fra1");
  EXPECT_EQ(f->vendor, "acme");
  EXPECT_EQ(f->vendor_home_jurisdiction, "US");
  EXPECT_EQ(f->storage_jurisdiction, "EU");
  EXPECT_EQ(f->retention_days, 30);
  EXPECT_EQ(f->zero_data_retention, false);
  EXPECT_EQ(f->trains_on_data, false);
  EXPECT_EQ(f->certifications, (std::vector<std::string>{"soc2", "iso27001"}));
}

TEST(OverlayFacts, EmptyJurisdictionMeansUnknown) {
  YAML::Node n = YAML::Load("inference_jurisdiction: ''\n");
  auto f = OverlayFacts(FactsFrom(Backend()), n, "m.yaml", "backends[0].facts");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->inference_jurisdiction, "");
}

TEST(OverlayFacts, ReportsEveryIssueWithFileLineField) {
  YAML::Node n = YAML::Load(
      "inference_jurisdiction: de\n"        // 1
      "storage_jurisdiction: XX\n"          // 2
      "retention_days: -3\n"                // 3
      "zero_data_retention: maybe\n"        // 4
      "tier: orbit\n"                       // 5
      "trains_on_dta: false\n"              // 6
      "certifications: {a: b}\n");          // 7
  auto f = OverlayFacts(FactsFrom(Backend()), n, "m.yaml", "backends[1].facts");
  ASSERT_FALSE(f.has_value());
  auto m = Messages(f.error());
  std::vector<std::string> want = {
      "m.yaml:1: backends[1].facts.inference_jurisdiction: unknown jurisdiction 'de': codes are upper case, write 'DE'",
      "m.yaml:2: backends[1].facts.storage_jurisdiction: unknown jurisdiction 'XX' (expected an ISO 3166-1 alpha-2 code such as 'DE' or 'US', or 'EU')",
      "m.yaml:3: backends[1].facts.retention_days: expected a non-negative integer, got '-3'",
      "m.yaml:4: backends[1].facts.zero_data_retention: expected true or false, got 'maybe'",
      "m.yaml:5: backends[1].facts.tier: unknown tier 'orbit' (expected edge, local or cloud)",
      "m.yaml:6: backends[1].facts.trains_on_dta: unknown field 'trains_on_dta'; did you mean 'trains_on_data'?",
      "m.yaml:7: backends[1].facts.certifications: expected a list of strings, got a map",
  };
  EXPECT_EQ(m, want);
}

TEST(OverlayFacts, NotAMap) {
  YAML::Node n = YAML::Load("[1, 2]");
  auto f = OverlayFacts(FactsFrom(Backend()), n, "m.yaml", "backends[0].facts");
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(Messages(f.error()),
            std::vector<std::string>{"m.yaml:1: backends[0].facts: expected a map, got a list"});
}

TEST(OverlayFacts, ExpandsEnvironment) {
  setenv("MERIDIAN_POLICY_TEST_JUR", "CH", 1);
  YAML::Node n = YAML::Load("storage_jurisdiction: ${MERIDIAN_POLICY_TEST_JUR}\n");
  auto f = OverlayFacts(FactsFrom(Backend()), n, "m.yaml", "backends[0].facts");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->storage_jurisdiction, "CH");
}

}  // namespace
}  // namespace meridian::policy
