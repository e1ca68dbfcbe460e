#pragma once
// The bodies the gateway appends to the audit log, and their canonical JSON. The types carry
// counts, names and reasons only: a decision record cannot hold request content, a data class
// value or an API key (only its prefix). Pure, no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/data_class.hpp"

namespace meridian::audit {

struct ExcludedBackend {
  std::string backend;  // backend id
  std::string reason;   // the policy rule (or health state) that excluded it
};

struct Attempt {
  std::string backend;
  int status = 0;            // upstream HTTP status; 0 if none arrived
  std::string error;         // core::CodeName of the failure, empty on success
  std::int64_t duration_ms = 0;
};

// One per request, the rejected ones too (kind "request").
struct DecisionRecord {
  std::string request_id;
  std::string tenant;
  std::string key_prefix;                                // first characters of the key, never the key
  std::map<core::DataClass, std::uint64_t> data_classes;  // class -> number of matches; never values
  std::vector<std::string> rules_fired;                  // policy rule ids, in firing order
  std::vector<std::string> eligible;                     // backend ids, in plan order
  std::vector<ExcludedBackend> excluded;
  std::string chosen_backend;                            // empty if none was chosen
  std::string chosen_jurisdiction;                       // of the chosen backend's inference
  std::vector<Attempt> attempts;
  // Integer (no float formatting in the hash); nullopt (JSON null) while the cost is unknown:
  // the gateway has no price catalog yet.
  std::optional<std::int64_t> cost_micro_usd;
  int status = 0;                                        // HTTP status returned to the client
};

// One per admin change (kind "admin"): who did what to which object.
struct AdminRecord {
  std::string actor;   // key prefix or operator name
  std::string action;  // "config.reload", "key.revoke", ...
  std::string target;  // what it acted on
  std::map<std::string, std::string> fields;  // further names/values; must never hold secrets
};

// Canonical JSON: object keys in ascending byte order (all keys here are ASCII), no whitespace,
// integers in decimal, arrays in the order given, strings escaped as JSON.stringify does
// (`"`, `\`, and control characters; \u00xx in lowercase hex) with invalid UTF-8 replaced by
// U+FFFD. For these types this equals RFC 8785 (JCS). Pure, thread-safe.
std::string ToCanonicalJson(const DecisionRecord& record);
std::string ToCanonicalJson(const AdminRecord& record);

// `text` as a canonical JSON string literal, quotes included. Pure.
std::string CanonicalJsonString(std::string_view text);

}  // namespace meridian::audit
