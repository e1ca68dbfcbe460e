#include "redact/redact.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace meridian::redact {
namespace {

using classify::Finding;
using core::DataClass;

// Expected ids below were computed independently of this code, with Python:
//   hmac.new(key, b"<class name>\0" + value.encode(), hashlib.sha256).hexdigest()[:8]
constexpr std::string_view kKey = "meridian-test-key-0123456789";
constexpr std::string_view kOtherKey = "another-test-key-9876543210";

constexpr ClassMask kNone = 0;
const ClassMask kEmail = Bit(DataClass::kEmail);
const ClassMask kPhone = Bit(DataClass::kPhone);
const ClassMask kSecret = Bit(DataClass::kSecret);
const ClassMask kTax = Bit(DataClass::kDeTaxId);

// The finding for the first occurrence of `value` in `text` at or after `from`.
Finding At(std::string_view text, std::string_view value, DataClass cls, std::size_t from = 0) {
  const std::size_t b = text.find(value, from);
  if (b == std::string_view::npos) {
    ADD_FAILURE() << "'" << value << "' not in '" << text << "'";
    return Finding{cls, 0, 0};
  }
  return Finding{cls, b, b + value.size()};
}

// The placeholder `p` gives a whole text consisting of `value` of class `cls`.
std::string PlaceholderFor(Pseudonymizer& p, DataClass cls, std::string_view value) {
  const Finding f{cls, 0, value.size()};
  return p.Apply(value, std::span(&f, 1), kNone, Bit(cls));
}

// ---------------------------------------------------------------------------------------------
// Apply

TEST(Apply, MixedRedactAndPseudonymize) {
  Pseudonymizer p(kKey);
  const std::string text =
      "Mail alice@example.com or call +1-984-182-0190, key sk-abc123XYZ, tax 65929970489.";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail),
                                  At(text, "+1-984-182-0190", DataClass::kPhone),
                                  At(text, "sk-abc123XYZ", DataClass::kSecret),
                                  At(text, "65929970489", DataClass::kDeTaxId)};
  EXPECT_EQ(p.Apply(text, f, kSecret | kTax, kEmail | kPhone),
            "Mail [EMAIL_6a25b8c8] or call [PHONE_999e6676], key [REDACTED_SECRET], "
            "tax [REDACTED_DE_TAX_ID].");
  EXPECT_EQ(p.redacted_count(), 2);
  EXPECT_EQ(p.pseudonymized_count(), 2);
  EXPECT_TRUE(p.has_placeholders());
  EXPECT_EQ(p.max_placeholder_size(), std::string_view("[EMAIL_6a25b8c8]").size());
}

TEST(Apply, ClassNameWithUnderscoresIsUpperCased) {
  Pseudonymizer p(kKey);
  EXPECT_EQ(PlaceholderFor(p, DataClass::kDeTaxId, "65929970489"), "[DE_TAX_ID_7f216419]");
  EXPECT_EQ(p.max_placeholder_size(), 20u);
}

TEST(Apply, AdjacentFindings) {
  Pseudonymizer p(kKey);
  const std::string text = "alice@example.com+1-984-182-0190sk-abc123XYZ";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail),
                                  At(text, "+1-984-182-0190", DataClass::kPhone),
                                  At(text, "sk-abc123XYZ", DataClass::kSecret)};
  EXPECT_EQ(p.Apply(text, f, kSecret, kEmail | kPhone),
            "[EMAIL_6a25b8c8][PHONE_999e6676][REDACTED_SECRET]");
}

TEST(Apply, FindingsAtStartAndEnd) {
  Pseudonymizer p(kKey);
  const std::string text = "alice@example.com wrote to bob@example.org";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail),
                                  At(text, "bob@example.org", DataClass::kEmail)};
  EXPECT_EQ(p.Apply(text, f, kNone, kEmail), "[EMAIL_6a25b8c8] wrote to [EMAIL_4d44428f]");
  // The whole text is one finding.
  EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, "alice@example.com"), "[EMAIL_6a25b8c8]");
  const Finding whole{DataClass::kEmail, 0, 17};
  EXPECT_EQ(p.Apply("alice@example.com", std::span(&whole, 1), kEmail, kNone), "[REDACTED_EMAIL]");
}

TEST(Apply, MultiByteUtf8AroundAndInside) {
  Pseudonymizer p(kKey);
  const std::string text = "Grüße — zoë@exämple.de — ✓ 日本";
  const std::vector<Finding> f = {At(text, "zoë@exämple.de", DataClass::kEmail)};
  EXPECT_EQ(p.Apply(text, f, kNone, kEmail), "Grüße — [EMAIL_61e4e23f] — ✓ 日本");
  const std::string out = p.Apply(text, f, kEmail, kNone);
  EXPECT_EQ(out, "Grüße — [REDACTED_EMAIL] — ✓ 日本");
  EXPECT_EQ(p.Restore("¿[EMAIL_61e4e23f]?"), "¿zoë@exämple.de?");
}

TEST(Apply, SameValueTwiceGetsSamePlaceholder) {
  Pseudonymizer p(kKey);
  const std::string text = "alice@example.com, again alice@example.com";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail),
                                  At(text, "alice@example.com", DataClass::kEmail, 1)};
  EXPECT_EQ(p.Apply(text, f, kNone, kEmail), "[EMAIL_6a25b8c8], again [EMAIL_6a25b8c8]");
  // And in another field of the same request.
  EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, "alice@example.com"), "[EMAIL_6a25b8c8]");
  EXPECT_EQ(p.pseudonymized_count(), 3);
  EXPECT_EQ(p.redacted_count(), 0);
}

TEST(Apply, TwoValuesOfOneClassGetDifferentPlaceholders) {
  Pseudonymizer p(kKey);
  EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, "alice@example.com"), "[EMAIL_6a25b8c8]");
  EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, "bob@example.org"), "[EMAIL_4d44428f]");
}

TEST(Apply, SameValueInTwoClassesGetsTwoPlaceholders) {
  Pseudonymizer p(kKey);
  const std::string a = PlaceholderFor(p, DataClass::kEmail, "65929970489");
  const std::string b = PlaceholderFor(p, DataClass::kDeTaxId, "65929970489");
  EXPECT_EQ(b, "[DE_TAX_ID_7f216419]");
  EXPECT_TRUE(a.starts_with("[EMAIL_")) << a;
  EXPECT_EQ(p.Restore(a + b), "6592997048965929970489");
}

TEST(Apply, StableAcrossObjectsWithTheSameKeyAndDifferentAcrossKeys) {
  const std::string text = "to alice@example.com, +1-984-182-0190";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail),
                                  At(text, "+1-984-182-0190", DataClass::kPhone)};
  Pseudonymizer a(kKey);
  Pseudonymizer b(kKey);
  Pseudonymizer c(kOtherKey);
  // b sees another value first: ids do not depend on the order values are met in.
  EXPECT_EQ(PlaceholderFor(b, DataClass::kEmail, "bob@example.org"), "[EMAIL_4d44428f]");
  EXPECT_EQ(a.Apply(text, f, kNone, kEmail | kPhone), "to [EMAIL_6a25b8c8], [PHONE_999e6676]");
  EXPECT_EQ(b.Apply(text, f, kNone, kEmail | kPhone), "to [EMAIL_6a25b8c8], [PHONE_999e6676]");
  EXPECT_EQ(c.Apply(text, f, kNone, kEmail | kPhone), "to [EMAIL_fa151606], [PHONE_51f54a28]");
  // Placeholders from another key are not this object's to restore.
  EXPECT_EQ(c.Restore("[EMAIL_6a25b8c8]"), "[EMAIL_6a25b8c8]");
}

TEST(Apply, ClassInNeitherMaskIsUntouched) {
  Pseudonymizer p(kKey);
  const std::string text = "alice@example.com +1-984-182-0190 sk-abc123XYZ";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail),
                                  At(text, "+1-984-182-0190", DataClass::kPhone),
                                  At(text, "sk-abc123XYZ", DataClass::kSecret)};
  EXPECT_EQ(p.Apply(text, f, kSecret, kNone),
            "alice@example.com +1-984-182-0190 [REDACTED_SECRET]");
  EXPECT_EQ(p.Apply(text, f, kNone, kNone), text);
  EXPECT_EQ(p.Apply(text, f, kTax, kTax), text);
  EXPECT_EQ(p.redacted_count(), 1);
  EXPECT_EQ(p.pseudonymized_count(), 0);
  EXPECT_FALSE(p.has_placeholders());
  EXPECT_EQ(p.max_placeholder_size(), 0u);
}

TEST(Apply, NoFindingsCopiesTheText) {
  Pseudonymizer p(kKey);
  EXPECT_EQ(p.Apply("plain [text]", {}, ~ClassMask{0}, ~ClassMask{0}), "plain [text]");
  EXPECT_EQ(p.Apply("", {}, ~ClassMask{0}, kNone), "");
}

TEST(Apply, RedactWinsWhenAClassIsInBothMasks) {
  Pseudonymizer p(kKey);
  const std::string text = "x alice@example.com y";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail)};
  EXPECT_EQ(p.Apply(text, f, kEmail, kEmail), "x [REDACTED_EMAIL] y");
  EXPECT_FALSE(p.has_placeholders());
  EXPECT_EQ(p.redacted_count(), 1);
  EXPECT_EQ(p.pseudonymized_count(), 0);
}

TEST(Apply, CollidingIdsAreLengthened) {
  // Found by search: the first 8 hex chars of these two values' HMACs under kKey are equal.
  constexpr std::string_view a = "user64024@example.com";   // db7923da67f94ba9...
  constexpr std::string_view b = "user118453@example.com";  // db7923da783c4710...
  {
    Pseudonymizer p(kKey);
    EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, a), "[EMAIL_db7923da]");
    EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, b), "[EMAIL_db7923da783c4710]");
    EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, a), "[EMAIL_db7923da]");
    EXPECT_EQ(p.max_placeholder_size(), 24u);
    EXPECT_EQ(p.Restore("[EMAIL_db7923da783c4710][EMAIL_db7923da]"),
              std::string(b) + std::string(a));
  }
  {
    // Whichever comes first in the request keeps the short id.
    Pseudonymizer p(kKey);
    EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, b), "[EMAIL_db7923da]");
    EXPECT_EQ(PlaceholderFor(p, DataClass::kEmail, a), "[EMAIL_db7923da67f94ba9]");
  }
}

TEST(Apply, PlaceholderThatWouldContainTheValueFailsClosedToRedaction) {
  Pseudonymizer p(kKey);
  // A one-byte "value" that occurs in the class name part of every EMAIL placeholder.
  const std::string text = "a M b";
  const std::vector<Finding> f = {At(text, "M", DataClass::kEmail)};
  EXPECT_EQ(p.Apply(text, f, kNone, kEmail), "a [REDACTED_EMAIL] b");
  EXPECT_EQ(p.redacted_count(), 1);
  EXPECT_EQ(p.pseudonymized_count(), 0);
  EXPECT_FALSE(p.has_placeholders());
}

TEST(Apply, FindingsBreakingThePreconditionAreClippedNotDropped) {
  Pseudonymizer p(kKey);
  const std::string text = "0123456789abcdefghij";
  // Overlapping, and one running past the end of the text.
  const std::vector<Finding> f = {{DataClass::kSecret, 2, 8},
                                  {DataClass::kSecret, 5, 12},
                                  {DataClass::kSecret, 3, 4},
                                  {DataClass::kSecret, 15, 99}};
  EXPECT_EQ(p.Apply(text, f, kSecret, kNone),
            "01[REDACTED_SECRET][REDACTED_SECRET]cde[REDACTED_SECRET]");
  EXPECT_EQ(p.redacted_count(), 3);
}

TEST(RedactionText, EveryClass) {
  for (int i = 0; i < core::kDataClassCount; ++i) {
    const auto c = static_cast<DataClass>(i);
    std::string upper(core::DataClassName(c));
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(RedactionText(c), "[REDACTED_" + upper + "]");
  }
  EXPECT_EQ(RedactionText(DataClass::kClassificationMarking), "[REDACTED_CLASSIFICATION_MARKING]");
}

// Realistic values of every class: each placeholder has the documented shape and never
// contains the value it stands for.
TEST(Apply, PlaceholderNeverContainsTheValue) {
  const std::vector<std::pair<DataClass, std::string>> values = {
      {DataClass::kEmail, "alice@example.com"},
      {DataClass::kEmail, "a@b.c"},
      {DataClass::kPhone, "+1-984-182-0190"},
      {DataClass::kPhone, "01 23 45 67 89"},
      {DataClass::kIpAddress, "10.0.0.1"},
      {DataClass::kIpAddress, "2001:db8::1"},
      {DataClass::kPaymentCard, "4111111111111111"},
      {DataClass::kIban, "DE89370400440532013000"},
      {DataClass::kUsSsn, "123-45-6789"},
      {DataClass::kCnResidentId, "11010519491231002X"},
      {DataClass::kDeTaxId, "65929970489"},
      {DataClass::kFrNir, "1 84 12 76 451 089 46"},
      {DataClass::kInAadhaar, "2341 2341 2346"},
      {DataClass::kUkNino, "AB123456C"},
      {DataClass::kEsDniNie, "12345678Z"},
      {DataClass::kItCodiceFiscale, "RSSMRA85T10A562S"},
      {DataClass::kBrCpf, "111.444.777-35"},
      {DataClass::kSecret, "sk-proj-abcdefghijklmnop0123456789"},
      {DataClass::kSecret, "deadbeef"},
      {DataClass::kClassificationMarking, "TOP SECRET//NOFORN"},
  };
  const std::regex shape(R"(\[[A-Z_]+_[0-9a-f]{8}\])");
  for (std::string_view key : {kKey, kOtherKey}) {
    Pseudonymizer p(key);
    for (const auto& [cls, value] : values) {
      const std::string ph = PlaceholderFor(p, cls, value);
      EXPECT_TRUE(std::regex_match(ph, shape)) << ph;
      EXPECT_EQ(ph.find(value), std::string::npos) << ph << " contains " << value;
      EXPECT_EQ(p.Restore(ph), value);
    }
    EXPECT_EQ(p.pseudonymized_count(), static_cast<int>(values.size()));
  }
}

TEST(Apply, ManyValuesStayDistinctAndRestorable) {
  Pseudonymizer p(kKey);
  std::string text;
  std::vector<Finding> f;
  for (int i = 0; i < 2000; ++i) {
    const std::string v = "user" + std::to_string(i) + "@example.com";
    text += "<";
    f.push_back(Finding{DataClass::kEmail, text.size(), text.size() + v.size()});
    text += v;
  }
  const std::string applied = p.Apply(text, f, kNone, kEmail);
  EXPECT_EQ(p.pseudonymized_count(), 2000);
  EXPECT_EQ(applied.find('@'), std::string::npos);
  EXPECT_EQ(p.Restore(applied), text);
  // The same values again (e.g. the next turn) get the same placeholders.
  EXPECT_EQ(p.Apply(text, f, kNone, kEmail), applied);
}

TEST(Apply, KeysOnManyThreads) {
  // Each thread keeps its own keyed MAC context; alternating keys must re-key it.
  auto work = [](int seed, std::string* error) {
    for (int i = 0; i < 200; ++i) {
      const bool first = (i + seed) % 2 == 0;
      Pseudonymizer p(first ? kKey : kOtherKey);
      const std::string got = PlaceholderFor(p, DataClass::kEmail, "alice@example.com");
      if (got != (first ? "[EMAIL_6a25b8c8]" : "[EMAIL_fa151606]")) {
        *error = got;
        return;
      }
    }
  };
  std::string e1, e2;
  std::thread t1(work, 0, &e1);
  std::thread t2(work, 1, &e2);
  t1.join();
  t2.join();
  EXPECT_EQ(e1, "");
  EXPECT_EQ(e2, "");
}

TEST(Apply, MovedPseudonymizerKeepsItsPlaceholders) {
  Pseudonymizer a(kKey);
  EXPECT_EQ(PlaceholderFor(a, DataClass::kEmail, "bob@example.org"), "[EMAIL_4d44428f]");
  Pseudonymizer b(std::move(a));
  EXPECT_EQ(b.Restore("[EMAIL_4d44428f]"), "bob@example.org");
  EXPECT_EQ(PlaceholderFor(b, DataClass::kEmail, "bob@example.org"), "[EMAIL_4d44428f]");
  EXPECT_EQ(b.pseudonymized_count(), 2);
}

// ---------------------------------------------------------------------------------------------
// Restore

TEST(Restore, LeavesUnknownAndRedactedTextAlone) {
  Pseudonymizer p(kKey);
  const std::string text = "alice@example.com and +1-984-182-0190";
  const std::vector<Finding> f = {At(text, "alice@example.com", DataClass::kEmail),
                                  At(text, "+1-984-182-0190", DataClass::kPhone)};
  const std::string applied = p.Apply(text, f, kPhone, kEmail);
  ASSERT_EQ(applied, "[EMAIL_6a25b8c8] and [REDACTED_PHONE]");
  EXPECT_EQ(p.Restore(applied), "alice@example.com and [REDACTED_PHONE]");
  for (std::string_view s :
       {"[EMAIL_00000000]", "[EMAIL_6a25b8c9]", "[EMAIL_6a25b8c8", "EMAIL_6a25b8c8]",
        "[email_6a25b8c8]", "[EMAIL_6A25B8C8]", "[PHONE_6a25b8c8]", "[EMAIL_6a25b8c8 ]",
        "[EMAIL_6a25b8c80]", "[REDACTED_EMAIL]", "", "[", "]", "[]", "no brackets at all"}) {
    EXPECT_EQ(p.Restore(s), s);
  }
}

TEST(Restore, FindsPlaceholdersAmongBrackets) {
  Pseudonymizer p(kKey);
  PlaceholderFor(p, DataClass::kEmail, "alice@example.com");
  PlaceholderFor(p, DataClass::kPhone, "+1-984-182-0190");
  EXPECT_EQ(p.Restore("[[EMAIL_6a25b8c8]]"), "[alice@example.com]");
  EXPECT_EQ(p.Restore("[EMAIL_[EMAIL_6a25b8c8]"), "[EMAIL_alice@example.com");
  EXPECT_EQ(p.Restore("[EMAIL_6a25b8c8][PHONE_999e6676]"), "alice@example.com+1-984-182-0190");
  EXPECT_EQ(p.Restore("x[EMAIL_6a25b8c8]y[EMAIL_6a25b8c8]"),
            "xalice@example.comyalice@example.com");
  EXPECT_EQ(p.Restore("é[PHONE_999e6676]é"), "é+1-984-182-0190é");
}

TEST(Restore, WithoutPlaceholdersReturnsTheText) {
  Pseudonymizer p(kKey);
  EXPECT_EQ(p.Restore("[EMAIL_6a25b8c8] stays"), "[EMAIL_6a25b8c8] stays");
}

// Random texts over an alphabet rich in '[', ']', '_', upper case, hex digits and multi-byte
// UTF-8, with random sorted non-overlapping findings: Restore(Apply(text)) == text.
TEST(Restore, RandomRoundTrip) {
  std::mt19937 rng(20240611);
  const std::vector<std::string> atoms = {"a",
                                          "b",
                                          "Z",
                                          " ",
                                          "[",
                                          "]",
                                          "_",
                                          "0",
                                          "f",
                                          "9",
                                          "E",
                                          "M",
                                          "A",
                                          "I",
                                          "L",
                                          "é",
                                          "✓",
                                          "日",
                                          "\n",
                                          "[EMAIL_",
                                          "[PHONE_",
                                          "[EMAIL_00000000]",
                                          "[REDACTED_EMAIL]",
                                          "]]",
                                          "[[",
                                          "\xF0\x9F\x98\x80"};
  const std::vector<std::string> value_atoms = {"x", "y", "1", "2", "@", ".", "-", "ü", "[", "]"};
  auto pick = [&](const std::vector<std::string>& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  int with_findings = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    std::vector<Finding> findings;
    const int parts = std::uniform_int_distribution<int>(0, 12)(rng);
    for (int i = 0; i < parts; ++i) {
      if (rng() % 3 == 0) {
        // A value: always contains '@', so no placeholder can contain it; sometimes a repeat.
        std::string v = "@";
        const int len = std::uniform_int_distribution<int>(0, 8)(rng);
        for (int k = 0; k < len; ++k) v += pick(value_atoms);
        const auto cls = static_cast<DataClass>(rng() % 4);  // email, phone, ip, card
        findings.push_back(Finding{cls, text.size(), text.size() + v.size()});
        text += v;
      } else {
        const int len = std::uniform_int_distribution<int>(0, 5)(rng);
        for (int k = 0; k < len; ++k) text += pick(atoms);
      }
    }
    if (!findings.empty()) ++with_findings;
    Pseudonymizer p(iter % 2 == 0 ? kKey : kOtherKey);
    // Pseudonymize email, phone and ip; leave cards as they are.
    const ClassMask ps =
        Bit(DataClass::kEmail) | Bit(DataClass::kPhone) | Bit(DataClass::kIpAddress);
    const std::string applied = p.Apply(text, findings, kNone, ps);
    ASSERT_EQ(p.redacted_count(), 0);
    ASSERT_EQ(p.Restore(applied), text) << "iteration " << iter;
    // Stream restoration agrees, fed in random pieces.
    StreamRestorer s(p);
    std::string streamed;
    for (std::size_t at = 0; at < applied.size();) {
      const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 7)(rng);
      streamed += s.Feed(std::string_view(applied).substr(at, n));
      ASSERT_LT(s.held_back(), std::max<std::size_t>(p.max_placeholder_size(), 1));
      at += n;
    }
    streamed += s.Flush();
    ASSERT_EQ(streamed, text) << "iteration " << iter;
    for (const Finding& f : findings) {
      if ((ps & Bit(f.cls)) == 0) continue;
      // Every pseudonymized value is gone from the applied text, unless the unchanged text
      // around it (cards, or the same bytes elsewhere) carries it.
      const std::string value = text.substr(f.begin, f.end - f.begin);
      EXPECT_EQ(PlaceholderFor(p, f.cls, value).find(value), std::string::npos);
    }
  }
  EXPECT_GT(with_findings, 2000);
}

// ---------------------------------------------------------------------------------------------
// StreamRestorer

class StreamTest : public ::testing::Test {
 protected:
  StreamTest() : p_(kKey) {
    PlaceholderFor(p_, DataClass::kEmail, "alice@example.com");  // [EMAIL_6a25b8c8]
    PlaceholderFor(p_, DataClass::kEmail, "bob@example.org");    // [EMAIL_4d44428f]
    PlaceholderFor(p_, DataClass::kPhone, "+1-984-182-0190");    // [PHONE_999e6676]
    PlaceholderFor(p_, DataClass::kDeTaxId, "65929970489");      // [DE_TAX_ID_7f216419]
    PlaceholderFor(p_, DataClass::kEmail, "zoë@exämple.de");     // [EMAIL_61e4e23f]
  }

  // Feeds `pieces` one by one; checks the bound on what is held back after each.
  std::string Stream(const std::vector<std::string_view>& pieces) {
    StreamRestorer s(p_);
    std::string out;
    for (std::string_view piece : pieces) {
      out += s.Feed(piece);
      EXPECT_LE(s.held_back(), p_.max_placeholder_size() - 1);
    }
    out += s.Flush();
    EXPECT_EQ(s.held_back(), 0u);
    return out;
  }

  Pseudonymizer p_;
};

constexpr std::string_view kStreamText =
    "Hi [EMAIL_6a25b8c8], call [PHONE_999e6676]; see [1] and [EMAIL_ x] "
    "[[DE_TAX_ID_7f216419]] ✓[EMAIL_61e4e23f]é[EMAIL_4d44428f][EMAIL_6a25b8c8] end [EMAIL_6a25";
constexpr std::string_view kStreamRestored =
    "Hi alice@example.com, call +1-984-182-0190; see [1] and [EMAIL_ x] "
    "[65929970489] ✓zoë@exämple.deébob@example.orgalice@example.com end [EMAIL_6a25";

TEST_F(StreamTest, WholeTextIsRestored) {
  ASSERT_EQ(p_.Restore(kStreamText), kStreamRestored);
  EXPECT_EQ(Stream({kStreamText}), kStreamRestored);
}

TEST_F(StreamTest, EverySingleSplitPoint) {
  for (std::size_t k = 0; k <= kStreamText.size(); ++k) {
    EXPECT_EQ(Stream({kStreamText.substr(0, k), kStreamText.substr(k)}), kStreamRestored)
        << "split at " << k;
  }
}

TEST_F(StreamTest, ByteByByte) {
  std::vector<std::string_view> bytes;
  for (std::size_t k = 0; k < kStreamText.size(); ++k) bytes.push_back(kStreamText.substr(k, 1));
  EXPECT_EQ(Stream(bytes), kStreamRestored);
}

TEST_F(StreamTest, EveryTwoAndThreeWaySplit) {
  constexpr std::string_view text = "a[EMAIL_6a25b8c8][PHONE_999e6676]b[DE_TAX_ID_7f216419]";
  const std::string want = "aalice@example.com+1-984-182-0190b65929970489";
  ASSERT_EQ(p_.Restore(text), want);
  for (std::size_t i = 0; i <= text.size(); ++i) {
    for (std::size_t j = i; j <= text.size(); ++j) {
      EXPECT_EQ(Stream({text.substr(0, i), text.substr(i, j - i), text.substr(j)}), want)
          << "splits at " << i << ", " << j;
    }
  }
}

TEST_F(StreamTest, HoldsBackOnlyPlaceholderPrefixes) {
  StreamRestorer s(p_);
  // '[' that cannot begin a placeholder goes out in the same call.
  EXPECT_EQ(s.Feed("see [1] and [x"), "see [1] and [x");
  EXPECT_EQ(s.held_back(), 0u);
  EXPECT_EQ(s.Feed("[EMAIL_6a25b8c8] and [REDACTED_EMAIL]"),
            "alice@example.com and [REDACTED_EMAIL]");
  EXPECT_EQ(s.Feed("[EMAIL_ "), "[EMAIL_ ");
  EXPECT_EQ(s.Feed("[email_6a25b8c8"), "[email_6a25b8c8");  // other case: not ours
  // A prefix of a known placeholder is held back, and only it.
  EXPECT_EQ(s.Feed("tail ["), "tail ");
  EXPECT_EQ(s.held_back(), 1u);
  EXPECT_EQ(s.Feed("E"), "");
  EXPECT_EQ(s.Feed("MAIL_6a25"), "");
  EXPECT_EQ(s.held_back(), 11u);
  EXPECT_EQ(s.Feed("b8c8] ok"), "alice@example.com ok");
  EXPECT_EQ(s.held_back(), 0u);
  // A prefix that stops matching is released at once.
  EXPECT_EQ(s.Feed("[EMAIL_6a2"), "");
  EXPECT_EQ(s.Feed("x"), "[EMAIL_6a2x");
  // Held back at the end of the stream: flushed unchanged.
  EXPECT_EQ(s.Feed("end [DE_TAX"), "end ");
  EXPECT_EQ(s.Flush(), "[DE_TAX");
  EXPECT_EQ(s.Flush(), "");
}

TEST_F(StreamTest, HeldBackIsBoundedByTheLongestPlaceholder) {
  StreamRestorer s(p_);
  // The longest proper prefix of the longest placeholder.
  const std::string_view longest = "[DE_TAX_ID_7f216419]";
  ASSERT_EQ(p_.max_placeholder_size(), longest.size());
  EXPECT_EQ(s.Feed(std::string("x").append(longest.substr(0, longest.size() - 1))), "x");
  EXPECT_EQ(s.held_back(), p_.max_placeholder_size() - 1);
  EXPECT_EQ(s.Feed("]"), "65929970489");
}

TEST(StreamRestorer, WithoutPlaceholdersNothingIsHeld) {
  Pseudonymizer p(kKey);
  StreamRestorer s(p);
  EXPECT_EQ(s.Feed("a ["), "a [");
  EXPECT_EQ(s.Feed("EMAIL_6a25b8c8]"), "EMAIL_6a25b8c8]");
  EXPECT_EQ(s.Flush(), "");
}

bool ValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80         ? 1
                            : (c >> 5) == 6  ? 2
                            : (c >> 4) == 14 ? 3
                            : (c >> 3) == 30 ? 4
                                             : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += len;
  }
  return true;
}

TEST_F(StreamTest, ChunksOfWholeUtf8SequencesGiveWholeUtf8Output) {
  constexpr std::string_view text = "日本[EMAIL_61e4e23f]✓[é[EMAIL_6a25b8c8]€";
  for (std::size_t k = 0; k <= text.size(); ++k) {
    if (!ValidUtf8(text.substr(0, k))) continue;  // the producer never splits a sequence here
    StreamRestorer s(p_);
    const std::string a = s.Feed(text.substr(0, k));
    const std::string b = s.Feed(text.substr(k));
    const std::string c = s.Flush();
    EXPECT_TRUE(ValidUtf8(a)) << k;
    EXPECT_TRUE(ValidUtf8(b)) << k;
    EXPECT_EQ(a + b + c, "日本zoë@exämple.de✓[éalice@example.com€") << k;
  }
}

}  // namespace
}  // namespace meridian::redact
