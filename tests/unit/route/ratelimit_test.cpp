#include "route/ratelimit.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace meridian::route {
namespace {

using namespace std::chrono_literals;

// 2024-05-01T12:00:00Z
WallTime Noon() { return WallTime(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h); }

TEST(GoDuration, OpenAiForms) {
  EXPECT_EQ(ParseGoDuration("1s"), Duration(1s));
  EXPECT_EQ(ParseGoDuration("6m0s"), Duration(6min));
  EXPECT_EQ(ParseGoDuration("20ms"), Duration(20ms));
  EXPECT_EQ(ParseGoDuration("1h2m3.5s"), Duration(1h + 2min + 3500ms));
  EXPECT_EQ(ParseGoDuration("0.5s"), Duration(500ms));
  EXPECT_EQ(ParseGoDuration(" 7s "), Duration(7s));
  EXPECT_FALSE(ParseGoDuration(""));
  EXPECT_FALSE(ParseGoDuration("5"));
  EXPECT_FALSE(ParseGoDuration("s"));
  EXPECT_FALSE(ParseGoDuration("5x"));
  EXPECT_FALSE(ParseGoDuration("-1s"));
}

TEST(HttpDate, ImfFixdate) {
  auto t = ParseHttpDate("Wed, 01 May 2024 12:00:30 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t - Noon(), WallClock::duration(30s));
  EXPECT_FALSE(ParseHttpDate("Wed, 01 May 2024 12:00:30 UTC"));
  EXPECT_FALSE(ParseHttpDate("Xyz, 01 May 2024 12:00:30 GMT"));
  EXPECT_FALSE(ParseHttpDate("Wed, 01 Foo 2024 12:00:30 GMT"));
  EXPECT_FALSE(ParseHttpDate("Wed, 31 Feb 2024 12:00:30 GMT"));
  EXPECT_FALSE(ParseHttpDate("Wednesday, 01-May-24 12:00:30 GMT"));  // RFC 850: not accepted
  EXPECT_FALSE(ParseHttpDate("Wed, 01 May 2024 25:00:30 GMT"));
}

TEST(Rfc3339, Forms) {
  EXPECT_EQ(ParseRfc3339("2024-05-01T12:00:30Z").value() - Noon(), WallClock::duration(30s));
  EXPECT_EQ(ParseRfc3339("2024-05-01T12:00:30.250Z").value() - Noon(), WallClock::duration(30250ms));
  EXPECT_EQ(ParseRfc3339("2024-05-01T14:00:30+02:00").value() - Noon(), WallClock::duration(30s));
  EXPECT_EQ(ParseRfc3339("2024-05-01T11:00:30-01:00").value() - Noon(), WallClock::duration(30s));
  EXPECT_FALSE(ParseRfc3339("2024-05-01T12:00:30"));
  EXPECT_FALSE(ParseRfc3339("2024-05-01 12:00"));
  EXPECT_FALSE(ParseRfc3339("2024-13-01T12:00:30Z"));
  EXPECT_FALSE(ParseRfc3339("2024-05-01T12:00:30.Z"));
  EXPECT_FALSE(ParseRfc3339("2024-05-01T12:00:30Zjunk"));
}

TEST(RetryAfter, SecondsAndDates) {
  EXPECT_EQ(ParseRetryAfter("120", Noon()), Duration(120s));
  EXPECT_EQ(ParseRetryAfter("0", Noon()), Duration(0s));
  EXPECT_EQ(ParseRetryAfter("Wed, 01 May 2024 12:00:30 GMT", Noon()), Duration(30s));
  EXPECT_EQ(ParseRetryAfter("Wed, 01 May 2024 11:00:00 GMT", Noon()), Duration(0s));  // past: now
  EXPECT_FALSE(ParseRetryAfter("-5", Noon()));
  EXPECT_FALSE(ParseRetryAfter("1.5", Noon()));
  EXPECT_FALSE(ParseRetryAfter("soon", Noon()));
  EXPECT_FALSE(ParseRetryAfter("", Noon()));
}

TEST(ParseRateLimit, OpenAi) {
  std::vector<HeaderField> h{{"X-RateLimit-Limit-Requests", "60"},    {"x-ratelimit-remaining-requests", "59"},
                             {"x-ratelimit-reset-requests", "1s"},    {"x-ratelimit-limit-tokens", "150000"},
                             {"x-ratelimit-remaining-tokens", "149984"}, {"x-ratelimit-reset-tokens", "6m0s"},
                             {"content-type", "application/json"}};
  RateLimit r = ParseRateLimit(h, Noon());
  EXPECT_EQ(r.limit_requests, 60);
  EXPECT_EQ(r.remaining_requests, 59);
  EXPECT_EQ(r.reset_requests, Duration(1s));
  EXPECT_EQ(r.limit_tokens, 150000);
  EXPECT_EQ(r.remaining_tokens, 149984);
  EXPECT_EQ(r.reset_tokens, Duration(6min));
  EXPECT_FALSE(r.retry_after);
  EXPECT_NEAR(*r.Headroom(), 59.0 / 60.0, 1e-12);
}

TEST(ParseRateLimit, Anthropic) {
  std::vector<HeaderField> h{{"anthropic-ratelimit-requests-limit", "50"},
                             {"anthropic-ratelimit-requests-remaining", "0"},
                             {"anthropic-ratelimit-requests-reset", "2024-05-01T12:00:10Z"},
                             {"anthropic-ratelimit-tokens-limit", "40000"},
                             {"anthropic-ratelimit-tokens-remaining", "10000"},
                             {"anthropic-ratelimit-tokens-reset", "2024-05-01T11:59:00Z"},  // past: 0
                             {"retry-after", "10"}};
  RateLimit r = ParseRateLimit(h, Noon());
  EXPECT_EQ(r.limit_requests, 50);
  EXPECT_EQ(r.remaining_requests, 0);
  EXPECT_EQ(r.reset_requests, Duration(10s));
  EXPECT_EQ(r.limit_tokens, 40000);
  EXPECT_EQ(r.remaining_tokens, 10000);
  EXPECT_EQ(r.reset_tokens, Duration(0s));
  EXPECT_EQ(r.retry_after, Duration(10s));
  EXPECT_EQ(*r.Headroom(), 0.0);
}

TEST(ParseRateLimit, RetryAfterMsWinsAndBadValuesAreIgnored) {
  std::vector<HeaderField> h{{"retry-after", "3"},
                             {"retry-after-ms", "1500"},
                             {"x-ratelimit-remaining-requests", "lots"},
                             {"x-ratelimit-reset-tokens", "later"},
                             {"anthropic-ratelimit-tokens-reset", "tomorrow"},
                             {"x-ratelimit-remaining-tokens", "-4"}};
  RateLimit r = ParseRateLimit(h, Noon());
  EXPECT_EQ(r.retry_after, Duration(1500ms));
  EXPECT_FALSE(r.remaining_requests);
  EXPECT_FALSE(r.reset_tokens);
  EXPECT_FALSE(r.remaining_tokens);
  EXPECT_FALSE(r.Headroom());
}

TEST(ParseRateLimit, NothingSaid) {
  std::vector<HeaderField> h{{"content-type", "application/json"}, {"x-ratelimit", "1"}};
  EXPECT_TRUE(ParseRateLimit(h, Noon()).empty());
  EXPECT_TRUE(ParseRateLimit({}, Noon()).empty());
}

}  // namespace
}  // namespace meridian::route
