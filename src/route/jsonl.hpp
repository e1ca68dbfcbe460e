#pragma once
// Walking the lines of a JSON-lines text (training and evaluation data of the quality router).
// Internal to src/route/. Pure; thread-safe.

#include <cstddef>
#include <string_view>

#include "core/error.hpp"

namespace meridian::route::jsonl {

// Calls fn(line_number, line) for each line that is not blank (1-based numbers; a trailing
// CR is removed), stopping at the first failure fn returns, which is returned.
template <class Fn>
core::Result<void> ForEachLine(std::string_view text, Fn&& fn) {
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (auto ok = fn(line_no, line); !ok) return ok;
  }
  return {};
}

}  // namespace meridian::route::jsonl
