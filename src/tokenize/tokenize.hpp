#pragma once
// Token counting before a request is sent (docs/tokenizer.md).
//
// Exact byte-pair encoding for OpenAI's o200k_base and cl100k_base vocabularies, read from rank
// files the build generates from the npm package `tiktoken` (never vendored, never fetched at
// run time), and a fast approximation for every other model family.
//
// Counts are for text as "ordinary" tokens: special-token strings such as "<|endoftext|>" in
// the text are encoded like any other text (what tiktoken's encode_ordinary does).
// Text that is not valid UTF-8 is read the way a WHATWG UTF-8 decoder reads it: each maximal
// ill-formed subsequence becomes U+FFFD, which is what the reference gives for such bytes once
// they are decoded to a string (Node's Buffer.toString, TextDecoder).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meridian::tokenize {

enum class Family {
  kO200k,        // o200k_base: gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1, o3, o4, gpt-oss
  kCl100k,       // cl100k_base: gpt-4, gpt-3.5, text-embedding-3 and -ada-002
  kApproximate,  // everything else: ApproximateCount
};

// "o200k_base", "cl100k_base", "approximate".
std::string_view FamilyName(Family family);

// The tokenizer family of a model name. A "provider/" prefix and an "ft:" prefix are ignored
// ("openai/gpt-4o", "ft:gpt-4o-mini:org::id"); unknown models are kApproximate.
Family EncodingFor(std::string_view model);

// One loaded BPE vocabulary. Immutable after Load; every const member is thread-safe.
class Encoding {
 public:
  // Loads `<dir>/<name>.ranks` (name: "o200k_base" or "cl100k_base"). Errors name the file and,
  // for a malformed file, the line.
  static core::Result<std::unique_ptr<Encoding>> Load(std::string_view name,
                                                       const std::filesystem::path& dir);
  // Loads one rank file by path; the encoding name is read from the file.
  static core::Result<std::unique_ptr<Encoding>> LoadFile(const std::filesystem::path& file);

  ~Encoding();
  Encoding(const Encoding&) = delete;
  Encoding& operator=(const Encoding&) = delete;

  const std::string& Name() const;
  // The pre-tokenization pattern, exactly as the package ships it.
  const std::string& Pattern() const;
  // Number of ordinary (mergeable) tokens; ids are 0 .. size-1.
  std::size_t VocabularySize() const;
  std::optional<std::uint32_t> SpecialToken(std::string_view text) const;

  // Number of tokens Encode would return, without building the vector.
  std::size_t Count(std::string_view text) const;
  std::vector<std::uint32_t> Encode(std::string_view text) const;
  // The bytes of the tokens; ids outside the vocabulary (special tokens included) are skipped.
  std::string Decode(std::span<const std::uint32_t> tokens) const;

  // The parts (src/tokenize/internal.hpp), for the tests and the evaluation tool.
  struct Impl;
  const Impl& internals() const { return *impl_; }

 private:
  explicit Encoding(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fast estimate of the o200k_base count (one pass over the bytes, no tables to load),
// calibrated on ShareGPT; its measured error is in docs/tokenizer.md.
std::size_t ApproximateCount(std::string_view text);

// Where the build puts the rank files relative to the binary: <exe_dir>/share/tokenizer.
std::filesystem::path DefaultDataDir();

// Both exact encodings when their files load, the approximation otherwise.
class Estimator {
 public:
  // Loads o200k_base and cl100k_base from `dir`. A file that does not load is not fatal: its
  // family is then estimated, and the error is appended to `problems` (if given).
  static Estimator Load(const std::filesystem::path& dir,
                        std::vector<core::Error>* problems = nullptr);

  struct Estimate {
    std::size_t tokens = 0;
    bool exact = false;    // counted with the model's own vocabulary
    Family family = Family::kApproximate;  // the model's family (even when not exact)
  };
  Estimate Count(std::string_view model, std::string_view text) const;

  const Encoding* Get(Family family) const;

 private:
  std::shared_ptr<const Encoding> o200k_;
  std::shared_ptr<const Encoding> cl100k_;
};

}  // namespace meridian::tokenize
