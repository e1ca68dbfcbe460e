#pragma once
// Reading a client's JSON request body: the content type, the JSON object (UTF-8 checked,
// depth limited) and the `model` member most APIs carry. Pure; thread-safe.

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "net/server.hpp"

namespace meridian::gateway {

// "application/json", optionally with parameters ("; charset=utf-8").
bool IsJsonContentType(std::string_view value);

// Parses a request body as a JSON object. Fails with kInvalidRequest and a message that says
// what is wrong (not JSON, invalid UTF-8, not an object).
core::Result<boost::json::object> ParseJsonObject(std::string_view body);

// The request's body as a JSON object; kUnsupportedMediaType for another content type.
core::Result<boost::json::object> ParseJsonRequest(const net::Request& request);

// What every body-addressed model API shares: a JSON object with a non-empty "model" string of
// at most 256 characters (it is echoed in errors and logs).
struct ModelRequest {
  boost::json::object body;
  std::string model;
};
core::Result<ModelRequest> ParseModelRequest(const net::Request& request);

// A model name taken from a path (Gemini): the same limits, and kInvalidRequest naming `model`.
core::Result<void> CheckModelName(std::string_view model);

}  // namespace meridian::gateway
