// `meridian audit verify` and the hidden `meridian audit append` (docs/audit.md).

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "audit/anchor.hpp"
#include "audit/sqlite_audit_store.hpp"
#include "audit/verify.hpp"

namespace meridian::app {

namespace {

std::string DbPath(const AuditArgs& args) {
  if (!args.file.empty()) return args.file;
  return audit::PathsForStateDir(args.state_dir.empty() ? "./state" : args.state_dir).db;
}

int Verify(const AuditArgs& args) {
  const std::string db = DbPath(args);
  auto report = audit::Verify(db, audit::VerifyOptions{.chain_only = args.chain_only});
  if (!report) {
    fmt::print(stderr, "audit verify: {}\n", report.error().message);
    return 2;
  }
  if (report->problem) {
    fmt::print("{}\n", report->problem->ToString());
    return 1;
  }
  fmt::print("ok: {} records, head {}\n", report->records, report->head.hash);
  if (args.chain_only) {
    fmt::print(stderr, "note: chain only: truncation and records appended by a forger are not detected\n");
  }
  if (report->unanchored > 0) {
    fmt::print(stderr,
               "note: the newest {} record(s) are not yet covered by the head file (normal while a gateway "
               "is appending or after a crash; the next append or start brings it forward)\n",
               report->unanchored);
  }
  return 0;
}

int Append(const AuditArgs& args) {
  const std::string db = DbPath(args);
  auto store = audit::SqliteAuditStore::Open(db);
  if (!store) {
    fmt::print(stderr, "audit append: {}\n", store.error().message);
    return 2;
  }
  auto record = (*store)->Append(args.kind, args.body);
  if (!record) {
    fmt::print(stderr, "audit append: {}\n", record.error().message);
    return 2;
  }
  fmt::print("appended record {}, hash {}\n", record->seq, record->hash);
  return 0;
}

}  // namespace

CLI::App* AddAuditCommand(CLI::App& cli, AuditArgs& args) {
  auto* audit = cli.add_subcommand("audit", "Audit log tools");
  audit->require_subcommand(1);

  auto* verify = audit->add_subcommand(
      "verify", "Check the hash chain and its anchors; exit 0 if intact, 1 with the first problem, 2 if unreadable");
  auto* dir = verify->add_option("--state-dir", args.state_dir, "State directory holding audit.db (default ./state)");
  verify->add_option("file", args.file, "The audit database file itself")->excludes(dir);
  verify->add_flag("--chain-only", args.chain_only,
                   "Check only the chain (a copy of the database without its .head and .key files)");
  verify->callback([&args] { args.verify = true; });

  // Maintenance and test command: appends one record as the gateway would. Hidden from --help.
  auto* append = audit->add_subcommand("append", "Append one record (maintenance and tests)");
  append->group("");
  auto* adir = append->add_option("--state-dir", args.state_dir, "State directory holding audit.db");
  append->add_option("file", args.file, "The audit database file itself")->excludes(adir);
  append->add_option("--kind", args.kind, "request or admin")->required();
  append->add_option("--body", args.body, "A JSON object")->required();
  append->callback([&args] { args.append = true; });
  return audit;
}

int Audit(const AuditArgs& args) {
  if (args.verify) return Verify(args);
  if (args.append) return Append(args);
  return 2;
}

}  // namespace meridian::app
