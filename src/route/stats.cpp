#include "route/stats.hpp"

#include <algorithm>
#include <cmath>

namespace meridian::route {

LiveStats::LiveStats(const StatsOptions& options)
    : breaker_(options.breaker),
      latency_(options.alpha),
      ttft_(options.alpha),
      tokens_per_s_(options.alpha),
      errors_(options.alpha) {}

Admission LiveStats::Begin(TimePoint now, bool last_resort) {
  Admission a;
  {
    std::lock_guard lock(mu_);
    a = breaker_.Acquire(now);
  }
  if (a == Admission::kRejected && last_resort) a = Admission::kForced;
  if (a != Admission::kRejected) in_flight_.fetch_add(1, std::memory_order_relaxed);
  return a;
}

void LiveStats::End(Admission admission, const AttemptReport& report, TimePoint now) {
  if (admission == Admission::kRejected) return;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  using V = AttemptReport::Verdict;
  if (report.ttft && report.ttft->count() >= 0) {
    ttft_.Add(ToMillis(*report.ttft));
    ttft_ring_[ttft_next_] = report.ttft->count();
    ttft_next_ = (ttft_next_ + 1) % kTtftRing;
    ttft_count_ = std::min(ttft_count_ + 1, kTtftRing);
  }
  switch (report.verdict) {
    case V::kSuccess:
      latency_.Add(ToMillis(report.total));
      errors_.Add(0.0);
      if (report.output_tokens > 0 && report.ttft && report.total > *report.ttft) {
        double gen_s = std::chrono::duration<double>(report.total - *report.ttft).count();
        tokens_per_s_.Add(static_cast<double>(report.output_tokens) / gen_s);
      }
      breaker_.OnSuccess(admission, now);
      break;
    case V::kFailure:
      errors_.Add(1.0);
      breaker_.OnFailure(admission, now);
      break;
    case V::kNeutral:
      breaker_.OnRelease(admission);
      break;
  }
}

void LiveStats::ObserveRateLimit(const RateLimit& limit, TimePoint now) {
  std::lock_guard lock(mu_);
  if (auto h = limit.Headroom()) headroom_ = h;
  auto block = [&](Duration d) { blocked_until_ = std::max(blocked_until_, now + d); };
  if (limit.remaining_requests && *limit.remaining_requests == 0 && limit.reset_requests) block(*limit.reset_requests);
  if (limit.remaining_tokens && *limit.remaining_tokens == 0 && limit.reset_tokens) block(*limit.reset_tokens);
  if (limit.retry_after) block(*limit.retry_after);
  if (limit.remaining_tokens) {
    remaining_tokens_ = limit.remaining_tokens;
    // Without a reset time, trust the figure for one second.
    remaining_tokens_until_ = now + (limit.reset_tokens ? *limit.reset_tokens : Duration(std::chrono::seconds(1)));
  }
}

void LiveStats::BlockUntil(TimePoint until) {
  std::lock_guard lock(mu_);
  blocked_until_ = std::max(blocked_until_, until);
}

Duration LiveStats::Eject(TimePoint now, const OutlierOptions& options) {
  std::lock_guard lock(mu_);
  Duration d = options.base_ejection * static_cast<std::int64_t>(ejections_ + 1);
  d = std::min(d, options.max_ejection);
  ++ejections_;
  breaker_.Eject(now, d);
  return d;
}

StatsView LiveStats::View(TimePoint now) const {
  StatsView v;
  v.in_flight = in_flight_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  v.latency_ms = latency_.value();
  v.ttft_ms = ttft_.value();
  v.tokens_per_s = tokens_per_s_.value();
  v.error_rate = errors_.value();
  v.samples = latency_.count();
  v.ttft_samples = ttft_.count();
  v.breaker = breaker_.state(now);
  v.health = breaker_.health(now);
  if (v.health == Health::kHealthy && now < blocked_until_) v.health = Health::kRateLimited;
  if (remaining_tokens_ && now < remaining_tokens_until_) v.remaining_tokens = remaining_tokens_;
  v.headroom = headroom_;
  return v;
}

std::optional<Duration> LiveStats::TtftQuantile(double p, std::size_t min_samples) const {
  std::array<std::int64_t, kTtftRing> copy;
  std::size_t n;
  {
    std::lock_guard lock(mu_);
    n = ttft_count_;
    std::copy_n(ttft_ring_.begin(), n, copy.begin());  // the first n slots are the filled ones
  }
  if (n == 0 || n < min_samples) return std::nullopt;
  p = std::clamp(p, 0.0, 1.0);
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(n)));
  std::size_t k = rank == 0 ? 0 : rank - 1;
  std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k), copy.begin() + static_cast<std::ptrdiff_t>(n));
  return Duration(copy[k]);
}

std::uint32_t LiveStats::ejections() const {
  std::lock_guard lock(mu_);
  return ejections_;
}

CircuitBreaker LiveStats::breaker() const {
  std::lock_guard lock(mu_);
  return breaker_;
}

LiveStats& StatsTable::Get(std::string_view backend, std::string_view model) {
  std::pair<std::string_view, std::string_view> key{backend, model};
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) return *it->second;
  auto [ins, _] = entries_.emplace(std::pair<std::string, std::string>(backend, model),
                                   std::make_unique<LiveStats>(options_));
  return *ins->second;
}

LiveStats* StatsTable::Find(std::string_view backend, std::string_view model) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(std::pair<std::string_view, std::string_view>{backend, model});
  return it == entries_.end() ? nullptr : it->second.get();
}

void StatsTable::ForEach(
    const std::function<void(std::string_view backend, std::string_view model, LiveStats&)>& visit) const {
  std::shared_lock lock(mu_);
  for (const auto& [key, stats] : entries_) visit(key.first, key.second, *stats);
}

std::vector<std::string> StatsTable::SweepOutliers(std::string_view model, TimePoint now,
                                                   const OutlierOptions& options) {
  std::vector<std::pair<std::string, LiveStats*>> pool;
  {
    std::shared_lock lock(mu_);
    for (const auto& [key, stats] : entries_) {
      if (key.second == model) pool.emplace_back(key.first, stats.get());
    }
  }
  std::vector<OutlierInput> inputs;
  inputs.reserve(pool.size());
  for (const auto& [id, stats] : pool) {
    StatsView v = stats->View(now);
    inputs.push_back({v.latency_ms, v.error_rate, v.samples, v.breaker != BreakerState::kClosed});
  }
  std::vector<OutlierKind> verdicts = DetectOutliers(inputs, options);
  std::vector<std::string> ejected;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (verdicts[i] == OutlierKind::kNone) continue;
    pool[i].second->Eject(now, options);
    ejected.push_back(pool[i].first);
  }
  return ejected;
}

}  // namespace meridian::route
