// `meridian router train|eval` (docs/quality_router.md): trains the quality router on
// AlpacaEval 2 judgements (or one's own JSONL, optionally plus RouteLLM benchmark outcomes) and
// evaluates it on RouteLLM's benchmark data exactly as RouteLLM reports it (with --lobo, also
// each benchmark's leave-one-benchmark-out model). File reading and printing live here; everything else is the
// pure code in src/route/quality*.{hpp,cpp}.

#include "app/router_cmd.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "route/quality.hpp"
#include "route/quality_eval.hpp"
#include "route/quality_lobo.hpp"
#include "route/quality_train.hpp"

namespace meridian::app {

namespace {

namespace fs = std::filesystem;

core::Result<std::string> ReadFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return core::Fail(core::ErrorCode::kNotFound, path.string() + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Fail(core::ErrorCode::kInternal, path.string() + ": cannot be opened");
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// RouteLLM's published figures: Ong et al., arXiv:2406.18665v4, Tables 1 (MT Bench),
// 2 (MMLU) and 3 (GSM8K). CPT as fractions; they publish no CPT(95%).
struct Published {
  const char* router;
  double cpt50, cpt80, apgr;
};
struct PublishedSet {
  const char* benchmark;
  const char* table;
  std::vector<Published> rows;
};
const std::vector<PublishedSet>& PublishedFigures() {
  static const std::vector<PublishedSet> kSets = {
      {"mt-bench", "Table 1",
       {{"random (95% CI)", 0.4903, 0.7808, 0.500},
        {"matrix factorization, D_arena", 0.2532, 0.7426, 0.580},
        {"matrix factorization, D_arena+D_judge (best)", 0.1340, 0.3131, 0.802}}},
      {"gsm8k", "Table 3",
       {{"random (95% CI)", 0.5000, 0.8008, 0.497},
        {"matrix factorization, D_arena", 0.5359, 0.8524, 0.4746},
        {"causal LLM, D_arena+D_judge (best)", 0.3364, 0.6326, 0.622}}},
      {"mmlu", "Table 2",
       {{"random (95% CI)", 0.5007, 0.7993, 0.500},
        {"matrix factorization, D_arena", 0.4500, 0.7686, 0.524},
        {"SW ranking, D_arena+D_gold (best)", 0.3540, 0.7155, 0.603}}},
  };
  return kSets;
}

struct Benchmark {
  route::BenchmarkId id = route::BenchmarkId::kMtBench;
  std::vector<route::EvalPrompt> prompts;
  std::size_t before_decontamination = 0;
};

const fs::path kDefaultAlpacaDir = "../shared/data/routing/alpaca-eval";
const fs::path kDefaultEvalsDir = "../shared/data/routing/routellm-evals";

core::Result<Benchmark> LoadMtBench(const fs::path& dir, const RouterArgs& args) {
  auto q = ReadFile(dir / "mt_bench__question.jsonl");
  if (!q) return std::unexpected(q.error());
  auto j = ReadFile(dir / "mt_bench__judgements.jsonl");
  if (!j) return std::unexpected(j.error());
  auto c = ReadFile(dir / "mt_bench__contaminated_prompts.jsonl");
  if (!c) return std::unexpected(c.error());
  auto bad = route::ParseContaminatedPrompts(*c);
  if (!bad) return std::unexpected(bad.error());
  auto all = route::ParseMtBench(*q, *j, {}, args.strong_model, args.weak_model);
  if (!all) return std::unexpected(all.error());
  auto kept = route::ParseMtBench(*q, *j, *bad, args.strong_model, args.weak_model);
  if (!kept) return std::unexpected(kept.error());
  return Benchmark{route::BenchmarkId::kMtBench, std::move(*kept), all->size()};
}

core::Result<Benchmark> LoadCorrectness(route::BenchmarkId id, const std::vector<fs::path>& files,
                                        const fs::path& contaminated, const RouterArgs& args) {
  auto c = ReadFile(contaminated);
  if (!c) return std::unexpected(c.error());
  auto bad = route::ParseContaminatedPrompts(*c);
  if (!bad) return std::unexpected(bad.error());
  Benchmark b{id, {}, 0};
  for (const auto& f : files) {
    auto text = ReadFile(f);
    if (!text) return std::unexpected(text.error());
    auto all = route::ParseCorrectnessCsv(*text, {}, args.strong_model, args.weak_model);
    if (!all) return core::Fail(all.error().code, f.string() + ": " + all.error().message);
    b.before_decontamination += all->size();
    auto kept = route::ParseCorrectnessCsv(*text, *bad, args.strong_model, args.weak_model);
    if (!kept) return std::unexpected(kept.error());
    for (auto& p : *kept) b.prompts.push_back(std::move(p));
  }
  return b;
}

// One benchmark from the RouteLLM evals directory, decontaminated (args.strong/weak_model).
core::Result<Benchmark> LoadBenchmark(route::BenchmarkId id, const fs::path& dir, const RouterArgs& args) {
  switch (id) {
    case route::BenchmarkId::kMtBench:
      return LoadMtBench(dir, args);
    case route::BenchmarkId::kGsm8k:
      return LoadCorrectness(id, {dir / "gsm8k__gsm8k_responses.csv"}, dir / "gsm8k__contaminated_prompts.jsonl", args);
    case route::BenchmarkId::kMmlu: {
      std::vector<fs::path> files;
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(dir / "mmlu_responses", ec)) {
        if (entry.path().extension() == ".csv") files.push_back(entry.path());
      }
      if (ec || files.empty()) {
        return core::Fail(core::ErrorCode::kNotFound, (dir / "mmlu_responses").string() + ": no MMLU response CSVs");
      }
      std::sort(files.begin(), files.end());
      return LoadCorrectness(id, files, dir / "mmlu__contaminated_prompts.jsonl", args);
    }
  }
  return core::Fail(core::ErrorCode::kInternal, "unknown benchmark");
}

// AlpacaEval 2 examples with args' weak pool, baseline, length control and label.
core::Result<std::vector<route::TrainingExample>> LoadAlpaca(const fs::path& dir, const RouterArgs& args) {
  auto inst = ReadFile(dir / "instructions.jsonl");
  if (!inst) return std::unexpected(inst.error());
  auto judg = ReadFile(dir / "ae2_weighted_gpt4turbo_judgments.csv");
  if (!judg) return std::unexpected(judg.error());
  const auto weak = SplitCommas(args.weak_models);
  return route::AlpacaEvalExamples(*inst, *judg, weak, args.strong_baseline, !args.no_length_control,
                                   args.label == "vote" ? route::AlpacaLabel::kVote : route::AlpacaLabel::kPreference);
}

// The trainer's options from args (hyperparameters, variant flags, threshold rule).
route::TrainOptions TrainOptionsFrom(const RouterArgs& args) {
  route::TrainOptions opt;
  opt.features.hash_bits = args.hash_bits;
  opt.seed = args.seed;
  opt.epochs = args.epochs;
  opt.learning_rate = args.learning_rate;
  opt.l2 = args.l2;
  opt.calibration_fraction = args.calibration_fraction;
  opt.hashed = !(args.dense_only || args.heuristic);
  opt.prior = args.prior || args.heuristic;
  if (args.heuristic) opt.epochs = 0;
  opt.label = args.custom.empty() ? args.label : "custom";
  if (args.target_pgr >= 0) {
    opt.target_strong_share = -1;
    opt.target_pgr = args.target_pgr;
  } else {
    opt.target_strong_share = args.target_share;
  }
  return opt;
}

std::string BenchmarkNames(std::span<const route::BenchmarkId> ids, std::optional<route::BenchmarkId> except) {
  std::string out;
  for (auto id : ids) {
    if (id == except) continue;
    if (!out.empty()) out += ", ";
    out += route::BenchmarkName(id);
  }
  return out;
}

constexpr const char* kOutcomeDesc =
    "label 1/0/0.5 as the strong model's result is above/below/equal to the weak model's; each source the same "
    "total weight (docs/quality_router.md, Protocol v3)";

int Train(const RouterArgs& args) {
  std::vector<route::TrainingExample> examples;
  std::string data_desc;
  std::string weak_desc;
  if (!args.custom.empty()) {
    auto text = ReadFile(args.custom);
    if (!text) {
      fmt::print(stderr, "router train: {}\n", text.error().message);
      return 2;
    }
    auto parsed = route::ParseTrainingJsonl(*text);
    if (!parsed) {
      fmt::print(stderr, "router train: {}: {}\n", args.custom, parsed.error().message);
      return 2;
    }
    examples = std::move(*parsed);
    data_desc = "custom JSONL: " + fs::path(args.custom).filename().string();
    weak_desc = "(custom labels)";
  } else {
    const fs::path dir = args.data.empty() ? kDefaultAlpacaDir : fs::path(args.data);
    auto parsed = LoadAlpaca(dir, args);
    if (!parsed) {
      fmt::print(stderr, "router train: {}\n", parsed.error().message);
      return 2;
    }
    examples = std::move(*parsed);
    data_desc = std::string("AlpacaEval 2 (weighted, GPT-4 Turbo judge): label = ") +
                (args.label == "vote" ? "share of the weak models with " : "mean ") +
                (args.no_length_control ? "" : "length-controlled ") + "P(" + args.strong_baseline +
                " preferred)" + (args.label == "vote" ? " > 0.5" : "") + " over " + args.weak_models;
    weak_desc = args.weak_models;
  }

  if (!args.add_benchmarks.empty()) {
    auto ids = route::ParseBenchmarkList(args.add_benchmarks);
    if (!ids) {
      fmt::print(stderr, "router train: --add-benchmarks: {}\n", ids.error().message);
      return 2;
    }
    const fs::path edir = args.evals_data.empty() ? kDefaultEvalsDir : fs::path(args.evals_data);
    std::vector<route::BenchmarkPrompts> benches;
    for (auto id : *ids) {
      auto b = LoadBenchmark(id, edir, args);
      if (!b) {
        fmt::print(stderr, "router train: {}\n", b.error().message);
        return 2;
      }
      benches.push_back({id, std::move(b->prompts)});
    }
    auto combined = route::BenchmarkTrainingSet(examples, benches, std::nullopt);
    if (!combined) {
      fmt::print(stderr, "router train: {}\n", combined.error().message);
      return 2;
    }
    examples = std::move(*combined);
    data_desc += fmt::format("; plus RouteLLM outcomes ({} vs {}) of {}: {}", args.strong_model, args.weak_model,
                             BenchmarkNames(*ids, std::nullopt), kOutcomeDesc);
  }

  route::TrainOptions opt = TrainOptionsFrom(args);
  if (!args.add_benchmarks.empty()) opt.label += "+outcomes";
  opt.strong_model = args.custom.empty() ? args.strong_baseline : "(custom labels)";
  opt.weak_model = weak_desc;
  opt.data = data_desc;

  const auto t0 = std::chrono::steady_clock::now();
  route::TrainReport report;
  auto model = route::TrainQualityModel(examples, opt, &report);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!model) {
    fmt::print(stderr, "router train: {}\n", model.error().message);
    return 2;
  }
  if (auto saved = route::SaveQualityModel(*model, args.out); !saved) {
    fmt::print(stderr, "router train: {}\n", saved.error().message);
    return 2;
  }
  fmt::print("trained on {} prompts, calibrated on {} ({:.1f} s)\n", report.train_prompts, report.calibration_prompts,
             seconds);
  fmt::print("log loss: train {:.4f}, calibration {:.4f}; calibration APGR {:.3f}\n", report.train_loss,
             report.calibration_loss, report.calibration_apgr);
  fmt::print("default threshold {:.6f} ({})\n", model->default_threshold, model->threshold_rule);
  fmt::print("wrote {}\n", args.out);
  return 0;
}

boost::json::object MetricsJson(const route::RouterMetrics& m) {
  boost::json::object o;
  o["cpt50"] = m.cpt50;
  o["cpt80"] = m.cpt80;
  o["cpt95"] = m.cpt95;
  o["apgr"] = m.apgr;
  boost::json::array curve;
  for (const auto& p : m.curve) curve.push_back(boost::json::array{p.strong_share, p.performance});
  o["curve"] = std::move(curve);
  return o;
}

int Eval(const RouterArgs& args) {
  auto model = route::LoadQualityModel(args.model);
  if (!model) {
    fmt::print(stderr, "router eval: {}\n", model.error().message);
    return 2;
  }
  const fs::path dir = args.data.empty() ? kDefaultEvalsDir : fs::path(args.data);

  std::vector<Benchmark> benchmarks;
  for (auto id : route::kAllBenchmarks) {
    auto b = LoadBenchmark(id, dir, args);
    if (!b) {
      fmt::print(stderr, "router eval: {}\n", b.error().message);
      return 2;
    }
    benchmarks.push_back(std::move(*b));
  }

  // --lobo: each benchmark's leave-one-benchmark-out model, trained here (Protocol v3).
  std::vector<route::QualityModel> lobo_models;
  std::vector<std::size_t> lobo_examples;
  if (args.lobo) {
    auto alpaca = LoadAlpaca(args.alpaca_data.empty() ? kDefaultAlpacaDir : fs::path(args.alpaca_data), args);
    if (!alpaca) {
      fmt::print(stderr, "router eval: --lobo: {}\n", alpaca.error().message);
      return 2;
    }
    std::vector<route::BenchmarkPrompts> all;
    for (const auto& b : benchmarks) all.push_back({b.id, b.prompts});
    for (const auto& b : benchmarks) {
      auto set = route::BenchmarkTrainingSet(*alpaca, all, b.id);
      if (!set) {
        fmt::print(stderr, "router eval: --lobo: {}\n", set.error().message);
        return 2;
      }
      auto trained = route::TrainQualityModel(*set, TrainOptionsFrom(args));
      if (!trained) {
        fmt::print(stderr, "router eval: --lobo {}: {}\n", route::BenchmarkName(b.id), trained.error().message);
        return 2;
      }
      lobo_examples.push_back(set->size());
      lobo_models.push_back(std::move(*trained));
    }
  }

  boost::json::object root;
  root["model"] = args.model;
  root["strong_model"] = args.strong_model;
  root["weak_model"] = args.weak_model;
  root["random_seeds"] = args.random_seeds;
  root["num_results"] = args.num_results;
  root["published_source"] = "Ong et al., RouteLLM, arXiv:2406.18665v4, Tables 1-3";
  boost::json::object results;
  std::string table;
  table += fmt::format("{:<9} {:<48} {:>8} {:>8} {:>8} {:>7}\n", "benchmark", "router", "CPT(50%)", "CPT(80%)",
                       "CPT(95%)", "APGR");
  std::size_t scored = 0;
  double score_seconds = 0;
  const route::QualityModel prior_model = route::DifficultyPriorModel();
  double sum_ours = 0, sum_random = 0, sum_lobo = 0;
  for (std::size_t k = 0; k < benchmarks.size(); ++k) {
    const auto& b = benchmarks[k];
    const std::string name(route::BenchmarkName(b.id));
    std::vector<double> scores;
    scores.reserve(b.prompts.size());
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& p : b.prompts) scores.push_back(model->Score(p.prompt));
    score_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    scored += b.prompts.size();
    const auto ours = route::EvaluateRouter(scores, b.prompts, args.num_results);
    const auto rnd = route::EvaluateRandomRouter(b.prompts, args.random_seeds, args.num_results);
    std::vector<double> prior_scores;
    prior_scores.reserve(b.prompts.size());
    for (const auto& p : b.prompts) prior_scores.push_back(prior_model.Score(p.prompt));
    const auto heur = route::EvaluateRouter(prior_scores, b.prompts, args.num_results);
    const double strong = route::MeanStrong(b.prompts), weak = route::MeanWeak(b.prompts);

    boost::json::object r;
    r["prompts"] = b.prompts.size();
    r["prompts_before_decontamination"] = b.before_decontamination;
    r["strong_performance"] = strong;
    r["weak_performance"] = weak;
    r["quality_router"] = MetricsJson(ours);
    r["random_router"] = MetricsJson(rnd);
    r["difficulty_prior_heuristic"] = MetricsJson(heur);
    boost::json::array pub;
    for (const auto& set : PublishedFigures()) {
      if (name != set.benchmark) continue;
      for (const auto& row : set.rows) {
        pub.push_back(boost::json::object{{"router", row.router}, {"table", set.table}, {"cpt50", row.cpt50},
                                          {"cpt80", row.cpt80}, {"apgr", row.apgr}});
        table += fmt::format("{:<9} {:<48} {:>7.2f}% {:>7.2f}% {:>8} {:>7.3f}\n", name,
                             fmt::format("RouteLLM {} [{}]", row.router, set.table), row.cpt50 * 100, row.cpt80 * 100,
                             "-", row.apgr);
      }
    }
    r["routellm_published"] = std::move(pub);
    table += fmt::format("{:<9} {:<48} {:>7.2f}% {:>7.2f}% {:>7.2f}% {:>7.3f}\n", name,
                         fmt::format("random (ours, {} seeds)", args.random_seeds), rnd.cpt50 * 100, rnd.cpt80 * 100,
                         rnd.cpt95 * 100, rnd.apgr);
    table += fmt::format("{:<9} {:<48} {:>7.2f}% {:>7.2f}% {:>7.2f}% {:>7.3f}\n", name,
                         "difficulty prior (heuristic, not learned)", heur.cpt50 * 100, heur.cpt80 * 100,
                         heur.cpt95 * 100, heur.apgr);
    table += fmt::format("{:<9} {:<48} {:>7.2f}% {:>7.2f}% {:>7.2f}% {:>7.3f}\n", name, "quality router (ours)",
                         ours.cpt50 * 100, ours.cpt80 * 100, ours.cpt95 * 100, ours.apgr);
    sum_ours += ours.apgr;
    sum_random += rnd.apgr;
    if (args.lobo) {
      std::vector<double> lobo_scores;
      lobo_scores.reserve(b.prompts.size());
      for (const auto& p : b.prompts) lobo_scores.push_back(lobo_models[k].Score(p.prompt));
      const auto lobo = route::EvaluateRouter(lobo_scores, b.prompts, args.num_results);
      sum_lobo += lobo.apgr;
      const std::string trained_on = "AlpacaEval + " + BenchmarkNames(route::kAllBenchmarks, b.id);
      auto lj = MetricsJson(lobo);
      lj["trained_on"] = trained_on;
      lj["training_examples"] = lobo_examples[k];
      r["lobo_model"] = std::move(lj);
      table += fmt::format("{:<9} {:<48} {:>7.2f}% {:>7.2f}% {:>7.2f}% {:>7.3f}\n", name,
                           "LOBO: " + trained_on, lobo.cpt50 * 100, lobo.cpt80 * 100, lobo.cpt95 * 100, lobo.apgr);
    }
    results[name] = std::move(r);
    table += fmt::format("{:<9} {} prompts ({} before decontamination); strong {:.4f}, weak {:.4f}\n\n", "",
                         b.prompts.size(), b.before_decontamination, strong, weak);
  }
  root["results"] = std::move(results);
  const double nb = static_cast<double>(benchmarks.size());
  boost::json::object means{{"quality_router", sum_ours / nb}, {"random_router", sum_random / nb}};
  table += fmt::format("mean APGR over the {} benchmarks: quality router (ours) {:.3f}, random {:.3f}",
                       benchmarks.size(), sum_ours / nb, sum_random / nb);
  if (args.lobo) {
    means["lobo"] = sum_lobo / nb;
    table += fmt::format(", LOBO {:.3f}", sum_lobo / nb);
  }
  table += "\n";
  root["mean_apgr"] = std::move(means);
  root["mean_score_microseconds"] = scored == 0 ? 0.0 : score_seconds * 1e6 / static_cast<double>(scored);
  if (args.json) {
    fmt::print("{}\n", boost::json::serialize(root));
  } else {
    fmt::print("{}", table);
    fmt::print("model {}: default threshold {:.6f} ({}); mean scoring time {:.2f} us/prompt (informational)\n",
               args.model, model->default_threshold, model->threshold_rule,
               root["mean_score_microseconds"].as_double());
  }
  return 0;
}

}  // namespace

CLI::App* AddRouterCommand(CLI::App& cli, RouterArgs& args) {
  auto* router = cli.add_subcommand("router", "The learned quality router: train and evaluate (docs/quality_router.md)");
  router->require_subcommand(1);

  auto* train = router->add_subcommand("train", "Train the quality router and write the model file");
  train->add_option("--data", args.data, "AlpacaEval directory (default ../shared/data/routing/alpaca-eval)");
  train->add_option("--custom", args.custom,
                    "Train on one's own traffic instead: JSONL lines {\"prompt\": ..., \"label\": 0..1, \"weight\": ...}");
  train->add_option("--out", args.out, "Model file to write (default models/quality_router.json)");
  train->add_option("--weak-models", args.weak_models, "AlpacaEval models pooled as the weak model (comma-separated)");
  train->add_option("--strong-baseline", args.strong_baseline, "AlpacaEval baseline the judgements compare against");
  train->add_flag("--no-length-control", args.no_length_control,
                  "Keep the judge's preference for longer answers in the labels");
  train->add_option("--label", args.label, "AlpacaEval label: preference (mean P(strong preferred)) or vote")
      ->check(CLI::IsMember({"preference", "vote"}));
  train->add_flag("--dense-only", args.dense_only, "Learn only the dense features (hashed n-gram weights stay 0)");
  train->add_flag("--prior", args.prior, "Start the dense weights at the difficulty prior and shrink towards it");
  train->add_flag("--heuristic", args.heuristic,
                  "Write the difficulty prior itself (no learning), calibrated on the held-out prompts");
  train->add_option("--add-benchmarks", args.add_benchmarks,
                    "Add RouteLLM benchmark outcomes as training examples: comma-separated mt-bench, gsm8k, mmlu "
                    "(label 1/0/0.5 by strong vs weak result; each source the same total weight)");
  train->add_option("--evals-data", args.evals_data,
                    "With --add-benchmarks: RouteLLM evals directory (default ../shared/data/routing/routellm-evals)");
  train->add_option("--seed", args.seed, "Seed for the calibration split and the SGD order (default 1)");
  train->add_option("--epochs", args.epochs, "SGD epochs (default 3)");
  train->add_option("--learning-rate", args.learning_rate, "AdaGrad step (default 0.05)");
  train->add_option("--l2", args.l2, "L2 regularisation (default 1e-2)");
  train->add_option("--hash-bits", args.hash_bits, "Hashed feature slots = 2^bits (8..20, default 14)");
  train->add_option("--calibration-fraction", args.calibration_fraction, "Share of prompts held out for the threshold");
  auto* share = train->add_option("--target-share", args.target_share, "Default threshold: this share of strong calls");
  train->add_option("--target-pgr", args.target_pgr, "Default threshold: this PGR on the calibration set instead")
      ->excludes(share);
  train->callback([&args] { args.train = true; });

  auto* eval = router->add_subcommand("eval", "CPT(50/80/95%) and APGR on RouteLLM's MT-Bench, GSM8K and MMLU data");
  eval->add_option("--model", args.model, "Model file (default models/quality_router.json)");
  eval->add_option("--data", args.data, "RouteLLM evals directory (default ../shared/data/routing/routellm-evals)");
  eval->add_option("--strong-model", args.strong_model, "Strong model in the data (default gpt-4-1106-preview)");
  eval->add_option("--weak-model", args.weak_model, "Weak model in the data (default mistralai/Mixtral-8x7B-Instruct-v0.1)");
  eval->add_option("--random-seeds", args.random_seeds, "Seeds the random router is averaged over (default 10)");
  eval->add_option("--num-results", args.num_results, "Thresholds per curve, as RouteLLM's --num-results (default 10)");
  eval->add_flag("--json", args.json, "JSON on stdout instead of the table");
  eval->add_flag("--lobo", args.lobo,
                 "Also train and report each benchmark's leave-one-benchmark-out model (AlpacaEval + the other two "
                 "benchmarks, default training options; docs/quality_router.md, Protocol v3)");
  eval->add_option("--alpaca-data", args.alpaca_data,
                   "With --lobo: AlpacaEval directory (default ../shared/data/routing/alpaca-eval)");
  eval->callback([&args] { args.eval = true; });
  return router;
}

int Router(const RouterArgs& args) {
  if (args.train) return Train(args);
  if (args.eval) return Eval(args);
  return 2;
}

}  // namespace meridian::app
