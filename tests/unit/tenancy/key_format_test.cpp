#include "tenancy/key_format.hpp"

#include <set>

#include <gtest/gtest.h>

namespace meridian::tenancy {
namespace {

std::string Hex(const KeyHash& h) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (auto b : h) {
    out.push_back(d[b >> 4]);
    out.push_back(d[b & 15]);
  }
  return out;
}

TEST(KeyFormat, EncodingIsFixedWidthBase62) {
  std::array<std::uint8_t, 32> zero{};
  EXPECT_EQ(EncodeKey(zero), "mk-" + std::string(43, '0'));
  std::array<std::uint8_t, 32> ones;
  ones.fill(0xff);
  // Computed independently with Python's int.from_bytes.
  EXPECT_EQ(EncodeKey(ones), "mk-yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1");
  std::array<std::uint8_t, 32> counting;
  for (int i = 0; i < 32; ++i) counting[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(EncodeKey(counting), "mk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf");
}

TEST(KeyFormat, HashIsSha256OfTheWholeKey) {
  // hashlib.sha256(b"mk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf").hexdigest()
  EXPECT_EQ(Hex(HashKey("mk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf")),
            "bec860533c233650887b3821f908b32dc0f7d6395daebbd6de631976b0ddc6a5");
}

TEST(KeyFormat, GeneratedKeysHaveTheFormatAndUniquePrefixes) {
  std::set<std::string> prefixes;
  std::set<std::string> keys;
  for (int i = 0; i < 10000; ++i) {
    auto key = GenerateKey();
    ASSERT_TRUE(key.has_value());
    ASSERT_EQ(key->size(), 46u);
    ASSERT_TRUE(LooksLikeKey(*key)) << i;
    const std::string_view prefix = KeyPrefix(*key);
    ASSERT_EQ(prefix.size(), 12u);
    ASSERT_TRUE(LooksLikeKeyPrefix(prefix));
    prefixes.emplace(prefix);
    keys.insert(*key);
  }
  EXPECT_EQ(keys.size(), 10000u);
  EXPECT_EQ(prefixes.size(), 10000u);
}

TEST(KeyFormat, EveryCharacterOfTheAlphabetAppears) {
  // 43 characters of base62 carry 256 bits: over many keys every symbol shows up, in every
  // position but the first (which is at most 'y': 62^43 is just above 2^256).
  std::set<char> seen;
  for (int i = 0; i < 2000; ++i) {
    auto key = GenerateKey();
    ASSERT_TRUE(key.has_value());
    for (std::size_t j = 4; j < key->size(); ++j) seen.insert((*key)[j]);
  }
  EXPECT_EQ(seen.size(), 62u);
}

TEST(KeyFormat, LooksLikeKeyRejectsOtherShapes) {
  const std::string good = "mk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf";
  EXPECT_TRUE(LooksLikeKey(good));
  EXPECT_FALSE(LooksLikeKey(good.substr(0, 45)));
  EXPECT_FALSE(LooksLikeKey(good + "0"));
  EXPECT_FALSE(LooksLikeKey("sk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf"));
  EXPECT_FALSE(LooksLikeKey("mk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBID-f"));
  EXPECT_FALSE(LooksLikeKey(""));
  EXPECT_TRUE(LooksLikeKeyPrefix("mk-003aUlTJC"));
  EXPECT_FALSE(LooksLikeKeyPrefix("mk-003aUlTJ"));
  EXPECT_FALSE(LooksLikeKeyPrefix("mk-003aUlTJ_"));
}

}  // namespace
}  // namespace meridian::tenancy
