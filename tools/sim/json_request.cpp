#include "sim/json_request.hpp"

namespace meridian::sim::wire {

using core::ErrorCode;
using core::Fail;

std::string_view KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64: return "integer";
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "value";
}

core::Result<json::value> ParseObject(std::string_view body, json::storage_ptr storage) {
  if (body.empty()) {
    return Fail(ErrorCode::kInvalidRequest,
                "We could not parse the JSON body of your request: the body is empty. "
                "The API expects a JSON object.");
  }
  unsigned char temp[1024];
  json::parser parser(json::storage_ptr(), json::parse_options(), temp);
  parser.reset(std::move(storage));
  boost::system::error_code ec;
  std::size_t consumed = parser.write(body.data(), body.size(), ec);
  if (ec) {
    return Fail(ErrorCode::kInvalidRequest,
                "We could not parse the JSON body of your request: invalid JSON (" + ec.message() +
                    ") near byte " + std::to_string(consumed) + ". The API expects a JSON object.");
  }
  json::value v = parser.release();
  if (!v.is_object()) {
    return Fail(ErrorCode::kInvalidRequest,
                "The request body must be a JSON object, but got " + std::string(KindName(v)) + ".");
  }
  return v;
}

std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

unsigned char Lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(static_cast<unsigned char>(a[i])) != Lower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// A placeholder argument value for a JSON-schema property.
json::value PlaceholderFor(const json::value* schema) {
  if (schema == nullptr || !schema->is_object()) return "sim";
  const json::object& s = schema->get_object();
  if (const json::value* e = s.if_contains("enum"); e && e->is_array() && !e->get_array().empty()) {
    return e->get_array().front();
  }
  std::string_view type;
  if (const json::value* t = s.if_contains("type")) {
    if (t->is_string()) {
      type = Sv(t->get_string());
    } else if (t->is_array()) {
      for (const json::value& x : t->get_array()) {
        if (x.is_string() && !IEquals(Sv(x.get_string()), "null")) {
          type = Sv(x.get_string());
          break;
        }
      }
    }
  }
  if (IEquals(type, "integer")) return 1;
  if (IEquals(type, "number")) return 1.5;
  if (IEquals(type, "boolean")) return true;
  if (IEquals(type, "array")) return json::array();
  if (IEquals(type, "object")) return json::object();
  if (IEquals(type, "null")) return nullptr;
  return "sim";
}

}  // namespace

bool ContainsCaseInsensitive(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (IEquals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string BuildArguments(const json::value* parameters) {
  json::object args;
  if (parameters != nullptr && parameters->is_object()) {
    const json::object& p = parameters->get_object();
    const json::value* props = p.if_contains("properties");
    const json::value* required = p.if_contains("required");
    if (required != nullptr && required->is_array()) {
      for (const json::value& r : required->get_array()) {
        if (!r.is_string()) continue;
        const json::value* schema = nullptr;
        if (props != nullptr && props->is_object()) schema = props->get_object().if_contains(r.get_string());
        args[r.get_string()] = PlaceholderFor(schema);
      }
    }
  }
  return json::serialize(args);
}

const json::value* Member(const json::object& o, std::string_view camel, std::string_view snake) {
  if (const json::value* v = o.if_contains(camel)) return v;
  if (!snake.empty()) return o.if_contains(snake);
  return nullptr;
}

}  // namespace meridian::sim::wire
