#pragma once
// Routing strategies and plans (docs/routing.md, "Strategies", "Plans"). Route() orders the
// candidates the policy left eligible into a plan of attempts. Pure: it reads only its
// arguments (stats come in as StatsView copies, randomness from the injected Rng, time from
// RouteRequest::now); allocation-free for up to kInlineCandidates candidates; thread-safe as
// long as each call has its own Rng.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "catalog/catalog.hpp"
#include "route/common.hpp"
#include "route/stats.hpp"

namespace meridian::route {

enum class Strategy : std::uint8_t {
  kPowerOfTwo,  // default: two random candidates, the lower EWMA load wins
  kCheapest,    // lowest estimated cost for the request's tokens (catalog prices)
  kFastest,     // lowest predicted TTFT or total latency (EWMAs)
  kWeighted,    // random in proportion to static weights
  kLeastBusy,   // fewest attempts in flight
  kPriority,    // the given (configuration) order: a fixed primary and its fallbacks
};

// "p2c" (also "power-of-two"), "cheapest", "fastest", "weighted", "least-busy", "priority";
// nullopt otherwise.
std::optional<Strategy> ParseStrategy(std::string_view name);
std::string_view StrategyName(Strategy strategy);

enum class OpenPolicy : std::uint8_t {
  kLast,     // open breakers stay in the plan, after everything else (a last resort)
  kExclude,  // open breakers are left out of the plan
};

enum class LatencyGoal : std::uint8_t {
  kTtft,   // fastest = lowest EWMA time to first token (streaming, interactive)
  kTotal,  // fastest = lowest predicted total: TTFT + expected output / tokens per second
};

// One eligible backend for this request. The caller builds these from the policy's eligible
// set, in configuration order (the order breaks every tie).
struct Candidate {
  std::string_view backend_id;            // identity: the plan never holds one id twice
  const catalog::Entry* prices = nullptr;  // the backend's catalog entry for the model (null: unpriced)
  std::uint32_t weight = 1;               // for kWeighted; 0 = only after every weighted one
  StatsView stats;                        // LiveStats::View at routing time
};

struct RouteRequest {
  Strategy strategy = Strategy::kPowerOfTwo;
  std::int64_t estimated_input_tokens = 0;   // prompt estimate (tokenizer or approximation)
  std::int64_t expected_output_tokens = 256;  // for cost and total-latency predictions
  LatencyGoal latency_goal = LatencyGoal::kTtft;
  OpenPolicy open_policy = OpenPolicy::kLast;
  std::uint32_t max_attempts = 3;             // plan length bound (and at most Plan::kMaxAttempts)
  TimePoint now{};
  TimePoint deadline = TimePoint::max();      // one deadline for the whole request, all attempts
  Rng* rng = nullptr;                         // for kPowerOfTwo and kWeighted; null = no randomness
                                              // (p2c takes the best, weighted the heaviest)
  double error_penalty = 4.0;                 // p2c load × (1 + penalty × error rate)
};

// An ordered list of attempts: indices into the candidates span Route() was given.
struct Plan {
  static constexpr std::size_t kMaxAttempts = 16;
  std::array<std::uint16_t, kMaxAttempts> order{};
  std::uint8_t size = 0;
  TimePoint deadline{};            // = RouteRequest::deadline
  std::uint16_t excluded_open = 0;  // candidates left out because their breaker is open (kExclude)
  std::uint16_t duplicates = 0;     // candidates dropped because their id came earlier

  std::span<const std::uint16_t> attempts() const { return {order.data(), size}; }
  bool empty() const { return size == 0; }
};

// Cost estimate of the request on one candidate in pico-USD (exact integer arithmetic):
// estimated input × input price + expected output × output price. nullopt when unpriced (no
// entry, or a needed price missing).
std::optional<std::int64_t> EstimateCostPicoUsd(const catalog::Entry* prices, std::int64_t input_tokens,
                                                std::int64_t output_tokens);

// Orders `candidates` into a plan:
//   1. duplicates (an id seen earlier) are dropped;
//   2. candidates are grouped by StatsView::health: healthy, half-open, rate-limited (also: the
//      provider's remaining tokens below this request's estimate), open — open ones are dropped
//      under OpenPolicy::kExclude;
//   3. within each group the strategy orders them (docs/routing.md has every rule; ties keep
//      the given order);
//   4. the plan is cut to min(max_attempts, Plan::kMaxAttempts).
// Empty when there is nothing to try, max_attempts is 0 or now >= deadline.
Plan Route(const RouteRequest& request, std::span<const Candidate> candidates);

}  // namespace meridian::route
