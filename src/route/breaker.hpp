#pragma once
// Circuit breaker of one backend×model (docs/routing.md, "Circuit breaker"):
//
//   closed ──N consecutive failures, or error rate over the window──► open
//   open ──cool-down elapsed (on the next Acquire/state query)──► half-open
//   half-open ──`successes_to_close` probe successes──► closed (cool-down back to its base)
//   half-open ──a probe fails──► open, cool-down × backoff_multiplier (capped)
//   any ──Eject (outlier)──► open for the given time
//
// A plain state machine: not thread-safe (LiveStats guards it with its mutex); time is passed
// in. Only outcomes of attempts it admitted in the current state move it: a success reported
// late by an attempt admitted while closed cannot close a breaker that has opened since.

#include <array>
#include <cstdint>
#include <string_view>

#include "route/common.hpp"

namespace meridian::route {

enum class BreakerState : std::uint8_t { kClosed, kOpen, kHalfOpen };
enum class OpenReason : std::uint8_t { kNone, kConsecutiveFailures, kErrorRate, kProbeFailed, kOutlier };

std::string_view BreakerStateName(BreakerState state);
std::string_view OpenReasonName(OpenReason reason);

struct BreakerOptions {
  int consecutive_failures = 5;  // open after this many failures in a row; 0 = rule off
  double error_rate = 0.5;       // open when failures / outcomes in the window exceed this; >= 1 = off
  int min_window_outcomes = 20;  // ... and the window holds at least this many outcomes
  Duration window = std::chrono::seconds(10);
  int window_buckets = 10;  // 1..kMaxBuckets; the window slides one bucket at a time
  Duration cool_down = std::chrono::seconds(5);     // first open period
  double backoff_multiplier = 2.0;                  // each failed probe multiplies it
  Duration max_cool_down = std::chrono::seconds(60);
  int half_open_probes = 1;    // K: concurrent probes admitted while half-open
  int successes_to_close = 1;  // probe successes needed to close
};

enum class Admission : std::uint8_t {
  kRejected,  // do not send (open, or half-open with every probe slot taken)
  kAdmitted,  // closed: a normal attempt
  kProbe,     // half-open: one of the K probes; its outcome decides the state
  kForced,    // sent although the breaker refused (last resort); its outcome does not move it
};

class CircuitBreaker {
 public:
  static constexpr int kMaxBuckets = 32;

  explicit CircuitBreaker(const BreakerOptions& options = {});

  // Asks to send one attempt. Moves open → half-open when the cool-down has elapsed. Every
  // kAdmitted/kProbe must be followed by exactly one OnSuccess, OnFailure or OnRelease.
  Admission Acquire(TimePoint now);
  // The attempt succeeded (for the breaker: the backend answered sanely).
  void OnSuccess(Admission admission, TimePoint now);
  // The attempt failed in a way that says the backend is unwell (connect, timeout, 5xx, 529).
  void OnFailure(Admission admission, TimePoint now);
  // The attempt ended with no verdict on the backend (client left, a 4xx, a 429): frees its
  // probe slot and moves nothing.
  void OnRelease(Admission admission);
  // Outlier ejection: open until now + `duration` (or later, if already open longer).
  void Eject(TimePoint now, Duration duration);

  // The state Acquire would see at `now` (open past its cool-down reads as half-open).
  BreakerState state(TimePoint now) const;
  // closed → kHealthy; half-open (or open past cool-down) with a free probe slot → kHalfOpen;
  // otherwise kOpen.
  Health health(TimePoint now) const;
  OpenReason open_reason() const { return reason_; }  // why it last opened
  TimePoint open_until() const { return open_until_; }
  Duration cool_down() const { return cool_down_; }  // the next open period
  int consecutive_failures() const { return consecutive_; }
  int probes_in_flight() const { return probes_in_flight_; }
  std::uint64_t transitions() const { return transitions_; }
  // Outcomes in the current window (for tests and metrics).
  int window_successes(TimePoint now) const;
  int window_failures(TimePoint now) const;

 private:
  struct Bucket {
    std::int64_t epoch = -1;
    int successes = 0;
    int failures = 0;
  };
  Bucket& CurrentBucket(TimePoint now);
  std::int64_t Epoch(TimePoint now) const;
  void Open(TimePoint now, OpenReason reason, Duration period);
  void Close();
  void MaybeHalfOpen(TimePoint now);

  BreakerOptions options_;
  Duration bucket_width_;
  BreakerState state_ = BreakerState::kClosed;
  OpenReason reason_ = OpenReason::kNone;
  TimePoint open_until_{};
  Duration cool_down_;
  int consecutive_ = 0;
  int probes_in_flight_ = 0;
  int probe_successes_ = 0;
  std::uint64_t transitions_ = 0;
  std::array<Bucket, kMaxBuckets> buckets_{};
};

}  // namespace meridian::route
