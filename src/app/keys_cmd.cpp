// `meridian tenants|teams|keys …` (docs/tenancy.md, "CLI"). Every command is one admin API
// request run in-process through tenancy::HandleAdminRequest, so the CLI validates nothing
// itself and answers exactly as the admin listener would; changes are audited like the API's.

#include "app/keys_cmd.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "audit/anchor.hpp"
#include "audit/decision.hpp"
#include "audit/sqlite_audit_store.hpp"
#include "tenancy/admin_api.hpp"
#include "tenancy/sqlite_tenancy_store.hpp"

namespace meridian::app {

namespace json = boost::json;

namespace {

// ---- building the request ----

std::string Encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Ids go into the path: anything but the id characters could address another route.
bool SafeSegment(std::string_view id) {
  if (id.empty()) return false;
  for (unsigned char c : id) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return id != "." && id != "..";
}

json::array List(const std::string& csv) {
  json::array out;
  std::size_t start = 0;
  while (start <= csv.size() && !csv.empty()) {
    const std::size_t comma = csv.find(',', start);
    std::string item = csv.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto b = item.find_first_not_of(' ');
    const auto e = item.find_last_not_of(' ');
    out.emplace_back(b == std::string::npos ? std::string() : item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// "none" = remove the limit; digits = a number; anything else goes as given, so the API's
// validation names the field.
json::value IntOrNone(const std::string& v) {
  if (v == "none") return nullptr;
  if (!v.empty() && v.size() < 19 && v.find_first_not_of("0123456789") == std::string::npos) {
    return json::value(std::stoll(v));
  }
  return json::value(v);
}

json::value MoneyOrNone(const std::string& v) {
  if (v == "none") return nullptr;
  return json::value(v);
}

void PutSettings(const KeysArgs& a, json::object& body) {
  json::object limits;
  const LimitArgs& l = a.limits;
  if (l.usd_per_day) limits["usd_per_day"] = MoneyOrNone(*l.usd_per_day);
  if (l.usd_per_month) limits["usd_per_month"] = MoneyOrNone(*l.usd_per_month);
  if (l.requests_per_minute) limits["requests_per_minute"] = IntOrNone(*l.requests_per_minute);
  if (l.input_tokens_per_minute) limits["input_tokens_per_minute"] = IntOrNone(*l.input_tokens_per_minute);
  if (l.output_tokens_per_minute) limits["output_tokens_per_minute"] = IntOrNone(*l.output_tokens_per_minute);
  if (l.concurrent_requests) limits["concurrent_requests"] = IntOrNone(*l.concurrent_requests);
  if (!limits.empty()) body["limits"] = std::move(limits);
  if (a.models) body["models"] = List(*a.models);
  if (a.backends) body["backends"] = List(*a.backends);
  if (a.data_classes) body["data_classes"] = List(*a.data_classes);
  if (a.name) body["name"] = *a.name;
  if (a.disable) body["disabled"] = true;
  if (a.enable) body["disabled"] = false;
  if (a.expires_ms) body["expires_ms"] = IntOrNone(*a.expires_ms);
}

struct Request {
  std::string method;
  std::string path;
  std::string query;
  std::string body;
  bool changes = false;  // appends audit records
};

// The admin request for the parsed command; an error message for arguments the path cannot
// carry.
std::expected<Request, std::string> BuildRequest(const KeysArgs& a) {
  Request r;
  json::object body;
  const bool has_id = a.verb != "list" && !(a.noun == "keys" && a.verb == "create");
  if (has_id && !SafeSegment(a.id)) return std::unexpected(fmt::format("invalid id '{}'", a.id));
  if (a.tenant && a.noun == "teams" && !SafeSegment(*a.tenant)) {
    return std::unexpected(fmt::format("invalid tenant '{}'", *a.tenant));
  }
  r.changes = a.verb == "create" || a.verb == "update" || a.verb == "delete" || a.verb == "revoke";
  r.method = a.verb == "list" || a.verb == "show" ? "GET"
             : a.verb == "create" || a.verb == "revoke" ? "POST"
             : a.verb == "update" ? "PATCH"
                                  : "DELETE";
  if (a.noun == "tenants") {
    r.path = a.verb == "create" || a.verb == "list" ? "/admin/tenants" : "/admin/tenants/" + a.id;
    if (a.verb == "create") body["id"] = a.id;
  } else if (a.noun == "teams") {
    const std::string base = "/admin/tenants/" + a.tenant.value_or("") + "/teams";
    r.path = a.verb == "create" || a.verb == "list" ? base : base + "/" + a.id;
    if (a.verb == "create") body["id"] = a.id;
  } else {
    r.path = a.verb == "create" || a.verb == "list" ? "/admin/keys" : "/admin/keys/" + a.id;
    if (a.verb == "revoke") r.path += "/revoke";
    if (a.verb == "create") {
      if (a.tenant) body["tenant"] = *a.tenant;
      if (a.team) body["team"] = *a.team;
    }
    if (a.verb == "list") {
      std::vector<std::string> q;
      if (a.tenant) q.push_back("tenant=" + Encode(*a.tenant));
      if (a.team) q.push_back("team=" + Encode(*a.team));
      if (a.revoked) q.emplace_back("revoked=true");
      if (a.active) q.emplace_back("revoked=false");
      for (const auto& p : q) r.query += (r.query.empty() ? "" : "&") + p;
    }
  }
  if (a.verb == "create" || a.verb == "update") {
    PutSettings(a, body);
    r.body = json::serialize(body);
  }
  return r;
}

// ---- printing ----

std::string Text(const json::value& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_array()) {
    std::string out;
    for (const auto& x : v.get_array()) out += (out.empty() ? "" : ",") + Text(x);
    return out;
  }
  return json::serialize(v);
}

std::string LimitsSummary(const json::value& limits) {
  std::string out;
  for (const auto& m : limits.as_object()) {
    if (m.value().is_null()) continue;
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", std::string_view(m.key()), Text(m.value()));
  }
  return out.empty() ? "-" : out;
}

std::string ListOrAll(const json::value& v, const char* empty) {
  return v.as_array().empty() ? empty : Text(v);
}

void PrintObject(const json::object& o) {
  for (const auto& m : o) {
    if (m.key() == "limits") {
      for (const auto& l : m.value().as_object()) {
        fmt::print("limits.{}: {}\n", std::string_view(l.key()), Text(l.value()));
      }
    } else if (m.key() == "models" || m.key() == "backends") {
      fmt::print("{}: {}\n", std::string_view(m.key()), ListOrAll(m.value(), "(all)"));
    } else if (m.key() == "data_classes") {
      fmt::print("{}: {}\n", std::string_view(m.key()), ListOrAll(m.value(), "(none)"));
    } else if (m.key() != "key") {
      fmt::print("{}: {}\n", std::string_view(m.key()), Text(m.value()));
    }
  }
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    fmt::print("{}\n", line);
  }
}

void PrintList(const KeysArgs& a, const json::object& body) {
  std::vector<std::vector<std::string>> rows;
  if (a.noun == "keys") {
    rows.push_back({"ID", "TENANT", "TEAM", "NAME", "STATUS", "LIMITS", "MODELS", "BACKENDS", "DATA_CLASSES"});
    for (const auto& k : body.at("keys").as_array()) {
      const auto& o = k.as_object();
      const std::string status = !o.at("revoked_ms").is_null() ? "revoked" : "active";
      rows.push_back({Text(o.at("id")), Text(o.at("tenant")), Text(o.at("team")), Text(o.at("name")), status,
                      LimitsSummary(o.at("limits")), ListOrAll(o.at("models"), "(all)"),
                      ListOrAll(o.at("backends"), "(all)"), ListOrAll(o.at("data_classes"), "-")});
    }
  } else {
    const char* member = a.noun == "tenants" ? "tenants" : "teams";
    rows.push_back({"ID", "NAME", "STATUS", "LIMITS", "MODELS", "BACKENDS", "DATA_CLASSES"});
    for (const auto& t : body.at(member).as_array()) {
      const auto& o = t.as_object();
      rows.push_back({Text(o.at("id")), Text(o.at("name")), o.at("disabled").as_bool() ? "disabled" : "enabled",
                      LimitsSummary(o.at("limits")), ListOrAll(o.at("models"), "(all)"),
                      ListOrAll(o.at("backends"), "(all)"), ListOrAll(o.at("data_classes"), "-")});
    }
  }
  PrintTable(rows);
}

std::string DefaultActor() {
  for (const char* var : {"USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return fmt::format("cli:{}", v);
  }
  return "cli";
}

void AddSettingsOptions(CLI::App* cmd, KeysArgs& a, bool update) {
  cmd->add_option("--name", a.name, "Display name");
  cmd->add_option("--models", a.models, "Allowed model ids or aliases, comma-separated ('' = all)");
  cmd->add_option("--backends", a.backends, "Allowed backend ids, comma-separated ('' = all)");
  cmd->add_option("--data-classes", a.data_classes, "Declared data classes, comma-separated ('' = none)");
  const char* none = update ? " ('none' removes it)" : "";
  cmd->add_option("--usd-per-day", a.limits.usd_per_day, fmt::format("Daily budget in USD, e.g. 12.50{}", none));
  cmd->add_option("--usd-per-month", a.limits.usd_per_month, fmt::format("Monthly budget in USD{}", none));
  cmd->add_option("--requests-per-minute", a.limits.requests_per_minute, fmt::format("Request rate limit{}", none));
  cmd->add_option("--input-tokens-per-minute", a.limits.input_tokens_per_minute,
                  fmt::format("Input token rate limit{}", none));
  cmd->add_option("--output-tokens-per-minute", a.limits.output_tokens_per_minute,
                  fmt::format("Output token rate limit{}", none));
  cmd->add_option("--concurrent-requests", a.limits.concurrent_requests, fmt::format("Concurrency limit{}", none));
}

void AddCommon(CLI::App* cmd, KeysArgs& a) {
  cmd->add_option("--state-dir", a.state_dir, "State directory holding tenancy.db and audit.db (default ./state)");
  cmd->add_flag("--json", a.json, "Print the admin API's JSON answer");
  cmd->add_option("--actor", a.actor, "Who makes the change, for the audit log (default cli:$USER)");
}

}  // namespace

CLI::App* AddKeysCommands(CLI::App& cli, KeysArgs& a) {
  auto verb = [&a](CLI::App* parent, const char* name, const char* noun, const char* help) {
    CLI::App* cmd = parent->add_subcommand(name, help);
    AddCommon(cmd, a);
    cmd->callback([&a, name, noun] {
      a.noun = noun;
      a.verb = name;
    });
    return cmd;
  };

  auto* tenants = cli.add_subcommand("tenants", "Tenants (tenancy.db; changes are audited)");
  tenants->require_subcommand(1);
  auto* tc = verb(tenants, "create", "tenants", "Create a tenant");
  tc->add_option("id", a.id, "Tenant id")->required();
  tc->add_flag("--disabled", a.disable, "Create it disabled");
  AddSettingsOptions(tc, a, false);
  verb(tenants, "list", "tenants", "List tenants");
  verb(tenants, "show", "tenants", "Show a tenant")->add_option("id", a.id, "Tenant id")->required();
  auto* tu = verb(tenants, "update", "tenants", "Change a tenant");
  tu->add_option("id", a.id, "Tenant id")->required();
  auto* dis = tu->add_flag("--disable", a.disable, "Disable it: its keys are refused until enabled");
  tu->add_flag("--enable", a.enable, "Enable it")->excludes(dis);
  AddSettingsOptions(tu, a, true);
  verb(tenants, "delete", "tenants", "Delete a tenant without teams or live keys")
      ->add_option("id", a.id, "Tenant id")
      ->required();

  auto* teams = cli.add_subcommand("teams", "Teams of a tenant (tenancy.db; changes are audited)");
  teams->require_subcommand(1);
  auto team_verb = [&](const char* name, const char* help, bool with_id) {
    CLI::App* cmd = verb(teams, name, "teams", help);
    cmd->add_option("--tenant", a.tenant, "The tenant")->required();
    if (with_id) cmd->add_option("id", a.id, "Team id")->required();
    return cmd;
  };
  auto* mc = team_verb("create", "Create a team", true);
  mc->add_flag("--disabled", a.disable, "Create it disabled");
  AddSettingsOptions(mc, a, false);
  team_verb("list", "List a tenant's teams", false);
  team_verb("show", "Show a team", true);
  auto* mu = team_verb("update", "Change a team", true);
  auto* mdis = mu->add_flag("--disable", a.disable, "Disable it: its keys are refused until enabled");
  mu->add_flag("--enable", a.enable, "Enable it")->excludes(mdis);
  AddSettingsOptions(mu, a, true);
  team_verb("delete", "Delete a team without live keys", true);

  auto* keys = cli.add_subcommand("keys", "Virtual keys (tenancy.db; changes are audited)");
  keys->require_subcommand(1);
  auto* kc = verb(keys, "create", "keys", "Create a key; prints it once");
  kc->add_option("--tenant", a.tenant, "The tenant")->required();
  kc->add_option("--team", a.team, "The team (optional)");
  kc->add_option("--expires-ms", a.expires_ms, "Expiry, unix time in milliseconds");
  AddSettingsOptions(kc, a, false);
  auto* kl = verb(keys, "list", "keys", "List keys (never the keys themselves: their ids)");
  kl->add_option("--tenant", a.tenant, "Only this tenant's");
  kl->add_option("--team", a.team, "Only this team's (with --tenant)");
  auto* rev = kl->add_flag("--revoked", a.revoked, "Only revoked keys");
  kl->add_flag("--active", a.active, "Only keys not revoked")->excludes(rev);
  verb(keys, "show", "keys", "Show a key")->add_option("id", a.id, "Key id (its prefix, mk-…)")->required();
  auto* ku = verb(keys, "update", "keys", "Change a key");
  ku->add_option("id", a.id, "Key id (its prefix, mk-…)")->required();
  ku->add_option("--expires-ms", a.expires_ms, "Expiry, unix time in milliseconds ('none' removes it)");
  AddSettingsOptions(ku, a, true);
  verb(keys, "revoke", "keys", "Revoke a key: refused from its next request")
      ->add_option("id", a.id, "Key id (its prefix, mk-…)")
      ->required();
  return keys;
}

int RunKeysCommand(const KeysArgs& a) {
  const std::string what = fmt::format("{} {}", a.noun, a.verb);
  auto request = BuildRequest(a);
  if (!request) {
    fmt::print(stderr, "{}: {}\n", what, request.error());
    return 2;
  }
  const std::filesystem::path dir(a.state_dir);
  auto store = tenancy::SqliteTenancyStore::Open((dir / tenancy::kTenancyDbFileName).string());
  if (!store) {
    fmt::print(stderr, "{}: {}\n", what, store.error().message);
    return 2;
  }
  // Open the audit log before changing anything: a log that cannot be appended to refuses the
  // change (fail closed), as it refuses the gateway's start.
  std::unique_ptr<audit::SqliteAuditStore> log;
  if (request->changes) {
    auto opened = audit::SqliteAuditStore::Open(audit::PathsForStateDir(a.state_dir).db);
    if (!opened) {
      fmt::print(stderr, "{}: audit log: {}\n", what, opened.error().message);
      return 2;
    }
    log = std::move(*opened);
  }
  const std::string actor = a.actor.empty() ? DefaultActor() : a.actor;
  tenancy::AdminResult result = tenancy::HandleAdminRequest(
      **store, tenancy::AdminRequest{request->method, request->path, request->query, request->body, actor});

  if (!result.audit.empty()) {
    std::vector<std::string> bodies;
    for (const audit::AdminRecord& rec : result.audit) bodies.push_back(audit::ToCanonicalJson(rec));
    std::vector<audit::AppendEntry> entries;
    for (const std::string& b : bodies) entries.push_back({audit::kKindAdmin, b});
    if (auto ok = log->AppendBatch(entries); !ok) {
      // The change is committed; say loudly that its record is missing.
      fmt::print(stderr, "{}: the change was made but its audit record could not be written: {}\n", what,
                 ok.error().message);
      if (result.contains_secret) fmt::print(stderr, "{}: the key is not printed; revoke it and create another\n", what);
      return 2;
    }
  }

  if (result.status >= 400) {
    if (a.json) fmt::print("{}\n", result.body);
    const json::value v = json::parse(result.body);
    fmt::print(stderr, "{}: {}\n", what, std::string_view(v.at("error").at("message").as_string()));
    return result.status == 400 || result.status >= 500 ? 2 : 1;
  }
  const json::value v = json::parse(result.body);
  if (a.noun == "keys" && a.verb == "create") {
    const std::string_view key = v.at("key").as_string();
    const std::string_view id = v.at("id").as_string();
    if (a.json) {
      fmt::print("{}\n", result.body);
    } else {
      fmt::print("{}\n", key);
    }
    fmt::print(stderr,
               "Created key {} for tenant {}{}. This is the only time the key is shown: store it now; "
               "it cannot be recovered (revoke it and create another if lost).\n",
               id, std::string_view(v.at("tenant").as_string()),
               v.at("team").is_null() ? "" : fmt::format(", team {}", std::string_view(v.at("team").as_string())));
    return 0;
  }
  if (a.json) {
    fmt::print("{}\n", result.body);
  } else if (a.verb == "list") {
    PrintList(a, v.as_object());
  } else if (a.verb == "delete") {
    fmt::print("deleted {} {}\n", a.noun == "tenants" ? "tenant" : "team", a.id);
  } else {
    PrintObject(v.as_object());
  }
  return 0;
}

}  // namespace meridian::app
