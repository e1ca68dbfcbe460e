#pragma once
// Retry rules and the hedging decision as pure functions (docs/routing.md, "Retries",
// "Hedging"). No I/O, no clock reads; thread-safe.
//
// The rules:
//   * never once a byte of the answer reached the client;
//   * retryable: connect failure, timeout, upstream reset, 408, 429 (with or without
//     retry-after), 5xx except 501/505, 529; not retryable: every other status (400, 401, 403,
//     404, 413, 422, ...), gateway-local errors, a cancelled attempt;
//   * attempts are bounded by the plan (which never repeats a backend) and max_attempts;
//   * nothing starts at or after the deadline;
//   * a retry-after puts the backend that sent it on cool-down (LiveStats::BlockUntil); the next
//     backend of the plan is tried at once. Only when the plan is exhausted and the policy allows
//     same-backend retries is the retry-after waited for, and only if the wait plus
//     min_attempt_time fits before the deadline.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/error.hpp"
#include "route/common.hpp"
#include "route/stats.hpp"

namespace meridian::route {

enum class FailureKind : std::uint8_t {
  kNone,       // the upstream answered; see status
  kConnect,    // resolve, TCP or TLS failed: nothing was sent
  kTimeout,    // connect, first-byte or total deadline of the attempt
  kReset,      // the upstream closed or sent garbage before a complete answer
  kCancelled,  // the client left, or a hedge lost the race
  kLocal,      // the gateway itself failed (translation, internal error)
};

// How one attempt ended.
struct AttemptOutcome {
  FailureKind failure = FailureKind::kNone;
  int status = 0;                  // the upstream's HTTP status when failure == kNone
  bool client_bytes_sent = false;  // any byte of the answer (status line included) reached the client
  std::string_view retry_after;    // the response's retry-after value, verbatim ("" = none)
};

// The outcome a core::Error stands for: kUpstreamUnavailable → kConnect, kUpstreamTimeout →
// kTimeout, kUpstreamError → kReset, kUpstreamStatus → its upstream_status and retry_after
// (the view points into `error`), anything else → kLocal.
AttemptOutcome OutcomeFromError(const core::Error& error, bool client_bytes_sent);

// 408, 429, 5xx except 501 and 505, 529.
bool IsRetryableStatus(int status);
// The first two rules above, without attempts or deadline.
bool IsRetryable(const AttemptOutcome& outcome, bool retry_timeouts = true);
// What the outcome says about the backend, for LiveStats::End: 1xx–3xx success; connect,
// timeout, reset, 5xx and 529 failure; 429, other 4xx, cancelled and local errors neutral.
AttemptReport::Verdict VerdictOf(const AttemptOutcome& outcome);

struct RetryPolicy {
  bool retry_timeouts = true;                          // a timed-out attempt may be retried elsewhere
  std::uint32_t same_backend_retries = 0;              // retries of the last backend once the plan is spent
  Duration default_backoff = std::chrono::milliseconds(500);  // same-backend wait without retry-after
  Duration min_attempt_time = std::chrono::milliseconds(0);   // an attempt needs at least this before the deadline
  Duration max_cool_down = std::chrono::seconds(60);   // cap of a backend's retry-after cool-down
};

struct RetryContext {
  std::uint32_t attempts_made = 0;  // including the one that just ended
  std::uint32_t max_attempts = 3;
  bool has_next = false;            // the plan has another backend
  std::uint32_t same_backend_retries_used = 0;
  TimePoint now{};
  TimePoint deadline = TimePoint::max();
  WallTime wall_now{};              // to read an HTTP-date retry-after
};

enum class RetryAction : std::uint8_t { kStop, kNextBackend, kSameBackend };

enum class RetryReason : std::uint8_t {
  kSucceeded,                 // nothing to retry (2xx/3xx)
  kRetryable,                 // action says where
  kAfterFirstByte,            // the client has bytes: never retried
  kNotRetryable,
  kAttemptsExhausted,
  kPlanExhausted,
  kDeadline,                  // no time left for another attempt
  kRetryAfterBeyondDeadline,  // the wait the upstream asked for does not fit before the deadline
};

std::string_view RetryReasonName(RetryReason reason);

struct RetryDecision {
  RetryAction action = RetryAction::kStop;
  RetryReason reason = RetryReason::kNotRetryable;
  Duration delay{0};                       // wait before the next attempt (kSameBackend only)
  std::optional<Duration> backend_cool_down;  // put the failed backend aside this long (its retry-after)
};

// What to do after an attempt ended with `outcome`. Checked in this order: success, first byte,
// retryable, attempts, deadline, then the next backend of the plan, then a same-backend retry.
// backend_cool_down is set whenever the outcome carried a parsable retry-after (capped at
// policy.max_cool_down), whatever the action.
RetryDecision DecideRetry(const AttemptOutcome& outcome, const RetryContext& context, const RetryPolicy& policy = {});

// Hedging: for a latency-critical alias, launch a second attempt (the plan's next backend) when
// the first has not produced a first byte by the p-quantile of its backend's TTFT.
struct HedgePolicy {
  double quantile = 0.95;  // which TTFT quantile to wait for (LiveStats::TtftQuantile)
  Duration min_delay = std::chrono::milliseconds(50);
  Duration max_delay = std::chrono::seconds(10);
  std::uint32_t max_hedges = 1;
};

struct HedgeInput {
  bool latency_critical = false;        // the alias asks for hedging
  bool first_byte_received = false;     // by any attempt: the race is over
  std::uint32_t hedges_launched = 0;
  bool has_next = false;                // the plan has a backend to hedge to
  std::optional<Duration> ttft_quantile;  // of the primary's backend; nullopt = too few samples
  Duration elapsed{0};                  // since the primary attempt was sent
  TimePoint now{};
  TimePoint deadline = TimePoint::max();
};

enum class HedgeAction : std::uint8_t { kNever, kWait, kLaunch };

struct HedgeDecision {
  HedgeAction action = HedgeAction::kNever;
  Duration wait{0};  // kWait: ask again after this long
};

// kNever when hedging does not apply (not latency-critical, first byte in, hedges used up, no
// next backend, no TTFT quantile, or the hedge could not start before the deadline); else
// kLaunch once elapsed >= clamp(ttft_quantile, min_delay, max_delay), kWait before.
HedgeDecision DecideHedge(const HedgeInput& input, const HedgePolicy& policy = {});

}  // namespace meridian::route
