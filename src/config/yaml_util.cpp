#include "config/yaml_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace meridian::config {
namespace {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
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

}  // namespace

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

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string Index(std::string_view path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

std::string_view Suggest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view c : candidates) {
    std::size_t dist = EditDistance(word, c);
    if (dist < best_distance && dist < std::max(word.size(), c.size())) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

std::string UnknownFieldMessage(std::string_view key, std::span<const std::string_view> known) {
  std::string message = fmt::format("unknown field '{}'", key);
  if (std::string_view s = Suggest(key, known); !s.empty()) message += fmt::format("; did you mean '{}'?", s);
  return message;
}

}  // namespace meridian::config
