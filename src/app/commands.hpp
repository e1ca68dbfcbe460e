#pragma once
// Subcommands of the `meridian` binary, one file each. Each returns the process exit code.

#include <optional>
#include <string>

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

}  // namespace meridian::app
