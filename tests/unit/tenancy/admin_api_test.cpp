#include "tenancy/admin_api.hpp"

#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tenancy/sqlite_tenancy_store.hpp"
#include "tenancy_test_util.hpp"

namespace meridian::tenancy {
namespace {

using testing::Json;
using testing::TempDir;

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteTenancyStore::Open(dir_.File("tenancy.db"));
    ASSERT_TRUE(s.has_value());
    store_ = std::move(*s);
    options_.clock = clock_.fn();
  }

  AdminResult Call(std::string_view method, std::string_view path, std::string_view body = {},
                   std::string_view query = {}) {
    return testing::Call(*store_, method, path, body, query, options_);
  }

  // Asserts an error answer: status, message and param (nullptr = none).
  void ExpectError(const AdminResult& r, int status, std::string_view message, const char* param) {
    EXPECT_EQ(r.status, status) << r.body;
    auto v = Json(r.body);
    const auto& e = v.at("error");
    EXPECT_EQ(e.at("message").as_string(), message) << r.body;
    if (param == nullptr) {
      EXPECT_TRUE(e.at("param").is_null()) << r.body;
    } else {
      EXPECT_EQ(e.at("param"), param) << r.body;
    }
    EXPECT_EQ(e.at("type"), status >= 500 ? "server_error" : "invalid_request_error");
    EXPECT_TRUE(r.audit.empty());
  }

  std::pair<std::string, std::string> NewKey(std::string_view body) {
    AdminResult r = Call("POST", "/admin/keys", body);
    EXPECT_EQ(r.status, 201) << r.body;
    auto v = Json(r.body);
    return {std::string(v.at("key").as_string()), std::string(v.at("id").as_string())};
  }

  TempDir dir_;
  testing::FakeClock clock_;
  AdminOptions options_;
  std::unique_ptr<SqliteTenancyStore> store_;
};

TEST_F(AdminApiTest, TenantRoutes) {
  AdminResult r = Call("POST", "/admin/tenants",
                       R"({"id":"acme","name":"Acme","limits":{"usd_per_day":"12.50","usd_per_month":100,
                           "requests_per_minute":60},"models":["gpt-4o","fast","gpt-4o"],"data_classes":["iban","email"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body,
            R"({"id":"acme","name":"Acme","disabled":false,"created_ms":1700000000000,"limits":{"usd_per_day":"12.5",)"
            R"("usd_per_month":"100","requests_per_minute":60,"input_tokens_per_minute":null,)"
            R"("output_tokens_per_minute":null,"concurrent_requests":null},"models":["fast","gpt-4o"],"backends":[],)"
            R"("data_classes":["email","iban"]})");
  ASSERT_EQ(r.audit.size(), 1u);
  const audit::AdminRecord& rec = r.audit[0];
  EXPECT_EQ(rec.actor, "test-admin");
  EXPECT_EQ(rec.action, "tenant.create");
  EXPECT_EQ(rec.target, "tenant:acme");
  EXPECT_EQ(rec.fields, (std::map<std::string, std::string>{{"data_classes", R"(["email","iban"])"},
                                                            {"limits.requests_per_minute", "60"},
                                                            {"limits.usd_per_day", "12.5"},
                                                            {"limits.usd_per_month", "100"},
                                                            {"models", R"(["fast","gpt-4o"])"},
                                                            {"name", "Acme"}}));
  EXPECT_EQ(Call("GET", "/admin/tenants/acme").body, r.body);

  ASSERT_EQ(Call("POST", "/admin/tenants", R"({"id":"beta"})").status, 201);
  auto list = Json(Call("GET", "/admin/tenants").body);
  ASSERT_EQ(list.at("tenants").as_array().size(), 2u);
  EXPECT_EQ(list.at("tenants").as_array()[1].at("id"), "beta");

  r = Call("PATCH", "/admin/tenants/acme", R"({"limits":{"usd_per_day":null,"concurrent_requests":3},"disabled":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = Json(r.body);
  EXPECT_TRUE(v.at("limits").at("usd_per_day").is_null());
  EXPECT_EQ(v.at("limits").at("usd_per_month"), "100");  // untouched
  EXPECT_EQ(v.at("limits").at("concurrent_requests"), 3);
  EXPECT_EQ(v.at("disabled"), true);
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "tenant.update");
  EXPECT_EQ(r.audit[0].fields, (std::map<std::string, std::string>{{"disabled", "true"},
                                                                   {"limits.concurrent_requests", "3"},
                                                                   {"limits.usd_per_day", "null"}}));
  // A PATCH that changes nothing is not an audited change.
  r = Call("PATCH", "/admin/tenants/acme", R"({"disabled":true})");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.audit.empty());

  r = Call("DELETE", "/admin/tenants/beta");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"id":"beta","deleted":true})");
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "tenant.delete");
  EXPECT_EQ(r.audit[0].target, "tenant:beta");
}

TEST_F(AdminApiTest, TenantErrors) {
  ASSERT_EQ(Call("POST", "/admin/tenants", R"({"id":"acme"})").status, 201);
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"acme"})"), 409, "tenant 'acme' already exists", "id");
  ExpectError(Call("POST", "/admin/tenants", R"({"name":"x"})"), 400, "'id' is required", "id");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"a/b"})"), 400,
              "'id' must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit", "id");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","colour":"red"})"), 400,
              "unknown field 'colour'; allowed: id, name, disabled, limits, models, backends, data_classes", "colour");
  ExpectError(Call("POST", "/admin/tenants", R"([1])"), 400, "the body must be a JSON object", nullptr);
  ExpectError(Call("POST", "/admin/tenants", R"({"id":)"), 400, "the body is not valid JSON: incomplete JSON", nullptr);
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","disabled":"yes"})"), 400, "'disabled' must be true or false",
              "disabled");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","limits":{"rpm":1}})"), 400,
              "'limits': unknown field 'rpm'; allowed: usd_per_day, usd_per_month, requests_per_minute, "
              "input_tokens_per_minute, output_tokens_per_minute, concurrent_requests",
              "limits.rpm");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","limits":[]})"), 400, "'limits' must be an object", "limits");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","limits":{"requests_per_minute":-1}})"), 400,
              "'limits.requests_per_minute' must be a non-negative integer or null", "limits.requests_per_minute");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","limits":{"requests_per_minute":1.5}})"), 400,
              "'limits.requests_per_minute' must be a non-negative integer or null", "limits.requests_per_minute");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","limits":{"input_tokens_per_minute":100000000001}})"), 400,
              "'limits.input_tokens_per_minute' must be at most 100000000000", "limits.input_tokens_per_minute");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","models":"gpt-4o"})"), 400,
              "'models' must be an array of strings ([] = all)", "models");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","backends":["a",""]})"), 400,
              "'backends[1]' must be a non-empty string of at most 200 bytes", "backends[1]");
  ExpectError(Call("POST", "/admin/tenants", R"({"id":"x","data_classes":["email","ssn"]})"), 400,
              "'data_classes[1]' is not a data class name (email, iban, secret, ...)", "data_classes[1]");
  ExpectError(Call("GET", "/admin/tenants/nope"), 404, "no tenant 'nope'", nullptr);
  ExpectError(Call("PATCH", "/admin/tenants/nope", "{}"), 404, "no tenant 'nope'", nullptr);
  ExpectError(Call("DELETE", "/admin/tenants/nope"), 404, "no tenant 'nope'", nullptr);
  ExpectError(Call("PATCH", "/admin/tenants/acme", R"({"id":"other"})"), 400, "'id' cannot be changed", "id");
  ExpectError(Call("GET", "/admin/tenants", {}, "limit=5"), 400, "unknown query parameter 'limit'", "limit");

  AdminResult r = Call("PUT", "/admin/tenants");
  ExpectError(r, 405, "PUT is not allowed on /admin/tenants; use GET, POST", "method");
  EXPECT_EQ(r.allow, "GET, POST");
  r = Call("POST", "/admin/tenants/acme");
  ExpectError(r, 405, "POST is not allowed on /admin/tenants/acme; use GET, PATCH, DELETE", "method");
  EXPECT_EQ(r.allow, "GET, PATCH, DELETE");
  ExpectError(Call("GET", "/admin/tenantz"), 404, "no admin route for /admin/tenantz", nullptr);
  ExpectError(Call("GET", "/admin/tenants/acme/members"), 404, "no admin route for /admin/tenants/acme/members", nullptr);

  ASSERT_EQ(Call("POST", "/admin/tenants/acme/teams", R"({"id":"research"})").status, 201);
  ExpectError(Call("DELETE", "/admin/tenants/acme"), 409,
              "tenant 'acme' still has 1 team(s) and 0 key(s) not revoked; delete the teams and revoke the keys first "
              "(or disable the tenant)",
              nullptr);
}

TEST_F(AdminApiTest, MoneyIsExactOrRefused) {
  struct Case {
    const char* json;
    std::optional<std::int64_t> micro;
  } const cases[] = {
      {R"("0.000001")", 1},           {R"("12.5")", 12'500'000}, {R"("12.50")", 12'500'000},
      {"12.5", 12'500'000},           {"0.000001", 1},           {"7", 7'000'000},
      {R"("1e3")", std::nullopt},     {R"("-1")", std::nullopt}, {R"("0.0000001")", std::nullopt},
      {"-1", std::nullopt},           {"0.0000001", std::nullopt}, {"true", std::nullopt},
      {R"("")", std::nullopt},        {"9223372036855", std::nullopt},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string id = "t" + std::to_string(n++);
    AdminResult r = Call("POST", "/admin/tenants",
                         R"({"id":")" + id + R"(","limits":{"usd_per_month":)" + std::string(c.json) + "}}");
    if (c.micro) {
      ASSERT_EQ(r.status, 201) << c.json << " " << r.body;
      EXPECT_EQ(store_->GetTenant(id)->settings.limits.usd_per_month_micro, *c.micro) << c.json;
    } else {
      ExpectError(r, 400,
                  "'limits.usd_per_month' must be a non-negative amount of US dollars with at most 6 decimals, as a "
                  "string (\"12.50\") or a number, or null",
                  "limits.usd_per_month");
    }
  }
}

TEST_F(AdminApiTest, TeamRoutesAndErrors) {
  ASSERT_EQ(Call("POST", "/admin/tenants", R"({"id":"acme"})").status, 201);
  AdminResult r = Call("POST", "/admin/tenants/acme/teams", R"({"id":"research","name":"R&D","backends":["eu"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Json(r.body).at("tenant"), "acme");
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "team.create");
  EXPECT_EQ(r.audit[0].target, "team:acme/research");
  EXPECT_EQ(r.audit[0].fields,
            (std::map<std::string, std::string>{{"backends", R"(["eu"])"}, {"name", "R&D"}}));
  EXPECT_EQ(Json(Call("GET", "/admin/tenants/acme/teams").body).at("teams").as_array().size(), 1u);
  EXPECT_EQ(Json(Call("GET", "/admin/tenants/acme/teams/research").body).at("name"), "R&D");
  r = Call("PATCH", "/admin/tenants/acme/teams/research", R"({"name":"Research"})");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].fields, (std::map<std::string, std::string>{{"name", "Research"}}));

  ExpectError(Call("POST", "/admin/tenants/acme/teams", R"({"id":"research"})"), 409,
              "team 'research' already exists in tenant 'acme'", "id");
  ExpectError(Call("POST", "/admin/tenants/nope/teams", R"({"id":"x"})"), 404, "no tenant 'nope'", nullptr);
  ExpectError(Call("GET", "/admin/tenants/nope/teams"), 404, "no tenant 'nope'", nullptr);
  ExpectError(Call("GET", "/admin/tenants/acme/teams/nope"), 404, "no team 'nope' in tenant 'acme'", nullptr);
  ExpectError(Call("PATCH", "/admin/tenants/acme/teams/nope", "{}"), 404, "no team 'nope' in tenant 'acme'", nullptr);
  ExpectError(Call("DELETE", "/admin/tenants/acme/teams/nope"), 404, "no team 'nope' in tenant 'acme'", nullptr);
  ExpectError(Call("PATCH", "/admin/tenants/acme/teams/research", R"({"tenant":"beta"})"), 400,
              "'tenant' cannot be changed", "tenant");
  ExpectError(Call("PATCH", "/admin/tenants/acme/teams/research", R"({"name":5})"), 400,
              "'name' must be a string of at most 200 bytes", "name");
  AdminResult m = Call("DELETE", "/admin/tenants/acme/teams");
  ExpectError(m, 405, "DELETE is not allowed on /admin/tenants/acme/teams; use GET, POST", "method");
  m = Call("POST", "/admin/tenants/acme/teams/research");
  ExpectError(m, 405, "POST is not allowed on /admin/tenants/acme/teams/research; use GET, PATCH, DELETE", "method");

  auto [secret, prefix] = NewKey(R"({"tenant":"acme","team":"research"})");
  ExpectError(Call("DELETE", "/admin/tenants/acme/teams/research"), 409,
              "team 'research' of tenant 'acme' still has 1 key(s) not revoked; revoke them first", nullptr);
  ASSERT_EQ(Call("POST", "/admin/keys/" + prefix + "/revoke").status, 200);
  r = Call("DELETE", "/admin/tenants/acme/teams/research");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"tenant":"acme","id":"research","deleted":true})");
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "team.delete");
}

TEST_F(AdminApiTest, KeyRoutes) {
  ASSERT_EQ(Call("POST", "/admin/tenants", R"({"id":"acme"})").status, 201);
  ASSERT_EQ(Call("POST", "/admin/tenants/acme/teams", R"({"id":"research"})").status, 201);
  AdminResult r = Call("POST", "/admin/keys",
                       R"({"tenant":"acme","team":"research","name":"ci","models":["fast"],"expires_ms":1800000000000,
                           "limits":{"usd_per_day":"1.5"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(r.contains_secret);
  auto v = Json(r.body);
  const std::string secret(v.at("key").as_string());
  const std::string prefix(v.at("id").as_string());
  EXPECT_TRUE(LooksLikeKey(secret));
  EXPECT_EQ(prefix, secret.substr(0, 12));
  EXPECT_EQ(v.at("tenant"), "acme");
  EXPECT_EQ(v.at("team"), "research");
  EXPECT_TRUE(v.at("revoked_ms").is_null());
  EXPECT_EQ(v.at("expires_ms"), 1800000000000);
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "key.create");
  EXPECT_EQ(r.audit[0].target, "key:" + prefix);
  EXPECT_EQ(r.audit[0].fields, (std::map<std::string, std::string>{{"expires_ms", "1800000000000"},
                                                                   {"limits.usd_per_day", "1.5"},
                                                                   {"models", R"(["fast"])"},
                                                                   {"name", "ci"},
                                                                   {"team", "research"},
                                                                   {"tenant", "acme"}}));

  // Shown once: no other answer holds the secret.
  AdminResult got = Call("GET", "/admin/keys/" + prefix);
  ASSERT_EQ(got.status, 200);
  EXPECT_FALSE(got.contains_secret);
  EXPECT_EQ(got.body.find(secret), std::string::npos);
  EXPECT_FALSE(Json(got.body).as_object().contains("key"));
  auto [other, other_prefix] = NewKey(R"({"tenant":"acme"})");
  AdminResult list = Call("GET", "/admin/keys");
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  EXPECT_EQ(Json(list.body).at("keys").as_array().size(), 2u);
  EXPECT_EQ(Json(Call("GET", "/admin/keys", {}, "tenant=acme&team=research").body).at("keys").as_array().size(), 1u);
  EXPECT_EQ(Json(Call("GET", "/admin/keys", {}, "revoked=true").body).at("keys").as_array().size(), 0u);

  r = Call("PATCH", "/admin/keys/" + prefix, R"({"name":"ci-2","expires_ms":null,"models":[]})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "key.update");
  EXPECT_EQ(r.audit[0].fields,
            (std::map<std::string, std::string>{{"expires_ms", "null"}, {"models", "[]"}, {"name", "ci-2"}}));

  *clock_.now += 5;
  r = Call("POST", "/admin/keys/" + prefix + "/revoke");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).at("revoked_ms"), 1700000000005);
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "key.revoke");
  EXPECT_EQ(r.audit[0].fields,
            (std::map<std::string, std::string>{{"revoked_ms", "1700000000005"}, {"tenant", "acme"}}));
  // Again: same answer, nothing new to record.
  *clock_.now += 5;
  r = Call("POST", "/admin/keys/" + prefix + "/revoke", "{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json(r.body).at("revoked_ms"), 1700000000005);
  EXPECT_TRUE(r.audit.empty());
  EXPECT_EQ(Json(Call("GET", "/admin/keys", {}, "revoked=true").body).at("keys").as_array().size(), 1u);
  EXPECT_EQ(Json(Call("GET", "/admin/keys", {}, "tenant=acme&revoked=false").body).at("keys").as_array().size(), 1u);

  // The secret is nowhere in the store's files, and no audit record names it or its digest.
  store_.reset();
  const std::string bytes = testing::ReadBytes(dir_.File("tenancy.db")) + testing::ReadBytes(dir_.File("tenancy.db-wal"));
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(bytes.find(other), std::string::npos);
  EXPECT_NE(bytes.find(prefix), std::string::npos);
}

TEST_F(AdminApiTest, KeyErrors) {
  ASSERT_EQ(Call("POST", "/admin/tenants", R"({"id":"acme"})").status, 201);
  ExpectError(Call("POST", "/admin/keys", R"({"name":"x"})"), 400, "'tenant' is required", "tenant");
  ExpectError(Call("POST", "/admin/keys", R"({"tenant":"nope"})"), 400, "no tenant 'nope'", "tenant");
  ExpectError(Call("POST", "/admin/keys", R"({"tenant":"acme","team":"nope"})"), 400, "no team 'nope' in tenant 'acme'",
              "team");
  ExpectError(Call("POST", "/admin/keys", R"({"tenant":"acme","key":"mk-mine"})"), 400,
              "unknown field 'key'; allowed: tenant, team, name, expires_ms, limits, models, backends, data_classes",
              "key");
  ExpectError(Call("POST", "/admin/keys", R"({"tenant":"acme","expires_ms":"soon"})"), 400,
              "'expires_ms' must be a non-negative integer or null", "expires_ms");
  ExpectError(Call("GET", "/admin/keys/mk-AAAAAAAAA"), 404, "no key 'mk-AAAAAAAAA'", nullptr);
  ExpectError(Call("PATCH", "/admin/keys/mk-AAAAAAAAA", "{}"), 404, "no key 'mk-AAAAAAAAA'", nullptr);
  ExpectError(Call("POST", "/admin/keys/mk-AAAAAAAAA/revoke"), 404, "no key 'mk-AAAAAAAAA'", nullptr);
  auto [secret, prefix] = NewKey(R"({"tenant":"acme"})");
  ExpectError(Call("PATCH", "/admin/keys/" + prefix, R"({"tenant":"beta"})"), 400, "'tenant' cannot be changed",
              "tenant");
  ExpectError(Call("PATCH", "/admin/keys/" + prefix, R"({"revoked_ms":null})"), 400, "'revoked_ms' cannot be changed",
              "revoked_ms");
  ExpectError(Call("POST", "/admin/keys/" + prefix + "/revoke", R"({"reason":"x"})"), 400,
              "unknown field 'reason'; this route takes no fields", "reason");
  ExpectError(Call("GET", "/admin/keys", {}, "team=research"), 400,
              "query parameter 'team' needs 'tenant' (team ids are per tenant)", "team");
  ExpectError(Call("GET", "/admin/keys", {}, "revoked=yes"), 400, "query parameter 'revoked' must be true or false",
              "revoked");
  ExpectError(Call("GET", "/admin/keys", {}, "owner=x"), 400,
              "unknown query parameter 'owner'; allowed: tenant, team, revoked", "owner");
  ExpectError(Call("GET", "/admin/keys", {}, "tenant=a&tenant=b"), 400, "query parameter 'tenant' is repeated", "tenant");
  ExpectError(Call("GET", "/admin/keys", {}, "tenant=%zz"), 400, "malformed query string", nullptr);
  AdminResult m = Call("DELETE", "/admin/keys/" + prefix);
  ExpectError(m, 405, "DELETE is not allowed on /admin/keys/" + prefix + "; use GET, PATCH", "method");
  EXPECT_EQ(m.allow, "GET, PATCH");
  m = Call("GET", "/admin/keys/" + prefix + "/revoke");
  ExpectError(m, 405, "GET is not allowed on /admin/keys/" + prefix + "/revoke; use POST", "method");
  m = Call("DELETE", "/admin/keys");
  EXPECT_EQ(m.allow, "GET, POST");
  ExpectError(Call("POST", "/admin/keys/" + prefix + "/unrevoke"), 404,
              "no admin route for /admin/keys/" + prefix + "/unrevoke", nullptr);
  // Percent-decoded query values filter exactly.
  EXPECT_EQ(Json(Call("GET", "/admin/keys", {}, "tenant=ac%6De").body).at("keys").as_array().size(), 1u);
}

TEST_F(AdminApiTest, NoAnswerOrRecordHoldsTheSecretOrItsDigest) {
  ASSERT_EQ(Call("POST", "/admin/tenants", R"({"id":"acme"})").status, 201);
  AdminResult created = Call("POST", "/admin/keys", R"({"tenant":"acme","name":"n"})");
  ASSERT_EQ(created.status, 201);
  const std::string secret(Json(created.body).at("key").as_string());
  const std::string prefix = secret.substr(0, 12);
  const KeyHash h = HashKey(secret);
  std::string hex;
  static const char* digits = "0123456789abcdef";
  for (auto b : h) {
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 15]);
  }
  std::vector<AdminResult> results = {created,
                                      Call("PATCH", "/admin/keys/" + prefix, R"({"name":"m","data_classes":["secret"]})"),
                                      Call("POST", "/admin/keys/" + prefix + "/revoke"),
                                      Call("GET", "/admin/keys/" + prefix),
                                      Call("GET", "/admin/keys")};
  int records = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(results[i].body.find(secret), std::string::npos) << i;
      EXPECT_EQ(results[i].body.find(secret.substr(12)), std::string::npos) << i;
    }
    EXPECT_EQ(results[i].body.find(hex), std::string::npos) << i;
    for (const audit::AdminRecord& rec : results[i].audit) {
      ++records;
      const std::string json = audit::ToCanonicalJson(rec);
      EXPECT_EQ(json.find(secret.substr(12)), std::string::npos) << json;
      EXPECT_EQ(json.find(hex), std::string::npos) << json;
      EXPECT_EQ(json.find(std::string(h.begin(), h.end())), std::string::npos) << json;
    }
  }
  EXPECT_EQ(records, 3);
}

TEST_F(AdminApiTest, ConcurrentPatchesFromSeveralStoresLoseNothing) {
  // Each thread (with a store of its own, as separate processes would have) sets one limit of
  // the same tenant to 1, 2, ..., 20. A read-modify-write outside one transaction would write
  // back stale copies of the other limits; at the end every limit must be 20.
  ASSERT_EQ(Call("POST", "/admin/tenants", R"({"id":"acme"})").status, 201);
  const char* fields[] = {"requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute",
                          "concurrent_requests"};
  std::vector<std::thread> threads;
  for (const char* field : fields) {
    threads.emplace_back([this, field] {
      auto own = SqliteTenancyStore::Open(dir_.File("tenancy.db"));
      ASSERT_TRUE(own.has_value());
      for (int i = 1; i <= 20; ++i) {
        const std::string body = fmt::format(R"({{"limits":{{"{}":{}}}}})", field, i);
        ASSERT_EQ(testing::Call(**own, "PATCH", "/admin/tenants/acme", body).status, 200);
      }
    });
  }
  for (auto& t : threads) t.join();
  auto limits = Json(Call("GET", "/admin/tenants/acme").body).at("limits");
  for (const char* field : fields) EXPECT_EQ(limits.at(field), 20) << field;
}

TEST(AdminPaths, WhichPathsAreTenancyRoutes) {
  EXPECT_TRUE(IsTenancyAdminPath("/admin/tenants"));
  EXPECT_TRUE(IsTenancyAdminPath("/admin/tenants/acme/teams"));
  EXPECT_TRUE(IsTenancyAdminPath("/admin/keys"));
  EXPECT_TRUE(IsTenancyAdminPath("/admin/keys/mk-AAAAAAAAA/revoke"));
  EXPECT_FALSE(IsTenancyAdminPath("/admin/keysx"));
  EXPECT_FALSE(IsTenancyAdminPath("/admin/usage"));
  EXPECT_FALSE(IsTenancyAdminPath("/admin"));
}

}  // namespace
}  // namespace meridian::tenancy
