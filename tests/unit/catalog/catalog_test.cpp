#include "catalog/catalog.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace meridian::catalog {
namespace {

const std::string kLiteLlmDir = std::string(MERIDIAN_SOURCE_DIR) + "/../shared/data/prices/litellm/";
const std::string kLiteLlmFile = kLiteLlmDir + "model_prices_and_context_window.json";

const Catalog& Real() {
  static const Catalog catalog = [] {
    auto loaded = Catalog::LoadLiteLlmFile(kLiteLlmFile);
    if (!loaded) ADD_FAILURE() << loaded.error().ToString();
    return loaded ? std::move(*loaded) : Catalog{};
  }();
  return catalog;
}

TEST(Issue, RendersLikeConfigIssues) {
  EXPECT_EQ((Issue{"f.json", 0, "", "boom"}).ToString(), "f.json: boom");
  EXPECT_EQ((Issue{"f.json", 0, "gpt-4o.mode", "boom"}).ToString(), "f.json: gpt-4o.mode: boom");
  EXPECT_EQ((Issue{"m.yaml", 7, "backends[0].prices", "boom"}).ToString(), "m.yaml:7: backends[0].prices: boom");
}

// Counts from the file itself (SOURCE_COMMIT.txt: 8442b93): 2,985 top-level keys less
// sample_spec, last_updated and fallback_generalizations; 2,285 of them are mode "chat".
TEST(RealCatalog, LoadsEveryModelEntry) {
  const Catalog& c = Real();
  EXPECT_EQ(c.size(), 2982u);
  EXPECT_EQ(c.CountMode("chat"), 2285u);
  EXPECT_EQ(c.CountMode("embedding"), 124u);
  EXPECT_TRUE(c.issues().empty()) << c.issues().front().ToString();
  EXPECT_EQ(c.FindKey("sample_spec"), nullptr);
  EXPECT_EQ(c.FindKey("last_updated"), nullptr);
  EXPECT_EQ(c.FindKey("fallback_generalizations"), nullptr);
  // databricks' prices with float noise (2.9999900000000002e-06) are the only inexact ones.
  std::size_t rounded = 0;
  c.ForEach([&](const Entry& e) { rounded += e.rounded_prices ? 1 : 0; });
  EXPECT_EQ(rounded, 23u);
}

// "gpt-4o": input_cost_per_token 2.5e-06, output_cost_per_token 1e-05,
// cache_read_input_token_cost 1.25e-06, max_input_tokens 128000, max_output_tokens 16384.
TEST(RealCatalog, Gpt4o) {
  const Entry* e = Real().FindKey("gpt-4o");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->provider, "openai");
  EXPECT_EQ(e->mode, "chat");
  EXPECT_EQ(e->max_input_tokens, 128000);
  EXPECT_EQ(e->max_output_tokens, 16384);
  EXPECT_EQ(e->prices.input, 2'500'000);
  EXPECT_EQ(e->prices.output, 10'000'000);
  EXPECT_EQ(e->prices.cache_read, 1'250'000);
  EXPECT_EQ(e->prices.cache_write, std::nullopt);
  EXPECT_EQ(e->prices.reasoning, std::nullopt);
  EXPECT_EQ(e->capabilities, (Capabilities{.function_calling = true, .vision = true, .response_schema = true,
                                           .reasoning = false, .prompt_caching = true}));
  EXPECT_FALSE(e->rounded_prices);
}

// "claude-sonnet-4-5": 3e-06 / 1.5e-05, cache read 3e-07, cache creation 3.75e-06, 200000/64000;
// above 200k: 6e-06 / 2.25e-05, cache read 6e-07, cache creation 7.5e-06 (its
// cache_creation_input_token_cost_above_1hr_above_200k_tokens is not a modelled kind).
TEST(RealCatalog, ClaudeSonnet45) {
  const Entry* e = Real().FindKey("claude-sonnet-4-5");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->provider, "anthropic");
  EXPECT_EQ(e->max_input_tokens, 200000);
  EXPECT_EQ(e->max_output_tokens, 64000);
  EXPECT_EQ(e->prices, (Prices{.input = 3'000'000, .output = 15'000'000, .cache_read = 300'000,
                               .cache_write = 3'750'000, .reasoning = std::nullopt,
                               .tiers = {PriceTier{.above_tokens = 200'000, .input = 6'000'000,
                                                   .output = 22'500'000, .cache_read = 600'000,
                                                   .cache_write = 7'500'000, .reasoning = std::nullopt}}}));
  EXPECT_TRUE(e->capabilities.reasoning);
  EXPECT_TRUE(e->capabilities.prompt_caching);
}

// "gemini/gemini-2.5-flash": 3e-07 / 2.5e-06, cache read 3e-08, reasoning 2.5e-06,
// 1048576/65535.
TEST(RealCatalog, Gemini25Flash) {
  const Entry* e = Real().FindKey("gemini/gemini-2.5-flash");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->provider, "gemini");
  EXPECT_EQ(e->max_input_tokens, 1048576);
  EXPECT_EQ(e->max_output_tokens, 65535);
  EXPECT_EQ(e->prices, (Prices{.input = 300'000, .output = 2'500'000, .cache_read = 30'000,
                               .cache_write = std::nullopt, .reasoning = 2'500'000}));
  EXPECT_TRUE(e->capabilities.vision);
}

// "claude-sonnet-4-20250514" (Claude Sonnet 4, 1M context): input_cost_per_token 3e-06,
// input_cost_per_token_above_200k_tokens 6e-06, output_cost_per_token 1.5e-05,
// output_cost_per_token_above_200k_tokens 2.25e-05, cache_read_input_token_cost 3e-07,
// cache_read_input_token_cost_above_200k_tokens 6e-07, cache_creation_input_token_cost 3.75e-06,
// cache_creation_input_token_cost_above_200k_tokens 7.5e-06.
TEST(RealCatalog, TiersClaudeSonnet4) {
  const Entry* e = Real().FindKey("claude-sonnet-4-20250514");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->max_input_tokens, 1'000'000);
  EXPECT_EQ(e->prices.input, 3'000'000);
  EXPECT_EQ(e->prices.output, 15'000'000);
  EXPECT_EQ(e->prices.cache_read, 300'000);
  EXPECT_EQ(e->prices.cache_write, 3'750'000);
  ASSERT_EQ(e->prices.tiers.size(), 1u);
  EXPECT_EQ(e->prices.tiers[0], (PriceTier{.above_tokens = 200'000, .input = 6'000'000, .output = 22'500'000,
                                           .cache_read = 600'000, .cache_write = 7'500'000,
                                           .reasoning = std::nullopt}));
}

// "gemini/gemini-2.5-pro": input 1.25e-06 (above 200k 2.5e-06), output 1e-05 (above 200k
// 1.5e-05), cache read 1.25e-07 (above 200k 2.5e-07), no cache creation price; its
// *_above_200k_tokens_priority prices are not read.
TEST(RealCatalog, TiersGemini25Pro) {
  const Entry* e = Real().FindKey("gemini/gemini-2.5-pro");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->provider, "gemini");
  EXPECT_EQ(e->prices, (Prices{.input = 1'250'000, .output = 10'000'000, .cache_read = 125'000,
                               .cache_write = std::nullopt, .reasoning = std::nullopt,
                               .tiers = {PriceTier{.above_tokens = 200'000, .input = 2'500'000,
                                                   .output = 15'000'000, .cache_read = 250'000,
                                                   .cache_write = std::nullopt, .reasoning = std::nullopt}}}));
}

// Other thresholds: gpt-5.6 above 272k (cache creation 1.25e-05 included), minimax above 512k,
// the 2025-05-31 snapshot's gemini/gemini-1.5-pro above 128k (7e-06 / 2.1e-05).
TEST(RealCatalog, TiersAtOtherThresholds) {
  const Entry* gpt = Real().FindKey("gpt-5.6");
  ASSERT_NE(gpt, nullptr);
  ASSERT_EQ(gpt->prices.tiers.size(), 1u);
  EXPECT_EQ(gpt->prices.tiers[0], (PriceTier{.above_tokens = 272'000, .input = 10'000'000, .output = 45'000'000,
                                             .cache_read = 1'000'000, .cache_write = 12'500'000,
                                             .reasoning = std::nullopt}));
  const Entry* minimax = Real().FindKey("minimax/MiniMax-M3");
  ASSERT_NE(minimax, nullptr);
  ASSERT_EQ(minimax->prices.tiers.size(), 1u);
  EXPECT_EQ(minimax->prices.tiers[0].above_tokens, 512'000);
  EXPECT_EQ(minimax->prices.tiers[0].input, 600'000);
  auto old = Catalog::LoadLiteLlmFile(kLiteLlmDir + "model_prices_and_context_window_2025-05-31.json");
  ASSERT_TRUE(old);
  const Entry* pro15 = old->FindKey("gemini/gemini-1.5-pro");
  ASSERT_NE(pro15, nullptr);
  ASSERT_EQ(pro15->prices.tiers.size(), 1u);
  EXPECT_EQ(pro15->prices.tiers[0], (PriceTier{.above_tokens = 128'000, .input = 7'000'000, .output = 21'000'000,
                                               .cache_read = std::nullopt, .cache_write = std::nullopt,
                                               .reasoning = std::nullopt}));
  // Counted with a script over the files: entries with any tier, and tiers per threshold.
  auto count = [](const Catalog& c, std::int64_t above) {
    std::size_t n = 0;
    c.ForEach([&](const Entry& e) {
      for (const PriceTier& t : e.prices.tiers) n += (above == 0 || t.above_tokens == above) ? 1 : 0;
    });
    return n;
  };
  EXPECT_EQ(count(Real(), 0), 111u);
  EXPECT_EQ(count(Real(), 200'000), 49u);
  EXPECT_EQ(count(Real(), 272'000), 46u);
  EXPECT_EQ(count(Real(), 128'000), 14u);
  EXPECT_EQ(count(*old, 128'000), 38u);
  EXPECT_EQ(count(*old, 200'000), 9u);
}

TEST(RealCatalog, WholeNumberDoublesAreTokenCounts) {
  // "xai/grok-4-fast-reasoning": max_input_tokens 2000000.0
  const Entry* e = Real().FindKey("xai/grok-4-fast-reasoning");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->max_input_tokens, 2'000'000);
}

// Every loaded price agrees with the double in the file to within the pico-USD rounding.
TEST(RealCatalog, EveryPriceMatchesTheFile) {
  std::ifstream in(kLiteLlmFile);
  std::stringstream text;
  text << in.rdbuf();
  boost::json::object root = boost::json::parse(text.str()).as_object();
  std::size_t checked = 0;
  Real().ForEach([&](const Entry& e) {
    const boost::json::object& o = root.at(e.key).as_object();
    auto check = [&](std::string_view field, const std::optional<PicoUsdPerToken>& price) {
      const boost::json::value* v = o.if_contains(field);
      ASSERT_EQ(v != nullptr, price.has_value()) << e.key << "." << field;
      if (v == nullptr) return;
      double usd = v->to_number<double>();
      EXPECT_LE(std::fabs(static_cast<double>(*price) - usd * 1e12), 0.5 + usd * 1e12 * 1e-15) << e.key << "." << field;
      ++checked;
    };
    check("input_cost_per_token", e.prices.input);
    check("output_cost_per_token", e.prices.output);
    check("cache_read_input_token_cost", e.prices.cache_read);
    check("cache_creation_input_token_cost", e.prices.cache_write);
    check("output_cost_per_reasoning_token", e.prices.reasoning);
    for (const PriceTier& t : e.prices.tiers) {
      const std::string above = fmt::format("_above_{}k_tokens", t.above_tokens / 1000);
      ASSERT_EQ(t.above_tokens % 1000, 0) << e.key;
      check("input_cost_per_token" + above, t.input);
      check("output_cost_per_token" + above, t.output);
      check("cache_read_input_token_cost" + above, t.cache_read);
      check("cache_creation_input_token_cost" + above, t.cache_write);
      check("output_cost_per_reasoning_token" + above, t.reasoning);
    }
  });
  EXPECT_GT(checked, 5000u);
  // Every tier price of the file was loaded: as many as the file has keys of that form.
  std::size_t in_file = 0, loaded = 0;
  static const std::regex kTierKey(
      "(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost|"
      "output_cost_per_reasoning_token)_above_[0-9]+k_tokens");
  for (const auto& [key, value] : root) {
    if (key == "sample_spec" || !value.is_object()) continue;
    for (const auto& field : value.as_object()) in_file += std::regex_match(std::string(field.key()), kTierKey) ? 1 : 0;
  }
  Real().ForEach([&](const Entry& e) {
    for (const PriceTier& t : e.prices.tiers) {
      for (const auto* p : {&t.input, &t.output, &t.cache_read, &t.cache_write, &t.reasoning}) loaded += p->has_value() ? 1 : 0;
    }
  });
  EXPECT_EQ(loaded, in_file);
  EXPECT_EQ(loaded, 354u);
}

TEST(RealCatalog, HistoricalSnapshotLoadsToo) {
  auto old = Catalog::LoadLiteLlmFile(kLiteLlmDir + "model_prices_and_context_window_2025-05-31.json");
  ASSERT_TRUE(old) << old.error().ToString();
  EXPECT_EQ(old->size(), 1047u);
  EXPECT_EQ(old->CountMode("chat"), 837u);
  EXPECT_TRUE(old->issues().empty());
  ASSERT_NE(old->FindKey("gpt-4o"), nullptr);
  EXPECT_EQ(old->FindKey("gpt-4o")->prices.input, 2'500'000);
}

TEST(Lookup, ProviderForms) {
  const Catalog& c = Real();
  auto key = [&](std::string_view model, std::string_view hint) -> std::string {
    const Entry* e = c.Find(model, hint);
    return e ? e->key : "<none>";
  };
  EXPECT_EQ(key("gpt-4o", ""), "gpt-4o");
  EXPECT_EQ(key("gpt-4o", "openai"), "gpt-4o");
  EXPECT_EQ(key("gpt-4o", "azure-openai"), "azure/gpt-4o");
  EXPECT_EQ(key("claude-sonnet-4-5", "anthropic"), "claude-sonnet-4-5");
  EXPECT_EQ(key("gemini-2.5-flash", ""), "gemini-2.5-flash");  // vertex_ai-language-models
  EXPECT_EQ(key("gemini-2.5-flash", "gemini"), "gemini/gemini-2.5-flash");
  EXPECT_EQ(key("mistral-large-latest", "mistral"), "mistral/mistral-large-latest");
  EXPECT_EQ(key("deepseek-reasoner", "deepseek"), "deepseek-reasoner");  // bare key, provider deepseek
  EXPECT_EQ(key("deepseek-reasoner", ""), "deepseek-reasoner");
  EXPECT_EQ(key("qwen-flash", "qwen"), "dashscope/qwen-flash");
  // An unmapped hint is a LiteLLM provider name.
  EXPECT_EQ(key("gemini-2.5-flash", "vertex_ai-language-models"), "gemini-2.5-flash");
  // A hint that matches nothing falls back to the bare key.
  EXPECT_EQ(key("gpt-4o", "simulator"), "gpt-4o");
  EXPECT_EQ(key("claude-sonnet-4-5", "no-such-provider"), "claude-sonnet-4-5");
  // "provider/model" sent by a client: the part after the first '/'.
  EXPECT_EQ(key("openai/gpt-4o", ""), "gpt-4o");
  // Case-sensitive; unknown; empty.
  EXPECT_EQ(key("GPT-4o", ""), "<none>");
  EXPECT_EQ(key("no-such-model", "openai"), "<none>");
  EXPECT_EQ(key("", "openai"), "<none>");
  EXPECT_EQ(key("openai/", ""), "<none>");
}

Entry Make(std::string key, std::string provider) {
  Entry e;
  e.key = std::move(key);
  e.provider = std::move(provider);
  return e;
}

TEST(Lookup, Order) {
  Catalog c;
  c.Put(Make("m", "vertex_ai"));
  c.Put(Make("gemini/m", "gemini"));
  c.Put(Make("n", "gemini"));
  c.Put(Make("gemini/n", "gemini"));
  // 1. bare key of the hinted provider beats 2. the prefixed key.
  EXPECT_EQ(c.Find("n", "gemini")->key, "n");
  // 2. the prefixed key beats 3. a bare key of another provider.
  EXPECT_EQ(c.Find("m", "gemini")->key, "gemini/m");
  // 3. without a hint: the bare key.
  EXPECT_EQ(c.Find("m")->key, "m");
  // An unmapped hint: the bare key of that provider, then HINT/model.
  EXPECT_EQ(c.Find("m", "vertex_ai")->key, "m");
  c.Put(Make("bedrock/m", "bedrock"));
  EXPECT_EQ(c.Find("m", "bedrock")->key, "bedrock/m");
  // Keys longer than the stack buffer.
  std::string long_model(300, 'x');
  c.Put(Make("azure/" + long_model, "azure"));
  ASSERT_NE(c.Find(long_model, "azure-openai"), nullptr);
  EXPECT_EQ(c.Find(long_model, "azure-openai")->key, "azure/" + long_model);
  // Put replaces.
  Entry again = Make("m", "other");
  c.Put(again);
  EXPECT_EQ(c.FindKey("m")->provider, "other");
}

TEST(Lookup, ProviderNames) {
  auto azure = LiteLlmNames("azure-openai");
  ASSERT_TRUE(azure);
  ASSERT_EQ(azure->prefixes.size(), 1u);
  EXPECT_EQ(azure->prefixes[0], "azure/");
  auto sim = LiteLlmNames("simulator");
  ASSERT_TRUE(sim);
  EXPECT_TRUE(sim->providers.empty());
  EXPECT_FALSE(LiteLlmNames("bedrock"));
}

TEST(Malformed, EachBadFieldIsReportedAndTheRestLoads) {
  constexpr std::string_view kJson = R"({
    "sample_spec": {"input_cost_per_token": "nonsense", "litellm_provider": "x"},
    "last_updated": "2026-01-01",
    "meta": {"rules": []},
    "good": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06,
             "output_cost_per_token": 2e-06, "unknown_field": {"x": [1, 2]}, "supports_vision": true},
    "bad-price": {"litellm_provider": "openai", "input_cost_per_token": "0.001"},
    "neg": {"litellm_provider": "openai", "output_cost_per_token": -1e-06},
    "neg-tokens": {"litellm_provider": "openai", "max_output_tokens": -5},
    "frac-tokens": {"litellm_provider": "openai", "max_input_tokens": 1.5},
    "no-provider": {"mode": "chat"},
    "bad-flag": {"litellm_provider": "openai", "supports_vision": "yes"},
    "two-bad": {"litellm_provider": 7, "mode": ["chat"]},
    "null-price": {"litellm_provider": "openai", "input_cost_per_token": null},
    "empty-provider": {"litellm_provider": ""},
    "float-tokens": {"litellm_provider": "xai", "max_input_tokens": 2000000.0},
    "noisy": {"litellm_provider": "databricks", "input_cost_per_token": 2.9999900000000002e-06},
    "int-price": {"litellm_provider": "ollama", "input_cost_per_token": 0, "output_cost_per_token": 1}
  })";
  auto loaded = Catalog::LoadLiteLlm(kJson, "t.json");
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  std::vector<std::string> messages;
  for (const Issue& i : loaded->issues()) messages.push_back(i.ToString());
  EXPECT_EQ(messages, (std::vector<std::string>{
                          "t.json: bad-price.input_cost_per_token: expected a number (USD per token), got a string",
                          "t.json: neg.output_cost_per_token: must not be negative, got -1e-06",
                          "t.json: neg-tokens.max_output_tokens: must not be negative, got -5",
                          "t.json: frac-tokens.max_input_tokens: expected a whole number of tokens, got 1.5",
                          "t.json: no-provider.litellm_provider: required field is missing",
                          "t.json: bad-flag.supports_vision: expected true or false, got a string",
                          "t.json: two-bad.litellm_provider: expected a string, got a number",
                          "t.json: two-bad.mode: expected a string, got an array",
                          "t.json: null-price.input_cost_per_token: expected a number (USD per token), got null",
                          "t.json: empty-provider.litellm_provider: must not be empty",
                      }));
  EXPECT_EQ(loaded->size(), 4u);
  const Entry* good = loaded->FindKey("good");
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->prices.input, 1'000'000);
  EXPECT_EQ(good->prices.output, 2'000'000);
  EXPECT_TRUE(good->capabilities.vision);
  EXPECT_EQ(loaded->FindKey("float-tokens")->max_input_tokens, 2'000'000);
  EXPECT_EQ(loaded->FindKey("noisy")->prices.input, 2'999'990);
  EXPECT_TRUE(loaded->FindKey("noisy")->rounded_prices);
  EXPECT_EQ(loaded->FindKey("int-price")->prices.input, 0);
  EXPECT_EQ(loaded->FindKey("int-price")->prices.output, 1'000'000'000'000);
  EXPECT_EQ(loaded->FindKey("bad-price"), nullptr);
  EXPECT_EQ(loaded->FindKey("meta"), nullptr);
}

TEST(Tiers, ParsedFromAnyThresholdAndSorted) {
  constexpr std::string_view kJson = R"({
    "m": {"litellm_provider": "x", "input_cost_per_token": 1e-06,
          "input_cost_per_token_above_272k_tokens": 3e-06,
          "output_cost_per_reasoning_token_above_1000k_tokens": 9e-06,
          "input_cost_per_token_above_128k_tokens": 2e-06,
          "cache_creation_input_token_cost_above_128k_tokens": 2.5e-06,
          "input_cost_per_token_above_272k_tokens_priority": "ignored",
          "cache_creation_input_token_cost_above_1hr_above_128k_tokens": "ignored",
          "input_cost_per_character_above_128k_tokens": "ignored",
          "input_cost_per_token_above_k_tokens": "ignored",
          "input_cost_per_token_above_1x8k_tokens": "ignored",
          "input_cost_per_token_above_128_tokens": "ignored",
          "foo_above_128k_tokens": "ignored"}
  })";
  auto loaded = Catalog::LoadLiteLlm(kJson, "t.json");
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(loaded->issues().empty()) << loaded->issues().front().ToString();
  const Entry* m = loaded->FindKey("m");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->prices.tiers,
            (std::vector<PriceTier>{
                PriceTier{.above_tokens = 128'000, .input = 2'000'000, .output = std::nullopt,
                          .cache_read = std::nullopt, .cache_write = 2'500'000, .reasoning = std::nullopt},
                PriceTier{.above_tokens = 272'000, .input = 3'000'000, .output = std::nullopt,
                          .cache_read = std::nullopt, .cache_write = std::nullopt, .reasoning = std::nullopt},
                PriceTier{.above_tokens = 1'000'000, .input = std::nullopt, .output = std::nullopt,
                          .cache_read = std::nullopt, .cache_write = std::nullopt, .reasoning = 9'000'000},
            }));
}

TEST(Tiers, BadTierPricesAreIssuesLikeBasePrices) {
  constexpr std::string_view kJson = R"({
    "str": {"litellm_provider": "x", "input_cost_per_token_above_200k_tokens": "6e-06"},
    "neg": {"litellm_provider": "x", "output_cost_per_token_above_128k_tokens": -1e-06},
    "nul": {"litellm_provider": "x", "cache_read_input_token_cost_above_272k_tokens": null},
    "ok": {"litellm_provider": "x", "cache_creation_input_token_cost_above_200k_tokens": 0}
  })";
  auto loaded = Catalog::LoadLiteLlm(kJson, "t.json");
  ASSERT_TRUE(loaded);
  std::vector<std::string> messages;
  for (const Issue& i : loaded->issues()) messages.push_back(i.ToString());
  EXPECT_EQ(messages,
            (std::vector<std::string>{
                "t.json: str.input_cost_per_token_above_200k_tokens: expected a number (USD per token), got a string",
                "t.json: neg.output_cost_per_token_above_128k_tokens: must not be negative, got -1e-06",
                "t.json: nul.cache_read_input_token_cost_above_272k_tokens: expected a number (USD per token), got null",
            }));
  EXPECT_EQ(loaded->size(), 1u);
  ASSERT_NE(loaded->FindKey("ok"), nullptr);
  ASSERT_EQ(loaded->FindKey("ok")->prices.tiers.size(), 1u);
  EXPECT_EQ(loaded->FindKey("ok")->prices.tiers[0].cache_write, 0);
}

TEST(Malformed, FatalErrors) {
  auto not_json = Catalog::LoadLiteLlm("{\"a\": ", "t.json");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().ToString().rfind("t.json: not valid JSON: ", 0), 0u) << not_json.error().ToString();
  auto array = Catalog::LoadLiteLlm("[1, 2]", "t.json");
  ASSERT_FALSE(array);
  EXPECT_EQ(array.error().ToString(), "t.json: expected a JSON object of models, got an array");
  auto missing = Catalog::LoadLiteLlmFile("/nonexistent/prices.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().ToString(), "/nonexistent/prices.json: cannot read the model catalog file");
  auto empty = Catalog::LoadLiteLlm("{}", "t.json");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->size(), 0u);
}

}  // namespace
}  // namespace meridian::catalog
