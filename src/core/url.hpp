#pragma once
// Parsing of backend base URLs ("https://api.openai.com/v1").

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace meridian::core {

struct Url {
  bool tls = false;          // https
  std::string host;          // without brackets for IPv6 literals
  uint16_t port = 0;         // defaulted from the scheme when absent
  std::string base_path;     // "" or "/v1" (no trailing slash)
  // "host" or "host:port" as sent in the Host header (port omitted when default).
  std::string HostHeader() const;
};

// Accepts http:// and https:// URLs with an optional port and path; no query, fragment or
// user-info (credentials in URLs are refused so they never reach logs).
Result<Url> ParseUrl(std::string_view text);

}  // namespace meridian::core
