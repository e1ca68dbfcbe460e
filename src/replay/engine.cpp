#include "replay/engine.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <queue>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/policy_stage.hpp"
#include "gateway/quality_decision.hpp"
#include "route/affinity_sim.hpp"
#include "route/router.hpp"
#include "replay/targets.hpp"

namespace meridian::replay {

namespace json = boost::json;

namespace {

// Pico-USD of a request on `prices`; nullopt when a needed price is missing. Cached prompt
// tokens use the cache-read price when there is one.
std::optional<std::int64_t> CostPico(const catalog::Entry* prices, std::int64_t input, std::int64_t output,
                                     std::int64_t cached) {
  if (!prices) return std::nullopt;
  const auto& p = prices->prices;
  if ((input > 0 && !p.input) || (output > 0 && !p.output)) return std::nullopt;
  cached = std::clamp<std::int64_t>(cached, 0, input);
  const __int128 in = p.input.value_or(0), out = p.output.value_or(0), read = p.cache_read.value_or(in);
  const __int128 total = (input - cached) * in + cached * read + output * out;
  return total > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(total);
}

// The chat body the policy stage scans: the prompt's messages when the trace has text.
json::object Body(const Trace& trace, const TraceRequest& r, std::string_view model) {
  json::object body{{"model", model}};
  json::array messages;
  if (r.conversation >= 0 && static_cast<std::size_t>(r.conversation) < trace.conversations.size()) {
    const json::array& all = trace.conversations[static_cast<std::size_t>(r.conversation)];
    for (std::size_t i = 0; i < r.message_count && i < all.size(); ++i) messages.push_back(all[i]);
  }
  body["messages"] = std::move(messages);
  return body;
}

struct Ending {
  double at_ms;
  std::size_t candidate;
  bool operator>(const Ending& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : candidate > o.candidate; }
};

}  // namespace

core::Result<Report> RunReplay(const gateway::Snapshot& snapshot, const ReplayConfig& config, const Trace& trace,
                               const RunOptions& options) {
  auto resolved = ResolveTargets(snapshot, config);
  if (!resolved) return std::unexpected(resolved.error());
  const std::vector<Candidate>& candidates = resolved->candidates;
  const std::vector<TargetRoute>& routes = resolved->routes;
  if (candidates.empty()) return core::Fail(core::ErrorCode::kInvalidRequest, "replay: no backend serves the targets");
  auto declared = gateway::ParseDeclared(config.declared_classes, config.declared_jurisdiction);
  if (!declared) return core::Fail(core::ErrorCode::kInvalidRequest, fmt::format("replay.declare: {}", declared.error().message));

  const route::Strategy strategy = options.strategy.value_or(config.strategy);
  const route::Placement placement = options.placement.value_or(config.placement);
  const std::uint64_t seed = options.seed.value_or(config.seed);

  Report report;
  report.trace_file = trace.file;
  report.format = std::string(FormatName(trace.format));
  report.per_alias = config.per_alias;
  report.strategy = config.per_alias && !options.strategy ? "per-alias" : std::string(route::StrategyName(strategy));
  report.placement = std::string(route::PlacementName(placement));
  report.seed = seed;
  report.skipped = trace.skipped;
  report.issues = trace.issues;
  for (const auto& c : candidates) {
    report.by_candidate.push_back({c.backend->id(), c.model, 0, 0});
    if (c.strong && std::find(report.strong_models.begin(), report.strong_models.end(), c.model) == report.strong_models.end()) {
      report.strong_models.push_back(c.model);
    }
  }
  // Per-alias: where each route's requests are counted (a target listed twice counts once).
  std::vector<std::size_t> target_slot(routes.size(), 0), quality_slot(routes.size(), 0);
  for (std::size_t i = 0; config.per_alias && i < routes.size(); ++i) {
    const TargetRoute& t = routes[i];
    auto same = [&](const auto& x) { return x.name == t.name; };
    auto it = std::find_if(report.targets.begin(), report.targets.end(), same);
    if (it == report.targets.end()) {
      const route::Strategy s = options.strategy.value_or(t.routing->strategy);
      it = report.targets.insert(report.targets.end(), TargetCount{t.name, t.model, std::string(route::StrategyName(s))});
    }
    target_slot[i] = static_cast<std::size_t>(it - report.targets.begin());
    if (!t.quality) continue;
    auto q = std::find_if(report.quality.begin(), report.quality.end(), [&](const QualityCount& x) { return x.alias == t.name; });
    if (q == report.quality.end()) {
      q = report.quality.insert(report.quality.end(), QualityCount{t.name, t.model, t.quality->weak, t.quality->threshold});
    }
    quality_slot[i] = static_cast<std::size_t>(q - report.quality.begin());
  }

  // Facts in candidate order (a backend serving two models appears twice: same facts).
  std::vector<policy::BackendFacts> facts;
  for (const auto& c : candidates) facts.push_back(c.backend->facts());
  std::vector<std::size_t> every(candidates.size());
  std::iota(every.begin(), every.end(), std::size_t{0});

  // Replica pools of backends with several replicas, one per backend id.
  std::map<std::string, route::ReplicaPool, std::less<>> pools;
  for (const auto& c : candidates) {
    if (c.sim.replicas <= 1 || pools.contains(c.backend->id())) continue;
    route::ReplicaSimOptions o = config.compare;
    o.replicas = c.sim.replicas;
    o.cache_blocks = c.sim.cache_blocks;
    o.prefill_tokens_per_s = c.sim.prefill_tokens_per_s > 0 ? c.sim.prefill_tokens_per_s : 1e12;
    o.decode_tokens_per_s = c.sim.tokens_per_s;
    auto pool = route::ReplicaPool::Create(o);
    if (!pool) return std::unexpected(pool.error());
    pools.emplace(c.backend->id(), std::move(*pool));
  }

  std::vector<std::size_t> order(trace.requests.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return trace.requests[a].time_ms < trace.requests[b].time_ms;
  });

  const gateway::Caller& caller = snapshot.anonymous_caller();
  std::vector<std::int32_t> in_flight(candidates.size(), 0);
  std::priority_queue<Ending, std::vector<Ending>, std::greater<>> endings;
  route::Rng rng(seed);
  std::vector<double> ttfts, totals;
  std::vector<route::Candidate> routable;
  std::vector<std::size_t> routable_index;
  const std::size_t step = std::max<std::size_t>(1, order.size() / 200);

  for (std::size_t done = 0; done < order.size(); ++done) {
    const TraceRequest& r = trace.requests[order[done]];
    ++report.requests;
    while (!endings.empty() && endings.top().at_ms <= r.time_ms) {
      --in_flight[endings.top().candidate];
      endings.pop();
    }

    // Union: any candidate, replay.strategy. Per alias: the target's turn, then (as the
    // gateway's ResolveByQuality) its quality router picks the weak or the strong model.
    const std::size_t turn = done % routes.size();
    const TargetRoute* target = config.per_alias ? &routes[turn] : nullptr;
    json::object body = Body(trace, r, target ? target->name : resolved->names.front());
    const std::vector<std::size_t>* serving = target ? &target->strong : &every;
    if (target) ++report.targets[target_slot[turn]].requests;
    if (target && target->quality) {
      QualityCount& q = report.quality[quality_slot[turn]];
      if (r.conversation < 0) {
        ++q.unscored;  // no text to score: the alias's target serves it
      } else {
        ++q.scored;
        const gateway::QualityDecision d = gateway::DecideQuality(*target->quality, gateway::Api::kChatCompletions, body);
        ++(d.strong ? q.sent_strong : q.sent_weak);
        if (!d.strong) serving = &target->weak;
      }
    }

    // One policy decision over every candidate (eligibility is per backend), so the baseline
    // can use the strongest allowed model whichever model serves the request.
    gateway::PolicyDecision decision = gateway::DecidePolicy(snapshot, caller, *declared, body, facts);
    const auto& excluded = decision.eligibility.excluded;
    for (std::size_t i : *serving) {
      // What the gateway's decision over the serving model's backends would list.
      const std::string& id = candidates[i].backend->id();
      auto e = std::find_if(excluded.begin(), excluded.end(), [&](const auto& x) { return x.backend == id; });
      if (e != excluded.end()) ++report.excluded[fmt::format("{}: {}", e->rule, e->reason)];
    }
    if (decision.eligibility.outcome == policy::Eligibility::Outcome::kBlocked) {
      ++report.blocked;
    } else {
      const auto& allowed = decision.eligibility.allowed;
      auto is_allowed = [&](std::size_t i) {
        return std::find(allowed.begin(), allowed.end(), candidates[i].backend->id()) != allowed.end();
      };
      std::int64_t baseline = 0;
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (is_allowed(i)) baseline = std::max(baseline, CostPico(candidates[i].prices, r.input_tokens, r.output_tokens, 0).value_or(0));
      }
      const gateway::RoutePolicy* routing = target ? target->routing : nullptr;
      routable.clear();
      routable_index.clear();
      for (std::size_t i : *serving) {
        if (!is_allowed(i)) continue;
        const Candidate& c = candidates[i];
        route::StatsView view;
        view.ttft_ms = c.sim.ttft_ms;
        view.tokens_per_s = c.sim.tokens_per_s;
        view.latency_ms = c.sim.ttft_ms + 1000.0 * static_cast<double>(config.expected_output_tokens) / c.sim.tokens_per_s;
        view.in_flight = in_flight[i];
        view.samples = view.ttft_samples = 100;  // warm: the simulation knows its speeds
        routable.push_back({c.key, c.prices, routing ? routing->WeightOf(c.backend->id()) : 1, view});
        routable_index.push_back(i);
      }
      if (routable.empty()) {
        ++report.no_eligible_backend;
      } else {
        ++report.allowed;
        if (target) ++report.targets[target_slot[turn]].allowed;
        if (decision.must_transform()) ++report.redacted;
        route::RouteRequest request;
        request.strategy = routing && !options.strategy ? routing->strategy : strategy;
        if (routing) request.latency_goal = routing->latency_goal;
        request.estimated_input_tokens = r.input_tokens;
        request.expected_output_tokens = config.expected_output_tokens;
        request.max_attempts = 1;
        request.rng = &rng;
        route::Plan plan = route::Route(request, routable);
        // Simulated backends never fail, so the plan's first attempt serves the request.
        const std::size_t chosen = routable_index[plan.empty() ? 0 : plan.attempts()[0]];
        const Candidate& c = candidates[chosen];

        std::int64_t cached = 0;
        if (auto pool = pools.find(c.backend->id()); pool != pools.end() && !r.prefix_ids.empty()) {
          route::PrefixRequest pr{r.time_ms, r.input_tokens, r.output_tokens, r.prefix_ids};
          route::PlacedRequest placed = pool->second.Place(pr, placement);
          cached = std::min<std::int64_t>(r.input_tokens,
                                          static_cast<std::int64_t>(placed.prefix_hit_blocks) * config.block_tokens);
        }
        report.cached_tokens += static_cast<std::uint64_t>(cached);
        const double ttft = c.sim.ttft_ms + (c.sim.prefill_tokens_per_s > 0
                                                 ? 1000.0 * static_cast<double>(r.input_tokens - cached) / c.sim.prefill_tokens_per_s
                                                 : 0.0);
        const double total = ttft + 1000.0 * static_cast<double>(r.output_tokens) / c.sim.tokens_per_s;
        ttfts.push_back(ttft);
        totals.push_back(total);
        ++in_flight[chosen];
        endings.push({r.time_ms + total, chosen});

        auto cost = CostPico(c.prices, r.input_tokens, r.output_tokens, cached);
        if (!cost) ++report.unpriced;
        report.cost_pico_usd += cost.value_or(0);
        report.baseline_pico_usd += std::max(baseline, cost.value_or(0));
        report.by_candidate[chosen].requests += 1;
        report.by_candidate[chosen].cost_pico_usd += cost.value_or(0);
        if (c.strong) ++report.strong;
      }
    }
    if (options.progress && ((done + 1) % step == 0 || done + 1 == order.size())) options.progress(done + 1, order.size());
  }
  report.ttft_ms = Summarise(ttfts);
  report.total_ms = Summarise(totals);
  for (const auto& [id, pool] : pools) {
    if (pool.counts().requests > 0) report.backend_reuse[id] = pool.counts();
  }

  if (trace.has_prefix_ids() && config.compare.replicas > 0) {
    std::vector<route::PrefixRequest> all;
    all.reserve(order.size());
    for (std::size_t i : order) {
      const TraceRequest& r = trace.requests[i];
      all.push_back({r.time_ms, r.input_tokens, r.output_tokens, r.prefix_ids});
    }
    auto cmp = route::SimulatePrefixReuse(all, config.compare);
    if (!cmp) return std::unexpected(cmp.error());
    report.comparison = std::move(*cmp);
    report.compare_replicas = config.compare.replicas;
    report.compare_cache_blocks = config.compare.cache_blocks;
    report.compare_key_blocks = config.compare.key_blocks;
    report.compare_load_factor = config.compare.affinity.load_factor;
  }
  return report;
}

}  // namespace meridian::replay
