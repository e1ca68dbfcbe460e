// meridian: the gateway binary. `meridian serve`, `meridian config check`.

#include <CLI/CLI.hpp>

#include "app/commands.hpp"

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

  CLI11_PARSE(cli, argc, argv);
  if (*serve) return meridian::app::Serve(serve_args);
  if (*check) return meridian::app::ConfigCheck(check_path);
  return 2;
}
