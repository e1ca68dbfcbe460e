#include "sim/content.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

namespace meridian::sim {
namespace {

// 64 plain words: the answer vocabulary. Changing this list changes every answer, so treat it
// as part of the simulator's observable contract (docs/simulator.md).
constexpr std::array<std::string_view, 64> kWords = {
    "the",     "river",   "quiet",   "signal",  "moves",   "across",  "a",       "stone",
    "bridge",  "while",   "bright",  "lanterns", "drift",  "over",    "calm",    "water",
    "every",   "morning", "small",   "birds",   "gather",  "near",    "old",     "gates",
    "and",     "sing",    "softly",  "to",      "distant", "hills",   "where",   "farmers",
    "plant",   "green",   "barley",  "under",   "clear",   "skies",   "of",      "summer",
    "light",   "travels", "through", "glass",   "windows", "into",    "warm",    "rooms",
    "filled",  "with",    "books",   "maps",    "letters", "from",    "friends", "who",
    "wander",  "far",     "beyond",  "northern", "forests", "toward", "silver",  "coasts",
};

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

uint64_t Fnv1a(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t Fnv1aInt(uint64_t value, uint64_t seed) {
  uint64_t h = seed;
  for (int i = 0; i < 8; ++i) {
    h ^= (value >> (8 * i)) & 0xffu;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double UnitDouble(uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

std::string_view AnswerWord(uint64_t hash, std::size_t i) {
  return kWords[Mix64(hash + 0x632be59bd9b4e019ULL * (i + 1)) % kWords.size()];
}

void AppendAnswer(std::string& out, uint64_t hash, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (i != 0) out.push_back(' ');
    out.append(AnswerWord(hash, i));
  }
}

uint64_t ApproxTokens(std::size_t chars) {
  uint64_t t = (static_cast<uint64_t>(chars) + 3) / 4;
  return t == 0 ? 1 : t;
}

std::vector<float> UnitVector(uint64_t hash, std::size_t dims) {
  std::vector<float> v(dims);
  double norm2 = 0;
  uint64_t state = hash;
  for (std::size_t i = 0; i < dims; ++i) {
    state = Mix64(state);
    // Uniform in [-1, 1), never exactly zero everywhere: the chance is nil, and guarded below.
    double x = UnitDouble(state) * 2.0 - 1.0;
    v[i] = static_cast<float>(x);
    norm2 += x * x;
  }
  if (norm2 <= 0) {
    v[0] = 1.0f;
    return v;
  }
  double inv = 1.0 / std::sqrt(norm2);
  for (float& f : v) f = static_cast<float>(f * inv);
  return v;
}

void AppendBase64(std::string& out, std::span<const unsigned char> bytes) {
  std::size_t n = bytes.size();
  out.reserve(out.size() + (n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t w = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kBase64Alphabet[(w >> 18) & 63]);
    out.push_back(kBase64Alphabet[(w >> 12) & 63]);
    out.push_back(kBase64Alphabet[(w >> 6) & 63]);
    out.push_back(kBase64Alphabet[w & 63]);
  }
  if (std::size_t rest = n - i; rest > 0) {
    uint32_t w = uint32_t{bytes[i]} << 16;
    if (rest == 2) w |= uint32_t{bytes[i + 1]} << 8;
    out.push_back(kBase64Alphabet[(w >> 18) & 63]);
    out.push_back(kBase64Alphabet[(w >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(w >> 6) & 63] : '=');
    out.push_back('=');
  }
}

void AppendBase64Floats(std::string& out, std::span<const float> values) {
  std::vector<unsigned char> bytes(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = std::bit_cast<uint32_t>(values[i]);
    bytes[i * 4 + 0] = static_cast<unsigned char>(bits & 0xff);
    bytes[i * 4 + 1] = static_cast<unsigned char>((bits >> 8) & 0xff);
    bytes[i * 4 + 2] = static_cast<unsigned char>((bits >> 16) & 0xff);
    bytes[i * 4 + 3] = static_cast<unsigned char>((bits >> 24) & 0xff);
  }
  AppendBase64(out, bytes);
}

void AppendJsonEscaped(std::string& out, std::string_view text) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(start, i - start));
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(kHexDigits[c >> 4]);
        out.push_back(kHexDigits[c & 15]);
    }
    start = i + 1;
  }
  out.append(text.substr(start));
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  AppendJsonEscaped(out, text);
  out.push_back('"');
}

void AppendUint(std::string& out, uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

std::string Hex16(uint64_t value) {
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = kHexDigits[value & 15];
    value >>= 4;
  }
  return s;
}

}  // namespace meridian::sim
