// store/usage and the SQLite usage ledger: records round-trip, totals by every grouping,
// filters, exact JSON and CSV, and the read-only QueryFile the CLI uses.

#include "store/sqlite_usage_store.hpp"

#include <sqlite3.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../audit/audit_test_util.hpp"
#include "store/usage.hpp"

namespace meridian::store {
namespace {

using audit::testing::RawInt;
using audit::testing::RawSql;
using audit::testing::TempDir;

constexpr std::int64_t kDay1 = 1735689600000;  // 2025-01-01T00:00:00Z
constexpr std::int64_t kDay2 = kDay1 + 86'400'000;

UsageRecord Rec(std::string id, std::int64_t time_ms, std::string tenant, std::string key, std::string model,
                std::int64_t in, std::int64_t out, int status = 200) {
  UsageRecord r;
  r.time_ms = time_ms;
  r.request_id = std::move(id);
  r.tenant = std::move(tenant);
  r.team = "t";
  r.key_prefix = std::move(key);
  r.route = "chat_completions";
  r.model = std::move(model);
  r.backend = "sim-a";
  r.input_tokens = in;
  r.output_tokens = out;
  r.cached_tokens = 0;
  r.reasoning_tokens = 0;
  r.latency_us = 1000;
  r.status = status;
  r.attempts = 1;
  if (status >= 400) r.error = "upstream_status";
  return r;
}

class UsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteUsageStore::Open(dir_.File("usage.db"));
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    std::vector<UsageRecord> batch = {
        Rec("r1", kDay1 + 1000, "acme", "sk-acme1", "m-small", 10, 5),
        Rec("r2", kDay1 + 2000, "acme", "sk-acme2", "m-large", 20, 7),
        Rec("r3", kDay2 + 3000, "beta", "sk-beta1", "m-small", 30, 11, 502),
    };
    batch[1].alias = "fast";
    batch[2].input_tokens.reset();  // not reported
    batch[2].latency_us = 4000;
    ASSERT_TRUE(store_->AppendBatch(batch));
  }

  UsageResult Run(UsageQuery q) {
    auto r = store_->Query(q);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : UsageResult{};
  }

  TempDir dir_;
  std::unique_ptr<SqliteUsageStore> store_;
};

TEST_F(UsageStoreTest, TotalsWithoutGroupingIsOneRow) {
  auto r = Run({});
  ASSERT_EQ(r.totals.size(), 1u);
  const UsageTotals& t = r.totals[0];
  EXPECT_EQ(t.requests, 3);
  EXPECT_EQ(t.errors, 1);
  EXPECT_EQ(t.input_tokens, 30);  // the unreported count adds nothing
  EXPECT_EQ(t.output_tokens, 23);
  EXPECT_FALSE(t.cost_micro_usd.has_value());
  EXPECT_EQ(t.avg_latency_us, 2000);
  EXPECT_EQ(ToJson(r),
            R"({"group_by":[],"rows":[{"requests":3,"errors":1,"input_tokens":30,"output_tokens":23,)"
            R"("cached_tokens":0,"reasoning_tokens":0,"cost_micro_usd":null,"avg_latency_us":2000}]})");
  EXPECT_EQ(ToCsv(r),
            "requests,errors,input_tokens,output_tokens,cached_tokens,reasoning_tokens,cost_micro_usd,avg_latency_us\n"
            "3,1,30,23,0,0,,2000\n");
}

TEST_F(UsageStoreTest, GroupsByDayModelTenantKey) {
  UsageQuery q;
  q.group_by = {GroupKey::kDay, GroupKey::kModel};
  auto r = Run(q);
  ASSERT_EQ(r.totals.size(), 3u);
  EXPECT_EQ(r.totals[0].keys, (std::vector<std::string>{"2025-01-01", "m-large"}));
  EXPECT_EQ(r.totals[1].keys, (std::vector<std::string>{"2025-01-01", "m-small"}));
  EXPECT_EQ(r.totals[2].keys, (std::vector<std::string>{"2025-01-02", "m-small"}));
  EXPECT_EQ(ToCsv(r),
            "day,model,requests,errors,input_tokens,output_tokens,cached_tokens,reasoning_tokens,cost_micro_usd,"
            "avg_latency_us\n"
            "2025-01-01,m-large,1,0,20,7,0,0,,1000\n"
            "2025-01-01,m-small,1,0,10,5,0,0,,1000\n"
            "2025-01-02,m-small,1,1,0,11,0,0,,4000\n");

  q.group_by = {GroupKey::kTenant};
  r = Run(q);
  ASSERT_EQ(r.totals.size(), 2u);
  EXPECT_EQ(r.totals[0].keys[0], "acme");
  EXPECT_EQ(r.totals[0].requests, 2);
  EXPECT_EQ(r.totals[0].input_tokens, 30);
  EXPECT_EQ(r.totals[1].keys[0], "beta");

  q.group_by = {GroupKey::kKey};
  r = Run(q);
  ASSERT_EQ(r.totals.size(), 3u);
  EXPECT_TRUE(ToJson(r).starts_with(R"({"group_by":["key"],"rows":[{"key":"sk-acme1","requests":1,)")) << ToJson(r);
}

TEST_F(UsageStoreTest, FiltersByTenantKeyModelAndDays) {
  UsageQuery q;
  q.tenant = "acme";
  EXPECT_EQ(Run(q).totals[0].requests, 2);
  q = {};
  q.key_prefix = "sk-beta1";
  EXPECT_EQ(Run(q).totals[0].requests, 1);
  q = {};
  q.model = "m-small";
  EXPECT_EQ(Run(q).totals[0].requests, 2);
  q.model = "fast";  // the alias the client sent matches too
  EXPECT_EQ(Run(q).totals[0].requests, 1);
  q = {};
  q.from = "2025-01-02";
  EXPECT_EQ(Run(q).totals[0].requests, 1);
  q = {};
  q.to = "2025-01-01";
  EXPECT_EQ(Run(q).totals[0].requests, 2);
  q.from = "2024-12-31";
  q.tenant = "nobody";
  auto none = Run(q);
  ASSERT_EQ(none.totals.size(), 1u);  // totals of nothing: zeros
  EXPECT_EQ(none.totals[0].requests, 0);
  q.group_by = {GroupKey::kDay};
  EXPECT_TRUE(Run(q).totals.empty());  // no group at all
}

TEST_F(UsageStoreTest, RecordsRoundTripInOrder) {
  UsageQuery q;
  q.records = true;
  auto r = Run(q);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].request_id, "r1");
  EXPECT_EQ(r.records[1].alias, "fast");
  EXPECT_FALSE(r.records[2].input_tokens.has_value());
  EXPECT_EQ(r.records[2].status, 502);
  EXPECT_EQ(r.records[2].error, "upstream_status");
  q.limit = 1;
  EXPECT_EQ(Run(q).records.size(), 1u);
  q.limit = 0;
  q.tenant = "beta";
  auto beta = Run(q);
  EXPECT_EQ(ToCsv(beta),
            "time_ms,day,request_id,tenant,team,key_prefix,route,alias,model,backend,input_tokens,output_tokens,"
            "cached_tokens,reasoning_tokens,cost_micro_usd,latency_us,status,error,stream,attempts\n"
            "1735776003000,2025-01-02,r3,beta,t,sk-beta1,chat_completions,,m-small,sim-a,,11,0,0,,4000,502,"
            "upstream_status,false,1\n");
  EXPECT_EQ(ToJson(beta),
            R"({"records":[{"time_ms":1735776003000,"day":"2025-01-02","request_id":"r3","tenant":"beta",)"
            R"("team":"t","key_prefix":"sk-beta1","route":"chat_completions","alias":"","model":"m-small",)"
            R"("backend":"sim-a","input_tokens":null,"output_tokens":11,"cached_tokens":0,"reasoning_tokens":0,)"
            R"("cost_micro_usd":null,"latency_us":4000,"status":502,"error":"upstream_status","stream":false,)"
            R"("attempts":1}]})");
}

TEST_F(UsageStoreTest, CsvQuotesFieldsThatNeedIt) {
  UsageRecord r = Rec("q\"1", kDay1, "a,b", "k", "m\nx", 1, 1);
  ASSERT_TRUE(store_->AppendBatch(std::span(&r, 1)));
  UsageQuery q;
  q.records = true;
  q.tenant = "a,b";
  std::string csv = ToCsv(Run(q));
  EXPECT_NE(csv.find(R"(,"q""1","a,b",t,k,)"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"m\nx\""), std::string::npos) << csv;
}

TEST_F(UsageStoreTest, SchemaIsWalAndIndexed) {
  const std::string db = dir_.File("usage.db");
  EXPECT_EQ(RawInt(db, "SELECT COUNT(*) FROM usage"), 3);
  EXPECT_EQ(RawInt(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                       "('usage_day', 'usage_tenant_day', 'usage_key_day', 'usage_model_day')"),
            4);
  EXPECT_EQ(RawInt(db, "PRAGMA application_id"), 1297437511);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, nullptr);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(raw);
  // Reopening keeps the records.
  store_.reset();
  auto again = SqliteUsageStore::Open(db);
  ASSERT_TRUE(again);
  auto r = (*again)->Query({});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->totals[0].requests, 3);
}

TEST_F(UsageStoreTest, QueryFileNeedsALedger) {
  auto missing = SqliteUsageStore::QueryFile(dir_.File("nope.db"), {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "no usage ledger at " + dir_.File("nope.db"));

  RawSql(dir_.File("other.db"), "CREATE TABLE t (x)", true);
  auto other = SqliteUsageStore::QueryFile(dir_.File("other.db"), {});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message, dir_.File("other.db") + " is not a Meridian usage ledger");
  EXPECT_FALSE(SqliteUsageStore::Open(dir_.File("other.db")));

  UsageQuery q;
  q.records = true;
  auto ok = SqliteUsageStore::QueryFile(dir_.File("usage.db"), q);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->records.size(), 3u);
}

TEST(UsageQueryTest, ValidatesDaysAndGroupings) {
  UsageQuery q;
  q.from = "2025-02-30";
  auto bad = ValidateQuery(q);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "from: expected a day as YYYY-MM-DD");
  EXPECT_EQ(bad.error().param, "from");
  q.from = "2025-03-02";
  q.to = "2025-03-01";
  EXPECT_EQ(ValidateQuery(q).error().message, "from: must not be after to");
  q.to = "2025-3-1";
  EXPECT_EQ(ValidateQuery(q).error().message, "to: expected a day as YYYY-MM-DD");
  q.to = "2025-03-02";
  EXPECT_TRUE(ValidateQuery(q));

  EXPECT_TRUE(IsValidDay("2024-02-29"));
  EXPECT_FALSE(IsValidDay("2023-02-29"));
  EXPECT_FALSE(IsValidDay("2023-13-01"));
  EXPECT_EQ(UtcDay(kDay1), "2025-01-01");
  EXPECT_EQ(UtcDay(kDay2 - 1), "2025-01-01");
  EXPECT_EQ(UtcDay(0), "1970-01-01");

  auto keys = ParseGroupKeys("day, model,key");
  ASSERT_TRUE(keys);
  EXPECT_EQ(*keys, (std::vector<GroupKey>{GroupKey::kDay, GroupKey::kModel, GroupKey::kKey}));
  EXPECT_TRUE(ParseGroupKeys("")->empty());
  EXPECT_EQ(ParseGroupKeys("day,hour").error().message,
            "by: unknown grouping 'hour' (expected day, tenant, team, key, model or backend, comma-separated)");
  EXPECT_EQ(ParseGroupKeys("day,day").error().message, "by: 'day' is given twice");
}

}  // namespace
}  // namespace meridian::store
