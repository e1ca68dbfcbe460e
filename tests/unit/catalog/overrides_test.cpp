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
                "reasoning_per_mtok, context_window, max_output_tokens, quality_tier",
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
