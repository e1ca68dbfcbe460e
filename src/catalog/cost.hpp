#pragma once
// What a request costs, in micro-USD (store::UsageRecord::cost_micro_usd), from a catalog
// Entry's prices (pico-USD per token, catalog.hpp). docs/catalog.md, "Cost". Pure; thread-safe.

#include <cstdint>
#include <optional>

#include "catalog/catalog.hpp"

namespace meridian::catalog {

// A response's token counts, as dialect::Usage reports them (the caller copies them over; an
// absent count is 0). cache_read_tokens and cache_write_tokens are parts of input_tokens,
// reasoning_tokens is a part of output_tokens.
struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_write_tokens = 0;
  std::int64_t reasoning_tokens = 0;
};

// The long-prompt tier a request pays (catalog.hpp, PriceTier): of the tiers whose above_tokens
// `prompt_tokens` exceeds — strictly: a 200,000-token prompt is not above 200,000 — the one with
// the highest threshold (a pointer into `prices`); nullptr when there is none (base prices).
// `prompt_tokens` is the request's whole prompt, Usage::input_tokens: uncached input, cache
// reads and cache writes, which is what Anthropic ("based solely on input tokens (including
// cache reads/writes)") and Google (promptTokenCount includes cached content) compare with the
// threshold.
const PriceTier* TierFor(const Prices& prices, std::int64_t prompt_tokens);

// Cost in micro-USD, rounded half up once, at the end:
//     (input − cache_read − cache_write) × input price
//   + cache_read × cache_read price          (none: the input price)
//   + cache_write × cache_write price        (none: the input price)
//   + (output − reasoning) × output price
//   + reasoning × reasoning price            (none: the output price)
// Counts are sanitised first: a negative count is 0, cache_read is at most input, cache_write
// at most what input leaves after cache_read, reasoning at most output. Each price is the one of
// TierFor(prices, input_tokens) when that tier sets it, else the base price; the fallbacks above
// then work on those (a tier's input price stands in for a missing cache price). The sum is exact
// (128-bit); a result beyond int64 is INT64_MAX.
// nullopt when a count that is not 0 needs a price the entry lacks (no input price with
// input tokens, no output price with output tokens): the request is "unpriced", not free.
std::optional<std::int64_t> Cost(const Entry& entry, const Usage& usage);

// An upper bound of Cost for budget reservation (issue 6), in micro-USD, rounded UP so that the
// reservation is never below the cost it stands for:
//   estimated_input_tokens × the highest of the input, cache_read and cache_write prices
// + output limit × the higher of the output and reasoning prices,
// where the output limit is `max_output_tokens` (the request's own limit), capped at
// entry.max_output_tokens; nullopt `max_output_tokens` = entry.max_output_tokens.
// With tiers, each of the two prices is the highest over the base prices and every tier that a
// prompt of up to `estimated_input_tokens` tokens could reach (above_tokens below it), so a usage
// with fewer input tokens than the estimate, in a lower tier, is covered too. The caller adds its
// margin to an estimate before the call: the bound holds for prompts up to the count given.
// nullopt when the output limit is unknown (neither given) or a needed price is missing (in the
// base prices or in a reachable tier's).
std::optional<std::int64_t> UpperBoundCost(const Entry& entry, std::int64_t estimated_input_tokens,
                                           std::optional<std::int64_t> max_output_tokens);

}  // namespace meridian::catalog
