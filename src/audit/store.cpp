#include "audit/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace meridian::audit {

core::Result<void> ValidateEntry(std::string_view kind, std::string_view body) {
  if (kind != kKindRequest && kind != kKindAdmin) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "audit record kind must be 'request' or 'admin'", "kind");
  }
  if (body.size() > kMaxBodyBytes) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "audit record body is too large", "body");
  }
  // Structure only: the log never looks at the values.
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "audit record body must be a JSON object", "body");
  }
  return {};
}

}  // namespace meridian::audit
