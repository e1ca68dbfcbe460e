#include "catalog/overrides.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "catalog/decimal.hpp"

namespace meridian::catalog {
namespace {

constexpr int kMicroScale = 6;  // USD per million tokens -> micro-USD per million tokens
constexpr std::int64_t kMaxTokens = 100'000'000;
constexpr int kMaxQualityTier = 10;

constexpr std::array<std::string_view, 8> kFields = {
    "input_per_mtok",  "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
    "reasoning_per_mtok", "context_window", "max_output_tokens", "quality_tier"};

int LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

std::string_view KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "an empty value";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// Optimal string alignment distance, for "did you mean" hints.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string UnknownField(std::string_view key) {
  std::string message = fmt::format("unknown field '{}'", key);
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view c : kFields) {
    std::size_t dist = EditDistance(key, c);
    if (dist < best_distance && dist < std::max(key.size(), c.size())) {
      best = c;
      best_distance = dist;
    }
  }
  if (!best.empty()) message += fmt::format("; did you mean '{}'?", best);
  return message;
}

struct Reader {
  std::string_view file;
  const ScalarFilter& filter;
  std::vector<Issue> issues;

  void Error(int line, std::string field, std::string message) {
    issues.push_back(Issue{std::string(file), line, std::move(field), std::move(message)});
  }

  // The scalar's text after the filter; nullopt (reported) when not a scalar or the filter fails.
  std::optional<std::string> Text(const YAML::Node& value, const std::string& field) {
    if (!value.IsScalar()) {
      Error(LineOf(value), field, fmt::format("expected a number, got {}", KindName(value)));
      return std::nullopt;
    }
    if (!filter) return value.Scalar();
    core::Result<std::string> text = filter(value.Scalar());
    if (!text) {
      Error(LineOf(value), field, text.error().message);
      return std::nullopt;
    }
    return std::move(*text);
  }

  std::optional<PicoUsdPerToken> Price(const YAML::Node& value, const std::string& field) {
    std::optional<std::string> text = Text(value, field);
    if (!text) return std::nullopt;
    const int line = LineOf(value);
    if (!text->empty() && text->front() == '-') {
      Error(line, field, fmt::format("must not be negative, got {}", *text));
      return std::nullopt;
    }
    std::optional<ScaledDecimal> scaled = ParseScaledDecimal(*text, kMicroScale);
    if (!scaled) {
      Error(line, field,
            fmt::format("expected a number of USD per million tokens (e.g. 2.5), got '{}'", *text));
      return std::nullopt;
    }
    if (!scaled->exact) {
      Error(line, field,
            fmt::format("at most 6 decimal places (1 micro-USD per million tokens), got {}", *text));
      return std::nullopt;
    }
    return scaled->value;
  }

  std::optional<std::int64_t> Integer(const YAML::Node& value, const std::string& field, std::int64_t min,
                                      std::int64_t max) {
    std::optional<std::string> text = Text(value, field);
    if (!text) return std::nullopt;
    const int line = LineOf(value);
    if (!text->empty() && text->front() == '-') {
      Error(line, field, fmt::format("must not be negative, got {}", *text));
      return std::nullopt;
    }
    bool digits = !text->empty() && text->size() <= 18 &&
                  std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      Error(line, field, fmt::format("expected an integer, got '{}'", *text));
      return std::nullopt;
    }
    std::int64_t v = std::stoll(*text);
    if (v < min || v > max) {
      Error(line, field, fmt::format("must be between {} and {}, got {}", min, max, v));
      return std::nullopt;
    }
    return v;
  }
};

}  // namespace

std::expected<PriceOverrides, std::vector<Issue>> ParsePriceOverrides(const YAML::Node& node,
                                                                      std::string_view path,
                                                                      std::string_view file,
                                                                      const ScalarFilter& filter) {
  PriceOverrides out;
  if (!node.IsDefined() || node.IsNull()) return out;
  Reader r{file, filter, {}};
  std::map<std::string, int, std::less<>> model_lines;  // every model key seen, valid or not
  if (!node.IsMap()) {
    r.Error(LineOf(node), std::string(path),
            fmt::format("expected a map of model ids to prices, got {}", KindName(node)));
    return std::unexpected(std::move(r.issues));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string model = it->first.Scalar();
    const int model_line = LineOf(it->first);
    const std::string model_path = fmt::format("{}.{}", path, model);
    if (model.empty() || model.find_first_of(" \t\r\n") != std::string::npos) {
      r.Error(model_line, model_path, "a model id must be non-empty and without spaces");
      continue;
    }
    if (auto [first, inserted] = model_lines.emplace(model, model_line); !inserted) {
      r.Error(model_line, model_path, fmt::format("duplicate model '{}' (first set at line {})", model, first->second));
      continue;
    }
    const YAML::Node fields = it->second;
    if (!fields.IsMap()) {
      r.Error(LineOf(fields) ? LineOf(fields) : model_line, model_path,
              fmt::format("expected a map of prices, got {}", KindName(fields)));
      continue;
    }
    PriceOverride o;
    o.line = model_line;
    std::vector<std::pair<std::string, int>> seen;
    bool any = false;
    for (auto f = fields.begin(); f != fields.end(); ++f) {
      const std::string key = f->first.Scalar();
      const int key_line = LineOf(f->first);
      const std::string field = fmt::format("{}.{}", model_path, key);
      auto dup = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == key; });
      if (dup != seen.end()) {
        r.Error(key_line, field, fmt::format("duplicate field '{}' (first set at line {})", key, dup->second));
        continue;
      }
      seen.emplace_back(key, key_line);
      const YAML::Node value = f->second;
      any = true;
      if (key == "input_per_mtok") {
        o.input = r.Price(value, field);
      } else if (key == "output_per_mtok") {
        o.output = r.Price(value, field);
      } else if (key == "cache_read_per_mtok") {
        o.cache_read = r.Price(value, field);
      } else if (key == "cache_write_per_mtok") {
        o.cache_write = r.Price(value, field);
      } else if (key == "reasoning_per_mtok") {
        o.reasoning = r.Price(value, field);
      } else if (key == "context_window") {
        o.context_window = r.Integer(value, field, 1, kMaxTokens);
      } else if (key == "max_output_tokens") {
        o.max_output_tokens = r.Integer(value, field, 1, kMaxTokens);
      } else if (key == "quality_tier") {
        if (auto v = r.Integer(value, field, 0, kMaxQualityTier)) o.quality_tier = static_cast<int>(*v);
      } else {
        r.Error(key_line, field, UnknownField(key));
      }
    }
    if (!any) {
      r.Error(model_line, model_path,
              "sets nothing; expected at least one of input_per_mtok, output_per_mtok, cache_read_per_mtok, "
              "cache_write_per_mtok, reasoning_per_mtok, context_window, max_output_tokens, quality_tier");
      continue;
    }
    out.emplace(model, o);
  }
  if (!r.issues.empty()) {
    std::stable_sort(r.issues.begin(), r.issues.end(),
                     [](const Issue& a, const Issue& b) { return a.line < b.line; });
    return std::unexpected(std::move(r.issues));
  }
  return out;
}

Entry ApplyOverride(Entry base, const PriceOverride& o) {
  if (o.input) base.prices.input = o.input;
  if (o.output) base.prices.output = o.output;
  if (o.cache_read) base.prices.cache_read = o.cache_read;
  if (o.cache_write) base.prices.cache_write = o.cache_write;
  if (o.reasoning) base.prices.reasoning = o.reasoning;
  if (o.context_window) base.max_input_tokens = o.context_window;
  if (o.max_output_tokens) base.max_output_tokens = o.max_output_tokens;
  if (o.quality_tier) base.quality_tier = o.quality_tier;
  base.overridden = true;
  return base;
}

std::optional<Entry> Resolve(const Catalog& catalog, std::string_view model, std::string_view provider_hint,
                             const PriceOverrides* overrides) {
  const Entry* base = catalog.Find(model, provider_hint);
  const PriceOverride* o = nullptr;
  if (overrides != nullptr) {
    if (auto it = overrides->find(model); it != overrides->end()) o = &it->second;
  }
  if (o == nullptr) {
    if (base == nullptr) return std::nullopt;
    return *base;
  }
  if (base != nullptr) return ApplyOverride(*base, *o);
  Entry fresh;
  fresh.key = std::string(model);
  fresh.provider = std::string(provider_hint);
  return ApplyOverride(std::move(fresh), *o);
}

}  // namespace meridian::catalog
