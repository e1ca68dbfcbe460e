// `meridian usage`: queries the usage ledger (docs/store.md) without a running gateway.

#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "store/sqlite_usage_store.hpp"

namespace meridian::app {

namespace {

// A plain aligned table: the CSV's cells, columns padded to their widest cell.
std::string Table(const std::string& csv_text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < csv_text.size(); ++i) {
    char c = csv_text[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv_text.size() && csv_text[i + 1] == '"') {
        cell.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell.push_back(c == '\n' || c == '\r' ? ' ' : c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      row.push_back(std::move(cell));
      cell.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      cell.push_back(c);
    }
  }
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

CLI::App* AddUsageCommand(CLI::App& cli, UsageArgs& args) {
  auto* usage = cli.add_subcommand(
      "usage", "Usage totals (or records) from the ledger, by day, tenant, team, key, model or backend");
  usage->add_option("--state-dir", args.state_dir, "State directory holding usage.db (default ./state)");
  usage->add_option("--tenant", args.tenant, "Only this tenant");
  usage->add_option("--key-prefix", args.key_prefix, "Only this key prefix");
  usage->add_option("--model", args.model, "Only this model id or alias");
  usage->add_option("--from", args.from, "First day, YYYY-MM-DD (UTC), inclusive");
  usage->add_option("--to", args.to, "Last day, YYYY-MM-DD (UTC), inclusive");
  usage->add_option("--by", args.by, "Group by day, tenant, team, key, model, backend (comma-separated)");
  usage->add_flag("--records", args.records, "The records themselves instead of totals (oldest first)");
  usage->add_option("--limit", args.limit, "With --records: at most this many (default all)");
  auto* csv = usage->add_flag("--csv", args.csv, "CSV on stdout (header line first)");
  usage->add_flag("--json", args.json, "JSON on stdout, as GET /admin/usage answers")->excludes(csv);
  usage->callback([&args] { args.run = true; });
  return usage;
}

int Usage(const UsageArgs& args) {
  store::UsageQuery q;
  q.tenant = args.tenant;
  q.key_prefix = args.key_prefix;
  q.model = args.model;
  q.from = args.from;
  q.to = args.to;
  q.records = args.records;
  q.limit = args.limit;
  auto keys = store::ParseGroupKeys(args.by);
  if (!keys) {
    fmt::print(stderr, "usage: --{}\n", keys.error().message);
    return 2;
  }
  q.group_by = std::move(*keys);
  if (auto ok = store::ValidateQuery(q); !ok) {
    fmt::print(stderr, "usage: --{}\n", ok.error().message);
    return 2;
  }
  const std::string db = (std::filesystem::path(args.state_dir) / store::kUsageDbFileName).string();
  auto result = store::SqliteUsageStore::QueryFile(db, q);
  if (!result) {
    fmt::print(stderr, "usage: {}\n", result.error().message);
    return 2;
  }
  std::string out = args.csv ? store::ToCsv(*result) : args.json ? store::ToJson(*result) + "\n" : Table(store::ToCsv(*result));
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace meridian::app
