#include "limits/counters.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "limits/limits.hpp"

namespace meridian::limits {

namespace {

using Int128 = __int128;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t Clamp128(Int128 v) {
  if (v > std::numeric_limits<std::int64_t>::max()) return std::numeric_limits<std::int64_t>::max();
  if (v < std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(v);
}

std::chrono::year_month_day CivilDay(std::int64_t unix_us) {
  return std::chrono::year_month_day{
      std::chrono::sys_days{std::chrono::days{UtcDayIndex(unix_us)}}};
}

// Debt floor: a bucket never owes more than this many units (keeps Give's sums in range).
constexpr std::int64_t kMinLevel = std::numeric_limits<std::int64_t>::min() / 4;

}  // namespace

std::int64_t UtcDayIndex(std::int64_t unix_us) { return FloorDiv(unix_us, kMicrosPerDay); }

std::int64_t UtcMonthIndex(std::int64_t unix_us) {
  // The civil conversion is the costly part of a reservation's window checks; a thread sees
  // the same day again and again.
  thread_local std::int64_t cached_day = INT64_MIN;
  thread_local std::int64_t cached_month = 0;
  const std::int64_t day_index = UtcDayIndex(unix_us);
  if (day_index == cached_day) return cached_month;
  const auto ymd = CivilDay(unix_us);
  cached_month = static_cast<std::int64_t>(static_cast<int>(ymd.year())) * 12 +
                 static_cast<unsigned>(ymd.month()) - 1;
  cached_day = day_index;
  return cached_month;
}

std::int64_t UtcDayEnd(std::int64_t unix_us) {
  return (UtcDayIndex(unix_us) + 1) * kMicrosPerDay;
}

std::int64_t UtcMonthEnd(std::int64_t unix_us) {
  using namespace std::chrono;
  const auto ymd = CivilDay(unix_us);
  const year_month next = year_month{ymd.year(), ymd.month()} + months{1};
  const sys_days first{next / day{1}};
  return static_cast<std::int64_t>(first.time_since_epoch().count()) * kMicrosPerDay;
}

void TokenBucket::Reset(std::int64_t per_minute) {
  per_minute_ = std::clamp<std::int64_t>(per_minute, 0, kMaxPerMinute);
  capacity_ = per_minute_ * kMicrosPerMinute;
  level_ = capacity_;
  last_us_ = kNotStarted;
}

void TokenBucket::Resize(std::int64_t per_minute) {
  per_minute_ = std::clamp<std::int64_t>(per_minute, 0, kMaxPerMinute);
  capacity_ = per_minute_ * kMicrosPerMinute;
  level_ = std::min(level_, capacity_);
}

void TokenBucket::Refill(std::int64_t now_us) {
  if (last_us_ == kNotStarted) {
    last_us_ = now_us;
    return;
  }
  if (now_us <= last_us_) return;
  const Int128 add = static_cast<Int128>(per_minute_) * (static_cast<Int128>(now_us) - last_us_);
  level_ = static_cast<std::int64_t>(std::min<Int128>(capacity_, level_ + add));
  last_us_ = now_us;
}

bool TokenBucket::CanTake(std::int64_t n) const {
  return static_cast<Int128>(n) * kMicrosPerMinute <= level_;
}

bool TokenBucket::NeverFits(std::int64_t n) const {
  return static_cast<Int128>(n) * kMicrosPerMinute > capacity_;
}

void TokenBucket::Take(std::int64_t n) { Give(-n); }

void TokenBucket::Give(std::int64_t n) {
  const Int128 level = static_cast<Int128>(level_) + static_cast<Int128>(n) * kMicrosPerMinute;
  level_ = static_cast<std::int64_t>(std::clamp<Int128>(level, kMinLevel, capacity_));
}

std::int64_t TokenBucket::RetryAfterSeconds(std::int64_t n) const {
  if (per_minute_ <= 0) return 60;
  const Int128 deficit = static_cast<Int128>(n) * kMicrosPerMinute - level_;
  if (deficit <= 0) return 1;
  // The bucket gains per_minute × 1,000,000 units per second.
  const Int128 rate = static_cast<Int128>(per_minute_) * kMicrosPerSecond;
  const Int128 seconds = (deficit + rate - 1) / rate;
  return std::max<std::int64_t>(1, Clamp128(seconds));
}

std::int64_t TokenBucket::Available() const { return FloorDiv(level_, kMicrosPerMinute); }

}  // namespace meridian::limits
