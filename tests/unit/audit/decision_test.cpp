#include "audit/decision.hpp"

#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "audit/store.hpp"

namespace meridian::audit {
namespace {

TEST(DecisionRecordTest, CanonicalJsonIsExactAndSorted) {
  DecisionRecord r;
  r.request_id = "req_1";
  r.tenant = "acme";
  r.key_prefix = "sk-ab";
  r.data_classes[core::DataClass::kPaymentCard] = 2;
  r.data_classes[core::DataClass::kEmail] = 1;
  r.rules_fired = {"eu-only", "no-secrets"};
  r.eligible = {"local-a"};
  r.excluded = {{"cloud-us", "eu-only: jurisdiction us not allowed"}};
  r.chosen_backend = "local-a";
  r.chosen_jurisdiction = "de";
  r.attempts = {{"local-a", 200, "", 12}};
  r.cost_micro_usd = 1500;
  r.status = 200;
  EXPECT_EQ(ToCanonicalJson(r),
            R"({"attempts":[{"backend":"local-a","duration_ms":12,"error":"","status":200}],)"
            R"("chosen_backend":"local-a","chosen_jurisdiction":"de","cost_micro_usd":1500,)"
            R"("data_classes":{"email":1,"payment_card":2},"eligible":["local-a"],)"
            R"("excluded":[{"backend":"cloud-us","reason":"eu-only: jurisdiction us not allowed"}],)"
            R"("key_prefix":"sk-ab","request_id":"req_1","rules_fired":["eu-only","no-secrets"],)"
            R"("status":200,"tenant":"acme"})");
  EXPECT_TRUE(ValidateEntry(kKindRequest, ToCanonicalJson(r)));
}

TEST(DecisionRecordTest, EmptyRecordIsValidJson) {
  const std::string json = ToCanonicalJson(DecisionRecord{});
  EXPECT_TRUE(ValidateEntry(kKindRequest, json)) << json;
  EXPECT_TRUE(boost::json::parse(json).is_object());
}

TEST(DecisionRecordTest, UnknownCostIsNull) {
  DecisionRecord r;
  r.request_id = "req_2";
  r.status = 401;
  EXPECT_EQ(ToCanonicalJson(r),
            R"({"attempts":[],"chosen_backend":"","chosen_jurisdiction":"","cost_micro_usd":null,)"
            R"("data_classes":{},"eligible":[],"excluded":[],"key_prefix":"","request_id":"req_2",)"
            R"("rules_fired":[],"status":401,"tenant":""})");
  r.cost_micro_usd = 0;
  EXPECT_NE(ToCanonicalJson(r).find(R"("cost_micro_usd":0,)"), std::string::npos);
}

TEST(DecisionRecordTest, AdminRecord) {
  AdminRecord a;
  a.actor = "ops";
  a.action = "key.revoke";
  a.target = "sk-ab";
  a.fields = {{"z", "1"}, {"a", "2"}};
  EXPECT_EQ(ToCanonicalJson(a), R"({"action":"key.revoke","actor":"ops","fields":{"a":"2","z":"1"},"target":"sk-ab"})");
}

TEST(DecisionRecordTest, StringEscapingMatchesJsonStringify) {
  EXPECT_EQ(CanonicalJsonString("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(CanonicalJsonString("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(CanonicalJsonString(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(CanonicalJsonString("é/<>"), "\"é/<>\"");
  // Invalid UTF-8 becomes U+FFFD, so the body always parses.
  EXPECT_EQ(CanonicalJsonString("a\xff" "b"), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_TRUE(ValidateEntry(kKindAdmin, "{\"k\":" + CanonicalJsonString("\xc3\x28\xff") + "}"));
}

}  // namespace
}  // namespace meridian::audit
