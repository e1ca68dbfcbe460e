// meridian: the gateway binary. `meridian serve`, `meridian config check`, `meridian explain`,
// `meridian audit verify`, `meridian usage`.

#include <CLI/CLI.hpp>

#include "app/commands.hpp"
#include "app/keys_cmd.hpp"
#include "app/router_cmd.hpp"
#include "app/replay_cmd.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"Meridian: a hybrid LLM routing gateway"};
  cli.require_subcommand(1);

  meridian::app::ServeArgs serve_args;
  serve_args.config_path = "configs/default.yaml";
  auto* serve = cli.add_subcommand("serve", "Serve the API until SIGTERM/SIGINT");
  serve->add_option("-c,--config", serve_args.config_path, "Configuration file (YAML)");
  serve->add_option("--listen", serve_args.listen, "HOST:PORT to listen on (overrides server.listen)");
  serve->add_option("--workers", serve_args.workers, "Worker threads (overrides server.workers)");

  std::string check_path;
  auto* config = cli.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate a configuration file without serving");
  check->add_option("file", check_path, "Configuration file (YAML)")->required();

  meridian::app::ExplainArgs explain_args;
  auto* explain = cli.add_subcommand("explain", "Show what the policy stage decides for a request, without sending it");
  explain->add_option("request", explain_args.request_path, "Request body (JSON file, '-' for stdin)")->required();
  explain->add_option("-c,--config", explain_args.config_path, "Configuration file (YAML)");
  explain->add_option("--key-env", explain_args.key_env,
                      "Environment variable holding the client key (keys never go on the command line)");
  explain->add_option("--classes", explain_args.classes, "Declared data classes, as x-meridian-data-classes");
  explain->add_option("--jurisdiction", explain_args.jurisdiction, "Declared data jurisdiction, as x-meridian-data-jurisdiction");

  meridian::app::AuditArgs audit_args;
  auto* audit = meridian::app::AddAuditCommand(cli, audit_args);

  meridian::app::UsageArgs usage_args;
  auto* usage = meridian::app::AddUsageCommand(cli, usage_args);

  meridian::app::ReplayArgs replay_args;
  auto* replay = meridian::app::AddReplayCommand(cli, replay_args);

  meridian::app::RouterArgs router_args;
  auto* router = meridian::app::AddRouterCommand(cli, router_args);

  meridian::app::KeysArgs keys_args;  // tenants, teams, keys
  meridian::app::AddKeysCommands(cli, keys_args);

  CLI11_PARSE(cli, argc, argv);
  if (!keys_args.noun.empty()) return meridian::app::RunKeysCommand(keys_args);
  if (*serve) return meridian::app::Serve(serve_args);
  if (*check) return meridian::app::ConfigCheck(check_path);
  if (*explain) return meridian::app::Explain(explain_args);
  if (*audit) return meridian::app::Audit(audit_args);
  if (*usage) return meridian::app::Usage(usage_args);
  if (*replay) return meridian::app::Replay(replay_args);
  if (*router) return meridian::app::Router(router_args);
  return 2;
}
