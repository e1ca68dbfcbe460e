#include "replay/report.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace meridian::replay {

namespace json = boost::json;

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const std::size_t index = rank < 1 ? 0 : std::min(values.size() - 1, static_cast<std::size_t>(rank) - 1);
  return values[index];
}

LatencySummary Summarise(std::vector<double>& values) {
  LatencySummary s;
  if (values.empty()) return s;
  s.p50 = Percentile(values, 50);
  s.p90 = Percentile(values, 90);
  s.p99 = Percentile(values, 99);
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  return s;
}

double Report::savings_share() const {
  return baseline_pico_usd == 0 ? 0.0
                                 : static_cast<double>(savings_pico_usd()) / static_cast<double>(baseline_pico_usd);
}

double Report::strong_share() const {
  return allowed == 0 ? 0.0 : static_cast<double>(strong) / static_cast<double>(allowed);
}

std::string FormatUsd(std::int64_t pico) {
  const bool negative = pico < 0;
  // Micro-USD, rounded half away from zero (1 micro-USD = 10^6 pico-USD).
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(pico) : static_cast<std::uint64_t>(pico);
  const std::uint64_t micro = (magnitude + 500'000) / 1'000'000;
  return fmt::format("{}${}.{:06}", negative ? "-" : "", micro / 1'000'000, micro % 1'000'000);
}

namespace {

std::string Percent(double share) { return fmt::format("{:.1f}%", share * 100.0); }

json::object LatencyJson(const LatencySummary& s) {
  return {{"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"mean", s.mean}};
}

json::object ReuseJson(const route::ReuseCounts& c) {
  json::array per;
  for (auto n : c.per_replica) per.push_back(n);
  return {{"requests", c.requests},
          {"blocks", c.blocks},
          {"reusable_blocks", c.reusable_blocks},
          {"hit_blocks", c.hit_blocks},
          {"prefix_hit_blocks", c.prefix_hit_blocks},
          {"hit_share", c.hit_share()},
          {"prefix_hit_share", c.prefix_hit_share()},
          {"max_in_flight", c.max_in_flight},
          {"per_replica", std::move(per)}};
}

}  // namespace

std::string RenderTable(const Report& r) {
  std::string out;
  auto row = [&](std::string_view name, const std::string& value) { out += fmt::format("  {:<28} {}\n", name, value); };
  out += fmt::format("replay of {} ({}), strategy {}, placement {}, seed {}\n", r.trace_file, r.format, r.strategy,
                     r.placement, r.seed);
  row("requests", fmt::format("{}", r.requests));
  if (r.skipped) row("bad records skipped", fmt::format("{}", r.skipped));
  out += "policy\n";
  row("allowed", fmt::format("{}", r.allowed));
  row("blocked", fmt::format("{}", r.blocked));
  row("no eligible backend", fmt::format("{}", r.no_eligible_backend));
  if (r.redacted) row("allowed with redaction", fmt::format("{}", r.redacted));
  for (const auto& [reason, n] : r.excluded) row(fmt::format("excluded: {}", reason), fmt::format("{}", n));
  out += "routing\n";
  for (const auto& c : r.by_candidate) {
    row(fmt::format("{}/{}", c.backend, c.model),
        fmt::format("{:>8} requests  {}", c.requests, FormatUsd(c.cost_pico_usd)));
  }
  std::string strong_names;
  for (const auto& m : r.strong_models) strong_names += (strong_names.empty() ? "" : ", ") + m;
  row("strong-model share", fmt::format("{} ({} of {}; strong: {})", Percent(r.strong_share()), r.strong, r.allowed,
                                        strong_names.empty() ? "none" : strong_names));
  if (!r.targets.empty()) {
    out += "targets (per alias, in turn)\n";
    for (const auto& t : r.targets) {
      row(t.name == t.model ? t.name : fmt::format("{} -> {}", t.name, t.model),
          fmt::format("{:>8} requests  {} routed  strategy {}", t.requests, t.allowed, t.strategy));
    }
  }
  for (const auto& q : r.quality) {
    out += fmt::format("quality router of {} (weak {}, strong {}, threshold {:.4f})\n", q.alias, q.weak_model,
                       q.strong_model, q.threshold);
    row("scored", fmt::format("{}", q.scored));
    row("sent weak", fmt::format("{}", q.sent_weak));
    row("sent strong", fmt::format("{}", q.sent_strong));
    row("unscored (no text; strong)", fmt::format("{}", q.unscored));
  }
  out += "cost\n";
  row("total", FormatUsd(r.cost_pico_usd));
  row("all to strongest allowed", FormatUsd(r.baseline_pico_usd));
  row("savings", fmt::format("{} ({})", FormatUsd(r.savings_pico_usd()), Percent(r.savings_share())));
  if (r.unpriced) row("unpriced requests", fmt::format("{}", r.unpriced));
  out += "latency (simulated, ms)\n";
  row("ttft p50 / p90 / p99", fmt::format("{:.0f} / {:.0f} / {:.0f}", r.ttft_ms.p50, r.ttft_ms.p90, r.ttft_ms.p99));
  row("total p50 / p90 / p99", fmt::format("{:.0f} / {:.0f} / {:.0f}", r.total_ms.p50, r.total_ms.p90, r.total_ms.p99));
  if (!r.backend_reuse.empty()) {
    out += "prefix reuse on replicas\n";
    row("cached prompt tokens", fmt::format("{}", r.cached_tokens));
    for (const auto& [backend, c] : r.backend_reuse) {
      row(backend, fmt::format("{} of {} reusable blocks hit ({})", c.hit_blocks, c.reusable_blocks, Percent(c.hit_share())));
    }
  }
  if (!r.comparison.empty()) {
    out += fmt::format("prefix reuse, whole trace on {} replicas × {} blocks (key {} blocks, c = {})\n",
                       r.compare_replicas, r.compare_cache_blocks, r.compare_key_blocks, r.compare_load_factor);
    for (const auto& [placement, c] : r.comparison) {
      row(route::PlacementName(placement),
          fmt::format("hit {:>6}  prefix hit {:>6}  ({} of {} reusable blocks; max in flight {})",
                      Percent(c.hit_share()), Percent(c.prefix_hit_share()), c.hit_blocks, c.reusable_blocks,
                      c.max_in_flight));
    }
  }
  return out;
}

json::object ToJson(const Report& r) {
  json::object policy{{"allowed", r.allowed},
                      {"blocked", r.blocked},
                      {"no_eligible_backend", r.no_eligible_backend},
                      {"redacted", r.redacted}};
  json::object excluded;
  for (const auto& [reason, n] : r.excluded) excluded[reason] = n;
  policy["excluded"] = std::move(excluded);

  json::array routed;
  for (const auto& c : r.by_candidate) {
    routed.push_back(json::object{{"backend", c.backend},
                                  {"model", c.model},
                                  {"requests", c.requests},
                                  {"cost_pico_usd", c.cost_pico_usd},
                                  {"cost_usd", static_cast<double>(c.cost_pico_usd) / 1e12}});
  }
  json::array strong_models;
  for (const auto& m : r.strong_models) strong_models.push_back(json::string(m));
  json::array targets;
  for (const auto& t : r.targets) {
    targets.push_back(json::object{{"name", t.name},
                                   {"model", t.model},
                                   {"strategy", t.strategy},
                                   {"requests", t.requests},
                                   {"allowed", t.allowed}});
  }
  json::array quality;
  for (const auto& q : r.quality) {
    quality.push_back(json::object{{"alias", q.alias},
                                   {"strong_model", q.strong_model},
                                   {"weak_model", q.weak_model},
                                   {"threshold", q.threshold},
                                   {"scored", q.scored},
                                   {"sent_weak", q.sent_weak},
                                   {"sent_strong", q.sent_strong},
                                   {"unscored", q.unscored}});
  }

  json::object out{
      {"trace", r.trace_file},
      {"format", r.format},
      {"strategy", r.strategy},
      {"per_alias", r.per_alias},
      {"placement", r.placement},
      {"seed", r.seed},
      {"requests", r.requests},
      {"skipped", r.skipped},
      {"policy", std::move(policy)},
      {"routed", std::move(routed)},
      {"targets", std::move(targets)},
      {"quality", std::move(quality)},
      {"strong_models", std::move(strong_models)},
      {"strong_requests", r.strong},
      {"strong_share", r.strong_share()},
      {"unpriced", r.unpriced},
      {"cost", json::object{{"total_pico_usd", r.cost_pico_usd},
                            {"total_usd", static_cast<double>(r.cost_pico_usd) / 1e12},
                            {"baseline_pico_usd", r.baseline_pico_usd},
                            {"baseline_usd", static_cast<double>(r.baseline_pico_usd) / 1e12},
                            {"savings_pico_usd", r.savings_pico_usd()},
                            {"savings_usd", static_cast<double>(r.savings_pico_usd()) / 1e12},
                            {"savings_share", r.savings_share()}}},
      {"latency_ms", json::object{{"ttft", LatencyJson(r.ttft_ms)}, {"total", LatencyJson(r.total_ms)}}},
  };
  json::array issues;
  for (const auto& i : r.issues) issues.push_back(json::string(i));
  out["issues"] = std::move(issues);

  json::object reuse{{"cached_tokens", r.cached_tokens}};
  json::object per_backend;
  for (const auto& [backend, c] : r.backend_reuse) per_backend[backend] = ReuseJson(c);
  reuse["backends"] = std::move(per_backend);
  if (!r.comparison.empty()) {
    json::object cmp{{"replicas", r.compare_replicas},
                     {"cache_blocks", r.compare_cache_blocks},
                     {"key_blocks", r.compare_key_blocks},
                     {"load_factor", r.compare_load_factor}};
    for (const auto& [placement, c] : r.comparison) cmp[route::PlacementName(placement)] = ReuseJson(c);
    reuse["comparison"] = std::move(cmp);
  }
  out["prefix_reuse"] = std::move(reuse);
  return out;
}

}  // namespace meridian::replay
