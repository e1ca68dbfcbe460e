#include "tenancy/money.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace meridian::tenancy {

std::optional<std::int64_t> ParseUsdMicro(std::string_view text) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty()) return std::nullopt;
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;  // "12." is not a number here
  auto digits = [](std::string_view s) {
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (!digits(whole) || !digits(frac)) return std::nullopt;
  std::int64_t value = 0;
  for (char c : whole) {
    const int d = c - '0';
    if (value > (kMax - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  for (std::size_t i = 0; i < 6; ++i) {
    const int d = i < frac.size() ? frac[i] - '0' : 0;
    if (value > (kMax - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  for (std::size_t i = 6; i < frac.size(); ++i) {
    if (frac[i] != '0') return std::nullopt;  // below a micro-dollar: refused rather than rounded
  }
  return value;
}

std::optional<std::string> PlainDecimal(double value) {
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  if (ec != std::errc()) return std::nullopt;
  return std::string(buf, end);
}

std::string FormatUsdMicro(std::int64_t micro) {
  std::string sign;
  std::uint64_t v;
  if (micro < 0) {
    sign = "-";
    v = static_cast<std::uint64_t>(-(micro + 1)) + 1;
  } else {
    v = static_cast<std::uint64_t>(micro);
  }
  std::string out = sign + std::to_string(v / 1'000'000);
  std::uint64_t frac = v % 1'000'000;
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 6 - f.size(), '0');
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

}  // namespace meridian::tenancy
