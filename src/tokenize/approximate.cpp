// The approximate count: one pass over the bytes collecting a few counts (approximate.hpp), and
// a linear function of them fitted against o200k_base on ShareGPT (tools/tokenize_eval --fit).

#include "tokenize/approximate.hpp"

#include <cmath>
#include <cstdint>

#include "tokenize/tokenize.hpp"

namespace meridian::tokenize {

namespace detail {

namespace {

enum Cls : std::uint8_t { kLetter, kDigit, kSpace, kNewline, kPunctCls, kOther, kNonAscii };

constexpr std::array<std::uint8_t, 128> kAscii = [] {
  std::array<std::uint8_t, 128> t{};
  for (int c = 0; c < 128; ++c) {
    std::uint8_t k = kPunctCls;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) k = kLetter;
    else if (c >= '0' && c <= '9') k = kDigit;
    else if (c == ' ' || c == '\t') k = kSpace;
    else if (c == '\n' || c == '\r') k = kNewline;
    else if (c < 0x20 || c == 0x7f) k = kOther;
    t[c] = k;
  }
  return t;
}();

bool IsCjk(std::uint32_t cp) {
  return (cp >= 0x2E80 && cp <= 0x9FFF) ||  // radicals, CJK punctuation, kana, ideographs
         (cp >= 0xAC00 && cp <= 0xD7AF) ||  // hangul syllables
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // compatibility ideographs
         (cp >= 0xFF00 && cp <= 0xFFEF);    // full-width forms
}

using Counts = std::array<std::size_t, kApproxFeatureCount>;

Counts Collect(std::string_view text) {
  Counts n{};
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::uint8_t run_cls = kOther;
  std::size_t run_len = 0;  // in characters
  auto close_run = [&] {
    switch (run_cls) {
      case kLetter:
        ++n[kWords];
        if (run_len > 8) n[kLongWordExtra] += run_len - 8;
        break;
      case kDigit:
        n[kDigitGroups] += (run_len + 2) / 3;
        break;
      case kPunctCls:
        ++n[kPunctRuns];
        break;
      case kNewline:
        ++n[kNewlineRuns];
        break;
      case kSpace:
        if (run_len >= 2) ++n[kSpaceRuns];
        break;
      default:
        break;
    }
  };
  std::size_t i = 0;
  while (i < size) {
    const unsigned char c = s[i];
    std::uint8_t cls;
    if (c < 0x80) {
      cls = kAscii[c];
      if (cls == kPunctCls) ++n[kPunct];
      ++i;
    } else if (c < 0xE0) {
      // 2-byte: letters of alphabetic scripts join the word they are in ("café", "Москва");
      // U+0080..U+00BF (no-break space, «, ©, °, ...) and × ÷ are symbols.
      const std::uint32_t cp =
          i + 1 < size ? ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu) : 0;
      if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) {
        cls = kOther;
        ++n[kGeneralPunct];
      } else {
        cls = kLetter;
        ++n[cp < 0x300 ? kLatinExtra : kTwoByte];
      }
      i += 2;
    } else if (c < 0xF0) {
      const std::uint32_t cp = i + 2 < size ? ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) |
                                                   (s[i + 2] & 0x3Fu)
                                             : 0;
      if (cp >= 0x1E00 && cp <= 0x1EFF) {  // Latin Extended Additional (Vietnamese)
        cls = kLetter;
        ++n[kLatinExtra];
      } else {
        cls = kNonAscii;
        ++n[IsCjk(cp) ? kCjk : (cp >= 0x2000 && cp <= 0x206F) ? kGeneralPunct : kThreeByte];
      }
      i += 3;
    } else {
      cls = kNonAscii;
      ++n[kFourByte];
      i += 4;
    }
    if (cls != run_cls) {
      close_run();
      run_cls = cls;
      run_len = 0;
    }
    ++run_len;
  }
  close_run();
  return n;
}

// Fitted against o200k_base with `tokenize_eval --fit --holdout 2` (bench/tokenize_eval.sh) on
// ShareGPT_V3_filtered_1000.json and tools/tokenize_eval/multilingual_sample.json, weighted least
// squares with weight 1/tokens; ShareGPT's other file is held out for the error figures.
constexpr ApproxFeatures kWeights = {
    1.02,   // kWords
    0.136,  // kLongWordExtra
    1.64,   // kDigitGroups
    0.258,  // kPunct
    0.40,   // kPunctRuns
    0.852,  // kNewlineRuns
    0.94,   // kSpaceRuns
    0.35,   // kLatinExtra
    0.13,   // kTwoByte
    0.73,   // kCjk
    1.2,    // kGeneralPunct
    0.36,   // kThreeByte
    1.6,    // kFourByte
};

}  // namespace

ApproxFeatures ComputeApproxFeatures(std::string_view text) {
  const Counts n = Collect(text);
  ApproxFeatures f{};
  for (std::size_t k = 0; k < f.size(); ++k) f[k] = static_cast<double>(n[k]);
  return f;
}

const ApproxFeatures& ApproxWeights() { return kWeights; }

}  // namespace detail

std::size_t ApproximateCount(std::string_view text) {
  if (text.empty()) return 0;
  const detail::Counts n = detail::Collect(text);
  double sum = 0;
  for (std::size_t k = 0; k < n.size(); ++k) sum += detail::kWeights[k] * static_cast<double>(n[k]);
  const auto r = static_cast<std::size_t>(std::llround(sum));
  return r == 0 ? 1 : r;
}

}  // namespace meridian::tokenize
