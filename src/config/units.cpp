#include "config/units.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>

namespace meridian::config {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr std::array<Unit, 4> kDurationUnits = {{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
constexpr std::array<Unit, 7> kSizeUnits = {{{"B", 1},
                                             {"KB", 1000},
                                             {"MB", 1000 * 1000},
                                             {"GB", 1000 * 1000 * 1000},
                                             {"KiB", 1024},
                                             {"MiB", 1024 * 1024},
                                             {"GiB", 1024ull * 1024 * 1024}}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses "<digits>[.<digits>]<unit>" exactly; `what` is "duration" or "size" and `unit_word`
// the result's base unit ("milliseconds", "bytes").
template <std::size_t N>
core::Result<uint64_t> ParseQuantity(std::string_view text, const std::array<Unit, N>& units,
                                     std::string_view what, std::string_view unit_word,
                                     std::string_view expected) {
  auto fail = [&](std::string_view why) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("invalid {} '{}': {}", what, text, why));
  };
  if (text.empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("invalid {}: empty value; {}", what, expected));
  }
  if (text.front() == '-') return fail("must not be negative");

  std::size_t i = 0;
  while (i < text.size() && IsDigit(text[i])) ++i;
  std::string_view whole = text.substr(0, i);
  std::string_view frac;
  if (i < text.size() && text[i] == '.') {
    std::size_t start = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    frac = text.substr(start, i - start);
    if (frac.empty()) return fail(fmt::format("expected digits after '.'; {}", expected));
  }
  if (whole.empty()) return fail(expected);
  std::string_view unit_text = text.substr(i);

  uint64_t factor = 1;
  if (unit_text.empty()) {
    if (!frac.empty()) {
      return fail(fmt::format("a number without a unit counts {} and must be whole; {}",
                              unit_word, expected));
    }
  } else {
    std::optional<uint64_t> found;
    for (const Unit& u : units) {
      if (u.name == unit_text) found = u.factor;
    }
    if (!found) {
      if (unit_text.front() == ' ') return fail(fmt::format("no space allowed before the unit; {}", expected));
      return fail(fmt::format("unknown unit '{}'; {}", unit_text, expected));
    }
    factor = *found;
  }

  // Exact arithmetic: value = whole * factor + frac * factor / 10^len(frac).
  if (whole.size() > 18 || frac.size() > 9) return fail("number too large or too precise");
  uint64_t w = 0;
  for (char c : whole) w = w * 10 + static_cast<uint64_t>(c - '0');
  uint64_t result = 0;
  if (__builtin_mul_overflow(w, factor, &result)) return fail("number too large");
  if (!frac.empty()) {
    unsigned __int128 f = 0;
    unsigned __int128 scale = 1;
    for (char c : frac) {
      f = f * 10 + static_cast<unsigned>(c - '0');
      scale *= 10;
    }
    unsigned __int128 num = f * factor;
    if (num % scale != 0) return fail(fmt::format("not a whole number of {}", unit_word));
    unsigned __int128 sum = static_cast<unsigned __int128>(result) + num / scale;
    if (sum > UINT64_MAX) return fail("number too large");
    result = static_cast<uint64_t>(sum);
  }
  return result;
}

}  // namespace

core::Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto v = ParseQuantity(text, kDurationUnits, "duration", "milliseconds",
                         "expected e.g. 500ms, 10s, 1.5s, 5m, 1h or integer milliseconds");
  if (!v) return std::unexpected(v.error());
  if (*v > static_cast<uint64_t>(INT64_MAX)) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("invalid duration '{}': number too large", text));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(*v));
}

core::Result<uint64_t> ParseSize(std::string_view text) {
  return ParseQuantity(text, kSizeUnits, "size", "bytes",
                       "expected e.g. 16KiB, 10MiB, 1GiB, 500KB or integer bytes");
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms != 0) {
    if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
    if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  }
  return fmt::format("{}ms", ms);
}

std::string FormatSize(uint64_t bytes) {
  if (bytes != 0) {
    if (bytes % (1024ull * 1024 * 1024) == 0) return fmt::format("{}GiB", bytes / (1024ull * 1024 * 1024));
    if (bytes % (1024 * 1024) == 0) return fmt::format("{}MiB", bytes / (1024 * 1024));
    if (bytes % 1024 == 0) return fmt::format("{}KiB", bytes / 1024);
  }
  return fmt::format("{}B", bytes);
}

}  // namespace meridian::config
