#include "route/router.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace meridian::route {
namespace {

using namespace std::chrono_literals;

const TimePoint T0 = TimePoint(1000s);

std::vector<std::uint16_t> Order(const Plan& p) { return {p.attempts().begin(), p.attempts().end()}; }

Candidate Warm(std::string_view id, double ttft_ms, double latency_ms = 0, std::int32_t in_flight = 0) {
  Candidate c;
  c.backend_id = id;
  c.stats.ttft_ms = ttft_ms;
  c.stats.ttft_samples = 10;
  c.stats.latency_ms = latency_ms == 0 ? ttft_ms * 4 : latency_ms;
  c.stats.samples = 10;
  c.stats.in_flight = in_flight;
  return c;
}

Candidate Cold(std::string_view id) {
  Candidate c;
  c.backend_id = id;
  return c;
}

RouteRequest Req(Strategy s, std::uint32_t max_attempts = 8) {
  RouteRequest r;
  r.strategy = s;
  r.now = T0;
  r.deadline = T0 + 30s;
  r.max_attempts = max_attempts;
  return r;
}

catalog::Entry Priced(std::optional<std::int64_t> in, std::optional<std::int64_t> out) {
  catalog::Entry e;
  e.prices.input = in;
  e.prices.output = out;
  return e;
}

TEST(Strategy, Names) {
  for (Strategy s : {Strategy::kPowerOfTwo, Strategy::kCheapest, Strategy::kFastest, Strategy::kWeighted,
                     Strategy::kLeastBusy, Strategy::kPriority}) {
    EXPECT_EQ(ParseStrategy(StrategyName(s)), s);
  }
  EXPECT_EQ(ParseStrategy("power-of-two"), Strategy::kPowerOfTwo);
  EXPECT_FALSE(ParseStrategy("random"));
  EXPECT_EQ(RouteRequest{}.strategy, Strategy::kPowerOfTwo);  // the default
}

TEST(EstimateCost, AboveALongContextThresholdTheTiersPricesApply) {
  catalog::Entry sonnet = Priced(3'000'000, 15'000'000);  // $3 / $15, $6 / $22.50 above 200k
  sonnet.prices.tiers.push_back(catalog::PriceTier{.above_tokens = 200'000, .input = 6'000'000, .output = 22'500'000});
  EXPECT_EQ(EstimateCostPicoUsd(&sonnet, 200'000, 100), 200'000 * 3'000'000LL + 100 * 15'000'000LL);
  EXPECT_EQ(EstimateCostPicoUsd(&sonnet, 200'001, 100), 200'001 * 6'000'000LL + 100 * 22'500'000LL);
}

TEST(EstimateCost, ExactPicoUsd) {
  catalog::Entry gpt4o = Priced(2'500'000, 10'000'000);  // $2.50 / $10 per M tokens
  EXPECT_EQ(EstimateCostPicoUsd(&gpt4o, 1000, 256), 1000 * 2'500'000LL + 256 * 10'000'000LL);
  EXPECT_EQ(EstimateCostPicoUsd(&gpt4o, 0, 0), 0);
  EXPECT_EQ(EstimateCostPicoUsd(&gpt4o, -5, 1), 10'000'000);
  EXPECT_FALSE(EstimateCostPicoUsd(nullptr, 1, 1));
  catalog::Entry no_out = Priced(1, std::nullopt);
  EXPECT_FALSE(EstimateCostPicoUsd(&no_out, 1, 1));
  EXPECT_EQ(EstimateCostPicoUsd(&no_out, 1, 0), 1);
  catalog::Entry huge = Priced(std::numeric_limits<std::int64_t>::max(), 0);
  EXPECT_EQ(EstimateCostPicoUsd(&huge, 1000, 0), std::numeric_limits<std::int64_t>::max());
}

TEST(Cheapest, OrdersByEstimatedCostUnpricedLast) {
  catalog::Entry gpt4o = Priced(2'500'000, 10'000'000), mini = Priced(150'000, 600'000),
                 no_out = Priced(100, std::nullopt), free = Priced(0, 0);
  std::vector<Candidate> c{Cold("gpt4o"), Cold("unpriced"), Cold("mini"), Cold("no-out"), Cold("free")};
  c[0].prices = &gpt4o;
  c[2].prices = &mini;
  c[3].prices = &no_out;
  c[4].prices = &free;
  RouteRequest r = Req(Strategy::kCheapest);
  r.estimated_input_tokens = 1000;
  r.expected_output_tokens = 256;
  EXPECT_EQ(Order(Route(r, c)), (std::vector<std::uint16_t>{4, 2, 0, 1, 3}));
  // Output-heavy requests can flip the order: in=100 out=0 vs in-cheap out-expensive.
  catalog::Entry in_cheap = Priced(1'000'000, 50'000'000), out_cheap = Priced(3'000'000, 1'000'000);
  std::vector<Candidate> d{Cold("in-cheap"), Cold("out-cheap")};
  d[0].prices = &in_cheap;
  d[1].prices = &out_cheap;
  r.estimated_input_tokens = 10000;
  r.expected_output_tokens = 0;
  EXPECT_EQ(Order(Route(r, d)), (std::vector<std::uint16_t>{0, 1}));
  r.expected_output_tokens = 2000;
  EXPECT_EQ(Order(Route(r, d)), (std::vector<std::uint16_t>{1, 0}));
}

TEST(Fastest, ByTtftWithColdAtThePoolMean) {
  std::vector<Candidate> c{Warm("a", 300), Warm("b", 100), Cold("cold"), Warm("d", 200)};
  // Warm mean 200: the cold one ties with d and comes first by position.
  EXPECT_EQ(Order(Route(Req(Strategy::kFastest), c)), (std::vector<std::uint16_t>{1, 2, 3, 0}));
}

TEST(Fastest, ByPredictedTotal) {
  std::vector<Candidate> c{Warm("a", 100), Warm("b", 500), Warm("c", 0, 3000)};
  c[0].stats.tokens_per_s = 50;   // 100 + 256/50 s = 5220 ms
  c[1].stats.tokens_per_s = 200;  // 500 + 1280 = 1780 ms
  c[2].stats.ttft_samples = 0;    // no TTFT, no speed: its latency EWMA, 3000 ms
  RouteRequest r = Req(Strategy::kFastest);
  r.latency_goal = LatencyGoal::kTotal;
  r.expected_output_tokens = 256;
  EXPECT_EQ(Order(Route(r, c)), (std::vector<std::uint16_t>{1, 2, 0}));
  r.expected_output_tokens = 0;  // then TTFT decides among those with a speed
  EXPECT_EQ(Order(Route(r, c)), (std::vector<std::uint16_t>{0, 1, 2}));
}

TEST(LeastBusy, ByInFlightTiesByPosition) {
  std::vector<Candidate> c{Warm("a", 1, 0, 5), Warm("b", 1, 0, 2), Warm("c", 1, 0, 2), Warm("d", 1, 0, 0)};
  EXPECT_EQ(Order(Route(Req(Strategy::kLeastBusy), c)), (std::vector<std::uint16_t>{3, 1, 2, 0}));
}

TEST(Priority, GivenOrderInsideEachHealthTier) {
  // Loads, prices and speeds are ignored: the configuration order is the plan, except that a
  // rate-limited or open backend still goes after the healthy ones.
  std::vector<Candidate> c{Warm("a", 9, 0, 7), Warm("b", 1, 0, 0), Warm("c", 5, 0, 3), Warm("d", 1, 0, 0)};
  c[1].stats.health = Health::kOpen;
  EXPECT_EQ(Order(Route(Req(Strategy::kPriority), c)), (std::vector<std::uint16_t>{0, 2, 3, 1}));
  RouteRequest exclude = Req(Strategy::kPriority);
  exclude.open_policy = OpenPolicy::kExclude;
  EXPECT_EQ(Order(Route(exclude, c)), (std::vector<std::uint16_t>{0, 2, 3}));
  EXPECT_EQ(Order(Route(Req(Strategy::kPriority, 2), c)), (std::vector<std::uint16_t>{0, 2}));
}

TEST(Weighted, WithoutRngHeaviestFirstZeroWeightLast) {
  std::vector<Candidate> c{Cold("a"), Cold("b"), Cold("c"), Cold("d")};
  c[0].weight = 1;
  c[1].weight = 0;
  c[2].weight = 5;
  c[3].weight = 5;
  EXPECT_EQ(Order(Route(Req(Strategy::kWeighted), c)), (std::vector<std::uint16_t>{2, 3, 0, 1}));
}

TEST(Weighted, ExactPicksWithSeededRng) {
  std::vector<Candidate> c{Cold("a"), Cold("b"), Cold("c")};
  c[0].weight = 1;
  c[1].weight = 2;
  c[2].weight = 7;
  Rng rng(42);
  RouteRequest r = Req(Strategy::kWeighted);
  r.rng = &rng;
  Plan p = Route(r, c);
  // The same draws by hand: a point in [0, total) over the remaining members in order.
  Rng twin(42);
  auto draw = [&](std::uint64_t total) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(twin.Next()) * total) >> 64);
  };
  std::vector<std::uint16_t> left{0, 1, 2}, expect;
  while (!left.empty()) {
    std::uint64_t total = 0;
    for (auto i : left) total += c[i].weight;
    std::uint64_t x = draw(total);
    for (std::size_t k = 0; k < left.size(); ++k) {
      if (x < c[left[k]].weight) {
        expect.push_back(left[k]);
        left.erase(left.begin() + static_cast<std::ptrdiff_t>(k));
        break;
      }
      x -= c[left[k]].weight;
    }
  }
  EXPECT_EQ(Order(p), expect);
  // Same seed, same plan.
  Rng again(42);
  r.rng = &again;
  EXPECT_EQ(Order(Route(r, c)), expect);
}

TEST(Weighted, FirstPickFollowsTheWeights) {
  std::vector<Candidate> c{Cold("a"), Cold("b"), Cold("zero")};
  c[0].weight = 1;
  c[1].weight = 3;
  c[2].weight = 0;
  Rng rng(7);
  RouteRequest r = Req(Strategy::kWeighted);
  r.rng = &rng;
  std::map<std::uint16_t, int> first;
  for (int i = 0; i < 20000; ++i) {
    Plan p = Route(r, c);
    ASSERT_EQ(p.size, 3);
    EXPECT_EQ(p.order[2], 2);  // weight 0: always last
    ++first[p.order[0]];
  }
  EXPECT_NEAR(first[0] / 20000.0, 0.25, 0.02);
  EXPECT_NEAR(first[1] / 20000.0, 0.75, 0.02);
}

TEST(PowerOfTwo, WithoutRngTheLowestLoadFirst) {
  std::vector<Candidate> c{Warm("a", 100, 0, 3), Warm("b", 300, 0, 0), Warm("c", 100, 0, 0)};
  // Loads (TTFT × (in flight + 1)): 400, 300, 100.
  EXPECT_EQ(Order(Route(Req(Strategy::kPowerOfTwo), c)), (std::vector<std::uint16_t>{2, 1, 0}));
  // The error rate weighs in: c at 50% errors: 100 × (1 + 4 × 0.5) = 300, tie with b: b first by position.
  c[2].stats.error_rate = 0.5;
  EXPECT_EQ(Order(Route(Req(Strategy::kPowerOfTwo), c)), (std::vector<std::uint16_t>{1, 2, 0}));
}

TEST(PowerOfTwo, ExactPickWithSeededRng) {
  std::vector<Candidate> c{Warm("a", 100), Warm("b", 200), Warm("c", 300), Warm("d", 400)};
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    Rng rng(seed), twin(seed);
    RouteRequest r = Req(Strategy::kPowerOfTwo);
    r.rng = &rng;
    Plan p = Route(r, c);
    // Loads ascend with the index, so the sorted order is 0 1 2 3; the two draws index into it.
    std::uint32_t a = twin.Below(4), b = twin.Below(3);
    if (b >= a) ++b;
    std::uint16_t winner = static_cast<std::uint16_t>(std::min(a, b));
    std::vector<std::uint16_t> expect{winner};
    for (std::uint16_t i = 0; i < 4; ++i) {
      if (i != winner) expect.push_back(i);
    }
    EXPECT_EQ(Order(p), expect) << "seed " << seed;
    EXPECT_NE(p.order[0], 3) << "the worst of the pool never wins a pair";
  }
}

TEST(PowerOfTwo, SpreadsOverTheBetterCandidates) {
  std::vector<Candidate> c{Warm("a", 100), Warm("b", 100), Warm("c", 100), Warm("slow", 1000)};
  Rng rng(99);
  RouteRequest r = Req(Strategy::kPowerOfTwo);
  r.rng = &rng;
  std::map<std::uint16_t, int> first;
  for (int i = 0; i < 12000; ++i) ++first[Route(r, c).order[0]];
  EXPECT_EQ(first[3], 0);
  // Equal loads tie by position: a wins each pair it is in (1/2), b when paired with c or slow.
  EXPECT_NEAR(first[0] / 12000.0, 0.5, 0.03);
  EXPECT_NEAR(first[1] / 12000.0, 1.0 / 3, 0.03);
  EXPECT_NEAR(first[2] / 12000.0, 1.0 / 6, 0.03);
}

TEST(PowerOfTwo, ColdCandidatesGetThePoolMean) {
  // Mean of the warm ones: 110. Cold is neither first (as if free) nor last (as if shunned).
  std::vector<Candidate> c{Warm("a", 100), Warm("b", 120), Cold("new")};
  EXPECT_EQ(Order(Route(Req(Strategy::kPowerOfTwo), c)), (std::vector<std::uint16_t>{0, 2, 1}));
  std::vector<Candidate> all_cold{Cold("x"), Cold("y"), Cold("z")};
  EXPECT_EQ(Order(Route(Req(Strategy::kPowerOfTwo), all_cold)), (std::vector<std::uint16_t>{0, 1, 2}));
}

TEST(Plan, HealthTiersComeFirstOpenLastOrExcluded) {
  std::vector<Candidate> c{Warm("open", 1, 0, 0), Warm("ok1", 1, 0, 3), Warm("half", 1, 0, 0),
                           Warm("limited", 1, 0, 0), Warm("ok2", 1, 0, 1)};
  c[0].stats.health = Health::kOpen;
  c[2].stats.health = Health::kHalfOpen;
  c[3].stats.health = Health::kRateLimited;
  RouteRequest r = Req(Strategy::kLeastBusy);
  Plan p = Route(r, c);
  EXPECT_EQ(Order(p), (std::vector<std::uint16_t>{4, 1, 2, 3, 0}));
  EXPECT_EQ(p.excluded_open, 0);
  r.open_policy = OpenPolicy::kExclude;
  p = Route(r, c);
  EXPECT_EQ(Order(p), (std::vector<std::uint16_t>{4, 1, 2, 3}));
  EXPECT_EQ(p.excluded_open, 1);
}

TEST(Plan, TooLittleTokenHeadroomDemotes) {
  std::vector<Candidate> c{Warm("a", 100), Warm("b", 200)};
  c[0].stats.remaining_tokens = 1000;
  RouteRequest r = Req(Strategy::kFastest);
  r.estimated_input_tokens = 900;
  r.expected_output_tokens = 100;
  EXPECT_EQ(Order(Route(r, c)), (std::vector<std::uint16_t>{0, 1}));  // 1000 needed, 1000 left
  r.expected_output_tokens = 101;
  EXPECT_EQ(Order(Route(r, c)), (std::vector<std::uint16_t>{1, 0}));
}

TEST(Plan, DuplicatesDroppedFirstOccurrenceWins) {
  std::vector<Candidate> c{Warm("a", 300), Warm("b", 200), Warm("a", 100)};
  Plan p = Route(Req(Strategy::kFastest), c);
  EXPECT_EQ(Order(p), (std::vector<std::uint16_t>{1, 0}));
  EXPECT_EQ(p.duplicates, 1);
}

TEST(Plan, AttemptsAndDeadlineBound) {
  std::vector<Candidate> c;
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back("b" + std::to_string(i));
  for (const auto& id : ids) c.push_back(Warm(id, 100));
  RouteRequest r = Req(Strategy::kLeastBusy, 2);
  EXPECT_EQ(Route(r, c).size, 2);
  r.max_attempts = 1000;
  EXPECT_EQ(Route(r, c).size, Plan::kMaxAttempts);
  r.max_attempts = 0;
  EXPECT_TRUE(Route(r, c).empty());
  r.max_attempts = 3;
  EXPECT_EQ(Route(r, c).deadline, T0 + 30s);
  r.now = r.deadline;
  EXPECT_TRUE(Route(r, c).empty());
  r.now = T0;
  EXPECT_TRUE(Route(r, {}).empty());
  // More candidates than the inline buffer holds.
  std::vector<Candidate> many;
  std::vector<std::string> many_ids;
  for (int i = 0; i < 100; ++i) many_ids.push_back("m" + std::to_string(i));
  for (int i = 0; i < 100; ++i) many.push_back(Warm(many_ids[static_cast<std::size_t>(i)], 1000 - i));
  r.strategy = Strategy::kFastest;
  r.max_attempts = 3;
  EXPECT_EQ(Order(Route(r, many)), (std::vector<std::uint16_t>{99, 98, 97}));
}

}  // namespace
}  // namespace meridian::route
