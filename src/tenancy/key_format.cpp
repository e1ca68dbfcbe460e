#include "tenancy/key_format.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

namespace meridian::tenancy {

namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool IsBase62(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// OpenSSL 3 looks the algorithm up on every EVP_sha256()-style call through the default
// library context; fetching it once saves that per request.
const EVP_MD* Sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::string EncodeKey(const std::array<std::uint8_t, kKeyRandomBytes>& bytes) {
  // Base62 of a 256-bit big-endian number by repeated long division; exactly 43 digits
  // (62^43 > 2^256), most significant first.
  std::array<std::uint8_t, kKeyRandomBytes> n = bytes;
  std::string digits(kKeyBodyChars, '0');
  for (std::size_t pos = kKeyBodyChars; pos-- > 0;) {
    unsigned remainder = 0;
    for (std::uint8_t& byte : n) {
      const unsigned acc = (remainder << 8) | byte;
      byte = static_cast<std::uint8_t>(acc / 62);
      remainder = acc % 62;
    }
    digits[pos] = kAlphabet[remainder];
  }
  std::string key(kKeyMarker);
  key += digits;
  return key;
}

core::Result<std::string> GenerateKey() {
  std::array<std::uint8_t, kKeyRandomBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return core::Fail(core::ErrorCode::kInternal, "the random generator failed");
  }
  std::string key = EncodeKey(bytes);
  // The random bytes are no longer needed; do not leave them on the stack.
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

bool LooksLikeKey(std::string_view text) {
  return text.size() == kKeyChars && text.starts_with(kKeyMarker) &&
         std::all_of(text.begin() + 3, text.end(), IsBase62);
}

std::string_view KeyPrefix(std::string_view key) { return key.substr(0, kKeyPrefixChars); }

bool LooksLikeKeyPrefix(std::string_view text) {
  return text.size() == kKeyPrefixChars && text.starts_with(kKeyMarker) &&
         std::all_of(text.begin() + 3, text.end(), IsBase62);
}

KeyHash HashKey(std::string_view key) {
  KeyHash out{};
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), out.data(), &len, Sha256(), nullptr);
  return out;
}

}  // namespace meridian::tenancy
