// configs/default.yaml is what `make run` starts with: it must load with no environment set.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace meridian::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kPath = std::string(MERIDIAN_SOURCE_DIR) + "/configs/default.yaml";

const char* const kVariables[] = {"MERIDIAN_LISTEN",   "MERIDIAN_STATE_DIR", "MERIDIAN_API_KEY",
                                  "OPENAI_API_KEY",    "ANTHROPIC_API_KEY",  "GEMINI_API_KEY",
                                  "MISTRAL_API_KEY",   "DEEPSEEK_API_KEY",   "DASHSCOPE_API_KEY"};

// Unsets every variable the default config reads; restores them afterwards.
class DefaultConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      const char* value = std::getenv(name);
      saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
      ::unsetenv(name);
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

  static const BackendConfig* Find(const Config& c, const std::string& id) {
    for (const BackendConfig& b : c.backends) {
      if (b.id == id) return &b;
    }
    return nullptr;
  }

  static std::vector<std::string> Ids(const Config& c) {
    std::vector<std::string> ids;
    for (const BackendConfig& b : c.backends) ids.push_back(b.id);
    return ids;
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::string Render(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const ConfigIssue& i : issues) out += i.ToString() + "\n";
  return out;
}

TEST_F(DefaultConfigTest, ValidWithoutEnvironment) {
  auto r = LoadConfigFile(kPath);
  ASSERT_TRUE(r.has_value()) << Render(r.error());
  const Config& c = *r;
  EXPECT_THAT(c.warnings, IsEmpty());
  EXPECT_EQ(c.state_dir, "./state");
  EXPECT_EQ(c.server.listen_host, "127.0.0.1");
  EXPECT_EQ(c.server.listen_port, 8090);
  ASSERT_EQ(c.auth.keys.size(), 1u);
  EXPECT_EQ(c.auth.keys[0].key, "sk-meridian-dev");
  EXPECT_THAT(Ids(c), ElementsAre("sim-edge", "sim-local", "sim-cloud-eu", "sim-cloud-us",
                                  "ollama", "vllm", "llamacpp"));
  EXPECT_THAT(c.disabled_backends,
              ElementsAre("openai", "anthropic", "gemini", "mistral", "deepseek", "qwen"));
  ASSERT_EQ(c.aliases.size(), 3u);
  EXPECT_EQ(c.aliases[0].name, "fast");
  EXPECT_EQ(c.aliases[0].target, "sim-small");
  EXPECT_EQ(c.aliases[1].name, "smart");
  EXPECT_EQ(c.aliases[1].target, "sim-large");
  EXPECT_EQ(c.aliases[2].name, "embed");
  EXPECT_EQ(c.aliases[2].target, "sim-embed");
}

TEST_F(DefaultConfigTest, SimulatorFleetMatchesRunScript) {
  auto r = LoadConfigFile(kPath);
  ASSERT_TRUE(r.has_value()) << Render(r.error());
  struct Expected {
    std::string id, url;
    Tier tier;
    std::string jurisdiction, region;
    std::vector<std::string> models;
  };
  const std::vector<Expected> fleet = {
      {"sim-edge", "http://127.0.0.1:18101/v1", Tier::kEdge, "DE", "", {"sim-small"}},
      {"sim-local", "http://127.0.0.1:18102/v1", Tier::kLocal, "DE", "", {"sim-medium", "sim-embed"}},
      {"sim-cloud-eu", "http://127.0.0.1:18103/v1", Tier::kCloud, "FR", "eu-west-3",
       {"sim-large", "sim-medium", "sim-embed"}},
      {"sim-cloud-us", "http://127.0.0.1:18104/v1", Tier::kCloud, "US", "us-east-1", {"sim-large"}},
  };
  for (const Expected& e : fleet) {
    const BackendConfig* b = Find(*r, e.id);
    ASSERT_NE(b, nullptr) << e.id;
    EXPECT_EQ(b->provider, "simulator") << e.id;
    EXPECT_EQ(b->vendor, "meridian") << e.id;
    EXPECT_EQ(b->base_url, e.url) << e.id;
    EXPECT_EQ(b->tier, e.tier) << e.id;
    EXPECT_EQ(b->jurisdiction, e.jurisdiction) << e.id;
    EXPECT_EQ(b->region, e.region) << e.id;
    EXPECT_EQ(b->models, e.models) << e.id;
    EXPECT_EQ(b->health_check.path, "/models") << e.id;
    EXPECT_EQ(b->api_key, "") << e.id;
  }
  for (const char* id : {"ollama", "vllm", "llamacpp"}) {
    const BackendConfig* b = Find(*r, id);
    ASSERT_NE(b, nullptr) << id;
    EXPECT_EQ(b->tier, Tier::kLocal) << id;
    EXPECT_EQ(b->health_check.path, "/models") << id;
  }
}

TEST_F(DefaultConfigTest, EnvironmentOverridesAndCloudKeys) {
  ::setenv("MERIDIAN_LISTEN", "0.0.0.0:0", 1);
  ::setenv("MERIDIAN_API_KEY", "sk-prod", 1);
  ::setenv("OPENAI_API_KEY", "sk-openai-test", 1);
  ::setenv("DASHSCOPE_API_KEY", "sk-dashscope-test", 1);
  auto r = LoadConfigFile(kPath);
  ASSERT_TRUE(r.has_value()) << Render(r.error());
  EXPECT_EQ(r->server.listen_host, "0.0.0.0");
  EXPECT_EQ(r->server.listen_port, 0);
  ASSERT_EQ(r->auth.keys.size(), 1u);
  EXPECT_EQ(r->auth.keys[0].key, "sk-prod");
  EXPECT_THAT(r->disabled_backends, ElementsAre("anthropic", "gemini", "mistral", "deepseek"));
  const BackendConfig* openai = Find(*r, "openai");
  ASSERT_NE(openai, nullptr);
  EXPECT_EQ(openai->api_key, "sk-openai-test");
  EXPECT_EQ(openai->jurisdiction, "US");
  EXPECT_EQ(openai->base_url, "https://api.openai.com/v1");
  const BackendConfig* qwen = Find(*r, "qwen");
  ASSERT_NE(qwen, nullptr);
  EXPECT_EQ(qwen->api_key, "sk-dashscope-test");
  EXPECT_EQ(qwen->jurisdiction, "SG");
  EXPECT_EQ(qwen->vendor, "alibaba");
}

TEST_F(DefaultConfigTest, EveryCloudBackendHasItsFacts) {
  for (const char* name : kVariables) ::setenv(name, "x", 1);
  ::setenv("MERIDIAN_LISTEN", "127.0.0.1:8090", 1);
  auto r = LoadConfigFile(kPath);
  ASSERT_TRUE(r.has_value()) << Render(r.error());
  EXPECT_THAT(r->disabled_backends, IsEmpty());
  struct Fact {
    std::string id, vendor, jurisdiction, url;
  };
  for (const Fact& f : std::vector<Fact>{
           {"openai", "openai", "US", "https://api.openai.com/v1"},
           {"anthropic", "anthropic", "US", "https://api.anthropic.com/v1"},
           {"gemini", "google", "US", "https://generativelanguage.googleapis.com/v1beta/openai"},
           {"mistral", "mistral", "FR", "https://api.mistral.ai/v1"},
           {"deepseek", "deepseek", "CN", "https://api.deepseek.com/v1"},
           {"qwen", "alibaba", "SG", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"}}) {
    const BackendConfig* b = Find(*r, f.id);
    ASSERT_NE(b, nullptr) << f.id;
    EXPECT_EQ(b->provider, f.id) << f.id;
    EXPECT_EQ(b->vendor, f.vendor) << f.id;
    EXPECT_EQ(b->jurisdiction, f.jurisdiction) << f.id;
    EXPECT_EQ(b->base_url, f.url) << f.id;
    EXPECT_EQ(b->tier, Tier::kCloud) << f.id;
    EXPECT_EQ(b->api_key, "x") << f.id;
    EXPECT_FALSE(b->models.empty()) << f.id;
  }
}

}  // namespace
}  // namespace meridian::config
