#include "route/quality_lobo.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace meridian::route {

namespace {

using core::ErrorCode;
using core::Fail;

constexpr std::string_view kAcceptedNames = "mt-bench, gsm8k, mmlu";

}  // namespace

std::string_view BenchmarkName(BenchmarkId id) {
  switch (id) {
    case BenchmarkId::kMtBench:
      return "mt-bench";
    case BenchmarkId::kGsm8k:
      return "gsm8k";
    case BenchmarkId::kMmlu:
      return "mmlu";
  }
  return "?";
}

core::Result<std::vector<BenchmarkId>> ParseBenchmarkList(std::string_view comma_separated) {
  bool seen[std::size(kAllBenchmarks)] = {};
  std::size_t count = 0;
  std::string_view rest = comma_separated;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (item.empty()) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("benchmarks \"{}\": empty item (accepted: {})", comma_separated, kAcceptedNames),
                  "benchmarks");
    }
    const auto* it = std::find_if(std::begin(kAllBenchmarks), std::end(kAllBenchmarks),
                                  [&](BenchmarkId id) { return BenchmarkName(id) == item; });
    if (it == std::end(kAllBenchmarks)) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("benchmarks: unknown benchmark \"{}\" (accepted: {})", item, kAcceptedNames),
                  "benchmarks");
    }
    auto& flag = seen[static_cast<std::size_t>(*it)];
    if (flag) {
      return Fail(ErrorCode::kInvalidRequest, fmt::format("benchmarks: \"{}\" is given twice", item), "benchmarks");
    }
    flag = true;
    ++count;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  std::vector<BenchmarkId> out;
  out.reserve(count);
  for (auto id : kAllBenchmarks) {
    if (seen[static_cast<std::size_t>(id)]) out.push_back(id);
  }
  return out;
}

double OutcomeLabel(double strong, double weak) {
  if (strong > weak) return 1.0;
  if (strong < weak) return 0.0;
  return 0.5;
}

std::vector<TrainingExample> OutcomeExamples(std::span<const EvalPrompt> prompts) {
  std::vector<TrainingExample> out;
  out.reserve(prompts.size());
  for (const auto& p : prompts) {
    const double label = OutcomeLabel(p.strong, p.weak);
    out.push_back({p.prompt, label, 1.0, label});
  }
  return out;
}

core::Result<std::vector<TrainingExample>> CombineSources(std::span<const std::vector<TrainingExample>> sources) {
  if (sources.empty()) return Fail(ErrorCode::kInvalidRequest, "combine: no sources");
  std::size_t n = 0;
  std::vector<double> totals;
  for (std::size_t k = 0; k < sources.size(); ++k) {
    if (sources[k].empty()) return Fail(ErrorCode::kInvalidRequest, fmt::format("combine: source {} is empty", k));
    double total = 0;
    for (std::size_t i = 0; i < sources[k].size(); ++i) {
      const double w = sources[k][i].weight;
      if (!(w > 0) || !std::isfinite(w)) {
        return Fail(ErrorCode::kInvalidRequest,
                    fmt::format("combine: source {}, example {}: weight must be > 0", k, i));
      }
      total += w;
    }
    totals.push_back(total);
    n += sources[k].size();
  }
  const double share = static_cast<double>(n) / static_cast<double>(sources.size());
  std::vector<TrainingExample> out;
  out.reserve(n);
  for (std::size_t k = 0; k < sources.size(); ++k) {
    const double scale = share / totals[k];
    for (const auto& ex : sources[k]) {
      out.push_back(ex);
      out.back().weight = ex.weight * scale;
    }
  }
  return out;
}

core::Result<std::vector<TrainingExample>> BenchmarkTrainingSet(std::span<const TrainingExample> base,
                                                                std::span<const BenchmarkPrompts> benchmarks,
                                                                std::optional<BenchmarkId> held_out) {
  std::vector<std::vector<TrainingExample>> sources;
  sources.emplace_back(base.begin(), base.end());
  for (auto id : kAllBenchmarks) {
    const BenchmarkPrompts* found = nullptr;
    for (const auto& b : benchmarks) {
      if (b.id != id) continue;
      if (found != nullptr) {
        return Fail(ErrorCode::kInvalidRequest, fmt::format("training set: {} is given twice", BenchmarkName(id)));
      }
      found = &b;
    }
    if (found == nullptr || id == held_out) continue;
    sources.push_back(OutcomeExamples(found->prompts));
  }
  return CombineSources(sources);
}

}  // namespace meridian::route
