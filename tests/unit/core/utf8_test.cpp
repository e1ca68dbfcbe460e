#include "core/utf8.hpp"

#include <gtest/gtest.h>

namespace meridian::core {
namespace {

TEST(Utf8Test, AcceptsValidText) {
  for (std::string_view ok : {"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                              "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf"}) {
    EXPECT_EQ(FirstInvalidUtf8(ok), std::nullopt) << ok;
  }
}

TEST(Utf8Test, ReportsTheOffsetOfTheFirstInvalidSequence) {
  struct Case {
    std::string_view text;
    std::size_t offset;
  };
  for (const Case& c : {Case{"\xff", 0}, Case{"ab\x80", 2}, Case{"a\xc0\xaf", 1},  // overlong '/'
                        Case{"\xc2", 0},                                            // truncated
                        Case{"x\xe0\x80\x80", 1},                                   // overlong 3-byte
                        Case{"\xed\xa0\x80", 0},                                    // surrogate
                        Case{"\xf4\x90\x80\x80", 0},                                // above U+10FFFF
                        Case{"ok\xe2\x82", 2},                                      // truncated 3-byte
                        Case{"\xe2\x28\xa1", 0},                                    // bad continuation
                        Case{"\xf5\x80\x80\x80", 0}}) {
    EXPECT_EQ(FirstInvalidUtf8(c.text), c.offset) << testing::PrintToString(std::string(c.text));
  }
}

}  // namespace
}  // namespace meridian::core
