// gateway/http_error: every ErrorCode's HTTP status, OpenAI type and code, and the exact body.

#include "gateway/http_error.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace meridian::gateway {
namespace {

using core::ErrorCode;

core::Error MakeError(ErrorCode code, std::string message = "boom", std::string param = {}, int upstream_status = 0) {
  core::Error e;
  e.code = code;
  e.message = std::move(message);
  e.param = std::move(param);
  e.upstream_status = upstream_status;
  return e;
}

struct Row {
  ErrorCode code;
  int status;
  const char* type;
  const char* code_name;
};

const std::vector<Row>& AllCodes() {
  static const std::vector<Row> rows = {
      {ErrorCode::kInvalidRequest, 400, "invalid_request_error", "invalid_request"},
      {ErrorCode::kUnauthorized, 401, "invalid_request_error", "invalid_api_key"},
      {ErrorCode::kForbidden, 403, "permission_error", "forbidden"},
      {ErrorCode::kNotFound, 404, "invalid_request_error", "not_found"},
      {ErrorCode::kModelNotFound, 404, "invalid_request_error", "model_not_found"},
      {ErrorCode::kMethodNotAllowed, 405, "invalid_request_error", "method_not_allowed"},
      {ErrorCode::kRequestTimeout, 408, "invalid_request_error", "request_timeout"},
      {ErrorCode::kPayloadTooLarge, 413, "invalid_request_error", "payload_too_large"},
      {ErrorCode::kUnsupportedMediaType, 415, "invalid_request_error", "unsupported_media_type"},
      {ErrorCode::kRateLimited, 429, "requests", "rate_limit_exceeded"},
      {ErrorCode::kQuotaExceeded, 429, "insufficient_quota", "insufficient_quota"},
      {ErrorCode::kInternal, 500, "server_error", "internal"},
      {ErrorCode::kUnavailable, 503, "server_error", "service_unavailable"},
      {ErrorCode::kUpstreamError, 502, "server_error", "upstream_error"},
      {ErrorCode::kUpstreamUnavailable, 503, "server_error", "upstream_unavailable"},
      {ErrorCode::kUpstreamTimeout, 504, "server_error", "upstream_timeout"},
  };
  return rows;
}

TEST(HttpErrorTest, EveryCodeHasItsStatusTypeCodeAndBody) {
  for (const Row& row : AllCodes()) {
    SCOPED_TRACE(std::string(core::CodeName(row.code)));
    core::Error e = MakeError(row.code);
    EXPECT_EQ(static_cast<int>(StatusFor(e)), row.status);
    EXPECT_EQ(OpenAiType(e), row.type);
    EXPECT_EQ(OpenAiCode(e), row.code_name);
    EXPECT_EQ(OpenAiErrorBody(e), std::string(R"({"error":{"message":"boom","type":")") + row.type +
                                      R"(","param":null,"code":")" + row.code_name + R"("}})");
  }
}

TEST(HttpErrorTest, TableCoversEveryErrorCode) {
  // kUpstreamStatus is covered separately; this guards against a new code left unmapped.
  EXPECT_EQ(AllCodes().size() + 1, static_cast<std::size_t>(ErrorCode::kUpstreamStatus) + 1);
}

TEST(HttpErrorTest, ParamIsAStringWhenSet) {
  core::Error e = MakeError(ErrorCode::kInvalidRequest, "'messages' is required", "messages[0].content");
  EXPECT_EQ(OpenAiErrorBody(e),
            R"({"error":{"message":"'messages' is required","type":"invalid_request_error",)"
            R"("param":"messages[0].content","code":"invalid_request"}})");
}

TEST(HttpErrorTest, MessageAndParamAreEscaped) {
  core::Error e = MakeError(ErrorCode::kInvalidRequest, "bad \"quote\" \\ and\nnewline\t\x01 caf\xc3\xa9", "a\"b");
  EXPECT_EQ(OpenAiErrorBody(e),
            R"({"error":{"message":"bad \"quote\" \\ and\nnewline\t\u0001 café","type":"invalid_request_error",)"
            R"("param":"a\"b","code":"invalid_request"}})");
}

TEST(HttpErrorTest, UpstreamStatusKeepsTheUpstreamsErrorStatus) {
  struct Case {
    int upstream;
    int status;
    const char* type;
    const char* code;
  };
  for (Case c : {Case{429, 429, "requests", "rate_limit_exceeded"},
                 Case{503, 503, "server_error", "upstream_error"},
                 Case{500, 500, "server_error", "upstream_error"},
                 Case{599, 599, "server_error", "upstream_error"},
                 Case{400, 400, "invalid_request_error", "upstream_error"},
                 Case{404, 404, "invalid_request_error", "upstream_error"}}) {
    SCOPED_TRACE(c.upstream);
    core::Error e = MakeError(ErrorCode::kUpstreamStatus, "backend 'b' answered", {}, c.upstream);
    EXPECT_EQ(static_cast<int>(StatusFor(e)), c.status);
    EXPECT_EQ(OpenAiType(e), c.type);
    EXPECT_EQ(OpenAiCode(e), c.code);
    EXPECT_EQ(OpenAiErrorBody(e), std::string(R"({"error":{"message":"backend 'b' answered","type":")") + c.type +
                                      R"(","param":null,"code":")" + c.code + R"("}})");
  }
}

TEST(HttpErrorTest, UpstreamStatusOutsideTheErrorRangeBecomes502) {
  for (int upstream : {0, 200, 302, 399, 600, 999}) {
    SCOPED_TRACE(upstream);
    core::Error e = MakeError(ErrorCode::kUpstreamStatus, "odd", {}, upstream);
    EXPECT_EQ(static_cast<int>(StatusFor(e)), 502);
    EXPECT_EQ(OpenAiCode(e), "upstream_error");
  }
}

// Regression test for a fixed bug (src/gateway/http_error.cpp:49-50, OpenAiType): for kUpstreamStatus with a status outside
// 400..599 (which StatusFor turns into 502), the type is "invalid_request_error" because only
// `upstream_status < 500` is tested. A 502 should carry "server_error", like kUpstreamError.
// Enable once OpenAiType mirrors StatusFor's range check.
TEST(HttpErrorTest, UpstreamStatusMappedTo502IsAServerError) {
  for (int upstream : {0, 200, 302, 399}) {
    SCOPED_TRACE(upstream);
    core::Error e = MakeError(ErrorCode::kUpstreamStatus, "odd", {}, upstream);
    ASSERT_EQ(static_cast<int>(StatusFor(e)), 502);
    EXPECT_EQ(std::string(OpenAiType(e)), "server_error");
  }
}

}  // namespace
}  // namespace meridian::gateway
