#include "catalog/decimal.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace meridian::catalog {
namespace {

std::int64_t Scaled(std::string_view text, int scale) {
  auto r = ParseScaledDecimal(text, scale);
  EXPECT_TRUE(r.has_value()) << text;
  return r ? r->value : -1;
}

TEST(Decimal, ScalesExactly) {
  EXPECT_EQ(Scaled("2.5e-06", 12), 2'500'000);
  EXPECT_EQ(Scaled("1e-05", 12), 10'000'000);
  EXPECT_EQ(Scaled("1.25e-06", 12), 1'250'000);
  EXPECT_EQ(Scaled("3e-08", 12), 30'000);
  EXPECT_EQ(Scaled("2.8e-08", 12), 28'000);
  EXPECT_EQ(Scaled("0.54", 12), 540'000'000'000);
  EXPECT_EQ(Scaled("0", 12), 0);
  EXPECT_EQ(Scaled("0e999", 12), 0);
  EXPECT_EQ(Scaled("1E3", 0), 1000);
  EXPECT_EQ(Scaled("1e+3", 0), 1000);
  EXPECT_EQ(Scaled("10", 6), 10'000'000);
  EXPECT_EQ(Scaled("2.5", 6), 2'500'000);
  EXPECT_EQ(Scaled("0.075", 6), 75'000);
  EXPECT_EQ(Scaled("5.", 6), 5'000'000);
  EXPECT_EQ(Scaled("9223372036854775807", 0), std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(ParseScaledDecimal("0.000000", 6)->exact);
  EXPECT_TRUE(ParseScaledDecimal("2.5e-06", 12)->exact);
}

TEST(Decimal, RoundsHalfUpOnTheDecimalDigits) {
  auto noisy = ParseScaledDecimal("2.9999900000000002e-06", 12);
  ASSERT_TRUE(noisy);
  EXPECT_EQ(noisy->value, 2'999'990);
  EXPECT_FALSE(noisy->exact);
  EXPECT_EQ(Scaled("5e-13", 12), 1);
  EXPECT_EQ(Scaled("4.9999e-13", 12), 0);
  EXPECT_EQ(Scaled("1.5", 0), 2);
  EXPECT_EQ(Scaled("2.4999999", 0), 2);
  EXPECT_EQ(Scaled("0.0000005", 6), 1);
  EXPECT_FALSE(ParseScaledDecimal("0.0000005", 6)->exact);
  EXPECT_EQ(Scaled("1e-30", 12), 0);
  EXPECT_FALSE(ParseScaledDecimal("1e-30", 12)->exact);
}

TEST(Decimal, RejectsWhatIsNotAnUnsignedDecimal) {
  for (std::string_view bad : {"", "-1", "+1", " 1", "1 ", "1.2.3", "1e", "1e+", "abc", ".5", "inf", "nan",
                               "0x10", "1,5", "9223372036854775808", "1e30"}) {
    EXPECT_FALSE(ParseScaledDecimal(bad, bad == "1e30" ? 12 : 0).has_value()) << bad;
  }
}

TEST(Decimal, ShortestTextAndFormat) {
  EXPECT_EQ(ShortestDecimal(2.5e-06), "2.5e-06");
  EXPECT_EQ(ShortestDecimal(1e-05), "1e-05");
  EXPECT_EQ(ShortestDecimal(0.54), "0.54");
  EXPECT_EQ(FormatScaled(2'500'000, 6), "2.5");
  EXPECT_EQ(FormatScaled(10'000'000, 6), "10");
  EXPECT_EQ(FormatScaled(1, 6), "0.000001");
  EXPECT_EQ(FormatScaled(0, 6), "0");
  EXPECT_EQ(FormatScaled(-1'500'000, 6), "-1.5");
  EXPECT_EQ(FormatScaled(42, 0), "42");
}

}  // namespace
}  // namespace meridian::catalog
