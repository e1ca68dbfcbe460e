#pragma once
// Vocabulary shared by the routing module (docs/routing.md): the clocks, the deterministic
// random number generator strategies draw from, and a candidate's health tier.
//
// Time is always passed in, never read: every function and method that needs "now" takes it
// as a parameter (the gateway passes Clock::now(), tests pass fixed points). That is the
// injected clock; nothing in src/route/ calls now() itself.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace meridian::route {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;
// Wall clock, only to read absolute times from headers (HTTP dates, RFC 3339 timestamps).
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

using Millis = std::chrono::duration<double, std::milli>;

inline double ToMillis(Duration d) { return std::chrono::duration_cast<Millis>(d).count(); }

// SplitMix64: tiny, fast and fully determined by its seed, so a test that seeds it knows every
// draw. Not for anything secret. Not thread-safe: one per thread or per request.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0x9E3779B97F4A7C15ull) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); n > 0. (Lemire's multiply-shift; the bias is below 2^-32 for n < 2^32.)
  std::uint32_t Below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  std::uint64_t state_;
};

// How ready a candidate is to take an attempt, best first. Route() orders tiers this way and
// applies the strategy inside each tier.
enum class Health : std::uint8_t {
  kHealthy = 0,      // breaker closed, rate-limit headroom left (or unknown)
  kHalfOpen = 1,     // breaker half-open with a probe slot free: may take one probe
  kRateLimited = 2,  // provider said no headroom until its reset (or a retry-after)
  kOpen = 3,         // breaker open or ejected as an outlier (or half-open with no probe slot)
};

std::string_view HealthName(Health health);

}  // namespace meridian::route
