#include "tenancy/sqlite_tenancy_store.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include "tenancy_test_util.hpp"

namespace meridian::tenancy {
namespace {

using testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteTenancyStore::Open(dir_.File("tenancy.db"));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
  }

  Tenant MakeTenant(std::string id) {
    Tenant t;
    t.id = std::move(id);
    t.name = "Acme Corp";
    t.created_ms = 1000;
    t.settings.limits.usd_per_day_micro = 12'500'000;
    t.settings.limits.requests_per_minute = 60;
    t.settings.models = {"gpt-4o", "fast"};
    t.settings.data_classes = {core::DataClass::kEmail};
    return t;
  }

  TempDir dir_;
  std::unique_ptr<SqliteTenancyStore> store_;
};

TEST_F(StoreTest, TenantCrud) {
  Tenant t = MakeTenant("acme");
  ASSERT_TRUE(store_->CreateTenant(t).has_value());
  auto dup = store_->CreateTenant(t);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, StoreErrc::kConflict);
  EXPECT_EQ(dup.error().message, "tenant 'acme' already exists");

  auto got = store_->GetTenant("acme");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, t);

  auto updated = store_->UpdateTenant("acme", [](Tenant& x) {
    x.name = "Acme";
    x.disabled = true;
    x.settings.limits.usd_per_day_micro.reset();
    x.settings.backends = {"azure-eu", "azure-eu"};
    x.id = "renamed";       // ignored
    x.created_ms = 5;       // ignored
  });
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->before, t);
  t.name = "Acme";
  t.disabled = true;
  t.settings.limits.usd_per_day_micro.reset();
  t.settings.backends = {"azure-eu"};
  Normalize(t.settings);  // an update stores the canonical (sorted) lists
  EXPECT_EQ(updated->after, t);
  EXPECT_EQ(*store_->GetTenant("acme"), t);

  ASSERT_TRUE(store_->CreateTenant(MakeTenant("beta")).has_value());
  auto list = store_->ListTenants();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "acme");
  EXPECT_EQ((*list)[1].id, "beta");

  ASSERT_TRUE(store_->DeleteTenant("beta").has_value());
  EXPECT_EQ(store_->GetTenant("beta").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store_->DeleteTenant("beta").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store_->UpdateTenant("ghost", [](Tenant&) {}).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store_->UpdateTeam("acme", "ghost", [](Team&) {}).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store_->UpdateKey("mk-GGGGGGGGG", [](Key&) {}).error().code, StoreErrc::kNotFound);
}

TEST_F(StoreTest, TeamsAndKeysDependOnTheirParents) {
  Team team;
  team.tenant = "acme";
  team.id = "research";
  EXPECT_EQ(store_->CreateTeam(team).error().code, StoreErrc::kNotFound);
  ASSERT_TRUE(store_->CreateTenant(MakeTenant("acme")).has_value());
  ASSERT_TRUE(store_->CreateTeam(team).has_value());
  EXPECT_EQ(store_->CreateTeam(team).error().message, "team 'research' already exists in tenant 'acme'");
  EXPECT_EQ(store_->ListTeams("nope").error().code, StoreErrc::kNotFound);
  ASSERT_EQ(store_->ListTeams("acme")->size(), 1u);

  Key key;
  key.id = "mk-AAAAAAAAA";
  key.tenant = "acme";
  key.team = "nope";
  EXPECT_EQ(store_->CreateKey(key, HashKey("x")).error().code, StoreErrc::kNotFound);
  key.team = "research";
  ASSERT_TRUE(store_->CreateKey(key, HashKey("x")).has_value());
  // Same prefix, or same digest: a conflict.
  EXPECT_EQ(store_->CreateKey(key, HashKey("y")).error().code, StoreErrc::kConflict);
  Key other = key;
  other.id = "mk-BBBBBBBBB";
  EXPECT_EQ(store_->CreateKey(other, HashKey("x")).error().code, StoreErrc::kConflict);

  // Deleting what a live key depends on is refused; once revoked, allowed.
  auto refused = store_->DeleteTeam("acme", "research");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, StoreErrc::kConflict);
  EXPECT_EQ(refused.error().message, "team 'research' of tenant 'acme' still has 1 key(s) not revoked; revoke them first");
  EXPECT_EQ(store_->DeleteTenant("acme").error().message,
            "tenant 'acme' still has 1 team(s) and 1 key(s) not revoked; delete the teams and revoke the keys first "
            "(or disable the tenant)");
  auto revoked = store_->RevokeKey(key.id, 5000);
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(revoked->revoked_ms, 5000);
  // A second revocation keeps the first time.
  EXPECT_EQ(store_->RevokeKey(key.id, 6000)->revoked_ms, 5000);
  EXPECT_EQ(store_->RevokeKey("mk-CCCCCCCCC", 6000).error().code, StoreErrc::kNotFound);
  ASSERT_TRUE(store_->DeleteTeam("acme", "research").has_value());
  ASSERT_TRUE(store_->DeleteTenant("acme").has_value());
  // The revoked key stays, as history.
  EXPECT_TRUE(store_->GetKey(key.id).has_value());
}

TEST_F(StoreTest, KeysListFindUpdate) {
  ASSERT_TRUE(store_->CreateTenant(MakeTenant("acme")).has_value());
  ASSERT_TRUE(store_->CreateTenant(MakeTenant("beta")).has_value());
  Team team;
  team.tenant = "acme";
  team.id = "research";
  ASSERT_TRUE(store_->CreateTeam(team).has_value());
  Key a;
  a.id = "mk-AAAAAAAAA";
  a.tenant = "acme";
  a.team = "research";
  a.name = "ci";
  a.expires_ms = 99;
  a.settings.limits.concurrent_requests = 2;
  Key b = a;
  b.id = "mk-BBBBBBBBB";
  b.team = "";
  Key c = a;
  c.id = "mk-CCCCCCCCC";
  c.tenant = "beta";
  c.team = "";
  ASSERT_TRUE(store_->CreateKey(a, HashKey("a")).has_value());
  ASSERT_TRUE(store_->CreateKey(b, HashKey("b")).has_value());
  ASSERT_TRUE(store_->CreateKey(c, HashKey("c")).has_value());
  ASSERT_TRUE(store_->RevokeKey("mk-BBBBBBBBB", 7).has_value());

  auto ids = [&](const KeyFilter& f) {
    std::vector<std::string> out;
    auto keys = store_->ListKeys(f);
    for (const Key& k : *keys) out.push_back(k.id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"mk-AAAAAAAAA", "mk-BBBBBBBBB", "mk-CCCCCCCCC"}));
  EXPECT_EQ(ids({.tenant = "acme"}), (V{"mk-AAAAAAAAA", "mk-BBBBBBBBB"}));
  EXPECT_EQ(ids({.tenant = "acme", .team = "research"}), (V{"mk-AAAAAAAAA"}));
  EXPECT_EQ(ids({.revoked = true}), (V{"mk-BBBBBBBBB"}));
  EXPECT_EQ(ids({.tenant = "acme", .revoked = false}), (V{"mk-AAAAAAAAA"}));

  auto found = store_->FindKeyByHash(HashKey("a"));
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, a);
  EXPECT_FALSE(store_->FindKeyByHash(HashKey("zzz"))->has_value());

  auto updated = store_->UpdateKey(a.id, [](Key& k) {
    k.name = "renamed";
    k.expires_ms.reset();
    k.settings.models = {"gpt-4o"};
    k.tenant = "beta";   // ignored: only name, settings and expiry change
    k.revoked_ms = 1;    // ignored
  });
  ASSERT_TRUE(updated.has_value());
  a.name = "renamed";
  a.expires_ms.reset();
  a.settings.models = {"gpt-4o"};
  EXPECT_EQ(updated->after, a);
  EXPECT_EQ(*store_->GetKey(a.id), a);

  auto all = store_->LoadAll();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->tenants.size(), 2u);
  EXPECT_EQ(all->teams.size(), 1u);
  ASSERT_EQ(all->keys.size(), 3u);
  EXPECT_EQ(all->keys[0].hash, HashKey("a"));
}

TEST_F(StoreTest, OnlyTheDigestOfAKeyIsStored) {
  ASSERT_TRUE(store_->CreateTenant(MakeTenant("acme")).has_value());
  auto secret = GenerateKey();
  ASSERT_TRUE(secret.has_value());
  Key k;
  k.id = std::string(KeyPrefix(*secret));
  k.tenant = "acme";
  ASSERT_TRUE(store_->CreateKey(k, HashKey(*secret)).has_value());
  store_.reset();  // close: everything checkpointed into the main file
  std::string bytes;
  for (const char* f : {"tenancy.db", "tenancy.db-wal", "tenancy.db-shm"}) bytes += testing::ReadBytes(dir_.File(f));
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(*secret), std::string::npos);
  EXPECT_EQ(bytes.find(secret->substr(12)), std::string::npos);  // not even the part after the prefix
  EXPECT_NE(bytes.find(k.id), std::string::npos);                // the prefix is there
  const KeyHash h = HashKey(*secret);
  EXPECT_NE(bytes.find(std::string(h.begin(), h.end())), std::string::npos);
}

TEST_F(StoreTest, VersionMovesWithCommitsOfAnyConnection) {
  auto other = SqliteTenancyStore::Open(dir_.File("tenancy.db"));
  ASSERT_TRUE(other.has_value());
  const auto v0 = *store_->Version();
  EXPECT_EQ(*store_->Version(), v0);  // nothing changed
  ASSERT_TRUE((*other)->CreateTenant(MakeTenant("acme")).has_value());
  const auto v1 = *store_->Version();
  EXPECT_NE(v1, v0);
  EXPECT_EQ(*store_->Version(), v1);
  // The store's own writes move its version too (they come through another connection).
  ASSERT_TRUE(store_->CreateTenant(MakeTenant("beta")).has_value());
  EXPECT_NE(*store_->Version(), v1);
  EXPECT_TRUE(store_->GetTenant("acme").has_value());
}

TEST_F(StoreTest, RefusesAnotherApplicationsDatabase) {
  const std::string path = dir_.File("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x); PRAGMA application_id = 42;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteTenancyStore::Open(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message, path + " is not a Meridian tenancy store");
}

}  // namespace
}  // namespace meridian::tenancy
