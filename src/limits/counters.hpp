#pragma once
// The arithmetic of one scope's counters, kept apart from locking and lookup so that it can be
// tested exactly: a token bucket in integer units (no drift, no rounding beyond the
// documented floor/ceil) and UTC calendar windows. Pure; not thread-safe (the store locks).

#include <cstdint>
#include <optional>

namespace meridian::limits {

inline constexpr std::int64_t kMicrosPerSecond = 1'000'000;
inline constexpr std::int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Microseconds since the Unix epoch → UTC day number (floor; negative before 1970).
std::int64_t UtcDayIndex(std::int64_t unix_us);
// → UTC month number: year × 12 + (month − 1).
std::int64_t UtcMonthIndex(std::int64_t unix_us);
// Unix microseconds at which the UTC day / month containing `unix_us` ends.
std::int64_t UtcDayEnd(std::int64_t unix_us);
std::int64_t UtcMonthEnd(std::int64_t unix_us);

// A token bucket of capacity `per_minute` that refills at `per_minute` per 60 s, continuously.
// The level is kept in units of 1/60,000,000 token (one token = kMicrosPerMinute units), so a
// refill over `d` µs adds exactly per_minute × d units: no rounding and no drift however the
// time is sliced. The level may go negative (debt) when usage settles above what was taken.
class TokenBucket {
 public:
  // A full bucket; `per_minute` is clamped to [0, kMaxPerMinute]. Its clock starts at the
  // first Refill.
  void Reset(std::int64_t per_minute);
  // New capacity; keeps the level (clamped to the new capacity).
  void Resize(std::int64_t per_minute);

  // Adds what elapsed since the last refill (time that goes backwards adds nothing).
  void Refill(std::int64_t now_us);
  // After Refill: whether `n` whole tokens are available; never takes a partial amount.
  bool CanTake(std::int64_t n) const;
  // `n` exceeds the capacity: no wait makes it fit.
  bool NeverFits(std::int64_t n) const;
  void Take(std::int64_t n);
  // Gives back `n` tokens (negative `n` takes more, without a check: settle above the
  // reservation). Capped at the capacity.
  void Give(std::int64_t n);
  // After Refill and a failed CanTake(n): whole seconds until it would succeed (≥ 1).
  std::int64_t RetryAfterSeconds(std::int64_t n) const;
  // Whole tokens available (floor; negative in debt).
  std::int64_t Available() const;
  std::int64_t per_minute() const { return per_minute_; }

 private:
  std::int64_t per_minute_ = 0;
  std::int64_t capacity_ = 0;  // per_minute × kMicrosPerMinute
  std::int64_t level_ = 0;     // units
  std::int64_t last_us_ = kNotStarted;
  static constexpr std::int64_t kNotStarted = INT64_MIN;
};

// A budget over calendar windows: money spent in the current window. Reservations in flight
// are kept by the scope (one count for day and month), not per window.
struct WindowCounter {
  std::int64_t window = INT64_MIN;  // index of the window `spent` belongs to
  std::int64_t spent = 0;
  // Moves to `window_now` if it is later (spent restarts at 0); an earlier window (the clock
  // went back) keeps the current one.
  void Roll(std::int64_t window_now) {
    if (window_now > window) {
      window = window_now;
      spent = 0;
    }
  }
};

// a + b, saturating at the int64 range.
inline std::int64_t SatAdd(std::int64_t a, std::int64_t b) {
  std::int64_t out;
  if (!__builtin_add_overflow(a, b, &out)) return out;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

}  // namespace meridian::limits
