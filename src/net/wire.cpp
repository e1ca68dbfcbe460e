#include "net/wire.hpp"

#include <charconv>

namespace meridian::net {

namespace http = boost::beast::http;

namespace {

void AppendFields(std::string& out, const http::fields& fields) {
  for (const auto& field : fields) {
    out.append(field.name_string());
    out.append(": ");
    out.append(field.value());
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace

void AppendResponseHead(std::string& out, unsigned status_code, const http::fields& fields) {
  char code[8];
  auto end = std::to_chars(code, code + sizeof code, status_code).ptr;
  out.append("HTTP/1.1 ");
  out.append(code, end);
  out.push_back(' ');
  // A status Beast has no name for (Anthropic's 529) keeps its number; the reason is "Unknown".
  std::string_view reason = http::obsolete_reason(http::int_to_status(status_code));
  out.append(reason.empty() ? std::string_view("Unknown") : reason);
  out.append("\r\n");
  AppendFields(out, fields);
}

void AppendRequestHead(std::string& out, http::verb method, std::string_view target, const http::fields& fields) {
  out.append(http::to_string(method));
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n");
  AppendFields(out, fields);
}

void AppendChunkSize(std::string& out, std::size_t size) {
  char hex[20];
  auto end = std::to_chars(hex, hex + sizeof hex, size, 16).ptr;
  out.append(hex, end);
  out.append("\r\n");
}

}  // namespace meridian::net
