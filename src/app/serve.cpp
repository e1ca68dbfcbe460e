// `meridian serve`: load the configuration, build the gateway, serve, drain on a signal.

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <filesystem>
#include <fstream>

#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "audit/anchor.hpp"
#include "audit/record.hpp"
#include "audit/sqlite_audit_store.hpp"
#include "config/config.hpp"
#include "gateway/gateway.hpp"
#include "gateway/snapshot.hpp"
#include "net/server.hpp"
#include "store/record_writer.hpp"
#include "store/sqlite_usage_store.hpp"
#include "telemetry/metrics.hpp"
#include "tenancy/directory.hpp"
#include "tenancy/sqlite_tenancy_store.hpp"

namespace meridian::app {

namespace asio = boost::asio;

namespace {

// Splits "host:port" or "[v6]:port". Returns false if it is not of that form.
bool SplitHostPort(std::string_view text, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return false;
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned value = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 65535) return false;
  }
  host = std::string(h);
  port = static_cast<uint16_t>(value);
  return !host.empty();
}

// Creates `dir` if needed and checks that files can be created in it. Empty on success,
// otherwise why not.
std::string PrepareStateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("state_dir '{}': cannot create it: {}", dir, ec.message());
  if (!std::filesystem::is_directory(dir, ec)) return fmt::format("state_dir '{}': not a directory", dir);
  const std::string probe = (std::filesystem::path(dir) / fmt::format(".write-test.{}", ::getpid())).string();
  {
    std::ofstream f(probe);
    if (!f) {
      return fmt::format("state_dir '{}': not writable: {}", dir,
                         std::error_code(errno, std::generic_category()).message());
    }
  }
  std::filesystem::remove(probe, ec);
  return {};
}

// One admin record for the audit chain, written by the gateway process itself.
std::unique_ptr<store::PendingRecord> AdminEvent(std::string action, std::string target,
                                                 std::map<std::string, std::string> fields) {
  auto r = std::make_unique<store::PendingRecord>();
  audit::AdminRecord& a = r->admin.emplace();
  a.actor = "meridian";
  a.action = std::move(action);
  a.target = std::move(target);
  a.fields = std::move(fields);
  return r;
}

}  // namespace

int Serve(const ServeArgs& args) {
  // Operational messages go through spdlog; the per-request access log is batched per worker
  // (telemetry/access_log.hpp). Both write to stderr.
  auto log = std::make_shared<spdlog::logger>("meridian", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_default_logger(log);
  telemetry::AccessLog access_log(STDERR_FILENO);

  std::string config_bytes;
  auto loaded = config::LoadConfigFile(args.config_path, &config_bytes);
  if (!loaded) {
    for (const auto& issue : loaded.error()) fmt::print(stderr, "{}\n", issue.ToString());
    return 2;
  }
  config::Config cfg = std::move(*loaded);
  if (args.listen && !SplitHostPort(*args.listen, cfg.server.listen_host, cfg.server.listen_port)) {
    fmt::print(stderr, "--listen: expected HOST:PORT, got '{}'\n", *args.listen);
    return 2;
  }
  if (args.workers) cfg.server.workers = *args.workers;
  if (cfg.server.workers == 0) cfg.server.workers = std::max(1u, std::thread::hardware_concurrency());
  for (const auto& warning : cfg.warnings) log->warn("config: {}", warning);
  for (const auto& id : cfg.disabled_backends) log->info("backend '{}' disabled: its requires_env variable is unset", id);

  net::ServerOptions server_opts;
  server_opts.host = cfg.server.listen_host;
  server_opts.port = cfg.server.listen_port;
  server_opts.workers = cfg.server.workers;
  server_opts.max_connections = cfg.server.max_connections;
  server_opts.max_header_bytes = cfg.server.max_header_bytes;
  server_opts.max_body_bytes = cfg.server.max_body_bytes;
  server_opts.header_timeout = cfg.server.header_timeout;
  server_opts.body_timeout = cfg.server.body_timeout;
  server_opts.idle_timeout = cfg.server.idle_timeout;
  server_opts.write_timeout = cfg.server.write_timeout;
  auto grace = cfg.server.shutdown_grace;
  // The admin API has its own listener (one worker): it is never reachable with a client key
  // or on the client port.
  std::optional<net::ServerOptions> admin_opts;
  if (cfg.admin.enabled) {
    admin_opts = server_opts;
    admin_opts->host = cfg.admin.listen_host;
    admin_opts->port = cfg.admin.listen_port;
    admin_opts->workers = 1;
    admin_opts->max_connections = 64;
  }

  // The store lives in state_dir: the usage ledger, and the audit log (docs/store.md).
  const config::StoreConfig store_cfg = cfg.store;
  const std::string state_dir = cfg.state_dir;
  if (std::string why = PrepareStateDir(state_dir); !why.empty()) {
    fmt::print(stderr, "{}: {}\n", args.config_path, why);
    return 2;
  }
  const bool strict = store_cfg.ledger.durability == config::LedgerDurability::kStrict;
  auto usage_store = store::SqliteUsageStore::Open(
      (std::filesystem::path(state_dir) / store::kUsageDbFileName).string(),
      store::SqliteUsageStoreOptions{.sync_full = strict});
  if (!usage_store) {
    fmt::print(stderr, "{}: usage ledger: {}\n", args.config_path, usage_store.error().message);
    return 2;
  }
  // Tenants, teams and virtual keys (docs/tenancy.md): shared with `meridian keys|tenants`.
  auto tenancy_store = tenancy::SqliteTenancyStore::Open(
      (std::filesystem::path(state_dir) / tenancy::kTenancyDbFileName).string());
  if (!tenancy_store) {
    fmt::print(stderr, "{}: tenancy store: {}\n", args.config_path, tenancy_store.error().message);
    return 2;
  }
  tenancy::KeyDirectory key_directory(**tenancy_store);
  std::unique_ptr<audit::SqliteAuditStore> audit_store;
  if (store_cfg.audit.enabled) {
    // A log that does not match its anchors is not appended to: fail closed.
    auto opened = audit::SqliteAuditStore::Open(audit::PathsForStateDir(state_dir).db);
    if (!opened) {
      fmt::print(stderr, "{}: audit log: {}\n", args.config_path, opened.error().message);
      return 2;
    }
    audit_store = *std::move(opened);
  }

  auto snapshot = gateway::Snapshot::Build(std::move(cfg));
  if (!snapshot) {
    fmt::print(stderr, "{}: {}\n", args.config_path, snapshot.error().message);
    return 2;
  }

  telemetry::Registry registry;
  store::RecordWriterOptions writer_opts;
  writer_opts.durability = strict ? store::Durability::kStrict : store::Durability::kBatched;
  writer_opts.batch_max = store_cfg.ledger.batch_max;
  writer_opts.batch_window = store_cfg.ledger.batch_window;
  writer_opts.queue_size = store_cfg.ledger.queue_size;
  writer_opts.registry = &registry;
  writer_opts.on_error = [log](const std::string& message) { log->error("{}", message); };
  store::RecordWriter writer(usage_store->get(), audit_store.get(), writer_opts);

  gateway::GatewayOptions gateway_opts;
  gateway_opts.limits.default_max_output_tokens = (*snapshot)->config().default_max_output_tokens;
  gateway::Gateway gw(*snapshot, registry, &access_log, gateway_opts);
  gw.AttachStore(gateway::StoreHooks{&writer, usage_store->get(), store_cfg.audit.enabled, tenancy_store->get(),
                                     &key_directory});
  net::Server server(
      server_opts, [&gw](net::Request& req, net::Responder& out) { return gw.Handle(req, out); },
      [&gw](net::http::status status, std::string_view message) { return gw.RenderServerError(status, message); });
  gw.AttachServer(&server);
  // Today's and this month's spend from the ledger count against the budgets from the start.
  if (auto seeded = gw.SeedLimitsFromLedger(); !seeded) {
    fmt::print(stderr, "{}: usage ledger: {}\n", args.config_path, seeded.error().message);
    return 2;
  } else if (*seeded > 0) {
    log->info("budgets: spend of {} tenant/team/key scope(s) restored from the usage ledger", *seeded);
  }
  if (auto listening = server.Listen(); !listening) {
    log->error("{}", listening.error().message);
    return 1;
  }
  std::unique_ptr<net::Server> admin;
  if (admin_opts) {
    admin = std::make_unique<net::Server>(
        *admin_opts, [&gw](net::Request& req, net::Responder& out) { return gw.HandleAdmin(req, out); },
        [&gw](net::http::status status, std::string_view message) { return gw.RenderServerError(status, message); });
    if (auto listening = admin->Listen(); !listening) {
      log->error("admin: {}", listening.error().message);
      return 1;
    }
  }

  std::vector<asio::io_context*> workers;
  for (unsigned i = 0; i < server_opts.workers; ++i) workers.push_back(&server.worker_context(i));
  gw.StartBackgroundTasks(server.worker_context(0), workers);

  // Start-up is the first admin record of this run: which configuration (by digest) it serves.
  writer.Start();
  writer.Submit(AdminEvent("gateway.start", args.config_path,
                           {{"config_sha256", audit::ToHex(gateway::Sha256(config_bytes))},
                            {"ledger_durability", std::string(config::LedgerDurabilityName(store_cfg.ledger.durability))},
                            {"pid", std::to_string(::getpid())},
                            {"workers", std::to_string(server_opts.workers)}}));

  int stop_signal = 0;
  asio::signal_set signals(server.worker_context(0), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    stop_signal = signal;
    log->info("signal {}: draining (grace {} ms)", signal, grace.count());
    server.Shutdown(grace);
    if (admin) admin->Shutdown(grace);
  });

  log->info("serving with {} worker(s), {} backend(s) enabled", server_opts.workers,
            (*snapshot)->backends().size());
  // The one line on stdout: tests and scripts wait for it to know the real port.
  fmt::print("listening on {}:{}\n", server_opts.host, server.port());
  if (admin) fmt::print("admin listening on {}:{}\n", admin_opts->host, admin->port());
  std::fflush(stdout);
  std::thread admin_thread;
  if (admin) admin_thread = std::thread([&admin] { admin->Run(); });
  server.Run();
  if (admin_thread.joinable()) admin_thread.join();
  // The last admin record; then everything queued is committed before the stores close.
  writer.Submit(AdminEvent("gateway.stop", args.config_path,
                           {{"signal", std::to_string(stop_signal)}, {"pid", std::to_string(::getpid())}}));
  writer.Stop();
  if (auto stats = writer.stats(); stats.dropped > 0) {
    log->warn("store: {} record(s) were not kept during this run (meridian_store_dropped_total)", stats.dropped);
  }
  access_log.FlushAll();
  log->info("stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace meridian::app
