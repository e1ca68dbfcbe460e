#pragma once
// Training the quality router (docs/quality_router.md, "Training"): logistic regression on the
// features of route/quality.hpp, fitted with AdaGrad SGD on soft labels, and the threshold
// calibrated on a held-out share of the prompts. Also the readers for the training data:
// AlpacaEval 2 judgements (what the shipped model is trained on) and the JSONL format for
// one's own traffic. Pure and deterministic: the same examples, options and seed give the same
// model bit for bit. Thread-safe (no shared state).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "route/quality.hpp"

namespace meridian::route {

// One training prompt. label = probability that the strong model's answer is better than the
// weak model's for this prompt (1: the weak one is not good enough; 0: it is). Soft labels are
// fine (e.g. a judge's preference probability, or an average over several judgements).
struct TrainingExample {
  std::string text;
  double label = 0;
  double weight = 1;  // > 0
  // The label the held-out calibration measures quality by (the weak model's win rate is
  // 1 − reference); < 0: `label`. Lets a variant train on a transformed label (the vote label)
  // while being validated on the same quantity as every other variant.
  double reference = -1;
};

struct TrainOptions {
  QualityFeatureConfig features;
  std::uint64_t seed = 1;            // shuffles the split and the SGD order
  int epochs = 3;
  double learning_rate = 0.05;       // AdaGrad step
  double l2 = 1e-3;                  // per touched weight, per step
  // false: only the dense slots are learned; the hashed n-gram weights stay 0 (the strongest
  // guard against learning the training set's topical words).
  bool hashed = true;
  // true: the dense weights start at QualityDifficultyPrior() and L2 pulls them towards it
  // instead of towards 0 (a hand-set prior the data can correct). With epochs = 0 the model is
  // the prior itself (the heuristic baseline), with a calibration.
  bool prior = false;
  double calibration_fraction = 0.2;  // held out for the threshold (0: none, default 0.5 fixed)
  // The default threshold: target_strong_share >= 0 → the share rule; else target_pgr.
  double target_strong_share = 0.5;
  double target_pgr = -1;
  std::string strong_model;          // recorded in the model file
  std::string weak_model;
  std::string data;                  // a short description of the data, recorded in the file
  std::string label;                 // a short description of the label, recorded in the file
};

struct TrainReport {
  std::size_t train_prompts = 0;
  std::size_t calibration_prompts = 0;
  double train_loss = 0;        // mean weighted log loss after the last epoch
  double calibration_loss = 0;  // on the held-out prompts (0 if none)
  double calibration_apgr = 0;  // APGR on the held-out prompts, quality = win rate against the strong model
};

// Trains a model. Success: weights, bias, the calibration (on calibration_fraction of the
// prompts, chosen by the seed) and the default threshold by the options' rule. Failure
// (kInvalidRequest): no examples, a label outside [0, 1] or a weight <= 0 (named by index),
// hash_bits outside 8..20, too few prompts to hold out a calibration set, or a target outside
// [0, 1].
core::Result<QualityModel> TrainQualityModel(std::span<const TrainingExample> examples, const TrainOptions& options,
                                             TrainReport* report = nullptr);

// How AlpacaEvalExamples turns the weak models' judgements into a prompt's label.
enum class AlpacaLabel {
  kPreference,  // mean over the weak models of P(strong preferred) (soft)
  kVote,        // share of the weak models with P(strong preferred) > 0.5 (= 0.5 counts half)
};

// AlpacaEval 2 (weighted, GPT-4 Turbo judge): instructions.jsonl (instruction_id, instruction)
// and a judgements CSV (model, instruction_id, baseline, preference in [1, 2], where
// preference − 1 = P(model's output preferred over the baseline's)). The baseline must be the
// strong model. For every instruction judged for at least one of `weak_models`, the label is
// the mean over those models of 2 − preference = P(strong preferred).
// length_controlled: the judge's preference for longer answers is taken out first, as
// AlpacaEval 2's length-controlled win rate does: over all rows (every model), the slope phi of
// logit(preference − 1) on tanh(Δchars / sd(Δchars)) is fitted within each model (least
// squares on model-centred values), and each row's preference becomes
// sigmoid(logit(p) − phi · tanh(Δchars / sd)); needs the model_output_chars and
// baseline_output_chars columns. Every example's `reference` is the kPreference label (so
// variants are validated on the same quantity); `label` follows `label_kind`. Failure: missing columns, an unknown instruction id, a
// preference outside [1, 2], or no examples at all.
core::Result<std::vector<TrainingExample>> AlpacaEvalExamples(std::string_view instructions_jsonl,
                                                              std::string_view judgements_csv,
                                                              std::span<const std::string> weak_models,
                                                              std::string_view strong_baseline,
                                                              bool length_controlled = true,
                                                              AlpacaLabel label_kind = AlpacaLabel::kPreference);

// One's own traffic, one JSON object per line: {"prompt": "...", "label": 0.0..1.0} with an
// optional "weight" (> 0, default 1). Failure names the line.
core::Result<std::vector<TrainingExample>> ParseTrainingJsonl(std::string_view jsonl);

}  // namespace meridian::route
