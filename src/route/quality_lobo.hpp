#pragma once
// Training the quality router on RouteLLM benchmark outcomes, and the leave-one-benchmark-out
// (LOBO) training sets of docs/quality_router.md, "Protocol v3". Turns the evaluation prompts of
// route/quality_eval.hpp (per-prompt strong and weak results) into training examples of
// route/quality_train.hpp, and combines several sources so that each counts the same in total.
// Pure: values in, values out; deterministic; thread-safe.

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "route/quality_eval.hpp"
#include "route/quality_train.hpp"

namespace meridian::route {

// The RouteLLM benchmarks, in their canonical order (the order sources are concatenated in).
enum class BenchmarkId { kMtBench = 0, kGsm8k = 1, kMmlu = 2 };
inline constexpr BenchmarkId kAllBenchmarks[] = {BenchmarkId::kMtBench, BenchmarkId::kGsm8k, BenchmarkId::kMmlu};

// "mt-bench", "gsm8k" or "mmlu" (the names `router eval` prints and `--add-benchmarks` takes).
std::string_view BenchmarkName(BenchmarkId id);

// A comma-separated list of benchmark names, e.g. "mt-bench,gsm8k,mmlu". Success: the named
// benchmarks in canonical order (whatever order they were given in). Failure
// (kInvalidRequest, param "benchmarks"): an empty list or item, an unknown name, or a name given
// twice; the message names the offending item and the accepted names.
core::Result<std::vector<BenchmarkId>> ParseBenchmarkList(std::string_view comma_separated);

// The outcome label of one prompt from the results eval scores the routed model by: 1 if
// strong > weak (only the strong model good enough), 0 if strong < weak, 0.5 if they are equal
// (GSM8K/MMLU: both or neither correct; MT-Bench: equal mean judge scores).
double OutcomeLabel(double strong, double weak);

// One training example per prompt: its text, label = reference = OutcomeLabel(strong, weak),
// weight 1. Never fails.
std::vector<TrainingExample> OutcomeExamples(std::span<const EvalPrompt> prompts);

// Concatenates `sources` in order, rescaling weights so that every source contributes the same
// total weight, N / K (N = all examples, K = sources): an example's weight becomes
// weight · (N / K) / (its source's total weight), so unit weights become N / (K · N_k). Labels
// and texts are unchanged. Failure (kInvalidRequest): no sources, an empty source (named by
// index), or a weight that is not a finite number > 0.
core::Result<std::vector<TrainingExample>> CombineSources(std::span<const std::vector<TrainingExample>> sources);

// One benchmark's decontaminated evaluation prompts.
struct BenchmarkPrompts {
  BenchmarkId id = BenchmarkId::kMtBench;
  std::vector<EvalPrompt> prompts;
};

// The training set for `base` (AlpacaEval's examples, or one's own) plus the outcome examples
// of every benchmark in `benchmarks` except `held_out`, in canonical benchmark order, combined
// by CombineSources (base first). held_out = nullopt: all of them (the four-source model).
// Failure: as CombineSources (e.g. an empty base or benchmark), or a benchmark listed twice.
core::Result<std::vector<TrainingExample>> BenchmarkTrainingSet(std::span<const TrainingExample> base,
                                                                std::span<const BenchmarkPrompts> benchmarks,
                                                                std::optional<BenchmarkId> held_out);

}  // namespace meridian::route
