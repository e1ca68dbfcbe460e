// Loading rank files: the errors name the file (and the line), a missing file is an error the
// caller can fall back from.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

#include "tokenize/tokenize.hpp"

namespace meridian::tokenize {
namespace {

namespace fs = std::filesystem;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("meridian-tokenize-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A small valid file: all 256 bytes plus a few merges, with `extra` appended.
  fs::path Write(const std::string& name, const std::string& body) {
    const fs::path p = dir_ / (name + ".ranks");
    std::ofstream(p, std::ios::binary) << body;
    return p;
  }
  static std::string Base64(const std::string& in) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                         (static_cast<unsigned char>(in[i + 1]) << 8) |
                         static_cast<unsigned char>(in[i + 2]);
      out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
    }
    if (i + 1 == in.size()) {
      const unsigned v = static_cast<unsigned char>(in[i]) << 16;
      out += {a[v >> 18], a[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
      const unsigned v =
          (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
      out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
    }
    return out;
  }
  static std::string Header(const std::string& name, std::size_t tokens) {
    return "meridian-ranks 1\nname " + name + "\nsource test\npattern \\s+|\\S+\n" +
           "special 300 <|end|>\ntokens " + std::to_string(tokens) + "\n";
  }
  // Ranks 0..255 are the single bytes; then "ab" 256, "abc" 257, " a" 258.
  static std::string Body() {
    std::string b;
    for (int i = 0; i < 256; ++i) {
      b += Base64(std::string(1, static_cast<char>(i))) + " " + std::to_string(i) + "\n";
    }
    b += Base64("ab") + " 256\n" + Base64("abc") + " 257\n" + Base64(" a") + " 258\n";
    return b;
  }

  fs::path dir_;
};

TEST_F(LoaderTest, LoadsASmallVocabulary) {
  Write("toy", Header("toy", 259) + Body());
  auto enc = Encoding::Load("toy", dir_);
  ASSERT_TRUE(enc.has_value()) << enc.error().message;
  EXPECT_EQ((*enc)->Name(), "toy");
  EXPECT_EQ((*enc)->Pattern(), "\\s+|\\S+");
  EXPECT_EQ((*enc)->VocabularySize(), 259u);
  EXPECT_EQ((*enc)->SpecialToken("<|end|>"), 300u);
  // "abcab" is one \S+ piece: "ab" (256) merges first, then "abc" (257); the rest is "ab".
  EXPECT_EQ((*enc)->Encode("abcab"), (std::vector<std::uint32_t>{257, 256}));
  EXPECT_EQ((*enc)->Encode("x ab"), (std::vector<std::uint32_t>{'x', ' ', 256}));
  EXPECT_EQ((*enc)->Decode((*enc)->Encode("abc abd")), "abc abd");
}

TEST_F(LoaderTest, MissingFileNamesThePath) {
  auto enc = Encoding::Load("o200k_base", dir_);
  ASSERT_FALSE(enc.has_value());
  EXPECT_NE(enc.error().message.find((dir_ / "o200k_base.ranks").string()), std::string::npos)
      << enc.error().message;
  EXPECT_NE(enc.error().message.find("make deps"), std::string::npos) << enc.error().message;
}

void ExpectError(const core::Result<std::unique_ptr<Encoding>>& r, const std::string& where,
                 const std::string& what) {
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(where), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
}

TEST_F(LoaderTest, CorruptTokenLineNamesFileAndLine) {
  std::string body = Body();
  body.replace(body.find(Base64("ab") + " 256"), 7, "!!!! 256");  // line 7 + 256
  const fs::path p = Write("toy", Header("toy", 259) + body);
  ExpectError(Encoding::Load("toy", dir_), p.string() + ":263:", "expected '<base64 bytes> <rank>'");
}

TEST_F(LoaderTest, BadRankNumber) {
  std::string body = Body() ;
  body.replace(body.find(" 257"), 4, " 25x");
  const fs::path p = Write("toy", Header("toy", 259) + body);
  ExpectError(Encoding::Load("toy", dir_), p.string() + ":264:", "expected");
}

TEST_F(LoaderTest, NotARankFile) {
  const fs::path p = Write("toy", "{\"bpe_ranks\": \"\"}\n");
  ExpectError(Encoding::Load("toy", dir_), p.string() + ":1:", "not a Meridian rank file");
}

TEST_F(LoaderTest, Truncated) {
  std::string body = Body();
  body.resize(body.rfind(Base64("abc")));
  const fs::path p = Write("toy", Header("toy", 259) + body);
  ExpectError(Encoding::Load("toy", dir_), p.string(), "ends after 257 of 259 tokens");
}

TEST_F(LoaderTest, DuplicateRankAndDuplicateBytes) {
  Write("dup", Header("dup", 260) + Body() + Base64("zz") + " 256\n");
  ExpectError(Encoding::Load("dup", dir_), "dup.ranks:266:", "rank 256 appears twice");
  Write("dupb", Header("dupb", 260) + Body() + Base64("ab") + " 259\n");
  ExpectError(Encoding::Load("dupb", dir_), "dupb.ranks", "token bytes appear twice");
}

TEST_F(LoaderTest, MissingByteToken) {
  std::string body = Body();
  const std::string line = Base64("q") + " " + std::to_string('q') + "\n";
  body.erase(body.find(line), line.size());
  Write("nob", Header("nob", 258) + body);
  ExpectError(Encoding::Load("nob", dir_), "nob.ranks", "byte 0x71 has no token");
}

TEST_F(LoaderTest, WrongNameAndBadPattern) {
  Write("toy", Header("other", 259) + Body());
  ExpectError(Encoding::Load("toy", dir_), "toy.ranks", "holds encoding 'other', expected 'toy'");
  std::string h = Header("bad", 259);
  h.replace(h.find("\\s+|\\S+"), 7, "(unclosed");
  Write("bad", h + Body());
  ExpectError(Encoding::Load("bad", dir_), "bad.ranks", "pattern does not compile");
}

TEST_F(LoaderTest, TrailingGarbageAndUnknownHeader) {
  Write("trail", Header("trail", 259) + Body() + "extra line\n");
  ExpectError(Encoding::Load("trail", dir_), "trail.ranks:266:", "text after the last token");
  std::string h = Header("hdr", 259);
  h.insert(h.find("tokens"), "colour blue\n");
  Write("hdr", h + Body());
  ExpectError(Encoding::Load("hdr", dir_), "hdr.ranks:6:", "unknown header line 'colour'");
}

TEST_F(LoaderTest, EstimatorFallsBackWhenFilesAreMissing) {
  std::vector<core::Error> problems;
  const Estimator est = Estimator::Load(dir_, &problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].message.find("o200k_base.ranks"), std::string::npos);
  EXPECT_NE(problems[1].message.find("cl100k_base.ranks"), std::string::npos);
  const auto e = est.Count("gpt-4o", "Hello there, how are you?");
  EXPECT_FALSE(e.exact);
  EXPECT_EQ(e.family, Family::kO200k);
  EXPECT_EQ(e.tokens, ApproximateCount("Hello there, how are you?"));
  EXPECT_EQ(est.Get(Family::kO200k), nullptr);
}

}  // namespace
}  // namespace meridian::tokenize
