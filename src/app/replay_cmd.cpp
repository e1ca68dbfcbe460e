// `meridian replay TRACE`: loads the replay configuration and the trace, runs the replay and
// prints the report (src/replay/, docs/replay.md).
#include "app/replay_cmd.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/snapshot.hpp"
#include "replay/engine.hpp"
#include "replay/replay_config.hpp"
#include "replay/trace.hpp"

namespace meridian::app {

namespace {

int Fail(std::string_view message) {
  fmt::print(stderr, "meridian replay: {}\n", message);
  return 2;
}

// A one-line bar redrawn in place; only ever written to a terminal.
void DrawProgress(std::size_t done, std::size_t total) {
  constexpr int kWidth = 40;
  const double share = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(share * kWidth);
  fmt::print(stderr, "\r[{:#<{}}{:<{}}] {:3.0f}% {}/{}", "", filled, "", kWidth - filled, share * 100, done, total);
  if (done == total) fmt::print(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace

CLI::App* AddReplayCommand(CLI::App& cli, ReplayArgs& args) {
  auto* cmd = cli.add_subcommand("replay", "Replay a trace through policy and routing against simulated backends");
  cmd->add_option("trace", args.trace_path, "Trace file: Mooncake .jsonl, Azure LLM .csv or tau-bench .json")->required();
  cmd->add_option("-c,--config", args.config_path, "Replay configuration (a Meridian YAML file with a replay: section)");
  cmd->add_option("--format", args.format, "mooncake, azure or tau-bench (default: from the file name)");
  cmd->add_option("--strategy", args.strategy, "p2c, cheapest, fastest, weighted, least-busy or priority (overrides replay.strategy; "
                  "per alias: every alias's strategy)");
  cmd->add_option("--placement", args.placement, "affinity, round-robin or least-busy (replicas of one backend)");
  cmd->add_option("--seed", args.seed, "Seed of the router's random choices (overrides replay.seed)");
  cmd->add_option("--limit", args.limit, "Replay only the first N requests of the trace");
  cmd->add_flag("--strict", args.strict, "A bad trace record fails the replay (default: skipped and counted)");
  cmd->add_option("--json", args.json, "Write the report as JSON to FILE ('-' or no value: stdout, instead of the table)")
      ->expected(0, 1);
  cmd->add_flag("--no-progress", args.no_progress, "Never draw the progress bar");
  return cmd;
}

int Replay(const ReplayArgs& args) {
  std::optional<replay::TraceFormat> format;
  if (!args.format.empty()) {
    format = replay::ParseFormat(args.format);
    if (!format) return Fail(fmt::format("--format: unknown format '{}' (mooncake, azure, tau-bench)", args.format));
  }
  replay::RunOptions run;
  if (!args.strategy.empty()) {
    run.strategy = route::ParseStrategy(args.strategy);
    if (!run.strategy) return Fail(fmt::format("--strategy: unknown strategy '{}'", args.strategy));
  }
  if (!args.placement.empty()) {
    run.placement = route::ParsePlacement(args.placement);
    if (!run.placement) return Fail(fmt::format("--placement: unknown placement '{}'", args.placement));
  }
  run.seed = args.seed;

  auto loaded = replay::LoadReplayConfig(args.config_path);
  if (!loaded) return Fail(loaded.error().message);
  auto snapshot = gateway::Snapshot::Build(std::move(loaded->gateway));
  if (!snapshot) return Fail(fmt::format("{}: {}", args.config_path, snapshot.error().message));

  replay::ReadOptions read;
  read.strict = args.strict;
  read.limit = args.limit;
  auto trace = replay::ReadTrace(args.trace_path, format, read);
  if (!trace) return Fail(trace.error().message);

  if (!args.no_progress && isatty(STDERR_FILENO) == 1) run.progress = DrawProgress;
  auto report = replay::RunReplay(**snapshot, loaded->replay, *trace, run);
  if (!report) return Fail(report.error().message);

  const bool json_to_stdout = args.json && (args.json->empty() || *args.json == "-");
  if (!json_to_stdout) {
    const std::string table = replay::RenderTable(*report);
    std::fwrite(table.data(), 1, table.size(), stdout);
  }
  if (args.json) {
    std::string text = boost::json::serialize(replay::ToJson(*report));
    text += '\n';
    if (json_to_stdout) {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      std::ofstream out(*args.json, std::ios::binary | std::ios::trunc);
      if (!out || !out.write(text.data(), static_cast<std::streamsize>(text.size()))) {
        return Fail(fmt::format("--json: cannot write '{}'", *args.json));
      }
    }
  }
  return 0;
}

}  // namespace meridian::app
