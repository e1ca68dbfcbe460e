#include "policy/yaml_read.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/jurisdiction.hpp"

namespace meridian::policy::detail {

std::vector<Entry> ReadFields(Issues& issues, const YAML::Node& map, int line,
                              std::string_view path, std::initializer_list<std::string_view> known) {
  std::vector<Entry> out;
  if (!map.IsMap()) {
    issues.Add(line, std::string(path), fmt::format("expected a map, got {}", KindName(map)));
    return out;
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key_node = it->first;
    int key_line = LineOf(key_node);
    if (!key_node.IsScalar()) {
      issues.Add(key_line, std::string(path), "field names must be plain strings");
      continue;
    }
    const std::string& key = key_node.Scalar();
    std::string field = Join(path, key);
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      issues.Add(key_line, field,
                 config::UnknownFieldMessage(key, std::span<const std::string_view>(known.begin(), known.size())));
      continue;
    }
    if (const Entry* first = Find(out, key)) {
      issues.Add(key_line, field, fmt::format("duplicate field '{}' (first set at line {})", key,
                                              first->line));
      continue;
    }
    const YAML::Node value = it->second;
    int value_line = value.IsNull() ? key_line : LineOf(value);
    out.push_back(Entry{key, value, field, value_line > 0 ? value_line : key_line});
  }
  return out;
}

const Entry* Find(const std::vector<Entry>& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::optional<std::string> ReadString(Issues& issues, const YAML::Node& node, int line,
                                      const std::string& path, std::string_view expected) {
  if (!node.IsScalar()) {
    issues.Add(line, path, fmt::format("expected {}, got {}", expected, KindName(node)));
    return std::nullopt;
  }
  auto value = config::InterpolateEnv(node.Scalar());
  if (!value) {
    issues.Add(line, path, value.error().message);
    return std::nullopt;
  }
  return std::move(*value);
}

std::optional<bool> ReadBool(Issues& issues, const Entry& e) {
  auto s = ReadString(issues, e.value, e.line, e.path, "true or false");
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "True" || *s == "TRUE") return true;
  if (*s == "false" || *s == "False" || *s == "FALSE") return false;
  issues.Add(e.line, e.path, fmt::format("expected true or false, got '{}'", *s));
  return std::nullopt;
}

std::optional<int> ReadInt(Issues& issues, const Entry& e, int max) {
  auto s = ReadString(issues, e.value, e.line, e.path, "an integer");
  if (!s) return std::nullopt;
  const std::string& text = *s;
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    issues.Add(e.line, e.path, fmt::format("expected a non-negative integer, got '{}'", text));
    return std::nullopt;
  }
  int v = std::stoi(text);
  if (v > max) {
    issues.Add(e.line, e.path, fmt::format("must be between 0 and {}, got {}", max, v));
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<Item>> ReadStringList(Issues& issues, const Entry& e) {
  std::vector<Item> out;
  if (e.value.IsScalar()) {
    auto s = ReadString(issues, e.value, e.line, e.path);
    if (s) out.push_back(Item{*s, e.line, e.path});
    return out;
  }
  if (!e.value.IsSequence()) {
    issues.Add(e.line, e.path,
               fmt::format("expected a list of strings, got {}", KindName(e.value)));
    return std::nullopt;
  }
  std::size_t i = 0;
  for (const YAML::Node& item : e.value) {
    std::string path = Index(e.path, i++);
    int line = LineOf(item);
    if (line == 0) line = e.line;
    auto s = ReadString(issues, item, line, path);
    if (s) out.push_back(Item{*s, line, path});
  }
  return out;
}

bool CheckJurisdiction(Issues& issues, const Item& item) {
  if (core::IsKnownJurisdiction(item.value)) return true;
  std::string upper = item.value;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != item.value && core::IsKnownJurisdiction(upper)) {
    issues.Add(item.line, item.path,
               fmt::format("unknown jurisdiction '{}': codes are upper case, write '{}'",
                           item.value, upper));
  } else {
    issues.Add(item.line, item.path,
               fmt::format("unknown jurisdiction '{}' (expected an ISO 3166-1 alpha-2 code "
                           "such as 'DE' or 'US', or 'EU')",
                           item.value));
  }
  return false;
}

}  // namespace meridian::policy::detail
