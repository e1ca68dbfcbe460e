#include "config/units.hpp"

#include <gtest/gtest.h>

#include <string>

namespace meridian::config {
namespace {

using std::chrono::milliseconds;

struct DurationGood {
  std::string text;
  int64_t ms;
};

class ParseDurationGood : public ::testing::TestWithParam<DurationGood> {};

TEST_P(ParseDurationGood, Parses) {
  auto d = ParseDuration(GetParam().text);
  ASSERT_TRUE(d.has_value()) << GetParam().text << ": " << d.error().message;
  EXPECT_EQ(d->count(), GetParam().ms) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(Table, ParseDurationGood,
                         ::testing::Values(DurationGood{"0", 0}, DurationGood{"250", 250},
                                           DurationGood{"500ms", 500}, DurationGood{"10s", 10'000},
                                           DurationGood{"1.5s", 1'500}, DurationGood{"0.001s", 1},
                                           DurationGood{"5m", 300'000}, DurationGood{"1.5m", 90'000},
                                           DurationGood{"1h", 3'600'000},
                                           DurationGood{"0.25h", 900'000},
                                           DurationGood{"007s", 7'000}));

struct BadCase {
  std::string text;
  std::string message;
};

class ParseDurationBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseDurationBad, Rejects) {
  auto d = ParseDuration(GetParam().text);
  ASSERT_FALSE(d.has_value()) << GetParam().text;
  EXPECT_EQ(d.error().message, GetParam().message);
}

constexpr const char* kDurHint = "expected e.g. 500ms, 10s, 1.5s, 5m, 1h or integer milliseconds";

INSTANTIATE_TEST_SUITE_P(
    Table, ParseDurationBad,
    ::testing::Values(
        BadCase{"", std::string("invalid duration: empty value; ") + kDurHint},
        BadCase{"-1s", "invalid duration '-1s': must not be negative"},
        BadCase{"-5", "invalid duration '-5': must not be negative"},
        BadCase{"10x", std::string("invalid duration '10x': unknown unit 'x'; ") + kDurHint},
        BadCase{"10S", std::string("invalid duration '10S': unknown unit 'S'; ") + kDurHint},
        BadCase{"10 s", std::string("invalid duration '10 s': no space allowed before the unit; ") +
                            kDurHint},
        BadCase{"abc", std::string("invalid duration 'abc': ") + kDurHint},
        BadCase{"s", std::string("invalid duration 's': ") + kDurHint},
        BadCase{".5s", std::string("invalid duration '.5s': ") + kDurHint},
        BadCase{"1.s", std::string("invalid duration '1.s': expected digits after '.'; ") + kDurHint},
        BadCase{"1.5", std::string("invalid duration '1.5': a number without a unit counts "
                                   "milliseconds and must be whole; ") +
                           kDurHint},
        BadCase{"1.0005s", "invalid duration '1.0005s': not a whole number of milliseconds"},
        BadCase{"1e3", std::string("invalid duration '1e3': unknown unit 'e3'; ") + kDurHint},
        BadCase{"99999999999999999999h",
                "invalid duration '99999999999999999999h': number too large or too precise"},
        BadCase{"9999999999999999h", "invalid duration '9999999999999999h': number too large"}));

struct SizeGood {
  std::string text;
  uint64_t bytes;
};

class ParseSizeGood : public ::testing::TestWithParam<SizeGood> {};

TEST_P(ParseSizeGood, Parses) {
  auto v = ParseSize(GetParam().text);
  ASSERT_TRUE(v.has_value()) << GetParam().text << ": " << v.error().message;
  EXPECT_EQ(*v, GetParam().bytes) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseSizeGood,
    ::testing::Values(SizeGood{"0", 0}, SizeGood{"65536", 65536}, SizeGood{"100B", 100},
                      SizeGood{"16KiB", 16384}, SizeGood{"10MiB", 10485760},
                      SizeGood{"1GiB", 1073741824}, SizeGood{"2KB", 2000},
                      SizeGood{"3MB", 3000000}, SizeGood{"1GB", 1000000000},
                      SizeGood{"1.5KiB", 1536}, SizeGood{"0.5MiB", 524288}));

class ParseSizeBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseSizeBad, Rejects) {
  auto v = ParseSize(GetParam().text);
  ASSERT_FALSE(v.has_value()) << GetParam().text;
  EXPECT_EQ(v.error().message, GetParam().message);
}

constexpr const char* kSizeHint = "expected e.g. 16KiB, 10MiB, 1GiB, 500KB or integer bytes";

INSTANTIATE_TEST_SUITE_P(
    Table, ParseSizeBad,
    ::testing::Values(
        BadCase{"10 MiB", std::string("invalid size '10 MiB': no space allowed before the unit; ") +
                              kSizeHint},
        BadCase{"10mb", std::string("invalid size '10mb': unknown unit 'mb'; ") + kSizeHint},
        BadCase{"10k", std::string("invalid size '10k': unknown unit 'k'; ") + kSizeHint},
        BadCase{"-1KiB", "invalid size '-1KiB': must not be negative"},
        BadCase{"1.5B", "invalid size '1.5B': not a whole number of bytes"},
        BadCase{"1.5", std::string("invalid size '1.5': a number without a unit counts bytes and "
                                   "must be whole; ") +
                           kSizeHint},
        BadCase{"big", std::string("invalid size 'big': ") + kSizeHint},
        BadCase{"99999999999GiB", "invalid size '99999999999GiB': number too large"}));

TEST(FormatTest, Duration) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0ms");
  EXPECT_EQ(FormatDuration(milliseconds(1)), "1ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(milliseconds(90'000)), "90s");
  EXPECT_EQ(FormatDuration(milliseconds(600'000)), "10m");
  EXPECT_EQ(FormatDuration(milliseconds(86'400'000)), "24h");
}

TEST(FormatTest, Size) {
  EXPECT_EQ(FormatSize(0), "0B");
  EXPECT_EQ(FormatSize(1000), "1000B");
  EXPECT_EQ(FormatSize(1024), "1KiB");
  EXPECT_EQ(FormatSize(1536), "1536B");
  EXPECT_EQ(FormatSize(10 * 1024 * 1024), "10MiB");
  EXPECT_EQ(FormatSize(1024ull * 1024 * 1024), "1GiB");
}

}  // namespace
}  // namespace meridian::config
