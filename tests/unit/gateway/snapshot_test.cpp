// gateway/snapshot: model resolution, key checks and backend health.

#include "gateway/snapshot.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace meridian::gateway {
namespace {

using namespace std::chrono_literals;
using core::ErrorCode;

config::BackendConfig MakeBackend(std::string id, std::vector<std::string> models,
                                  std::string base_url = "http://127.0.0.1:9") {
  config::BackendConfig b;
  b.id = std::move(id);
  b.provider = "openai";
  b.base_url = std::move(base_url);
  b.models = std::move(models);
  return b;
}

config::Config TwoBackends() {
  config::Config c;
  c.backends.push_back(MakeBackend("alpha", {"gpt-b", "gpt-a"}));
  c.backends.push_back(MakeBackend("beta", {"gpt-a", "llama-3"}));
  c.aliases.push_back({"fast", "gpt-a"});
  c.aliases.push_back({"dangling", "no-such-model"});  // target served by nobody
  for (const char* key : {"sk-one", "sk-two"}) c.auth.keys.emplace_back().key = key;
  return c;
}

std::shared_ptr<const Snapshot> Build(config::Config c) {
  auto snap = Snapshot::Build(std::move(c));
  if (!snap) throw std::runtime_error(snap.error().message);
  return *snap;
}

std::vector<std::string> Ids(const std::vector<Backend*>& backends) {
  std::vector<std::string> ids;
  for (const Backend* b : backends) ids.push_back(b->id());
  return ids;
}

TEST(SnapshotTest, ResolvesAModelIdToEveryBackendInConfigOrder) {
  auto snap = Build(TwoBackends());
  auto route = snap->Resolve("gpt-a");
  ASSERT_TRUE(route) << route.error().message;
  EXPECT_EQ(route->upstream_model, "gpt-a");
  EXPECT_EQ(Ids(*route->backends), (std::vector<std::string>{"alpha", "beta"}));

  auto single = snap->Resolve("llama-3");
  ASSERT_TRUE(single);
  EXPECT_EQ(Ids(*single->backends), std::vector<std::string>{"beta"});
  EXPECT_EQ(snap->FirstBackendFor("gpt-a")->id(), "alpha");
  EXPECT_EQ(snap->FirstBackendFor("nope"), nullptr);
}

TEST(SnapshotTest, ResolvesAnAliasToItsTarget) {
  auto snap = Build(TwoBackends());
  auto route = snap->Resolve("fast");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->upstream_model, "gpt-a");
  EXPECT_EQ(Ids(*route->backends), (std::vector<std::string>{"alpha", "beta"}));
}

TEST(SnapshotTest, ListsServedModelsAndAliasesSorted) {
  auto snap = Build(TwoBackends());
  EXPECT_EQ(snap->model_ids(), (std::vector<std::string>{"gpt-a", "gpt-b", "llama-3"}));
  EXPECT_EQ(snap->alias_names(), std::vector<std::string>{"fast"});  // "dangling" serves nothing
  EXPECT_EQ(snap->backends().size(), 2u);
}

TEST(SnapshotTest, UnknownModelFailsListingModelsAndAliases) {
  auto snap = Build(TwoBackends());
  auto route = snap->Resolve("gpt-z");
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().code, ErrorCode::kModelNotFound);
  EXPECT_EQ(route.error().param, "model");
  EXPECT_EQ(route.error().message, "The model 'gpt-z' does not exist. Available models: fast, gpt-a, gpt-b, llama-3");

  // An alias whose target nobody serves is unknown too.
  auto dangling = snap->Resolve("dangling");
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error().code, ErrorCode::kModelNotFound);
  EXPECT_EQ(dangling.error().message,
            "The model 'dangling' does not exist. Available models: fast, gpt-a, gpt-b, llama-3");
}

TEST(SnapshotTest, UnknownModelWithNothingServedSaysNone) {
  auto snap = Build(config::Config{});
  auto route = snap->Resolve("gpt-a");
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().message, "The model 'gpt-a' does not exist. Available models: (none)");
}

TEST(SnapshotTest, KeyAcceptedOnlyForConfiguredKeys) {
  auto snap = Build(TwoBackends());
  EXPECT_TRUE(snap->auth_enabled());
  EXPECT_TRUE(snap->KeyAccepted("sk-one"));
  EXPECT_TRUE(snap->KeyAccepted("sk-two"));
  EXPECT_FALSE(snap->KeyAccepted("sk-three"));
  EXPECT_FALSE(snap->KeyAccepted("sk-on"));    // a prefix
  EXPECT_FALSE(snap->KeyAccepted("sk-one "));  // a suffix
  EXPECT_FALSE(snap->KeyAccepted("SK-ONE"));
  EXPECT_FALSE(snap->KeyAccepted(""));
}

TEST(SnapshotTest, NoKeysMeansAuthDisabled) {
  config::Config c = TwoBackends();
  c.auth.keys.clear();
  auto snap = Build(std::move(c));
  EXPECT_FALSE(snap->auth_enabled());
  EXPECT_TRUE(snap->KeyAccepted(""));
  EXPECT_TRUE(snap->KeyAccepted("anything"));
}

TEST(SnapshotTest, Sha256MatchesTheKnownDigest) {
  std::string digest = Sha256("abc");
  ASSERT_EQ(digest.size(), 32u);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  EXPECT_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SnapshotTest, BackendWithoutHealthCheckIsHealthy) {
  auto snap = Build(TwoBackends());
  const Backend& b = *snap->backends()[0];
  EXPECT_TRUE(b.check_passing());
  EXPECT_TRUE(b.healthy());
}

TEST(SnapshotTest, BackendWithHealthCheckStartsUnhealthyUntilItPasses) {
  config::Config c = TwoBackends();
  c.backends[1].health_check.path = "/models";
  auto snap = Build(std::move(c));
  Backend& b = *snap->backends()[1];
  EXPECT_FALSE(b.check_passing());
  EXPECT_FALSE(b.healthy());
  b.SetCheckPassing(true);
  EXPECT_TRUE(b.healthy());
  b.SetCheckPassing(false);
  EXPECT_FALSE(b.healthy());
  EXPECT_TRUE(snap->backends()[0]->healthy());  // the other backend is unaffected
}

TEST(SnapshotTest, ConnectFailureCoolsTheBackendDown) {
  auto snap = Build(TwoBackends());
  Backend& b = *snap->backends()[0];
  auto before = Clock::now();
  b.MarkConnectFailure(200ms);
  auto now = Clock::now();
  EXPECT_FALSE(b.healthy(now));
  EXPECT_FALSE(b.healthy(before + 150ms));
  EXPECT_TRUE(b.healthy(now + 200ms));
  EXPECT_TRUE(b.healthy(now + 1s));
  EXPECT_TRUE(snap->backends()[1]->healthy(now));

  // A cool-down only ever ends; a passing check does not lift it early.
  b.SetCheckPassing(true);
  EXPECT_FALSE(b.healthy(now));
}

TEST(SnapshotTest, BackendsKeepTheirConfigAndUpstream) {
  config::Config c = TwoBackends();
  c.backends[0].base_url = "http://127.0.0.1:8081/v1";
  c.backends[0].timeouts.first_byte = 1234ms;
  c.backends[0].pool.max_idle = 7;
  auto snap = Build(std::move(c));
  const Backend& b = *snap->backends()[0];
  EXPECT_EQ(b.config().id, "alpha");
  ASSERT_TRUE(b.upstream());
  EXPECT_EQ(b.upstream()->id(), "alpha");
  EXPECT_EQ(b.upstream()->url().port, 8081);
  EXPECT_EQ(b.upstream()->url().base_path, "/v1");
  EXPECT_EQ(b.upstream()->options().first_byte_timeout, 1234ms);
  EXPECT_EQ(b.upstream()->options().pool_max_idle, 7u);
  EXPECT_EQ(snap->config().auth.keys.size(), 2u);
}

TEST(SnapshotTest, BuildFailsOnABadBaseUrlNamingTheBackend) {
  config::Config c = TwoBackends();
  c.backends[1].base_url = "ftp://example.com";
  auto snap = Snapshot::Build(std::move(c));
  ASSERT_FALSE(snap);
  EXPECT_NE(snap.error().message.find("backend 'beta': base_url"), std::string::npos) << snap.error().message;
}

TEST(SnapshotTest, BuildFailsOnAnUnreadableCaFile) {
  config::Config c = TwoBackends();
  c.backends[0].base_url = "https://127.0.0.1:8443";
  c.backends[0].ca_file = "/nonexistent/meridian-test-ca.pem";
  auto snap = Snapshot::Build(std::move(c));
  ASSERT_FALSE(snap);
  EXPECT_NE(snap.error().message.find("backend 'alpha'"), std::string::npos) << snap.error().message;
  EXPECT_NE(snap.error().message.find("/nonexistent/meridian-test-ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace meridian::gateway
