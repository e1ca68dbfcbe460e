#include "route/retry.hpp"

#include <algorithm>

#include "route/ratelimit.hpp"

namespace meridian::route {

using core::ErrorCode;

AttemptOutcome OutcomeFromError(const core::Error& error, bool client_bytes_sent) {
  AttemptOutcome o;
  o.client_bytes_sent = client_bytes_sent;
  switch (error.code) {
    case ErrorCode::kUpstreamUnavailable: o.failure = FailureKind::kConnect; break;
    case ErrorCode::kUpstreamTimeout: o.failure = FailureKind::kTimeout; break;
    case ErrorCode::kUpstreamError: o.failure = FailureKind::kReset; break;
    case ErrorCode::kUpstreamStatus:
      o.failure = FailureKind::kNone;
      o.status = error.upstream_status;
      o.retry_after = error.retry_after;
      break;
    default: o.failure = FailureKind::kLocal; break;
  }
  return o;
}

bool IsRetryableStatus(int status) {
  if (status == 408 || status == 429 || status == 529) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

bool IsRetryable(const AttemptOutcome& o, bool retry_timeouts) {
  if (o.client_bytes_sent) return false;
  switch (o.failure) {
    case FailureKind::kConnect:
    case FailureKind::kReset: return true;
    case FailureKind::kTimeout: return retry_timeouts;
    case FailureKind::kCancelled:
    case FailureKind::kLocal: return false;
    case FailureKind::kNone: return IsRetryableStatus(o.status);
  }
  return false;
}

AttemptReport::Verdict VerdictOf(const AttemptOutcome& o) {
  using V = AttemptReport::Verdict;
  switch (o.failure) {
    case FailureKind::kConnect:
    case FailureKind::kTimeout:
    case FailureKind::kReset: return V::kFailure;
    case FailureKind::kCancelled:
    case FailureKind::kLocal: return V::kNeutral;
    case FailureKind::kNone: break;
  }
  if (o.status >= 100 && o.status < 400) return V::kSuccess;
  if (o.status >= 500 || o.status == 408) return V::kFailure;  // 529 included
  return V::kNeutral;                                          // 429 and the client's 4xx
}

std::string_view RetryReasonName(RetryReason reason) {
  switch (reason) {
    case RetryReason::kSucceeded: return "succeeded";
    case RetryReason::kRetryable: return "retryable";
    case RetryReason::kAfterFirstByte: return "after_first_byte";
    case RetryReason::kNotRetryable: return "not_retryable";
    case RetryReason::kAttemptsExhausted: return "attempts_exhausted";
    case RetryReason::kPlanExhausted: return "plan_exhausted";
    case RetryReason::kDeadline: return "deadline";
    case RetryReason::kRetryAfterBeyondDeadline: return "retry_after_beyond_deadline";
  }
  return "unknown";
}

RetryDecision DecideRetry(const AttemptOutcome& outcome, const RetryContext& ctx, const RetryPolicy& policy) {
  RetryDecision d;
  std::optional<Duration> retry_after;
  if (!outcome.retry_after.empty()) retry_after = ParseRetryAfter(outcome.retry_after, ctx.wall_now);
  if (retry_after) d.backend_cool_down = std::min(*retry_after, policy.max_cool_down);

  auto stop = [&](RetryReason reason) {
    d.action = RetryAction::kStop;
    d.reason = reason;
    d.delay = Duration::zero();
    return d;
  };
  if (outcome.failure == FailureKind::kNone && outcome.status >= 100 && outcome.status < 400) {
    return stop(RetryReason::kSucceeded);
  }
  if (outcome.client_bytes_sent) return stop(RetryReason::kAfterFirstByte);
  if (!IsRetryable(outcome, policy.retry_timeouts)) return stop(RetryReason::kNotRetryable);
  if (ctx.attempts_made >= ctx.max_attempts) return stop(RetryReason::kAttemptsExhausted);
  if (ctx.now >= ctx.deadline || ctx.deadline - ctx.now <= policy.min_attempt_time) {
    return stop(RetryReason::kDeadline);
  }
  if (ctx.has_next) {
    d.action = RetryAction::kNextBackend;
    d.reason = RetryReason::kRetryable;
    return d;
  }
  if (ctx.same_backend_retries_used >= policy.same_backend_retries) return stop(RetryReason::kPlanExhausted);
  Duration wait = retry_after ? *retry_after : policy.default_backoff;
  // The wait is capped by the deadline: if it and a minimal attempt do not fit, give up now
  // rather than sleep into a certain timeout.
  if (wait + policy.min_attempt_time >= ctx.deadline - ctx.now) return stop(RetryReason::kRetryAfterBeyondDeadline);
  d.action = RetryAction::kSameBackend;
  d.reason = RetryReason::kRetryable;
  d.delay = wait;
  return d;
}

HedgeDecision DecideHedge(const HedgeInput& in, const HedgePolicy& policy) {
  HedgeDecision d;
  if (!in.latency_critical || in.first_byte_received || in.hedges_launched >= policy.max_hedges || !in.has_next ||
      !in.ttft_quantile) {
    return d;
  }
  Duration delay = std::clamp(*in.ttft_quantile, policy.min_delay, std::max(policy.min_delay, policy.max_delay));
  Duration wait = delay > in.elapsed ? delay - in.elapsed : Duration::zero();
  if (in.now >= in.deadline || wait >= in.deadline - in.now) return d;
  if (wait == Duration::zero()) {
    d.action = HedgeAction::kLaunch;
  } else {
    d.action = HedgeAction::kWait;
    d.wait = wait;
  }
  return d;
}

}  // namespace meridian::route
