#include "core/request_id.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace meridian::core {

namespace {

// xoshiro256** (Blackman and Vigna): fast, 256-bit state, passes BigCrush. Not cryptographic.
class Xoshiro256StarStar {
 public:
  Xoshiro256StarStar() {
    std::random_device rd;
    do {
      for (std::uint64_t& word : s_) {
        word = (static_cast<std::uint64_t>(rd()) << 32) | rd();
      }
    } while ((s_[0] | s_[1] | s_[2] | s_[3]) == 0);  // the all-zero state is a fixed point
  }

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::array<std::uint64_t, 4> s_{};
};

void AppendHex(char* out, std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[v & 0xF];
    v >>= 4;
  }
}

constexpr std::array<bool, 256> MakeAllowedTable() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : {'.', '_', ':', '-'}) t[static_cast<unsigned char>(c)] = true;
  return t;
}

constexpr std::array<bool, 256> kAllowed = MakeAllowedTable();

}  // namespace

std::string NewRequestId() {
  thread_local Xoshiro256StarStar rng;
  std::string id(4 + 32, '\0');
  id[0] = 'r';
  id[1] = 'e';
  id[2] = 'q';
  id[3] = '_';
  AppendHex(id.data() + 4, rng.Next());
  AppendHex(id.data() + 20, rng.Next());
  return id;
}

bool IsAcceptableClientRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientRequestIdLength) return false;
  for (char c : id) {
    if (!kAllowed[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace meridian::core
