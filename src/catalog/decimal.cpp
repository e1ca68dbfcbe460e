#include "catalog/decimal.hpp"

#include <charconv>
#include <limits>

namespace meridian::catalog {

std::optional<ScaledDecimal> ParseScaledDecimal(std::string_view text, int scale) {
  // Grammar: DIGITS [ '.' DIGITS* ] [ ('e'|'E') ['+'|'-'] DIGITS ].
  std::size_t i = 0;
  const std::size_t n = text.size();
  std::string digits;  // all mantissa digits, integer part then fraction
  int frac_len = 0;
  while (i < n && text[i] >= '0' && text[i] <= '9') digits.push_back(text[i++]);
  if (digits.empty()) return std::nullopt;
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      digits.push_back(text[i++]);
      ++frac_len;
    }
  }
  long exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    std::size_t start = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      if (exponent < 100000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) return std::nullopt;
    if (negative) exponent = -exponent;
  }
  if (i != n) return std::nullopt;

  // value = int(digits) × 10^(exponent - frac_len); result = that × 10^scale.
  const long shift = exponent - frac_len + scale;
  const long len = static_cast<long>(digits.size());
  const long kept = shift >= 0 ? len : len + shift;  // digits at or above 10^0 after scaling
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t v = 0;
  auto push = [&](int digit) {
    if (v > (kMax - static_cast<std::uint64_t>(digit)) / 10) return false;
    v = v * 10 + static_cast<std::uint64_t>(digit);
    return true;
  };
  for (long k = 0; k < kept; ++k) {
    if (!push(digits[static_cast<std::size_t>(k)] - '0')) return std::nullopt;
  }
  ScaledDecimal out;
  if (shift > 0) {
    for (long k = 0; k < shift; ++k) {
      if (v == 0) break;  // zeros stay zero whatever the exponent
      if (!push(0)) return std::nullopt;
    }
  } else if (shift < 0) {
    // Digits from index max(kept, 0) on are dropped; the first dropped digit decides (half up).
    long first_dropped = kept < 0 ? -1 : kept;  // -1: a virtual leading 0 is the first dropped
    for (long k = std::max(kept, 0L); k < len; ++k) {
      if (digits[static_cast<std::size_t>(k)] != '0') out.exact = false;
    }
    if (first_dropped >= 0 && first_dropped < len && digits[static_cast<std::size_t>(first_dropped)] >= '5') {
      if (v == kMax) return std::nullopt;
      ++v;
    }
  }
  out.value = static_cast<std::int64_t>(v);
  return out;
}

std::string ShortestDecimal(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  if (ec != std::errc{}) return {};
  return std::string(buf, end);
}

std::string FormatScaled(std::int64_t scaled, int scale) {
  std::string s = std::to_string(scaled < 0 ? -scaled : scaled);
  if (scale > 0) {
    if (s.size() <= static_cast<std::size_t>(scale)) s.insert(0, static_cast<std::size_t>(scale) + 1 - s.size(), '0');
    s.insert(s.size() - static_cast<std::size_t>(scale), 1, '.');
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (scaled < 0) s.insert(0, 1, '-');
  return s;
}

}  // namespace meridian::catalog
