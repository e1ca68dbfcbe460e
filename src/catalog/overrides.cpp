#include "catalog/overrides.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include "catalog/decimal.hpp"

namespace meridian::catalog {
namespace {

constexpr int kMicroScale = 6;  // USD per million tokens -> micro-USD per million tokens
constexpr std::int64_t kMaxTokens = 100'000'000;
constexpr int kMaxQualityTier = 10;

constexpr std::array<std::string_view, 9> kFields = {
    "input_per_mtok",     "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
    "reasoning_per_mtok", "context_window",  "max_output_tokens",   "quality_tier",
    "above"};
// The fields of one tier under `above`.
constexpr std::array<std::string_view, 5> kTierFields = {
    "input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok"};

// The price member `key` names in a PriceOverride or a PriceTier; nullptr for any other key.
template <typename T>
std::optional<PicoUsdPerToken>* PriceSlot(T& target, std::string_view key) {
  if (key == "input_per_mtok") return &target.input;
  if (key == "output_per_mtok") return &target.output;
  if (key == "cache_read_per_mtok") return &target.cache_read;
  if (key == "cache_write_per_mtok") return &target.cache_write;
  if (key == "reasoning_per_mtok") return &target.reasoning;
  return nullptr;
}

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

std::string UnknownField(std::string_view key, std::span<const std::string_view> fields) {
  std::string message = fmt::format("unknown field '{}'", key);
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view c : fields) {
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

  // True (and reported) when `key` was seen before in this map; else remembers it.
  bool Duplicate(std::vector<std::pair<std::string, int>>& seen, const std::string& key, int line,
                 const std::string& field) {
    auto dup = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == key; });
    if (dup != seen.end()) {
      Error(line, field, fmt::format("duplicate field '{}' (first set at line {})", key, dup->second));
      return true;
    }
    seen.emplace_back(key, line);
    return false;
  }

  // One tier's prices: {input_per_mtok, ...}; nullopt (reported) when it is not a valid one.
  std::optional<PriceTier> Tier(const YAML::Node& value, std::int64_t above, int line, const std::string& path) {
    if (!value.IsMap()) {
      Error(line, path, fmt::format("expected a map of prices, got {}", KindName(value)));
      return std::nullopt;
    }
    PriceTier tier;
    tier.above_tokens = above;
    std::vector<std::pair<std::string, int>> seen;
    const std::size_t errors = issues.size();
    for (auto f = value.begin(); f != value.end(); ++f) {
      const std::string key = f->first.Scalar();
      const int key_line = LineOf(f->first);
      const std::string field = fmt::format("{}.{}", path, key);
      if (Duplicate(seen, key, key_line, field)) continue;
      if (std::optional<PicoUsdPerToken>* slot = PriceSlot(tier, key)) {
        *slot = Price(f->second, field);
      } else {
        Error(key_line, field, UnknownField(key, kTierFields));
      }
    }
    if (seen.empty()) {
      Error(line, path,
            "sets nothing; expected at least one of input_per_mtok, output_per_mtok, cache_read_per_mtok, "
            "cache_write_per_mtok, reasoning_per_mtok");
    }
    if (issues.size() != errors) return std::nullopt;
    return tier;
  }

  // `above`: {TOKENS: tier}, sorted by TOKENS. Reports every problem; the result is complete only
  // when none was found (the caller fails on any issue).
  std::vector<PriceTier> Tiers(const YAML::Node& node, int line, const std::string& path) {
    std::vector<PriceTier> out;
    if (!node.IsMap()) {
      Error(line, path,  // the key's line: an empty value's mark is on the next token
            fmt::format("expected a map of prompt-token thresholds to prices (e.g. 200000: {{input_per_mtok: 6}}), "
                        "got {}",
                        KindName(node)));
      return out;
    }
    std::map<std::int64_t, int> thresholds;  // threshold -> line
    for (auto it = node.begin(); it != node.end(); ++it) {
      const int key_line = LineOf(it->first);
      const std::string tier_path = fmt::format("{}.{}", path, it->first.IsScalar() ? it->first.Scalar() : "?");
      std::optional<std::int64_t> above = Integer(it->first, tier_path, 1, kMaxTokens);
      if (!above) continue;
      if (auto [first, inserted] = thresholds.emplace(*above, key_line); !inserted) {
        Error(key_line, tier_path, fmt::format("duplicate threshold {} (first set at line {})", *above, first->second));
        continue;
      }
      if (std::optional<PriceTier> tier = Tier(it->second, *above, key_line, tier_path)) out.push_back(*tier);
    }
    std::sort(out.begin(), out.end(), [](const PriceTier& a, const PriceTier& b) { return a.above_tokens < b.above_tokens; });
    return out;
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
      if (r.Duplicate(seen, key, key_line, field)) continue;
      const YAML::Node value = f->second;
      any = true;
      if (std::optional<PicoUsdPerToken>* slot = PriceSlot(o, key)) {
        *slot = r.Price(value, field);
      } else if (key == "above") {
        o.tiers = r.Tiers(value, key_line, field);
      } else if (key == "context_window") {
        o.context_window = r.Integer(value, field, 1, kMaxTokens);
      } else if (key == "max_output_tokens") {
        o.max_output_tokens = r.Integer(value, field, 1, kMaxTokens);
      } else if (key == "quality_tier") {
        if (auto v = r.Integer(value, field, 0, kMaxQualityTier)) o.quality_tier = static_cast<int>(*v);
      } else {
        r.Error(key_line, field, UnknownField(key, kFields));
      }
    }
    if (!any) {
      r.Error(model_line, model_path,
              "sets nothing; expected at least one of input_per_mtok, output_per_mtok, cache_read_per_mtok, "
              "cache_write_per_mtok, reasoning_per_mtok, context_window, max_output_tokens, quality_tier, above");
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
  if (o.tiers) base.prices.tiers = *o.tiers;
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
