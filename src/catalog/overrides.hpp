#pragma once
// Per-backend price overrides (docs/catalog.md, "Overrides"): what `backends[].prices` in the
// configuration says about a model, laid over the catalog's entry field by field.
//
//   backends:
//     - id: azure-eu
//       prices:
//         gpt-4o: {input_per_mtok: 2.75, output_per_mtok: 11, cache_read_per_mtok: 1.375}
//         my-finetune: {input_per_mtok: 0.3, output_per_mtok: 1.2, context_window: 32768,
//                       max_output_tokens: 4096, quality_tier: 3}
//         claude-sonnet-4-5:
//           input_per_mtok: 2.7
//           above:                 # prompts of MORE than 200000 tokens (catalog.hpp, PriceTier)
//             200000: {input_per_mtok: 5.4, output_per_mtok: 20.25}
//
// The config module owns the file; it hands this module the `prices` node (ParsePriceOverrides)
// and keeps the result with the backend. Pure; thread-safe.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/error.hpp"

namespace meridian::catalog {

// One model's override; nullopt fields keep the catalog's value. Prices are in the catalog's
// unit, pico-USD per token == micro-USD per million tokens (input_per_mtok: 2.5 -> 2'500'000).
struct PriceOverride {
  std::optional<PicoUsdPerToken> input;        // input_per_mtok
  std::optional<PicoUsdPerToken> output;       // output_per_mtok
  std::optional<PicoUsdPerToken> cache_read;   // cache_read_per_mtok
  std::optional<PicoUsdPerToken> cache_write;  // cache_write_per_mtok
  std::optional<PicoUsdPerToken> reasoning;    // reasoning_per_mtok
  std::optional<std::int64_t> context_window;  // context_window -> Entry::max_input_tokens
  std::optional<std::int64_t> max_output_tokens;
  std::optional<int> quality_tier;             // 0..10, higher is better
  // above: {TOKENS: {input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok,
  // reasoning_per_mtok}} -> Prices::tiers, ascending. nullopt = keep the catalog's tiers; a set
  // value (even `above: {}`, none) replaces them all: tiers are not merged threshold by threshold.
  std::optional<std::vector<PriceTier>> tiers{};
  int line = 0;                                // of the model's key in the file, for messages
  bool operator==(const PriceOverride&) const = default;
};

// Model id (as the backend's `models` lists it) -> its override.
using PriceOverrides = std::map<std::string, PriceOverride, std::less<>>;

// Applied to each scalar's text before it is read, e.g. config::InterpolateEnv (the config
// module expands ${VAR} this way everywhere else); empty = the text as written.
using ScalarFilter = std::function<core::Result<std::string>(std::string_view)>;

// Reads a `prices` map: MODEL -> {input_per_mtok, output_per_mtok, cache_read_per_mtok,
// cache_write_per_mtok, reasoning_per_mtok, context_window, max_output_tokens, quality_tier,
// above}.
// `path` is the node's dotted path ("backends[2].prices") and `file` the file name, both for
// messages only. A null or undefined node is no overrides. Every problem is an Issue rendered
// "FILE:LINE: PATH.MODEL.FIELD: MESSAGE", all of them (ordered as found, i.e. by line):
//   expected a map of model ids to prices, got a list / a map of prices, got a scalar;
//   unknown field 'x' (with "; did you mean 'y'?" when one is close); duplicate field / model;
//   a price that is not a plain decimal number ("2.5", "10", "0.075"), is negative or has more
//   than 6 decimal places (finer than 1 micro-USD per million tokens);
//   context_window / max_output_tokens not an integer in 1..100000000; quality_tier not in 0..10;
//   a model that sets no field;
//   `above` not a map (of thresholds), a threshold not an integer in 1..100000000 or given twice,
//   a tier that is not a map, sets nothing, or has a field other than the five prices
//   ("PATH.MODEL.above.200000.input_per_mtok: must not be negative, got -6").
// Never throws.
std::expected<PriceOverrides, std::vector<Issue>> ParsePriceOverrides(const YAML::Node& node,
                                                                      std::string_view path,
                                                                      std::string_view file,
                                                                      const ScalarFilter& filter = {});

// `base` with every field `override` sets replaced; marks the result overridden.
Entry ApplyOverride(Entry base, const PriceOverride& override);

// The entry a backend prices `model` with: catalog.Find(model, provider_hint), with the
// backend's override for `model` (from `overrides`, may be null) applied on top. A model the
// catalog lacks but the backend overrides gets an entry of its own (key = model, provider =
// provider_hint, mode "" = unknown, no capabilities). nullopt when neither knows the model.
std::optional<Entry> Resolve(const Catalog& catalog, std::string_view model, std::string_view provider_hint,
                             const PriceOverrides* overrides);

}  // namespace meridian::catalog
