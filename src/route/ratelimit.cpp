#include "route/ratelimit.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

namespace meridian::route {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::optional<std::int64_t> ParseCount(std::string_view s) {
  s = Trim(s);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || s.empty()) return std::nullopt;
  return v;
}

// Fixed-width decimal digits at s[pos, pos+n).
std::optional<int> Digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

std::optional<WallTime> MakeTime(int y, int mo, int d, int h, int mi, int sec) {
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;  // 60: leap second
  sys_seconds t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
  return time_point_cast<WallClock::duration>(t);
}

Duration Until(WallTime then, WallTime now) { return then > now ? Duration(then - now) : Duration::zero(); }

}  // namespace

std::string_view HealthName(Health health) {
  switch (health) {
    case Health::kHealthy: return "healthy";
    case Health::kHalfOpen: return "half_open";
    case Health::kRateLimited: return "rate_limited";
    case Health::kOpen: return "open";
  }
  return "unknown";
}

std::optional<double> RateLimit::Headroom() const {
  std::optional<double> h;
  auto take = [&](const std::optional<std::int64_t>& rem, const std::optional<std::int64_t>& lim) {
    if (!rem || !lim || *lim <= 0) return;
    double f = std::clamp(static_cast<double>(*rem) / static_cast<double>(*lim), 0.0, 1.0);
    h = h ? std::min(*h, f) : f;
  };
  take(remaining_requests, limit_requests);
  take(remaining_tokens, limit_tokens);
  return h;
}

std::optional<Duration> ParseGoDuration(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  double total_ns = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    double number = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, number);
    if (ec != std::errc() || p != s.data() + i) return std::nullopt;
    s.remove_prefix(i);
    double unit_ns;
    if (s.starts_with("ms")) {
      unit_ns = 1e6;
      s.remove_prefix(2);
    } else if (s.starts_with("h")) {
      unit_ns = 3600e9;
      s.remove_prefix(1);
    } else if (s.starts_with("m")) {
      unit_ns = 60e9;
      s.remove_prefix(1);
    } else if (s.starts_with("s")) {
      unit_ns = 1e9;
      s.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total_ns += number * unit_ns;
  }
  if (!(total_ns < 1e18)) return std::nullopt;  // ~31 years; also rejects NaN
  return Duration(static_cast<std::int64_t>(std::llround(total_ns)));
}

std::optional<WallTime> ParseHttpDate(std::string_view s) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters, fixed positions.
  s = Trim(s);
  static constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (std::find(kDays.begin(), kDays.end(), s.substr(0, 3)) == kDays.end()) return std::nullopt;
  auto m = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
  if (m == kMonths.end()) return std::nullopt;
  auto d = Digits(s, 5, 2), y = Digits(s, 12, 4), h = Digits(s, 17, 2), mi = Digits(s, 20, 2), sec = Digits(s, 23, 2);
  if (!d || !y || !h || !mi || !sec) return std::nullopt;
  return MakeTime(*y, static_cast<int>(m - kMonths.begin()) + 1, *d, *h, *mi, *sec);
}

std::optional<WallTime> ParseRfc3339(std::string_view s) {
  s = Trim(s);
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2), h = Digits(s, 11, 2), mi = Digits(s, 14, 2),
       sec = Digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  auto base = MakeTime(*y, *mo, *d, *h, *mi, *sec);
  if (!base) return std::nullopt;
  std::size_t pos = 19;
  Duration frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::int64_t scale = 100'000'000;  // ns per first fraction digit
    std::size_t start = pos;
    std::int64_t ns = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    frac = Duration(ns);
  }
  if (pos >= s.size()) return std::nullopt;
  std::chrono::minutes offset{0};
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    auto oh = Digits(s, pos + 1, 2), om = Digits(s, pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset = std::chrono::minutes(*oh * 60 + *om);
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return *base + std::chrono::duration_cast<WallClock::duration>(frac) - offset;
}

std::optional<Duration> ParseRetryAfter(std::string_view value, WallTime wall_now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    auto n = ParseCount(value);
    if (!n || *n > 100'000'000) return std::nullopt;  // over 3 years is not a delay we honour
    return std::chrono::seconds(*n);
  }
  auto t = ParseHttpDate(value);
  if (!t) return std::nullopt;
  return Until(*t, wall_now);
}

RateLimit ParseRateLimit(std::span<const HeaderField> headers, WallTime wall_now) {
  RateLimit r;
  std::optional<Duration> retry_after_s, retry_after_ms;
  for (const auto& [raw_name, raw_value] : headers) {
    std::string_view name = raw_name;
    std::string_view value = Trim(raw_value);
    if (name.size() > 12 && IEquals(name.substr(0, 12), "x-ratelimit-")) {
      std::string_view rest = name.substr(12);
      if (IEquals(rest, "limit-requests")) {
        if (auto v = ParseCount(value)) r.limit_requests = v;
      } else if (IEquals(rest, "remaining-requests")) {
        if (auto v = ParseCount(value)) r.remaining_requests = v;
      } else if (IEquals(rest, "reset-requests")) {
        if (auto v = ParseGoDuration(value)) r.reset_requests = v;
      } else if (IEquals(rest, "limit-tokens")) {
        if (auto v = ParseCount(value)) r.limit_tokens = v;
      } else if (IEquals(rest, "remaining-tokens")) {
        if (auto v = ParseCount(value)) r.remaining_tokens = v;
      } else if (IEquals(rest, "reset-tokens")) {
        if (auto v = ParseGoDuration(value)) r.reset_tokens = v;
      }
    } else if (name.size() > 20 && IEquals(name.substr(0, 20), "anthropic-ratelimit-")) {
      std::string_view rest = name.substr(20);
      if (IEquals(rest, "requests-limit")) {
        if (auto v = ParseCount(value)) r.limit_requests = v;
      } else if (IEquals(rest, "requests-remaining")) {
        if (auto v = ParseCount(value)) r.remaining_requests = v;
      } else if (IEquals(rest, "requests-reset")) {
        if (auto t = ParseRfc3339(value)) r.reset_requests = Until(*t, wall_now);
      } else if (IEquals(rest, "tokens-limit")) {
        if (auto v = ParseCount(value)) r.limit_tokens = v;
      } else if (IEquals(rest, "tokens-remaining")) {
        if (auto v = ParseCount(value)) r.remaining_tokens = v;
      } else if (IEquals(rest, "tokens-reset")) {
        if (auto t = ParseRfc3339(value)) r.reset_tokens = Until(*t, wall_now);
      }
    } else if (IEquals(name, "retry-after")) {
      if (auto v = ParseRetryAfter(value, wall_now)) retry_after_s = v;
    } else if (IEquals(name, "retry-after-ms")) {
      auto v = ParseCount(value);
      if (v && *v <= 100'000'000'000) retry_after_ms = std::chrono::milliseconds(*v);
    }
  }
  r.retry_after = retry_after_ms ? retry_after_ms : retry_after_s;
  return r;
}

}  // namespace meridian::route
