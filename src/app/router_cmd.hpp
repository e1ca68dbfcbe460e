#pragma once
// `meridian router train` and `meridian router eval`: the learned quality router's offline
// tools (src/app/router_cmd.cpp, docs/quality_router.md). The model itself is route/quality.hpp.

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace meridian::app {

struct RouterArgs {
  bool train = false;
  bool eval = false;
  // train: the AlpacaEval directory; eval: the RouteLLM evals directory. Empty = the default
  // (../shared/data/routing/alpaca-eval or .../routellm-evals, relative to the working directory).
  std::string data;
  std::string custom;                              // train: JSONL of one's own traffic instead of AlpacaEval
  // train: RouteLLM benchmarks whose strong-vs-weak outcomes are added as training examples
  // ("mt-bench,gsm8k,mmlu"; empty = none), read from `evals_data` (empty = the default
  // ../shared/data/routing/routellm-evals). Each source gets the same total weight
  // (docs/quality_router.md, "Protocol v3").
  std::string add_benchmarks;
  std::string evals_data;
  // eval: also train and report, for each benchmark, the leave-one-benchmark-out model
  // (AlpacaEval from `alpaca_data`, empty = ../shared/data/routing/alpaca-eval, plus the other
  // two benchmarks), with the training options below at their defaults.
  bool lobo = false;
  std::string alpaca_data;
  std::string out = "models/quality_router.json";  // train: where the model goes
  std::string model = "models/quality_router.json";  // eval: the model to evaluate
  // train: AlpacaEval 2 models pooled as "the weak model" (RouteLLM's tier of Mixtral) and the
  // strong baseline they were judged against.
  std::string weak_models = "Mixtral-8x7B-Instruct-v0.1_concise,claude-2,claude-2.1,claude-instant-1.2,gpt-3.5-turbo-0301";
  std::string strong_baseline = "gpt4_1106_preview";
  bool no_length_control = false;  // train: keep the judge's length bias in the labels
  std::string label = "preference";  // train: AlpacaEval label, "preference" (soft) or "vote"
  bool dense_only = false;           // train: learn only the dense slots (hashed weights stay 0)
  bool prior = false;                // train: start and shrink the dense weights at the difficulty prior
  bool heuristic = false;            // train: the difficulty prior alone (= --prior --dense-only --epochs 0)
  std::uint64_t seed = 1;
  int epochs = 3;
  double learning_rate = 0.05;
  double l2 = 1e-2;  // chosen by held-out AlpacaEval APGR (docs/quality_router.md)
  unsigned hash_bits = 14;
  double calibration_fraction = 0.2;
  double target_share = 0.5;  // default threshold: this share of strong calls ...
  double target_pgr = -1;     // ... or, when set (>= 0), this PGR on the calibration set
  // eval: the routed pair in RouteLLM's data, the random router's seeds and the curve's points.
  std::string strong_model = "gpt-4-1106-preview";
  std::string weak_model = "mistralai/Mixtral-8x7B-Instruct-v0.1";
  int random_seeds = 10;
  int num_results = 10;
  bool json = false;
};

// Adds `router` with its `train` and `eval` subcommands to `cli`, filling `args` when parsed.
CLI::App* AddRouterCommand(CLI::App& cli, RouterArgs& args);

// train: trains, writes args.out, prints a summary; 0 on success, 2 with a message on stderr
// when the data cannot be read or the options are invalid (e.g. an unknown --add-benchmarks name).
// eval: prints CPT(50/80/95%) and APGR per benchmark for the model, a seeded random router and
// RouteLLM's published figures (a table, or JSON with --json); with --lobo also each
// benchmark's leave-one-benchmark-out model; 0, or 2 on unreadable inputs or a failed training.
int Router(const RouterArgs& args);

}  // namespace meridian::app
