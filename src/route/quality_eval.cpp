#include "route/quality_eval.hpp"
#include "route/jsonl.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "route/common.hpp"

namespace meridian::route {

namespace {

using core::ErrorCode;
using core::Fail;

using jsonl::ForEachLine;

core::Result<boost::json::object> ParseObjectLine(std::string_view what, std::size_t line_no, std::string_view line) {
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) {
    return Fail(ErrorCode::kInvalidRequest, fmt::format("{} line {}: not a JSON object", what, line_no));
  }
  return std::move(v.as_object());
}

}  // namespace

double Quantile(std::span<const double> sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  if (lo + 1 >= sorted.size()) return sorted.back();
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

std::vector<CurvePoint> RouterCurve(std::span<const double> scores, std::span<const EvalPrompt> prompts,
                                    int num_results) {
  std::vector<CurvePoint> curve;
  if (scores.size() != prompts.size() || scores.empty() || num_results < 1) return curve;
  std::vector<double> sorted(scores.begin(), scores.end());
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(prompts.size());
  for (int i = 0; i <= num_results; ++i) {
    const double threshold = Quantile(sorted, static_cast<double>(i) / num_results);
    const bool last = i == num_results;
    std::size_t strong_calls = 0;
    double total = 0;
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      const bool strong = last ? scores[p] > threshold : scores[p] >= threshold;
      strong_calls += strong ? 1 : 0;
      total += strong ? prompts[p].strong : prompts[p].weak;
    }
    curve.push_back({threshold, static_cast<double>(strong_calls) / n, total / n});
  }
  std::stable_sort(curve.begin(), curve.end(),
                   [](const CurvePoint& a, const CurvePoint& b) { return a.strong_share < b.strong_share; });
  return curve;
}

double MeanStrong(std::span<const EvalPrompt> prompts) {
  if (prompts.empty()) return 0;
  double s = 0;
  for (const auto& p : prompts) s += p.strong;
  return s / static_cast<double>(prompts.size());
}

double MeanWeak(std::span<const EvalPrompt> prompts) {
  if (prompts.empty()) return 0;
  double s = 0;
  for (const auto& p : prompts) s += p.weak;
  return s / static_cast<double>(prompts.size());
}

double CallPerformanceThreshold(std::span<const CurvePoint> curve, double weak, double strong, double target_pgr) {
  if (curve.empty()) return 0;
  if (strong == weak) return curve.front().strong_share;
  const double target = weak + target_pgr * (strong - weak);
  // PGR comparisons in performance units, oriented so that "more" is always better.
  const double sign = strong > weak ? 1.0 : -1.0;
  if (sign * curve.front().performance >= sign * target) return curve.front().strong_share;
  for (std::size_t i = 1; i < curve.size(); ++i) {
    const auto& a = curve[i - 1];
    const auto& b = curve[i];
    if (sign * b.performance >= sign * target && sign * a.performance < sign * target) {
      const double t = (target - a.performance) / (b.performance - a.performance);
      return a.strong_share + t * (b.strong_share - a.strong_share);
    }
  }
  return curve.back().strong_share;
}

double AveragePerformanceGapRecovered(std::span<const CurvePoint> curve, double weak, double strong) {
  if (curve.size() < 2 || strong == weak) return 0;
  double area = 0;
  for (std::size_t i = 1; i < curve.size(); ++i) {
    area += (curve[i].strong_share - curve[i - 1].strong_share) * (curve[i].performance + curve[i - 1].performance) / 2;
  }
  const double range = curve.back().strong_share - curve.front().strong_share;
  if (range == 0) return 0;
  return (area - weak * range) / ((strong - weak) * range);
}

namespace {

RouterMetrics MetricsOf(std::vector<CurvePoint> curve, double weak, double strong) {
  RouterMetrics m;
  m.cpt50 = CallPerformanceThreshold(curve, weak, strong, 0.50);
  m.cpt80 = CallPerformanceThreshold(curve, weak, strong, 0.80);
  m.cpt95 = CallPerformanceThreshold(curve, weak, strong, 0.95);
  m.apgr = AveragePerformanceGapRecovered(curve, weak, strong);
  m.curve = std::move(curve);
  return m;
}

}  // namespace

RouterMetrics EvaluateRouter(std::span<const double> scores, std::span<const EvalPrompt> prompts, int num_results) {
  return MetricsOf(RouterCurve(scores, prompts, num_results), MeanWeak(prompts), MeanStrong(prompts));
}

RouterMetrics EvaluateRandomRouter(std::span<const EvalPrompt> prompts, int seeds, int num_results) {
  seeds = std::max(seeds, 1);
  std::vector<CurvePoint> mean;
  std::vector<double> scores(prompts.size());
  for (int s = 1; s <= seeds; ++s) {
    Rng rng(static_cast<std::uint64_t>(s));
    for (auto& x : scores) x = rng.Uniform();
    auto curve = RouterCurve(scores, prompts, num_results);
    if (mean.empty()) mean.assign(curve.size(), CurvePoint{});
    for (std::size_t i = 0; i < curve.size() && i < mean.size(); ++i) {
      mean[i].threshold += curve[i].threshold / seeds;
      mean[i].strong_share += curve[i].strong_share / seeds;
      mean[i].performance += curve[i].performance / seeds;
    }
  }
  return MetricsOf(std::move(mean), MeanWeak(prompts), MeanStrong(prompts));
}

// ---- Data ----

core::Result<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false;
  bool any = false;  // the current row has content (a cell or a separator)
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cell.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !cell.empty()) {
        row.push_back(std::move(cell));
        rows.push_back(std::move(row));
      }
      cell.clear();
      row.clear();
      any = false;
    } else {
      cell.push_back(c);
      any = true;
    }
  }
  if (quoted) return Fail(ErrorCode::kInvalidRequest, "CSV: unterminated quoted field");
  if (any || !cell.empty()) {
    row.push_back(std::move(cell));
    rows.push_back(std::move(row));
  }
  return rows;
}

core::Result<std::vector<std::string>> ParseContaminatedPrompts(std::string_view jsonl) {
  std::vector<std::string> out;
  auto ok = ForEachLine(jsonl, [&](std::size_t line_no, std::string_view line) -> core::Result<void> {
    auto obj = ParseObjectLine("contaminated prompts", line_no, line);
    if (!obj) return std::unexpected(obj.error());
    const auto* p = obj->if_contains("eval_prompt");
    if (p == nullptr || !p->is_string()) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("contaminated prompts line {}: no \"eval_prompt\" string", line_no));
    }
    out.emplace_back(p->as_string());
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  return out;
}

core::Result<std::vector<EvalPrompt>> ParseMtBench(std::string_view questions_jsonl, std::string_view judgements_jsonl,
                                                   std::span<const std::string> contaminated,
                                                   std::string_view strong_model, std::string_view weak_model) {
  const std::unordered_set<std::string> bad(contaminated.begin(), contaminated.end());
  struct Question {
    std::int64_t id;
    std::string first_turn;
  };
  std::vector<Question> questions;
  auto ok = ForEachLine(questions_jsonl, [&](std::size_t line_no, std::string_view line) -> core::Result<void> {
    auto obj = ParseObjectLine("MT-Bench questions", line_no, line);
    if (!obj) return std::unexpected(obj.error());
    const auto* id = obj->if_contains("question_id");
    const auto* turns = obj->if_contains("turns");
    if (id == nullptr || !id->is_int64() || turns == nullptr || !turns->is_array() || turns->as_array().empty()) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("MT-Bench questions line {}: needs question_id and turns", line_no));
    }
    bool contaminated_turn = false;
    for (const auto& t : turns->as_array()) {
      if (!t.is_string()) {
        return Fail(ErrorCode::kInvalidRequest, fmt::format("MT-Bench questions line {}: a turn is not a string", line_no));
      }
    }
    // RouteLLM checks the first two turns.
    for (std::size_t i = 0; i < std::min<std::size_t>(2, turns->as_array().size()); ++i) {
      if (bad.contains(std::string(turns->as_array()[i].as_string()))) contaminated_turn = true;
    }
    if (!contaminated_turn) questions.push_back({id->as_int64(), std::string(turns->as_array()[0].as_string())});
    return {};
  });
  if (!ok) return std::unexpected(ok.error());

  // (question, model) -> (sum of scores, count)
  std::map<std::pair<std::int64_t, int>, std::pair<double, int>> judged;
  ok = ForEachLine(judgements_jsonl, [&](std::size_t line_no, std::string_view line) -> core::Result<void> {
    auto obj = ParseObjectLine("MT-Bench judgements", line_no, line);
    if (!obj) return std::unexpected(obj.error());
    const auto* id = obj->if_contains("question_id");
    const auto* model = obj->if_contains("model");
    const auto* score = obj->if_contains("score");
    if (id == nullptr || !id->is_int64() || model == nullptr || !model->is_string() || score == nullptr ||
        !score->is_number()) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("MT-Bench judgements line {}: needs question_id, model and score", line_no));
    }
    const std::string_view m = model->as_string();
    const int which = m == strong_model ? 0 : m == weak_model ? 1 : -1;
    if (which < 0) return {};
    boost::system::error_code ec;
    auto& cell = judged[{id->as_int64(), which}];
    cell.first += score->to_number<double>(ec);
    cell.second += 1;
    return {};
  });
  if (!ok) return std::unexpected(ok.error());

  std::vector<EvalPrompt> out;
  for (auto& q : questions) {
    const auto s = judged.find({q.id, 0});
    const auto w = judged.find({q.id, 1});
    if (s == judged.end() || w == judged.end()) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("MT-Bench: question {} has no judgements for {}", q.id,
                              s == judged.end() ? strong_model : weak_model));
    }
    out.push_back({std::move(q.first_turn), s->second.first / s->second.second, w->second.first / w->second.second});
  }
  return out;
}

core::Result<std::vector<EvalPrompt>> ParseCorrectnessCsv(std::string_view csv_text,
                                                          std::span<const std::string> contaminated,
                                                          std::string_view strong_column, std::string_view weak_column) {
  auto rows = ParseCsv(csv_text);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return Fail(ErrorCode::kInvalidRequest, "CSV: no header");
  const auto& header = rows->front();
  auto column = [&](std::string_view name) -> std::ptrdiff_t {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : it - header.begin();
  };
  const auto prompt_col = column("prompt");
  const auto strong_col = column(strong_column);
  const auto weak_col = column(weak_column);
  if (prompt_col < 0 || strong_col < 0 || weak_col < 0) {
    return Fail(ErrorCode::kInvalidRequest,
                fmt::format("CSV: needs columns prompt, {} and {}", strong_column, weak_column));
  }
  const std::unordered_set<std::string> bad(contaminated.begin(), contaminated.end());
  auto boolean = [](const std::string& v) -> int { return v == "True" ? 1 : v == "False" ? 0 : -1; };
  std::vector<EvalPrompt> out;
  for (std::size_t r = 1; r < rows->size(); ++r) {
    auto& row = (*rows)[r];
    const auto need = static_cast<std::size_t>(std::max({prompt_col, strong_col, weak_col}));
    if (row.size() <= need) return Fail(ErrorCode::kInvalidRequest, fmt::format("CSV: row {} is short", r + 1));
    const int s = boolean(row[static_cast<std::size_t>(strong_col)]);
    const int w = boolean(row[static_cast<std::size_t>(weak_col)]);
    if (s < 0 || w < 0) return Fail(ErrorCode::kInvalidRequest, fmt::format("CSV: row {}: result is not True/False", r + 1));
    if (bad.contains(row[static_cast<std::size_t>(prompt_col)])) continue;
    out.push_back({std::move(row[static_cast<std::size_t>(prompt_col)]), static_cast<double>(s), static_cast<double>(w)});
  }
  return out;
}

}  // namespace meridian::route
