#pragma once
// Live statistics of one backend×model (docs/routing.md, "Live stats"): EWMAs of total latency,
// time to first token, output tokens per second and error rate; the in-flight count; the
// provider's rate-limit headroom; the circuit breaker. And StatsTable, which owns one LiveStats
// per (backend id, model) and runs outlier ejection over a model's pool.
//
// Thread safety and cost. Every method of LiveStats is thread-safe. The in-flight count is a
// relaxed atomic (Begin/End touch it, least-busy reads it); everything else sits behind one
// small std::mutex per LiveStats, because an update moves several fields together (four EWMAs,
// the breaker's counters and window, the TTFT ring) and lock-free versions of that would be CAS
// loops per field with no consistent view. Uncontended, a lock/unlock pair is ~20 ns; an attempt
// takes it twice (Begin, End) and building a Candidate once (View). Contention is per
// backend×model, not global. The gateway is expected to cache the LiveStats& (stable for the
// table's life) instead of looking it up per request.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "route/breaker.hpp"
#include "route/common.hpp"
#include "route/outlier.hpp"
#include "route/ratelimit.hpp"

namespace meridian::route {

// Exponentially weighted moving average; the first sample is taken as is. Not thread-safe.
class Ewma {
 public:
  explicit Ewma(double alpha = 0.2) : alpha_(alpha) {}
  void Add(double sample) {
    value_ = count_ == 0 ? sample : value_ + alpha_ * (sample - value_);
    ++count_;
  }
  double value() const { return value_; }
  std::uint32_t count() const { return count_; }

 private:
  double alpha_;
  double value_ = 0;
  std::uint32_t count_ = 0;
};

struct StatsOptions {
  double alpha = 0.2;  // weight of the newest sample in every EWMA
  BreakerOptions breaker;
};

// How one attempt ended, as the stats see it.
struct AttemptReport {
  enum class Verdict : std::uint8_t {
    kSuccess,  // the backend answered (2xx, or a 4xx that is the client's fault: see CountsAgainstBackend)
    kFailure,  // connect failure, timeout, reset, 5xx, 529
    kNeutral,  // no verdict: the client left, a 429 (headroom says it), cancelled hedge
  };
  Verdict verdict = Verdict::kSuccess;
  std::optional<Duration> ttft;  // request sent → first response byte (stream: first token event)
  Duration total{0};             // request sent → end
  std::int64_t output_tokens = 0;
};

// A consistent copy of one LiveStats at one instant: what Route() reads (route::Candidate).
struct StatsView {
  double latency_ms = 0;    // EWMA of total latency of successful attempts
  double ttft_ms = 0;       // EWMA of time to first token
  double tokens_per_s = 0;  // EWMA of output tokens / (total − ttft); 0 = unknown
  double error_rate = 0;    // EWMA of failure (1) vs success (0)
  std::int32_t in_flight = 0;
  std::uint32_t samples = 0;       // latency samples so far (0: cold, nothing known)
  std::uint32_t ttft_samples = 0;
  Health health = Health::kHealthy;
  BreakerState breaker = BreakerState::kClosed;
  std::optional<std::int64_t> remaining_tokens;  // provider's token headroom, while its reset lies ahead
  std::optional<double> headroom;                // RateLimit::Headroom of the last response that said
};

class LiveStats {
 public:
  static constexpr std::size_t kTtftRing = 64;  // TTFT samples kept for quantiles

  explicit LiveStats(const StatsOptions& options = {});

  // Starts an attempt: asks the breaker (kRejected: do not send, nothing changed). With
  // `last_resort`, a refusal becomes kForced and the attempt is sent anyway. Any other result
  // counts one in flight until End.
  Admission Begin(TimePoint now, bool last_resort = false);
  // Ends an attempt Begin admitted (kRejected: no-op): in-flight − 1, EWMAs, breaker.
  void End(Admission admission, const AttemptReport& report, TimePoint now);
  // Records what a response's headers said (ParseRateLimit). Remaining requests or tokens of 0
  // make the backend kRateLimited until the matching reset; a retry-after, until it passes.
  void ObserveRateLimit(const RateLimit& limit, TimePoint now);
  // Marks the backend rate-limited until now + `for_how_long` (e.g. a 429's retry-after).
  void BlockUntil(TimePoint until);
  // Outlier ejection: opens the breaker for base × (ejections so far + 1), capped; returns that.
  Duration Eject(TimePoint now, const OutlierOptions& options);

  StatsView View(TimePoint now) const;
  // The p-quantile (0..1) of the last kTtftRing TTFTs (nearest rank); nullopt with fewer than
  // `min_samples` of them.
  std::optional<Duration> TtftQuantile(double p, std::size_t min_samples = 8) const;
  std::int32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::uint32_t ejections() const;
  // A copy of the breaker (for tests, metrics, the admin API).
  CircuitBreaker breaker() const;

 private:
  mutable std::mutex mu_;
  std::atomic<std::int32_t> in_flight_{0};
  CircuitBreaker breaker_;
  Ewma latency_, ttft_, tokens_per_s_, errors_;
  std::array<std::int64_t, kTtftRing> ttft_ring_{};  // nanoseconds
  std::size_t ttft_next_ = 0, ttft_count_ = 0;
  TimePoint blocked_until_{};  // rate-limited until then
  std::optional<std::int64_t> remaining_tokens_;
  TimePoint remaining_tokens_until_{};
  std::optional<double> headroom_;
  std::uint32_t ejections_ = 0;
};

// LiveStats per (backend id, model). Thread-safe: lookups take a shared lock, creation an
// exclusive one. References stay valid for the table's life (entries are never removed), so a
// table may outlive configuration snapshots and keep what it learnt across reloads.
class StatsTable {
 public:
  explicit StatsTable(const StatsOptions& options = {}) : options_(options) {}

  // The entry for (backend, model), created on first use.
  LiveStats& Get(std::string_view backend, std::string_view model);
  // The entry, or null when never created.
  LiveStats* Find(std::string_view backend, std::string_view model) const;
  // Visits every entry (order: backend, then model).
  void ForEach(const std::function<void(std::string_view backend, std::string_view model, LiveStats&)>& visit) const;
  // Outlier ejection over the entries serving `model`: DetectOutliers on their views, Eject for
  // each verdict. Returns the ejected backends' ids. Call it periodically (e.g. every 10 s).
  std::vector<std::string> SweepOutliers(std::string_view model, TimePoint now, const OutlierOptions& options);

 private:
  struct Less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::pair<std::string_view, std::string_view>(a.first, a.second) <
             std::pair<std::string_view, std::string_view>(b.first, b.second);
    }
  };
  StatsOptions options_;
  mutable std::shared_mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<LiveStats>, Less> entries_;
};

}  // namespace meridian::route
