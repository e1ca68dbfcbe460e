// Error translation, table-driven from tests/fixtures/dialect/errors: an upstream error in one
// dialect becomes the status, body and headers the other dialect's SDK expects.

#include "codecs.hpp"
#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

using testing::JsonDiff;
using testing::ListFixtures;
using testing::LoadFixture;
namespace json = boost::json;

ErrorHeaders Headers(const json::object& fx) {
  ErrorHeaders h;
  if (const auto* v = fx.if_contains("headers")) {
    const auto& o = v->as_object();
    if (const auto* x = o.if_contains("retry-after")) h.retry_after = x->as_string();
    if (const auto* x = o.if_contains("retry-after-ms")) h.retry_after_ms = x->as_string();
    if (const auto* x = o.if_contains("x-should-retry")) h.should_retry = x->as_string();
    if (const auto* x = o.if_contains("request-id")) h.request_id = x->as_string();
  }
  return h;
}

class ErrorFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ErrorFixture, MapsForTheClientsSdk) {
  const json::object fx = LoadFixture("errors", GetParam());
  ASSERT_FALSE(fx.empty());
  const std::string from(fx.at("from").as_string());
  const int status = static_cast<int>(fx.at("status").as_int64());
  const json::value& body_v = fx.at("body");
  const std::string body = body_v.is_string() ? std::string(body_v.as_string())
                                              : json::serialize(body_v);
  const ApiError e = testing::DecodeErrorIn(from, status, body, Headers(fx));
  if (const auto* cls = fx.if_contains("class")) {
    EXPECT_EQ(ErrorClassName(e.cls), cls->as_string());
  }
  // "to" names the client's dialect; by default the other of OpenAI and Anthropic.
  const std::string to = fx.contains("to") ? std::string(fx.at("to").as_string())
                         : from == "openai" ? "anthropic"
                                            : "openai";
  if (const auto* ra = fx.if_contains("retry_after")) {
    EXPECT_EQ(e.retry_after, ra->as_string());
  }
  const HttpError out = testing::EncodeErrorIn(to, e);
  const json::object& want = fx.at("expect").as_object();
  EXPECT_EQ(out.status, want.at("status").as_int64());
  const std::string diff = JsonDiff(want.at("body"), json::parse(out.body));
  EXPECT_TRUE(diff.empty()) << diff << "\nbody: " << out.body;
  json::object headers;
  for (const auto& [k, v] : out.headers) headers[k] = v;
  const json::value no_headers = json::object();
  const json::value* want_headers = want.if_contains("headers");
  const std::string hdiff = JsonDiff(want_headers ? *want_headers : no_headers, headers);
  EXPECT_TRUE(hdiff.empty()) << "headers: " << hdiff;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ErrorFixture, ::testing::ValuesIn(ListFixtures("errors")),
                         [](const auto& info) { return info.param; });

TEST(ErrorTable, EveryClassHasOneRowAndSaneStatuses) {
  for (int c = 0; c <= static_cast<int>(ErrorClass::kOther); ++c) {
    const auto cls = static_cast<ErrorClass>(c);
    const ErrorMapping& m = ErrorMappingFor(cls);
    EXPECT_EQ(m.cls, cls) << ErrorClassName(cls);
    if (cls == ErrorClass::kOther) continue;
    EXPECT_GE(m.openai_status, 400);
    EXPECT_GE(m.anthropic_status, 400);
    EXPECT_FALSE(m.anthropic_type.empty());
    EXPECT_GE(m.gemini_status, 400);
    EXPECT_FALSE(m.gemini_status_name.empty());
  }
}

TEST(ErrorFromCore, GatewayErrorsRenderInEitherDialect) {
  core::Error err;
  err.code = core::ErrorCode::kInvalidRequest;
  err.message = "messages[2].content[0].type: unknown content part 'foo'";
  err.param = "messages[2].content[0].type";
  const ApiError api = ApiErrorFromCore(err);
  const HttpError oa = openai::EncodeError(api);
  EXPECT_EQ(oa.status, 400);
  EXPECT_EQ(json::parse(oa.body),
            json::parse(R"({"error":{"message":"messages[2].content[0].type: unknown content )"
                        R"(part 'foo'","type":"invalid_request_error",)"
                        R"("param":"messages[2].content[0].type","code":null}})"));
  const HttpError an = anthropic::EncodeError(api);
  EXPECT_EQ(an.status, 400);
  EXPECT_EQ(json::parse(an.body),
            json::parse(R"({"type":"error","error":{"type":"invalid_request_error","message":)"
                        R"("messages[2].content[0].type: unknown content part 'foo'"}})"));

  core::Error limited;
  limited.code = core::ErrorCode::kUpstreamStatus;
  limited.upstream_status = 529;
  limited.message = "Overloaded";
  limited.retry_after = "3";
  const ApiError over = ApiErrorFromCore(limited);
  EXPECT_EQ(over.cls, ErrorClass::kOverloaded);
  EXPECT_EQ(openai::EncodeError(over).status, 503);
  const HttpError an529 = anthropic::EncodeError(over);
  EXPECT_EQ(an529.status, 529);
  ASSERT_EQ(an529.headers.size(), 1u);
  EXPECT_EQ(an529.headers[0].first, "retry-after");

  core::Error model;
  model.code = core::ErrorCode::kModelNotFound;
  model.message = "model 'x' is not served";
  const HttpError nf = openai::EncodeError(ApiErrorFromCore(model));
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(json::parse(nf.body).at("error").at("code"), "model_not_found");
}

TEST(ErrorToCore, KeepsStatusRetryAfterAndRetryability) {
  const ApiError e = anthropic::DecodeError(
      429, R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})",
      [] {
        ErrorHeaders h;
        h.retry_after = "12";
        return h;
      }());
  const core::Error c = CoreErrorFromApi(e);
  EXPECT_EQ(c.code, core::ErrorCode::kUpstreamStatus);
  EXPECT_EQ(c.upstream_status, 429);
  EXPECT_EQ(c.retry_after, "12");
  EXPECT_TRUE(c.retryable);
  const ApiError q = openai::DecodeError(
      429, R"({"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})");
  EXPECT_EQ(q.cls, ErrorClass::kQuotaExceeded);
  EXPECT_FALSE(CoreErrorFromApi(q).retryable);
}

}  // namespace
}  // namespace meridian::dialect
