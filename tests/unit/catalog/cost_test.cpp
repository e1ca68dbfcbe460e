#include "catalog/cost.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace meridian::catalog {
namespace {

const std::string kLiteLlmFile =
    std::string(MERIDIAN_SOURCE_DIR) + "/../shared/data/prices/litellm/model_prices_and_context_window.json";

const Catalog& Real() {
  static const Catalog catalog = [] {
    auto loaded = Catalog::LoadLiteLlmFile(kLiteLlmFile);
    if (!loaded) ADD_FAILURE() << loaded.error().ToString();
    return loaded ? std::move(*loaded) : Catalog{};
  }();
  return catalog;
}

const Entry& Get(std::string_view key) {
  const Entry* e = Real().FindKey(key);
  if (e == nullptr) {
    ADD_FAILURE() << "missing " << key;
    static const Entry kEmpty;
    return kEmpty;
  }
  return *e;
}

Usage U(std::int64_t input, std::int64_t output, std::int64_t cache_read = 0, std::int64_t cache_write = 0,
        std::int64_t reasoning = 0) {
  return Usage{input, output, cache_read, cache_write, reasoning};
}

// gpt-4o: $2.50 in, $1.25 cached in, $10 out per 1M tokens.
TEST(Cost, Gpt4oWithCachedInput) {
  // 600 × 2.5 + 400 × 1.25 + 500 × 10 = 1500 + 500 + 5000 = 7000 µUSD.
  EXPECT_EQ(Cost(Get("gpt-4o"), U(1000, 500, 400)), 7000);
  // Without cache: 1000 × 2.5 + 500 × 10 = 7500.
  EXPECT_EQ(Cost(Get("gpt-4o"), U(1000, 500)), 7500);
}

// claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write, $15 out; no reasoning price.
TEST(Cost, ClaudeWithCacheReadWriteAndReasoning) {
  // uncached 2000 × 3 = 6000; read 6000 × 0.3 = 1800; write 2000 × 3.75 = 7500;
  // output 1000 × 15 = 15000 (its 300 reasoning tokens at the output price): 30300 µUSD.
  EXPECT_EQ(Cost(Get("claude-sonnet-4-5"), U(10'000, 1'000, 6'000, 2'000, 300)), 30'300);
}

TEST(Cost, SeparateReasoningPrice) {
  Entry e;
  e.prices = Prices{.input = 1'000'000, .output = 4'000'000, .cache_read = std::nullopt,
                    .cache_write = std::nullopt, .reasoning = 8'000'000};
  // 10 × 1 + 60 × 4 + 40 × 8 = 10 + 240 + 320 = 570 µUSD.
  EXPECT_EQ(Cost(e, U(10, 100, 0, 0, 40)), 570);
  // gemini/gemini-2.5-flash lists a reasoning price equal to its output price ($2.50):
  // 1000 × 0.3 + 2000 × 2.5 = 300 + 5000 = 5300 whatever the reasoning share.
  EXPECT_EQ(Cost(Get("gemini/gemini-2.5-flash"), U(1000, 2000, 0, 0, 1500)), 5300);
}

TEST(Cost, RoundsHalfUpOnceAtTheEnd) {
  const Entry& gpt = Get("gpt-4o");
  EXPECT_EQ(Cost(gpt, U(1, 0)), 3);        // 2.5 -> 3
  EXPECT_EQ(Cost(gpt, U(3, 0)), 8);        // 7.5 -> 8
  EXPECT_EQ(Cost(gpt, U(1, 0, 1)), 1);     // 1.25 -> 1
  // 1 × 2.5 + 2 × 1.25 = 5.0; rounding each share first would give 3 + 3 = 6.
  EXPECT_EQ(Cost(gpt, U(3, 0, 2)), 5);
  const Entry& flash = Get("gemini/gemini-2.5-flash");
  EXPECT_EQ(Cost(flash, U(1, 0, 1)), 0);   // 0.03 -> 0
  EXPECT_EQ(Cost(flash, U(50, 0, 50)), 2); // 1.5 -> 2 (per token it would be 0)
  Entry half;
  half.prices.input = 500'000;  // $0.50 per 1M tokens: 0.5 µUSD per token
  EXPECT_EQ(Cost(half, U(1, 0)), 1);
  half.prices.input = 499'999;
  EXPECT_EQ(Cost(half, U(1, 0)), 0);
  EXPECT_EQ(Cost(half, U(0, 0)), 0);
}

TEST(Cost, FallbacksAndMissingPrices) {
  Entry e;
  e.prices.input = 2'000'000;
  e.prices.output = 6'000'000;
  // No cache prices: cached tokens cost what input tokens cost. 100 × 2 + 10 × 6 = 260.
  EXPECT_EQ(Cost(e, U(100, 10, 30, 20)), 260);
  Entry no_output;
  no_output.prices.input = 100'000;
  EXPECT_EQ(Cost(no_output, U(10'000, 0)), 1000);    // an embedding: no output, no output price needed
  EXPECT_EQ(Cost(no_output, U(10'000, 1)), std::nullopt);
  Entry unpriced;
  EXPECT_EQ(Cost(unpriced, U(1, 0)), std::nullopt);
  EXPECT_EQ(Cost(unpriced, U(0, 0)), 0);
  // Only a cache-read price: cached tokens are priced, the uncached rest is not.
  Entry cache_only;
  cache_only.prices.cache_read = 1'000'000;
  cache_only.prices.output = 0;
  EXPECT_EQ(Cost(cache_only, U(5, 3, 5)), 5);
  EXPECT_EQ(Cost(cache_only, U(6, 3, 5)), std::nullopt);
}

TEST(Cost, SanitisesInconsistentCounts) {
  const Entry& gpt = Get("gpt-4o");
  // Negative counts are 0.
  EXPECT_EQ(Cost(gpt, U(-5, -1, -1, -1, -1)), 0);
  // cache_read beyond input is capped at input: 10 × 1.25 = 12.5 -> 13.
  EXPECT_EQ(Cost(gpt, U(10, 0, 50)), 13);
  // reasoning beyond output is capped at output: 10 × 10 = 100.
  EXPECT_EQ(Cost(gpt, U(0, 10, 0, 0, 99)), 100);
  const Entry& claude = Get("claude-sonnet-4-5");
  // read 6 of 10, write capped at the remaining 4: 6 × 0.3 + 4 × 3.75 = 1.8 + 15 = 16.8 -> 17.
  EXPECT_EQ(Cost(claude, U(10, 0, 6, 100)), 17);
}

TEST(Cost, SaturatesInsteadOfOverflowing) {
  Entry e;
  e.prices.input = 1'000'000'000'000;  // $1 per token
  e.prices.output = 1'000'000'000'000;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(Cost(e, U(kMax, kMax)), kMax);
  EXPECT_EQ(UpperBoundCost(e, kMax, kMax), kMax);
  EXPECT_EQ(Cost(e, U(1'000'000, 0)), 1'000'000'000'000);
}

TEST(Tiers, TierForIsStrictlyAboveAndTheHighest) {
  Prices p;
  p.tiers = {PriceTier{.above_tokens = 128'000}, PriceTier{.above_tokens = 200'000}};
  EXPECT_EQ(TierFor(p, 0), nullptr);
  EXPECT_EQ(TierFor(p, 128'000), nullptr);
  EXPECT_EQ(TierFor(p, 128'001), &p.tiers[0]);
  EXPECT_EQ(TierFor(p, 200'000), &p.tiers[0]);
  EXPECT_EQ(TierFor(p, 200'001), &p.tiers[1]);
  EXPECT_EQ(TierFor(p, std::numeric_limits<std::int64_t>::max()), &p.tiers[1]);
  EXPECT_EQ(TierFor(Prices{}, 1'000'000), nullptr);
}

// gemini/gemini-2.5-pro: $1.25 in / $10 out; above 200k prompt tokens $2.50 / $15.
TEST(Tiers, Gemini25ProBoundary) {
  const Entry& pro = Get("gemini/gemini-2.5-pro");
  // 200,000 is not above 200,000: 200000 × 1.25 + 1000 × 10 = 250000 + 10000.
  EXPECT_EQ(Cost(pro, U(200'000, 1'000)), 260'000);
  // 200,001: every token at the tier: 200001 × 2.5 + 1000 × 15 = 500002.5 + 15000 -> 515003.
  EXPECT_EQ(Cost(pro, U(200'001, 1'000)), 515'003);
  // Cache reads in the tier ($0.25): 100001 × 2.5 + 100000 × 0.25 = 250002.5 + 25000 -> 275003.
  EXPECT_EQ(Cost(pro, U(200'001, 0, 100'000)), 275'003);
  // No cache-write price at all: writes cost the tier's input price. 300000 × 2.5 = 750000.
  EXPECT_EQ(Cost(pro, U(300'000, 0, 0, 100'000)), 750'000);
}

// claude-sonnet-4-20250514: $3 / $0.30 read / $3.75 write / $15; above 200k
// $6 / $0.60 / $7.50 / $22.50. The prompt size counts cache reads and writes.
TEST(Tiers, ClaudeSonnet4CachedTokensCountAndArePricedInTheTier) {
  const Entry& claude = Get("claude-sonnet-4-20250514");
  // 200,000 in, of which 150,000 cache reads: base. 50000 × 3 + 150000 × 0.3 = 150000 + 45000.
  EXPECT_EQ(Cost(claude, U(200'000, 0, 150'000)), 195'000);
  // One more uncached token puts the whole prompt above 200k although only 50,001 were not
  // cached: 50001 × 6 + 150000 × 0.6 = 300006 + 90000.
  EXPECT_EQ(Cost(claude, U(200'001, 0, 150'000)), 390'006);
  // 300,000 in: 50,000 uncached, 200,000 read, 50,000 written; 2,000 out (500 reasoning, no
  // reasoning price: output's): 50000 × 6 + 200000 × 0.6 + 50000 × 7.5 + 2000 × 22.5
  // = 300000 + 120000 + 375000 + 45000.
  EXPECT_EQ(Cost(claude, U(300'000, 2'000, 200'000, 50'000, 500)), 840'000);
  // The same at the base prices (what was charged before tiers):
  // 50000 × 3 + 200000 × 0.3 + 50000 × 3.75 + 2000 × 15 = 150000 + 60000 + 187500 + 30000.
  Entry flat = claude;
  flat.prices.tiers.clear();
  EXPECT_EQ(Cost(flat, U(300'000, 2'000, 200'000, 50'000, 500)), 427'500);
}

TEST(Tiers, KindsATierLacksKeepTheBasePrice) {
  Entry e;
  e.prices = Prices{.input = 1'000'000, .output = 2'000'000, .cache_read = 100'000, .cache_write = std::nullopt,
                    .reasoning = 4'000'000,
                    .tiers = {PriceTier{.above_tokens = 100, .input = 10'000'000},
                              PriceTier{.above_tokens = 1000, .output = 30'000'000}}};
  // 100 tokens: base. 60 × 1 + 40 × 0.1 + 10 × 2 + 5 × 4 = 60 + 4 + 20 + 20.
  EXPECT_EQ(Cost(e, U(100, 15, 40, 0, 5)), 104);
  // 101: first tier, input only: 61 × 10 + 40 × 0.1 + 10 × 2 + 5 × 4 = 610 + 4 + 20 + 20.
  EXPECT_EQ(Cost(e, U(101, 15, 40, 0, 5)), 654);
  // Cache writes have no price: the tier's input price. 101 × 10 = 1010.
  EXPECT_EQ(Cost(e, U(101, 0, 0, 101)), 1010);
  // 1001: the highest tier alone, which sets output only; the lower tier's input price does not
  // carry over: 961 × 1 + 40 × 0.1 + 10 × 30 + 5 × 4 (reasoning keeps its own base price).
  EXPECT_EQ(Cost(e, U(1001, 15, 40, 0, 5)), 961 + 4 + 300 + 20);
  // A tier price where the base has none: priced only above the threshold.
  Entry tier_only;
  tier_only.prices.output = 0;
  tier_only.prices.tiers = {PriceTier{.above_tokens = 10, .input = 1'000'000}};
  EXPECT_EQ(Cost(tier_only, U(10, 0)), std::nullopt);
  EXPECT_EQ(Cost(tier_only, U(11, 0)), 11);
}

TEST(UpperBound, ClaudeSonnet) {
  const Entry& claude = Get("claude-sonnet-4-5");
  // input at the highest input-side price (cache write $3.75): 10000 × 3.75 = 37500;
  // output 1000 × 15 = 15000: 52500 µUSD.
  EXPECT_EQ(UpperBoundCost(claude, 10'000, 1'000), 52'500);
  // No request limit: the model's max_output_tokens (64000): 37500 + 960000.
  EXPECT_EQ(UpperBoundCost(claude, 10'000, std::nullopt), 997'500);
  // A request limit above the model's is capped at the model's.
  EXPECT_EQ(UpperBoundCost(claude, 10'000, 100'000), 997'500);
  EXPECT_EQ(UpperBoundCost(claude, 0, 0), 0);
}

TEST(UpperBound, RoundsUpAndNeedsItsInputs) {
  EXPECT_EQ(UpperBoundCost(Get("gpt-4o"), 1, 0), 3);                    // 2.5 -> 3
  EXPECT_EQ(UpperBoundCost(Get("gemini/gemini-2.5-flash"), 1, 0), 1);   // 0.3 -> 1
  Entry e;
  e.prices.input = 1'000'000;
  e.prices.output = 2'000'000;
  EXPECT_EQ(UpperBoundCost(e, 10, std::nullopt), std::nullopt);  // no output limit known
  EXPECT_EQ(UpperBoundCost(e, 10, 5), 20);
  e.max_output_tokens = 3;
  EXPECT_EQ(UpperBoundCost(e, 10, 5), 16);
  Entry unpriced;
  unpriced.max_output_tokens = 10;
  EXPECT_EQ(UpperBoundCost(unpriced, 10, std::nullopt), std::nullopt);
}

// claude-sonnet-4-20250514 (above 200k: $7.50 cache write, $22.50 out).
TEST(UpperBound, TierOnceTheEstimateIsAboveTheThreshold) {
  const Entry& claude = Get("claude-sonnet-4-20250514");
  // 200000 × 3.75 + 1000 × 15 = 750000 + 15000.
  EXPECT_EQ(UpperBoundCost(claude, 200'000, 1'000), 765'000);
  // 200001 × 7.5 + 1000 × 22.5 = 1500007.5 + 22500 -> 1522508 (up).
  EXPECT_EQ(UpperBoundCost(claude, 200'001, 1'000), 1'522'508);
  EXPECT_GE(*UpperBoundCost(claude, 200'001, 1'000), *Cost(claude, U(200'001, 1'000, 0, 200'001)));
}

TEST(UpperBound, EveryReachableTierCounts) {
  // A tier cheaper than the base (an override may say so): a smaller prompt pays the base
  // price, so the bound for 1000 tokens keeps the base's $10.
  Entry cheaper;
  cheaper.prices = Prices{.input = 10'000'000, .output = 1'000'000,
                          .tiers = {PriceTier{.above_tokens = 100, .input = 1'000'000}}};
  EXPECT_EQ(UpperBoundCost(cheaper, 1000, 0), 10'000);
  EXPECT_EQ(Cost(cheaper, U(1000, 0)), 1000);
  EXPECT_EQ(Cost(cheaper, U(100, 0)), 1000);
  // Two tiers, the dearest of each side wherever it is: input $3 (tier 2), output $8 (tier 1).
  Entry two;
  two.prices = Prices{.input = 1'000'000, .output = 2'000'000,
                      .tiers = {PriceTier{.above_tokens = 10, .input = 2'000'000, .output = 8'000'000},
                                PriceTier{.above_tokens = 20, .input = 3'000'000, .output = 4'000'000}}};
  EXPECT_EQ(UpperBoundCost(two, 10, 10), 10 * 1 + 10 * 2);  // no tier reachable
  EXPECT_EQ(UpperBoundCost(two, 15, 10), 15 * 2 + 10 * 8);
  EXPECT_EQ(UpperBoundCost(two, 30, 10), 30 * 3 + 10 * 8);
  EXPECT_LE(*Cost(two, U(15, 10)), *UpperBoundCost(two, 30, 10));
  // A reachable tier without a needed price: no bound.
  Entry gap;
  gap.prices.output = 1'000'000;
  gap.prices.tiers = {PriceTier{.above_tokens = 10, .input = 1'000'000}};
  EXPECT_EQ(UpperBoundCost(gap, 5, 0), std::nullopt);   // base has no input price
  EXPECT_EQ(UpperBoundCost(gap, 11, 0), std::nullopt);  // nor for prompts of up to 10 tokens
  EXPECT_EQ(UpperBoundCost(gap, 0, 3), 3);
}

// The bound is never below the cost of any usage within it (output at most the model's
// max_output_tokens, input at most the estimate), for every chat model of the file.
TEST(UpperBound, NeverBelowCost) {
  std::size_t checked = 0;
  Real().ForEach([&](const Entry& e) {
    if (e.mode != "chat" || !e.prices.input || !e.prices.output) return;
    for (std::int64_t input : {0, 1, 3, 999, 123'457, 128'001, 200'000, 200'001, 272'001, 600'000}) {
      for (std::int64_t requested : {0, 1, 7, 4096}) {
        std::int64_t output = requested;
        auto bound = UpperBoundCost(e, input, requested);
        ASSERT_TRUE(bound) << e.key;
        if (e.max_output_tokens) output = std::min(output, *e.max_output_tokens);
        for (const Usage& u : {U(input, output), U(input, output, input / 2, input / 3, output / 2),
                               U(input, output, 0, input, output), U(input, output, input, 0, 0),
                               U(input / 2, output, input / 4, 0, output)}) {
          auto cost = Cost(e, u);
          ASSERT_TRUE(cost) << e.key;
          ASSERT_LE(*cost, *bound) << e.key << " " << input << " " << output;
          ++checked;
        }
      }
    }
  });
  EXPECT_GT(checked, 250'000u);
}

}  // namespace
}  // namespace meridian::catalog
