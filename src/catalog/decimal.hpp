#pragma once
// Exact decimal text -> scaled integer, for prices (docs/catalog.md, "Units and rounding").
// Pure; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::catalog {

struct ScaledDecimal {
  std::int64_t value = 0;  // round_half_up(text × 10^scale)
  bool exact = true;       // false when non-zero digits below 10^-scale were rounded away
};

// Parses an unsigned decimal number — digits, an optional '.' with digits, an optional exponent
// ("2.5", "0.075", "3", "2.5e-06", "1E3") — and returns it multiplied by 10^scale, rounded half
// up once on the exact decimal digits (never through a double). nullopt: not such a number (a
// sign, spaces, "inf", an empty text), or the result does not fit an int64.
std::optional<ScaledDecimal> ParseScaledDecimal(std::string_view text, int scale);

// The decimal text of `d` that reads back as the same double, with the fewest digits
// (std::to_chars). For the numbers in LiteLLM's file (written by Python, whose repr is that
// same shortest form) this is the text the file holds, e.g. 2.5e-06 -> "2.5e-06".
std::string ShortestDecimal(double d);

// `scaled` / 10^scale as plain decimal text without trailing zeros: (2500000, 6) -> "2.5".
std::string FormatScaled(std::int64_t scaled, int scale);

}  // namespace meridian::catalog
