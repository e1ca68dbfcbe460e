#pragma once
// Subcommands of the `meridian` binary, one file each. Each returns the process exit code.

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace meridian::app {

struct ServeArgs {
  std::string config_path;
  std::optional<std::string> listen;  // "HOST:PORT", overrides server.listen
  std::optional<unsigned> workers;    // overrides server.workers
};

// Loads the configuration, serves until SIGTERM/SIGINT, drains, returns 0; 2 on a bad
// configuration, 1 if the address cannot be bound.
int Serve(const ServeArgs& args);

// Validates a configuration file without serving: 0 if valid (warnings printed), 2 otherwise.
int ConfigCheck(const std::string& path);

// `meridian explain`: runs the gateway's policy stage on one request without sending it.
struct ExplainArgs {
  std::string config_path = "configs/default.yaml";
  std::string request_path;               // a JSON request body; "-" = stdin
  std::optional<std::string> key_env;     // name of an environment variable holding the client key
  std::string classes;                    // as the x-meridian-data-classes header
  std::string jurisdiction;               // as the x-meridian-data-jurisdiction header
};

// Prints the explanation as JSON on stdout (docs/policy.md, "Explain") and returns 0 whatever
// the outcome; 2 with a message on stderr if the configuration, the request, the key or a
// declaration is invalid.
int Explain(const ExplainArgs& args);

// `meridian audit verify [--state-dir DIR | FILE] [--chain-only]` and the hidden maintenance
// command `meridian audit append` (src/app/audit_cmd.cpp).
struct AuditArgs {
  std::string state_dir;  // the log is <state_dir>/audit.db (default ./state)
  std::string file;       // or the database file itself
  bool chain_only = false;
  std::string kind;       // append: "request" or "admin"
  std::string body;       // append: a JSON object
  bool verify = false;
  bool append = false;
};

// Adds the `audit` subcommand and its subcommands to `cli`, filling `args` when parsed.
CLI::App* AddAuditCommand(CLI::App& cli, AuditArgs& args);

// verify: 0 and "ok: N records, head HASH" if the log is intact; 1 and the first problem
// ("record 17: edited (hash mismatch)"); 2 if there is no readable audit log.
// append: 0 and the new record's seq and hash; 2 on failure.
int Audit(const AuditArgs& args);

// `meridian usage`: totals or records of the usage ledger in <state_dir>/usage.db
// (src/app/usage_cmd.cpp, docs/store.md).
struct UsageArgs {
  std::string state_dir = "./state";
  std::optional<std::string> tenant;
  std::optional<std::string> key_prefix;
  std::optional<std::string> model;
  std::optional<std::string> from;   // YYYY-MM-DD, inclusive (UTC)
  std::optional<std::string> to;
  std::string by;                    // "day,model", ...
  bool records = false;
  std::size_t limit = 0;             // records: 0 = all
  bool csv = false;
  bool json = false;
  bool run = false;
};

CLI::App* AddUsageCommand(CLI::App& cli, UsageArgs& args);

// Prints the answer (a table, --json or --csv) on stdout and returns 0; 2 with a message on
// stderr when the arguments are invalid or there is no readable ledger.
int Usage(const UsageArgs& args);

}  // namespace meridian::app
