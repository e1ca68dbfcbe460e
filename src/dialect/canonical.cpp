#include "dialect/canonical.hpp"

#include <array>

namespace meridian::dialect {

std::string_view DialectName(Dialect dialect) {
  switch (dialect) {
    case Dialect::kOpenAiChat: return "openai_chat";
    case Dialect::kAnthropicMessages: return "anthropic_messages";
    case Dialect::kGemini: return "gemini";
    case Dialect::kOpenAiResponses: return "openai_responses";
    case Dialect::kNone: break;
  }
  return "none";
}

std::string_view DialectTitle(Dialect dialect) {
  switch (dialect) {
    case Dialect::kOpenAiChat: return "OpenAI Chat Completions";
    case Dialect::kAnthropicMessages: return "Anthropic Messages";
    case Dialect::kGemini: return "Google Gemini";
    case Dialect::kOpenAiResponses: return "OpenAI Responses";
    case Dialect::kNone: break;
  }
  return "the target dialect";
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSystem: return "system";
    case Role::kDeveloper: return "developer";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kTool: return "tool";
  }
  return "user";
}

std::string_view PartKindName(PartKind kind) {
  switch (kind) {
    case PartKind::kText: return "text";
    case PartKind::kImage: return "image";
    case PartKind::kDocument: return "document";
    case PartKind::kToolUse: return "tool_use";
    case PartKind::kToolResult: return "tool_result";
    case PartKind::kThinking: return "thinking";
    case PartKind::kRedactedThinking: return "redacted_thinking";
    case PartKind::kRefusal: return "refusal";
    case PartKind::kOpaque: return "opaque";
  }
  return "opaque";
}

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "none";
    case FinishReason::kStop: return "stop";
    case FinishReason::kStopSequence: return "stop_sequence";
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kContentFilter: return "content_filter";
    case FinishReason::kPauseTurn: return "pause_turn";
    case FinishReason::kContextExhausted: return "context_exhausted";
    case FinishReason::kOther: return "other";
  }
  return "other";
}

ContentPart ContentPart::Text(std::string text) {
  ContentPart part;
  part.kind = PartKind::kText;
  part.text = std::move(text);
  return part;
}

namespace {

// The one error table (docs/dialects.md, "Errors"). OpenAI's SDKs pick the exception class
// from the status alone (>= 500: InternalServerError) and retry 408/409/429/5xx; Anthropic's
// also have OverloadedError (529), ServiceUnavailableError (503), DeadlineExceededError (504)
// and RequestTooLargeError (413). Both honour retry-after, retry-after-ms and x-should-retry.
// Google's Gen AI SDKs raise ClientError (4xx) / ServerError (5xx) and retry 408, 429 and
// 5xx; the body's `status` names the google.rpc code.
constexpr std::array<ErrorMapping, 15> kErrorTable = {{
    {ErrorClass::kInvalidRequest, 400, "invalid_request_error", "", 400,
     "invalid_request_error", 400, "INVALID_ARGUMENT", false},
    {ErrorClass::kAuthentication, 401, "invalid_request_error", "invalid_api_key", 401,
     "authentication_error", 401, "UNAUTHENTICATED", false},
    {ErrorClass::kPermission, 403, "permission_error", "", 403, "permission_error", 403,
     "PERMISSION_DENIED", false},
    {ErrorClass::kNotFound, 404, "invalid_request_error", "not_found", 404, "not_found_error",
     404, "NOT_FOUND", false},
    {ErrorClass::kConflict, 409, "invalid_request_error", "", 409, "conflict_error", 409,
     "ABORTED", true},
    {ErrorClass::kRequestTooLarge, 413, "invalid_request_error", "request_too_large", 413,
     "request_too_large", 400, "INVALID_ARGUMENT", false},
    {ErrorClass::kUnprocessable, 422, "invalid_request_error", "", 422, "invalid_request_error",
     400, "INVALID_ARGUMENT", false},
    {ErrorClass::kRateLimited, 429, "requests", "rate_limit_exceeded", 429, "rate_limit_error",
     429, "RESOURCE_EXHAUSTED", true},
    {ErrorClass::kQuotaExceeded, 429, "insufficient_quota", "insufficient_quota", 402,
     "billing_error", 429, "RESOURCE_EXHAUSTED", false},
    {ErrorClass::kInternal, 500, "server_error", "", 500, "api_error", 500, "INTERNAL", true},
    {ErrorClass::kBadGateway, 502, "server_error", "", 502, "api_error", 502, "UNAVAILABLE",
     true},
    {ErrorClass::kUnavailable, 503, "server_error", "", 503, "api_error", 503, "UNAVAILABLE",
     true},
    {ErrorClass::kTimeout, 504, "server_error", "timeout", 504, "timeout_error", 504,
     "DEADLINE_EXCEEDED", true},
    {ErrorClass::kOverloaded, 503, "server_error", "overloaded", 529, "overloaded_error", 503,
     "UNAVAILABLE", true},
    {ErrorClass::kOther, 0, "invalid_request_error", "", 0, "invalid_request_error", 0,
     "UNKNOWN", false},
}};

}  // namespace

std::string_view ErrorClassName(ErrorClass cls) {
  switch (cls) {
    case ErrorClass::kInvalidRequest: return "invalid_request";
    case ErrorClass::kAuthentication: return "authentication";
    case ErrorClass::kPermission: return "permission";
    case ErrorClass::kNotFound: return "not_found";
    case ErrorClass::kConflict: return "conflict";
    case ErrorClass::kRequestTooLarge: return "request_too_large";
    case ErrorClass::kUnprocessable: return "unprocessable";
    case ErrorClass::kRateLimited: return "rate_limited";
    case ErrorClass::kQuotaExceeded: return "quota_exceeded";
    case ErrorClass::kInternal: return "internal";
    case ErrorClass::kBadGateway: return "bad_gateway";
    case ErrorClass::kUnavailable: return "unavailable";
    case ErrorClass::kTimeout: return "timeout";
    case ErrorClass::kOverloaded: return "overloaded";
    case ErrorClass::kOther: return "other";
  }
  return "other";
}

const ErrorMapping& ErrorMappingFor(ErrorClass cls) {
  for (const ErrorMapping& m : kErrorTable) {
    if (m.cls == cls) return m;
  }
  return kErrorTable.back();
}

ErrorClass ErrorClassForStatus(int status) {
  switch (status) {
    case 400: return ErrorClass::kInvalidRequest;
    case 401: return ErrorClass::kAuthentication;
    case 402: return ErrorClass::kQuotaExceeded;
    case 403: return ErrorClass::kPermission;
    case 404: return ErrorClass::kNotFound;
    case 409: return ErrorClass::kConflict;
    case 413: return ErrorClass::kRequestTooLarge;
    case 422: return ErrorClass::kUnprocessable;
    case 429: return ErrorClass::kRateLimited;
    case 500: return ErrorClass::kInternal;
    case 502: return ErrorClass::kBadGateway;
    case 503: return ErrorClass::kUnavailable;
    case 504: return ErrorClass::kTimeout;
    case 529: return ErrorClass::kOverloaded;
    default: break;
  }
  if (status >= 500 && status <= 599) return ErrorClass::kInternal;
  return ErrorClass::kOther;
}

ApiError ApiErrorFromCore(const core::Error& error) {
  using core::ErrorCode;
  ApiError out;
  out.message = error.message;
  out.param = error.param;
  out.retry_after = error.retry_after;
  switch (error.code) {
    case ErrorCode::kInvalidRequest: out.cls = ErrorClass::kInvalidRequest; break;
    case ErrorCode::kUnauthorized: out.cls = ErrorClass::kAuthentication; break;
    case ErrorCode::kForbidden: out.cls = ErrorClass::kPermission; break;
    case ErrorCode::kNotFound: out.cls = ErrorClass::kNotFound; break;
    case ErrorCode::kModelNotFound:
      out.cls = ErrorClass::kNotFound;
      out.code = "model_not_found";
      break;
    case ErrorCode::kMethodNotAllowed: out.cls = ErrorClass::kOther; out.status = 405; break;
    case ErrorCode::kRequestTimeout: out.cls = ErrorClass::kOther; out.status = 408; break;
    case ErrorCode::kPayloadTooLarge: out.cls = ErrorClass::kRequestTooLarge; break;
    case ErrorCode::kUnsupportedMediaType: out.cls = ErrorClass::kOther; out.status = 415; break;
    case ErrorCode::kRateLimited: out.cls = ErrorClass::kRateLimited; break;
    case ErrorCode::kQuotaExceeded: out.cls = ErrorClass::kQuotaExceeded; break;
    case ErrorCode::kInternal: out.cls = ErrorClass::kInternal; break;
    case ErrorCode::kUpstreamError: out.cls = ErrorClass::kBadGateway; break;
    case ErrorCode::kUpstreamUnavailable: out.cls = ErrorClass::kUnavailable; break;
    case ErrorCode::kUpstreamTimeout: out.cls = ErrorClass::kTimeout; break;
    case ErrorCode::kUpstreamStatus:
      out.cls = ErrorClassForStatus(error.upstream_status);
      out.status = error.upstream_status;
      break;
    default:  // kUnavailable (503: the gateway itself cannot take the request now)
      out.cls = ErrorClass::kUnavailable;
      break;
  }
  if (out.cls != ErrorClass::kOther && error.code != ErrorCode::kUpstreamStatus) {
    out.status = ErrorMappingFor(out.cls).anthropic_status == 529
                     ? 529
                     : ErrorMappingFor(out.cls).openai_status;
  }
  return out;
}

core::Error CoreErrorFromApi(const ApiError& error) {
  core::Error out;
  out.code = core::ErrorCode::kUpstreamStatus;
  out.upstream_status = error.status;
  out.message = error.message;
  out.param = error.param;
  out.retry_after = error.retry_after;
  out.retryable = error.should_retry.value_or(ErrorMappingFor(error.cls).retryable);
  return out;
}

}  // namespace meridian::dialect
