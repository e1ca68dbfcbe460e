#pragma once
// Helpers for the dialect tests: fixture loading (tests/fixtures/dialect), JSON comparison
// that names the first difference, and splitting SSE output into events.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace meridian::dialect::testing {

namespace json = boost::json;

inline std::filesystem::path FixtureDir(std::string_view sub) {
  return std::filesystem::path(MERIDIAN_SOURCE_DIR) / "tests" / "fixtures" / "dialect" / sub;
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fixture names (file stems) in tests/fixtures/dialect/<sub>, sorted.
inline std::vector<std::string> ListFixtures(std::string_view sub) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(FixtureDir(sub), ec)) {
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline json::object LoadFixture(std::string_view sub, const std::string& name) {
  const std::string text = ReadFile(FixtureDir(sub) / (name + ".json"));
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << sub << "/" << name << ".json: " << ec.message();
  if (ec || !v.is_object()) return {};
  return std::move(v.get_object());
}

inline bool IsNumber(const json::value& v) {
  return v.is_int64() || v.is_uint64() || v.is_double();
}
inline double AsDouble(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

// "" when equal, else the path of the first difference and both values. Numbers compare by
// value (1 == 1.0); object member order does not matter.
inline std::string JsonDiff(const json::value& want, const json::value& got,
                            const std::string& path = "$") {
  if (IsNumber(want) && IsNumber(got)) {
    if (AsDouble(want) == AsDouble(got)) return {};
    return path + ": want " + json::serialize(want) + ", got " + json::serialize(got);
  }
  if (want.kind() != got.kind()) {
    return path + ": want " + json::serialize(want) + ", got " + json::serialize(got);
  }
  if (want.is_object()) {
    const auto& w = want.get_object();
    const auto& g = got.get_object();
    for (const auto& kv : w) {
      const json::value* gv = g.if_contains(kv.key());
      if (gv == nullptr) return path + "." + std::string(kv.key()) + ": missing in output";
      std::string d = JsonDiff(kv.value(), *gv, path + "." + std::string(kv.key()));
      if (!d.empty()) return d;
    }
    for (const auto& kv : g) {
      if (!w.contains(kv.key())) {
        return path + "." + std::string(kv.key()) + ": unexpected in output (" +
               json::serialize(kv.value()) + ")";
      }
    }
    return {};
  }
  if (want.is_array()) {
    const auto& w = want.get_array();
    const auto& g = got.get_array();
    for (std::size_t i = 0; i < std::min(w.size(), g.size()); ++i) {
      std::string d = JsonDiff(w[i], g[i], path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    if (w.size() != g.size()) {
      return path + ": want " + std::to_string(w.size()) + " elements, got " +
             std::to_string(g.size()) + ": " + json::serialize(got);
    }
    return {};
  }
  if (want != got) return path + ": want " + json::serialize(want) + ", got " + json::serialize(got);
  return {};
}

inline json::value ParseOrString(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
}

// One SSE event of an encoder's output: its event name ("" when absent) and data; comments
// become {event: ":", data: "<text>"}.
struct SseOut {
  std::string event;
  std::string data;
};

inline std::vector<SseOut> SplitSse(std::string_view bytes) {
  std::vector<SseOut> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t end = bytes.find("\n\n", pos);
    if (end == std::string_view::npos) {
      ADD_FAILURE() << "SSE output does not end in a blank line: " << bytes.substr(pos);
      break;
    }
    std::string_view block = bytes.substr(pos, end - pos);
    pos = end + 2;
    SseOut ev;
    std::size_t lp = 0;
    while (lp <= block.size()) {
      std::size_t le = block.find('\n', lp);
      if (le == std::string_view::npos) le = block.size();
      std::string_view line = block.substr(lp, le - lp);
      lp = le + 1;
      if (line.rfind("event: ", 0) == 0) ev.event = line.substr(7);
      else if (line.rfind("data: ", 0) == 0) ev.data += line.substr(6);
      else if (line.rfind(": ", 0) == 0) {
        ev.event = ":";
        ev.data = line.substr(2);
      } else if (!line.empty()) {
        ADD_FAILURE() << "unexpected SSE line: " << line;
      }
    }
    out.push_back(std::move(ev));
  }
  return out;
}

}  // namespace meridian::dialect::testing
