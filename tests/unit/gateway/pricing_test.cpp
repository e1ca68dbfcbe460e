// gateway/pricing: the catalog file plus each backend's overrides, resolved per backend and
// model; the cost of a request from its usage; the cost header's decimal form.

#include "gateway/pricing.hpp"

#include <gtest/gtest.h>

#include "gateway/gateway.hpp"
#include "gateway/snapshot.hpp"

namespace meridian::gateway {
namespace {

const std::string kMini = std::string(MERIDIAN_SOURCE_DIR) + "/tests/fixtures/catalog/mini_litellm.json";

config::Config Parse(const std::string& yaml) {
  auto c = config::ParseConfig(yaml, "t.yaml");
  if (!c) {
    std::string all;
    for (const auto& i : c.error()) all += i.ToString() + "\n";
    throw std::runtime_error(all);
  }
  return *c;
}

TEST(PricingTest, FormatUsdIsExactDecimal) {
  EXPECT_EQ(FormatUsd(0), "0.000000");
  EXPECT_EQ(FormatUsd(5), "0.000005");
  EXPECT_EQ(FormatUsd(1'234'567), "1.234567");
  EXPECT_EQ(FormatUsd(-42), "-0.000042");
}

TEST(PricingTest, CatalogAndOverridesResolvePerBackend) {
  config::Config c = Parse(
      "catalog: {file: " + kMini + "}\n"
      "backends:\n"
      "  - {id: a, provider: openai, models: [gpt-sim, unpriced], tier: cloud}\n"
      "  - id: b\n    provider: simulator\n    base_url: http://127.0.0.1:9/v1\n    models: [gpt-sim]\n    tier: local\n"
      "    prices: {gpt-sim: {input_per_mtok: 0.5, output_per_mtok: 1}}\n");
  auto prices = BuildPrices(c);
  ASSERT_TRUE(prices);
  ASSERT_EQ(prices->size(), 2u);
  ASSERT_TRUE((*prices)[0].contains("gpt-sim"));
  EXPECT_FALSE((*prices)[0].contains("unpriced"));
  EXPECT_EQ((*prices)[0].at("gpt-sim").prices.input, 2'500'000);   // $2.50 per million
  EXPECT_EQ((*prices)[1].at("gpt-sim").prices.input, 500'000);     // overridden
  EXPECT_EQ((*prices)[1].at("gpt-sim").prices.output, 1'000'000);
  EXPECT_EQ((*prices)[1].at("gpt-sim").prices.cache_read, 1'250'000);  // kept from the catalog
}

TEST(PricingTest, ProblemsAreConfigIssues) {
  config::Config missing = Parse(
      "catalog: {file: /nonexistent/prices.json}\n"
      "backends:\n  - {id: a, provider: openai, models: [m1], tier: cloud}\n");
  auto r = BuildPrices(missing);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0].field, "catalog.file");

  config::Config stray = Parse(
      "backends:\n  - id: a\n    provider: openai\n    models: [m1]\n    tier: cloud\n"
      "    prices: {m2: {input_per_mtok: 1}}\n");
  auto s = BuildPrices(stray);
  ASSERT_FALSE(s);
  ASSERT_EQ(s.error().size(), 1u);
  EXPECT_EQ(s.error()[0].ToString(), "t.yaml:6: backends[0].prices.m2: 'm2' is not one of this backend's models");
}

TEST(PricingTest, RequestCostFromUsage) {
  config::Config c = Parse(
      "catalog: {file: " + kMini + "}\n"
      "backends:\n  - {id: a, provider: anthropic, models: [claude-sim], tier: cloud}\n");
  auto snap = Snapshot::Build(std::move(c));
  ASSERT_TRUE(snap) << snap.error().message;
  RequestContext ctx;
  ctx.backend = (*snap)->backends().front().get();
  ctx.upstream_model = "claude-sim";
  EXPECT_EQ(RequestCost(ctx), std::nullopt);  // usage unknown
  ctx.prompt_tokens = 1000;     // 600 uncached + 300 read + 100 written
  ctx.cached_tokens = 300;
  ctx.cache_write_tokens = 100;
  ctx.completion_tokens = 200;
  // 600 × 3 + 300 × 0.3 + 100 × 3.75 + 200 × 15 = 1800 + 90 + 375 + 3000 = 5265 micro-USD
  EXPECT_EQ(RequestCost(ctx), 5265);
  ctx.upstream_model = "other";
  EXPECT_EQ(RequestCost(ctx), std::nullopt);  // unpriced is unknown, not free
}

}  // namespace
}  // namespace meridian::gateway
