#include "tenancy/admin_api.hpp"

#include <chrono>

#include <fmt/format.h>

#include "tenancy/codec.hpp"

namespace meridian::tenancy {

namespace json = boost::json;

namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How many times a new key is generated when its prefix (or digest) is taken.
constexpr int kKeyAttempts = 4;

AdminResult Error(int status, std::string_view code, std::string message, std::string param = {}) {
  json::object inner;
  inner["message"] = message;
  inner["type"] = status >= 500 ? "server_error" : "invalid_request_error";
  inner["param"] = param.empty() ? json::value(nullptr) : json::value(param);
  inner["code"] = code;
  json::object outer;
  outer["error"] = std::move(inner);
  AdminResult r;
  r.status = status;
  r.body = json::serialize(outer);
  return r;
}

AdminResult BadField(const codec::FieldError& e) { return Error(400, "invalid_request", e.message, e.param); }

AdminResult FromStore(const StoreError& e, std::string param = {}) {
  switch (e.code) {
    case StoreErrc::kNotFound: return Error(404, "not_found", e.message, std::move(param));
    case StoreErrc::kConflict: return Error(409, "conflict", e.message, std::move(param));
    case StoreErrc::kInternal: break;
  }
  return Error(500, "internal", "the tenancy store failed: " + e.message);
}

AdminResult Ok(json::value body, int status = 200) {
  AdminResult r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

AdminResult MethodNotAllowed(const AdminRequest& req, std::string_view allow) {
  AdminResult r = Error(405, "method_not_allowed",
                        fmt::format("{} is not allowed on {}; use {}", req.method, req.path, allow), "method");
  r.allow = std::string(allow);
  return r;
}

audit::AdminRecord Record(const AdminRequest& req, std::string action, std::string target,
                          std::map<std::string, std::string> fields) {
  audit::AdminRecord rec;
  rec.actor = std::string(req.actor);
  rec.action = std::move(action);
  rec.target = std::move(target);
  rec.fields = std::move(fields);
  return rec;
}

// The body as a JSON object. An empty body is {} when `empty_ok`.
std::expected<json::object, AdminResult> BodyObject(const AdminRequest& req, bool empty_ok = false) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string_view::npos && empty_ok) return json::object();
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return std::unexpected(Error(400, "invalid_request", fmt::format("the body is not valid JSON: {}", ec.message())));
  if (!v.is_object()) return std::unexpected(Error(400, "invalid_request", "the body must be a JSON object"));
  return std::move(v.get_object());
}

// Splits "a=1&b=2" (percent-decoded, '+' as space). Failure: malformed or repeated parameter.
std::expected<std::map<std::string, std::string>, AdminResult> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  auto decode = [](std::string_view s) -> std::optional<std::string> {
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        r.push_back(' ');
      } else if (s[i] == '%') {
        if (i + 2 >= s.size()) return std::nullopt;
        auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          return -1;
        };
        const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        r.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        r.push_back(s[i]);
      }
    }
    return r;
  };
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    auto name = decode(part.substr(0, eq));
    auto value = decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (!name || !value) return std::unexpected(Error(400, "invalid_request", "malformed query string"));
    if (out.contains(*name)) {
      return std::unexpected(Error(400, "invalid_request", fmt::format("query parameter '{}' is repeated", *name), *name));
    }
    out[*name] = *value;
  }
  return out;
}

// Refuses any query parameter (routes that take none).
std::optional<AdminResult> NoQuery(const AdminRequest& req) {
  auto q = ParseQuery(req.query);
  if (!q) return q.error();
  if (!q->empty()) {
    const std::string& name = q->begin()->first;
    return Error(400, "invalid_request", fmt::format("unknown query parameter '{}'", name), name);
  }
  return std::nullopt;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  while (true) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string TenantTarget(std::string_view id) { return fmt::format("tenant:{}", id); }
std::string TeamTarget(std::string_view tenant, std::string_view id) { return fmt::format("team:{}/{}", tenant, id); }
std::string KeyTarget(std::string_view id) { return fmt::format("key:{}", id); }

class Handler {
 public:
  Handler(TenancyStore& store, const AdminRequest& req, const AdminOptions& options)
      : store_(store), req_(req), now_(options.clock ? options.clock : NowMs) {}

  AdminResult Run() {
    const auto seg = Segments(req_.path);
    if (seg.size() < 2 || seg[0] != "admin") return NotFound();
    const std::string_view m = req_.method;
    if (seg[1] == "tenants") {
      if (seg.size() == 2) {
        if (m == "GET") return WithoutQuery([&] { return ListTenants(); });
        if (m == "POST") return WithoutQuery([&] { return CreateTenant(); });
        return MethodNotAllowed(req_, "GET, POST");
      }
      const std::string_view tenant = seg[2];
      if (seg.size() == 3) {
        if (m == "GET") return WithoutQuery([&] { return GetTenant(tenant); });
        if (m == "PATCH") return WithoutQuery([&] { return UpdateTenant(tenant); });
        if (m == "DELETE") return WithoutQuery([&] { return DeleteTenant(tenant); });
        return MethodNotAllowed(req_, "GET, PATCH, DELETE");
      }
      if (seg[3] != "teams") return NotFound();
      if (seg.size() == 4) {
        if (m == "GET") return WithoutQuery([&] { return ListTeams(tenant); });
        if (m == "POST") return WithoutQuery([&] { return CreateTeam(tenant); });
        return MethodNotAllowed(req_, "GET, POST");
      }
      if (seg.size() == 5) {
        const std::string_view team = seg[4];
        if (m == "GET") return WithoutQuery([&] { return GetTeam(tenant, team); });
        if (m == "PATCH") return WithoutQuery([&] { return UpdateTeam(tenant, team); });
        if (m == "DELETE") return WithoutQuery([&] { return DeleteTeam(tenant, team); });
        return MethodNotAllowed(req_, "GET, PATCH, DELETE");
      }
      return NotFound();
    }
    if (seg[1] == "keys") {
      if (seg.size() == 2) {
        if (m == "GET") return ListKeys();
        if (m == "POST") return WithoutQuery([&] { return CreateKey(); });
        return MethodNotAllowed(req_, "GET, POST");
      }
      const std::string_view key = seg[2];
      if (seg.size() == 3) {
        if (m == "GET") return WithoutQuery([&] { return GetKey(key); });
        if (m == "PATCH") return WithoutQuery([&] { return UpdateKey(key); });
        return MethodNotAllowed(req_, "GET, PATCH");
      }
      if (seg.size() == 4 && seg[3] == "revoke") {
        if (m == "POST") return WithoutQuery([&] { return RevokeKey(key); });
        return MethodNotAllowed(req_, "POST");
      }
    }
    return NotFound();
  }

 private:
  AdminResult NotFound() const { return Error(404, "not_found", fmt::format("no admin route for {}", req_.path)); }

  template <class F>
  AdminResult WithoutQuery(F&& f) {
    if (auto bad = NoQuery(req_)) return *bad;
    return f();
  }

  // ---- tenants ----

  AdminResult ListTenants() {
    auto list = store_.ListTenants();
    if (!list) return FromStore(list.error());
    json::array a;
    for (const Tenant& t : *list) a.push_back(codec::ToJson(t));
    return Ok(json::object{{"tenants", std::move(a)}});
  }

  AdminResult CreateTenant() {
    auto body = BodyObject(req_);
    if (!body) return body.error();
    Tenant t;
    auto ok = codec::CheckFields(*body, {"id", "name", "disabled", "limits", "models", "backends", "data_classes"});
    if (ok) ok = codec::ReadId(*body, "id", true, t.id);
    if (ok) ok = codec::ReadName(*body, t.name);
    if (ok) ok = codec::ReadBool(*body, "disabled", t.disabled);
    if (ok) ok = codec::ReadSettings(*body, t.settings);
    if (!ok) return BadField(ok.error());
    t.created_ms = now_();
    if (auto done = store_.CreateTenant(t); !done) return FromStore(done.error(), "id");
    Tenant blank;
    blank.id = t.id;
    AdminResult r = Ok(codec::ToJson(t), 201);
    r.audit.push_back(Record(req_, "tenant.create", TenantTarget(t.id),
                             codec::ChangedFields(codec::ToJson(blank), codec::ToJson(t), {"created_ms"})));
    return r;
  }

  AdminResult GetTenant(std::string_view id) {
    auto t = store_.GetTenant(id);
    if (!t) return FromStore(t.error());
    return Ok(codec::ToJson(*t));
  }

  AdminResult UpdateTenant(std::string_view id) {
    auto body = BodyObject(req_);
    if (!body) return body.error();
    auto apply = [&](Tenant& t) {
      auto ok = codec::ReadName(*body, t.name);
      if (ok) ok = codec::ReadBool(*body, "disabled", t.disabled);
      if (ok) ok = codec::ReadSettings(*body, t.settings);
      return ok;
    };
    // Validate on a scratch object (the checks do not depend on the stored values), then apply
    // the same reads inside the store's transaction, where they cannot fail.
    Tenant scratch;
    auto ok = codec::CheckFields(*body, {"name", "disabled", "limits", "models", "backends", "data_classes"},
                                 {"id", "created_ms"});
    if (ok) ok = apply(scratch);
    if (!ok) return BadField(ok.error());
    auto updated = store_.UpdateTenant(id, [&](Tenant& t) { (void)apply(t); });
    if (!updated) return FromStore(updated.error());
    AdminResult r = Ok(codec::ToJson(updated->after));
    auto changed = codec::ChangedFields(codec::ToJson(updated->before), codec::ToJson(updated->after));
    if (!changed.empty()) r.audit.push_back(Record(req_, "tenant.update", TenantTarget(id), std::move(changed)));
    return r;
  }

  AdminResult DeleteTenant(std::string_view id) {
    if (auto done = store_.DeleteTenant(id); !done) return FromStore(done.error());
    AdminResult r = Ok(json::object{{"id", id}, {"deleted", true}});
    r.audit.push_back(Record(req_, "tenant.delete", TenantTarget(id), {}));
    return r;
  }

  // ---- teams ----

  AdminResult ListTeams(std::string_view tenant) {
    auto list = store_.ListTeams(tenant);
    if (!list) return FromStore(list.error());
    json::array a;
    for (const Team& t : *list) a.push_back(codec::ToJson(t));
    return Ok(json::object{{"teams", std::move(a)}});
  }

  AdminResult CreateTeam(std::string_view tenant) {
    // An unknown tenant in the path is a 404 whatever the body says.
    if (auto exists = store_.GetTenant(tenant); !exists) return FromStore(exists.error());
    auto body = BodyObject(req_);
    if (!body) return body.error();
    Team t;
    t.tenant = std::string(tenant);
    auto ok = codec::CheckFields(*body, {"id", "name", "disabled", "limits", "models", "backends", "data_classes"});
    if (ok) ok = codec::ReadId(*body, "id", true, t.id);
    if (ok) ok = codec::ReadName(*body, t.name);
    if (ok) ok = codec::ReadBool(*body, "disabled", t.disabled);
    if (ok) ok = codec::ReadSettings(*body, t.settings);
    if (!ok) return BadField(ok.error());
    t.created_ms = now_();
    if (auto done = store_.CreateTeam(t); !done) return FromStore(done.error(), "id");
    Team blank;
    blank.tenant = t.tenant;
    blank.id = t.id;
    AdminResult r = Ok(codec::ToJson(t), 201);
    r.audit.push_back(Record(req_, "team.create", TeamTarget(t.tenant, t.id),
                             codec::ChangedFields(codec::ToJson(blank), codec::ToJson(t), {"created_ms"})));
    return r;
  }

  AdminResult GetTeam(std::string_view tenant, std::string_view id) {
    auto t = store_.GetTeam(tenant, id);
    if (!t) return FromStore(t.error());
    return Ok(codec::ToJson(*t));
  }

  AdminResult UpdateTeam(std::string_view tenant, std::string_view id) {
    auto body = BodyObject(req_);
    if (!body) return body.error();
    auto apply = [&](Team& t) {
      auto ok = codec::ReadName(*body, t.name);
      if (ok) ok = codec::ReadBool(*body, "disabled", t.disabled);
      if (ok) ok = codec::ReadSettings(*body, t.settings);
      return ok;
    };
    Team scratch;  // as in UpdateTenant
    auto ok = codec::CheckFields(*body, {"name", "disabled", "limits", "models", "backends", "data_classes"},
                                 {"id", "tenant", "created_ms"});
    if (ok) ok = apply(scratch);
    if (!ok) return BadField(ok.error());
    auto updated = store_.UpdateTeam(tenant, id, [&](Team& t) { (void)apply(t); });
    if (!updated) return FromStore(updated.error());
    AdminResult r = Ok(codec::ToJson(updated->after));
    auto changed = codec::ChangedFields(codec::ToJson(updated->before), codec::ToJson(updated->after));
    if (!changed.empty()) r.audit.push_back(Record(req_, "team.update", TeamTarget(tenant, id), std::move(changed)));
    return r;
  }

  AdminResult DeleteTeam(std::string_view tenant, std::string_view id) {
    if (auto done = store_.DeleteTeam(tenant, id); !done) return FromStore(done.error());
    AdminResult r = Ok(json::object{{"tenant", tenant}, {"id", id}, {"deleted", true}});
    r.audit.push_back(Record(req_, "team.delete", TeamTarget(tenant, id), {}));
    return r;
  }

  // ---- keys ----

  AdminResult ListKeys() {
    auto query = ParseQuery(req_.query);
    if (!query) return query.error();
    KeyFilter filter;
    for (const auto& [name, value] : *query) {
      if (name == "tenant") {
        filter.tenant = value;
      } else if (name == "team") {
        filter.team = value;
      } else if (name == "revoked") {
        if (value != "true" && value != "false") {
          return Error(400, "invalid_request", "query parameter 'revoked' must be true or false", "revoked");
        }
        filter.revoked = value == "true";
      } else {
        return Error(400, "invalid_request",
                     fmt::format("unknown query parameter '{}'; allowed: tenant, team, revoked", name), name);
      }
    }
    if (filter.team && !filter.tenant) {
      return Error(400, "invalid_request", "query parameter 'team' needs 'tenant' (team ids are per tenant)", "team");
    }
    auto list = store_.ListKeys(filter);
    if (!list) return FromStore(list.error());
    json::array a;
    for (const Key& k : *list) a.push_back(codec::ToJson(k));
    return Ok(json::object{{"keys", std::move(a)}});
  }

  AdminResult CreateKey() {
    auto body = BodyObject(req_);
    if (!body) return body.error();
    Key k;
    auto ok = codec::CheckFields(
        *body, {"tenant", "team", "name", "expires_ms", "limits", "models", "backends", "data_classes"});
    if (ok) ok = codec::ReadId(*body, "tenant", true, k.tenant);
    if (ok) ok = codec::ReadId(*body, "team", false, k.team);
    if (ok) ok = codec::ReadName(*body, k.name);
    if (ok) ok = codec::ReadOptionalInt(*body, "expires_ms", k.expires_ms);
    if (ok) ok = codec::ReadSettings(*body, k.settings);
    if (!ok) return BadField(ok.error());
    // The tenant and team are named in the body, not the path: unknown ones are a bad field.
    if (auto t = store_.GetTenant(k.tenant); !t) {
      if (t.error().code != StoreErrc::kNotFound) return FromStore(t.error());
      return Error(400, "invalid_request", t.error().message, "tenant");
    }
    if (!k.team.empty()) {
      if (auto t = store_.GetTeam(k.tenant, k.team); !t) {
        if (t.error().code != StoreErrc::kNotFound) return FromStore(t.error());
        return Error(400, "invalid_request", t.error().message, "team");
      }
    }
    k.created_ms = now_();
    std::string secret;
    for (int attempt = 0;; ++attempt) {
      auto generated = GenerateKey();
      if (!generated) return Error(500, "internal", generated.error().message);
      secret = std::move(*generated);
      k.id = std::string(KeyPrefix(secret));
      auto done = store_.CreateKey(k, HashKey(secret));
      if (done) break;
      // A prefix already taken (about 1 in 2^53 per existing key): draw another key.
      if (done.error().code == StoreErrc::kConflict && attempt + 1 < kKeyAttempts) continue;
      if (done.error().code == StoreErrc::kNotFound) return Error(400, "invalid_request", done.error().message, "tenant");
      return FromStore(done.error());
    }
    json::object out = codec::ToJson(k);
    out["key"] = secret;
    AdminResult r = Ok(std::move(out), 201);
    r.contains_secret = true;
    Key blank;
    blank.id = k.id;
    r.audit.push_back(Record(req_, "key.create", KeyTarget(k.id),
                             codec::ChangedFields(codec::ToJson(blank), codec::ToJson(k), {"created_ms", "id"})));
    return r;
  }

  AdminResult GetKey(std::string_view id) {
    auto k = store_.GetKey(id);
    if (!k) return FromStore(k.error());
    return Ok(codec::ToJson(*k));
  }

  AdminResult UpdateKey(std::string_view id) {
    auto body = BodyObject(req_);
    if (!body) return body.error();
    auto apply = [&](Key& k) {
      auto ok = codec::ReadName(*body, k.name);
      if (ok) ok = codec::ReadOptionalInt(*body, "expires_ms", k.expires_ms);
      if (ok) ok = codec::ReadSettings(*body, k.settings);
      return ok;
    };
    Key scratch;  // as in UpdateTenant
    auto ok = codec::CheckFields(*body, {"name", "expires_ms", "limits", "models", "backends", "data_classes"},
                                 {"id", "tenant", "team", "created_ms", "revoked_ms", "key"});
    if (ok) ok = apply(scratch);
    if (!ok) return BadField(ok.error());
    auto updated = store_.UpdateKey(id, [&](Key& k) { (void)apply(k); });
    if (!updated) return FromStore(updated.error());
    AdminResult r = Ok(codec::ToJson(updated->after));
    auto changed = codec::ChangedFields(codec::ToJson(updated->before), codec::ToJson(updated->after));
    if (!changed.empty()) r.audit.push_back(Record(req_, "key.update", KeyTarget(id), std::move(changed)));
    return r;
  }

  AdminResult RevokeKey(std::string_view id) {
    auto body = BodyObject(req_, /*empty_ok=*/true);
    if (!body) return body.error();
    if (auto ok = codec::CheckFields(*body, {}); !ok) return BadField(ok.error());
    auto before = store_.GetKey(id);
    if (!before) return FromStore(before.error());
    auto k = store_.RevokeKey(id, now_());
    if (!k) return FromStore(k.error());
    AdminResult r = Ok(codec::ToJson(*k));
    // Revoking again changes nothing (the first time stays): no record for it.
    if (!before->revoked_ms) {
      r.audit.push_back(Record(req_, "key.revoke", KeyTarget(k->id),
                               {{"revoked_ms", std::to_string(*k->revoked_ms)}, {"tenant", k->tenant}}));
    }
    return r;
  }

  TenancyStore& store_;
  const AdminRequest& req_;
  std::function<std::int64_t()> now_;
};

}  // namespace

bool IsTenancyAdminPath(std::string_view path) {
  for (std::string_view root : {"/admin/tenants", "/admin/keys"}) {
    if (path == root || (path.starts_with(root) && path.size() > root.size() && path[root.size()] == '/')) return true;
  }
  return false;
}

AdminResult HandleAdminRequest(TenancyStore& store, const AdminRequest& request, const AdminOptions& options) {
  return Handler(store, request, options).Run();
}

}  // namespace meridian::tenancy
