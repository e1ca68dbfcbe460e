#include "core/error.hpp"

namespace meridian::core {

std::string_view CodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidRequest: return "invalid_request";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kModelNotFound: return "model_not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kRequestTimeout: return "request_timeout";
    case ErrorCode::kPayloadTooLarge: return "payload_too_large";
    case ErrorCode::kUnsupportedMediaType: return "unsupported_media_type";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kQuotaExceeded: return "quota_exceeded";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kUnavailable: return "service_unavailable";
    case ErrorCode::kUpstreamError: return "upstream_error";
    case ErrorCode::kUpstreamUnavailable: return "upstream_unavailable";
    case ErrorCode::kUpstreamTimeout: return "upstream_timeout";
    case ErrorCode::kUpstreamStatus: return "upstream_status";
  }
  return "internal";
}

}  // namespace meridian::core
