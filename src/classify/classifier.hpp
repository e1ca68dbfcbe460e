#pragma once
// In-process data classification: one compiled Hyperscan database finds candidates for every
// data class; validators (checksums, issuing rules, context) confirm them; overlapping
// matches are merged. Findings are byte spans into the scanned text, never copies of it.

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/data_class.hpp"
#include "core/error.hpp"

struct hs_database;
struct hs_scratch;

namespace meridian::classify {

struct Finding {
  core::DataClass cls;
  std::size_t begin = 0;  // byte offsets into the scanned text, [begin, end)
  std::size_t end = 0;
};

struct Classification {
  std::array<int, core::kDataClassCount> counts{};  // findings (or declarations) per class
  std::vector<Finding> findings;                    // sorted by begin, non-overlapping

  int Count(core::DataClass c) const { return counts[static_cast<int>(c)]; }
  bool Has(core::DataClass c) const { return Count(c) > 0; }
};

// One piece of a request: `path` names the field ("messages[0].content"), `text` its value.
struct FieldText {
  std::string_view path;
  std::string_view text;
};

struct FieldFindings {
  std::string path;
  std::vector<Finding> findings;  // spans into that field's text
};

struct RequestClassification {
  std::array<int, core::kDataClassCount> counts{};  // summed over all fields
  std::vector<FieldFindings> fields;                // only fields with at least one finding

  int Count(core::DataClass c) const { return counts[static_cast<int>(c)]; }
  bool Has(core::DataClass c) const { return Count(c) > 0; }
};

struct ClassifierOptions {
  // Classes to look for; all by default. Disabled classes compile no patterns.
  std::array<bool, core::kDataClassCount> enabled = [] {
    std::array<bool, core::kDataClassCount> all{};
    all.fill(true);
    return all;
  }();
};

class Classifier;

// Hyperscan scratch space: one per thread that scans. Not thread-safe itself; move-only.
class Scratch {
 public:
  Scratch() = default;
  Scratch(Scratch&& other) noexcept;
  Scratch& operator=(Scratch&& other) noexcept;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();

 private:
  friend class Classifier;
  hs_scratch* raw_ = nullptr;
};

class Classifier {
 public:
  // Compiles the pattern database. Fails (kInternal) only if Hyperscan rejects the patterns or
  // the CPU lacks what Hyperscan needs (SSSE3). The result is immutable and shareable.
  static core::Result<std::unique_ptr<Classifier>> Create(const ClassifierOptions& options = {});
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Scratch sized for this classifier's database (may be reused across classifiers via
  // PrepareScratch). Fails only on allocation failure.
  core::Result<Scratch> MakeScratch() const;
  // Grows `scratch` so that it also fits this classifier. Fails only on allocation failure.
  core::Result<void> PrepareScratch(Scratch& scratch) const;

  // Scans `text` (any bytes; invalid UTF-8 is fine). Thread-safe: concurrent calls need
  // distinct Scratch objects (one per thread). `scratch` must have been prepared for this
  // classifier (MakeScratch / PrepareScratch); if not, it is prepared here.
  Classification Scan(std::string_view text, Scratch& scratch) const;
  // Same, using a scratch kept thread_local by this module.
  Classification Scan(std::string_view text) const;

  // Scans every field; spans are reported per field. Same thread-safety as Scan.
  RequestClassification ScanFields(std::span<const FieldText> fields, Scratch& scratch) const;

 private:
  Classifier() = default;
  hs_database* db_ = nullptr;            // stage 1: cheap patterns and the numeric gates
  hs_database* db2_ = nullptr;           // stage 2: numeric identifiers, run near gate hits
  std::vector<hs_database*> locators_;   // per pattern: SOM database run on a small window
  std::vector<unsigned> widths_;         // per pattern: longest possible match (locators)
  unsigned long long generation_ = 0;    // identifies this classifier to thread_local scratch
};

// Records that the caller declares `cls` present (count >= 1, no span).
void Declare(Classification& result, core::DataClass cls);
void Declare(RequestClassification& result, core::DataClass cls);

}  // namespace meridian::classify
