#include "classify/classifier.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace meridian::classify {
namespace {

using core::DataClass;

class ClassifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = Classifier::Create();
    ASSERT_TRUE(c.has_value()) << c.error().message;
    classifier_ = std::move(*c).release();
  }
  static void TearDownTestSuite() {
    delete classifier_;
    classifier_ = nullptr;
  }

  // The single finding expected in `text`: its class and the exact substring it spans.
  static void ExpectOne(const std::string& text, DataClass cls, const std::string& value) {
    Classification r = classifier_->Scan(text);
    ASSERT_EQ(r.findings.size(), 1u) << "in: " << text;
    const Finding& f = r.findings[0];
    EXPECT_EQ(f.cls, cls) << core::DataClassName(f.cls) << " in: " << text;
    EXPECT_EQ(text.substr(f.begin, f.end - f.begin), value);
    EXPECT_EQ(r.Count(cls), 1);
  }
  static void ExpectNone(const std::string& text) {
    Classification r = classifier_->Scan(text);
    for (const Finding& f : r.findings) {
      ADD_FAILURE() << "unexpected " << core::DataClassName(f.cls) << " at [" << f.begin << ","
                    << f.end << ") in: " << text;
    }
  }

  static inline Classifier* classifier_ = nullptr;
};

TEST_F(ClassifierTest, Email) {
  ExpectOne("Write to jane.doe+news@example.co.uk today.", DataClass::kEmail,
            "jane.doe+news@example.co.uk");
}

TEST_F(ClassifierTest, Phone) {
  ExpectOne("Call +1-984-182-0190 now", DataClass::kPhone, "+1-984-182-0190");
  ExpectOne("Call (555) 123-4567 now", DataClass::kPhone, "(555) 123-4567");
  ExpectOne("Ring +44 (0)20 7946 0958 please", DataClass::kPhone, "+44 (0)20 7946 0958");
  ExpectOne("Mobile 07700 900 123.", DataClass::kPhone, "07700 900 123");
  ExpectOne("Tél 01 23 45 67 89", DataClass::kPhone, "01 23 45 67 89");
}

TEST_F(ClassifierTest, IpAddresses) {
  ExpectOne("server at 192.168.10.254, port 22", DataClass::kIpAddress, "192.168.10.254");
  ExpectOne("v6 2001:db8:85a3::8a2e:370:7334 here", DataClass::kIpAddress,
            "2001:db8:85a3::8a2e:370:7334");
  ExpectOne("loopback ::1 only", DataClass::kIpAddress, "::1");
}

TEST_F(ClassifierTest, PaymentCardAndIban) {
  ExpectOne("card 4111 1111 1111 1111 exp 12/29", DataClass::kPaymentCard, "4111 1111 1111 1111");
  ExpectOne("Amex 378282246310005.", DataClass::kPaymentCard, "378282246310005");
  ExpectOne("IBAN DE89 3704 0044 0532 0130 00 please", DataClass::kIban,
            "DE89 3704 0044 0532 0130 00");
  ExpectOne("to GB82WEST12345698765432.", DataClass::kIban, "GB82WEST12345698765432");
}

TEST_F(ClassifierTest, NationalIds) {
  ExpectOne("SSN 536-22-1234 on file", DataClass::kUsSsn, "536-22-1234");
  ExpectOne("身份证 11010519491231002X 号", DataClass::kCnResidentId, "11010519491231002X");
  ExpectOne("Steuer-ID 86095742719.", DataClass::kDeTaxId, "86095742719");
  ExpectOne("NIR 1 84 12 76 451 089 46", DataClass::kFrNir, "1 84 12 76 451 089 46");
  ExpectOne("Aadhaar 2984 4886 3364", DataClass::kInAadhaar, "2984 4886 3364");
  ExpectOne("NI number AB 12 34 56 C.", DataClass::kUkNino, "AB 12 34 56 C");
  ExpectOne("DNI 12345678Z y NIE", DataClass::kEsDniNie, "12345678Z");
  ExpectOne("NIE X1234567L.", DataClass::kEsDniNie, "X1234567L");
  ExpectOne("CF RSSMRA85T10A562S ok", DataClass::kItCodiceFiscale, "RSSMRA85T10A562S");
  ExpectOne("CPF 123.456.789-09.", DataClass::kBrCpf, "123.456.789-09");
}

// Steuer-IdNr forms: 11 digits, the BZSt letter's 2-3-3-3 groups, groups split by '/'.
TEST_F(ClassifierTest, DeTaxIdForms) {
  ExpectOne("IdNr 65929970489 bitte", DataClass::kDeTaxId, "65929970489");
  ExpectOne("Identifikationsnummer: 65 929 970 489\n", DataClass::kDeTaxId, "65 929 970 489");
  ExpectOne("Steuer-ID 659/299/7048/9 bitte", DataClass::kDeTaxId, "659/299/7048/9");
  ExpectOne("Steuer-ID 659/299/70489.", DataClass::kDeTaxId, "659/299/70489");
  ExpectOne("(26/954/371/827)", DataClass::kDeTaxId, "26/954/371/827");
  // A digit occurring three times, not in a row, is allowed (IdNr issued since 2016).
  ExpectOne("IdNr 79608434120", DataClass::kDeTaxId, "79608434120");
  ExpectNone("IdNr 659/299/7048/8");       // check digit
  ExpectNone("IdNr 65929970488");          // check digit
  ExpectNone("IdNr 652/999/7048/9");       // 9 three times in a row
  ExpectNone("IdNr 65999970489");          // 9 four times
  ExpectNone("IdNr 05929970489");          // leading zero
  ExpectNone("IdNr 6592997048-9");         // '-' is not an IdNr separator
  ExpectNone("IdNr 659\\299\\7048\\9");  // nor is '\\'
  ExpectNone("path /2023/659/299/7048/9"); // eleven digits out of a longer slash run
  ExpectNone("ref 659/299/7048/9/1");
  ExpectNone("ref 659/299/7048/9.5");
  ExpectNone("ref 1-659/299/7048/9");
  ExpectNone("StNr 181/815/08155");        // a Bavarian Steuernummer: fails the IdNr rules
  ExpectNone("dates 12/05/2023 and 1/2/3"); // too few digits
}

// DNI/NIE forms: upper case with optional ' '/'-' before the letter, lower case only glued,
// dotted DNI, hyphenated NIE; the letter is always the mod-23 letter (X/Y/Z = 0/1/2).
TEST_F(ClassifierTest, EsDniNieForms) {
  ExpectOne("DNI 12345678-Z.", DataClass::kEsDniNie, "12345678-Z");
  ExpectOne("DNI 12345678 Z.", DataClass::kEsDniNie, "12345678 Z");
  ExpectOne("DNI 01234567L", DataClass::kEsDniNie, "01234567L");
  ExpectOne("dni 01234567l", DataClass::kEsDniNie, "01234567l");
  ExpectOne("nie x1234567l", DataClass::kEsDniNie, "x1234567l");
  ExpectOne("NIE X1234567l", DataClass::kEsDniNie, "X1234567l");
  ExpectOne("NIE Y1234567X", DataClass::kEsDniNie, "Y1234567X");
  ExpectOne("NIE Z1234567R", DataClass::kEsDniNie, "Z1234567R");
  ExpectOne("D.N.I. 12.345.678-Z, Madrid", DataClass::kEsDniNie, "12.345.678-Z");
  ExpectOne("D.N.I. 12.345.678Z", DataClass::kEsDniNie, "12.345.678Z");
  ExpectOne("NIE X-1234567-L.", DataClass::kEsDniNie, "X-1234567-L");
  ExpectOne("NIE X-1234567L", DataClass::kEsDniNie, "X-1234567L");
  ExpectNone("DNI 12345678A");             // letter: 12345678 mod 23 -> Z
  ExpectNone("DNI 12.345.678-A");
  ExpectNone("NIE X1234567A");
  ExpectNone("NIE Y1234567B");
  ExpectNone("NIE Z1234567C");
  ExpectNone("NIE X-1234567-A");
  ExpectNone("NIE A1234567L");             // no such prefix
  ExpectNone("NIE 1234567L");              // 7 digits without prefix
  ExpectNone("DNI 123456789Z");            // 9 digits
  ExpectNone("DNI 12345 678Z");
  ExpectNone("DNI 12.345.67-Z");
  ExpectNone("DNI 12345678 z");            // lower case only glued
  ExpectNone("NIE x1234567 l");
  ExpectNone("NIE x1234567-L");
  ExpectNone("entre 20000001 y 30000000 euros");  // 20000001 -> Y, but "y" is a word here
  ExpectNone("hash 0x1234567l");           // inside a longer token
}

TEST_F(ClassifierTest, Secrets) {
  ExpectOne("key AKIAIOSFODNN7EXAMPLE in env", DataClass::kSecret, "AKIAIOSFODNN7EXAMPLE");
  const std::string gh = "ghp_" + std::string("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5");
  ExpectOne("token " + gh + " leaked", DataClass::kSecret, gh);
  const std::string stripe = "sk_live_" + std::string("4eC39HqLyjWDarjtT1zdp7dc");
  ExpectOne("stripe " + stripe, DataClass::kSecret, stripe);
  const std::string google = "AIza" + std::string("SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI");
  ExpectOne("maps " + google + " key", DataClass::kSecret, google);
  ExpectOne("-----BEGIN RSA PRIVATE KEY-----\n", DataClass::kSecret,
            "-----BEGIN RSA PRIVATE KEY-----");
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
      "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
  ExpectOne("Authorization header had " + jwt + " in it", DataClass::kSecret, jwt);
  ExpectOne("db postgres://admin:s3cr3tPw@db.internal:5432/x", DataClass::kSecret,
            "postgres://admin:s3cr3tPw@db.internal");
  ExpectOne("password = \"hunter2!x\"", DataClass::kSecret, "hunter2!x");
}

TEST_F(ClassifierTest, ClassificationMarkings) {
  ExpectOne("TOP SECRET//SI//NOFORN\nbody", DataClass::kClassificationMarking,
            "TOP SECRET//SI//NOFORN");
  ExpectOne("(TS//SI) The source reported", DataClass::kClassificationMarking, "(TS//SI)");
  ExpectOne("header\nSECRET\nbody", DataClass::kClassificationMarking, "SECRET");
  ExpectOne("//NATO SECRET//ATOMAL", DataClass::kClassificationMarking, "//NATO SECRET//ATOMAL");
  ExpectOne("COSMIC TOP SECRET here", DataClass::kClassificationMarking, "COSMIC TOP SECRET");
}

TEST_F(ClassifierTest, NearMissesRejected) {
  ExpectNone("card 4111 1111 1111 1112 exp");           // Luhn fails
  ExpectNone("ref 912345678 and 000-12-3456 done");     // fail SSN rules
  ExpectNone("The secret to good bread is patience; it is no secret.");
  ExpectNone("Keep this confidential. Top secret plans, she said.");
  ExpectNone("version 1.2.3.4.5 of the tool");
  ExpectNone("use std::vector and a::b in C++");
  ExpectNone("meeting at 10:30:00 on 2024-01-02");
  ExpectNone("Copyright (C) 2024 Example Corp.");
  ExpectNone("IBAN GB82WEST12345698765433");             // mod-97 fails
}

// Rules rewritten for scan speed keep their behaviour.
TEST_F(ClassifierTest, SpeedRewritesKeepBehaviour) {
  ExpectOne("header\n  TOP SECRET \nbody", DataClass::kClassificationMarking, "  TOP SECRET ");
  ExpectNone("header\nNOT SECRET\nbody");           // level not alone on its line
  ExpectNone("the word SECRET ends this line\n");
  ExpectOne("(S) The source said", DataClass::kClassificationMarking, "(S) ");
  ExpectNone("the file(S) are here");               // portion mark only at a line start
  // Codice fiscale found through its stage-1 gates, with an omocodic year as well.
  ExpectOne("CF AXXFAXTTD41H501D ok", DataClass::kItCodiceFiscale, "AXXFAXTTD41H501D");
  ExpectNone("CF RSSMRA85T10A562T ok");             // check character wrong
  // Discord bot token: first part is base64 of a decimal id.
  const std::string discord = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ" + std::string(".E2-E4_.") +
                              "Zig9V5mpMk-JybgCFvqSfgY9EoqWjkA5O_qDje";
  ExpectOne("bot " + discord + " here", DataClass::kSecret, discord);
  ExpectNone("bot QUJDREVGR0hJSktMTU5PUFFSU1RV.E2-E4_.Zig9V5mpMk-JybgCFvqSfgY9EoqWjkA5O_qDje");
}

TEST_F(ClassifierTest, MoreVendorFormats) {
  const std::string body40 = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7d";  // 40 mixed chars
  const std::vector<std::string> hits = {
      "AKIA" + std::string("0ON7V2DD57PL3JXM"),            // AWS id with the full alphabet
      "cfat_" + body40,                                     // Cloudflare
      "dckr_oat_" + std::string("fXUgJy1nU2WSbk_0vH2S-mcF-hLKJoB"),  // Docker
      "glrtr-" + std::string("KZX7Mizo7RYFKh2JScz6aeqZ3WG8nxujE21QpZVIr"),  // GitLab runner
      "HRKU-" + std::string("f1274537-88fb-deaf-beda-453bd9a496ef"),  // Heroku
      "lin_api_" + body40,                                  // Linear
      "pplx-" + body40 + "eF1gH3iJ",                        // Perplexity (48)
      "phx_" + body40 + "kL5mN",                            // PostHog
      "PMAT-" + std::string("9GP54SGZ7TS928P0BW1K3AN0WX"),  // Postman
      "rubygems_" + std::string("2676e0138d75572e758e2b2252713061b8f26caf7f21630d"),
      "sntryu_" + std::string(64, 'a').replace(3, 4, "1234"),  // Sentry user token
      "tvly-" + body40.substr(0, 32),                      // Tavily
      "vcp_" + body40,                                      // Vercel
      "xai-" + body40 + body40,                             // xAI (80)
      "508627689:AA" + std::string("EuLPKs-EhrjrYGnz60bnYNZqakf6HJxc0"),  // Telegram bot
      "SK" + std::string("4D2F64E2A108CD72F648B1984C3B5A13"),  // Twilio key sid
      "nfp_" + body40,                                      // Netlify
  };
  for (const std::string& token : hits) ExpectOne("v " + token + " end", DataClass::kSecret, token);
  // Near misses: the prefix alone, a body of the wrong alphabet or length, prose words.
  ExpectNone("cfat_ is a prefix; lin_api_short; pplx-short; PMAT-abc");
  ExpectNone("vcp_" + std::string(40, 'a'));                // no mixed case, no digit
  ExpectNone("SK" + std::string(32, 'F'));                  // no digit in the sid body
  ExpectNone("wxabcdefabcdefabcd is a hex-ish word");       // no digit
  ExpectNone("Salesforce org 00DABCDEFGHIJKL.");            // an id needs a digit after 00D
}

TEST_F(ClassifierTest, KeywordCredentialRules) {
  // SQL.
  ExpectOne("CREATE USER 'u'@'%' IDENTIFIED BY 'SqLpa5sW0rD';", DataClass::kSecret, "SqLpa5sW0rD");
  ExpectOne("ALTER USER u IDENTIFIED WITH mysql_native_password BY 'Zq9!wE2r';",
            DataClass::kSecret, "Zq9!wE2r");
  ExpectOne("CREATE ROLE app WITH LOGIN PASSWORD Xy7pQ2wE;", DataClass::kSecret, "Xy7pQ2wE");
  ExpectNone("IDENTIFIED BY 'password';");                 // placeholder
  ExpectNone("Protect the archive with password protection.");  // prose
  // libcurl and PowerShell.
  ExpectOne(R"(easy_setopt(curl, CURLOPT_PASSWORD, "KiASRCRiGFLPDiIdZZ");)", DataClass::kSecret,
            "KiASRCRiGFLPDiIdZZ");
  ExpectNone(R"(easy_setopt(curl, CURLOPT_PASSWORD, "${PASS}");)");
  ExpectOne("ConvertTo-SecureString -String -Force dsjUE#gds8s", DataClass::kSecret,
            "dsjUE#gds8s");
  ExpectNone("ConvertTo-SecureString $plain -AsPlainText -Force");
  // Definitions without '='.
  ExpectOne("#define password \"n84ASM54y4\"", DataClass::kSecret, "n84ASM54y4");
  ExpectOne("define( 'PASSWORD' , '2Arh5dA1Sn0ywiV' );", DataClass::kSecret, "2Arh5dA1Sn0ywiV");
  ExpectOne("%define token 4b9a6d8b4bc56fbfa1c6", DataClass::kSecret, "4b9a6d8b4bc56fbfa1c6");
  ExpectNone("#define PASSWORD_MAX_LEN 64");
  ExpectNone("Set password \"carefully\" they said");    // one kind of character
  // Pairs in prose-like notes, shorthand keys, comparisons, HTML-escaped quotes.
  ExpectOne("ssh host (pw:IhqSb1Gg)", DataClass::kSecret, "IhqSb1Gg");
  ExpectOne("db-host(ID:master/PW:iPp10GRq)", DataClass::kSecret, "iPp10GRq");
  ExpectOne("X3_PSWD=d37Yt1Jnv0-z", DataClass::kSecret, "d37Yt1Jnv0-z");
  ExpectOne("PASWRD:=FlUgeGeHeImEn10", DataClass::kSecret, "FlUgeGeHeImEn10");
  ExpectOne("if (password !== \"PaS5w0rD2#\") {", DataClass::kSecret, "PaS5w0rD2#");
  ExpectOne("alert(&quot;password:g1re0g2Pa5w0Rd&quot;)", DataClass::kSecret, "g1re0g2Pa5w0Rd");
  ExpectOne("nonce = 'bsfcvir57nt40rydvtbhs8lzbgljmet5'", DataClass::kSecret,
            "bsfcvir57nt40rydvtbhs8lzbgljmet5");
  ExpectNone("(pw: see the vault)");
  ExpectNone("password = getPassword(user)");
  ExpectNone("the compass: north");
  // Command-line flags with a prefix, JWK private member.
  ExpectOne("run --db-password s3cr3tPw9 now", DataClass::kSecret, "s3cr3tPw9");
  ExpectNone("run --db-password $DB_PASSWORD now");
  ExpectOne(R"({"kty": "EC", "d": "slaQqyHQPudOpq2mbDskum8rOu9IMkLG"})", DataClass::kSecret,
            "slaQqyHQPudOpq2mbDskum8rOu9IMkLG");
  ExpectNone(R"({"d": "M 10 10 L 20 20"})");
}

TEST_F(ClassifierTest, PhoneWithContextWord) {
  ExpectOne("Phone: 467 3395", DataClass::kPhone, "467 3395");
  ExpectOne("Personal Info:\nPhone:\n60-56-85-91", DataClass::kPhone, "60-56-85-91");
  ExpectOne("Mobile: 0490 39 07 81", DataClass::kPhone, "0490 39 07 81");
  ExpectOne("Can someone call me on 9472 7916", DataClass::kPhone, "9472 7916");
  ExpectOne("Desk: 5403926876", DataClass::kPhone, "5403926876");
  ExpectOne("box 0219\n781 1704 office\n", DataClass::kPhone, "781 1704");
  // Near misses: the same shapes without a context word, dates, short numbers.
  ExpectNone("We shipped 467 3395 units in 60-56-85-91 batches.");
  ExpectNone("Phone: 123 45");                        // too few digits
  ExpectNone("Phone: 2024-01-02 12");                 // a date
  ExpectNone("telescope 467 3395");                   // "tel" inside a word
  ExpectNone("Order 5403926876 shipped");
}

TEST_F(ClassifierTest, MultipleFindingsSortedAndCounted) {
  const std::string text =
      "Mail a@b.io or c@d.org, card 5555555555554444, host 10.0.0.1 and 10.0.0.2.";
  Classification r = classifier_->Scan(text);
  ASSERT_EQ(r.findings.size(), 5u);
  EXPECT_EQ(r.Count(DataClass::kEmail), 2);
  EXPECT_EQ(r.Count(DataClass::kPaymentCard), 1);
  EXPECT_EQ(r.Count(DataClass::kIpAddress), 2);
  for (std::size_t i = 1; i < r.findings.size(); ++i) {
    EXPECT_LE(r.findings[i - 1].end, r.findings[i].begin);
  }
}

TEST_F(ClassifierTest, EmptyText) {
  Classification r = classifier_->Scan("");
  EXPECT_TRUE(r.findings.empty());
  for (int n : r.counts) EXPECT_EQ(n, 0);
}

TEST_F(ClassifierTest, DeclareCountsWithoutSpan) {
  Classification r = classifier_->Scan("nothing here");
  Declare(r, DataClass::kUsSsn);
  EXPECT_TRUE(r.Has(DataClass::kUsSsn));
  EXPECT_TRUE(r.findings.empty());
  Classification r2 = classifier_->Scan("SSN 536-22-1234 and 536-22-1235");
  Declare(r2, DataClass::kUsSsn);
  EXPECT_EQ(r2.Count(DataClass::kUsSsn), 2);
}

TEST_F(ClassifierTest, FieldsGetTheirOwnSpans) {
  auto scratch = classifier_->MakeScratch();
  ASSERT_TRUE(scratch.has_value());
  const std::vector<FieldText> fields = {
      {"messages[0].content", "hello there"},
      {"messages[1].content", "mail x@y.com please"},
      {"metadata.user", "10.1.2.3"},
  };
  RequestClassification r = classifier_->ScanFields(fields, *scratch);
  ASSERT_EQ(r.fields.size(), 2u);
  EXPECT_EQ(r.fields[0].path, "messages[1].content");
  ASSERT_EQ(r.fields[0].findings.size(), 1u);
  EXPECT_EQ(r.fields[0].findings[0].begin, 5u);
  EXPECT_EQ(r.fields[0].findings[0].end, 12u);
  EXPECT_EQ(r.fields[1].path, "metadata.user");
  EXPECT_EQ(r.Count(DataClass::kEmail), 1);
  EXPECT_EQ(r.Count(DataClass::kIpAddress), 1);
  Declare(r, DataClass::kSecret);
  EXPECT_TRUE(r.Has(DataClass::kSecret));
}

TEST_F(ClassifierTest, BinaryAndInvalidUtf8DoNotCrash) {
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes.push_back(static_cast<char>(i * 131 % 256));
  bytes += "\xff\xfe\xc0\x80 a@b.io \xed\xa0\x80";
  bytes.push_back('\0');
  bytes += "4111111111111111";
  Classification r = classifier_->Scan(bytes);
  EXPECT_GE(r.Count(DataClass::kEmail), 1);
  EXPECT_GE(r.Count(DataClass::kPaymentCard), 1);
}

TEST_F(ClassifierTest, OneMegabyteRandomInputCompletes) {
  std::mt19937 rng(42);
  std::string text(1 << 20, '\0');
  for (char& c : text) c = static_cast<char>(rng() & 0xff);
  const auto t0 = std::chrono::steady_clock::now();
  Classification r = classifier_->Scan(text);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  EXPECT_LT(ms, 5000);
  for (const Finding& f : r.findings) EXPECT_LE(f.end, text.size());
  // Random digits and separators too: the densest candidate stream.
  std::string digits(1 << 20, ' ');
  for (char& c : digits) c = "0123456789 -."[rng() % 13];
  r = classifier_->Scan(digits);
  for (const Finding& f : r.findings) EXPECT_LE(f.end, digits.size());
}

TEST_F(ClassifierTest, ScratchPerThread) {
  std::vector<std::thread> threads;
  std::vector<int> found(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto scratch = classifier_->MakeScratch();
      if (!scratch) return;
      for (int i = 0; i < 200; ++i) {
        found[t] += classifier_->Scan("mail a@b.io card 4111111111111111", *scratch)
                        .Count(DataClass::kEmail);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : found) EXPECT_EQ(n, 200);
}

TEST(ClassifierOptionsTest, DisabledClassesAreNotReported) {
  ClassifierOptions options;
  options.enabled.fill(false);
  options.enabled[static_cast<int>(DataClass::kEmail)] = true;
  auto c = Classifier::Create(options);
  ASSERT_TRUE(c.has_value());
  Classification r = (*c)->Scan("a@b.io 4111111111111111");
  EXPECT_EQ(r.Count(DataClass::kEmail), 1);
  EXPECT_EQ(r.Count(DataClass::kPaymentCard), 0);
}

}  // namespace
}  // namespace meridian::classify

namespace meridian::classify {
namespace {

// Numeric identifiers are found by a second stage that runs near "gate" hits; check that
// they are found at the very start and end of a text and deep inside a long one.
TEST(ClassifierStages, NumericIdentifiersAnywhere) {
  auto c = Classifier::Create();
  ASSERT_TRUE(c.has_value());
  std::string prose;
  while (prose.size() < 20000) prose += "The quick brown fox jumps over the lazy dog 42 times. ";
  const std::string card = "4111 1111 1111 1111";
  const std::string text = "536-22-1234 " + prose + card + " " + prose + " 192.168.1.1";
  Classification r = (*c)->Scan(text);
  EXPECT_EQ(r.Count(core::DataClass::kUsSsn), 1);
  EXPECT_EQ(r.Count(core::DataClass::kPaymentCard), 1);
  EXPECT_EQ(r.Count(core::DataClass::kIpAddress), 1);
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].begin, 0u);
  EXPECT_EQ(text.substr(r.findings[1].begin, r.findings[1].end - r.findings[1].begin), card);
  EXPECT_EQ(r.findings[2].end, text.size());
}

}  // namespace
}  // namespace meridian::classify
