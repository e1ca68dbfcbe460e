#include "route/quality.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace meridian::route {

namespace {

using core::ErrorCode;
using core::Fail;

// Namespaces keep a word, a bigram and a character 4-gram with equal raw hashes apart.
constexpr std::uint64_t kNsWord = 0x5157'4f52'4400'0001ull;
constexpr std::uint64_t kNsBigram = 0x5157'4249'4700'0002ull;
constexpr std::uint64_t kNsChar = 0x5143'4841'5200'0003ull;
constexpr std::uint64_t kFnvOffset = 0xcbf2'9ce4'8422'2325ull;
constexpr std::uint64_t kFnvPrime = 0x0000'0100'0000'01b3ull;

// SplitMix64's finalizer: FNV alone leaves the high bits (which pick the slot) poorly mixed
// for short inputs such as a 4-byte window.
inline std::uint64_t Mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline unsigned char Lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c; }
inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
// Bytes >= 0x80 count as word bytes so a UTF-8 word stays one token.
inline bool IsWordByte(unsigned char c) { return (c >= 'a' && c <= 'z') || IsDigit(c) || c >= 0x80; }
inline bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

using Dense = std::array<float, kQualityDenseFeatures>;

// ---- Task detectors: whole-word keyword lists (lowercase), looked up by the word's FNV-1a
// hash (the same hash Walk computes). Fixed a priori from what the task kinds look like in
// general, not from any benchmark's prompts; each word belongs to one list.

constexpr std::uint64_t Fnv(std::string_view s) {
  std::uint64_t h = kFnvOffset;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  return h;
}

constexpr std::string_view kMathWords[] = {
    "calculate", "calculation", "compute", "solve", "equation", "equations", "sum", "product", "probability",
    "integral", "derivative", "percent", "percentage", "average", "median", "total", "area", "volume", "ratio",
    "prime", "math", "mathematical", "algebra", "geometry", "triangle", "fraction", "divide", "divided",
    "multiply", "multiplied", "subtract", "plus", "minus", "remainder", "factor", "integer", "sqrt", "formula",
    "cost", "costs", "price", "dollars", "per", "twice", "half", "profit", "interest", "speed", "distance"};
constexpr std::string_view kCodeWords[] = {
    "code", "function", "python", "java", "javascript", "typescript", "sql", "program", "programming",
    "implement", "implementation", "algorithm", "class", "def", "return", "bug", "debug", "compile", "script",
    "regex", "api", "html", "css", "array", "loop", "variable", "recursion", "recursive", "query", "database",
    "bash", "git", "rust", "golang", "react", "snippet", "syntax", "runtime", "complexity", "binary", "sort",
    "sorting", "cpp", "compiler", "library", "method", "parameter", "parameters"};
constexpr std::string_view kReasoningWords[] = {
    "why", "prove", "proof", "reason", "reasoning", "step", "steps", "logic", "logical", "therefore", "deduce",
    "infer", "puzzle", "riddle", "suppose", "assume", "assuming", "imply", "implies", "conclude", "conclusion",
    "determine", "paradox", "contradiction", "hypothesis", "true", "false"};
constexpr std::string_view kExtractionWords[] = {
    "extract", "list", "format", "table", "csv", "yaml", "json", "identify", "parse", "bullet", "categorize",
    "classify", "label", "rank", "sentiment", "passage", "output", "exactly", "only", "must", "following",
    "words", "characters", "sentences"};
constexpr std::string_view kWritingWords[] = {
    "write", "compose", "story", "poem", "essay", "blog", "email", "letter", "creative", "imagine", "describe",
    "song", "lyrics", "poetry", "speech", "tweet", "slogan", "fiction", "novel", "narrative", "haiku", "rap",
    "persuasive", "advertisement"};

struct Keyword {
  std::uint64_t hash;
  std::uint32_t slot;
};
constexpr std::size_t kKeywordCount = std::size(kMathWords) + std::size(kCodeWords) + std::size(kReasoningWords) +
                                      std::size(kExtractionWords) + std::size(kWritingWords);

constexpr std::array<Keyword, kKeywordCount> MakeKeywords() {
  std::array<Keyword, kKeywordCount> out{};
  std::size_t k = 0;
  for (auto w : kMathWords) out[k++] = {Fnv(w), kQualityDetectorMath};
  for (auto w : kCodeWords) out[k++] = {Fnv(w), kQualityDetectorCode};
  for (auto w : kReasoningWords) out[k++] = {Fnv(w), kQualityDetectorReasoning};
  for (auto w : kExtractionWords) out[k++] = {Fnv(w), kQualityDetectorExtraction};
  for (auto w : kWritingWords) out[k++] = {Fnv(w), kQualityDetectorWriting};
  std::sort(out.begin(), out.end(), [](const Keyword& a, const Keyword& b) { return a.hash < b.hash; });
  return out;
}
constexpr auto kKeywords = MakeKeywords();
static_assert(std::adjacent_find(kKeywords.begin(), kKeywords.end(), [](const Keyword& a, const Keyword& b) {
                return a.hash == b.hash;
              }) == kKeywords.end(),
              "a keyword is in two lists (or two keywords collide)");
constexpr std::uint64_t kHashHow = Fnv("how");
constexpr std::uint64_t kHashMany = Fnv("many");
constexpr std::uint64_t kHashMuch = Fnv("much");

// Detector slot of a word hash, or 0 when it is no keyword.
inline std::uint32_t KeywordSlot(std::uint64_t h) {
  const auto it = std::lower_bound(kKeywords.begin(), kKeywords.end(), h,
                                   [](const Keyword& k, std::uint64_t v) { return k.hash < v; });
  return (it != kKeywords.end() && it->hash == h) ? it->slot : 0;
}

inline bool IsAlnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

constexpr std::array<float, kQualityDenseFeatures> MakePrior() {
  std::array<float, kQualityDenseFeatures> p{};
  p[9] = 0.5f;  // a ``` code fence
  p[kQualityDetectorMath] = 1.0f;
  p[kQualityDetectorCode] = 1.0f;
  p[kQualityDetectorReasoning] = 0.75f;
  p[kQualityDetectorExtraction] = 0.5f;
  p[kQualityDetectorWriting] = -0.5f;
  p[kQualityDetectorArithmetic] = 1.0f;
  p[kQualityDetectorNumbers] = 0.5f;
  p[kQualityDetectorCodeSyntax] = 1.0f;
  return p;
}
constexpr auto kPrior = MakePrior();

// One pass over the first max_bytes of `text`: calls on_hash(slot) once per hashed event
// (word, bigram, character 4-gram of the lowercased, whitespace-collapsed text), fills `dense`,
// and returns the number of hashed events. Both Score and ExtractQualityFeatures go through
// here, so training and serving can never compute different features.
template <class OnHash>
std::uint32_t Walk(std::string_view text, const QualityFeatureConfig& config, Dense& dense, OnHash&& on_hash) {
  const std::size_t n = std::min<std::size_t>(text.size(), config.max_bytes);
  const unsigned shift = 64u - config.hash_bits;
  std::uint32_t events = 0;
  auto emit = [&](std::uint64_t h) {
    on_hash(static_cast<std::uint32_t>(kQualityDenseFeatures + (Mix(h) >> shift)));
    ++events;
  };

  std::size_t digits = 0, upper = 0, letters = 0, non_ascii = 0, newlines = 0, code = 0, math = 0;
  std::size_t questions = 0, punct = 0, sentences = 0, words = 0, numeric_words = 0, word_bytes = 0;
  std::size_t backtick_run = 0;
  bool fence = false;
  std::size_t detector[kQualityDenseFeatures] = {};  // keyword counts by detector slot
  std::size_t arithmetic = 0, code_syntax = 0;
  unsigned char prev_byte = ' ';

  std::uint32_t window = 0;
  std::uint32_t window_len = 0;
  bool last_space = true;  // leading whitespace is dropped
  auto push_char = [&](unsigned char b) {
    window = (window << 8) | b;
    if (++window_len >= 4) emit(kNsChar ^ window);
  };

  std::uint64_t word_hash = kFnvOffset;
  std::size_t word_len = 0;
  bool word_numeric = true;
  std::uint64_t prev_word = 0;
  bool have_prev = false;
  auto finish_word = [&] {
    if (word_len == 0) return;
    ++words;
    word_bytes += word_len;
    if (word_numeric) ++numeric_words;
    if (const auto slot = KeywordSlot(word_hash); slot != 0) ++detector[slot];
    if (have_prev && prev_word == kHashHow && (word_hash == kHashMany || word_hash == kHashMuch)) {
      ++detector[kQualityDetectorMath];
    }
    emit(kNsWord ^ word_hash);
    if (have_prev) emit(kNsBigram ^ (prev_word * 0x9E3779B97F4A7C15ull + word_hash));
    prev_word = word_hash;
    have_prev = true;
    word_hash = kFnvOffset;
    word_len = 0;
    word_numeric = true;
  };

  for (std::size_t i = 0; i < n; ++i) {
    const auto raw = static_cast<unsigned char>(text[i]);
    const unsigned char c = Lower(raw);
    if (IsDigit(c)) ++digits;
    if (raw >= 'A' && raw <= 'Z') ++upper;
    if (c >= 'a' && c <= 'z') ++letters;
    if (c >= 0x80) ++non_ascii;
    if (c == '\n') ++newlines;
    if (c == '`') {
      if (++backtick_run >= 3) fence = true;
    } else {
      backtick_run = 0;
    }
    switch (c) {
      case '{': case '}': case '[': case ']': case ';': case '_': case '\\': case '`': case '<': case '>':
        ++code;
        break;
      case '+': case '-': case '*': case '/': case '^': case '=': case '%':
        ++math;
        break;
      case '?':
        ++questions;
        ++sentences;
        break;
      case '.': case '!':
        ++sentences;
        break;
      default:
        break;
    }
    if (c < 0x80 && !IsSpace(c) && !IsWordByte(c)) ++punct;

    // Arithmetic: an operator between operands with a digit on at least one side ("3 + 4",
    // "x^2", "2*(") looking past at most one space each way; "20%"; "$5".
    switch (c) {
      case '+': case '-': case '*': case '/': case '^': case '=': case '<': case '>': {
        std::size_t a = i, b = i + 1;
        unsigned char before = 0, after = 0;
        if (a > 0) before = Lower(static_cast<unsigned char>(text[--a]));
        if (before == ' ' && a > 0) before = Lower(static_cast<unsigned char>(text[--a]));
        if (b < n) after = Lower(static_cast<unsigned char>(text[b]));
        if (after == ' ' && b + 1 < n) after = Lower(static_cast<unsigned char>(text[b + 1]));
        const bool left = IsAlnum(before) || before == ')', right = IsAlnum(after) || after == '(';
        if (left && right && (IsDigit(before) || IsDigit(after))) ++arithmetic;
        break;
      }
      case '%':
        if (IsDigit(prev_byte)) ++arithmetic;
        break;
      default:
        if (IsDigit(c) && prev_byte == '$') ++arithmetic;
        break;
    }
    // Code syntax: a call "name(", and the two-byte operators == != -> => :: && || += -=.
    if (c == '(' && IsWordByte(prev_byte)) ++code_syntax;
    if ((c == '=' && (prev_byte == '=' || prev_byte == '!' || prev_byte == '+' || prev_byte == '-')) ||
        (c == '>' && (prev_byte == '-' || prev_byte == '=')) || (c == ':' && prev_byte == ':') ||
        (c == '&' && prev_byte == '&') || (c == '|' && prev_byte == '|')) {
      ++code_syntax;
    }
    prev_byte = c;

    const bool space = IsSpace(c);
    if (space) {
      if (!last_space) push_char(' ');
      last_space = true;
    } else {
      push_char(c);
      last_space = false;
    }

    if (IsWordByte(c)) {
      word_hash = (word_hash ^ c) * kFnvPrime;
      ++word_len;
      if (!IsDigit(c)) word_numeric = false;
    } else {
      finish_word();
    }
  }
  finish_word();

  const auto frac = [](std::size_t a, std::size_t b) { return b == 0 ? 0.0f : static_cast<float>(a) / static_cast<float>(b); };
  dense[0] = static_cast<float>(std::log1p(static_cast<double>(text.size())) / 10.0);
  dense[1] = static_cast<float>(std::log1p(static_cast<double>(words)) / 8.0);
  dense[2] = frac(digits, n);
  dense[3] = frac(upper, letters);
  dense[4] = frac(non_ascii, n);
  dense[5] = static_cast<float>(std::log1p(static_cast<double>(newlines)) / 5.0);
  dense[6] = frac(code, n);
  dense[7] = frac(math, n);
  dense[8] = static_cast<float>(std::log1p(static_cast<double>(questions)) / 3.0);
  dense[9] = fence ? 1.0f : 0.0f;
  dense[10] = words == 0 ? 0.0f : static_cast<float>(word_bytes) / static_cast<float>(words) / 10.0f;
  dense[11] = static_cast<float>(std::log1p(static_cast<double>(sentences)) / 5.0);
  dense[12] = frac(punct, n);
  dense[13] = frac(numeric_words, words);
  const auto log_count = [](std::size_t k) { return static_cast<float>(std::log1p(static_cast<double>(k)) / 2.0); };
  for (std::uint32_t slot : {kQualityDetectorMath, kQualityDetectorCode, kQualityDetectorReasoning,
                             kQualityDetectorExtraction, kQualityDetectorWriting}) {
    dense[slot] = log_count(detector[slot]);
  }
  dense[kQualityDetectorArithmetic] = log_count(arithmetic);
  dense[kQualityDetectorNumbers] = static_cast<float>(std::log1p(static_cast<double>(numeric_words)) / 3.0);
  dense[kQualityDetectorCodeSyntax] = log_count(code_syntax);
  return events;
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// ---- JSON reading helpers: each failure names the field. ----

std::unexpected<core::Error> Bad(std::string message, std::string param) {
  return Fail(ErrorCode::kInvalidRequest, "quality model: " + std::move(message), std::move(param));
}

core::Result<double> NumberAt(const boost::json::object& obj, std::string_view key, std::string_view path) {
  const auto* v = obj.if_contains(key);
  const std::string name = std::string(path) + std::string(key);
  if (v == nullptr) return Bad("missing field \"" + name + "\"", name);
  if (!v->is_number()) return Bad("field \"" + name + "\" is not a number", name);
  boost::system::error_code ec;
  const double d = v->to_number<double>(ec);
  if (ec) return Bad("field \"" + name + "\" is not a number", name);
  if (!std::isfinite(d)) return Bad("field \"" + name + "\" is not finite", name);
  return d;
}

core::Result<std::string> StringAt(const boost::json::object& obj, std::string_view key, std::string_view path,
                                   bool required) {
  const auto* v = obj.if_contains(key);
  const std::string name = std::string(path) + std::string(key);
  if (v == nullptr) {
    if (required) return Bad("missing field \"" + name + "\"", name);
    return std::string();
  }
  if (!v->is_string()) return Bad("field \"" + name + "\" is not a string", name);
  return std::string(v->as_string());
}

std::string Num(double d) { return fmt::format("{:.17g}", d); }

}  // namespace

// ---- Features and scoring ----

void ExtractQualityFeatures(std::string_view text, const QualityFeatureConfig& config,
                            std::vector<QualityFeature>& out) {
  out.clear();
  Dense dense{};
  std::vector<std::uint32_t> slots;
  slots.reserve(std::min<std::size_t>(text.size(), config.max_bytes) * 2 + 8);
  const std::uint32_t events = Walk(text, config, dense, [&](std::uint32_t slot) { slots.push_back(slot); });
  for (std::size_t d = 0; d < kQualityDenseFeatures; ++d) {
    if (dense[d] != 0.0f) out.push_back({static_cast<std::uint32_t>(d), dense[d]});
  }
  if (events == 0) return;
  std::sort(slots.begin(), slots.end());
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(events)));
  for (std::size_t i = 0; i < slots.size();) {
    std::size_t j = i;
    while (j < slots.size() && slots[j] == slots[i]) ++j;
    out.push_back({slots[i], static_cast<float>(j - i) * scale});
    i = j;
  }
}

double QualityModel::Logit(std::string_view text) const {
  if (weights.size() != features.dim()) return bias;  // only a hand-built model can get here
  Dense dense{};
  double hashed = 0;
  const float* w = weights.data();
  const std::uint32_t events = Walk(text, features, dense, [&](std::uint32_t slot) { hashed += w[slot]; });
  double z = bias;
  for (std::size_t d = 0; d < kQualityDenseFeatures; ++d) z += static_cast<double>(w[d]) * dense[d];
  // Same scaling as ExtractQualityFeatures, applied once to the sum instead of per event.
  if (events > 0) z += hashed * static_cast<double>(static_cast<float>(1.0 / std::sqrt(static_cast<double>(events))));
  return z;
}

double QualityModel::Score(std::string_view text) const { return Sigmoid(Logit(text)); }

std::span<const float> QualityDifficultyPrior() { return kPrior; }

QualityModel DifficultyPriorModel() {
  QualityModel model;
  model.features.hash_bits = 8;
  model.weights.assign(model.features.dim(), 0.0f);
  std::copy(kPrior.begin(), kPrior.end(), model.weights.begin());
  model.default_threshold = 0.5;
  model.threshold_rule = "fixed=0.5";
  model.strong_model = "(difficulty prior, not learned)";
  model.weak_model = "(difficulty prior, not learned)";
  model.training = R"J({"data":"none: hand-set a-priori weights (QualityDifficultyPrior)"})J";
  return model;
}

// ---- Model file ----

core::Result<QualityModel> ParseQualityModel(std::string_view json_text) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(json_text, ec);
  if (ec) return Bad("bad JSON: " + ec.message(), "");
  if (!root.is_object()) return Bad("the file is not a JSON object", "");
  const auto& obj = root.as_object();

  auto format = StringAt(obj, "format", "", true);
  if (!format) return std::unexpected(format.error());
  if (*format != kQualityModelFormat) {
    return Bad("format is \"" + *format + "\", expected \"" + std::string(kQualityModelFormat) + "\"", "format");
  }
  const auto* version = obj.if_contains("version");
  if (version == nullptr) return Bad("missing field \"version\"", "version");
  if (!version->is_int64() && !version->is_uint64()) return Bad("field \"version\" is not an integer", "version");
  const auto v = version->is_int64() ? version->as_int64() : static_cast<std::int64_t>(version->as_uint64());
  if (v != kQualityModelVersion) {
    return Bad(fmt::format("unsupported version {} (this build reads version {})", v, kQualityModelVersion), "version");
  }

  QualityModel model;
  const auto* feat = obj.if_contains("features");
  if (feat == nullptr) return Bad("missing field \"features\"", "features");
  if (!feat->is_object()) return Bad("field \"features\" is not an object", "features");
  const auto& fobj = feat->as_object();
  auto scheme = StringAt(fobj, "scheme", "features.", true);
  if (!scheme) return std::unexpected(scheme.error());
  if (*scheme != kQualityFeatureScheme) {
    return Bad("unknown feature scheme \"" + *scheme + "\" (this build computes \"" +
                   std::string(kQualityFeatureScheme) + "\")",
               "features.scheme");
  }
  auto bits = NumberAt(fobj, "hash_bits", "features.");
  if (!bits) return std::unexpected(bits.error());
  if (*bits != std::floor(*bits) || *bits < 8 || *bits > 20) {
    return Bad(fmt::format("features.hash_bits {} is outside 8..20", *bits), "features.hash_bits");
  }
  model.features.hash_bits = static_cast<std::uint32_t>(*bits);
  auto dense = NumberAt(fobj, "dense", "features.");
  if (!dense) return std::unexpected(dense.error());
  if (*dense != static_cast<double>(kQualityDenseFeatures)) {
    return Bad(fmt::format("features.dense is {}, this build computes {}", *dense, kQualityDenseFeatures),
               "features.dense");
  }
  auto max_bytes = NumberAt(fobj, "max_bytes", "features.");
  if (!max_bytes) return std::unexpected(max_bytes.error());
  if (*max_bytes != std::floor(*max_bytes) || *max_bytes < 1 || *max_bytes > (1 << 24)) {
    return Bad(fmt::format("features.max_bytes {} is outside 1..16777216", *max_bytes), "features.max_bytes");
  }
  model.features.max_bytes = static_cast<std::uint32_t>(*max_bytes);

  auto bias = NumberAt(obj, "bias", "");
  if (!bias) return std::unexpected(bias.error());
  model.bias = *bias;

  const auto* weights = obj.if_contains("weights");
  if (weights == nullptr) return Bad("missing field \"weights\"", "weights");
  if (!weights->is_array()) return Bad("field \"weights\" is not an array", "weights");
  const auto& warr = weights->as_array();
  if (warr.size() != model.features.dim()) {
    return Bad(fmt::format("weights has {} entries, the dimension is {} ({} dense + 2^{} hashed)", warr.size(),
                           model.features.dim(), kQualityDenseFeatures, model.features.hash_bits),
               "weights");
  }
  model.weights.resize(warr.size());
  for (std::size_t i = 0; i < warr.size(); ++i) {
    const std::string name = fmt::format("weights[{}]", i);
    if (!warr[i].is_number()) return Bad(name + " is not a number", name);
    boost::system::error_code nec;
    const double d = warr[i].to_number<double>(nec);
    if (nec) return Bad(name + " is not a number", name);
    const auto f = static_cast<float>(d);
    if (!std::isfinite(d) || !std::isfinite(f)) return Bad(name + " is not finite", name);
    model.weights[i] = f;
  }

  const auto* threshold = obj.if_contains("threshold");
  if (threshold == nullptr) return Bad("missing field \"threshold\"", "threshold");
  if (!threshold->is_object()) return Bad("field \"threshold\" is not an object", "threshold");
  auto def = NumberAt(threshold->as_object(), "default", "threshold.");
  if (!def) return std::unexpected(def.error());
  if (*def < 0 || *def > 1) return Bad(fmt::format("threshold.default {} is outside [0, 1]", *def), "threshold.default");
  model.default_threshold = *def;
  auto rule = StringAt(threshold->as_object(), "rule", "threshold.", false);
  if (!rule) return std::unexpected(rule.error());
  model.threshold_rule = *rule;

  if (const auto* cal = obj.if_contains("calibration"); cal != nullptr) {
    if (!cal->is_array()) return Bad("field \"calibration\" is not an array", "calibration");
    for (std::size_t i = 0; i < cal->as_array().size(); ++i) {
      const auto& p = cal->as_array()[i];
      const std::string name = fmt::format("calibration[{}]", i);
      if (!p.is_array() || p.as_array().size() != 3) return Bad(name + " is not [threshold, strong_share, pgr]", name);
      double vals[3];
      for (int k = 0; k < 3; ++k) {
        boost::system::error_code nec;
        const auto& e = p.as_array()[static_cast<std::size_t>(k)];
        vals[k] = e.is_number() ? e.to_number<double>(nec) : std::numeric_limits<double>::quiet_NaN();
        if (nec || !std::isfinite(vals[k])) return Bad(name + " holds a value that is not a finite number", name);
      }
      CalibrationPoint point{vals[0], vals[1], vals[2]};
      if (point.strong_share < 0 || point.strong_share > 1) return Bad(name + ": strong_share outside [0, 1]", name);
      if (!model.calibration.empty()) {
        const auto& prev = model.calibration.back();
        if (point.threshold > prev.threshold || point.strong_share < prev.strong_share) {
          return Bad(name + " is out of order (thresholds must descend, shares ascend)", name);
        }
      }
      model.calibration.push_back(point);
    }
  }

  auto strong = StringAt(obj, "strong_model", "", false);
  if (!strong) return std::unexpected(strong.error());
  model.strong_model = *strong;
  auto weak = StringAt(obj, "weak_model", "", false);
  if (!weak) return std::unexpected(weak.error());
  model.weak_model = *weak;
  if (const auto* tr = obj.if_contains("training"); tr != nullptr) model.training = boost::json::serialize(*tr);
  return model;
}

core::Result<QualityModel> LoadQualityModel(const std::string& path) {
  std::error_code fs_ec;
  if (!std::filesystem::exists(path, fs_ec)) {
    return Fail(ErrorCode::kNotFound, "quality model: " + path + ": no such file", "model");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kInternal, "quality model: " + path + ": cannot be opened", "model");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Fail(ErrorCode::kInternal, "quality model: " + path + ": read failed", "model");
  auto model = ParseQualityModel(buf.str());
  if (!model) {
    auto error = model.error();
    error.message = path + ": " + error.message;
    return std::unexpected(std::move(error));
  }
  return model;
}

std::string SerializeQualityModel(const QualityModel& model) {
  std::string out;
  out.reserve(model.weights.size() * 10 + 4096);
  out += "{\n";
  out += fmt::format("  \"format\": \"{}\",\n  \"version\": {},\n", kQualityModelFormat, kQualityModelVersion);
  out += "  \"strong_model\": " + boost::json::serialize(boost::json::value(model.strong_model)) + ",\n";
  out += "  \"weak_model\": " + boost::json::serialize(boost::json::value(model.weak_model)) + ",\n";
  out += fmt::format("  \"features\": {{\"scheme\": \"{}\", \"hash_bits\": {}, \"dense\": {}, \"max_bytes\": {}}},\n",
                     kQualityFeatureScheme, model.features.hash_bits, kQualityDenseFeatures, model.features.max_bytes);
  out += "  \"threshold\": {\"default\": " + Num(model.default_threshold) +
         ", \"rule\": " + boost::json::serialize(boost::json::value(model.threshold_rule)) + "},\n";
  out += "  \"training\": " + (model.training.empty() ? std::string("{}") : model.training) + ",\n";
  out += "  \"calibration\": [";
  for (std::size_t i = 0; i < model.calibration.size(); ++i) {
    const auto& p = model.calibration[i];
    out += fmt::format("{}\n    [{}, {}, {}]", i == 0 ? "" : ",", Num(p.threshold), Num(p.strong_share), Num(p.pgr));
  }
  out += model.calibration.empty() ? "],\n" : "\n  ],\n";
  out += "  \"bias\": " + Num(model.bias) + ",\n";
  out += "  \"weights\": [";
  for (std::size_t i = 0; i < model.weights.size(); ++i) {
    if (i != 0) out += (i % 16 == 0) ? ",\n    " : ", ";
    out += fmt::format("{:.7g}", model.weights[i]);
  }
  out += "]\n}\n";
  return out;
}

core::Result<void> SaveQualityModel(const QualityModel& model, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Fail(ErrorCode::kInternal, "quality model: " + path + ": cannot be created", "out");
  const std::string text = SerializeQualityModel(model);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return Fail(ErrorCode::kInternal, "quality model: " + path + ": write failed", "out");
  return {};
}

// ---- Thresholds ----

double ThresholdForShare(std::span<const double> scores, double share) {
  if (scores.empty()) return 0.5;
  std::vector<double> sorted(scores.begin(), scores.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  share = std::clamp(share, 0.0, 1.0);
  const auto k = static_cast<std::size_t>(std::llround(share * static_cast<double>(sorted.size())));
  if (k == 0) return std::nextafter(sorted.front(), std::numeric_limits<double>::infinity());
  return sorted[k - 1];
}

core::Result<double> ThresholdForQuality(std::span<const double> scores, std::span<const double> strong,
                                         std::span<const double> weak, double target_pgr) {
  if (scores.size() != strong.size() || scores.size() != weak.size()) {
    return Fail(ErrorCode::kInvalidRequest, "threshold for quality: scores, strong and weak differ in size");
  }
  if (scores.empty()) return Fail(ErrorCode::kInvalidRequest, "threshold for quality: empty set");
  double strong_total = 0, weak_total = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    strong_total += strong[i];
    weak_total += weak[i];
  }
  if (strong_total == weak_total) {
    return Fail(ErrorCode::kInvalidRequest, "threshold for quality: strong and weak perform equally (PGR undefined)");
  }
  std::vector<std::size_t> order(scores.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  // Sending the top k to the strong model; prompts with equal scores move together, so only
  // group boundaries are thresholds the rule score >= t can express.
  // The gain over always-weak is summed directly (not total − weak_total) so hand-sized sets
  // reach their target without cancellation error.
  const double gap = strong_total - weak_total;
  double gain = 0;
  if (gain / gap >= target_pgr) {
    return std::nextafter(scores[order.front()], std::numeric_limits<double>::infinity());
  }
  for (std::size_t k = 0; k < order.size();) {
    std::size_t j = k;
    while (j < order.size() && scores[order[j]] == scores[order[k]]) {
      gain += strong[order[j]] - weak[order[j]];
      ++j;
    }
    if (gain / gap >= target_pgr) return scores[order[k]];
    k = j;
  }
  return scores[order.back()];
}

core::Result<double> CalibratedThresholdForShare(std::span<const CalibrationPoint> calibration, double share) {
  if (calibration.empty()) return Fail(ErrorCode::kInvalidRequest, "the model has no calibration");
  if (!(share >= 0 && share <= 1)) return Fail(ErrorCode::kInvalidRequest, "strong share must be in [0, 1]");
  if (share <= calibration.front().strong_share) return calibration.front().threshold;
  for (std::size_t i = 1; i < calibration.size(); ++i) {
    const auto& a = calibration[i - 1];
    const auto& b = calibration[i];
    if (share <= b.strong_share) {
      if (b.strong_share == a.strong_share) return b.threshold;
      const double t = (share - a.strong_share) / (b.strong_share - a.strong_share);
      return a.threshold + t * (b.threshold - a.threshold);
    }
  }
  return calibration.back().threshold;
}

core::Result<double> CalibratedThresholdForQuality(std::span<const CalibrationPoint> calibration, double target_pgr) {
  if (calibration.empty()) return Fail(ErrorCode::kInvalidRequest, "the model has no calibration");
  if (!(target_pgr >= 0 && target_pgr <= 1)) return Fail(ErrorCode::kInvalidRequest, "target PGR must be in [0, 1]");
  if (calibration.front().pgr >= target_pgr) return calibration.front().threshold;
  for (std::size_t i = 1; i < calibration.size(); ++i) {
    const auto& a = calibration[i - 1];
    const auto& b = calibration[i];
    // The first segment on which the PGR reaches the target (not np.interp on a possibly
    // non-monotone curve): the smallest strong share that gets there.
    if (b.pgr >= target_pgr && a.pgr < target_pgr) {
      const double t = (target_pgr - a.pgr) / (b.pgr - a.pgr);
      return a.threshold + t * (b.threshold - a.threshold);
    }
  }
  return calibration.back().threshold;
}

}  // namespace meridian::route
