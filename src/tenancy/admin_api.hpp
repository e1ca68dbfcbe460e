#pragma once
// The tenancy admin API, pure of sockets (docs/tenancy.md, "Admin API"): one function takes a
// request's method, path, query and body and returns the status, the JSON body and the admin
// audit records to append. The gateway's admin listener and the CLI both call it, so
// validation exists once.
//
//   POST/GET              /admin/tenants
//   GET/PATCH/DELETE      /admin/tenants/{id}
//   POST/GET              /admin/tenants/{id}/teams
//   GET/PATCH/DELETE      /admin/tenants/{id}/teams/{team}
//   POST/GET              /admin/keys            (GET: ?tenant=&team=&revoked=true|false)
//   GET/PATCH             /admin/keys/{prefix}
//   POST                  /admin/keys/{prefix}/revoke

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/decision.hpp"
#include "tenancy/store.hpp"

namespace meridian::tenancy {

struct AdminRequest {
  std::string_view method;  // "GET", "POST", "PATCH", "DELETE" (case-sensitive, as HTTP sends it)
  std::string_view path;    // "/admin/keys/mk-7Hq2ZbT0x" (no query)
  std::string_view query;   // after '?', percent-encoded; "" = none
  std::string_view body;    // JSON text for POST and PATCH ("" = {} for the revoke route)
  std::string_view actor;   // who asks, for the audit records: an admin key's prefix or a user name
};

struct AdminResult {
  int status = 200;
  // JSON. Errors: {"error":{"message","type","param","code"}}, `param` naming the field or
  // query parameter at fault (null when none).
  std::string body;
  // One record per change made (none for reads and failures). Never holds a key or its digest.
  std::vector<audit::AdminRecord> audit;
  // For a 405: the methods the path allows ("GET, POST"), for the Allow header.
  std::string allow;
  // True for the one answer that holds a key's secret (201 of POST /admin/keys): the caller
  // must not log, cache or record this body.
  bool contains_secret = false;
};

struct AdminOptions {
  // Unix time in milliseconds (created_ms, revoked_ms); defaults to the system clock.
  std::function<std::int64_t()> clock;
};

// True if `path` is one of the routes above (or below /admin/tenants or /admin/keys), so the
// admin listener can hand it to HandleAdminRequest. Pure.
bool IsTenancyAdminPath(std::string_view path);

// Runs one admin request against `store`. Statuses: 200, 201 (created), 400 (bad body, field
// or query parameter: `param` names it), 404 (unknown route or id), 405 (method; `allow` set),
// 409 (duplicate id; delete refused while something depends on it), 500 (store failure).
// The caller appends `audit` to the audit log after a successful change — the change is
// committed already; the record says what was done. Thread-safe as far as `store` is.
AdminResult HandleAdminRequest(TenancyStore& store, const AdminRequest& request, const AdminOptions& options = {});

}  // namespace meridian::tenancy
