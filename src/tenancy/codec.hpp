#pragma once
// JSON of tenants, teams and keys for the admin API, and the parsing of their fields from a
// request body, with errors naming the field. Internal to the tenancy module (admin_api.cpp);
// docs/tenancy.md shows the shapes.

#include <expected>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "tenancy/model.hpp"

namespace meridian::tenancy::codec {

// A field error: the message and the field path ("limits.usd_per_day", "models[2]").
struct FieldError {
  std::string message;
  std::string param;
};
using FieldResult = std::expected<void, FieldError>;

// Never holds a key's secret or digest. Pure.
boost::json::object ToJson(const Tenant& tenant);
boost::json::object ToJson(const Team& team);
boost::json::object ToJson(const Key& key);

// The first member of `body` not in `allowed`: "unknown field 'x'" (or "'x' cannot be
// changed" when it is in `immutable`). Pure.
FieldResult CheckFields(const boost::json::object& body, std::initializer_list<std::string_view> allowed,
                        std::initializer_list<std::string_view> immutable = {});

// Each reads one member if present and leaves the target unchanged if absent.
FieldResult ReadName(const boost::json::object& body, std::string& name);
FieldResult ReadBool(const boost::json::object& body, std::string_view field, bool& out);
// Non-negative integer or null (= none).
FieldResult ReadOptionalInt(const boost::json::object& body, std::string_view field, std::optional<std::int64_t>& out);
// "limits" (each member merged: present = replaced, null = removed), "models", "backends",
// "data_classes" (lists replaced whole).
FieldResult ReadSettings(const boost::json::object& body, Settings& settings);
// A required or optional id string (IsValidId). `present` tells whether it was there.
FieldResult ReadId(const boost::json::object& body, std::string_view field, bool required, std::string& out);

// The members of `after` that differ from `before`, flattened one level for objects
// ("limits.usd_per_day"), as text: strings as they are, anything else as compact JSON.
// `skip` names members to leave out. For the audit records' fields. Pure.
std::map<std::string, std::string> ChangedFields(const boost::json::object& before, const boost::json::object& after,
                                                 std::initializer_list<std::string_view> skip = {});

}  // namespace meridian::tenancy::codec
