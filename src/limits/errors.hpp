#pragma once
// What a Denial looks like to a client (docs/limits.md, "Errors"): the status, the
// retry-after header and the dialect's error type per client dialect family, and the
// core::Error the gateway renders in the client's dialect. Pure; thread-safe.

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "limits/limits.hpp"

namespace meridian::limits {

enum class ClientFamily { kOpenAi, kAnthropic, kGemini };  // OpenAi: Chat and Responses

struct DenialResponse {
  int status = 429;
  std::string retry_after;    // the retry-after header value in seconds; "" = send none
  std::string_view type;      // OpenAI `type`, Anthropic `error.type`, Gemini `error.status`
  std::string_view code;      // OpenAI `code` ("" for the other dialects)
  bool should_retry = true;   // false: also send `x-should-retry: false`
};

// Rate, token and concurrency limits: 429 everywhere, retry-after N, retryable. Budgets: the
// dialect's own "out of credit" error, which no SDK retries — OpenAI 429 insufficient_quota,
// Anthropic 402 billing_error, Gemini 429 RESOURCE_EXHAUSTED — with retry-after = seconds to
// the window's reset. A permanent denial has no retry-after and should_retry false.
DenialResponse ResponseFor(const Denial& denial, ClientFamily family);

// The denial as a core::Error, to render through gateway::RenderError (any dialect) or as a
// stream's final error event. Rate limits: kRateLimited, retry_after set, retryable. Budgets:
// kQuotaExceeded (rendered as the dialect's out-of-credit error: the statuses of ResponseFor),
// retry_after set to the window's reset, not retryable.
core::Error ToError(const Denial& denial);

}  // namespace meridian::limits
