#include "audit/record.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <memory>

namespace meridian::audit {

namespace {

void PutI64(std::string& out, std::int64_t value) {
  auto v = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutField(std::string& out, std::string_view s) {
  PutI64(out, static_cast<std::int64_t>(s.size()));
  out.append(s);
}

const EVP_MD* Sha256Md() {
  // Fetched once: OpenSSL 3 otherwise looks the algorithm up on every call.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (kSha256 == nullptr) std::abort();
  return kSha256;
}

}  // namespace

std::string CanonicalEncoding(std::int64_t seq, std::int64_t time_ms, std::string_view kind,
                              std::string_view body, std::string_view prev_hash) {
  std::string out;
  out.reserve(8 * 5 + kRecordHashTag.size() + kind.size() + body.size() + prev_hash.size() + 16);
  PutField(out, kRecordHashTag);
  PutI64(out, seq);
  PutI64(out, time_ms);
  PutField(out, kind);
  PutField(out, body);
  PutField(out, prev_hash);
  return out;
}

std::string RecordHash(std::int64_t seq, std::int64_t time_ms, std::string_view kind,
                       std::string_view body, std::string_view prev_hash) {
  const std::string encoded = CanonicalEncoding(seq, time_ms, kind, body, prev_hash);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> owned(EVP_MD_CTX_new(),
                                                                             &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!owned || !EVP_DigestInit_ex2(owned.get(), Sha256Md(), nullptr) ||
      !EVP_DigestUpdate(owned.get(), encoded.data(), encoded.size()) ||
      !EVP_DigestFinal_ex(owned.get(), digest, &length)) {
    std::abort();  // only on allocation failure inside OpenSSL
  }
  return ToHex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string HeadMac(std::string_view key, std::int64_t seq, std::string_view hash) {
  std::string msg;
  PutField(msg, kHeadMacTag);
  PutI64(msg, seq);
  PutField(msg, hash);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(Sha256Md(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &length) == nullptr) {
    std::abort();
  }
  return ToHex(std::string_view(reinterpret_cast<const char*>(mac), length));
}

bool IsHashHex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xf];
  }
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace meridian::audit
