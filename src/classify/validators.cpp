#include "classify/validators.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace meridian::classify {
namespace {

// Collects the significant characters of `text` (dropping the listed separators) into a small
// fixed buffer. Fails when a character is neither significant nor a separator, or the buffer
// would overflow.
struct Compact {
  std::array<char, 40> buf{};
  std::size_t len = 0;

  std::string_view view() const { return {buf.data(), len}; }
};

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

// Keeps characters accepted by `keep` (upper-cased), skips those in `seps`, fails on others.
template <class Keep>
bool CompactText(std::string_view text, std::string_view seps, Keep keep, Compact& out) {
  for (char c : text) {
    if (seps.find(c) != std::string_view::npos) continue;
    if (!keep(c)) return false;
    if (out.len == out.buf.size()) return false;
    out.buf[out.len++] = ToUpper(c);
  }
  return true;
}

bool DigitsOnly(std::string_view text, std::string_view seps, Compact& out) {
  return CompactText(text, seps, IsDigit, out);
}

int D(char c) { return c - '0'; }

bool LuhnSum(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (std::size_t i = digits.size(); i-- > 0;) {
    int d = D(digits[i]);
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

int Prefix(std::string_view digits, std::size_t n) {
  int v = 0;
  for (std::size_t i = 0; i < n && i < digits.size(); ++i) v = v * 10 + D(digits[i]);
  return v;
}

// Issuer identification: is the prefix one that card networks hand out, for this length?
bool PlausibleIin(std::string_view d) {
  const std::size_t n = d.size();
  const int p1 = Prefix(d, 1), p2 = Prefix(d, 2), p3 = Prefix(d, 3), p4 = Prefix(d, 4);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                        // Visa
  if (p2 >= 51 && p2 <= 55) return n == 16;                                 // Mastercard
  if (p4 >= 2221 && p4 <= 2720) return n == 16;                             // Mastercard 2-series
  if (p4 >= 2200 && p4 <= 2204) return n >= 16 && n <= 19;                  // Mir
  if (p2 == 34 || p2 == 37) return n == 15;                                 // Amex
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14 && n <= 19;  // Diners
  if (p2 == 35) return n >= 16 && n <= 19;  // JCB (3528–3589 assigned; test generators use all 35xx)
  if (p4 == 2131 || p4 == 1800) return n == 15;                             // JCB (legacy)
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) return n >= 16 && n <= 19;  // Discover
  if (p2 == 62 || p2 == 81) return n >= 16 && n <= 19;                      // UnionPay
  if (p2 == 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19;        // Maestro
  return false;
}

}  // namespace

bool LuhnValid(std::string_view text) {
  Compact c;
  if (!DigitsOnly(text, " -", c)) return false;
  const auto d = c.view();
  if (d.size() < 12 || d.size() > 19) return false;
  return PlausibleIin(d) && LuhnSum(d);
}

namespace {

struct IbanCountry {
  char code[3];
  int length;
};

// Countries whose BBAN starts with a four-letter bank code followed only by digits (a
// structural check on top of mod-97; other countries get the length and mod-97 checks).
struct IbanBankLetters {
  char code[3];
  bool digits_after;  // the rest of the BBAN is all digits
};
constexpr IbanBankLetters kIbanBankLetters[] = {
    {"GB", true},  {"IE", true},  {"NL", true},  {"VG", true},  {"PS", false}, {"BG", false},
    {"RO", false}, {"LV", false}, {"BH", false}, {"GI", false}, {"JO", false}, {"KW", false},
    {"LC", false}, {"MT", false}, {"QA", false}, {"SC", false}, {"AZ", false}, {"PK", false},
    {"NI", true},  {"SV", true},  {"IQ", true},  {"MU", false},
};

bool IbanStructureOk(std::string_view s) {
  for (const auto& b : kIbanBankLetters) {
    if (b.code[0] != s[0] || b.code[1] != s[1]) continue;
    for (std::size_t i = 4; i < 8; ++i) {
      if (!(s[i] >= 'A' && s[i] <= 'Z')) return false;
    }
    if (b.digits_after) {
      for (std::size_t i = 8; i < s.size(); ++i) {
        if (!(s[i] >= '0' && s[i] <= '9')) return false;
      }
    }
    return true;
  }
  return true;
}

// ISO 13616 registry lengths, plus national IBAN formats published by central banks outside
// the SWIFT registry (several African states, Iran, Algeria).
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AO", 25}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BF", 28}, {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BJ", 28}, {"BR", 29}, {"BY", 28}, {"CF", 27},
    {"CG", 27}, {"CH", 21}, {"CI", 28}, {"CM", 27}, {"CR", 22}, {"CV", 25}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"DZ", 26}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GA", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23},
    {"GL", 18}, {"GQ", 27}, {"GR", 27}, {"GT", 28}, {"GW", 25}, {"HN", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IR", 26}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KM", 27},
    {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
    {"LY", 25}, {"MA", 28}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MG", 27}, {"MK", 19}, {"ML", 28},
    {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"MZ", 25}, {"NE", 28}, {"NI", 28}, {"NL", 18},
    {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24},
    {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24},
    {"SM", 27}, {"SN", 28}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TD", 27}, {"TG", 28}, {"TL", 23},
    {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

int IbanLength(char a, char b) {
  for (const auto& c : kIbanCountries) {
    if (c.code[0] == a && c.code[1] == b) return c.length;
  }
  return 0;
}

bool IsAlnum(char c) { return IsDigit(c) || IsUpper(c) || IsLower(c); }

}  // namespace

bool IbanValid(std::string_view text) {
  Compact c;
  if (!CompactText(text, " ", IsAlnum, c)) return false;
  const auto s = c.view();
  if (s.size() < 15 || !IsUpper(s[0]) || !IsUpper(s[1]) || !IsDigit(s[2]) || !IsDigit(s[3])) {
    return false;
  }
  if (IbanLength(s[0], s[1]) != static_cast<int>(s.size())) return false;
  if (!IbanStructureOk(s)) return false;
  // Move the first four characters to the end, letters become 10..35, remainder mod 97.
  int rem = 0;
  for (std::size_t k = 0; k < s.size(); ++k) {
    const char ch = s[(k + 4) % s.size()];
    if (IsDigit(ch)) {
      rem = (rem * 10 + D(ch)) % 97;
    } else {
      rem = (rem * 100 + (ch - 'A' + 10)) % 97;
    }
  }
  return rem == 1;
}

bool UsSsnValid(std::string_view text) {
  Compact c;
  if (!DigitsOnly(text, " -", c)) return false;
  const auto d = c.view();
  if (d.size() != 9) return false;
  const int area = Prefix(d, 3), group = Prefix(d.substr(3), 2), serial = Prefix(d.substr(5), 4);
  if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return false;
  if (d == "078051120" || d == "219099999") return false;  // published in advertising
  return true;
}

namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool ValidDate(int y, int m, int d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  int max = kDays[m - 1] + ((m == 2 && IsLeap(y)) ? 1 : 0);
  return d <= max;
}

bool CnProvince(int p) {
  return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
         (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
         p == 81 || p == 82 || p == 83 || p == 91;
}

}  // namespace

bool CnResidentIdValid(std::string_view text) {
  Compact c;
  if (!CompactText(text, " ", [](char ch) { return IsDigit(ch) || ch == 'X' || ch == 'x'; }, c)) {
    return false;
  }
  const auto s = c.view();
  if (s.size() != 18) return false;
  for (int i = 0; i < 17; ++i) {
    if (!IsDigit(s[i])) return false;
  }
  if (!CnProvince(Prefix(s, 2))) return false;
  const int year = Prefix(s.substr(6), 4), month = Prefix(s.substr(10), 2),
            day = Prefix(s.substr(12), 2);
  if (year < 1900 || year > 2030 || !ValidDate(year, month, day)) return false;
  static constexpr int kWeights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += D(s[i]) * kWeights[i];
  const int check = (12 - sum % 11) % 11;
  const char expect = check == 10 ? 'X' : static_cast<char>('0' + check);
  return s[17] == expect;
}

bool DeTaxIdValid(std::string_view text) {
  Compact c;
  if (!DigitsOnly(text, " /", c)) return false;
  const auto d = c.view();
  if (d.size() != 11 || d[0] == '0') return false;
  // Among the first ten digits exactly one digit occurs two or three times, the rest at most
  // once; a triple may not stand in three consecutive places.
  std::array<int, 10> counts{};
  for (int i = 0; i < 10; ++i) ++counts[D(d[i])];
  int repeated = 0;
  int repeated_digit = -1;
  for (int k = 0; k < 10; ++k) {
    if (counts[k] > 3) return false;
    if (counts[k] >= 2) {
      ++repeated;
      repeated_digit = k;
    }
  }
  if (repeated != 1) return false;
  if (counts[repeated_digit] == 3) {
    for (int i = 0; i + 2 < 10; ++i) {
      if (D(d[i]) == repeated_digit && d[i] == d[i + 1] && d[i] == d[i + 2]) return false;
    }
  }
  // ISO 7064 MOD 11,10.
  int product = 10;
  for (int i = 0; i < 10; ++i) {
    int sum = (D(d[i]) + product) % 10;
    if (sum == 0) sum = 10;
    product = (sum * 2) % 11;
  }
  int check = 11 - product;
  if (check == 10) check = 0;
  return check == D(d[10]);
}

bool FrNirValid(std::string_view text) {
  Compact c;
  if (!CompactText(text, " .-", [](char ch) { return IsDigit(ch) || ch == 'A' || ch == 'B' ||
                                                     ch == 'a' || ch == 'b'; }, c)) {
    return false;
  }
  const auto s = c.view();
  if (s.size() != 15) return false;
  // Sex/status digit: 1, 2 (born), 3, 4 (provisional, foreign-born), 7, 8 (temporary).
  const char sex = s[0];
  if (sex != '1' && sex != '2' && sex != '3' && sex != '4' && sex != '7' && sex != '8') {
    return false;
  }
  for (std::size_t i = 0; i < 15; ++i) {
    if (i == 6) continue;  // department second char may be A/B (Corsica)
    if (!IsDigit(s[i])) return false;
  }
  const int month = Prefix(s.substr(3), 2);
  if (!((month >= 1 && month <= 12) || (month >= 20 && month <= 42) || (month >= 50 && month <= 99))) {
    return false;
  }
  // Corsica: 2A counts as 19, 2B as 18 in the key computation.
  std::uint64_t n = 0;
  for (int i = 0; i < 13; ++i) {
    int v;
    if (i == 5 && !IsDigit(s[6])) {
      if (s[5] != '2') return false;
      v = 1;  // "2A" -> "19", "2B" -> "18": first digit 1
    } else if (i == 6 && !IsDigit(s[6])) {
      v = s[6] == 'A' ? 9 : 8;
    } else {
      v = D(s[i]);
    }
    n = n * 10 + static_cast<std::uint64_t>(v);
  }
  const int key = Prefix(s.substr(13), 2);
  return key >= 1 && key <= 97 && static_cast<std::uint64_t>(key) == 97 - n % 97;
}

namespace {

constexpr std::uint8_t kVerhoeffD[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
    {3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
    {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
constexpr std::uint8_t kVerhoeffP[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
    {8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};

}  // namespace

bool InAadhaarValid(std::string_view text) {
  Compact c;
  if (!DigitsOnly(text, " -", c)) return false;
  const auto d = c.view();
  if (d.size() != 12 || d[0] < '2') return false;
  int check = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    check = kVerhoeffD[check][kVerhoeffP[i % 8][D(d[d.size() - 1 - i])]];
  }
  return check == 0;
}

bool UkNinoValid(std::string_view text) {
  Compact c;
  if (!CompactText(text, " ", IsAlnum, c)) return false;
  const auto s = c.view();
  if (s.size() != 9) return false;
  const char a = s[0], b = s[1];
  if (!IsUpper(a) || !IsUpper(b)) return false;
  if (std::string_view("DFIQUV").find(a) != std::string_view::npos) return false;
  if (std::string_view("DFIOQUV").find(b) != std::string_view::npos) return false;
  const std::string_view prefix = s.substr(0, 2);
  for (std::string_view bad : {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}) {
    if (prefix == bad) return false;
  }
  for (int i = 2; i < 8; ++i) {
    if (!IsDigit(s[i])) return false;
  }
  return s[8] >= 'A' && s[8] <= 'D';
}

bool EsDniNieValid(std::string_view text) {
  Compact c;
  if (!CompactText(text, " -.", IsAlnum, c)) return false;
  const auto s = c.view();
  if (s.size() != 9) return false;
  int n = 0;
  std::size_t i = 0;
  if (s[0] == 'X' || s[0] == 'Y' || s[0] == 'Z') {
    n = s[0] - 'X';
    i = 1;
  }
  for (; i < 8; ++i) {
    if (!IsDigit(s[i])) return false;
    n = n * 10 + D(s[i]);
  }
  static constexpr std::string_view kLetters = "TRWAGMYFPDXBNJZSQVHLCKE";
  return s[8] == kLetters[static_cast<std::size_t>(n % 23)];
}

namespace {

// Omocodia: digits in the numeric positions may be replaced by these letters (0..9).
int OmocodiaDigit(char c) {
  if (IsDigit(c)) return D(c);
  static constexpr std::string_view kSubst = "LMNPQRSTUV";
  const auto pos = kSubst.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

bool ItCodiceFiscaleValid(std::string_view text) {
  Compact c;
  if (!CompactText(text, " ", IsAlnum, c)) return false;
  const auto s = c.view();
  if (s.size() != 16) return false;
  for (int i : {0, 1, 2, 3, 4, 5, 8, 11, 15}) {
    if (!IsUpper(s[i])) return false;
  }
  for (int i : {6, 7, 9, 10, 12, 13, 14}) {
    if (OmocodiaDigit(s[i]) < 0) return false;
  }
  if (std::string_view("ABCDEHLMPRST").find(s[8]) == std::string_view::npos) return false;
  const int day = OmocodiaDigit(s[9]) * 10 + OmocodiaDigit(s[10]);
  if (!((day >= 1 && day <= 31) || (day >= 41 && day <= 71))) return false;
  // Check character: odd positions (1-based) map through a fixed table, even ones by value.
  static constexpr int kOdd[26] = {1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                                   20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};
  // The official rule computes it over the code as written; some issuers' tools (and
  // validator.js) compute it over the code with omocodia letters turned back into digits.
  // Both are accepted: the second only differs for omocodic codes, which are rare.
  auto check_char = [&](bool normalize) {
    int sum = 0;
    for (int i = 0; i < 15; ++i) {
      char ch = s[i];
      const bool numeric_pos = i == 6 || i == 7 || i == 9 || i == 10 || i >= 12;
      if (normalize && numeric_pos) ch = static_cast<char>('0' + OmocodiaDigit(ch));
      const int v = IsDigit(ch) ? D(ch) : ch - 'A';
      sum += (i % 2 == 0) ? kOdd[v] : v;
    }
    return static_cast<char>('A' + sum % 26);
  };
  return s[15] == check_char(false) || s[15] == check_char(true);
}

bool BrCpfValid(std::string_view text) {
  Compact c;
  if (!DigitsOnly(text, " .-", c)) return false;
  const auto d = c.view();
  if (d.size() != 11) return false;
  bool all_same = true;
  for (char ch : d) all_same = all_same && ch == d[0];
  if (all_same) return false;
  for (int len : {9, 10}) {
    int sum = 0;
    for (int i = 0; i < len; ++i) sum += D(d[i]) * (len + 1 - i);
    int check = (sum * 10) % 11;
    if (check == 10) check = 0;
    if (check != D(d[len])) return false;
  }
  return true;
}

}  // namespace meridian::classify
