// Pre-tokenization (docs/tokenizer.md): PCRE2 runs the package's pattern, whose syntax
// (\p{..}, (?i:..), (?!..)) means the same in PCRE2 with UTF and UCP as in the Rust regex engines
// tiktoken uses, with \s spelled out as Unicode's White_Space; for the two known patterns a
// hand-written matcher decides the matches that involve only ASCII bytes.

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <string>

#include "core/utf8.hpp"
#include "tokenize/internal.hpp"

namespace meridian::tokenize::detail {

namespace {

// Per-thread match state: match data (one pair; the patterns capture nothing) and a JIT stack
// larger than the 32 KiB default, shared by every pattern this thread runs.
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchState() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (context && stack) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchState& State() {
  thread_local MatchState state;
  return state;
}

// Unicode's White_Space property (PropList.txt, unchanged since Unicode 6.3), which is what \s
// means in Rust's regex crate. PCRE2's \s (with UCP) differs: it also matches U+180E, which
// Unicode 6.3 moved out of White_Space. Measured over every code point (docs/tokenizer.md).
constexpr std::string_view kWhiteSpace =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

// The patterns the ASCII matchers implement, exactly as tiktoken ships them.
constexpr std::string_view kCl100kPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kO200kPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Byte classes for the ASCII matchers. 0 is "other": ASCII punctuation, symbols and controls
// that are not white space, i.e. [^\s\p{L}\p{N}] restricted to ASCII.
enum : std::uint8_t {
  kLower = 1,   // a-z  (\p{Ll})
  kUpper = 2,   // A-Z  (\p{Lu})
  kDigit = 4,   // 0-9  (\p{N})
  kSpace = 8,   // \t \v \f space \r \n  (\s)
  kNl = 16,     // \r \n
  kHigh = 32,   // a byte of a non-ASCII character: the matchers never decide on one
  kLetter = kLower | kUpper,
};

constexpr std::array<std::uint8_t, 256> kClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLower;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kUpper;
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit;
  for (int c : {'\t', '\v', '\f', ' '}) t[c] = kSpace;
  for (int c : {'\r', '\n'}) t[c] = kSpace | kNl;
  for (int c = 0x80; c < 0x100; ++c) t[c] = kHigh;
  return t;
}();

struct Bytes {
  const unsigned char* s;
  std::size_t n;
  // The class of byte i; past the end, 0 with `end` semantics handled by the callers via n.
  std::uint8_t operator[](std::size_t i) const { return i < n ? kClass[s[i]] : 0; }
  bool Is(std::size_t i, std::uint8_t cls) const { return i < n && (kClass[s[i]] & cls); }
  bool High(std::size_t i) const { return i < n && s[i] >= 0x80; }
  // [^\s\p{L}\p{N}] for an ASCII byte.
  bool Other(std::size_t i) const { return i < n && kClass[s[i]] == 0; }
};

// (?i:'s|'t|'re|'ve|'m|'ll|'d) at k: its length, 0 for no match, kBail when a non-ASCII
// character decides (U+017F folds to 's').
std::size_t Contraction(const Bytes& b, std::size_t k) {
  if (k + 1 >= b.n || b.s[k] != '\'') return 0;
  const unsigned char c1 = b.s[k + 1];
  if (c1 >= 0x80) return Splitter::kBail;
  switch (c1 | 0x20) {
    case 's':
    case 't':
    case 'm':
    case 'd':
      return 2;
    case 'r':
    case 'v':
      return k + 2 < b.n && (b.s[k + 2] | 0x20) == 'e' ? 3 : 0;
    case 'l':
      return k + 2 < b.n && (b.s[k + 2] | 0x20) == 'l' ? 3 : 0;
    default:
      return 0;
  }
}

// \p{N}{1,3} at `at` (a digit).
std::size_t Digits(const Bytes& b, std::size_t at) {
  std::size_t j = at + 1;
  while (j < b.n && j - at < 3 && b.Is(j, kDigit)) ++j;
  if (j - at < 3 && b.High(j)) return Splitter::kBail;  // a non-ASCII digit may follow
  return j;
}

// ` ?[^\s\p{L}\p{N}]+[\r\n]*` (with '/' in the tail for o200k), the run starting at `first`.
std::size_t OtherRun(const Bytes& b, std::size_t first, bool slash) {
  std::size_t j = first + 1;
  while (b.Other(j)) ++j;
  if (b.High(j)) return Splitter::kBail;  // the run may go on with a non-ASCII symbol
  while (j < b.n && (b.s[j] == '\r' || b.s[j] == '\n' || (slash && b.s[j] == '/'))) ++j;
  return j;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ at `at` (white space).
std::size_t SpaceRun(const Bytes& b, std::size_t at) {
  std::size_t j = at + 1;
  while (b.Is(j, kSpace)) ++j;
  if (b.High(j)) return Splitter::kBail;  // the run may go on with U+00A0, U+3000, ...
  // \s*[\r\n]+: up to and including the run's last line break.
  for (std::size_t k = j; k > at; --k) {
    if (b.Is(k - 1, kNl)) return k;
  }
  if (j == b.n) return j;          // \s+(?!\S) at the end of the text
  if (j - at >= 2) return j - 1;   // \s+(?!\S): leave one space for the next word
  return j;                        // \s+
}

// [^\r\n\p{L}\p{N}] for an ASCII byte: white space other than \r\n, or "other".
bool PrefixClass(std::uint8_t cls) { return !(cls & (kLetter | kDigit | kNl)); }

}  // namespace

std::size_t Splitter::MatchAsciiCl100k(std::string_view text, std::size_t at) {
  const Bytes b{reinterpret_cast<const unsigned char*>(text.data()), text.size()};
  const std::uint8_t c = b[at];
  if (c & kHigh) return kBail;
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (b.s[at] == '\'') {
    const std::size_t r = Contraction(b, at);
    if (r == kBail) return kBail;
    if (r > 0) return at + r;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  std::size_t letters = kBail;
  if (c & kLetter) {
    letters = at;
  } else if (PrefixClass(c)) {
    if (b.High(at + 1)) return kBail;
    if (b.Is(at + 1, kLetter)) letters = at + 1;
  }
  if (letters != kBail) {
    std::size_t j = letters + 1;
    while (b.Is(j, kLetter)) ++j;
    return b.High(j) ? kBail : j;
  }
  // \p{N}{1,3}
  if (c & kDigit) return Digits(b, at);
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  if (c == 0) return OtherRun(b, at, false);
  if (b.s[at] == ' ' && b.Other(at + 1)) return OtherRun(b, at + 1, false);
  // (b.s[at] == ' ' followed by a non-ASCII byte was handled above: PrefixClass bails.)
  return SpaceRun(b, at);
}

std::size_t Splitter::MatchAsciiO200k(std::string_view text, std::size_t at) {
  const Bytes b{reinterpret_cast<const unsigned char*>(text.data()), text.size()};
  const std::uint8_t c = b[at];
  if (c & kHigh) return kBail;
  // [^\r\n\p{L}\p{N}]?[\p{Lu}..]*[\p{Ll}..]+(?i:..)? | [^\r\n\p{L}\p{N}]?[\p{Lu}..]+[\p{Ll}..]*(?i:..)?
  // In ASCII both are: an optional prefix, upper case letters, lower case letters (at least
  // one letter in all), and an optional contraction.
  std::size_t letters = kBail;
  if (c & kLetter) {
    letters = at;
  } else if (PrefixClass(c)) {
    if (b.High(at + 1)) return kBail;  // a non-ASCII letter or mark may follow
    if (b.Is(at + 1, kLetter)) letters = at + 1;
  }
  if (letters != kBail) {
    std::size_t j = letters;
    while (b.Is(j, kUpper)) ++j;
    if (b.High(j)) return kBail;
    while (b.Is(j, kLower)) ++j;
    if (b.High(j)) return kBail;
    const std::size_t r = Contraction(b, j);
    if (r == kBail) return kBail;
    return j + r;
  }
  // \p{N}{1,3}
  if (c & kDigit) return Digits(b, at);
  // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
  if (c == 0) return OtherRun(b, at, true);
  if (b.s[at] == ' ' && b.Other(at + 1)) return OtherRun(b, at + 1, true);
  return SpaceRun(b, at);
}

std::string RewriteWhiteSpace(std::string_view pattern, std::string* error) {
  std::string out;
  out.reserve(pattern.size() * 2);
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char d = pattern[++i];
      if (d == 's') {
        if (in_class) {
          out.append(kWhiteSpace);
        } else {
          out.append("[").append(kWhiteSpace).append("]");
        }
      } else if (d == 'S') {
        if (in_class) {
          if (error) *error = "\\S inside a character class is not supported";
          return {};
        }
        out.append("[^").append(kWhiteSpace).append("]");
      } else {
        out.push_back(c);
        out.push_back(d);
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
  }
  return out;
}

Splitter::~Splitter() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::string Splitter::Compile(const std::string& original) {
  std::string rewrite_error;
  const std::string pattern = RewriteWhiteSpace(original, &rewrite_error);
  if (!rewrite_error.empty()) return rewrite_error;
  int err = 0;
  PCRE2_SIZE err_at = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &err_at, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return "pattern does not compile at offset " + std::to_string(err_at) + ": " +
           reinterpret_cast<const char*>(msg);
  }
  pcre2_code_free(static_cast<pcre2_code*>(code_));
  code_ = code;
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  fast_ = original == kO200kPattern    ? Fast::kO200k
          : original == kCl100kPattern ? Fast::kCl100k
                                       : Fast::kNone;
  return {};
}

bool Splitter::Next(std::string_view text, std::size_t at, std::size_t& b,
                    std::size_t& e) const {
  if (at >= text.size()) return false;
  auto* code = static_cast<const pcre2_code*>(code_);
  MatchState& st = State();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc;
  if (jit_) {
    rc = pcre2_jit_match(code, subject, text.size(), at, PCRE2_NO_UTF_CHECK, st.data,
                         st.context);
  } else {
    rc = pcre2_match(code, subject, text.size(), at, PCRE2_NO_UTF_CHECK, st.data, st.context);
  }
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT || (rc < 0 && rc != PCRE2_ERROR_NOMATCH && jit_)) {
    // Out of JIT stack: the interpreter keeps its backtracking frames on the heap.
    rc = pcre2_match(code, subject, text.size(), at, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, st.data,
                     st.context);
  }
  if (rc < 0) {
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    // A resource limit even for the interpreter: take the rest of the text as one piece
    // (still a valid, lossless encoding; the count may then differ from the reference).
    b = at;
    e = text.size();
    return true;
  }
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
  b = ov[0];
  e = ov[1];
  if (e <= b) {
    // The patterns cannot match the empty string; guard anyway so the loop always advances
    // (by one code point) rather than spin.
    std::size_t next = b + 1;
    while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
    e = next;
  }
  return true;
}

std::string RegexUnicodeVersion() {
  char buf[64] = {};
  if (pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, buf) < 0) return "?";
  return buf;
}

bool UnassignedInRegexTables(std::uint32_t cp) {
  static Splitter* const cn = [] {
    auto* s = new Splitter;
    s->Compile(R"(\p{Cn})");
    return s;
  }();
  std::string text;
  if (cp < 0x80) {
    text.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    text = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
  } else if (cp < 0x10000) {
    text = {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
            static_cast<char>(0x80 | (cp & 0x3F))};
  } else {
    text = {static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
            static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
  }
  bool found = false;
  cn->ForEach(text, [&](std::size_t, std::size_t) { found = true; }, false);
  return found;
}

std::string RepairUtf8(std::string_view text) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size() + 16);
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    std::size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      out.append(kReplacement, 3);  // a byte that never starts a sequence
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    bool ok = true;
    for (std::size_t k = 0; k < need; ++k, ++j) {
      const unsigned char l = k == 0 ? lo : 0x80, h = k == 0 ? hi : 0xBF;
      if (j >= n || s[j] < l || s[j] > h) {
        ok = false;
        break;
      }
    }
    if (ok) {
      out.append(text.data() + i, j - i);
    } else {
      out.append(kReplacement, 3);  // the maximal subpart i..j; s[j] is looked at again
    }
    i = j;
  }
  return out;
}

}  // namespace meridian::tokenize::detail
