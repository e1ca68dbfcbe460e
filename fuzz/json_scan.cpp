// libFuzzer target: gateway::ScanJson and StripNullUsage; corpus/json_scan.
// ScanJson must accept exactly what boost::json::parse accepts (depth 64) and report what the
// tree says. Where the gateway calls StripNullUsage (a scan that found "usage":null) and it
// succeeds, the text must parse to an object with the same members apart from "usage" (the
// value of a duplicated "usage" key may remain).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "fuzz_util.hpp"
#include "gateway/json_scan.hpp"

namespace json = boost::json;
using meridian::gateway::JsonScan;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = meridian::fuzz::AsText(data, size);
  const auto scan = meridian::gateway::ScanJson(text);

  json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  const json::value tree = json::parse(text, ec, {}, opts);
  FUZZ_CHECK(scan.has_value() == !ec,
             scan ? "scan accepted, parse failed: " + ec.message()
                  : "scan failed, parse accepted: " + scan.error().message);
  if (!scan) return 0;

  FUZZ_CHECK(scan->top_level_object == tree.is_object(), "top_level_object");
  if (!tree.is_object()) return 0;
  const json::object& top = tree.get_object();
  // Duplicate keys: Boost.JSON keeps the last one, and so does the scan (it overwrites).
  const json::value* usage = top.if_contains("usage");
  const JsonScan::Usage want = usage == nullptr     ? JsonScan::Usage::kAbsent
                               : usage->is_null()   ? JsonScan::Usage::kNull
                               : usage->is_object() ? JsonScan::Usage::kObject
                                                    : JsonScan::Usage::kOther;
  FUZZ_CHECK(scan->usage == want, "usage kind");
  const json::value* choices = top.if_contains("choices");
  if (choices != nullptr && choices->is_array() && choices->get_array().empty()) {
    FUZZ_CHECK(scan->choices_empty, "choices_empty");
  }

  if (scan->usage == JsonScan::Usage::kNull) {
    std::string stripped(text);
    if (meridian::gateway::StripNullUsage(stripped)) {
      const json::value after = json::parse(stripped, ec, {}, opts);
      FUZZ_CHECK(!ec, "stripped text does not parse: " + stripped);
      FUZZ_CHECK(after.is_object(), "stripped text is not an object: " + stripped);
      const json::object& got = after.get_object();
      const json::value* usage_after = got.if_contains("usage");
      FUZZ_CHECK(got.size() == top.size() - (usage_after == nullptr ? 1 : 0),
                 "stripped more than the usage member: " + stripped);
      for (const auto& member : top) {
        if (member.key() == "usage") continue;
        const json::value* v = got.if_contains(member.key());
        FUZZ_CHECK(v != nullptr && *v == member.value(), "stripped the wrong member: " + stripped);
      }
      FUZZ_CHECK(usage_after == nullptr || !usage_after->is_null(), "usage:null left: " + stripped);
    }
  }
  return 0;
}
