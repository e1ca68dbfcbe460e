#include "limits/errors.hpp"

#include <fmt/format.h>

namespace meridian::limits {

namespace {

bool IsTokenKind(DenialKind kind) {
  return kind == DenialKind::kInputTokens || kind == DenialKind::kOutputTokens;
}

std::string RetryAfter(const Denial& denial) {
  if (denial.permanent || denial.retry_after_seconds <= 0) return {};
  return fmt::format("{}", denial.retry_after_seconds);
}

}  // namespace

DenialResponse ResponseFor(const Denial& denial, ClientFamily family) {
  DenialResponse out;
  out.retry_after = RetryAfter(denial);
  const bool budget = IsBudget(denial.kind);
  out.should_retry = !budget && !denial.permanent;
  switch (family) {
    case ClientFamily::kOpenAi:
      out.status = 429;
      if (budget) {
        out.type = "insufficient_quota";
        out.code = "insufficient_quota";
      } else {
        out.type = IsTokenKind(denial.kind) ? "tokens" : "requests";
        out.code = "rate_limit_exceeded";
      }
      break;
    case ClientFamily::kAnthropic:
      out.status = budget ? 402 : 429;
      out.type = budget ? "billing_error" : "rate_limit_error";
      break;
    case ClientFamily::kGemini:
      out.status = 429;
      out.type = "RESOURCE_EXHAUSTED";
      break;
  }
  return out;
}

core::Error ToError(const Denial& denial) {
  core::Error error;
  error.code = IsBudget(denial.kind) ? core::ErrorCode::kQuotaExceeded : core::ErrorCode::kRateLimited;
  error.message = denial.message;
  error.retry_after = RetryAfter(denial);
  error.retryable = !IsBudget(denial.kind) && !denial.permanent;
  return error;
}

}  // namespace meridian::limits
