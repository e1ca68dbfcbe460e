#pragma once
// Helpers shared by the libFuzzer targets in fuzz/ (docs/ARCHITECTURE.md, "Fuzzing"): the input
// framings the targets agree on with fuzz/seed_corpus.py, and the invariant check.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "dialect/canonical.hpp"

// An invariant that does not hold is a crash: libFuzzer saves the input as the reproducer.
#define FUZZ_CHECK(cond, what)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n  %s\n", __FILE__, __LINE__, \
                   #cond, std::string(what).c_str());                                       \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace meridian::fuzz {

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// "first\nrest" → {"first", "rest"}; no newline → {text, ""}.
inline std::pair<std::string_view, std::string_view> SplitLine(std::string_view text) {
  const std::size_t nl = text.find('\n');
  if (nl == std::string_view::npos) return {text, {}};
  return {text.substr(0, nl), text.substr(nl + 1)};
}

// An upstream error as one text, like an HTTP response without the status text:
//   "<status>\n" { "<header>: <value>\n" } "\n" <body>
// Headers read: retry-after, retry-after-ms, x-should-retry, request-id. A status that is not a
// number in 100..999 (what an HTTP parser lets through) is 500; text without the blank line is
// all headers and an empty body.
struct ErrorInput {
  int status = 500;
  dialect::ErrorHeaders headers;
  std::string_view body;
};

inline ErrorInput ParseErrorInput(std::string_view text) {
  ErrorInput in;
  auto [status, rest] = SplitLine(text);
  int value = 0;
  auto [end, ec] = std::from_chars(status.data(), status.data() + status.size(), value);
  if (ec == std::errc() && end == status.data() + status.size() && value >= 100 && value <= 999) {
    in.status = value;
  }
  while (!rest.empty()) {
    auto [line, after] = SplitLine(rest);
    rest = after;
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view v = line.substr(colon + 1);
    if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    if (name == "retry-after") in.headers.retry_after = v;
    else if (name == "retry-after-ms") in.headers.retry_after_ms = v;
    else if (name == "x-should-retry") in.headers.should_retry = v;
    else if (name == "request-id") in.headers.request_id = v;
  }
  in.body = rest;
  return in;
}

// Whether two JSON values are the same: members in any order, a null member the same as an
// absent one (the decoders read both as absent; NaN is written as null), numbers by value,
// doubles to 12 significant digits (Boost.JSON 1.81 reads a double to within a few ulps, so
// writing a read double and reading it again may move its last digits).
inline bool SameJson(const boost::json::value& a, const boost::json::value& b) {
  const auto number = [](const boost::json::value& v, double& out) {
    if (v.is_double()) out = v.get_double();
    else if (v.is_int64()) out = static_cast<double>(v.get_int64());
    else if (v.is_uint64()) out = static_cast<double>(v.get_uint64());
    else return false;
    return true;
  };
  double x = 0, y = 0;
  if (number(a, x) && number(b, y)) {
    return x == y || std::fabs(x - y) <= 1e-12 * std::fmax(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_object()) {
    const auto& ao = a.get_object();
    const auto& bo = b.get_object();
    const auto covers = [](const boost::json::object& x, const boost::json::object& y) {
      for (const auto& kv : x) {
        const boost::json::value* other = y.if_contains(kv.key());
        if (other == nullptr ? !kv.value().is_null() : !SameJson(kv.value(), *other)) return false;
      }
      return true;
    };
    return covers(ao, bo) && covers(bo, ao);
  }
  if (a.is_array()) {
    const auto& aa = a.get_array();
    const auto& ba = b.get_array();
    if (aa.size() != ba.size()) return false;
    for (std::size_t i = 0; i < aa.size(); ++i) {
      if (!SameJson(aa[i], ba[i])) return false;
    }
    return true;
  }
  return a == b;
}

// Two texts that must both be JSON and hold the same value (SameJson).
inline bool SameJsonText(std::string_view a, std::string_view b) {
  boost::system::error_code ea, eb;
  const boost::json::value va = boost::json::parse(a, ea);
  const boost::json::value vb = boost::json::parse(b, eb);
  return !ea && !eb && SameJson(va, vb);
}

// The headers an encoded error carries, as the next hop reads them.
inline dialect::ErrorHeaders Headers(const dialect::HttpError& error) {
  dialect::ErrorHeaders h;
  for (const auto& [name, value] : error.headers) {
    if (name == "retry-after") h.retry_after = value;
    else if (name == "retry-after-ms") h.retry_after_ms = value;
    else if (name == "x-should-retry") h.should_retry = value;
    else if (name == "request-id" || name == "x-request-id") h.request_id = value;
  }
  return h;
}

}  // namespace meridian::fuzz
