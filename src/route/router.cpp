#include "route/router.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "catalog/cost.hpp"

namespace meridian::route {

namespace {

constexpr std::size_t kInlineCandidates = 64;

struct Item {
  std::uint8_t rank;    // 0: the power-of-two winner, which goes first; 1: everyone else
  std::uint16_t index;  // into the candidates span
  std::uint8_t tier;    // Health, possibly demoted to kRateLimited
  std::uint8_t unknown;  // 1: unpriced (cheapest); sorts after the known ones of its tier
  std::int64_t ikey;    // exact key (cost in pico-USD)
  double key;           // strategy key, lower first
};

bool Less(const Item& a, const Item& b) {
  if (a.rank != b.rank) return a.rank < b.rank;
  if (a.tier != b.tier) return a.tier < b.tier;
  if (a.unknown != b.unknown) return a.unknown < b.unknown;
  if (a.ikey != b.ikey) return a.ikey < b.ikey;
  if (a.key != b.key) return a.key < b.key;
  return a.index < b.index;
}

// Fixed-capacity buffer on the stack, heap beyond it.
class Items {
 public:
  explicit Items(std::size_t n) {
    if (n > kInlineCandidates) {
      heap_.resize(n);
      heap_hashes_.resize(n);
      data_ = heap_.data();
      hashes_ = heap_hashes_.data();
    } else {
      data_ = inline_.data();
      hashes_ = inline_hashes_.data();
    }
  }
  Item* data() { return data_; }
  std::uint64_t* hashes() { return hashes_; }

 private:
  std::array<Item, kInlineCandidates> inline_;
  std::array<std::uint64_t, kInlineCandidates> inline_hashes_;
  std::vector<Item> heap_;
  std::vector<std::uint64_t> heap_hashes_;
  Item* data_;
  std::uint64_t* hashes_;
};

// FNV-1a: ids are short; equal hashes are confirmed by comparing the ids.
std::uint64_t IdHash(std::string_view id) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : id) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

double PredictedLatency(const StatsView& s, const RouteRequest& r, bool& known) {
  if (r.latency_goal == LatencyGoal::kTtft) {
    known = s.ttft_samples > 0;
    return s.ttft_ms;
  }
  if (s.tokens_per_s > 0 && s.ttft_samples > 0) {
    known = true;
    return s.ttft_ms + 1000.0 * static_cast<double>(std::max<std::int64_t>(r.expected_output_tokens, 0)) / s.tokens_per_s;
  }
  known = s.samples > 0;
  return s.latency_ms;
}

// The index of the weighted draw among items [b, e) with weight > 0, or e when none.
Item* WeightedPick(Item* b, Item* e, std::span<const Candidate> c, Rng* rng) {
  std::uint64_t total = 0;
  Item* heaviest = e;
  for (Item* it = b; it != e; ++it) {
    std::uint32_t w = c[it->index].weight;
    total += w;
    if (w > 0 && (heaviest == e || w > c[heaviest->index].weight)) heaviest = it;
  }
  if (total == 0) return e;
  if (!rng) return heaviest;
  std::uint64_t r = static_cast<std::uint64_t>((static_cast<unsigned __int128>(rng->Next()) * total) >> 64);
  for (Item* it = b; it != e; ++it) {
    std::uint32_t w = c[it->index].weight;
    if (r < w) return it;
    r -= w;
  }
  return e;  // unreachable
}

}  // namespace

std::optional<Strategy> ParseStrategy(std::string_view name) {
  if (name == "p2c" || name == "power-of-two") return Strategy::kPowerOfTwo;
  if (name == "cheapest") return Strategy::kCheapest;
  if (name == "fastest") return Strategy::kFastest;
  if (name == "weighted") return Strategy::kWeighted;
  if (name == "least-busy") return Strategy::kLeastBusy;
  if (name == "priority") return Strategy::kPriority;
  return std::nullopt;
}

std::string_view StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kPowerOfTwo: return "p2c";
    case Strategy::kCheapest: return "cheapest";
    case Strategy::kFastest: return "fastest";
    case Strategy::kWeighted: return "weighted";
    case Strategy::kLeastBusy: return "least-busy";
    case Strategy::kPriority: return "priority";
  }
  return "unknown";
}

std::optional<std::int64_t> EstimateCostPicoUsd(const catalog::Entry* prices, std::int64_t input_tokens,
                                                std::int64_t output_tokens) {
  if (!prices) return std::nullopt;
  input_tokens = std::max<std::int64_t>(input_tokens, 0);
  output_tokens = std::max<std::int64_t>(output_tokens, 0);
  // A prompt above a long-context threshold pays that tier's prices (catalog::TierFor).
  const catalog::PriceTier* tier = catalog::TierFor(prices->prices, input_tokens);
  const auto input = tier && tier->input ? tier->input : prices->prices.input;
  const auto output = tier && tier->output ? tier->output : prices->prices.output;
  __int128 sum = 0;
  if (input_tokens > 0) {
    if (!input) return std::nullopt;
    sum += static_cast<__int128>(input_tokens) * *input;
  }
  if (output_tokens > 0) {
    if (!output) return std::nullopt;
    sum += static_cast<__int128>(output_tokens) * *output;
  }
  if (sum > std::numeric_limits<std::int64_t>::max()) return std::numeric_limits<std::int64_t>::max();
  return static_cast<std::int64_t>(sum);
}

Plan Route(const RouteRequest& request, std::span<const Candidate> candidates) {
  Plan plan;
  plan.deadline = request.deadline;
  std::size_t limit = std::min<std::size_t>(request.max_attempts, Plan::kMaxAttempts);
  if (limit == 0 || request.now >= request.deadline || candidates.empty()) return plan;
  std::size_t n_in = std::min<std::size_t>(candidates.size(), std::numeric_limits<std::uint16_t>::max());

  Items buffer(n_in);
  Item* items = buffer.data();
  std::uint64_t* hashes = buffer.hashes();
  std::size_t n = 0;
  const std::int64_t need_tokens = std::max<std::int64_t>(request.estimated_input_tokens, 0) +
                                   std::max<std::int64_t>(request.expected_output_tokens, 0);

  // Pass 1: dedupe, tier, raw keys.
  double warm_sum = 0;
  std::size_t warm = 0;
  for (std::size_t i = 0; i < n_in; ++i) {
    const Candidate& c = candidates[i];
    // The first occurrence of an id wins, whether or not it makes the plan.
    const std::uint64_t h = hashes[i] = IdHash(c.backend_id);
    bool dup = false;
    for (std::size_t k = 0; k < i && !dup; ++k) dup = hashes[k] == h && candidates[k].backend_id == c.backend_id;
    if (dup) {
      ++plan.duplicates;
      continue;
    }
    auto tier = static_cast<std::uint8_t>(c.stats.health);
    if (c.stats.health == Health::kOpen && request.open_policy == OpenPolicy::kExclude) {
      ++plan.excluded_open;
      continue;
    }
    if (c.stats.remaining_tokens && *c.stats.remaining_tokens < need_tokens) {
      tier = std::max(tier, static_cast<std::uint8_t>(Health::kRateLimited));
    }
    Item& it = items[n++];
    it = Item{1, static_cast<std::uint16_t>(i), tier, 0, 0, 0.0};
    switch (request.strategy) {
      case Strategy::kCheapest: {
        auto cost = EstimateCostPicoUsd(c.prices, request.estimated_input_tokens, request.expected_output_tokens);
        it.unknown = cost ? 0 : 1;
        it.ikey = cost.value_or(0);
        break;
      }
      case Strategy::kFastest:
      case Strategy::kPowerOfTwo: {
        bool known = false;
        it.key = PredictedLatency(c.stats, request, known);
        if (known) {
          warm_sum += it.key;
          ++warm;
        } else {
          it.key = -1;  // cold: filled with the prior below
        }
        break;
      }
      case Strategy::kLeastBusy: it.key = static_cast<double>(c.stats.in_flight); break;
      case Strategy::kWeighted: break;
      case Strategy::kPriority: break;  // equal keys: the given (configuration) order decides
    }
  }
  if (n == 0) return plan;

  if (request.strategy == Strategy::kFastest || request.strategy == Strategy::kPowerOfTwo) {
    // Cold candidates are assumed average: neither shunned nor flooded before their first sample.
    double prior = warm ? warm_sum / static_cast<double>(warm) : 0.0;
    for (std::size_t k = 0; k < n; ++k) {
      Item& it = items[k];
      if (it.key < 0) it.key = prior;
      if (request.strategy == Strategy::kPowerOfTwo) {
        const StatsView& s = candidates[it.index].stats;
        it.key = it.key * static_cast<double>(std::max(s.in_flight, 0) + 1) *
                 (1.0 + request.error_penalty * std::clamp(s.error_rate, 0.0, 1.0));
      }
    }
  }

  if (request.strategy == Strategy::kWeighted) {
    // Group by tier (stable by index), then draw without replacement inside each tier.
    std::sort(items, items + n, Less);
    std::size_t filled = 0;
    for (std::size_t b = 0; b < n && filled < limit;) {
      std::size_t e = b;
      while (e < n && items[e].tier == items[b].tier) ++e;
      for (std::size_t pos = b; pos < e && filled < limit; ++pos) {
        Item* pick = WeightedPick(items + pos, items + e, candidates, request.rng);
        if (pick == items + e) {
          // Only weight-0 members left: they follow in the given order (sorted by index already).
          filled += std::min(e - pos, limit - filled);
          break;
        }
        std::rotate(items + pos, pick, pick + 1);  // the pick to `pos`, the others keep their order
        ++filled;
      }
      b = e;
    }
  } else {
    if (request.strategy == Strategy::kPowerOfTwo && request.rng) {
      // Two distinct random members of the best tier (ranked in the given order); the lower
      // load wins the first slot.
      std::uint8_t best = items[0].tier;
      std::uint32_t members = 0;
      for (std::size_t k = 0; k < n; ++k) best = std::min(best, items[k].tier);
      for (std::size_t k = 0; k < n; ++k) members += items[k].tier == best;
      if (members >= 2) {
        std::uint32_t a = request.rng->Below(members), b = request.rng->Below(members - 1);
        if (b >= a) ++b;
        std::size_t pa = n, pb = n;
        for (std::size_t k = 0, m = 0; k < n; ++k) {
          if (items[k].tier != best) continue;
          if (m == a) pa = k;
          if (m == b) pb = k;
          ++m;
        }
        items[Less(items[pa], items[pb]) ? pa : pb].rank = 0;
      }
    }
    // Only the first `limit` places matter.
    if (limit < n) {
      std::partial_sort(items, items + limit, items + n, Less);
    } else {
      std::sort(items, items + n, Less);
    }
  }

  plan.size = static_cast<std::uint8_t>(std::min(n, limit));
  for (std::size_t k = 0; k < plan.size; ++k) plan.order[k] = items[k].index;
  return plan;
}

}  // namespace meridian::route
