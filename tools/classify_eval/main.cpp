// classify_eval: measures the classifier's precision, recall and speed on the public detection
// corpora under <data>/detection and <data>/traces (see docs/classification.md).
// Usage: classify_eval <shared-data-dir>. Prints a table; never prints detected values.

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "classify/classifier.hpp"

namespace {

using meridian::classify::Classification;
using meridian::classify::Classifier;
using meridian::classify::Finding;
using meridian::core::DataClass;
using meridian::core::DataClassName;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Score {
  long tp = 0, fp = 0, fn = 0;
  double Precision() const { return tp + fp == 0 ? 1.0 : double(tp) / double(tp + fp); }
  double Recall() const { return tp + fn == 0 ? 1.0 : double(tp) / double(tp + fn); }
};

struct Row {
  std::string dataset;
  std::string what;
  Score s;
  std::string note;
};

std::vector<Row> g_rows;

void AddRow(std::string dataset, std::string what, Score s, std::string note = {}) {
  g_rows.push_back({std::move(dataset), std::move(what), s, std::move(note)});
}

// Byte offset of each code point start (presidio offsets are Python str indices).
std::vector<std::size_t> CodePointOffsets(const std::string& s) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  out.push_back(s.size());
  return out;
}

void EvalPresidio(const Classifier& c, const std::string& dir) {
  const std::string text = ReadFile(dir + "/detection/presidio-research/synth_dataset_v2.json");
  if (text.empty()) return;
  const std::map<std::string, DataClass> labels = {
      {"EMAIL_ADDRESS", DataClass::kEmail},      {"PHONE_NUMBER", DataClass::kPhone},
      {"IP_ADDRESS", DataClass::kIpAddress},     {"CREDIT_CARD", DataClass::kPaymentCard},
      {"IBAN_CODE", DataClass::kIban},           {"US_SSN", DataClass::kUsSsn}};
  std::map<DataClass, Score> scores;
  long other_predictions = 0;
  auto doc = boost::json::parse(text);
  for (const auto& rec : doc.as_array()) {
    const auto& o = rec.as_object();
    const std::string full(o.at("full_text").as_string());
    const auto cps = CodePointOffsets(full);
    struct Gold {
      DataClass cls;
      bool is_claimed;
      std::size_t b, e;
      bool hit = false;
    };
    std::vector<Gold> gold;
    for (const auto& sp : o.at("spans").as_array()) {
      const auto& so = sp.as_object();
      const std::string type(so.at("entity_type").as_string());
      const auto b = static_cast<std::size_t>(so.at("start_position").to_number<long>());
      const auto e = static_cast<std::size_t>(so.at("end_position").to_number<long>());
      if (b >= cps.size() || e >= cps.size()) continue;
      auto it = labels.find(type);
      gold.push_back({it == labels.end() ? DataClass::kSecret : it->second, it != labels.end(),
                      cps[b], cps[e]});
    }
    Classification r = c.Scan(full);
    for (const Finding& f : r.findings) {
      if (!std::any_of(labels.begin(), labels.end(),
                       [&](const auto& kv) { return kv.second == f.cls; })) {
        ++other_predictions;  // a class presidio does not label: cannot be judged here
        continue;
      }
      bool tp = false;
      for (Gold& g : gold) {
        if (g.is_claimed && g.cls == f.cls && f.begin < g.e && g.b < f.end) {
          g.hit = true;
          tp = true;
        }
      }
      (tp ? scores[f.cls].tp : scores[f.cls].fp)++;
    }
    for (const Gold& g : gold) {
      if (g.is_claimed && !g.hit) scores[g.cls].fn++;
    }
  }
  for (const auto& [cls, s] : scores) {
    // tp counts predictions; recall uses gold spans found = gold - fn.
    AddRow("presidio synth_dataset_v2", std::string(DataClassName(cls)), s);
  }
  AddRow("presidio synth_dataset_v2", "(unlabelled classes)", Score{},
         fmt::format("{} predictions of classes presidio does not label", other_predictions));
}

// Reference checks for the checksum-validated vector sets, written from the official rules and
// independent of src/classify. They judge only the identifier's significant characters
// (digits, letters upper-cased; every other character ignored) and serve one purpose: to find
// labels that contradict the identifier's own check digit or letter ("disputed" labels,
// docs/classification.md). Returns -1 when there is no reference check for the set.
int OfficialCheck(const std::string& key, const std::string& value) {
  std::string s;
  for (char ch : value) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isdigit(u)) s.push_back(ch);
    else if (std::isalpha(u)) s.push_back(static_cast<char>(std::toupper(u)));
  }
  if (key == "isIdentityCard(ES)") {
    // DNI: 8 digits + letter; NIE: X/Y/Z (= 0/1/2) + 7 digits + letter; letter = table[n % 23].
    if (s.size() != 9) return 0;
    std::string num = s.substr(0, 8);
    if (num[0] >= 'X' && num[0] <= 'Z') num[0] = static_cast<char>('0' + (num[0] - 'X'));
    auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
    if (!std::all_of(num.begin(), num.end(), digit)) return 0;
    return "TRWAGMYFPDXBNJZSQVHLCKE"[std::stol(num) % 23] == s[8] ? 1 : 0;
  }
  if (key == "isTaxID(de-DE)") {
    // Steuer-IdNr: 11 digits, first not 0; in the first ten one digit occurs twice or three
    // times (a triple not in three consecutive places), the others at most once; the 11th is
    // the ISO 7064 MOD 11,10 check digit.
    if (s.size() != 11 || s[0] == '0') return 0;
    if (!std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) return 0;
    int count[10] = {};
    for (int i = 0; i < 10; ++i) ++count[s[i] - '0'];
    int multi = 0;
    for (int d = 0; d < 10; ++d) {
      if (count[d] > 3) return 0;
      if (count[d] >= 2) ++multi;
    }
    if (multi != 1) return 0;
    for (int i = 0; i + 2 < 10; ++i) {
      if (s[i] == s[i + 1] && s[i] == s[i + 2]) return 0;
    }
    int product = 10;
    for (int i = 0; i < 10; ++i) {
      int sum = (s[i] - '0' + product) % 10;
      if (sum == 0) sum = 10;
      product = (sum * 2) % 11;
    }
    return (11 - product) % 10 == s[10] - '0' ? 1 : 0;
  }
  return -1;
}

void EvalValidatorJs(const Classifier& c, const std::string& dir) {
  std::ifstream in(dir + "/detection/validatorjs-test-vectors/validator_test_vectors.jsonl");
  std::map<std::string, Score> scores;
  std::map<std::string, Score> undisputed;  // sets with a reference check: disputed labels out
  std::map<std::string, int> disputed;
  std::map<std::string, DataClass> cls_of;
  const bool print_misses = std::getenv("CLASSIFY_EVAL_MISSES") != nullptr;
  std::string line;
  long line_num = 0;
  while (std::getline(in, line)) {
    ++line_num;
    boost::system::error_code ec;
    auto doc = boost::json::parse(line, ec);
    if (ec || !doc.is_object()) continue;  // a few vectors hold lone UTF-16 surrogates
    const auto& o = doc.as_object();
    if (!o.at("value").is_string()) continue;
    const std::string v(o.at("validator").as_string());
    const auto& args = o.at("args").as_array();
    const std::string arg0 = !args.empty() && args[0].is_string() ? std::string(args[0].as_string()) : "";
    const std::string value(o.at("value").as_string());
    const bool expected = o.at("expected_valid").as_bool();
    DataClass cls;
    std::string key;
    if (v == "isCreditCard" && (args.empty() || expected)) {
      cls = DataClass::kPaymentCard, key = "isCreditCard";
    } else if (v == "isIBAN" && (args.empty() || expected)) {
      cls = DataClass::kIban, key = "isIBAN";
    } else if (v == "isTaxID" && arg0 == "de-DE") {
      cls = DataClass::kDeTaxId, key = "isTaxID(de-DE)";
    } else if (v == "isTaxID" && arg0 == "it-IT") {
      cls = DataClass::kItCodiceFiscale, key = "isTaxID(it-IT)";
    } else if (v == "isTaxID" && arg0 == "pt-BR" &&
               std::count_if(value.begin(), value.end(), ::isalnum) == 11) {
      cls = DataClass::kBrCpf, key = "isTaxID(pt-BR) CPF";
    } else if (v == "isIdentityCard" && arg0 == "ES") {
      cls = DataClass::kEsDniNie, key = "isIdentityCard(ES)";
    } else if (v == "isIdentityCard" && arg0 == "IN") {
      cls = DataClass::kInAadhaar, key = "isIdentityCard(IN)";
    } else if (v == "isIdentityCard" && arg0 == "zh-CN" && !(value.size() == 15 && expected)) {
      cls = DataClass::kCnResidentId, key = "isIdentityCard(zh-CN)";
    } else if (v == "isEmail" && args.empty()) {
      cls = DataClass::kEmail, key = "isEmail";
    } else if (v == "isJWT") {
      cls = DataClass::kSecret, key = "isJWT";
    } else {
      continue;
    }
    Classification r = c.Scan(value);
    // Found = a finding of the class that covers the whole (trimmed) value.
    bool found = false;
    for (const Finding& f : r.findings) {
      if (f.cls == cls && f.begin == 0 && f.end == value.size()) found = true;
    }
    Score& s = scores[key];
    cls_of[key] = cls;
    if (expected) (found ? s.tp : s.fn)++;
    else if (found) s.fp++;
    const int official = OfficialCheck(key, value);
    const bool is_disputed = official >= 0 && (official == 1) != expected;
    if (official >= 0) {
      Score& u = undisputed[key];
      if (is_disputed) ++disputed[key];
      else if (expected) (found ? u.tp : u.fn)++;
      else if (found) u.fp++;
    }
    if (print_misses && found != expected) {
      // Debug aid for the public test vectors only (set and line, no values).
      std::fprintf(stderr, "%s %s | validator_test_vectors.jsonl:%ld%s\n", expected ? "miss" : "fp",
                   key.c_str(), line_num, is_disputed ? " (disputed label)" : "");
    }
  }
  for (const auto& [key, s] : scores) {
    AddRow("validator.js vectors", key, s);
    if (auto it = undisputed.find(key); it != undisputed.end()) {
      AddRow("validator.js vectors", key + " undisputed", it->second,
             fmt::format("{} disputed label(s) left out: label contradicts the official check",
                         disputed[key]));
    }
  }
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream ss(text);
  while (std::getline(ss, cur)) out.push_back(cur);
  return out;
}

void EvalCredSweeper(const Classifier& c, const std::string& dir) {
  const std::string base = dir + "/detection/credsweeper/";
  std::map<std::string, std::string> samples;
  {
    std::ifstream in(base + "samples.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto doc = boost::json::parse(line);
      const auto& o = doc.as_object();
      samples[std::string(o.at("path").as_string())] = std::string(o.at("text").as_string());
    }
  }
  auto doc = boost::json::parse(ReadFile(base + "expected_output.json"));
  // Findings per sample, computed once.
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> found_cache;
  std::map<std::string, std::vector<std::size_t>> line_starts;
  Score all, vendor, keyword;
  static const std::vector<std::string> kKeywordRules = {
      "Password", "SQL Password", "Token", "Key", "Secret", "CMD Password", "Auth", "Credential",
      "Salt", "API", "CMD Token", "Nonce", "CMD Secret", "CMD ConvertTo-SecureString", "UUID",
      "CURL Options", "AWS S3 Bucket", "Firebase Domain", "Tencent WeChat API App ID", "JWK",
      "OTP / 2FA Secret", "Google Multi", "AWS Multi", "Alibaba Multi"};
  for (const auto& item : doc.as_array()) {
    const auto& o = item.as_object();
    const std::string rule(o.at("rule").as_string());
    const bool is_keyword =
        std::find(kKeywordRules.begin(), kKeywordRules.end(), rule) != kKeywordRules.end();
    for (const auto& ldv : o.at("line_data_list").as_array()) {
      const auto& ld = ldv.as_object();
      std::string path(ld.at("path").as_string());
      const std::string prefix = "./tests/samples/";
      if (path.rfind(prefix, 0) == 0) path = path.substr(prefix.size());
      auto sit = samples.find(path);
      if (sit == samples.end()) continue;
      const std::string& text = sit->second;
      if (!found_cache.count(path)) {
        auto& v = found_cache[path];
        for (const Finding& f : c.Scan(text).findings) {
          if (f.cls == DataClass::kSecret) v.emplace_back(f.begin, f.end);
        }
        auto& ls = line_starts[path];
        ls.push_back(0);
        for (std::size_t i = 0; i < text.size(); ++i) {
          if (text[i] == '\n') ls.push_back(i + 1);
        }
      }
      const auto& ls = line_starts[path];
      const long line_num = ld.at("line_num").to_number<long>();
      if (line_num < 1 || static_cast<std::size_t>(line_num) > ls.size()) continue;
      const std::size_t lb = ls[line_num - 1];
      const std::size_t le = static_cast<std::size_t>(line_num) < ls.size() ? ls[line_num] : text.size();
      std::size_t vb = lb, ve = le;
      const long vs = ld.at("value_start").to_number<long>();
      const long vend = ld.at("value_end").to_number<long>();
      if (vs >= 0 && vend > vs) {
        vb = std::min(le, lb + static_cast<std::size_t>(vs));
        ve = std::min(le, lb + static_cast<std::size_t>(vend));
      }
      bool hit = false;
      for (const auto& [fb, fe] : found_cache[path]) {
        if (fb < ve && vb < fe) hit = true;
      }
      for (Score* s : {&all, is_keyword ? &keyword : &vendor}) (hit ? s->tp : s->fn)++;
      if (!hit && std::getenv("CLASSIFY_EVAL_MISSES") != nullptr) {
        // Debug aid for the public test corpus only (rule and sample name, no values).
        std::fprintf(stderr, "miss %s | %s:%ld\n", rule.c_str(), path.c_str(), line_num);
      }
    }
  }
  AddRow("credsweeper expected_output", "secret (all rules)", all, "recall only");
  AddRow("credsweeper expected_output", "secret (vendor-format rules)", vendor, "recall only");
  AddRow("credsweeper expected_output", "secret (keyword/generic rules)", keyword, "recall only");
}

void EvalMarkings(const Classifier& c, const std::string& dir) {
  const std::string base = dir + "/detection/classification-markings/";
  Score valid, invalid;
  long unclassified_skipped = 0;
  for (const char* name : {"valid-us-banners.txt", "valid-fgi-banners.txt", "valid-joint-banners.txt",
                           "invalid-banners.txt"}) {
    const bool is_valid = std::string(name).rfind("valid", 0) == 0;
    for (const std::string& raw : Lines(ReadFile(base + name))) {
      if (raw.empty() || raw[0] == '#') continue;
      const std::string banner = raw.substr(0, raw.find('|'));
      if (banner.empty()) continue;
      if (banner.find("UNCLASSIFIED") != std::string::npos) {
        ++unclassified_skipped;  // not a sensitive level: deliberately not flagged
        continue;
      }
      const bool found = c.Scan(banner).Has(DataClass::kClassificationMarking);
      if (is_valid) (found ? valid.tp : valid.fn)++;
      else (found ? invalid.tp : invalid.fn)++;
    }
  }
  AddRow("classification-markings", "valid banners", valid,
         fmt::format("recall; {} UNCLASSIFIED banners not claimed", unclassified_skipped));
  AddRow("classification-markings", "malformed banners flagged", invalid,
         "flagged by design: a malformed TOP SECRET banner is still classified");
}

std::string ShareGptProse(const std::string& dir) {
  std::string all;
  for (const char* name : {"ShareGPT_V3_filtered_1000.json",
                           "sg_90k_part1_html_cleaned_lang_first_sampled_sorted.json"}) {
    const std::string raw = ReadFile(dir + "/traces/sharegpt/" + name);
    if (raw.empty()) continue;
    auto doc = boost::json::parse(raw);
    for (const auto& conv : doc.as_array()) {
      const auto* convs = conv.as_object().if_contains("conversations");
      if (convs == nullptr) continue;
      for (const auto& turn : convs->as_array()) {
        const auto* v = turn.as_object().if_contains("value");
        if (v != nullptr && v->is_string()) {
          all.append(v->as_string().data(), v->as_string().size());
          all.push_back('\n');
        }
      }
    }
  }
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: classify_eval <shared-data-dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  auto created = Classifier::Create();
  if (!created) {
    std::fprintf(stderr, "classifier: %s\n", created.error().message.c_str());
    return 1;
  }
  const Classifier& c = **created;

  EvalPresidio(c, dir);
  EvalValidatorJs(c, dir);
  EvalCredSweeper(c, dir);
  EvalMarkings(c, dir);

  fmt::print("{:<30} {:<32} {:>6} {:>6} {:>6} {:>9} {:>7}  {}\n", "dataset", "class / set", "tp",
             "fp", "fn", "precision", "recall", "note");
  for (const Row& r : g_rows) {
    fmt::print("{:<30} {:<32} {:>6} {:>6} {:>6} {:>9.3f} {:>7.3f}  {}\n", r.dataset, r.what,
               r.s.tp, r.s.fp, r.s.fn, r.s.Precision(), r.s.Recall(), r.note);
  }

  // Speed: prose from ShareGPT conversations, one thread.
  const std::string prose = ShareGptProse(dir);
  if (!prose.empty()) {
    auto scratch = c.MakeScratch();
    if (!scratch) return 1;
    Classification r = c.Scan(prose, *scratch);
    std::map<DataClass, int> per_class;
    for (const Finding& f : r.findings) per_class[f.cls]++;
    std::string summary;
    for (const auto& [cls, n] : per_class) summary += fmt::format(" {}={}", DataClassName(cls), n);
    fmt::print("\nShareGPT prose: {:.1f} MB, findings per class (unlabelled; for FP review):{}\n",
               prose.size() / 1e6, summary);
    const int reps = 10;
    auto t0 = std::chrono::steady_clock::now();
    std::size_t sink = 0;
    for (int i = 0; i < reps; ++i) sink += c.Scan(prose, *scratch).findings.size();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("prose scan throughput (1 core): {:.0f} MB/s\n", prose.size() * reps / secs / 1e6);

    // 2 KB request: a slice of prose (cut at 2048 bytes).
    const std::string request = prose.substr(prose.size() / 3, 2048);
    const int n = 20000;
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) sink += c.Scan(request, *scratch).findings.size();
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
    fmt::print("2 KB request scan: {:.2f} us (mean of {})\n", us, n);
    if (sink == 0x5eed) fmt::print("\n");  // keeps the timed scans from being optimised away
    if (argc > 2 && std::string(argv[2]) == "--per-class") {
      // Throughput with one class enabled at a time: shows which patterns cost most.
      for (int k = 0; k < meridian::core::kDataClassCount; ++k) {
        meridian::classify::ClassifierOptions one;
        one.enabled.fill(false);
        one.enabled[k] = true;
        auto ck = Classifier::Create(one);
        if (!ck) continue;
        auto sk = (*ck)->MakeScratch();
        if (!sk) continue;
        auto t1 = std::chrono::steady_clock::now();
        for (int i = 0; i < 3; ++i) sink += (*ck)->Scan(prose, *sk).findings.size();
        const double s1 =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        fmt::print("  only {:<24} {:>8.0f} MB/s\n", DataClassName(static_cast<DataClass>(k)),
                   prose.size() * 3 / s1 / 1e6);
      }
    }
  }
  return 0;
}
