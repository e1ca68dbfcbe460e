#pragma once
// The learned quality-aware router (docs/quality_router.md): a logistic model that predicts,
// from the prompt text alone, the probability that the strong model's answer beats the weak
// model's ("strong win rate"). A request goes to the strong model when that probability is at
// or above a threshold. Features are hashed word unigrams and bigrams, character 4-grams, a
// few length/structure measures and eight task detectors (math, code, reasoning, extraction,
// writing words; arithmetic expressions, numbers, code syntax); a decision reads at most QualityFeatureConfig::max_bytes of
// the prompt, allocates nothing and takes a few microseconds on one core
// (bench/route_bench.cpp, BM_QualityPredict).
//
// Pure: no sockets, no clock, no globals. A loaded QualityModel is immutable; every const
// function on it is thread-safe. Errors are values (core::Result); nothing throws.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meridian::route {

// The model file's identity. A file with another "format" or "version" is refused.
inline constexpr std::string_view kQualityModelFormat = "meridian.quality_router";
inline constexpr int kQualityModelVersion = 1;
// The feature scheme the weights were trained for. Changing how features are computed means a
// new scheme name (and retraining), never silently different features for old weights.
// v1 ("w1w2c4-v1") had the 14 length/structure measures only; v2 adds the task detectors.
inline constexpr std::string_view kQualityFeatureScheme = "w1w2c4d-v2";

// Dense (non-hashed) features, in weight slots [0, kQualityDenseFeatures): 14 length/structure
// measures (0-13) and 8 task detectors (14-21; docs/quality_router.md, "Features").
inline constexpr std::size_t kQualityDenseFeatures = 22;
// Slots of the task detectors.
inline constexpr std::uint32_t kQualityDetectorMath = 14;        // math words ("calculate", "how many", ...)
inline constexpr std::uint32_t kQualityDetectorCode = 15;        // programming words ("function", "python", ...)
inline constexpr std::uint32_t kQualityDetectorReasoning = 16;   // reasoning words ("prove", "puzzle", ...)
inline constexpr std::uint32_t kQualityDetectorExtraction = 17;  // extraction/format words ("extract", "json", ...)
inline constexpr std::uint32_t kQualityDetectorWriting = 18;     // open-ended writing words ("poem", "essay", ...)
inline constexpr std::uint32_t kQualityDetectorArithmetic = 19;  // arithmetic expressions ("3+4", "x^2", "20%", "$5")
inline constexpr std::uint32_t kQualityDetectorNumbers = 20;     // number of numeric words
inline constexpr std::uint32_t kQualityDetectorCodeSyntax = 21;  // "f(", "==", "->", "=>", "::", "&&", "||", "+="

struct QualityFeatureConfig {
  std::uint32_t hash_bits = 14;    // hashed slots = 2^hash_bits (allowed: 8..20)
  std::uint32_t max_bytes = 4096;  // only the first max_bytes of the text are read (bounded cost)

  // Number of weights: dense slots followed by the hashed slots.
  std::size_t dim() const { return kQualityDenseFeatures + (std::size_t{1} << hash_bits); }
};

// One non-zero feature: weight slot and value.
struct QualityFeature {
  std::uint32_t index = 0;
  float value = 0;
};

// Computes the features of `text` into `out` (cleared first), sorted by index, one entry per
// slot. The hashed part is scaled by 1/sqrt(number of hashed events) so long prompts do not
// dominate. Deterministic (same text and config, same features on every platform); thread-safe.
void ExtractQualityFeatures(std::string_view text, const QualityFeatureConfig& config,
                            std::vector<QualityFeature>& out);

// One point of a threshold calibration: routing every prompt whose score is >= threshold to the
// strong model sent `strong_share` of the calibration prompts there and recovered `pgr` of the
// quality gap (PGR = (quality − weak) / (strong − weak)).
struct CalibrationPoint {
  double threshold = 0;
  double strong_share = 0;  // in [0, 1]
  double pgr = 0;
};

struct QualityModel {
  QualityFeatureConfig features;
  std::vector<float> weights;  // features.dim() weights
  double bias = 0;
  double default_threshold = 0.5;  // route to strong when Score(text) >= this
  std::string threshold_rule;      // how default_threshold was chosen ("strong_share=0.5")
  // Thresholds measured on the held-out calibration set, by threshold descending (so
  // strong_share ascending). May be empty (then only default_threshold is known).
  std::vector<CalibrationPoint> calibration;
  std::string strong_model;  // informational: the pair the labels compared
  std::string weak_model;
  std::string training;      // informational: a JSON object text describing the training run

  // P(strong wins | text) in (0, 1). Allocation-free. Thread-safe.
  double Score(std::string_view text) const;
  // The raw logit (before the sigmoid); Score = 1 / (1 + exp(-Logit)).
  double Logit(std::string_view text) const;
  // Score(text) >= threshold.
  bool PreferStrong(std::string_view text, double threshold) const { return Score(text) >= threshold; }
  bool PreferStrong(std::string_view text) const { return PreferStrong(text, default_threshold); }
};

// Parses a model file's text. Success: a model whose weights match its dimension and are all
// finite. Failure: kInvalidRequest with a message naming the problem and `param` naming the
// field ("weights[12]", "version", ...): bad JSON, not an object, wrong format or version,
// unknown feature scheme, missing or mistyped field, hash_bits out of range, wrong number of
// weights, a non-finite weight, bias or threshold, a threshold outside [0, 1], calibration
// points out of order. Thread-safe.
core::Result<QualityModel> ParseQualityModel(std::string_view json_text);

// Reads and parses a model file. Failure: kNotFound if the file does not exist, kInternal if
// it cannot be read, otherwise ParseQualityModel's errors (the message starts with the path).
core::Result<QualityModel> LoadQualityModel(const std::string& path);

// The model as the versioned JSON text ParseQualityModel reads (weights with 7 significant
// digits, so a saved model scores within float rounding of the one in memory).
std::string SerializeQualityModel(const QualityModel& model);

// Writes SerializeQualityModel(model) to `path` (replaced). kInternal if it cannot be written.
core::Result<void> SaveQualityModel(const QualityModel& model, const std::string& path);

// The a-priori "difficulty prior" (docs/quality_router.md, "The difficulty prior"): hand-set
// weights on the dense slots, fixed before any evaluation and never fitted: math, code and
// arithmetic +1, reasoning +0.75, extraction/format and numbers +0.5, a code fence +0.5, writing
// −0.5, everything else 0. A heuristic, not learned. kQualityDenseFeatures values.
std::span<const float> QualityDifficultyPrior();

// The difficulty prior alone as a model (bias 0, hash_bits 8 with zero hashed weights, default
// threshold 0.5, no calibration): the no-learning baseline `meridian router eval` reports.
QualityModel DifficultyPriorModel();

// ---- Thresholds (pure functions) -----------------------------------------------------------

// The threshold that sends round(share × n) of the n `scores` to the strong model under the
// rule score >= threshold; exact when the scores are distinct (ties go together, so they may
// add more). share is clamped to [0, 1]; 0 gives a threshold above every score. Empty scores:
// 0.5. Thread-safe.
double ThresholdForShare(std::span<const double> scores, double share);

// The highest threshold (fewest strong calls) whose routing reaches `target_pgr` of the gap
// between always-weak and always-strong on this set, where prompt i scores strong[i] when sent
// to the strong model and weak[i] otherwise. Failure (kInvalidRequest): sizes differ, the set
// is empty, or strong and weak totals are equal (PGR undefined). Thread-safe.
core::Result<double> ThresholdForQuality(std::span<const double> scores, std::span<const double> strong,
                                         std::span<const double> weak, double target_pgr);

// The same from a stored calibration (QualityModel::calibration), interpolating linearly
// between points. ForShare: the threshold at which `share` of calibration traffic went strong.
// ForQuality: the threshold of the smallest strong share whose PGR reached `target_pgr`.
// Failure (kInvalidRequest): the calibration is empty, or the target is outside [0, 1].
core::Result<double> CalibratedThresholdForShare(std::span<const CalibrationPoint> calibration, double share);
core::Result<double> CalibratedThresholdForQuality(std::span<const CalibrationPoint> calibration,
                                                   double target_pgr);

}  // namespace meridian::route
