#pragma once
// Internal to src/tokenize (and its evaluation tool): the features the approximate count is a
// linear function of, so that tools/tokenize_eval can refit the weights (--fit).

#include <array>
#include <cstddef>
#include <string_view>

namespace meridian::tokenize::detail {

enum ApproxFeature : std::size_t {
  kWords,          // words: runs of letters (ASCII, and those of alphabetic scripts below)
  kLongWordExtra,  // sum over words of max(0, characters - 8)
  kDigitGroups,    // sum over digit runs of ceil(length / 3): exactly how the patterns cut them
  kPunct,          // ASCII punctuation and symbols
  kPunctRuns,      // runs of them
  kNewlineRuns,    // runs of \r and \n
  kSpaceRuns,      // runs of two or more spaces or tabs (indentation, alignment)
  kLatinExtra,     // accented Latin letters: U+00C0..U+02FF, U+1E00..U+1EFF
  kTwoByte,        // letters U+0300..U+07FF: combining marks, Greek, Cyrillic, Hebrew, Arabic
  kCjk,            // CJK ideographs, kana, hangul, CJK punctuation, full-width forms
  kGeneralPunct,   // U+0080..U+00BF, U+2000..U+206F: no-break space, «», quotes, dashes, ...
  kThreeByte,      // other 3-byte characters (Indic, Thai, symbols, ...)
  kFourByte,       // 4-byte characters (emoji, rare ideographs)
  kApproxFeatureCount,
};

using ApproxFeatures = std::array<double, kApproxFeatureCount>;

ApproxFeatures ComputeApproxFeatures(std::string_view text);

// The weights ApproximateCount uses (fitted against o200k_base, docs/tokenizer.md).
const ApproxFeatures& ApproxWeights();

}  // namespace meridian::tokenize::detail
