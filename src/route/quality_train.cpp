#include "route/quality_train.hpp"
#include "route/jsonl.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "route/common.hpp"
#include "route/quality_eval.hpp"

namespace meridian::route {

namespace {

using core::ErrorCode;
using core::Fail;

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

double Dot(const std::vector<QualityFeature>& x, const std::vector<double>& w, double b) {
  double z = b;
  for (const auto& f : x) z += w[f.index] * f.value;
  return z;
}

double LogLoss(double p, double y) {
  constexpr double kEps = 1e-12;
  p = std::clamp(p, kEps, 1 - kEps);
  return -(y * std::log(p) + (1 - y) * std::log(1 - p));
}

using jsonl::ForEachLine;

}  // namespace

core::Result<QualityModel> TrainQualityModel(std::span<const TrainingExample> examples, const TrainOptions& options,
                                             TrainReport* report) {
  if (examples.empty()) return Fail(ErrorCode::kInvalidRequest, "train: no examples");
  if (options.features.hash_bits < 8 || options.features.hash_bits > 20) {
    return Fail(ErrorCode::kInvalidRequest, "train: hash_bits must be in 8..20");
  }
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (!(examples[i].label >= 0 && examples[i].label <= 1)) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("train: example {}: label outside [0, 1]", i));
    }
    if (!(examples[i].weight > 0) || !std::isfinite(examples[i].weight)) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("train: example {}: weight must be > 0", i));
    }
  }
  const bool by_share = options.target_strong_share >= 0;
  const double target = by_share ? options.target_strong_share : options.target_pgr;
  if (!(target >= 0 && target <= 1)) return Fail(ErrorCode::kInvalidRequest, "train: target outside [0, 1]");
  if (!(options.calibration_fraction >= 0 && options.calibration_fraction < 1)) {
    return Fail(ErrorCode::kInvalidRequest, "train: calibration fraction must be in [0, 1)");
  }

  // Split by a seeded shuffle of the example indices.
  Rng rng(options.seed);
  std::vector<std::size_t> order(examples.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto shuffle = [&rng](std::vector<std::size_t>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(static_cast<std::uint32_t>(i))]);
  };
  shuffle(order);
  const auto n_cal = static_cast<std::size_t>(std::floor(options.calibration_fraction * static_cast<double>(examples.size())));
  if (options.calibration_fraction > 0 && (n_cal < 2 || n_cal >= examples.size())) {
    return Fail(ErrorCode::kInvalidRequest, "train: too few examples to hold out a calibration set");
  }
  std::vector<std::size_t> cal_idx(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_cal));
  std::vector<std::size_t> train_idx(order.begin() + static_cast<std::ptrdiff_t>(n_cal), order.end());

  std::vector<std::vector<QualityFeature>> x(examples.size());
  for (std::size_t i = 0; i < examples.size(); ++i) ExtractQualityFeatures(examples[i].text, options.features, x[i]);

  const std::size_t dim = options.features.dim();
  std::vector<double> w(dim, 0.0), g2(dim, 0.0), centre(dim, 0.0);
  if (options.prior) {
    const auto prior = QualityDifficultyPrior();
    for (std::size_t d = 0; d < prior.size(); ++d) w[d] = centre[d] = prior[d];
  }
  double b = 0, b_g2 = 0;
  // Start the bias at the weighted mean label's logit: the rest only explains deviations.
  {
    double sw = 0, sy = 0;
    for (auto i : train_idx) {
      sw += examples[i].weight;
      sy += examples[i].weight * examples[i].label;
    }
    const double mean = std::clamp(sy / sw, 1e-4, 1 - 1e-4);
    b = std::log(mean / (1 - mean));
  }
  constexpr double kEps = 1e-8;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    shuffle(train_idx);
    for (auto i : train_idx) {
      const auto& ex = examples[i];
      const double g = ex.weight * (Sigmoid(Dot(x[i], w, b)) - ex.label);
      for (const auto& f : x[i]) {
        if (!options.hashed && f.index >= kQualityDenseFeatures) break;  // sorted: the rest are hashed
        const double grad = g * f.value + options.l2 * (w[f.index] - centre[f.index]);
        g2[f.index] += grad * grad;
        w[f.index] -= options.learning_rate * grad / (std::sqrt(g2[f.index]) + kEps);
      }
      b_g2 += g * g;
      b -= options.learning_rate * g / (std::sqrt(b_g2) + kEps);
    }
  }

  QualityModel model;
  model.features = options.features;
  model.weights.resize(dim);
  for (std::size_t j = 0; j < dim; ++j) model.weights[j] = static_cast<float>(w[j]);
  model.bias = b;
  model.strong_model = options.strong_model;
  model.weak_model = options.weak_model;

  TrainReport rep;
  rep.train_prompts = train_idx.size();
  rep.calibration_prompts = cal_idx.size();
  {
    double loss = 0, sw = 0;
    for (auto i : train_idx) {
      loss += examples[i].weight * LogLoss(model.Score(examples[i].text), examples[i].label);
      sw += examples[i].weight;
    }
    rep.train_loss = loss / sw;
  }

  if (cal_idx.empty()) {
    model.default_threshold = 0.5;
    model.threshold_rule = "fixed=0.5";
  } else {
    // Quality on the calibration prompts is the win rate against the strong model: the strong
    // model's own answer ties (0.5), the weak one wins with probability 1 − label.
    std::vector<double> scores, strong, weak;
    std::vector<EvalPrompt> prompts;
    double loss = 0, sw = 0;
    for (auto i : cal_idx) {
      const double s = model.Score(examples[i].text);
      scores.push_back(s);
      const double ref = examples[i].reference >= 0 ? examples[i].reference : examples[i].label;
      strong.push_back(0.5);
      weak.push_back(1 - ref);
      prompts.push_back({std::string(), 0.5, 1 - ref});
      loss += examples[i].weight * LogLoss(s, examples[i].label);
      sw += examples[i].weight;
    }
    rep.calibration_loss = loss / sw;
    rep.calibration_apgr = EvaluateRouter(scores, prompts).apgr;
    double strong_total = 0, weak_total = 0;
    for (std::size_t k = 0; k < scores.size(); ++k) {
      strong_total += strong[k];
      weak_total += weak[k];
    }
    for (int step = 0; step <= 100; ++step) {
      const double t = ThresholdForShare(scores, step / 100.0);
      double total = 0;
      std::size_t calls = 0;
      for (std::size_t k = 0; k < scores.size(); ++k) {
        const bool go_strong = scores[k] >= t;
        calls += go_strong ? 1 : 0;
        total += go_strong ? strong[k] : weak[k];
      }
      const double pgr = strong_total == weak_total ? 0 : (total - weak_total) / (strong_total - weak_total);
      const CalibrationPoint p{t, static_cast<double>(calls) / static_cast<double>(scores.size()), pgr};
      if (!model.calibration.empty() && model.calibration.back().threshold == p.threshold) continue;  // ties
      model.calibration.push_back(p);
    }
    if (by_share) {
      model.default_threshold = ThresholdForShare(scores, target);
      model.threshold_rule = fmt::format("strong_share={}", target);
    } else {
      auto t = ThresholdForQuality(scores, strong, weak, target);
      if (!t) return std::unexpected(t.error());
      model.default_threshold = *t;
      model.threshold_rule = fmt::format("pgr={}", target);
    }
    model.default_threshold = std::clamp(model.default_threshold, 0.0, 1.0);
  }

  boost::json::object tr;
  tr["data"] = options.data;
  tr["seed"] = options.seed;
  tr["epochs"] = options.epochs;
  tr["learning_rate"] = options.learning_rate;
  tr["l2"] = options.l2;
  tr["features"] = std::string(kQualityFeatureScheme) + (options.hashed ? "" : ", dense slots only (hashed weights 0)");
  tr["prior"] = options.prior ? "difficulty prior (start and L2 centre of the dense weights)" : "none";
  if (!options.label.empty()) tr["label"] = options.label;
  tr["train_prompts"] = rep.train_prompts;
  tr["calibration_prompts"] = rep.calibration_prompts;
  tr["train_log_loss"] = std::round(rep.train_loss * 1e6) / 1e6;
  tr["calibration_log_loss"] = std::round(rep.calibration_loss * 1e6) / 1e6;
  tr["calibration_apgr"] = std::round(rep.calibration_apgr * 1e6) / 1e6;
  model.training = boost::json::serialize(tr);
  if (report != nullptr) *report = rep;
  return model;
}

core::Result<std::vector<TrainingExample>> AlpacaEvalExamples(std::string_view instructions_jsonl,
                                                              std::string_view judgements_csv,
                                                              std::span<const std::string> weak_models,
                                                              std::string_view strong_baseline,
                                                              bool length_controlled, AlpacaLabel label_kind) {
  std::map<std::int64_t, std::string> instructions;
  auto ok = ForEachLine(instructions_jsonl, [&](std::size_t line_no, std::string_view line) -> core::Result<void> {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    const boost::json::object* obj = (!ec && v.is_object()) ? &v.as_object() : nullptr;
    const auto* id = obj ? obj->if_contains("instruction_id") : nullptr;
    const auto* text = obj ? obj->if_contains("instruction") : nullptr;
    if (id == nullptr || !id->is_int64() || text == nullptr || !text->is_string()) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("instructions line {}: needs instruction_id and instruction", line_no));
    }
    instructions[id->as_int64()] = std::string(text->as_string());
    return {};
  });
  if (!ok) return std::unexpected(ok.error());

  auto rows = ParseCsv(judgements_csv);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return Fail(ErrorCode::kInvalidRequest, "judgements: empty CSV");
  const auto& header = rows->front();
  auto column = [&](std::string_view name) -> std::ptrdiff_t {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : it - header.begin();
  };
  const auto c_model = column("model"), c_id = column("instruction_id"), c_base = column("baseline"),
             c_pref = column("preference");
  if (c_model < 0 || c_id < 0 || c_base < 0 || c_pref < 0) {
    return Fail(ErrorCode::kInvalidRequest, "judgements: needs columns model, instruction_id, baseline, preference");
  }
  const auto c_mchars = column("model_output_chars"), c_bchars = column("baseline_output_chars");
  if (length_controlled && (c_mchars < 0 || c_bchars < 0)) {
    return Fail(ErrorCode::kInvalidRequest,
                "judgements: length control needs columns model_output_chars and baseline_output_chars");
  }
  auto number = [](const std::string& text, double& out) {
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return !text.empty() && end != text.c_str() && *end == '\0' && std::isfinite(out);
  };
  auto logit = [](double p) {
    p = std::clamp(p, 1e-4, 1 - 1e-4);
    return std::log(p / (1 - p));
  };
  // Length control: phi and sd over every judged row with both lengths.
  double phi = 0, sd = 1;
  if (length_controlled) {
    struct Row {
      double delta, y;
    };
    std::map<std::string, std::vector<Row>> by_model;
    double sum = 0, sum2 = 0;
    std::size_t n = 0;
    for (std::size_t r = 1; r < rows->size(); ++r) {
      const auto& row = (*rows)[r];
      if (row.size() <= static_cast<std::size_t>(std::max({c_model, c_pref, c_mchars, c_bchars}))) continue;
      double pref = 0, mc = 0, bc = 0;
      if (!number(row[static_cast<std::size_t>(c_pref)], pref) || !number(row[static_cast<std::size_t>(c_mchars)], mc) ||
          !number(row[static_cast<std::size_t>(c_bchars)], bc) || pref < 1 || pref > 2) {
        continue;
      }
      by_model[row[static_cast<std::size_t>(c_model)]].push_back({mc - bc, logit(pref - 1)});
      sum += mc - bc;
      sum2 += (mc - bc) * (mc - bc);
      ++n;
    }
    if (n > 1) {
      const double mean = sum / static_cast<double>(n);
      sd = std::sqrt(std::max(sum2 / static_cast<double>(n) - mean * mean, 1e-9));
      double sxy = 0, sxx = 0;
      for (const auto& [model, v] : by_model) {
        double mx = 0, my = 0;
        for (const auto& e : v) {
          mx += std::tanh(e.delta / sd);
          my += e.y;
        }
        mx /= static_cast<double>(v.size());
        my /= static_cast<double>(v.size());
        for (const auto& e : v) {
          const double x = std::tanh(e.delta / sd) - mx;
          sxy += x * (e.y - my);
          sxx += x * x;
        }
      }
      phi = sxx > 0 ? sxy / sxx : 0;
    }
  }
  struct Cell {
    double preference = 0;  // sum of P(strong preferred)
    double votes = 0;       // sum of [P(strong preferred) > 0.5] (+0.5 for = 0.5)
    int count = 0;
  };
  std::map<std::int64_t, Cell> labels;
  for (std::size_t r = 1; r < rows->size(); ++r) {
    const auto& row = (*rows)[r];
    const auto need = static_cast<std::size_t>(std::max({c_model, c_id, c_base, c_pref}));
    if (row.size() <= need) return Fail(ErrorCode::kInvalidRequest, fmt::format("judgements: row {} is short", r + 1));
    const auto& model = row[static_cast<std::size_t>(c_model)];
    if (std::find(weak_models.begin(), weak_models.end(), model) == weak_models.end()) continue;
    if (row[static_cast<std::size_t>(c_base)] != strong_baseline) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("judgements: row {}: baseline is {}, not the strong model {}", r + 1,
                              row[static_cast<std::size_t>(c_base)], strong_baseline));
    }
    const auto& pref_text = row[static_cast<std::size_t>(c_pref)];
    if (pref_text.empty()) continue;  // not judged
    char* end = nullptr;
    const double pref = std::strtod(pref_text.c_str(), &end);
    if (end == pref_text.c_str() || *end != '\0' || !(pref >= 1 && pref <= 2)) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("judgements: row {}: preference is not in [1, 2]", r + 1));
    }
    const auto& id_text = row[static_cast<std::size_t>(c_id)];
    const long long id = std::strtoll(id_text.c_str(), &end, 10);
    if (end == id_text.c_str() || *end != '\0' || !instructions.contains(id)) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("judgements: row {}: unknown instruction_id {}", r + 1, id_text));
    }
    double weak_wins = pref - 1;
    if (length_controlled) {
      double mc = 0, bc = 0;
      if (row.size() > static_cast<std::size_t>(std::max(c_mchars, c_bchars)) &&
          number(row[static_cast<std::size_t>(c_mchars)], mc) && number(row[static_cast<std::size_t>(c_bchars)], bc)) {
        weak_wins = 1 / (1 + std::exp(-(logit(weak_wins) - phi * std::tanh((mc - bc) / sd))));
      }
    }
    auto& cell = labels[id];
    const double strong_wins = 1 - weak_wins;
    cell.preference += strong_wins;
    cell.votes += strong_wins > 0.5 ? 1.0 : (strong_wins == 0.5 ? 0.5 : 0.0);
    cell.count += 1;
  }
  std::vector<TrainingExample> out;
  for (const auto& [id, cell] : labels) {
    const double preference = cell.preference / cell.count;
    const double label = label_kind == AlpacaLabel::kVote ? cell.votes / cell.count : preference;
    out.push_back({instructions[id], label, 1.0, preference});
  }
  if (out.empty()) return Fail(ErrorCode::kInvalidRequest, "judgements: no judgements for the weak models given");
  return out;
}

core::Result<std::vector<TrainingExample>> ParseTrainingJsonl(std::string_view jsonl) {
  std::vector<TrainingExample> out;
  auto ok = ForEachLine(jsonl, [&](std::size_t line_no, std::string_view line) -> core::Result<void> {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("training data line {}: not a JSON object", line_no));
    }
    const auto& obj = v.as_object();
    const auto* prompt = obj.if_contains("prompt");
    const auto* label = obj.if_contains("label");
    if (prompt == nullptr || !prompt->is_string()) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("training data line {}: needs a \"prompt\" string", line_no));
    }
    if (label == nullptr || !label->is_number()) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("training data line {}: needs a numeric \"label\"", line_no));
    }
    boost::system::error_code nec;
    TrainingExample ex{std::string(prompt->as_string()), label->to_number<double>(nec), 1.0};
    if (!(ex.label >= 0 && ex.label <= 1)) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("training data line {}: label must be in [0, 1]", line_no));
    }
    if (const auto* weight = obj.if_contains("weight"); weight != nullptr) {
      if (!weight->is_number() || !(weight->to_number<double>(nec) > 0)) {
        return Fail(ErrorCode::kInvalidRequest, fmt::format("training data line {}: weight must be a number > 0", line_no));
      }
      ex.weight = weight->to_number<double>(nec);
    }
    out.push_back(std::move(ex));
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  if (out.empty()) return Fail(ErrorCode::kInvalidRequest, "training data: no examples");
  return out;
}

}  // namespace meridian::route
