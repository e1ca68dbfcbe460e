#pragma once
// The one place where an error becomes an HTTP status and an OpenAI-style error body
// ({"error":{"message","type","param","code"}}), for every route of the OpenAI dialect.

#include <string>

#include <boost/beast/http/status.hpp>

#include "core/error.hpp"

namespace meridian::gateway {

// The status a client sees for `error` (kUpstreamStatus keeps the upstream's own status).
boost::beast::http::status StatusFor(const core::Error& error);

// OpenAI's `type` and `code` strings for `error` ("invalid_request_error", "model_not_found").
std::string_view OpenAiType(const core::Error& error);
std::string_view OpenAiCode(const core::Error& error);

// The JSON body for `error`. `message` and `param` are escaped; never contains secrets as long
// as the Error's own message does not.
std::string OpenAiErrorBody(const core::Error& error);

}  // namespace meridian::gateway
