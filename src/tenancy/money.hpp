#pragma once
// Budgets in the admin API: decimal US dollars <-> integer micro-USD, exactly (no binary
// floating point on the way). Pure; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::tenancy {

// Parses a non-negative decimal amount of US dollars — digits, optionally '.' and digits
// ("12.50", "0.000001", "3") — into micro-USD. Digits below a micro-dollar must be zeros
// ("0.0000010" is 1; "0.0000001" is refused, not rounded). No sign, exponent, spaces or
// thousands separators. nullopt: not such a number, or more than int64 micro-USD.
std::optional<std::int64_t> ParseUsdMicro(std::string_view text);

// The shortest decimal text of a finite non-negative double that reads back as the same
// double, in plain notation (1e-06 -> "0.000001", 1e3 -> "1000"): how a JSON number is turned
// into text before ParseUsdMicro. nullopt for negative, NaN or infinite values.
std::optional<std::string> PlainDecimal(double value);

// micro-USD as decimal dollars without trailing zeros: 12500000 -> "12.5", 1 -> "0.000001",
// 3000000 -> "3". Negative values get a '-'.
std::string FormatUsdMicro(std::int64_t micro);

}  // namespace meridian::tenancy
