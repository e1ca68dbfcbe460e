#pragma once
// `meridian replay TRACE`: a trace through classification, policy and routing against simulated
// backends (src/replay/, docs/replay.md).

#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace meridian::app {

struct ReplayArgs {
  std::string trace_path;
  std::string config_path = "configs/replay.yaml";
  std::string format;                   // "" = from the file name
  std::string strategy;                 // "" = replay.strategy
  std::string placement;                // "" = replay.prefix.placement
  std::optional<std::uint64_t> seed;    // overrides replay.seed
  std::size_t limit = 0;                // replay only the first N requests (0 = all)
  bool strict = false;                  // a bad trace record fails the replay
  std::optional<std::string> json;      // write JSON: a file, or "" / "-" for stdout
  bool no_progress = false;
};

// Adds the `replay` subcommand to `cli`, filling `args` when parsed.
CLI::App* AddReplayCommand(CLI::App& cli, ReplayArgs& args);

// Runs the replay. Prints the table on stdout (unless the JSON goes there) and a progress bar
// on stderr when stderr is a terminal. 0 on success; 2 with a message on stderr when the
// configuration, the trace or an argument is invalid.
int Replay(const ReplayArgs& args);

}  // namespace meridian::app
