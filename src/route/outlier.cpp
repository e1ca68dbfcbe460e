#include "route/outlier.hpp"

#include <algorithm>
#include <cmath>

namespace meridian::route {

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

}  // namespace

std::vector<OutlierKind> DetectOutliers(std::span<const OutlierInput> pool, const OutlierOptions& options) {
  std::vector<OutlierKind> verdict(pool.size(), OutlierKind::kNone);
  std::vector<double> latencies, errors;
  std::size_t already_out = 0;
  for (const auto& m : pool) {
    if (m.ejected) {
      ++already_out;
      continue;
    }
    if (m.samples < options.min_samples) continue;
    latencies.push_back(m.latency_ms);
    errors.push_back(m.error_rate);
  }
  if (latencies.size() < std::max<std::size_t>(options.min_pool, 1)) return verdict;
  double median_latency = Median(latencies);
  double median_error = Median(errors);

  struct Found {
    std::size_t index;
    OutlierKind kind;
    double badness;
  };
  std::vector<Found> found;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    const auto& m = pool[i];
    if (m.ejected || m.samples < options.min_samples) continue;
    if (m.error_rate - median_error >= options.error_rate_gap) {
      found.push_back({i, OutlierKind::kErrorRate, m.error_rate - median_error});
    } else if (m.latency_ms > options.latency_factor * median_latency &&
               m.latency_ms - median_latency >= options.min_latency_gap_ms) {
      found.push_back({i, OutlierKind::kLatency, median_latency > 0 ? m.latency_ms / median_latency : m.latency_ms});
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    if (a.kind != b.kind) return a.kind == OutlierKind::kErrorRate;
    return a.badness > b.badness;
  });
  auto cap = static_cast<std::size_t>(std::floor(options.max_ejected_fraction * static_cast<double>(pool.size())));
  std::size_t room = cap > already_out ? cap - already_out : 0;
  for (std::size_t k = 0; k < found.size() && k < room; ++k) verdict[found[k].index] = found[k].kind;
  return verdict;
}

}  // namespace meridian::route
