#include "gateway/http_error.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace meridian::gateway {

namespace http = boost::beast::http;
using core::ErrorCode;

http::status StatusFor(const core::Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidRequest: return http::status::bad_request;
    case ErrorCode::kUnauthorized: return http::status::unauthorized;
    case ErrorCode::kForbidden: return http::status::forbidden;
    case ErrorCode::kNotFound:
    case ErrorCode::kModelNotFound: return http::status::not_found;
    case ErrorCode::kMethodNotAllowed: return http::status::method_not_allowed;
    case ErrorCode::kRequestTimeout: return http::status::request_timeout;
    case ErrorCode::kPayloadTooLarge: return http::status::payload_too_large;
    case ErrorCode::kUnsupportedMediaType: return http::status::unsupported_media_type;
    case ErrorCode::kRateLimited:
    case ErrorCode::kQuotaExceeded: return http::status::too_many_requests;
    case ErrorCode::kInternal: return http::status::internal_server_error;
    case ErrorCode::kUnavailable: return http::status::service_unavailable;
    case ErrorCode::kUpstreamError: return http::status::bad_gateway;
    case ErrorCode::kUpstreamUnavailable: return http::status::service_unavailable;
    case ErrorCode::kUpstreamTimeout: return http::status::gateway_timeout;
    case ErrorCode::kUpstreamStatus:
      if (error.upstream_status >= 400 && error.upstream_status <= 599) {
        return static_cast<http::status>(error.upstream_status);
      }
      return http::status::bad_gateway;
  }
  return http::status::internal_server_error;
}

std::string_view OpenAiType(const core::Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kUnauthorized:
    case ErrorCode::kNotFound:
    case ErrorCode::kModelNotFound:
    case ErrorCode::kMethodNotAllowed:
    case ErrorCode::kRequestTimeout:
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kUnsupportedMediaType: return "invalid_request_error";
    case ErrorCode::kForbidden: return "permission_error";
    case ErrorCode::kRateLimited: return "requests";
    case ErrorCode::kQuotaExceeded: return "insufficient_quota";
    case ErrorCode::kUpstreamStatus:
      if (error.upstream_status == 429) return "requests";
      if (error.upstream_status >= 400 && error.upstream_status < 500) return "invalid_request_error";
      return "server_error";  // 5xx, and statuses outside 400-599 (relayed as 502)
    default: return "server_error";
  }
}

std::string_view OpenAiCode(const core::Error& error) {
  switch (error.code) {
    case ErrorCode::kUnauthorized: return "invalid_api_key";
    case ErrorCode::kModelNotFound: return "model_not_found";
    case ErrorCode::kRateLimited: return "rate_limit_exceeded";
    case ErrorCode::kQuotaExceeded: return "insufficient_quota";
    case ErrorCode::kUpstreamStatus:
      if (error.upstream_status == 429) return "rate_limit_exceeded";
      return "upstream_error";
    default: return core::CodeName(error.code);
  }
}

std::string OpenAiErrorBody(const core::Error& error) {
  boost::json::object inner;
  inner["message"] = error.message;
  inner["type"] = OpenAiType(error);
  if (error.param.empty()) {
    inner["param"] = nullptr;
  } else {
    inner["param"] = error.param;
  }
  inner["code"] = OpenAiCode(error);
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace meridian::gateway
