#include "catalog/overrides.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "catalog/cost.hpp"

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

std::expected<PriceOverrides, std::vector<Issue>> Parse(const std::string& yaml, const ScalarFilter& filter = {}) {
  YAML::Node root = YAML::Load(yaml);
  return ParsePriceOverrides(root["prices"], "backends[0].prices", "m.yaml", filter);
}

std::vector<std::string> Messages(const std::vector<Issue>& issues) {
  std::vector<std::string> out;
  for (const Issue& i : issues) out.push_back(i.ToString());
  return out;
}

constexpr const char* kGood = R"(prices:
  gpt-4o: {input_per_mtok: 2.75, output_per_mtok: 11, cache_read_per_mtok: 1.375}
  my-finetune:
    input_per_mtok: 0.3
    output_per_mtok: "1.2"
    cache_write_per_mtok: 0.000001
    reasoning_per_mtok: 0
    context_window: 32768
    max_output_tokens: 4096
    quality_tier: 3
)";

TEST(ParseOverrides, ReadsEveryField) {
  auto parsed = Parse(kGood);
  ASSERT_TRUE(parsed) << Messages(parsed.error()).front();
  ASSERT_EQ(parsed->size(), 2u);
  const PriceOverride& gpt = parsed->at("gpt-4o");
  EXPECT_EQ(gpt.input, 2'750'000);
  EXPECT_EQ(gpt.output, 11'000'000);
  EXPECT_EQ(gpt.cache_read, 1'375'000);
  EXPECT_EQ(gpt.cache_write, std::nullopt);
  EXPECT_EQ(gpt.line, 2);
  const PriceOverride& ft = parsed->at("my-finetune");
  EXPECT_EQ(ft, (PriceOverride{.input = 300'000, .output = 1'200'000, .cache_read = std::nullopt,
                               .cache_write = 1, .reasoning = 0, .context_window = 32768,
                               .max_output_tokens = 4096, .quality_tier = 3, .line = 3}));
}

TEST(ParseOverrides, AbsentOrEmptyIsNone) {
  auto absent = Parse("other: 1\n");
  ASSERT_TRUE(absent);
  EXPECT_TRUE(absent->empty());
  auto null = Parse("prices:\n");
  ASSERT_TRUE(null);
  EXPECT_TRUE(null->empty());
}

TEST(ParseOverrides, ReportsEveryProblemWithFileLineAndField) {
  constexpr const char* kBad = R"(prices:
  gpt-4o:
    input_per_mtok: -1
    output_per_mtok: abc
    cache_read_per_mtok: 0.0000001
    inptu_per_mtok: 2
    context_window: 0
    quality_tier: 11
    max_output_tokens: 1.5
  gpt-4o-mini: [1, 2]
  empty-one: {}
  dup-field: {input_per_mtok: 1, input_per_mtok: 2}
  gpt-4o: {input_per_mtok: 1}
  nested: {input_per_mtok: {a: 1}}
  huge: {output_per_mtok: 99999999999999999999}
)";
  auto parsed = Parse(kBad);
  ASSERT_FALSE(parsed);
  const std::string p = "m.yaml:";
  EXPECT_EQ(Messages(parsed.error()),
            (std::vector<std::string>{
                "m.yaml:3: backends[0].prices.gpt-4o.input_per_mtok: must not be negative, got -1",
                "m.yaml:4: backends[0].prices.gpt-4o.output_per_mtok: expected a number of USD per million "
                "tokens (e.g. 2.5), got 'abc'",
                "m.yaml:5: backends[0].prices.gpt-4o.cache_read_per_mtok: at most 6 decimal places (1 "
                "micro-USD per million tokens), got 0.0000001",
                "m.yaml:6: backends[0].prices.gpt-4o.inptu_per_mtok: unknown field 'inptu_per_mtok'; did you "
                "mean 'input_per_mtok'?",
                "m.yaml:7: backends[0].prices.gpt-4o.context_window: must be between 1 and 100000000, got 0",
                "m.yaml:8: backends[0].prices.gpt-4o.quality_tier: must be between 0 and 10, got 11",
                "m.yaml:9: backends[0].prices.gpt-4o.max_output_tokens: expected an integer, got '1.5'",
                "m.yaml:10: backends[0].prices.gpt-4o-mini: expected a map of prices, got a list",
                "m.yaml:11: backends[0].prices.empty-one: sets nothing; expected at least one of "
                "input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok, "
                "reasoning_per_mtok, context_window, max_output_tokens, quality_tier, above",
                "m.yaml:12: backends[0].prices.dup-field.input_per_mtok: duplicate field 'input_per_mtok' "
                "(first set at line 12)",
                "m.yaml:13: backends[0].prices.gpt-4o: duplicate model 'gpt-4o' (first set at line 2)",
                "m.yaml:14: backends[0].prices.nested.input_per_mtok: expected a number, got a map",
                "m.yaml:15: backends[0].prices.huge.output_per_mtok: expected a number of USD per million "
                "tokens (e.g. 2.5), got '99999999999999999999'",
            }));
}

TEST(ParseOverrides, NotAMap) {
  auto parsed = Parse("x: 1\nprices: [a, b]\n");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(Messages(parsed.error()),
            (std::vector<std::string>{"m.yaml:2: backends[0].prices: expected a map of model ids to prices, got a list"}));
  auto empty_model = Parse("prices: {gpt-4o: }\n");
  ASSERT_FALSE(empty_model);
  EXPECT_EQ(Messages(empty_model.error()),
            (std::vector<std::string>{"m.yaml:1: backends[0].prices.gpt-4o: expected a map of prices, got an empty value"}));
}

TEST(ParseOverrides, ScalarFilterRunsFirst) {
  ScalarFilter filter = [](std::string_view text) -> core::Result<std::string> {
    if (text == "${PRICE}") return std::string("4.5");
    if (text.starts_with("${")) return core::Fail(core::ErrorCode::kInvalidRequest, "environment variable 'NOPE' is not set");
    return std::string(text);
  };
  auto ok = Parse("prices:\n  m: {input_per_mtok: '${PRICE}', output_per_mtok: 9}\n", filter);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("m").input, 4'500'000);
  EXPECT_EQ(ok->at("m").output, 9'000'000);
  auto bad = Parse("prices:\n  m: {input_per_mtok: '${NOPE}'}\n", filter);
  ASSERT_FALSE(bad);
  EXPECT_EQ(Messages(bad.error()), (std::vector<std::string>{
                                       "m.yaml:2: backends[0].prices.m.input_per_mtok: environment variable "
                                       "'NOPE' is not set"}));
}

TEST(ParseOverrides, Tiers) {
  auto parsed = Parse(R"(prices:
  gpt-x:
    input_per_mtok: 3
    above:
      272000: {input_per_mtok: 7.5}
      200000: {input_per_mtok: 6, output_per_mtok: 22.5, cache_read_per_mtok: 0.6,
               cache_write_per_mtok: 7.5, reasoning_per_mtok: 30}
  flat-now: {above: {}}
)");
  ASSERT_TRUE(parsed) << Messages(parsed.error()).front();
  const PriceOverride& x = parsed->at("gpt-x");
  EXPECT_EQ(x.input, 3'000'000);
  ASSERT_TRUE(x.tiers);
  EXPECT_EQ(*x.tiers, (std::vector<PriceTier>{
                          PriceTier{.above_tokens = 200'000, .input = 6'000'000, .output = 22'500'000,
                                    .cache_read = 600'000, .cache_write = 7'500'000, .reasoning = 30'000'000},
                          PriceTier{.above_tokens = 272'000, .input = 7'500'000},
                      }));
  EXPECT_EQ(parsed->at("flat-now").tiers, std::vector<PriceTier>{});
  // Thresholds go through the scalar filter too.
  ScalarFilter filter = [](std::string_view text) -> core::Result<std::string> {
    return std::string(text == "${T}" ? "128000" : text);
  };
  auto filtered = Parse("prices:\n  m: {above: {'${T}': {input_per_mtok: 1}}}\n", filter);
  ASSERT_TRUE(filtered);
  ASSERT_TRUE(filtered->at("m").tiers);
  EXPECT_EQ(filtered->at("m").tiers->at(0).above_tokens, 128'000);
}

TEST(ParseOverrides, TierProblemsNameTheField) {
  constexpr const char* kBad = R"(prices:
  a: {above: [200000]}
  b:
    above:
      abc: {input_per_mtok: 1}
      0: {input_per_mtok: 1}
      -5: {input_per_mtok: 1}
      100000001: {input_per_mtok: 1}
      200000: {input_per_mtok: -6}
      200000: {input_per_mtok: 6}
      300000: 6
      400000: {}
      500000: {inptu_per_mtok: 1, context_window: 10}
      600000: {output_per_mtok: 1.0000001, output_per_mtok: 2}
      700000:
  c: {above: 5}
)";
  auto parsed = Parse(kBad);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(Messages(parsed.error()),
            (std::vector<std::string>{
                "m.yaml:2: backends[0].prices.a.above: expected a map of prompt-token thresholds to prices (e.g. "
                "200000: {input_per_mtok: 6}), got a list",
                "m.yaml:5: backends[0].prices.b.above.abc: expected an integer, got 'abc'",
                "m.yaml:6: backends[0].prices.b.above.0: must be between 1 and 100000000, got 0",
                "m.yaml:7: backends[0].prices.b.above.-5: must not be negative, got -5",
                "m.yaml:8: backends[0].prices.b.above.100000001: must be between 1 and 100000000, got 100000001",
                "m.yaml:9: backends[0].prices.b.above.200000.input_per_mtok: must not be negative, got -6",
                "m.yaml:10: backends[0].prices.b.above.200000: duplicate threshold 200000 (first set at line 9)",
                "m.yaml:11: backends[0].prices.b.above.300000: expected a map of prices, got a scalar",
                "m.yaml:12: backends[0].prices.b.above.400000: sets nothing; expected at least one of "
                "input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok, reasoning_per_mtok",
                "m.yaml:13: backends[0].prices.b.above.500000.inptu_per_mtok: unknown field 'inptu_per_mtok'; did "
                "you mean 'input_per_mtok'?",
                "m.yaml:13: backends[0].prices.b.above.500000.context_window: unknown field 'context_window'",
                "m.yaml:14: backends[0].prices.b.above.600000.output_per_mtok: at most 6 decimal places (1 "
                "micro-USD per million tokens), got 1.0000001",
                "m.yaml:14: backends[0].prices.b.above.600000.output_per_mtok: duplicate field 'output_per_mtok' "
                "(first set at line 14)",
                "m.yaml:15: backends[0].prices.b.above.700000: expected a map of prices, got an empty value",
                "m.yaml:16: backends[0].prices.c.above: expected a map of prompt-token thresholds to prices (e.g. "
                "200000: {input_per_mtok: 6}), got a scalar",
            }));
}

TEST(Merge, Tiers) {
  auto parsed = Parse(R"(prices:
  claude-sonnet-4-5: {input_per_mtok: 2.7}
  gemini-2.5-pro:
    above:
      200000: {input_per_mtok: 2, output_per_mtok: 12}
  gpt-4o: {above: {}}
  my-long: {input_per_mtok: 1, output_per_mtok: 2, above: {100000: {input_per_mtok: 4}}}
)");
  ASSERT_TRUE(parsed) << Messages(parsed.error()).front();
  // Overriding a base price keeps the catalog's tiers (above 200k: $6 in, $22.50 out).
  std::optional<Entry> claude = Resolve(Real(), "claude-sonnet-4-5", "anthropic", &*parsed);
  ASSERT_TRUE(claude);
  EXPECT_EQ(claude->prices.input, 2'700'000);
  EXPECT_EQ(claude->prices.tiers, Real().FindKey("claude-sonnet-4-5")->prices.tiers);
  // 200000 × 2.7 = 540000; 200001 × 6 + 1000 × 22.5 = 1200006 + 22500.
  EXPECT_EQ(Cost(*claude, Usage{.input_tokens = 200'000}), 540'000);
  EXPECT_EQ(Cost(*claude, Usage{.input_tokens = 200'001, .output_tokens = 1'000}), 1'222'506);
  // `above` replaces the catalog's tiers as a whole: the catalog's cache-read tier price is gone,
  // so cache reads above 200k pay the base $0.125 of the (Vertex) gemini-2.5-pro entry.
  std::optional<Entry> gemini = Resolve(Real(), "gemini-2.5-pro", "", &*parsed);
  ASSERT_TRUE(gemini);
  EXPECT_EQ(gemini->prices.input, 1'250'000);
  EXPECT_EQ(gemini->prices.tiers, (std::vector<PriceTier>{PriceTier{.above_tokens = 200'000, .input = 2'000'000,
                                                                     .output = 12'000'000}}));
  // 100001 × 2 + 100000 × 0.125 + 10 × 12 = 200002 + 12500 + 120.
  EXPECT_EQ(Cost(*gemini, Usage{.input_tokens = 200'001, .output_tokens = 10, .cache_read_tokens = 100'000}),
            212'622);
  // `above: {}` clears them.
  std::optional<Entry> gpt = Resolve(Real(), "gpt-4o", "openai", &*parsed);
  ASSERT_TRUE(gpt);
  EXPECT_TRUE(gpt->prices.tiers.empty());
  // A model only the override knows, with a tier: bound and cost use it.
  std::optional<Entry> mine = Resolve(Real(), "my-long", "vllm", &*parsed);
  ASSERT_TRUE(mine);
  // 100001 × 4 + 10 × 2 = 400024.
  EXPECT_EQ(Cost(*mine, Usage{.input_tokens = 100'001, .output_tokens = 10}), 400'024);
  EXPECT_EQ(UpperBoundCost(*mine, 100'001, 10), 400'024);
  EXPECT_EQ(UpperBoundCost(*mine, 100'000, 10), 100'020);
}

TEST(Merge, OverrideReplacesOnlyTheFieldsItSets) {
  auto parsed = Parse(kGood);
  ASSERT_TRUE(parsed);
  std::optional<Entry> gpt = Resolve(Real(), "gpt-4o", "openai", &*parsed);
  ASSERT_TRUE(gpt);
  EXPECT_EQ(gpt->key, "gpt-4o");
  EXPECT_TRUE(gpt->overridden);
  EXPECT_EQ(gpt->prices, (Prices{.input = 2'750'000, .output = 11'000'000, .cache_read = 1'375'000,
                                 .cache_write = std::nullopt, .reasoning = std::nullopt}));
  EXPECT_EQ(gpt->max_input_tokens, 128000);  // kept from the catalog
  EXPECT_EQ(gpt->max_output_tokens, 16384);
  EXPECT_TRUE(gpt->capabilities.vision);
  EXPECT_EQ(gpt->quality_tier, std::nullopt);
  // 1000 × 2.75 + 100 × 11 = 2750 + 1100 = 3850 µUSD (catalog prices would give 3500).
  EXPECT_EQ(Cost(*gpt, Usage{.input_tokens = 1000, .output_tokens = 100}), 3850);
  // The same model on an Azure backend: azure/gpt-4o with the override on top.
  std::optional<Entry> azure = Resolve(Real(), "gpt-4o", "azure-openai", &*parsed);
  ASSERT_TRUE(azure);
  EXPECT_EQ(azure->key, "azure/gpt-4o");
  EXPECT_EQ(azure->prices.input, 2'750'000);
}

TEST(Merge, OverrideOnlyModelsAndUnknownModels) {
  auto parsed = Parse(kGood);
  ASSERT_TRUE(parsed);
  std::optional<Entry> ft = Resolve(Real(), "my-finetune", "vllm", &*parsed);
  ASSERT_TRUE(ft);
  EXPECT_EQ(ft->key, "my-finetune");
  EXPECT_EQ(ft->provider, "vllm");
  EXPECT_EQ(ft->mode, "");
  EXPECT_EQ(ft->max_input_tokens, 32768);
  EXPECT_EQ(ft->max_output_tokens, 4096);
  EXPECT_EQ(ft->quality_tier, 3);
  EXPECT_TRUE(ft->overridden);
  // 1000 × 0.3 + 1000 × 1.2 = 1500 µUSD; upper bound with the override's max output 4096:
  // 1000 × 0.3 + 4096 × 1.2 = 300 + 4915.2 -> 5216 (rounded up).
  EXPECT_EQ(Cost(*ft, Usage{.input_tokens = 1000, .output_tokens = 1000}), 1500);
  EXPECT_EQ(UpperBoundCost(*ft, 1000, std::nullopt), 5216);
  // No override: the catalog's entry as is.
  std::optional<Entry> mini = Resolve(Real(), "gpt-4o-mini", "openai", &*parsed);
  ASSERT_TRUE(mini);
  EXPECT_FALSE(mini->overridden);
  EXPECT_EQ(*mini, *Real().FindKey("gpt-4o-mini"));
  EXPECT_TRUE(Resolve(Real(), "gpt-4o", "openai", nullptr));
  EXPECT_FALSE(Resolve(Real(), "no-such-model", "vllm", &*parsed));
}

TEST(Merge, ApplyOverrideFieldByField) {
  Entry base;
  base.key = "m";
  base.prices = Prices{.input = 1, .output = 2, .cache_read = 3, .cache_write = 4, .reasoning = 5};
  base.max_input_tokens = 100;
  base.max_output_tokens = 10;
  PriceOverride o;
  o.cache_write = 40;
  o.max_output_tokens = 20;
  o.quality_tier = 0;
  Entry merged = ApplyOverride(base, o);
  EXPECT_EQ(merged.prices, (Prices{.input = 1, .output = 2, .cache_read = 3, .cache_write = 40, .reasoning = 5}));
  EXPECT_EQ(merged.max_input_tokens, 100);
  EXPECT_EQ(merged.max_output_tokens, 20);
  EXPECT_EQ(merged.quality_tier, 0);
  EXPECT_TRUE(merged.overridden);
}

}  // namespace
}  // namespace meridian::catalog
