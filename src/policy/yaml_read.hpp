#pragma once
// Internal to src/policy: small YAML readers that report problems as config::ConfigIssue
// ("FILE:LINE: FIELD: MESSAGE"), in the style of src/config. Not a public interface.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/yaml_util.hpp"

namespace meridian::policy::detail {

// Collects issues for one file.
struct Issues {
  std::string file;
  std::vector<config::ConfigIssue> list;
  void Add(int line, std::string field, std::string message) {
    list.push_back(config::ConfigIssue{file, line, std::move(field), std::move(message)});
  }
};

// The shared YAML helpers of the config module.
using config::Index;
using config::Join;
using config::KindName;
using config::LineOf;

struct Entry {
  std::string key;
  YAML::Node value;
  std::string path;   // dotted path of the value
  int line = 0;       // line of the value (the key's line for empty values)
};

// The entries of `map` (which must be a map; otherwise one issue and an empty result).
// Unknown keys (with a "did you mean" hint), non-string keys and duplicates are reported and
// left out.
std::vector<Entry> ReadFields(Issues& issues, const YAML::Node& map, int line,
                              std::string_view path, std::initializer_list<std::string_view> known);
const Entry* Find(const std::vector<Entry>& entries, std::string_view key);

// A scalar with ${ENV} references expanded (config::InterpolateEnv). nullopt after an issue.
std::optional<std::string> ReadString(Issues& issues, const YAML::Node& node, int line,
                                      const std::string& path, std::string_view expected = "a string");
std::optional<bool> ReadBool(Issues& issues, const Entry& e);
// A non-negative integer up to `max`.
std::optional<int> ReadInt(Issues& issues, const Entry& e, int max);

struct Item {
  std::string value;
  int line = 0;
  std::string path;
};
// A list of strings, or a single string treated as a one-item list. Failed items are reported
// and left out; nullopt only when the value is neither.
std::optional<std::vector<Item>> ReadStringList(Issues& issues, const Entry& e);

// Checks a jurisdiction code and reports an unknown one (with an upper-case hint). True if known.
bool CheckJurisdiction(Issues& issues, const Item& item);

}  // namespace meridian::policy::detail
