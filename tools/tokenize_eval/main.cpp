// tokenize_eval: the tokenizer (src/tokenize) on ShareGPT-format files.
//
//   tokenize_eval [--ranks DIR] [--reference REF.json] [--codepoints CP.bin] [--runs N]
//                 [--fit] [--holdout K] [--show K] FILE.json...
//
// Reads every message ("conversations[].value") of the files in order, then reports:
//   - exactness: our o200k_base / cl100k_base counts against REF.json, written by
//     tools/tokenize_eval/reference.mjs (the npm package tiktoken); mismatches listed;
//   - --codepoints: every Unicode scalar value in a probe string against codepoints.mjs;
//   - the approximate count's error against o200k_base: mean absolute % error, p50/p95/p99,
//     overall bias, per file and overall, next to bytes/4 as a baseline;
//   - speed: MB/s and tokens/s, median of N runs (each run repeats the corpus for >= 0.3 s);
//   - --fit: weighted least-squares weights for the approximation's features on every file but
//     file K (--holdout); --show K lists file K's messages with both counts.
// bench/tokenize_eval.sh runs the whole thing; docs/tokenizer.md has the figures.

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tokenize/approximate.hpp"
#include "tokenize/internal.hpp"
#include "tokenize/tokenize.hpp"

namespace tok = meridian::tokenize;

namespace {

struct Message {
  std::size_t file = 0;
  std::size_t index = 0;
  std::string text;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fmt::print(stderr, "tokenize_eval: cannot read {}\n", path);
    std::exit(2);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = static_cast<std::size_t>(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// Median of `runs` timings of `pass` over the corpus; each run repeats the pass for >= 0.3 s.
double MedianSecondsPerPass(int runs, const std::function<void()>& pass) {
  std::vector<double> per_pass;
  for (int r = 0; r < runs; ++r) {
    int passes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double secs = 0;
    do {
      pass();
      ++passes;
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (secs < 0.3);
    per_pass.push_back(secs / passes);
  }
  std::sort(per_pass.begin(), per_pass.end());
  return per_pass[per_pass.size() / 2];
}

// Solves A x = b (n x n, row-major) by Gaussian elimination with partial pivoting.
std::vector<double> Solve(std::vector<double> a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < n; ++r) {
      if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) piv = r;
    }
    for (std::size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[piv * n + k]);
    std::swap(b[c], b[piv]);
    if (std::fabs(a[c * n + c]) < 1e-12) continue;
    for (std::size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r * n + c] / a[c * n + c];
      for (std::size_t k = 0; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n, 0);
  for (std::size_t c = 0; c < n; ++c) {
    if (std::fabs(a[c * n + c]) >= 1e-12) x[c] = b[c] / a[c * n + c];
  }
  return x;
}

std::string Utf8(std::uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

// The probe string for one code point; the same as probe() in codepoints.mjs.
std::string Probe(std::uint32_t cp) {
  const std::string c = Utf8(cp);
  return "x" + c + c + "y " + c + "A " + c + "1 a'" + c + " " + c + c + "\n" + c + " \n " + c +
         "'s" + c + "'S ";
}

std::uint32_t Fnv(const std::vector<std::uint32_t>& ids) {
  std::uint32_t h = 0x811c9dc5u;
  for (std::uint32_t id : ids) {
    for (int k = 0; k < 4; ++k) {
      h ^= (id >> (8 * k)) & 0xFF;
      h *= 0x01000193u;
    }
  }
  return h;
}

// Compares every code point's probe against codepoints.mjs's hashes. Returns the mismatches
// not explained by PCRE2's older Unicode tables.
std::size_t CheckCodepoints(const std::string& path, const tok::Encoding* const encodings[2]) {
  const std::string data = ReadFile(path);
  const std::size_t expected = (0x110000 - 0x800) * 2 * 4;
  if (data.size() != expected) {
    fmt::print(stderr, "tokenize_eval: {} has {} bytes, expected {}\n", path, data.size(), expected);
    std::exit(1);
  }
  std::size_t k = 0, mismatches[2] = {0, 0}, unexplained[2] = {0, 0};
  for (std::uint32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const std::string probe = Probe(cp);
    for (int e = 0; e < 2; ++e, ++k) {
      std::uint32_t want;
      std::memcpy(&want, data.data() + k * 4, 4);
      if (Fnv(encodings[e]->Encode(probe)) == want) continue;
      ++mismatches[e];
      // A character the regex tables do not know yet is explained; anything else is a bug.
      const bool known = tok::detail::UnassignedInRegexTables(cp);
      if (!known) ++unexplained[e];
      if (!known || std::getenv("TOKENIZE_EVAL_ALL")) {
        fmt::print("  MISMATCH {} U+{:04X}{}\n", encodings[e]->Name(), cp,
                   known ? " (unassigned in the regex tables)" : "");
      }
    }
  }
  for (int e = 0; e < 2; ++e) {
    fmt::print(
        "code points {}: {} checked, {} differ: {} of them unassigned in PCRE2's Unicode {} "
        "tables (newer characters), {} otherwise\n",
        encodings[e]->Name(), k / 2, mismatches[e], mismatches[e] - unexplained[e],
        tok::detail::RegexUnicodeVersion(), unexplained[e]);
  }
  return unexplained[0] + unexplained[1];
}

constexpr const char* kFeatureNames[] = {
    "words",      "long_word_extra", "digit_groups", "punct", "punct_runs",
    "newline_runs", "space_runs",    "latin_extra", "two_byte",     "cjk",
    "general_punct", "three_byte",   "four_byte"};
static_assert(std::size(kFeatureNames) == meridian::tokenize::detail::kApproxFeatureCount);

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path ranks_dir = tok::DefaultDataDir();
  std::string reference_path;
  std::string codepoints_path;
  int runs = 3;
  bool fit = false;
  std::size_t show_file = SIZE_MAX;
  std::size_t holdout = SIZE_MAX;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--ranks" && i + 1 < argc) {
      ranks_dir = argv[++i];
    } else if (a == "--reference" && i + 1 < argc) {
      reference_path = argv[++i];
    } else if (a == "--codepoints" && i + 1 < argc) {
      codepoints_path = argv[++i];
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--fit") {
      fit = true;
    } else if (a == "--show" && i + 1 < argc) {
      show_file = static_cast<std::size_t>(std::atoi(argv[++i]));
    } else if (a == "--holdout" && i + 1 < argc) {
      holdout = static_cast<std::size_t>(std::atoi(argv[++i]));
    } else if (a.starts_with("--")) {
      fmt::print(stderr,
                 "usage: tokenize_eval [--ranks DIR] [--reference REF.json] [--codepoints CP.bin] "
                 "[--runs N] [--fit] [--holdout K] [--show K] FILE.json...\n");
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    fmt::print(stderr, "tokenize_eval: no input files\n");
    return 2;
  }

  // Corpus.
  std::vector<Message> corpus;
  std::size_t total_bytes = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const auto data = boost::json::parse(ReadFile(files[f]));
    std::size_t index = 0;
    for (const auto& conv : data.as_array()) {
      const auto* turns = conv.as_object().if_contains("conversations");
      if (!turns) continue;
      for (const auto& turn : turns->as_array()) {
        Message m{f, index++, std::string(turn.as_object().at("value").as_string())};
        total_bytes += m.text.size();
        corpus.push_back(std::move(m));
      }
    }
  }
  fmt::print("corpus: {} messages, {:.2f} MB in {} file(s)\n", corpus.size(), total_bytes / 1e6,
             files.size());

  int status = 0;
  std::unique_ptr<tok::Encoding> encodings[2];
  const char* names[2] = {"o200k_base", "cl100k_base"};
  for (int e = 0; e < 2; ++e) {
    auto enc = tok::Encoding::Load(names[e], ranks_dir);
    if (!enc) {
      fmt::print(stderr, "tokenize_eval: {}\n", enc.error().message);
      return 1;
    }
    encodings[e] = std::move(*enc);
  }

  if (!codepoints_path.empty()) {
    const tok::Encoding* const encs[2] = {encodings[0].get(), encodings[1].get()};
    if (CheckCodepoints(codepoints_path, encs) != 0) status = 1;
  }

  // Exact counts, ours.
  std::vector<std::size_t> counts[2];
  for (int e = 0; e < 2; ++e) {
    counts[e].reserve(corpus.size());
    for (const auto& m : corpus) counts[e].push_back(encodings[e]->Count(m.text));
  }

  // Exactness against the reference.
  if (!reference_path.empty()) {
    const auto ref = boost::json::parse(ReadFile(reference_path)).as_object();
    fmt::print("reference: {}\n", std::string_view(ref.at("package").as_string()));
    const auto& rfiles = ref.at("files").as_array();
    if (rfiles.size() != files.size()) {
      fmt::print(stderr, "tokenize_eval: reference has {} files, expected {}\n", rfiles.size(),
                 files.size());
      return 1;
    }
    for (int e = 0; e < 2; ++e) {
      std::size_t mismatches = 0, compared = 0, ours_total = 0, ref_total = 0;
      for (std::size_t i = 0; i < corpus.size(); ++i) {
        const auto& rf = rfiles[corpus[i].file].as_object();
        const auto& rcounts = rf.at(names[e]).as_array();
        const auto& rbytes = rf.at("bytes").as_array();
        if (corpus[i].index >= rcounts.size() ||
            static_cast<std::size_t>(rbytes[corpus[i].index].as_int64()) != corpus[i].text.size()) {
          fmt::print(stderr, "tokenize_eval: reference does not match the corpus at message {}\n",
                     i);
          return 1;
        }
        const auto want = static_cast<std::size_t>(rcounts[corpus[i].index].as_int64());
        ++compared;
        ours_total += counts[e][i];
        ref_total += want;
        if (want != counts[e][i]) {
          if (++mismatches <= 10) {
            fmt::print("  MISMATCH {} file {} message {}: ours {}, reference {}\n", names[e],
                       corpus[i].file, corpus[i].index, counts[e][i], want);
          }
        }
      }
      fmt::print("exact {}: {} messages compared, {} mismatches; tokens ours {}, reference {}\n",
                 names[e], compared, mismatches, ours_total, ref_total);
      if (mismatches) status = 1;
    }
  }

  // Approximation error against o200k_base, per file and overall.
  std::vector<std::size_t> approx;
  approx.reserve(corpus.size());
  for (const auto& m : corpus) approx.push_back(tok::ApproximateCount(m.text));
  auto report_error = [&](const std::string& label, std::size_t file_filter) {
    std::vector<double> errs;
    double sum_exact = 0, sum_approx = 0, sum_abs = 0;
    double bytes4_abs = 0;
    std::vector<double> bytes4_errs;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
      if (file_filter != SIZE_MAX && corpus[i].file != file_filter) continue;
      const double exact = static_cast<double>(counts[0][i]);
      if (exact == 0) continue;
      const double err = std::fabs(static_cast<double>(approx[i]) - exact) / exact * 100;
      const double b4 =
          std::fabs(std::ceil(static_cast<double>(corpus[i].text.size()) / 4) - exact) / exact * 100;
      errs.push_back(err);
      bytes4_errs.push_back(b4);
      sum_abs += err;
      bytes4_abs += b4;
      sum_exact += exact;
      sum_approx += static_cast<double>(approx[i]);
    }
    if (errs.empty()) return;
    fmt::print(
        "approximate vs o200k_base, {} ({} messages): mean |err| {:.1f}%, p50 {:.1f}%, p95 "
        "{:.1f}%, p99 {:.1f}%, max {:.1f}%; total {:+.2f}%   [bytes/4: mean {:.1f}%, p50 "
        "{:.1f}%, p95 {:.1f}%]\n",
        label, errs.size(), sum_abs / errs.size(), Percentile(errs, 0.5), Percentile(errs, 0.95),
        Percentile(errs, 0.99), Percentile(errs, 1.0), (sum_approx / sum_exact - 1) * 100,
        bytes4_abs / bytes4_errs.size(), Percentile(bytes4_errs, 0.5),
        Percentile(bytes4_errs, 0.95));
  };
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    if (corpus[i].file != show_file) continue;
    fmt::print("  message {}: {} bytes, o200k_base {}, approximate {}: {:.60}\n", corpus[i].index,
               corpus[i].text.size(), counts[0][i], approx[i], corpus[i].text);
  }
  for (std::size_t f = 0; f < files.size(); ++f) {
    report_error(fmt::format("file {} ({})", f, std::filesystem::path(files[f]).filename().string()),
                 f);
  }
  if (files.size() > 1) report_error("all files", SIZE_MAX);

  // Fit the approximation's weights on every file but the held-out one (weighted least
  // squares, weight 1/y: short messages are not ignored, nor do they dominate).
  if (fit) {
    constexpr std::size_t n = tok::detail::kApproxFeatureCount;
    std::vector<double> ata(n * n, 0), atb(n, 0);
    for (std::size_t i = 0; i < corpus.size(); ++i) {
      if (corpus[i].file == holdout || counts[0][i] == 0) continue;
      const auto x = tok::detail::ComputeApproxFeatures(corpus[i].text);
      const double y = static_cast<double>(counts[0][i]);
      const double w = 1.0 / y;
      for (std::size_t r = 0; r < n; ++r) {
        atb[r] += w * x[r] * y;
        for (std::size_t c = 0; c < n; ++c) ata[r * n + c] += w * x[r] * x[c];
      }
    }
    // A little ridge towards the current weights keeps features the data hardly has where
    // they were set.
    const auto& cur = tok::detail::ApproxWeights();
    for (std::size_t r = 0; r < n; ++r) {
      const double lambda = 0.2;
      ata[r * n + r] += lambda;
      atb[r] += lambda * cur[r];
    }
    const auto wts = Solve(ata, atb);
    fmt::print("fit (o200k_base, all files{}):\n",
               holdout == SIZE_MAX ? std::string() : fmt::format(" but file {}", holdout));
    for (std::size_t k = 0; k < n; ++k) {
      fmt::print("  {:<16} {:8.4f}   (now {:.4f})\n", kFeatureNames[k], wts[k], cur[k]);
    }
  }

  // Speed.
  std::size_t total_tokens[2] = {0, 0};
  for (int e = 0; e < 2; ++e) {
    for (std::size_t c : counts[e]) total_tokens[e] += c;
  }
  volatile std::size_t sink = 0;
  for (int e = 0; e < 2; ++e) {
    const double s = MedianSecondsPerPass(runs, [&] {
      std::size_t t = 0;
      for (const auto& m : corpus) t += encodings[e]->Count(m.text);
      sink = sink + t;
    });
    fmt::print("speed {} Count: {:.1f} MB/s, {:.2f} M tokens/s (median of {})\n", names[e],
               total_bytes / 1e6 / s, total_tokens[e] / 1e6 / s, runs);
  }
  {
    const double s = MedianSecondsPerPass(runs, [&] {
      std::size_t t = 0;
      for (const auto& m : corpus) t += encodings[0]->Encode(m.text).size();
      sink = sink + t;
    });
    fmt::print("speed o200k_base Encode: {:.1f} MB/s, {:.2f} M tokens/s (median of {})\n",
               total_bytes / 1e6 / s, total_tokens[0] / 1e6 / s, runs);
  }
  for (const bool fast : {true, false}) {
    const auto& splitter = encodings[0]->internals().splitter;
    const double s = MedianSecondsPerPass(runs, [&] {
      std::size_t t = 0;
      for (const auto& m : corpus) {
        splitter.ForEach(m.text, [&](std::size_t, std::size_t) { ++t; }, fast);
      }
      sink = sink + t;
    });
    fmt::print("speed o200k_base pre-tokenization only, {}: {:.1f} MB/s (median of {})\n",
               fast ? "ASCII matcher + PCRE2" : (splitter.jit() ? "PCRE2 JIT alone" : "PCRE2 alone"),
               total_bytes / 1e6 / s, runs);
  }
  {
    const double s = MedianSecondsPerPass(runs, [&] {
      std::size_t t = 0;
      for (const auto& m : corpus) t += tok::ApproximateCount(m.text);
      sink = sink + t;
    });
    fmt::print("speed approximate: {:.1f} MB/s, {:.2f} M (o200k) tokens/s (median of {})\n",
               total_bytes / 1e6 / s, total_tokens[0] / 1e6 / s, runs);
  }
  {
    const auto t0 = std::chrono::steady_clock::now();
    auto enc = tok::Encoding::Load("o200k_base", ranks_dir);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("load o200k_base: {:.0f} ms\n", ms);
  }
  return status;
}
