#include "config/interpolate.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "config/config.hpp"

namespace meridian::config {
namespace {

// A fixed environment: A=alpha, EMPTY="", B unset.
const char* FakeEnv(const std::string& name) {
  static const std::map<std::string, std::string> env = {{"A", "alpha"}, {"EMPTY", ""},
                                                         {"_X1", "x1"}, {"DOLLAR", "$${A}"}};
  auto it = env.find(name);
  return it == env.end() ? nullptr : it->second.c_str();
}

struct Case {
  std::string text;
  std::string expected;
};

class InterpolateGood : public ::testing::TestWithParam<Case> {};

TEST_P(InterpolateGood, Expands) {
  auto r = Interpolate(GetParam().text, FakeEnv);
  ASSERT_TRUE(r.has_value()) << GetParam().text << ": " << r.error().message;
  EXPECT_EQ(*r, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, InterpolateGood,
    ::testing::Values(Case{"", ""}, Case{"plain", "plain"}, Case{"${A}", "alpha"},
                      Case{"x-${A}-y", "x-alpha-y"}, Case{"${A}${A}", "alphaalpha"},
                      Case{"${EMPTY}", ""}, Case{"${B:-dflt}", "dflt"},
                      Case{"${EMPTY:-dflt}", "dflt"}, Case{"${A:-dflt}", "alpha"},
                      Case{"${B:-}", ""}, Case{"${B:-a:-b c}", "a:-b c"},
                      Case{"${B:-127.0.0.1:8090}", "127.0.0.1:8090"}, Case{"$$", "$"},
                      Case{"$${A}", "${A}"}, Case{"a$b", "a$b"}, Case{"cost $5", "cost $5"},
                      Case{"end$", "end$"}, Case{"${_X1}", "x1"},
                      // A value is inserted verbatim, never expanded again.
                      Case{"${DOLLAR}", "$${A}"}));

class InterpolateBad : public ::testing::TestWithParam<Case> {};

TEST_P(InterpolateBad, Fails) {
  auto r = Interpolate(GetParam().text, FakeEnv);
  ASSERT_FALSE(r.has_value()) << GetParam().text;
  EXPECT_EQ(r.error().message, GetParam().expected);
}

constexpr const char* kBadName =
    "invalid environment variable reference: use ${NAME} or ${NAME:-default} with NAME made of "
    "letters, digits and '_', not starting with a digit";

INSTANTIATE_TEST_SUITE_P(
    Table, InterpolateBad,
    ::testing::Values(
        Case{"${B}", "environment variable 'B' is not set (write ${B:-default} to give a default)"},
        Case{"a ${A} ${B} c",
             "environment variable 'B' is not set (write ${B:-default} to give a default)"},
        Case{"${A", "unterminated '${' in value (missing '}'; write '$$' for a literal '$')"},
        Case{"${}", kBadName}, Case{"${1A}", kBadName}, Case{"${A-B}", kBadName},
        Case{"${ A }", kBadName}, Case{"${:-x}", kBadName}));

TEST(InterpolateTest, ErrorsNeverQuoteTheText) {
  auto r = Interpolate("sk-secret${", FakeEnv);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.find("sk-secret"), std::string::npos);
}

TEST(InterpolateTest, UnsetErrorNamesVariableInParam) {
  auto r = Interpolate("${B}", FakeEnv);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().param, "B");
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidRequest);
}

TEST(InterpolateTest, TolerateUnsetOnlyForTheNamedVariable) {
  auto ok = Interpolate("Bearer ${B}", FakeEnv, "B");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "Bearer ");
  EXPECT_FALSE(Interpolate("${C}", FakeEnv, "B").has_value());
}

TEST(InterpolateEnvTest, ReadsTheProcessEnvironment) {
  ::setenv("MERIDIAN_TEST_INTERP", "from-env", 1);
  ::unsetenv("MERIDIAN_TEST_INTERP_UNSET");
  auto r = InterpolateEnv("v=${MERIDIAN_TEST_INTERP} d=${MERIDIAN_TEST_INTERP_UNSET:-dd}");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "v=from-env d=dd");
  auto bad = InterpolateEnv("${MERIDIAN_TEST_INTERP_UNSET}");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message,
            "environment variable 'MERIDIAN_TEST_INTERP_UNSET' is not set (write "
            "${MERIDIAN_TEST_INTERP_UNSET:-default} to give a default)");
  ::unsetenv("MERIDIAN_TEST_INTERP");
}

}  // namespace
}  // namespace meridian::config
