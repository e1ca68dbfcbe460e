#include "catalog/cost.hpp"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <optional>

namespace meridian::catalog {
namespace {

using Wide = __int128;
constexpr Wide kPicoPerMicro = 1'000'000;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

std::int64_t Clamp0(std::int64_t v) { return v < 0 ? 0 : v; }

// Above this many pico-USD the result saturates anyway; capping each partial sum there keeps
// every addition within 128 bits (one product is below 2^126).
constexpr Wide kPicoCap = (static_cast<Wide>(kInt64Max) + 1) * kPicoPerMicro;

void AddCapped(Wide& sum, std::int64_t tokens, PicoUsdPerToken price) {
  sum += static_cast<Wide>(tokens) * price;
  if (sum > kPicoCap) sum = kPicoCap;
}

std::int64_t Saturate(Wide micro) { return micro > kInt64Max ? kInt64Max : static_cast<std::int64_t>(micro); }

// The five prices one request pays: the base ones with a tier's laid over them.
struct Rates {
  std::optional<PicoUsdPerToken> input, output, cache_read, cache_write, reasoning;
};

Rates BaseRates(const Prices& p) { return Rates{p.input, p.output, p.cache_read, p.cache_write, p.reasoning}; }

Rates Overlay(Rates r, const PriceTier* tier) {
  if (tier == nullptr) return r;
  if (tier->input) r.input = tier->input;
  if (tier->output) r.output = tier->output;
  if (tier->cache_read) r.cache_read = tier->cache_read;
  if (tier->cache_write) r.cache_write = tier->cache_write;
  if (tier->reasoning) r.reasoning = tier->reasoning;
  return r;
}

std::optional<PicoUsdPerToken> Highest(std::initializer_list<std::optional<PicoUsdPerToken>> prices) {
  std::optional<PicoUsdPerToken> best;
  for (const auto& price : prices) {
    if (price && (!best || *price > *best)) best = price;
  }
  return best;
}

}  // namespace

const PriceTier* TierFor(const Prices& prices, std::int64_t prompt_tokens) {
  const PriceTier* found = nullptr;
  for (const PriceTier& tier : prices.tiers) {  // ascending; a handful at most
    if (prompt_tokens > tier.above_tokens && (found == nullptr || tier.above_tokens > found->above_tokens)) {
      found = &tier;
    }
  }
  return found;
}

std::optional<std::int64_t> Cost(const Entry& entry, const Usage& usage) {
  const std::int64_t input = Clamp0(usage.input_tokens);
  const Rates p = Overlay(BaseRates(entry.prices), TierFor(entry.prices, input));
  const std::int64_t output = Clamp0(usage.output_tokens);
  const std::int64_t cache_read = std::min(Clamp0(usage.cache_read_tokens), input);
  const std::int64_t cache_write = std::min(Clamp0(usage.cache_write_tokens), input - cache_read);
  const std::int64_t reasoning = std::min(Clamp0(usage.reasoning_tokens), output);
  const std::int64_t uncached = input - cache_read - cache_write;
  const std::int64_t plain_output = output - reasoning;

  // Each share: its own price, else the fallback; a missing price is fatal only for a count > 0.
  Wide pico = 0;
  bool priced = true;
  auto add = [&](std::int64_t tokens, const std::optional<PicoUsdPerToken>& price,
                 const std::optional<PicoUsdPerToken>& fallback) {
    if (tokens == 0) return;
    const std::optional<PicoUsdPerToken>& use = price ? price : fallback;
    if (!use) {
      priced = false;
      return;
    }
    AddCapped(pico, tokens, *use);
  };
  add(uncached, p.input, std::nullopt);
  add(cache_read, p.cache_read, p.input);
  add(cache_write, p.cache_write, p.input);
  add(plain_output, p.output, std::nullopt);
  add(reasoning, p.reasoning, p.output);
  if (!priced) return std::nullopt;
  return Saturate((pico + kPicoPerMicro / 2) / kPicoPerMicro);  // half up, once
}

std::optional<std::int64_t> UpperBoundCost(const Entry& entry, std::int64_t estimated_input_tokens,
                                           std::optional<std::int64_t> max_output_tokens) {
  std::optional<std::int64_t> limit = max_output_tokens ? max_output_tokens : entry.max_output_tokens;
  if (!limit) return std::nullopt;
  std::int64_t output = Clamp0(*limit);
  if (entry.max_output_tokens && max_output_tokens) output = std::min(output, *entry.max_output_tokens);
  const std::int64_t input = Clamp0(estimated_input_tokens);

  // The dearest input-side and output-side prices of one set of rates. The cache prices count
  // only next to a base price: alone they do not bound plain tokens.
  std::optional<PicoUsdPerToken> input_price;
  std::optional<PicoUsdPerToken> output_price;
  bool missing = false;
  auto consider = [&](const Rates& r) {
    std::optional<PicoUsdPerToken> in = r.input ? Highest({r.input, r.cache_read, r.cache_write}) : std::nullopt;
    std::optional<PicoUsdPerToken> out = r.output ? Highest({r.output, r.reasoning}) : std::nullopt;
    if ((input > 0 && !in) || (output > 0 && !out)) missing = true;
    input_price = Highest({input_price, in});
    output_price = Highest({output_price, out});
  };
  // Any prompt of 0..input tokens may be served: the base rates and every reachable tier.
  const Rates base = BaseRates(entry.prices);
  consider(base);
  for (const PriceTier& tier : entry.prices.tiers) {
    if (input > tier.above_tokens) consider(Overlay(base, &tier));
  }
  if (missing) return std::nullopt;

  Wide pico = 0;
  if (input > 0) AddCapped(pico, input, *input_price);
  if (output > 0) AddCapped(pico, output, *output_price);
  return Saturate((pico + kPicoPerMicro - 1) / kPicoPerMicro);  // up
}

}  // namespace meridian::catalog
