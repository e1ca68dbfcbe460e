#include "catalog/cost.hpp"

#include <algorithm>
#include <limits>

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

}  // namespace

std::optional<std::int64_t> Cost(const Entry& entry, const Usage& usage) {
  const Prices& p = entry.prices;
  const std::int64_t input = Clamp0(usage.input_tokens);
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
  const Prices& p = entry.prices;
  std::optional<std::int64_t> limit = max_output_tokens ? max_output_tokens : entry.max_output_tokens;
  if (!limit) return std::nullopt;
  std::int64_t output = Clamp0(*limit);
  if (entry.max_output_tokens && max_output_tokens) output = std::min(output, *entry.max_output_tokens);
  const std::int64_t input = Clamp0(estimated_input_tokens);

  auto highest = [](std::initializer_list<std::optional<PicoUsdPerToken>> prices) {
    std::optional<PicoUsdPerToken> best;
    for (const auto& price : prices) {
      if (price && (!best || *price > *best)) best = price;
    }
    return best;
  };
  // The cache prices count only next to a base price: alone they do not bound plain tokens.
  std::optional<PicoUsdPerToken> input_price = p.input ? highest({p.input, p.cache_read, p.cache_write}) : std::nullopt;
  std::optional<PicoUsdPerToken> output_price = p.output ? highest({p.output, p.reasoning}) : std::nullopt;
  if ((input > 0 && !input_price) || (output > 0 && !output_price)) return std::nullopt;

  Wide pico = 0;
  if (input > 0) AddCapped(pico, input, *input_price);
  if (output > 0) AddCapped(pico, output, *output_price);
  return Saturate((pico + kPicoPerMicro - 1) / kPicoPerMicro);  // up
}

}  // namespace meridian::catalog
