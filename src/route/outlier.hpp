#pragma once
// Outlier ejection (docs/routing.md, "Outlier ejection"): which members of a pool (the backends
// serving one model) are far from the rest, by latency or by error rate. Pure; thread-safe.
// StatsTable::SweepOutliers applies the verdicts (CircuitBreaker::Eject).

#include <cstdint>
#include <span>
#include <vector>

#include "route/common.hpp"

namespace meridian::route {

struct OutlierOptions {
  std::uint32_t min_samples = 20;      // a member with fewer latency samples is neither judged nor a reference
  std::size_t min_pool = 3;            // fewer qualifying members: nobody is an outlier
  double latency_factor = 3.0;         // latency above factor × the pool's median ...
  double min_latency_gap_ms = 50.0;    // ... and at least this much above it
  double error_rate_gap = 0.3;         // error rate at least this much above the pool's median
  double max_ejected_fraction = 0.5;   // never more than this share of the pool out at once
  Duration base_ejection = std::chrono::seconds(30);   // × (times ejected before + 1)
  Duration max_ejection = std::chrono::seconds(300);
};

struct OutlierInput {
  double latency_ms = 0;    // EWMA of total latency
  double error_rate = 0;    // EWMA of failures, 0..1
  std::uint32_t samples = 0;
  bool ejected = false;     // already out (breaker not closed): counts toward the cap, not judged
};

enum class OutlierKind : std::uint8_t { kNone, kErrorRate, kLatency };

// One verdict per input, index-aligned. Error-rate outliers are ejected before latency ones,
// each worst first, until the cap (floor(max_ejected_fraction × pool size) members out,
// counting those already ejected) is reached.
std::vector<OutlierKind> DetectOutliers(std::span<const OutlierInput> pool, const OutlierOptions& options);

}  // namespace meridian::route
