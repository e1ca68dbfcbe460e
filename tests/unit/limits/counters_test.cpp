#include "limits/counters.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "limits/limits.hpp"

namespace meridian::limits {
namespace {

using namespace std::chrono;  // NOLINT

std::int64_t Us(sys_days day, hours h = hours{0}, minutes m = minutes{0}, seconds s = seconds{0}) {
  return duration_cast<microseconds>((day + h + m + s).time_since_epoch()).count();
}

TEST(Windows, UtcDayAndMonthBoundaries) {
  const std::int64_t noon = Us(sys_days{2025y / March / 15}, hours{12});
  EXPECT_EQ(UtcDayEnd(noon), Us(sys_days{2025y / March / 16}));
  EXPECT_EQ(UtcMonthEnd(noon), Us(sys_days{2025y / April / 1}));
  EXPECT_EQ(UtcMonthEnd(Us(sys_days{2025y / December / 31}, hours{23})), Us(sys_days{2026y / January / 1}));
  EXPECT_EQ(UtcMonthEnd(Us(sys_days{2024y / February / 29})), Us(sys_days{2024y / March / 1}));
  // The last microsecond of a day is in that day; the next one starts the next day.
  const std::int64_t midnight = Us(sys_days{2025y / April / 1});
  EXPECT_EQ(UtcDayIndex(midnight - 1) + 1, UtcDayIndex(midnight));
  EXPECT_EQ(UtcMonthIndex(midnight - 1) + 1, UtcMonthIndex(midnight));
  EXPECT_EQ(UtcMonthIndex(midnight), 2025 * 12 + 3);
  // Before 1970: floor, not truncation.
  EXPECT_EQ(UtcDayIndex(-1), -1);
  EXPECT_EQ(UtcDayEnd(-1), 0);
}

TEST(WindowCounter, RollsForwardOnly) {
  WindowCounter w;
  w.Roll(10);
  w.spent = 5;
  w.Roll(10);
  EXPECT_EQ(w.spent, 5);
  w.Roll(9);  // the clock went back: keep the window
  EXPECT_EQ(w.spent, 5);
  EXPECT_EQ(w.window, 10);
  w.Roll(11);
  EXPECT_EQ(w.spent, 0);
  EXPECT_EQ(w.window, 11);
}

TEST(TokenBucket, StartsFullAndRefillsExactly) {
  TokenBucket b;
  b.Reset(60);
  b.Refill(1'000'000);  // starts the clock
  EXPECT_EQ(b.Available(), 60);
  b.Take(60);
  EXPECT_FALSE(b.CanTake(1));
  EXPECT_EQ(b.RetryAfterSeconds(1), 1);
  EXPECT_EQ(b.RetryAfterSeconds(30), 30);
  b.Refill(1'000'000 + 999'999);
  EXPECT_FALSE(b.CanTake(1));
  b.Refill(2'000'000);
  EXPECT_TRUE(b.CanTake(1));
  EXPECT_FALSE(b.CanTake(2));
  // Time going backwards adds nothing and does not move the clock back.
  b.Refill(0);
  EXPECT_EQ(b.Available(), 1);
}

// 7 per minute refilled in odd slices: the total admitted is exactly 7 + floor(7 × t / 60 s).
TEST(TokenBucket, NoDriftOverManySlices) {
  TokenBucket b;
  b.Reset(7);
  std::int64_t t = 0;
  b.Refill(t);
  std::int64_t taken = 0;
  for (int i = 0; i < 5000; ++i) {
    t += 123'457 + (i % 13) * 1'001;
    b.Refill(t);
    while (b.CanTake(1)) {
      b.Take(1);
      ++taken;
    }
  }
  EXPECT_EQ(taken, 7 + static_cast<std::int64_t>(static_cast<__int128>(7) * t / kMicrosPerMinute));
}

TEST(TokenBucket, DebtAndCapacity) {
  TokenBucket b;
  b.Reset(100);
  b.Refill(0);
  EXPECT_TRUE(b.NeverFits(101));
  EXPECT_FALSE(b.NeverFits(100));
  b.Give(50);  // capped at the capacity
  EXPECT_EQ(b.Available(), 100);
  b.Give(-150);  // settle above what was taken: debt
  EXPECT_EQ(b.Available(), -50);
  EXPECT_FALSE(b.CanTake(1));
  EXPECT_EQ(b.RetryAfterSeconds(1), 31);  // 51 tokens at 100/min = 30.6 s
  b.Refill(30 * kMicrosPerSecond);
  EXPECT_EQ(b.Available(), 0);
  b.Resize(10);  // smaller capacity clamps nothing here (level 0 ≤ 10)
  EXPECT_EQ(b.per_minute(), 10);
  b.Refill(600 * kMicrosPerSecond);
  EXPECT_EQ(b.Available(), 10);
  b.Resize(5);
  EXPECT_EQ(b.Available(), 5);
}

TEST(TokenBucket, ZeroAndHugeLimits) {
  TokenBucket zero;
  zero.Reset(0);
  zero.Refill(0);
  EXPECT_TRUE(zero.NeverFits(1));
  EXPECT_TRUE(zero.CanTake(0));
  TokenBucket huge;
  huge.Reset(INT64_MAX);  // clamped to kMaxPerMinute
  EXPECT_EQ(huge.per_minute(), kMaxPerMinute);
  huge.Refill(0);
  EXPECT_TRUE(huge.CanTake(kMaxPerMinute));
  EXPECT_TRUE(huge.NeverFits(INT64_MAX));
  huge.Take(kMaxPerMinute);
  huge.Refill(INT64_MAX);  // no overflow
  EXPECT_EQ(huge.Available(), kMaxPerMinute);
}

TEST(SatAdd, Saturates) {
  EXPECT_EQ(SatAdd(INT64_MAX, 1), INT64_MAX);
  EXPECT_EQ(SatAdd(INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(SatAdd(2, 3), 5);
}

}  // namespace
}  // namespace meridian::limits
