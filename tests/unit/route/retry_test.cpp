#include "route/retry.hpp"

#include <gtest/gtest.h>

namespace meridian::route {
namespace {

using namespace std::chrono_literals;

const TimePoint T0 = TimePoint(1000s);
const WallTime Noon = WallTime(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h);

AttemptOutcome Status(int status, std::string_view retry_after = {}) {
  AttemptOutcome o;
  o.status = status;
  o.retry_after = retry_after;
  return o;
}
AttemptOutcome Failure(FailureKind kind) {
  AttemptOutcome o;
  o.failure = kind;
  return o;
}

RetryContext Ctx(bool has_next = true) {
  RetryContext c;
  c.attempts_made = 1;
  c.max_attempts = 3;
  c.has_next = has_next;
  c.now = T0;
  c.deadline = T0 + 30s;
  c.wall_now = Noon;
  return c;
}

TEST(Retryable, Statuses) {
  for (int s : {408, 429, 500, 502, 503, 504, 529, 599}) EXPECT_TRUE(IsRetryableStatus(s)) << s;
  for (int s : {200, 400, 401, 403, 404, 413, 422, 501, 505}) EXPECT_FALSE(IsRetryableStatus(s)) << s;
}

TEST(Retryable, Failures) {
  EXPECT_TRUE(IsRetryable(Failure(FailureKind::kConnect)));
  EXPECT_TRUE(IsRetryable(Failure(FailureKind::kReset)));
  EXPECT_TRUE(IsRetryable(Failure(FailureKind::kTimeout)));
  EXPECT_FALSE(IsRetryable(Failure(FailureKind::kTimeout), /*retry_timeouts=*/false));
  EXPECT_FALSE(IsRetryable(Failure(FailureKind::kCancelled)));
  EXPECT_FALSE(IsRetryable(Failure(FailureKind::kLocal)));
  EXPECT_TRUE(IsRetryable(Status(429)));
  EXPECT_TRUE(IsRetryable(Status(429, "5")));
  EXPECT_TRUE(IsRetryable(Status(529)));
  EXPECT_FALSE(IsRetryable(Status(400)));
}

TEST(Retryable, NeverOnceABytereachedTheClient) {
  for (AttemptOutcome o : {Failure(FailureKind::kConnect), Failure(FailureKind::kReset), Status(503), Status(429)}) {
    o.client_bytes_sent = true;
    EXPECT_FALSE(IsRetryable(o));
    RetryDecision d = DecideRetry(o, Ctx());
    EXPECT_EQ(d.action, RetryAction::kStop);
    EXPECT_EQ(d.reason, RetryReason::kAfterFirstByte);
  }
}

TEST(Verdict, WhatAnOutcomeSaysAboutTheBackend) {
  using V = AttemptReport::Verdict;
  EXPECT_EQ(VerdictOf(Status(200)), V::kSuccess);
  EXPECT_EQ(VerdictOf(Status(500)), V::kFailure);
  EXPECT_EQ(VerdictOf(Status(529)), V::kFailure);
  EXPECT_EQ(VerdictOf(Status(408)), V::kFailure);
  EXPECT_EQ(VerdictOf(Status(429)), V::kNeutral);
  EXPECT_EQ(VerdictOf(Status(400)), V::kNeutral);
  EXPECT_EQ(VerdictOf(Status(401)), V::kNeutral);
  EXPECT_EQ(VerdictOf(Failure(FailureKind::kConnect)), V::kFailure);
  EXPECT_EQ(VerdictOf(Failure(FailureKind::kTimeout)), V::kFailure);
  EXPECT_EQ(VerdictOf(Failure(FailureKind::kReset)), V::kFailure);
  EXPECT_EQ(VerdictOf(Failure(FailureKind::kCancelled)), V::kNeutral);
  EXPECT_EQ(VerdictOf(Failure(FailureKind::kLocal)), V::kNeutral);
}

TEST(OutcomeFromError, MapsCodes) {
  core::Error e;
  e.code = core::ErrorCode::kUpstreamUnavailable;
  EXPECT_EQ(OutcomeFromError(e, false).failure, FailureKind::kConnect);
  e.code = core::ErrorCode::kUpstreamTimeout;
  EXPECT_EQ(OutcomeFromError(e, false).failure, FailureKind::kTimeout);
  e.code = core::ErrorCode::kUpstreamError;
  EXPECT_EQ(OutcomeFromError(e, true).failure, FailureKind::kReset);
  EXPECT_TRUE(OutcomeFromError(e, true).client_bytes_sent);
  e.code = core::ErrorCode::kUpstreamStatus;
  e.upstream_status = 429;
  e.retry_after = "7";
  AttemptOutcome o = OutcomeFromError(e, false);
  EXPECT_EQ(o.failure, FailureKind::kNone);
  EXPECT_EQ(o.status, 429);
  EXPECT_EQ(o.retry_after, "7");
  e.code = core::ErrorCode::kInternal;
  EXPECT_EQ(OutcomeFromError(e, false).failure, FailureKind::kLocal);
}

TEST(DecideRetry, SuccessAndClientErrorsStop) {
  EXPECT_EQ(DecideRetry(Status(200), Ctx()).reason, RetryReason::kSucceeded);
  for (int s : {400, 401, 403, 404, 413}) {
    RetryDecision d = DecideRetry(Status(s), Ctx());
    EXPECT_EQ(d.action, RetryAction::kStop) << s;
    EXPECT_EQ(d.reason, RetryReason::kNotRetryable) << s;
  }
}

TEST(DecideRetry, RetryableGoesToTheNextBackendAtOnce) {
  for (AttemptOutcome o : {Failure(FailureKind::kConnect), Status(500), Status(503), Status(529), Status(429)}) {
    RetryDecision d = DecideRetry(o, Ctx());
    EXPECT_EQ(d.action, RetryAction::kNextBackend);
    EXPECT_EQ(d.reason, RetryReason::kRetryable);
    EXPECT_EQ(d.delay, Duration(0));
    EXPECT_FALSE(d.backend_cool_down);
  }
}

TEST(DecideRetry, RetryAfterCoolsTheBackendDown) {
  RetryDecision d = DecideRetry(Status(429, "20"), Ctx());
  EXPECT_EQ(d.action, RetryAction::kNextBackend);
  EXPECT_EQ(d.delay, Duration(0));
  EXPECT_EQ(d.backend_cool_down, Duration(20s));
  d = DecideRetry(Status(503, "Wed, 01 May 2024 12:00:45 GMT"), Ctx());
  EXPECT_EQ(d.backend_cool_down, Duration(45s));
  d = DecideRetry(Status(429, "3600"), Ctx());
  EXPECT_EQ(d.backend_cool_down, Duration(60s));  // capped by policy.max_cool_down
  d = DecideRetry(Status(429, "whenever"), Ctx());
  EXPECT_FALSE(d.backend_cool_down);
  EXPECT_EQ(d.action, RetryAction::kNextBackend);
  // Even when not retried (first byte out), the cool-down is reported.
  AttemptOutcome o = Status(429, "5");
  o.client_bytes_sent = true;
  EXPECT_EQ(DecideRetry(o, Ctx()).backend_cool_down, Duration(5s));
}

TEST(DecideRetry, AttemptsBounded) {
  RetryContext c = Ctx();
  c.attempts_made = 3;
  EXPECT_EQ(DecideRetry(Status(503), c).reason, RetryReason::kAttemptsExhausted);
  c.attempts_made = 2;
  EXPECT_EQ(DecideRetry(Status(503), c).action, RetryAction::kNextBackend);
}

TEST(DecideRetry, DeadlineBounds) {
  RetryContext c = Ctx();
  c.now = c.deadline;
  EXPECT_EQ(DecideRetry(Status(503), c).reason, RetryReason::kDeadline);
  c.now = c.deadline - 100ms;
  RetryPolicy p;
  p.min_attempt_time = 200ms;
  EXPECT_EQ(DecideRetry(Status(503), c, p).reason, RetryReason::kDeadline);
  p.min_attempt_time = 50ms;
  EXPECT_EQ(DecideRetry(Status(503), c, p).action, RetryAction::kNextBackend);
}

TEST(DecideRetry, PlanExhaustedStopsWithoutSameBackendRetries) {
  RetryDecision d = DecideRetry(Status(503, "1"), Ctx(/*has_next=*/false));
  EXPECT_EQ(d.action, RetryAction::kStop);
  EXPECT_EQ(d.reason, RetryReason::kPlanExhausted);
}

TEST(DecideRetry, SameBackendHonoursRetryAfterWithinTheDeadline) {
  RetryPolicy p;
  p.same_backend_retries = 1;
  RetryContext c = Ctx(/*has_next=*/false);
  RetryDecision d = DecideRetry(Status(429, "2"), c, p);
  EXPECT_EQ(d.action, RetryAction::kSameBackend);
  EXPECT_EQ(d.delay, Duration(2s));
  d = DecideRetry(Status(503), c, p);  // no retry-after: the default backoff
  EXPECT_EQ(d.action, RetryAction::kSameBackend);
  EXPECT_EQ(d.delay, Duration(500ms));
  d = DecideRetry(Status(429, "Wed, 01 May 2024 12:00:10 GMT"), c, p);
  EXPECT_EQ(d.delay, Duration(10s));
  // The wait does not fit before the deadline: stop now instead of sleeping into a timeout.
  d = DecideRetry(Status(429, "30"), c, p);
  EXPECT_EQ(d.action, RetryAction::kStop);
  EXPECT_EQ(d.reason, RetryReason::kRetryAfterBeyondDeadline);
  p.min_attempt_time = 1s;
  EXPECT_EQ(DecideRetry(Status(429, "29"), c, p).reason, RetryReason::kRetryAfterBeyondDeadline);
  EXPECT_EQ(DecideRetry(Status(429, "28"), c, p).action, RetryAction::kSameBackend);
  // Used up.
  c.same_backend_retries_used = 1;
  EXPECT_EQ(DecideRetry(Status(429, "2"), c, p).reason, RetryReason::kPlanExhausted);
}

TEST(DecideRetry, TimeoutsPerPolicy) {
  RetryPolicy p;
  p.retry_timeouts = false;
  EXPECT_EQ(DecideRetry(Failure(FailureKind::kTimeout), Ctx(), p).reason, RetryReason::kNotRetryable);
  EXPECT_EQ(DecideRetry(Failure(FailureKind::kTimeout), Ctx()).action, RetryAction::kNextBackend);
  EXPECT_EQ(RetryReasonName(RetryReason::kRetryAfterBeyondDeadline), "retry_after_beyond_deadline");
}

HedgeInput Hedgeable() {
  HedgeInput in;
  in.latency_critical = true;
  in.has_next = true;
  in.ttft_quantile = 800ms;
  in.now = T0;
  in.deadline = T0 + 30s;
  return in;
}

TEST(Hedge, WaitsForTheQuantileThenLaunches) {
  HedgeInput in = Hedgeable();
  in.elapsed = 300ms;
  HedgeDecision d = DecideHedge(in);
  EXPECT_EQ(d.action, HedgeAction::kWait);
  EXPECT_EQ(d.wait, Duration(500ms));
  in.elapsed = 800ms;
  EXPECT_EQ(DecideHedge(in).action, HedgeAction::kLaunch);
  in.elapsed = 2s;
  EXPECT_EQ(DecideHedge(in).action, HedgeAction::kLaunch);
}

TEST(Hedge, DelayClamped) {
  HedgeInput in = Hedgeable();
  in.ttft_quantile = 1ms;
  EXPECT_EQ(DecideHedge(in).wait, Duration(50ms));  // min_delay
  in.ttft_quantile = 60s;
  HedgePolicy p;
  p.max_delay = 2s;
  EXPECT_EQ(DecideHedge(in, p).wait, Duration(2s));
}

TEST(Hedge, Never) {
  HedgeInput in = Hedgeable();
  in.elapsed = 5s;
  auto never = [](HedgeInput x) { return DecideHedge(x).action == HedgeAction::kNever; };
  EXPECT_FALSE(never(in));
  HedgeInput x = in;
  x.latency_critical = false;
  EXPECT_TRUE(never(x));
  x = in;
  x.first_byte_received = true;
  EXPECT_TRUE(never(x));
  x = in;
  x.hedges_launched = 1;
  EXPECT_TRUE(never(x));
  x = in;
  x.has_next = false;
  EXPECT_TRUE(never(x));
  x = in;
  x.ttft_quantile.reset();
  EXPECT_TRUE(never(x));
  x = in;
  x.elapsed = 0ms;
  x.deadline = T0 + 500ms;  // the hedge would start after the deadline
  EXPECT_TRUE(never(x));
  x.now = x.deadline;
  x.elapsed = 5s;
  EXPECT_TRUE(never(x));
}

}  // namespace
}  // namespace meridian::route
