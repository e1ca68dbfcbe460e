// Pre-tokenization: the ASCII matchers against PCRE2 alone, and the white-space rewrite.

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tokenize/internal.hpp"
#include "tokenize/tokenize.hpp"

namespace meridian::tokenize {
namespace {

using Pieces = std::vector<std::pair<std::size_t, std::size_t>>;

std::filesystem::path RankDir() {
  if (const char* env = std::getenv("MERIDIAN_TOKENIZER_DIR"); env && *env) return env;
  return MERIDIAN_TOKENIZER_DIR;
}

Pieces Split(const detail::Splitter& s, std::string_view text, bool fast) {
  Pieces out;
  s.ForEach(text, [&](std::size_t b, std::size_t e) { out.emplace_back(b, e); }, fast);
  return out;
}

class SplitterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* name : {"o200k_base", "cl100k_base"}) {
      auto enc = Encoding::Load(name, RankDir());
      ASSERT_TRUE(enc.has_value()) << enc.error().message;
      encodings_.push_back(std::move(*enc));
    }
  }
  static void TearDownTestSuite() { encodings_.clear(); }
  static inline std::vector<std::unique_ptr<Encoding>> encodings_;
};

TEST_F(SplitterTest, KnownPatternsUseTheAsciiMatchers) {
  EXPECT_EQ(encodings_[0]->internals().splitter.fast(), detail::Splitter::Fast::kO200k);
  EXPECT_EQ(encodings_[1]->internals().splitter.fast(), detail::Splitter::Fast::kCl100k);
  detail::Splitter other;
  ASSERT_EQ(other.Compile(R"('s|\p{L}+|\s+)"), "");
  EXPECT_EQ(other.fast(), detail::Splitter::Fast::kNone);
}

TEST_F(SplitterTest, AsciiMatchersAgreeWithPcre2) {
  // Random strings over atoms that exercise every alternative and its edges, with a few
  // non-ASCII characters (letters, marks, digits, spaces, symbols) where the matchers must
  // hand over to PCRE2.
  const std::vector<std::string> atoms = {
      "a", "b", "z", "A", "Z", "Q", "s", "S", "t", "re", "RE", "ve", "ll", "LL", "d", "m",
      "'", "'", "'s", "'S", "'t", "'re", "'Ve", "'ll", "'lL", "'d", "'m", "'x",
      "0", "1", "9", "12", "345", "6789",
      " ", " ", " ", "  ", "\t", "\v", "\f", "\n", "\r", "\r\n", "\n\n", " \n", "\t\n ",
      ".", ",", "!", "?", "-", "_", "/", "//", "\\", "(", ")", "\"", "#", "$", "%", "&", "*",
      "+", "=", "<", ">", "|", "~", "`", "@", "^", "{", "}", "[", "]", ";", ":",
      std::string("\0", 1), "\x01", "\x1b", "\x1c", "\x7f",
      "\xC3\xA9", "\xC3\x89", "\xC5\xBF", "\xCC\x81", "\xC2\xA0", "\xC2\x85", "\xE3\x80\x80",
      "\xE2\x80\x94", "\xE2\x80\x99", "\xD9\xA3", "\xC2\xBD", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80",
      "\xE1\xA0\x8E", "\xC7\x85"};
  std::mt19937 rng(12345);
  std::size_t fast_pieces = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 24);
    // Half the strings stay ASCII, so the matchers decide whole strings too.
    const std::size_t limit = (i % 2 == 0) ? atoms.size() - 17 : atoms.size();
    for (int k = 0; k < n; ++k) text += atoms[rng() % limit];
    for (const auto& enc : encodings_) {
      const auto& splitter = enc->internals().splitter;
      const Pieces fast = Split(splitter, text, true);
      const Pieces pcre = Split(splitter, text, false);
      ASSERT_EQ(fast, pcre) << enc->Name() << " on \"" << text << "\"";
      fast_pieces += fast.size();
    }
  }
  EXPECT_GT(fast_pieces, 100000u);
}

TEST_F(SplitterTest, PiecesCoverTheText) {
  const std::string text = "Hello, it's 2024!\n\n  def f(x):\n\treturn x  # ok \xC3\xA9t\xC3\xA9  ";
  for (const auto& enc : encodings_) {
    const Pieces p = Split(enc->internals().splitter, text, true);
    std::size_t at = 0;
    for (const auto& [b, e] : p) {
      EXPECT_EQ(b, at);
      EXPECT_GT(e, b);
      at = e;
    }
    EXPECT_EQ(at, text.size());
  }
}

TEST(RewriteWhiteSpace, SpellsOutWhiteSpace) {
  std::string err;
  const std::string ws =
      R"(\t-\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
  EXPECT_EQ(detail::RewriteWhiteSpace(R"(\s+(?!\S))", &err), "[" + ws + "]+(?![^" + ws + "])");
  EXPECT_EQ(detail::RewriteWhiteSpace(R"([^\s\p{L}])", &err), "[^" + ws + R"(\p{L}])");
  EXPECT_EQ(detail::RewriteWhiteSpace(R"([]\s]\\s)", &err), "[]" + ws + R"(]\\s)");
  EXPECT_EQ(err, "");
  EXPECT_EQ(detail::RewriteWhiteSpace(R"([\S])", &err), "");
  EXPECT_NE(err, "");
}

TEST(RewriteWhiteSpace, MongolianVowelSeparatorIsNotSpace) {
  // PCRE2's own \s matches U+180E; Unicode (and so tiktoken) has not counted it as white
  // space since 6.3.
  detail::Splitter s;
  ASSERT_EQ(s.Compile(R"(\s+|\S+)"), "");
  const std::string text = "a\xE1\xA0\x8E" "b c";
  Pieces p;
  s.ForEach(text, [&](std::size_t b, std::size_t e) { p.emplace_back(b, e); });
  EXPECT_EQ(p, (Pieces{{0, 5}, {5, 6}, {6, 7}}));
}

}  // namespace
}  // namespace meridian::tokenize
