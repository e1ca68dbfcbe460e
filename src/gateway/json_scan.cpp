#include "gateway/json_scan.hpp"

#include <boost/json/basic_parser_impl.hpp>

namespace meridian::gateway {
namespace {

namespace json = boost::json;
using boost::system::error_code;

// SAX handler: tracks depth and the path of the member being read (top-level key, and a key
// inside the top-level "usage" object).
struct ScanHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  JsonScan result;
  int depth = 0;                 // containers open
  bool text_value = false;       // the member being read holds generated text (JsonScan::text_bytes)
  bool in_usage = false;         // inside the top-level "usage" object (depth 2)
  enum class Top { kOther, kUsage, kChoices } top_key = Top::kOther;
  enum class Sub { kOther, kPrompt, kCompletion, kPromptDetails, kCompletionDetails } sub_key = Sub::kOther;
  // Inside usage.prompt_tokens_details / usage.completion_tokens_details (depth 3).
  Sub details = Sub::kOther;
  bool detail_wanted = false;      // the current depth-3 key is cached_tokens/reasoning_tokens
  std::string key;               // a key split across parts (escapes)

  void TopValue(JsonScan::Usage kind) {
    if (depth == 1 && top_key == Top::kUsage) result.usage = kind;
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    text_value = false;
    if (depth == 0) result.top_level_object = true;
    if (depth == 1 && top_key == Top::kUsage) {
      result.usage = JsonScan::Usage::kObject;
      in_usage = true;
    }
    if (depth == 2 && in_usage &&
        (sub_key == Sub::kPromptDetails || sub_key == Sub::kCompletionDetails)) {
      details = sub_key;
    }
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth;
    if (depth == 1) in_usage = false;
    if (depth == 2) details = Sub::kOther;
    return true;
  }
  bool on_array_begin(error_code&) {
    text_value = false;
    TopValue(JsonScan::Usage::kOther);
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t n, error_code&) {
    --depth;
    if (depth == 1 && top_key == Top::kChoices && n == 0) result.choices_empty = true;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    std::string_view k(s.data(), s.size());
    if (!key.empty()) {
      key.append(k);
      k = key;
    }
    if (depth == 1) {
      top_key = k == "usage" ? Top::kUsage : k == "choices" ? Top::kChoices : Top::kOther;
    } else if (depth == 2 && in_usage) {
      sub_key = k == "prompt_tokens"               ? Sub::kPrompt
                : k == "completion_tokens"           ? Sub::kCompletion
                : k == "prompt_tokens_details"       ? Sub::kPromptDetails
                : k == "completion_tokens_details"   ? Sub::kCompletionDetails
                                                     : Sub::kOther;
    } else if (depth == 3 && details != Sub::kOther) {
      detail_wanted = details == Sub::kPromptDetails ? k == "cached_tokens" : k == "reasoning_tokens";
    }
    text_value = depth >= 3 && top_key == Top::kChoices &&
                 (k == "content" || k == "reasoning_content" || k == "refusal" || k == "text" || k == "arguments");
    key.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, error_code&) { return true; }
  bool on_string(json::string_view, std::size_t n, error_code&) {
    if (text_value) result.text_bytes += static_cast<std::int64_t>(n);
    text_value = false;
    TopValue(JsonScan::Usage::kOther);
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t v, json::string_view, error_code&) {
    TopValue(JsonScan::Usage::kOther);
    if (depth == 2 && in_usage) {
      if (sub_key == Sub::kPrompt) result.prompt_tokens = v;
      if (sub_key == Sub::kCompletion) result.completion_tokens = v;
    }
    if (depth == 3 && details != Sub::kOther && detail_wanted) {
      if (details == Sub::kPromptDetails) result.cached_tokens = v;
      else result.reasoning_tokens = v;
    }
    return true;
  }
  bool on_uint64(std::uint64_t, json::string_view, error_code&) {
    TopValue(JsonScan::Usage::kOther);
    return true;
  }
  bool on_double(double, json::string_view, error_code&) {
    TopValue(JsonScan::Usage::kOther);
    return true;
  }
  bool on_bool(bool, error_code&) {
    TopValue(JsonScan::Usage::kOther);
    return true;
  }
  bool on_null(error_code&) {
    text_value = false;
    TopValue(JsonScan::Usage::kNull);
    return true;
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

}  // namespace

core::Result<JsonScan> ScanJson(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = 64;
  json::basic_parser<ScanHandler> parser(opts);
  error_code ec;
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = json::error::extra_data;
  if (ec) return core::Fail(core::ErrorCode::kUpstreamError, ec.message());
  return parser.handler().result;
}

namespace {

// Whether offset `at` of a JSON object text is directly inside the top-level object (depth 1,
// outside any string): a nested "usage":null must not be taken for the top-level member.
bool AtTopLevel(std::string_view text, std::size_t at) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < at; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return depth == 1 && !in_string;
}

}  // namespace

bool StripNullUsage(std::string& text) {
  constexpr std::string_view kMember = "\"usage\":null";
  auto at = text.find(kMember);
  if (at == std::string::npos || text.find(kMember, at + 1) != std::string::npos) return false;
  if (!AtTopLevel(text, at)) return false;
  auto end = at + kMember.size();
  if (end < text.size() && text[end] == ',') {
    text.erase(at, kMember.size() + 1);  // "usage":null,  (not the last member)
    return true;
  }
  if (at > 0 && text[at - 1] == ',') {
    text.erase(at - 1, kMember.size() + 1);  // ,"usage":null  (the last member)
    return true;
  }
  return false;
}

}  // namespace meridian::gateway
