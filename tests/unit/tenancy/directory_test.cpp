#include "tenancy/directory.hpp"

#include <atomic>
#include <barrier>
#include <thread>

#include <gtest/gtest.h>

#include "tenancy/sqlite_tenancy_store.hpp"
#include "tenancy_test_util.hpp"

namespace meridian::tenancy {
namespace {

using testing::Call;
using testing::Json;
using testing::TempDir;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Open();
    ASSERT_EQ(Call(*store_, "POST", "/admin/tenants",
                   R"({"id":"acme","models":["gpt-4o","gpt-4o-mini","fast"],"backends":["openai","azure-eu"],
                       "data_classes":["email"],"limits":{"usd_per_day":"10","requests_per_minute":600}})")
                  .status,
              201);
    ASSERT_EQ(Call(*store_, "POST", "/admin/tenants/acme/teams",
                   R"({"id":"research","models":["gpt-4o","fast","o3"],"data_classes":["iban"],
                       "limits":{"concurrent_requests":4}})")
                  .status,
              201);
  }

  std::unique_ptr<SqliteTenancyStore> Open() {
    auto s = SqliteTenancyStore::Open(dir_.File("tenancy.db"));
    EXPECT_TRUE(s.has_value());
    return std::move(*s);
  }

  // Creates a key through the admin API; returns {secret, prefix}.
  std::pair<std::string, std::string> NewKey(TenancyStore& store, const std::string& body) {
    AdminResult r = Call(store, "POST", "/admin/keys", body);
    EXPECT_EQ(r.status, 201) << r.body;
    auto v = Json(r.body);
    return {std::string(v.at("key").as_string()), std::string(v.at("id").as_string())};
  }

  TempDir dir_;
  std::unique_ptr<SqliteTenancyStore> store_;
};

TEST_F(DirectoryTest, ResolvesAKeyWithEffectiveSettings) {
  auto [secret, prefix] = NewKey(*store_, R"({"tenant":"acme","team":"research","name":"ci","models":["fast","o3"],
                                             "data_classes":["secret"],"limits":{"output_tokens_per_minute":1000}})");
  KeyDirectory dir(*store_);
  AuthResult r = dir.Authenticate(secret);
  ASSERT_EQ(r.status, AuthStatus::kOk);
  ASSERT_TRUE(r.key);
  const ResolvedKey& k = *r.key;
  EXPECT_EQ(k.tenant, "acme");
  EXPECT_EQ(k.team, "research");
  EXPECT_EQ(k.key_id, prefix);
  EXPECT_EQ(k.key_name, "ci");
  EXPECT_EQ(k.tenant_scope, "acme");
  EXPECT_EQ(k.team_scope, "acme/research");
  EXPECT_EQ(k.key_scope, prefix);
  EXPECT_EQ(k.scopes().team, "acme/research");
  // Data classes: the union of the three levels.
  const std::uint32_t want = (1u << static_cast<unsigned>(core::DataClass::kEmail)) |
                             (1u << static_cast<unsigned>(core::DataClass::kIban)) |
                             (1u << static_cast<unsigned>(core::DataClass::kSecret));
  EXPECT_EQ(k.declared_mask, want);
  // Models: tenant {gpt-4o, gpt-4o-mini, fast} ∩ team {gpt-4o, fast, o3} ∩ key {fast, o3} = {fast}.
  EXPECT_EQ(k.restrictions.ModelIntersection(), (std::vector<std::string>{"fast"}));
  EXPECT_TRUE(k.restrictions.AllowsModel("gpt-4o", "fast"));   // the alias "fast" is listed at every level
  EXPECT_FALSE(k.restrictions.AllowsModel("gpt-4o"));          // the key does not list gpt-4o itself
  EXPECT_FALSE(k.restrictions.AllowsModel("o3"));              // the tenant does not list o3
  EXPECT_FALSE(k.restrictions.AllowsModel("gpt-4o-mini"));
  // Backends: only the tenant restricts.
  EXPECT_EQ(k.restrictions.BackendIntersection(), (std::vector<std::string>{"azure-eu", "openai"}));
  EXPECT_TRUE(k.restrictions.AllowsBackend("azure-eu"));
  EXPECT_FALSE(k.restrictions.AllowsBackend("anthropic"));
}

TEST_F(DirectoryTest, ModelIdListedAtALevelAdmitsItsAliases) {
  EffectiveRestrictions r;
  r.models = {{"gpt-4o"}, {"fast"}};
  EXPECT_TRUE(r.AllowsModel("gpt-4o", "fast"));
  EXPECT_FALSE(r.AllowsModel("gpt-4o", "other-alias"));
  EXPECT_EQ(r.ModelIntersection(), std::vector<std::string>{});
  EffectiveRestrictions none;
  EXPECT_TRUE(none.AllowsModel("anything"));
  EXPECT_TRUE(none.AllowsBackend("anything"));
  EXPECT_EQ(none.ModelIntersection(), std::nullopt);
}

TEST_F(DirectoryTest, RefusalsHaveStatusesButOneClientMessage) {
  testing::FakeClock clock;
  KeyDirectory dir(*store_, {.clock = clock.fn()});
  auto [live, live_id] = NewKey(*store_, R"({"tenant":"acme"})");
  auto [expiring, expiring_id] =
      NewKey(*store_, R"({"tenant":"acme","expires_ms":)" + std::to_string(*clock.now + 1000) + "}");
  auto [revoked, revoked_id] = NewKey(*store_, R"({"tenant":"acme","team":"research"})");
  ASSERT_EQ(Call(*store_, "POST", "/admin/keys/" + revoked_id + "/revoke").status, 200);

  EXPECT_EQ(dir.Authenticate(live).status, AuthStatus::kOk);
  EXPECT_EQ(dir.Authenticate(expiring).status, AuthStatus::kOk);
  *clock.now += 1000;
  EXPECT_EQ(dir.Authenticate(expiring).status, AuthStatus::kExpired);
  EXPECT_EQ(dir.Authenticate(revoked).status, AuthStatus::kRevoked);
  EXPECT_EQ(dir.Authenticate("mk-" + std::string(43, 'Z')).status, AuthStatus::kUnknown);
  EXPECT_EQ(dir.Authenticate("sk-not-ours").status, AuthStatus::kUnknown);
  EXPECT_EQ(dir.Authenticate("").status, AuthStatus::kUnknown);

  ASSERT_EQ(Call(*store_, "PATCH", "/admin/tenants/acme", R"({"disabled":true})").status, 200);
  EXPECT_EQ(dir.Authenticate(live).status, AuthStatus::kDisabled);
  ASSERT_EQ(Call(*store_, "PATCH", "/admin/tenants/acme", R"({"disabled":false})").status, 200);
  EXPECT_EQ(dir.Authenticate(live).status, AuthStatus::kOk);

  for (AuthStatus s : {AuthStatus::kUnknown, AuthStatus::kRevoked, AuthStatus::kExpired, AuthStatus::kDisabled}) {
    EXPECT_EQ(ClientMessage(s), "Invalid API key.") << AuthStatusName(s);
  }
  EXPECT_EQ(ClientMessage(AuthStatus::kUnavailable), "The key store is unavailable; try again shortly.");
}

TEST_F(DirectoryTest, RevocationThroughAnotherStoreIsSeenAtTheNextCall) {
  // Two store objects on one file: the gateway's and the CLI's (another process, in effect:
  // separate connections that share nothing but the file).
  auto cli_store = Open();
  auto [secret, prefix] = NewKey(*cli_store, R"({"tenant":"acme"})");
  KeyDirectory gateway(*store_);
  ASSERT_EQ(gateway.Authenticate(secret).status, AuthStatus::kOk);
  const auto generation = gateway.generation();
  ASSERT_EQ(Call(*cli_store, "POST", "/admin/keys/" + prefix + "/revoke").status, 200);
  EXPECT_EQ(gateway.Authenticate(secret).status, AuthStatus::kRevoked);
  EXPECT_EQ(gateway.generation(), generation + 1);
  // No further change: no reload.
  EXPECT_EQ(gateway.Authenticate(secret).status, AuthStatus::kRevoked);
  EXPECT_EQ(gateway.generation(), generation + 1);

  // A key created by the other store is accepted at once too.
  auto [fresh, fresh_id] = NewKey(*cli_store, R"({"tenant":"acme"})");
  EXPECT_EQ(gateway.Authenticate(fresh).status, AuthStatus::kOk);
}

TEST_F(DirectoryTest, ScopesAndTheirChanges) {
  auto [secret, prefix] = NewKey(*store_, R"({"tenant":"acme","team":"research","limits":{"usd_per_month":"5.25"}})");
  auto [plain, plain_id] = NewKey(*store_, R"({"tenant":"acme"})");  // no limits: no scope
  KeyDirectory dir(*store_);
  std::vector<std::string> seen;
  dir.ForEachScope([&](limits::Level level, std::string_view id, const limits::ScopeLimits& l) {
    seen.push_back(std::string(limits::LevelName(level)) + ":" + std::string(id));
    if (level == limits::Level::kTenant) {
      EXPECT_EQ(l.usd_per_day_micro, 10'000'000);
      EXPECT_EQ(l.requests_per_minute, 600);
    }
    if (level == limits::Level::kKey) {
      EXPECT_EQ(l.usd_per_month_micro, 5'250'000);
    }
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"tenant:acme", "team:acme/research", "key:" + prefix}));

  auto before = dir.scopes();
  EXPECT_EQ(DiffScopes(nullptr, *before).configure.size(), 3u);
  ASSERT_EQ(Call(*store_, "PATCH", "/admin/tenants/acme/teams/research", R"({"limits":{"concurrent_requests":8}})").status,
            200);
  ASSERT_EQ(Call(*store_, "POST", "/admin/keys/" + prefix + "/revoke").status, 200);
  auto after = dir.scopes();
  EXPECT_EQ(after->generation, before->generation + 1);
  ScopeDiff diff = DiffScopes(before.get(), *after);
  ASSERT_EQ(diff.configure.size(), 1u);
  EXPECT_EQ(diff.configure[0].id, "acme/research");
  EXPECT_EQ(diff.configure[0].limits.concurrent_requests, 8);
  ASSERT_EQ(diff.remove.size(), 1u);
  EXPECT_EQ(diff.remove[0].first, limits::Level::kKey);
  EXPECT_EQ(diff.remove[0].second, prefix);
}

TEST_F(DirectoryTest, ConcurrentAuthenticationWhileAnotherStoreRevokes) {
  constexpr int kThreads = 4;
  auto cli_store = Open();
  std::vector<std::string> secrets;
  std::vector<std::string> prefixes;
  for (int i = 0; i < 8; ++i) {
    auto [s, p] = NewKey(*store_, R"({"tenant":"acme","team":"research"})");
    secrets.push_back(s);
    prefixes.push_back(p);
  }
  KeyDirectory dir(*store_);
  std::atomic<bool> revoked{false};
  std::atomic<int> accepted_after{0};
  std::atomic<int> calls{0};
  std::barrier start(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      // Until the revoker is done, and then one more full round: every call after the
      // revocation completed must fail.
      for (int round = 0;; ++round) {
        const bool done_before = revoked.load();
        for (std::size_t i = 0; i < secrets.size(); ++i) {
          AuthResult r = dir.Authenticate(secrets[(i + t) % secrets.size()]);
          calls.fetch_add(1);
          if (done_before && r) accepted_after.fetch_add(1);
          if (r) {
            EXPECT_EQ(r.key->tenant, "acme");
          }
        }
        if (done_before) break;
      }
    });
  }
  start.arrive_and_wait();
  for (const std::string& p : prefixes) {
    ASSERT_EQ(Call(*cli_store, "POST", "/admin/keys/" + p + "/revoke").status, 200);
  }
  revoked.store(true);
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted_after.load(), 0);
  EXPECT_GE(calls.load(), kThreads * 8);
  for (const std::string& s : secrets) EXPECT_EQ(dir.Authenticate(s).status, AuthStatus::kRevoked);
}

}  // namespace
}  // namespace meridian::tenancy
