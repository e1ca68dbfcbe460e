#pragma once
// Evaluating a strong/weak router the way RouteLLM does (docs/quality_router.md, "Evaluation";
// Ong et al., "RouteLLM: Learning to Route LLMs with Preference Data", arXiv:2406.18665, and
// routellm/evals in github.com/lm-sys/RouteLLM):
//   - a router gives every prompt a score (its predicted strong win rate);
//   - the thresholds are the num_results-quantiles of those scores (0%, 10%, ..., 100%, linear
//     interpolation); at each, prompts with score >= threshold go strong (> for the last one,
//     so the curve runs from 100% to 0% strong calls);
//   - performance at a threshold = the mean over prompts of the chosen model's result;
//   - PGR = (performance − weak) / (strong − weak);
//   - CPT(x) = the smallest strong-call share at which the curve, linear between its points,
//     reaches PGR x;
//   - APGR = the trapezoid area under PGR over strong-call share, divided by the share range.
// Also the parsers for RouteLLM's evaluation data (MT-Bench judgements, GSM8K and MMLU
// correctness CSVs, contaminated prompt lists). All pure: text in, values out; thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meridian::route {

// One evaluation prompt: its text (what the router sees) and how each model did on it.
struct EvalPrompt {
  std::string prompt;
  double strong = 0;  // the strong model's result (MT-Bench: mean judge score of both turns; else 0/1)
  double weak = 0;
};

// One point of a router's curve.
struct CurvePoint {
  double threshold = 0;
  double strong_share = 0;  // share of prompts sent to the strong model, in [0, 1]
  double performance = 0;   // mean result of the routed answers
};

struct RouterMetrics {
  double cpt50 = 0, cpt80 = 0, cpt95 = 0;  // strong-call shares in [0, 1]
  double apgr = 0;
  std::vector<CurvePoint> curve;  // by strong share ascending
};

// The q-quantile of `sorted` (ascending), interpolating linearly between order statistics
// (numpy's and pandas' default). `sorted` must not be empty.
double Quantile(std::span<const double> sorted, double q);

// The router's curve on `prompts` (scores[i] belongs to prompts[i]; sizes must match, else an
// empty curve): num_results + 1 points by strong share ascending.
std::vector<CurvePoint> RouterCurve(std::span<const double> scores, std::span<const EvalPrompt> prompts,
                                    int num_results = 10);

// Mean strong and weak results over `prompts` (0 when empty).
double MeanStrong(std::span<const EvalPrompt> prompts);
double MeanWeak(std::span<const EvalPrompt> prompts);

// CPT(target_pgr) on `curve` (by strong share ascending): the first point where the PGR
// reaches the target, interpolated linearly from the point before; the last point's share if
// it never does; the first point's share if it starts there. Equal to RouteLLM's np.interp
// whenever performance grows with the share. strong == weak: the first point's share.
double CallPerformanceThreshold(std::span<const CurvePoint> curve, double weak, double strong, double target_pgr);

// APGR of `curve` (by strong share ascending): trapezoid area of performance over share, minus
// the weak model's area, over the strong model's minus the weak model's. 0 for fewer than two
// points, a zero share range or strong == weak.
double AveragePerformanceGapRecovered(std::span<const CurvePoint> curve, double weak, double strong);

// RouterCurve plus the metrics, with weak/strong = MeanWeak/MeanStrong(prompts).
RouterMetrics EvaluateRouter(std::span<const double> scores, std::span<const EvalPrompt> prompts, int num_results = 10);

// RouteLLM's random router: for each of `seeds` seeds (1, 2, ...) every prompt gets a uniform
// random score (route::Rng seeded with the seed); the curves are averaged point by point (their
// shares coincide: with distinct scores a quantile's share depends only on the prompt count),
// then the metrics are computed on the mean curve. seeds < 1 is taken as 1.
RouterMetrics EvaluateRandomRouter(std::span<const EvalPrompt> prompts, int seeds = 10, int num_results = 10);

// ---- Data (text in, values out) ----

// RFC 4180 CSV: quoted fields with "" escapes and embedded newlines; CRLF or LF. Failure
// (kInvalidRequest): an unterminated quote.
core::Result<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text);

// The "eval_prompt" of every line of a RouteLLM contaminated_prompts.jsonl.
core::Result<std::vector<std::string>> ParseContaminatedPrompts(std::string_view jsonl);

// MT-Bench: questions (question_id, turns) and single-answer judgements (question_id, model,
// score, turn). A question is dropped when either turn is a contaminated prompt; each kept
// question's result for a model is the mean of its judgement scores (one per turn). The router
// sees the first turn. Failure: malformed lines, or a kept question without judgements for
// either model (named).
core::Result<std::vector<EvalPrompt>> ParseMtBench(std::string_view questions_jsonl, std::string_view judgements_jsonl,
                                                   std::span<const std::string> contaminated,
                                                   std::string_view strong_model, std::string_view weak_model);

// GSM8K / MMLU response CSVs: a "prompt" column and one True/False column per model. Rows whose
// prompt is contaminated are dropped. Failure: missing columns, a value that is not
// True/False, or a CSV error.
core::Result<std::vector<EvalPrompt>> ParseCorrectnessCsv(std::string_view csv_text,
                                                          std::span<const std::string> contaminated,
                                                          std::string_view strong_column, std::string_view weak_column);

}  // namespace meridian::route
