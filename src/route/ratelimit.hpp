#pragma once
// Provider rate-limit headroom and retry-after, read from response headers (docs/routing.md,
// "Rate-limit headroom"). Pure functions over (name, value) pairs: no I/O, no clock reads, no
// allocation; thread-safe.
//
//   OpenAI     x-ratelimit-limit-requests / -tokens, x-ratelimit-remaining-requests / -tokens,
//              x-ratelimit-reset-requests / -tokens ("1s", "6m0s", "20ms", "1h2m3.5s")
//   Anthropic  anthropic-ratelimit-requests-limit / -remaining / -reset,
//              anthropic-ratelimit-tokens-limit / -remaining / -reset (reset: RFC 3339 time)
//   both       retry-after (seconds or HTTP date), retry-after-ms (milliseconds; preferred)

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "route/common.hpp"

namespace meridian::route {

using HeaderField = std::pair<std::string_view, std::string_view>;  // name (any case), value

// What one response said about the caller's rate limits. nullopt = not said. Resets are
// durations from the moment the response arrived (wall_now in ParseRateLimit), never negative.
struct RateLimit {
  std::optional<std::int64_t> limit_requests;
  std::optional<std::int64_t> remaining_requests;
  std::optional<Duration> reset_requests;
  std::optional<std::int64_t> limit_tokens;
  std::optional<std::int64_t> remaining_tokens;
  std::optional<Duration> reset_tokens;
  std::optional<Duration> retry_after;

  bool empty() const {
    return !limit_requests && !remaining_requests && !reset_requests && !limit_tokens && !remaining_tokens &&
           !reset_tokens && !retry_after;
  }
  // Smallest remaining/limit fraction of those known, in [0, 1]; nullopt when no pair is known.
  std::optional<double> Headroom() const;
  bool operator==(const RateLimit&) const = default;
};

// Reads every header above from `headers` (names compared case-insensitively; a later duplicate
// wins; values with surrounding spaces are trimmed). A value that does not parse is ignored, as
// if absent. `wall_now` turns Anthropic's absolute resets and HTTP dates into durations.
RateLimit ParseRateLimit(std::span<const HeaderField> headers, WallTime wall_now);

// retry-after: a non-negative whole number of seconds ("120") or an IMF-fixdate HTTP date
// ("Wed, 21 Oct 2015 07:28:00 GMT"; a date in the past is 0). nullopt for anything else
// (negative, fractional, RFC 850 and asctime dates are not accepted).
std::optional<Duration> ParseRetryAfter(std::string_view value, WallTime wall_now);

// OpenAI's reset durations: one or more NUMBER UNIT groups, units h, m, s, ms (NUMBER may have a
// fraction): "1s", "6m0s", "20ms", "1h2m3.5s". nullopt for anything else.
std::optional<Duration> ParseGoDuration(std::string_view value);

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), as RFC 9110 says senders must write it.
std::optional<WallTime> ParseHttpDate(std::string_view value);

// RFC 3339 date-time: "2024-05-01T12:00:30Z", optional fraction, "Z" or "+HH:MM"/"-HH:MM".
std::optional<WallTime> ParseRfc3339(std::string_view value);

}  // namespace meridian::route
