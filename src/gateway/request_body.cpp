#include "gateway/request_body.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/utf8.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::ErrorCode;

bool IsJsonContentType(std::string_view value) {
  auto semi = value.find(';');
  auto type = value.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return boost::beast::iequals(type, "application/json");
}

core::Result<json::object> ParseJsonObject(std::string_view body) {
  if (body.empty()) return core::Fail(ErrorCode::kInvalidRequest, "request body is empty; expected a JSON object");
  json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec, {}, opts);
  if (ec) {
    if (auto bad = core::FirstInvalidUtf8(body)) {
      return core::Fail(ErrorCode::kInvalidRequest,
                        fmt::format("request body is not valid UTF-8 (invalid byte sequence at offset {})", *bad));
    }
    return core::Fail(ErrorCode::kInvalidRequest, fmt::format("request body is not valid JSON: {}", ec.message()));
  }
  if (!value.is_object()) return core::Fail(ErrorCode::kInvalidRequest, "request body must be a JSON object");
  return std::move(value.as_object());
}

core::Result<json::object> ParseJsonRequest(const net::Request& request) {
  if (!IsJsonContentType(request[boost::beast::http::field::content_type])) {
    return core::Fail(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json");
  }
  return ParseJsonObject(request.body());
}

core::Result<void> CheckModelName(std::string_view model) {
  if (model.empty()) return core::Fail(ErrorCode::kInvalidRequest, "'model' must be a non-empty string", "model");
  if (model.size() > 256) return core::Fail(ErrorCode::kInvalidRequest, "'model' is longer than 256 characters", "model");
  return {};
}

core::Result<ModelRequest> ParseModelRequest(const net::Request& request) {
  auto parsed = ParseJsonRequest(request);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::value* model = parsed->if_contains("model");
  if (!model || !model->is_string() || model->as_string().empty()) {
    return core::Fail(ErrorCode::kInvalidRequest, "'model' is required and must be a non-empty string", "model");
  }
  if (auto ok = CheckModelName(model->as_string()); !ok) return std::unexpected(std::move(ok.error()));
  std::string name(model->as_string());
  return ModelRequest{std::move(*parsed), std::move(name)};
}

}  // namespace meridian::gateway
