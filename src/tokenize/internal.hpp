#pragma once
// Internal to src/tokenize (and its evaluation tool): the parts of an Encoding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenize/bpe.hpp"
#include "tokenize/tokenize.hpp"

namespace meridian::tokenize {

namespace detail {

// `text` with each maximal ill-formed UTF-8 subsequence replaced by U+FFFD (EF BF BD), as the
// WHATWG decoder (TextDecoder, Node's Buffer.toString) does.
std::string RepairUtf8(std::string_view text);

// `pattern` with \s and \S spelled out as Unicode's White_Space set (PCRE2's own \s also
// matches U+180E). Empty, with *error set, for a \S inside a character class.
std::string RewriteWhiteSpace(std::string_view pattern, std::string* error);

// The Unicode version of PCRE2's tables ("14.0.0" for Debian 12's PCRE2 10.42), and whether
// a code point is unassigned (\p{Cn}) in them. For tools/tokenize_eval's code point check.
std::string RegexUnicodeVersion();
bool UnassignedInRegexTables(std::uint32_t cp);

// Compiled pre-tokenization pattern (PCRE2, JIT when available). Thread-safe.
//
// For the two patterns it knows (o200k_base's and cl100k_base's, compared verbatim) it first
// tries a hand-written matcher that handles a match only while every byte it has to look at is
// ASCII, and hands the match to PCRE2 otherwise; PCRE2 alone decides anything that involves a
// non-ASCII character. docs/tokenizer.md has the measurement behind it.
class Splitter {
 public:
  enum class Fast : unsigned char { kNone, kCl100k, kO200k };
  static constexpr std::size_t kBail = static_cast<std::size_t>(-1);

  Splitter() = default;
  ~Splitter();
  Splitter(Splitter&& o) noexcept
      : code_(std::exchange(o.code_, nullptr)), jit_(o.jit_), fast_(o.fast_) {}
  Splitter& operator=(Splitter&&) = delete;

  // Compiles RewriteWhiteSpace(pattern). Returns an error text, empty on success.
  std::string Compile(const std::string& pattern);
  bool jit() const { return jit_; }
  Fast fast() const { return fast_; }

  // Calls f(begin, end) for each piece of `text`, which must be valid UTF-8, in order.
  // `use_fast` false: PCRE2 for every piece (the tests compare the two).
  template <class F>
  void ForEach(std::string_view text, F&& f, bool use_fast = true) const {
    const Fast fast = use_fast ? fast_ : Fast::kNone;
    std::size_t at = 0;
    std::size_t b = 0, e = 0;
    while (at < text.size()) {
      if (fast != Fast::kNone) {
        const std::size_t end = fast == Fast::kO200k ? MatchAsciiO200k(text, at)
                                                     : MatchAsciiCl100k(text, at);
        if (end != kBail) {
          f(at, end);
          at = end;
          continue;
        }
      }
      if (!Next(text, at, b, e)) break;
      f(b, e);
      at = e;
    }
  }

  // The end of the match at `at` (< text.size()) if it is decided by ASCII bytes, else kBail.
  static std::size_t MatchAsciiCl100k(std::string_view text, std::size_t at);
  static std::size_t MatchAsciiO200k(std::string_view text, std::size_t at);

 private:
  // The next match at or after `at`: false when there is none.
  bool Next(std::string_view text, std::size_t at, std::size_t& b, std::size_t& e) const;

  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
  Fast fast_ = Fast::kNone;
};

}  // namespace detail

struct Encoding::Impl {
  std::string name;
  std::string source;
  std::string pattern;
  std::vector<std::pair<std::string, std::uint32_t>> special;
  detail::RankTable ranks;
  detail::Splitter splitter;

  // Number of pre-tokenization pieces (for measuring the splitter alone).
  std::size_t CountPieces(std::string_view text) const;
};

}  // namespace meridian::tokenize
