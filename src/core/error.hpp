#pragma once
// The one error type of the data plane. Errors are values (Result<T>), never exceptions;
// they are mapped to an HTTP status and a client-dialect body in exactly one place
// (gateway/http_error.hpp) and logged once there.

#include <expected>
#include <string>
#include <string_view>

namespace meridian::core {

enum class ErrorCode {
  kInvalidRequest,        // 400: malformed JSON, wrong field type, invalid UTF-8
  kUnauthorized,          // 401: missing or wrong key
  kForbidden,             // 403
  kNotFound,              // 404: unknown route
  kModelNotFound,         // 404: unknown model or alias
  kMethodNotAllowed,      // 405
  kRequestTimeout,        // 408: client too slow (header or body deadline)
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kRateLimited,           // 429
  kQuotaExceeded,         // 429 (OpenAI insufficient_quota; Anthropic 402): a budget ran out
  kInternal,              // 500
  kUnavailable,           // 503: the gateway itself cannot take the request now (e.g. its store)
  kUpstreamError,         // 502: upstream sent something we cannot relay, or reset
  kUpstreamUnavailable,   // 503: no healthy backend, connect refused, or draining
  kUpstreamTimeout,       // 504: connect, first-byte, between-chunk or total deadline
  kUpstreamStatus,        // upstream answered with an HTTP error: its status is kept
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;      // safe to show a client: never holds keys or request content
  std::string param;        // the request field at fault, if any ("messages[0].content")
  int upstream_status = 0;  // for kUpstreamStatus: the status the upstream sent
  std::string retry_after;  // upstream's retry-after header value, relayed verbatim
  bool retryable = false;   // may another attempt (same or other backend) succeed?
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message, std::string param = {}) {
  Error error;
  error.code = code;
  error.message = std::move(message);
  error.param = std::move(param);
  return std::unexpected<Error>(std::move(error));
}

// Stable machine name of a code, used in logs and metrics ("upstream_timeout").
std::string_view CodeName(ErrorCode code);

}  // namespace meridian::core
