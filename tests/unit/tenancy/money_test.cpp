#include "tenancy/money.hpp"

#include <gtest/gtest.h>

namespace meridian::tenancy {
namespace {

TEST(Money, ParsesDecimalDollarsExactly) {
  EXPECT_EQ(ParseUsdMicro("0.000001"), 1);
  EXPECT_EQ(ParseUsdMicro("12.5"), 12'500'000);
  EXPECT_EQ(ParseUsdMicro("12.50"), 12'500'000);
  EXPECT_EQ(ParseUsdMicro("3"), 3'000'000);
  EXPECT_EQ(ParseUsdMicro("0"), 0);
  EXPECT_EQ(ParseUsdMicro("0.1"), 100'000);
  EXPECT_EQ(ParseUsdMicro("0.0000010"), 1);  // zeros below a micro-dollar are fine
  EXPECT_EQ(ParseUsdMicro("9223372036854.775807"), 9'223'372'036'854'775'807);
}

TEST(Money, RefusesWhatIsNotAnExactAmount) {
  for (const char* text : {"1e3", "-1", "0.0000001", "", ".5", "12.", "+1", " 1", "1 ", "1,000", "inf", "nan",
                           "0x10", "1.2.3", "9223372036854.775808", "99999999999999999999"}) {
    EXPECT_EQ(ParseUsdMicro(text), std::nullopt) << text;
  }
}

TEST(Money, PlainDecimalOfDoubles) {
  EXPECT_EQ(PlainDecimal(12.5), "12.5");
  EXPECT_EQ(PlainDecimal(0.000001), "0.000001");
  EXPECT_EQ(PlainDecimal(1e3), "1000");
  EXPECT_EQ(PlainDecimal(0.1), "0.1");
  EXPECT_EQ(PlainDecimal(-1.0), std::nullopt);
  EXPECT_EQ(ParseUsdMicro(*PlainDecimal(0.1)), 100'000);
  EXPECT_EQ(ParseUsdMicro(*PlainDecimal(1e-7)), std::nullopt);
}

TEST(Money, Formats) {
  EXPECT_EQ(FormatUsdMicro(12'500'000), "12.5");
  EXPECT_EQ(FormatUsdMicro(1), "0.000001");
  EXPECT_EQ(FormatUsdMicro(3'000'000), "3");
  EXPECT_EQ(FormatUsdMicro(0), "0");
  EXPECT_EQ(FormatUsdMicro(1'234'567), "1.234567");
  EXPECT_EQ(FormatUsdMicro(-1'500'000), "-1.5");
}

}  // namespace
}  // namespace meridian::tenancy
