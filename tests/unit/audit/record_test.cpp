#include "audit/record.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace meridian::audit {
namespace {

// Known answers computed independently (Python hashlib/hmac over the encoding that
// docs/audit.md defines), so the definition and the code cannot drift apart unnoticed.
TEST(RecordHashTest, KnownAnswers) {
  const std::string h1 = RecordHash(1, 1700000000000, "admin", R"({"a":1})", kGenesisHash);
  EXPECT_EQ(h1, "9524404695a7bfde5865d180e3ed24f333ddb30af0122fc36093870f83d07a67");
  EXPECT_EQ(RecordHash(2, 1700000000001, "request", "{}", h1),
            "b554b44ad469f12527e8471a80b1228f174f0bc15094ec69385f0214b07829a2");
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  std::string head_hash;
  for (int i = 0; i < 32; ++i) head_hash += "ab";
  EXPECT_EQ(HeadMac(key, 2, head_hash),
            "73d51671547210a430aa1859c7166dc0e2b7b2de5718906d198f814e28e8b19d");
}

TEST(RecordHashTest, EncodingLayout) {
  const std::string e = CanonicalEncoding(1, 2, "ab", "{}", "x");
  // 8+24 (tag) + 8 (seq) + 8 (time) + 8+2 + 8+2 + 8+1
  ASSERT_EQ(e.size(), 8u + kRecordHashTag.size() + 8 + 8 + 10 + 10 + 9);
  EXPECT_EQ(e.substr(0, 8), std::string("\0\0\0\0\0\0\0\x18", 8));
  EXPECT_EQ(e.substr(8, kRecordHashTag.size()), kRecordHashTag);
  EXPECT_EQ(e.substr(32, 8), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(e.substr(40, 8), std::string("\0\0\0\0\0\0\0\x02", 8));
  // Negative times are two's complement.
  EXPECT_EQ(CanonicalEncoding(1, -1, "", "", "").substr(40, 8), std::string(8, '\xff'));
}

TEST(RecordHashTest, NoAmbiguityBetweenFields) {
  // Moving bytes from one field to its neighbour changes the hash.
  std::set<std::string> hashes{
      RecordHash(1, 0, "admin", "{}x", kGenesisHash),
      RecordHash(1, 0, "adminx", "{}", kGenesisHash),
      RecordHash(1, 0, "admin{", "}x", kGenesisHash),
      RecordHash(1, 0, "", "admin{}x", kGenesisHash),
      RecordHash(1, 0, "admin", "{}", std::string("x") + std::string(kGenesisHash)),
  };
  EXPECT_EQ(hashes.size(), 5u);
  // Every field is covered.
  const std::string base = RecordHash(5, 100, "request", "{}", kGenesisHash);
  EXPECT_NE(base, RecordHash(6, 100, "request", "{}", kGenesisHash));
  EXPECT_NE(base, RecordHash(5, 101, "request", "{}", kGenesisHash));
  EXPECT_NE(base, RecordHash(5, 100, "admin", "{}", kGenesisHash));
  EXPECT_NE(base, RecordHash(5, 100, "request", "{ }", kGenesisHash));
  EXPECT_NE(base, RecordHash(5, 100, "request", "{}", std::string(63, '0') + "1"));
  EXPECT_TRUE(IsHashHex(base));
}

TEST(RecordHashTest, Helpers) {
  EXPECT_TRUE(IsHashHex(kGenesisHash));
  EXPECT_FALSE(IsHashHex(std::string(63, '0')));
  EXPECT_FALSE(IsHashHex(std::string(64, 'A')));
  EXPECT_EQ(ToHex(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ab"));
  EXPECT_NE(HeadMac("k1", 1, kGenesisHash), HeadMac("k2", 1, kGenesisHash));
  EXPECT_NE(HeadMac("k1", 1, kGenesisHash), HeadMac("k1", 2, kGenesisHash));
}

}  // namespace
}  // namespace meridian::audit
