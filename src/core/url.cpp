#include "core/url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace meridian::core {
namespace {

// Messages never echo the URL: it may hold secrets the user did not mean to expose.
Result<Url> Bad(std::string message) {
  return Fail(ErrorCode::kInvalidRequest, std::move(message));
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return Lower(x) == Lower(y); });
}

// Dotted-quad IPv4 without leading zeros ("010.0.0.1" is ambiguous, so refused).
bool IsIpv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    std::size_t len = i - start;
    if (len == 0 || len > 3) return false;
    if (len > 1 && s[start] == '0') return false;
    int value = 0;
    std::from_chars(s.data() + start, s.data() + i, value);
    if (value > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.') return false;
    ++i;
  }
  return parts == 4;
}

bool IsIpv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  std::string copy(s);
  unsigned char buf[16];
  return inet_pton(AF_INET6, copy.c_str(), buf) == 1;
}

// DNS name: labels of [A-Za-z0-9_-] (underscore tolerated for container service names),
// 1..63 characters, not starting or ending with '-'; at most 253 characters in all.
bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t dot = s.find('.', i);
    if (dot == std::string_view::npos) dot = s.size();
    std::string_view label = s.substr(i, dot - i);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '_') return false;
    }
    i = dot + 1;
    if (dot == s.size()) break;
  }
  return true;
}

bool IsPathChar(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                      // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')':  // sub-delims
    case '*': case '+': case ',': case ';': case '=':
    case ':': case '/':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string Url::HostHeader() const {
  std::string out;
  bool v6 = host.find(':') != std::string::npos;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  uint16_t default_port = tls ? 443 : 80;
  if (port != 0 && port != default_port) {
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  if (text.empty()) return Bad("URL is empty");
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return Bad("URL must not contain spaces or control characters");
    if (u >= 0x80) return Bad("URL must be ASCII (write international host names in punycode)");
  }
  // Checked before anything else so that no later message can quote a credential.
  if (text.find('@') != std::string_view::npos) {
    return Bad("user-info (user:password@) is not allowed in URLs; pass credentials as api_key");
  }

  Url url;
  std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) return Bad("URL must start with http:// or https://");
  std::string_view scheme = text.substr(0, sep);
  if (EqualsNoCase(scheme, "https")) {
    url.tls = true;
  } else if (EqualsNoCase(scheme, "http")) {
    url.tls = false;
  } else {
    bool printable = !scheme.empty() && scheme.size() <= 16 &&
                     std::all_of(scheme.begin(), scheme.end(), [](char c) {
                       return IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.';
                     });
    if (printable) {
      return Bad("unsupported scheme '" + std::string(scheme) + "' (expected http or https)");
    }
    return Bad("unsupported scheme (expected http or https)");
  }

  std::string_view rest = text.substr(sep + 3);
  if (rest.find('?') != std::string_view::npos) return Bad("query strings are not allowed in URLs");
  if (rest.find('#') != std::string_view::npos) return Bad("fragments are not allowed in URLs");

  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);

  // Host, then optional ":port".
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (authority.empty()) return Bad("URL has no host");
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad("unterminated '[' in IPv6 host");
    host = authority.substr(1, close - 1);
    if (!IsIpv6(host)) return Bad("invalid IPv6 address in host");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad("unexpected characters after IPv6 host");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':', colon + 1) != std::string_view::npos) {
        return Bad("IPv6 addresses must be written in brackets, e.g. http://[::1]:8080");
      }
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    host = authority.substr(0, colon);
    if (host.empty()) return Bad("URL has no host");
    bool numeric = std::all_of(host.begin(), host.end(), [](char c) { return IsDigit(c) || c == '.'; });
    if (numeric) {
      if (!IsIpv4(host)) return Bad("invalid IPv4 address in host");
    } else if (!IsDnsName(host)) {
      return Bad("invalid host name");
    }
  }

  if (has_port) {
    if (port_text.empty()) return Bad("empty port after ':'");
    if (!std::all_of(port_text.begin(), port_text.end(), IsDigit) || port_text.size() > 5) {
      return Bad("port must be a number from 1 to 65535");
    }
    unsigned value = 0;
    std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (value < 1 || value > 65535) return Bad("port must be a number from 1 to 65535");
    url.port = static_cast<uint16_t>(value);
  } else {
    url.port = url.tls ? 443 : 80;
  }

  url.host.reserve(host.size());
  for (char c : host) url.host += Lower(c);

  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size() || !IsHex(path[i + 1]) || !IsHex(path[i + 2])) {
        return Bad("invalid percent-encoding in path");
      }
      i += 2;
      continue;
    }
    if (!IsPathChar(c)) return Bad(std::string("character '") + c + "' is not allowed in the path");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.base_path = std::string(path);
  return url;
}

}  // namespace meridian::core
