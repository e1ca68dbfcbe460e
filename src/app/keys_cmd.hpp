#pragma once
// `meridian tenants …`, `meridian teams …` and `meridian keys …`: the tenancy admin API
// (src/tenancy/admin_api.hpp) from the command line, on `<state_dir>/tenancy.db`, with every
// change appended to `<state_dir>/audit.db` (docs/tenancy.md, "CLI").

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace meridian::app {

// Values of one limit option: a number, a decimal dollar amount, or "none" (remove the limit).
struct LimitArgs {
  std::optional<std::string> usd_per_day;
  std::optional<std::string> usd_per_month;
  std::optional<std::string> requests_per_minute;
  std::optional<std::string> input_tokens_per_minute;
  std::optional<std::string> output_tokens_per_minute;
  std::optional<std::string> concurrent_requests;
};

struct KeysArgs {
  // Which command: "tenants", "teams" or "keys", and its action: "create", "list", "show",
  // "update", "delete", "revoke". Empty = none of these commands was given.
  std::string noun;
  std::string verb;

  std::string state_dir = "./state";
  bool json = false;                  // print the admin API's JSON body instead of text
  std::string actor;                  // recorded in the audit log; default "cli:$USER"

  std::string id;                     // tenant id, team id or key prefix (positional)
  std::optional<std::string> tenant;  // --tenant
  std::optional<std::string> team;    // --team
  std::optional<std::string> name;
  bool disable = false;
  bool enable = false;
  std::optional<std::string> models;        // comma-separated; "" = all
  std::optional<std::string> backends;      // comma-separated; "" = all
  std::optional<std::string> data_classes;  // comma-separated; "" = none
  LimitArgs limits;
  std::optional<std::string> expires_ms;    // keys: unix ms, or "none"
  bool revoked = false;                     // keys list: only revoked keys
  bool active = false;                      // keys list: only keys not revoked
};

// Adds the `tenants`, `teams` and `keys` subcommands (and theirs) to `cli`, filling `args` when
// one is parsed. Returns the `keys` subcommand.
CLI::App* AddKeysCommands(CLI::App& cli, KeysArgs& args);

// Runs the parsed command. Exit codes: 0 done; 1 refused (unknown id, duplicate, delete of
// something still in use); 2 invalid arguments, or no usable tenancy store or audit log.
// `keys create` prints the key once on stdout (with --json: the whole answer) and a warning
// on stderr that it cannot be shown again. Nothing else ever prints a key.
int RunKeysCommand(const KeysArgs& args);

}  // namespace meridian::app
