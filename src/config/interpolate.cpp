#include "config/interpolate.hpp"

#include <cstdlib>

#include "config/config.hpp"

namespace meridian::config {
namespace {

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

bool IsValidName(std::string_view name) {
  if (name.empty() || !IsNameStart(name.front())) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

}  // namespace

core::Result<std::string> Interpolate(std::string_view text, const EnvLookup& lookup,
                                      std::string_view tolerate_unset) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      ++i;
      continue;
    }
    char next = text[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next != '{') {
      out += c;
      ++i;
      continue;
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "unterminated '${' in value (missing '}'; write '$$' for a literal '$')");
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string_view name = inner;
    std::string_view fallback;
    bool has_default = false;
    if (std::size_t sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
      has_default = true;
    }
    if (!IsValidName(name)) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "invalid environment variable reference: use ${NAME} or ${NAME:-default} "
                        "with NAME made of letters, digits and '_', not starting with a digit");
    }
    std::string key(name);
    const char* value = lookup(key);
    if (has_default) {
      if (value != nullptr && *value != '\0') {
        out += value;
      } else {
        out += fallback;
      }
    } else if (value != nullptr) {
      out += value;
    } else if (!tolerate_unset.empty() && name == tolerate_unset) {
      // expands to nothing: the backend is disabled because this variable is unset
    } else {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "environment variable '" + key + "' is not set (write ${" + key +
                            ":-default} to give a default)",
                        key);
    }
    i = close + 1;
  }
  return out;
}

core::Result<std::string> InterpolateEnv(std::string_view text) {
  return Interpolate(text, [](const std::string& name) { return std::getenv(name.c_str()); });
}

}  // namespace meridian::config
