#include "route/breaker.hpp"

#include <algorithm>

namespace meridian::route {

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "unknown";
}

std::string_view OpenReasonName(OpenReason reason) {
  switch (reason) {
    case OpenReason::kNone: return "none";
    case OpenReason::kConsecutiveFailures: return "consecutive_failures";
    case OpenReason::kErrorRate: return "error_rate";
    case OpenReason::kProbeFailed: return "probe_failed";
    case OpenReason::kOutlier: return "outlier";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(const BreakerOptions& options) : options_(options) {
  options_.window_buckets = std::clamp(options_.window_buckets, 1, kMaxBuckets);
  options_.half_open_probes = std::max(options_.half_open_probes, 1);
  options_.successes_to_close = std::max(options_.successes_to_close, 1);
  if (options_.backoff_multiplier < 1.0) options_.backoff_multiplier = 1.0;
  if (options_.max_cool_down < options_.cool_down) options_.max_cool_down = options_.cool_down;
  bucket_width_ = std::max(Duration(1), options_.window / options_.window_buckets);
  cool_down_ = options_.cool_down;
}

std::int64_t CircuitBreaker::Epoch(TimePoint now) const {
  return now.time_since_epoch().count() / bucket_width_.count();
}

CircuitBreaker::Bucket& CircuitBreaker::CurrentBucket(TimePoint now) {
  std::int64_t epoch = Epoch(now);
  Bucket& b = buckets_[static_cast<std::size_t>(((epoch % options_.window_buckets) + options_.window_buckets) %
                                                options_.window_buckets)];
  if (b.epoch != epoch) b = Bucket{epoch, 0, 0};
  return b;
}

int CircuitBreaker::window_successes(TimePoint now) const {
  std::int64_t epoch = Epoch(now);
  int n = 0;
  for (int i = 0; i < options_.window_buckets; ++i) {
    const Bucket& b = buckets_[static_cast<std::size_t>(i)];
    if (b.epoch > epoch - options_.window_buckets && b.epoch <= epoch) n += b.successes;
  }
  return n;
}

int CircuitBreaker::window_failures(TimePoint now) const {
  std::int64_t epoch = Epoch(now);
  int n = 0;
  for (int i = 0; i < options_.window_buckets; ++i) {
    const Bucket& b = buckets_[static_cast<std::size_t>(i)];
    if (b.epoch > epoch - options_.window_buckets && b.epoch <= epoch) n += b.failures;
  }
  return n;
}

void CircuitBreaker::Open(TimePoint now, OpenReason reason, Duration period) {
  if (state_ != BreakerState::kOpen) ++transitions_;
  state_ = BreakerState::kOpen;
  reason_ = reason;
  open_until_ = now + period;
  probes_in_flight_ = 0;
  probe_successes_ = 0;
}

void CircuitBreaker::Close() {
  if (state_ != BreakerState::kClosed) ++transitions_;
  state_ = BreakerState::kClosed;
  cool_down_ = options_.cool_down;
  consecutive_ = 0;
  probes_in_flight_ = 0;
  probe_successes_ = 0;
  buckets_.fill(Bucket{});  // a fresh start: old failures do not count against the recovered backend
}

void CircuitBreaker::MaybeHalfOpen(TimePoint now) {
  if (state_ == BreakerState::kOpen && now >= open_until_) {
    state_ = BreakerState::kHalfOpen;
    ++transitions_;
    probes_in_flight_ = 0;
    probe_successes_ = 0;
  }
}

Admission CircuitBreaker::Acquire(TimePoint now) {
  MaybeHalfOpen(now);
  switch (state_) {
    case BreakerState::kClosed: return Admission::kAdmitted;
    case BreakerState::kOpen: return Admission::kRejected;
    case BreakerState::kHalfOpen:
      if (probes_in_flight_ >= options_.half_open_probes) return Admission::kRejected;
      ++probes_in_flight_;
      return Admission::kProbe;
  }
  return Admission::kRejected;
}

void CircuitBreaker::OnSuccess(Admission admission, TimePoint now) {
  if (admission == Admission::kAdmitted && state_ == BreakerState::kClosed) {
    consecutive_ = 0;
    ++CurrentBucket(now).successes;
  } else if (admission == Admission::kProbe && state_ == BreakerState::kHalfOpen) {
    if (probes_in_flight_ > 0) --probes_in_flight_;
    if (++probe_successes_ >= options_.successes_to_close) Close();
  }
}

void CircuitBreaker::OnFailure(Admission admission, TimePoint now) {
  if (admission == Admission::kAdmitted && state_ == BreakerState::kClosed) {
    ++consecutive_;
    ++CurrentBucket(now).failures;
    if (options_.consecutive_failures > 0 && consecutive_ >= options_.consecutive_failures) {
      Open(now, OpenReason::kConsecutiveFailures, cool_down_);
      return;
    }
    if (options_.error_rate < 1.0) {
      int f = window_failures(now), s = window_successes(now);
      if (f + s >= options_.min_window_outcomes &&
          static_cast<double>(f) > options_.error_rate * static_cast<double>(f + s)) {
        Open(now, OpenReason::kErrorRate, cool_down_);
      }
    }
  } else if (admission == Admission::kProbe && state_ == BreakerState::kHalfOpen) {
    auto next = std::chrono::duration_cast<Duration>(
        std::chrono::duration<double, std::nano>(static_cast<double>(cool_down_.count()) * options_.backoff_multiplier));
    cool_down_ = std::min(next, options_.max_cool_down);
    Open(now, OpenReason::kProbeFailed, cool_down_);
  }
}

void CircuitBreaker::OnRelease(Admission admission) {
  if (admission == Admission::kProbe && state_ == BreakerState::kHalfOpen && probes_in_flight_ > 0) {
    --probes_in_flight_;
  }
}

void CircuitBreaker::Eject(TimePoint now, Duration duration) {
  if (state_ == BreakerState::kOpen && open_until_ >= now + duration) return;
  Open(now, OpenReason::kOutlier, duration);
}

BreakerState CircuitBreaker::state(TimePoint now) const {
  if (state_ == BreakerState::kOpen && now >= open_until_) return BreakerState::kHalfOpen;
  return state_;
}

Health CircuitBreaker::health(TimePoint now) const {
  switch (state(now)) {
    case BreakerState::kClosed: return Health::kHealthy;
    case BreakerState::kOpen: return Health::kOpen;
    case BreakerState::kHalfOpen: {
      int in_flight = state_ == BreakerState::kHalfOpen ? probes_in_flight_ : 0;
      return in_flight < options_.half_open_probes ? Health::kHalfOpen : Health::kOpen;
    }
  }
  return Health::kOpen;
}

}  // namespace meridian::route
