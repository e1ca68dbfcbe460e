#pragma once
// The model catalog (issue 5, item 1): per model its provider, mode, context limits, prices and
// capabilities, loaded from LiteLLM's model_prices_and_context_window.json; lookup by the model
// id a backend serves; cost of a request's usage. docs/catalog.md describes the format, the
// units and rounding, the lookup order and the overrides (overrides.hpp).
//
// Units. Every price is an int64 count of pico-USD per token, which is the same number as
// micro-USD per million tokens ($2.50 / 1M tokens = 2.5e-06 USD/token = 2'500'000). Why:
//   * integers do not drift: summing and multiplying token counts is exact, and a cost is
//     rounded exactly once, at the end (cost.hpp);
//   * the value is taken from the decimal text, never by multiplying a double: LiteLLM's file
//     holds prices such as 2.5e-06 that no double represents exactly, so each number is turned
//     back into its shortest round-trip decimal text (what Python wrote) and that text is
//     scaled by 10^12 exactly (decimal.hpp). Configuration overrides are read from the YAML
//     text directly;
//   * 1 pico-USD per token is fine enough for every price in the file (the smallest are tens
//     of pico-USD per token, e.g. 2.8e-08) and int64 reaches 9.2 million USD per token. The
//     few entries with float noise in their text (databricks' 2.9999900000000002e-06) are
//     rounded half up to whole pico-USD (Entry::rounded_prices).
//   * micro-USD per million tokens is also how the configuration states overrides
//     (input_per_mtok: 2.5) and how people read prices, so numbers in logs compare at a glance.
//
// A Catalog is immutable after loading and safe to read from any number of threads.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meridian::catalog {

// Pico-USD per token == micro-USD per million tokens.
using PicoUsdPerToken = std::int64_t;

// Prices for a long prompt (LiteLLM's `<kind>_above_<N>k_tokens`): a request whose prompt has
// MORE than `above_tokens` tokens (input tokens, cache reads and writes included; cost.hpp) pays
// these instead of the base prices, each kind separately; nullopt = this tier does not reprice
// that kind and the base price applies. docs/catalog.md, "Tiers".
struct PriceTier {
  std::int64_t above_tokens = 0;               // N × 1000 for _above_<N>k_tokens
  std::optional<PicoUsdPerToken> input{};      // input_cost_per_token_above_<N>k_tokens
  std::optional<PicoUsdPerToken> output{};     // output_cost_per_token_above_<N>k_tokens
  std::optional<PicoUsdPerToken> cache_read{}; // cache_read_input_token_cost_above_<N>k_tokens
  std::optional<PicoUsdPerToken> cache_write{};// cache_creation_input_token_cost_above_<N>k_tokens
  std::optional<PicoUsdPerToken> reasoning{};  // output_cost_per_reasoning_token_above_<N>k_tokens
  bool operator==(const PriceTier&) const = default;
};

// Prices of one model; nullopt = the source does not say (not the same as 0, "free").
struct Prices {
  std::optional<PicoUsdPerToken> input{};      // input_cost_per_token
  std::optional<PicoUsdPerToken> output{};     // output_cost_per_token
  std::optional<PicoUsdPerToken> cache_read{}; // cache_read_input_token_cost
  std::optional<PicoUsdPerToken> cache_write{};// cache_creation_input_token_cost
  std::optional<PicoUsdPerToken> reasoning{};  // output_cost_per_reasoning_token
  std::vector<PriceTier> tiers{};              // ascending above_tokens, no two alike; usually empty
  bool operator==(const Prices&) const = default;
};

// LiteLLM's supports_* flags this gateway uses; absent in the file = false.
struct Capabilities {
  bool function_calling = false;  // supports_function_calling
  bool vision = false;            // supports_vision
  bool response_schema = false;   // supports_response_schema
  bool reasoning = false;         // supports_reasoning
  bool prompt_caching = false;    // supports_prompt_caching
  bool operator==(const Capabilities&) const = default;
};

struct Entry {
  std::string key;       // the catalog key ("gpt-4o", "gemini/gemini-2.5-flash"); for a model
                         // known only from an override: the model id
  std::string provider;  // litellm_provider ("openai", "azure", "vertex_ai-language-models")
  std::string mode;      // "chat", "embedding", "completion", "responses", ...; "" = not stated
  std::optional<std::int64_t> max_input_tokens;   // context window for the prompt
  std::optional<std::int64_t> max_output_tokens;  // longest completion
  Prices prices;
  Capabilities capabilities;
  std::optional<int> quality_tier;  // 0..10, higher is better; only from overrides
  bool rounded_prices = false;      // a price had digits below 1 pico-USD/token (rounded half up)
  bool overridden = false;          // a PriceOverride was applied (overrides.hpp)
  bool operator==(const Entry&) const = default;
};

// One finding, rendered like config::ConfigIssue: "FILE:LINE: FIELD: MESSAGE" (":LINE" left out
// when the line is unknown (0), "FIELD: " when empty). For the LiteLLM file FIELD is the model
// key, a dot and the field ("gpt-4o.input_cost_per_token"), and LINE is 0.
struct Issue {
  std::string file;
  int line = 0;
  std::string field;
  std::string message;
  std::string ToString() const;
  bool operator==(const Issue&) const = default;
};

// What a Meridian provider kind (config `backends[].provider`) is called in LiteLLM's file:
// the litellm_provider values that count as that provider, and the key prefixes ("azure/")
// under which the file lists its models. nullopt for a name Meridian does not know, which
// Find then takes as a LiteLLM provider name itself ("bedrock": provider "bedrock", prefix
// "bedrock/"). Local servers (llamacpp, sglang, simulator) map to no names. Thread-safe.
struct ProviderAlias {
  std::span<const std::string_view> providers;
  std::span<const std::string_view> prefixes;
};
std::optional<ProviderAlias> LiteLlmNames(std::string_view meridian_provider);

class Catalog {
 public:
  Catalog() = default;

  // Parses LiteLLM's JSON (model key -> object). Skipped without a word: "sample_spec", any
  // top-level value that is not an object ("last_updated"), and objects that carry none of
  // the fields of a model entry ("fallback_generalizations"). Unknown fields are ignored. An
  // entry with a bad field (wrong type, negative, not an integer token count, no
  // litellm_provider) is left out and each bad field is one Issue in issues(); the rest loads.
  // Tiers: every key `<kind>_above_<N>k_tokens` whose <kind> is one of the five price fields
  // and N a whole number (digits only) is a tier price checked like its base field; any other
  // `_above_` key (`..._priority`, per character / image / second, `..._above_1hr`) is ignored.
  // Fails (one Issue, FIELD empty) only when the text is not JSON or not a JSON object.
  // `file` is used in messages only. Never throws.
  static std::expected<Catalog, Issue> LoadLiteLlm(std::string_view json_text, std::string_view file);
  // Reads `path` (unreadable: one Issue naming it), then LoadLiteLlm.
  static std::expected<Catalog, Issue> LoadLiteLlmFile(const std::string& path);

  // The entry to price `model` with when a backend of provider kind `provider_hint` (Meridian's
  // name, e.g. "azure-openai", or a LiteLLM provider name; "" = unknown) serves it. Order, all
  // case-sensitive, first hit wins (docs/catalog.md, "Lookup"):
  //   1. `model` as a key whose litellm_provider is one of the hint's providers;
  //   2. PREFIX + `model` for each of the hint's prefixes ("azure/gpt-4o", "gemini/...");
  //   3. `model` as a key, whatever its provider;
  //   4. if `model` contains '/', the part after the first '/' as a key ("openai/gpt-4o").
  // nullptr when none matches. The pointer lives as long as the Catalog. Allocation-free for
  // keys up to 256 bytes.
  const Entry* Find(std::string_view model, std::string_view provider_hint = {}) const;
  // The entry stored under exactly `key`, or nullptr.
  const Entry* FindKey(std::string_view key) const;

  std::size_t size() const { return entries_.size(); }
  // Entries whose mode is `mode` ("chat").
  std::size_t CountMode(std::string_view mode) const;
  // Entries left out while loading, one Issue per bad field, in file order.
  const std::vector<Issue>& issues() const { return issues_; }
  // Visits every entry (unspecified order).
  void ForEach(const std::function<void(const Entry&)>& visit) const;

  // Adds or replaces an entry (for tests and for callers that build a catalog by hand).
  void Put(Entry entry);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  std::vector<Issue> issues_;
};

}  // namespace meridian::catalog
