#pragma once
// Small helpers for reading YAML configuration with precise messages, shared by the modules
// that parse parts of the configuration file (config, policy). Pure; thread-safe.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace meridian::config {

// 1-based line of `node`; 0 when unknown.
int LineOf(const YAML::Node& node);
// "a map", "a list", "a scalar", "an empty value" — for "expected X, got Y" messages.
std::string_view KindName(const YAML::Node& node);
// Dotted field paths: Join("server", "listen") = "server.listen"; Index("backends", 2) =
// "backends[2]".
std::string Join(std::string_view path, std::string_view key);
std::string Index(std::string_view path, std::size_t i);
// The candidate closest to `word` within edit distance 2 (ties: the first), or "".
std::string_view Suggest(std::string_view word, std::span<const std::string_view> candidates);
// "unknown field 'timout'; did you mean 'timeout'?" (the hint only when one is close).
std::string UnknownFieldMessage(std::string_view key, std::span<const std::string_view> known);

}  // namespace meridian::config
