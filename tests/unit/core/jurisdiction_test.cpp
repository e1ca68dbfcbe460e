#include "core/jurisdiction.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace meridian::core {
namespace {

TEST(JurisdictionTest, AssignedListHas249SortedUniqueUpperCaseCodes) {
  auto codes = AssignedCountryCodes();
  EXPECT_EQ(codes.size(), 249u);
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  EXPECT_EQ(std::set<std::string_view>(codes.begin(), codes.end()).size(), codes.size());
  for (std::string_view c : codes) {
    ASSERT_EQ(c.size(), 2u) << c;
    EXPECT_TRUE(c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z') << c;
    EXPECT_TRUE(IsKnownJurisdiction(c)) << c;
  }
}

TEST(JurisdictionTest, KnownCodes) {
  for (std::string_view c : {"DE", "US", "FR", "CN", "SG", "GB", "JP", "CH", "AX", "SS", "BQ",
                             "CW", "SX", "XK" /* not assigned: checked below */}) {
    if (c == "XK") continue;
    EXPECT_TRUE(IsKnownJurisdiction(c)) << c;
  }
  EXPECT_TRUE(IsKnownJurisdiction("EU"));
}

TEST(JurisdictionTest, UnknownCodes) {
  // User-assigned (XK), exceptionally or transitionally reserved (UK, EL, AN), lower case,
  // wrong length, empty.
  for (std::string_view c : {"XK", "UK", "EL", "AN", "ZZ", "de", "Us", "D", "DEU", "", "E U"}) {
    EXPECT_FALSE(IsKnownJurisdiction(c)) << c;
  }
}

TEST(JurisdictionTest, EuMembers) {
  const std::set<std::string> members = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI",
                                         "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
                                         "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"};
  ASSERT_EQ(members.size(), 27u);
  int count = 0;
  for (std::string_view c : AssignedCountryCodes()) {
    bool expected = members.count(std::string(c)) > 0;
    EXPECT_EQ(IsEuMember(c), expected) << c;
    count += IsEuMember(c) ? 1 : 0;
  }
  EXPECT_EQ(count, 27);
  for (std::string_view c : {"EU", "GB", "CH", "NO", "IS", "EL", "de", ""}) {
    EXPECT_FALSE(IsEuMember(c)) << c;
  }
}

}  // namespace
}  // namespace meridian::core
