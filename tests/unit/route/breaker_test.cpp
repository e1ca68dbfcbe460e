#include "route/breaker.hpp"

#include <gtest/gtest.h>

namespace meridian::route {
namespace {

using namespace std::chrono_literals;

const TimePoint T0 = TimePoint(1000s);

BreakerOptions Opts() {
  BreakerOptions o;
  o.consecutive_failures = 3;
  o.error_rate = 0.5;
  o.min_window_outcomes = 10;
  o.window = 10s;
  o.window_buckets = 10;
  o.cool_down = 5s;
  o.backoff_multiplier = 2.0;
  o.max_cool_down = 15s;
  o.half_open_probes = 2;
  o.successes_to_close = 1;
  return o;
}

void Fail(CircuitBreaker& b, TimePoint t, int n = 1) {
  for (int i = 0; i < n; ++i) b.OnFailure(b.Acquire(t), t);
}
void Succeed(CircuitBreaker& b, TimePoint t, int n = 1) {
  for (int i = 0; i < n; ++i) b.OnSuccess(b.Acquire(t), t);
}

TEST(Breaker, StartsClosed) {
  CircuitBreaker b(Opts());
  EXPECT_EQ(b.state(T0), BreakerState::kClosed);
  EXPECT_EQ(b.health(T0), Health::kHealthy);
  EXPECT_EQ(b.Acquire(T0), Admission::kAdmitted);
  EXPECT_EQ(b.open_reason(), OpenReason::kNone);
}

TEST(Breaker, ClosedToOpenAfterConsecutiveFailures) {
  CircuitBreaker b(Opts());
  Fail(b, T0, 2);
  EXPECT_EQ(b.state(T0), BreakerState::kClosed);
  EXPECT_EQ(b.consecutive_failures(), 2);
  Fail(b, T0);
  EXPECT_EQ(b.state(T0), BreakerState::kOpen);
  EXPECT_EQ(b.open_reason(), OpenReason::kConsecutiveFailures);
  EXPECT_EQ(b.open_until(), T0 + 5s);
  EXPECT_EQ(b.health(T0), Health::kOpen);
  EXPECT_EQ(b.transitions(), 1u);
}

TEST(Breaker, SuccessResetsTheConsecutiveCount) {
  CircuitBreaker b(Opts());
  Fail(b, T0, 2);
  Succeed(b, T0);
  Fail(b, T0, 2);
  EXPECT_EQ(b.state(T0), BreakerState::kClosed);
  EXPECT_EQ(b.consecutive_failures(), 2);
}

TEST(Breaker, ClosedToOpenOnErrorRateOverTheWindow) {
  BreakerOptions o = Opts();
  o.consecutive_failures = 0;  // only the rate rule
  CircuitBreaker b(o);
  // Alternate: 5 successes, 4 failures = 9 outcomes, below the minimum of 10.
  for (int i = 0; i < 4; ++i) {
    Succeed(b, T0);
    Fail(b, T0);
  }
  Succeed(b, T0);
  EXPECT_EQ(b.state(T0), BreakerState::kClosed);
  Fail(b, T0);  // 5/10 = 0.5: not over 0.5
  EXPECT_EQ(b.state(T0), BreakerState::kClosed);
  Fail(b, T0);  // 6/11 > 0.5
  EXPECT_EQ(b.state(T0), BreakerState::kOpen);
  EXPECT_EQ(b.open_reason(), OpenReason::kErrorRate);
}

TEST(Breaker, OldOutcomesLeaveTheWindow) {
  BreakerOptions o = Opts();
  o.consecutive_failures = 0;
  CircuitBreaker b(o);
  Fail(b, T0, 9);
  Succeed(b, T0);  // (9 failures, 1 success would open on the next failure)
  EXPECT_EQ(b.window_failures(T0), 9);
  TimePoint later = T0 + 11s;  // the whole window has slid past
  EXPECT_EQ(b.window_failures(later), 0);
  EXPECT_EQ(b.window_successes(later), 0);
  Fail(b, later);
  EXPECT_EQ(b.state(later), BreakerState::kClosed);
  EXPECT_EQ(b.window_failures(later), 1);
  // Partly slid: buckets of the last 10 s count.
  CircuitBreaker c(o);
  Fail(c, T0, 3);
  Fail(c, T0 + 5s, 2);
  EXPECT_EQ(c.window_failures(T0 + 9s), 5);
  EXPECT_EQ(c.window_failures(T0 + 10s), 2);
}

TEST(Breaker, OpenRejectsUntilTheCoolDownThenHalfOpen) {
  CircuitBreaker b(Opts());
  Fail(b, T0, 3);
  EXPECT_EQ(b.Acquire(T0 + 4999ms), Admission::kRejected);
  EXPECT_EQ(b.state(T0 + 5s), BreakerState::kHalfOpen);  // read-only view
  EXPECT_EQ(b.health(T0 + 5s), Health::kHalfOpen);
  EXPECT_EQ(b.Acquire(T0 + 5s), Admission::kProbe);
  EXPECT_EQ(b.state(T0 + 5s), BreakerState::kHalfOpen);
  EXPECT_EQ(b.transitions(), 2u);
}

TEST(Breaker, HalfOpenAdmitsKProbes) {
  CircuitBreaker b(Opts());
  Fail(b, T0, 3);
  TimePoint t = T0 + 5s;
  EXPECT_EQ(b.Acquire(t), Admission::kProbe);
  EXPECT_EQ(b.health(t), Health::kHalfOpen);
  EXPECT_EQ(b.Acquire(t), Admission::kProbe);
  EXPECT_EQ(b.probes_in_flight(), 2);
  EXPECT_EQ(b.health(t), Health::kOpen);  // no slot left
  EXPECT_EQ(b.Acquire(t), Admission::kRejected);
  b.OnRelease(Admission::kProbe);  // a probe ended without a verdict
  EXPECT_EQ(b.probes_in_flight(), 1);
  EXPECT_EQ(b.Acquire(t), Admission::kProbe);
}

TEST(Breaker, HalfOpenProbeSuccessCloses) {
  CircuitBreaker b(Opts());
  Fail(b, T0, 3);
  TimePoint t = T0 + 5s;
  Admission a = b.Acquire(t);
  b.OnSuccess(a, t);
  EXPECT_EQ(b.state(t), BreakerState::kClosed);
  EXPECT_EQ(b.consecutive_failures(), 0);
  EXPECT_EQ(b.window_failures(t), 0);  // a fresh start
  EXPECT_EQ(b.Acquire(t), Admission::kAdmitted);
  EXPECT_EQ(b.transitions(), 3u);
}

TEST(Breaker, SuccessesToCloseCountsProbes) {
  BreakerOptions o = Opts();
  o.successes_to_close = 2;
  CircuitBreaker b(o);
  Fail(b, T0, 3);
  TimePoint t = T0 + 5s;
  Admission p1 = b.Acquire(t), p2 = b.Acquire(t);
  b.OnSuccess(p1, t);
  EXPECT_EQ(b.state(t), BreakerState::kHalfOpen);
  b.OnSuccess(p2, t);
  EXPECT_EQ(b.state(t), BreakerState::kClosed);
}

TEST(Breaker, HalfOpenProbeFailureReopensWithBackoffCapped) {
  CircuitBreaker b(Opts());
  Fail(b, T0, 3);  // open 5 s
  TimePoint t = T0 + 5s;
  b.OnFailure(b.Acquire(t), t);
  EXPECT_EQ(b.state(t), BreakerState::kOpen);
  EXPECT_EQ(b.open_reason(), OpenReason::kProbeFailed);
  EXPECT_EQ(b.cool_down(), Duration(10s));
  EXPECT_EQ(b.open_until(), t + 10s);
  EXPECT_EQ(b.Acquire(t + 9s), Admission::kRejected);
  t += 10s;
  b.OnFailure(b.Acquire(t), t);
  EXPECT_EQ(b.cool_down(), Duration(15s));  // 20 s capped at 15 s
  EXPECT_EQ(b.open_until(), t + 15s);
  t += 15s;
  b.OnFailure(b.Acquire(t), t);
  EXPECT_EQ(b.cool_down(), Duration(15s));
  // Recovery resets the backoff.
  t += 15s;
  b.OnSuccess(b.Acquire(t), t);
  EXPECT_EQ(b.state(t), BreakerState::kClosed);
  EXPECT_EQ(b.cool_down(), Duration(5s));
  Fail(b, t, 3);
  EXPECT_EQ(b.open_until(), t + 5s);
}

TEST(Breaker, LateOutcomesOfEarlierAdmissionsMoveNothing) {
  CircuitBreaker b(Opts());
  Admission early = b.Acquire(T0);  // admitted while closed, still running
  Fail(b, T0, 3);                   // opens
  b.OnSuccess(early, T0 + 1s);      // cannot close an open breaker
  EXPECT_EQ(b.state(T0 + 1s), BreakerState::kOpen);
  TimePoint t = T0 + 5s;
  Admission probe = b.Acquire(t);
  b.OnFailure(Admission::kAdmitted, t);  // a late failure does not fail the probe
  EXPECT_EQ(b.state(t), BreakerState::kHalfOpen);
  b.OnSuccess(Admission::kForced, t);  // forced attempts never move it
  EXPECT_EQ(b.state(t), BreakerState::kHalfOpen);
  b.OnSuccess(probe, t);
  EXPECT_EQ(b.state(t), BreakerState::kClosed);
  // In closed state a stray probe outcome is ignored as well.
  b.OnFailure(Admission::kProbe, t);
  EXPECT_EQ(b.consecutive_failures(), 0);
}

TEST(Breaker, EjectOpensForTheGivenTimeThenHalfOpen) {
  CircuitBreaker b(Opts());
  b.Eject(T0, 30s);
  EXPECT_EQ(b.state(T0), BreakerState::kOpen);
  EXPECT_EQ(b.open_reason(), OpenReason::kOutlier);
  EXPECT_EQ(b.Acquire(T0 + 29s), Admission::kRejected);
  b.Eject(T0 + 1s, 5s);  // a shorter ejection does not shorten the open period
  EXPECT_EQ(b.open_until(), T0 + 30s);
  EXPECT_EQ(b.Acquire(T0 + 30s), Admission::kProbe);
  b.OnSuccess(Admission::kProbe, T0 + 30s);
  EXPECT_EQ(b.state(T0 + 30s), BreakerState::kClosed);
}

TEST(Breaker, EjectWhileHalfOpenReopens) {
  CircuitBreaker b(Opts());
  Fail(b, T0, 3);
  TimePoint t = T0 + 5s;
  Admission probe = b.Acquire(t);
  b.Eject(t, 20s);
  EXPECT_EQ(b.state(t), BreakerState::kOpen);
  b.OnSuccess(probe, t);  // the probe from before the ejection no longer counts
  EXPECT_EQ(b.state(t), BreakerState::kOpen);
}

TEST(Breaker, Names) {
  EXPECT_EQ(BreakerStateName(BreakerState::kHalfOpen), "half_open");
  EXPECT_EQ(OpenReasonName(OpenReason::kErrorRate), "error_rate");
  EXPECT_EQ(HealthName(Health::kRateLimited), "rate_limited");
}

}  // namespace
}  // namespace meridian::route
