#include "classify/validators.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

namespace meridian::classify {
namespace {

TEST(Validators, Luhn) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_TRUE(LuhnValid("4111 1111 1111 1111"));
  EXPECT_TRUE(LuhnValid("4111-1111-1111-1111"));
  EXPECT_TRUE(LuhnValid("378282246310005"));   // Amex
  EXPECT_TRUE(LuhnValid("5555555555554444"));  // Mastercard
  EXPECT_TRUE(LuhnValid("6011111111111117"));  // Discover
  EXPECT_FALSE(LuhnValid("4111111111111112"));  // checksum
  EXPECT_FALSE(LuhnValid("1234567812345670"));  // Luhn-valid, no issuer starts with 12
  EXPECT_FALSE(LuhnValid("41111111111"));       // too short
  EXPECT_FALSE(LuhnValid("4111.1111.1111.1111"));
  EXPECT_FALSE(LuhnValid(""));
}

TEST(Validators, Iban) {
  EXPECT_TRUE(IbanValid("DE89370400440532013000"));
  EXPECT_TRUE(IbanValid("DE89 3704 0044 0532 0130 00"));
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_TRUE(IbanValid("gb82west12345698765432"));
  EXPECT_FALSE(IbanValid("GB82WEST12345698765433"));  // mod 97
  EXPECT_FALSE(IbanValid("DE8937040044053201300"));   // wrong length for DE
  EXPECT_FALSE(IbanValid("XX89370400440532013000"));  // no such country
  EXPECT_FALSE(IbanValid("DE89-3704-0044-0532-0130-00"));
}

TEST(Validators, UsSsn) {
  EXPECT_TRUE(UsSsnValid("536-22-1234"));
  EXPECT_TRUE(UsSsnValid("536 22 1234"));
  EXPECT_TRUE(UsSsnValid("536221234"));
  EXPECT_FALSE(UsSsnValid("000-22-1234"));
  EXPECT_FALSE(UsSsnValid("666-22-1234"));
  EXPECT_FALSE(UsSsnValid("912-22-1234"));
  EXPECT_FALSE(UsSsnValid("536-00-1234"));
  EXPECT_FALSE(UsSsnValid("536-22-0000"));
  EXPECT_FALSE(UsSsnValid("078-05-1120"));
  EXPECT_FALSE(UsSsnValid("53622123"));
}

TEST(Validators, CnResidentId) {
  EXPECT_TRUE(CnResidentIdValid("11010519491231002X"));
  EXPECT_TRUE(CnResidentIdValid("11010519491231002x"));
  EXPECT_TRUE(CnResidentIdValid("210203197503102721"));
  EXPECT_FALSE(CnResidentIdValid("110105194912310021"));  // check character
  EXPECT_FALSE(CnResidentIdValid("990105194912310026"));  // no province 99
  EXPECT_FALSE(CnResidentIdValid("520323197802318856"));  // 31 February
  EXPECT_FALSE(CnResidentIdValid("110101491001001"));     // 15-digit legacy form not claimed
}

TEST(Validators, DeTaxId) {
  EXPECT_TRUE(DeTaxIdValid("86095742719"));
  EXPECT_TRUE(DeTaxIdValid("65929970489"));
  EXPECT_TRUE(DeTaxIdValid("65 929 970 489"));
  EXPECT_FALSE(DeTaxIdValid("86095742718"));  // check digit
  EXPECT_FALSE(DeTaxIdValid("06095742719"));  // leading zero
  EXPECT_FALSE(DeTaxIdValid("12345678903"));  // no repeated digit
  EXPECT_FALSE(DeTaxIdValid("11111111111"));
  EXPECT_TRUE(DeTaxIdValid("79608434120"));     // a digit three times, not in a row
  EXPECT_FALSE(DeTaxIdValid("65299970489"));    // three times in a row
  EXPECT_FALSE(DeTaxIdValid("65999970489"));    // four times
  EXPECT_FALSE(DeTaxIdValid("12345678901"));    // no repeated digit
  EXPECT_TRUE(DeTaxIdValid("659/299/7048/9"));  // '/' separators
  EXPECT_FALSE(DeTaxIdValid("6592997048-9"));   // '-' is not one
  EXPECT_FALSE(DeTaxIdValid("8609574271"));     // 10 digits
  EXPECT_FALSE(DeTaxIdValid("860957427190"));   // 12 digits
}

TEST(Validators, FrNir) {
  EXPECT_TRUE(FrNirValid("184127645108946"));
  EXPECT_TRUE(FrNirValid("1 84 12 76 451 089 46"));
  EXPECT_TRUE(FrNirValid("269029934173285"));
  EXPECT_TRUE(FrNirValid("1 80 07 2A 004 017 51"));  // Corsica
  EXPECT_FALSE(FrNirValid("184127645108947"));       // key
  EXPECT_FALSE(FrNirValid("584127645108946"));       // sex digit
  EXPECT_FALSE(FrNirValid("1 80 07 2C 004 017 51"));
}

TEST(Validators, InAadhaar) {
  EXPECT_TRUE(InAadhaarValid("298448863364"));
  EXPECT_TRUE(InAadhaarValid("2984 4886 3364"));
  EXPECT_TRUE(InAadhaarValid("497318264510"));
  EXPECT_FALSE(InAadhaarValid("298448863365"));  // Verhoeff
  EXPECT_FALSE(InAadhaarValid("198448863364"));  // starts with 1
  EXPECT_FALSE(InAadhaarValid("29844886336"));
}

TEST(Validators, UkNino) {
  EXPECT_TRUE(UkNinoValid("AB123456C"));
  EXPECT_TRUE(UkNinoValid("AB 12 34 56 C"));
  EXPECT_FALSE(UkNinoValid("QQ123456C"));  // Q not a first letter
  EXPECT_FALSE(UkNinoValid("AO123456C"));  // O not a second letter
  EXPECT_FALSE(UkNinoValid("BG123456A"));  // reserved prefix
  EXPECT_FALSE(UkNinoValid("AB123456E"));  // suffix A–D only
  EXPECT_FALSE(UkNinoValid("AB12345C"));
}

TEST(Validators, EsDniNie) {
  EXPECT_TRUE(EsDniNieValid("12345678Z"));
  EXPECT_TRUE(EsDniNieValid("12345678-Z"));
  EXPECT_TRUE(EsDniNieValid("X1234567L"));
  EXPECT_TRUE(EsDniNieValid("Z1234567R"));
  EXPECT_FALSE(EsDniNieValid("12345678A"));
  EXPECT_FALSE(EsDniNieValid("A1234567L"));
  EXPECT_FALSE(EsDniNieValid("1234567L"));
  EXPECT_TRUE(EsDniNieValid("12345678z"));       // lower case letter
  EXPECT_TRUE(EsDniNieValid("x1234567l"));       // lower case prefix
  EXPECT_TRUE(EsDniNieValid("Y1234567X"));       // Y = 1
  EXPECT_TRUE(EsDniNieValid("12.345.678-Z"));    // dotted DNI
  EXPECT_TRUE(EsDniNieValid("X-1234567-L"));     // hyphenated NIE
  EXPECT_FALSE(EsDniNieValid("Z1234567C"));      // Z = 2: letter R
  EXPECT_FALSE(EsDniNieValid("12,345,678Z"));    // ',' is not a separator
  EXPECT_FALSE(EsDniNieValid("123456789Z"));
  EXPECT_FALSE(EsDniNieValid("X12345678Z"));
}

TEST(Validators, ItCodiceFiscale) {
  EXPECT_TRUE(ItCodiceFiscaleValid("RSSMRA85T10A562S"));
  EXPECT_TRUE(ItCodiceFiscaleValid("DMLPRY77D15H501F"));
  EXPECT_TRUE(ItCodiceFiscaleValid("AXXFAXTTD41H501D"));  // omocodia
  EXPECT_FALSE(ItCodiceFiscaleValid("RSSMRA85T10A562T"));  // check character
  EXPECT_FALSE(ItCodiceFiscaleValid("RSSMRA85Z10A562S"));  // no month Z
  EXPECT_FALSE(ItCodiceFiscaleValid("RSSMRA85T10A562"));
}

TEST(Validators, BrCpf) {
  EXPECT_TRUE(BrCpfValid("12345678909"));
  EXPECT_TRUE(BrCpfValid("123.456.789-09"));
  EXPECT_TRUE(BrCpfValid("529.982.247-25"));
  EXPECT_FALSE(BrCpfValid("123.456.789-00"));
  EXPECT_FALSE(BrCpfValid("111.111.111-11"));
  EXPECT_FALSE(BrCpfValid("1234567890"));
}

// --- validator.js test vectors ------------------------------------------------------------
//
// Table test against validator.js's own test vectors (MIT, /work/shared/data). Where
// validator.js validates a different thing, or a format we deliberately reject or accept,
// the vector is excluded with the reason below; every other vector must agree.

std::string VectorsPath() {
  return std::string(MERIDIAN_SOURCE_DIR) +
         "/../shared/data/detection/validatorjs-test-vectors/validator_test_vectors.jsonl";
}

struct Tally {
  int agree = 0;
  int disagree = 0;
  int excluded = 0;
};

TEST(ValidatorJsVectors, Agreement) {
  const std::string path = VectorsPath();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no shared data at " << path;
  std::ifstream in(path);
  std::map<std::string, Tally> tallies;
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(line, ec);
    if (ec || !doc.is_object()) continue;
    const auto& o = doc.as_object();
    const std::string validator(o.at("validator").as_string());
    const auto& args = o.at("args").as_array();
    if (!o.at("value").is_string()) continue;
    const std::string value(o.at("value").as_string());
    const bool expected = o.at("expected_valid").as_bool();
    std::string arg0;
    if (!args.empty() && args[0].is_string()) arg0 = std::string(args[0].as_string());

    std::function<bool(std::string_view)> ours;
    std::string key;
    bool exclude = false;
    if (validator == "isCreditCard") {
      ours = LuhnValid;
      key = "isCreditCard";
      // With a provider argument, a valid card of another network is "invalid": only the
      // positive vectors carry over.
      exclude = !args.empty() && !expected;
    } else if (validator == "isIBAN") {
      ours = IbanValid;
      key = "isIBAN";
      // White/blacklist arguments reject valid IBANs by country: positives only.
      exclude = !args.empty() && !expected;
    } else if (validator == "isTaxID" && arg0 == "de-DE") {
      ours = DeTaxIdValid;
      key = "isTaxID(de-DE)";
    } else if (validator == "isTaxID" && arg0 == "it-IT") {
      ours = ItCodiceFiscaleValid;
      key = "isTaxID(it-IT)";
      // validator.js also checks the surname/name letter pattern; we check the structure and
      // the check character only.
      exclude = value == "AAPPRY77D15H501F" || value == "DMLAXA77D15H501F";
    } else if (validator == "isTaxID" && arg0 == "pt-BR") {
      ours = BrCpfValid;
      key = "isTaxID(pt-BR) CPF";
      // pt-BR covers CNPJ (14 characters) as well; we claim only CPF.
      std::size_t significant = 0;
      for (char c : value) significant += std::isalnum(static_cast<unsigned char>(c)) ? 1 : 0;
      exclude = significant != 11;
    } else if (validator == "isTaxID" && arg0 == "es-ES") {
      ours = EsDniNieValid;
      key = "isTaxID(es-ES)";
      // validator.js accepts DNIs without leading zeros ("54237A") and NIF letters K/L/M;
      // we claim the 9-character DNI/NIE forms only. "0/005 423-7A" uses separators we
      // strip, then is a valid DNI for us.
      exclude = value.size() != 9 || value[0] == 'M' || value[0] == 'K' || value[0] == 'L';
    } else if (validator == "isTaxID" && arg0 == "en-GB") {
      ours = UkNinoValid;
      key = "isTaxID(en-GB) NINO";
      // en-GB also covers the 10-digit UTR and suffix-less NINOs; we claim NINO with suffix.
      // Separators are stripped by our validator (the classifier's pattern decides the form).
      const bool nino_shaped = value.size() >= 2 && std::isalpha(static_cast<unsigned char>(value[0]));
      exclude = !nino_shaped || value.back() == ' ' || value.find('-') != std::string::npos ||
                value == "GB 123456 A";
    } else if (validator == "isIdentityCard" && arg0 == "ES") {
      ours = EsDniNieValid;
      key = "isIdentityCard(ES)";
      // We accept "12345678-Z" and "12345 678Z" after stripping separators.
      exclude = value == "12345678-Z" || value == "12345 678Z";
    } else if (validator == "isIdentityCard" && arg0 == "IN") {
      ours = InAadhaarValid;
      key = "isIdentityCard(IN)";
    } else if (validator == "isIdentityCard" && arg0 == "zh-CN") {
      ours = CnResidentIdValid;
      key = "isIdentityCard(zh-CN)";
      // 15-digit first-generation cards are not claimed.
      exclude = value.size() == 15 && expected;
    } else {
      continue;  // isLuhnNumber (no issuer check), isTaxID(fr-FR) (SPI, not NIR), others.
    }
    Tally& t = tallies[key];
    if (exclude) {
      ++t.excluded;
      continue;
    }
    if (ours(value) == expected) {
      ++t.agree;
    } else {
      ++t.disagree;
      ADD_FAILURE() << key << " disagrees on test vector \"" << value << "\" (validator.js: "
                    << (expected ? "valid" : "invalid") << ")";
    }
  }
  ASSERT_FALSE(tallies.empty());
  for (const auto& [key, t] : tallies) {
    std::printf("  %-24s agree %3d  disagree %2d  excluded %2d\n", key.c_str(), t.agree,
                t.disagree, t.excluded);
    EXPECT_GT(t.agree, 0) << key;
  }
}

}  // namespace
}  // namespace meridian::classify
