#pragma once
// The usage ledger: one UsageRecord per API request, the store interface that keeps them, and
// the queries the admin API and `meridian usage` run over them. The SQLite store
// (sqlite_usage_store.hpp) implements UsageStore now; a PostgreSQL store shared by several
// gateway instances can implement it later without the pipeline changing (docs/store.md).
//
// A record carries names, counts and times only: never a key (its prefix), a prompt or a value
// the classifier found.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meridian::store {

struct UsageRecord {
  std::int64_t time_ms = 0;        // unix time in milliseconds when the request arrived
  std::string request_id;
  std::string tenant;              // of the key; "" = none (or the request was not authenticated)
  std::string team;
  std::string key_prefix;          // the key's prefix (never the key); "" = none
  std::string route;               // chat_completions, embeddings, models, other
  std::string alias;               // the name the client sent, when it was an alias; else ""
  std::string model;               // model id (alias resolved); the client's name if unresolved
  std::string backend;             // the backend that answered (or was last tried); "" = none
  std::optional<std::int64_t> input_tokens;      // from the backend's usage; nullopt = not reported
  std::optional<std::int64_t> output_tokens;
  std::optional<std::int64_t> cached_tokens;     // usage.prompt_tokens_details.cached_tokens
  std::optional<std::int64_t> reasoning_tokens;  // usage.completion_tokens_details.reasoning_tokens
  std::optional<std::int64_t> cost_micro_usd;    // nullopt until the price catalog exists
  std::int64_t latency_us = 0;     // request head received -> response complete (strict: -> before the last write)
  int status = 0;                  // HTTP status sent to the client; 499 = the client left
  std::string error;               // core::CodeName of the error returned, "" on success
  bool stream = false;
  int attempts = 0;                // upstream attempts
};

// What a query groups by (several may be combined, e.g. day and model).
enum class GroupKey { kDay, kTenant, kTeam, kKey, kModel, kBackend };

// "day", "tenant", "team", "key", "model", "backend". Pure.
std::string_view GroupKeyName(GroupKey key);
// The column the key reads: "day", "tenant", "team", "key_prefix", "model", "backend". Pure.
std::string_view GroupKeyColumn(GroupKey key);

// Parses "day,model" (comma-separated, no duplicates). Failure: kInvalidRequest naming the bad
// item and the allowed ones. Pure.
core::Result<std::vector<GroupKey>> ParseGroupKeys(std::string_view text);

// Checks a day "YYYY-MM-DD" (a real calendar date). Pure.
bool IsValidDay(std::string_view day);

// The UTC day "YYYY-MM-DD" of a unix time in milliseconds. Pure.
std::string UtcDay(std::int64_t time_ms);

struct UsageQuery {
  std::optional<std::string> tenant;
  std::optional<std::string> key_prefix;
  std::optional<std::string> model;  // matches the model id or the alias the client sent
  std::optional<std::string> from;   // first day, inclusive, "YYYY-MM-DD" (UTC)
  std::optional<std::string> to;     // last day, inclusive
  std::vector<GroupKey> group_by;    // empty: one row of totals
  bool records = false;              // the records themselves instead of totals (group_by ignored)
  std::size_t limit = 0;             // records: at most this many (0 = all), oldest first
};

// Checks a query's days (format, from <= to). Failure: kInvalidRequest naming the field. Pure.
core::Result<void> ValidateQuery(const UsageQuery& query);

// One group of a totals query. Token sums count only the records that reported them; cost is
// null when no record of the group has one.
struct UsageTotals {
  std::vector<std::string> keys;   // the values of query.group_by, in that order
  std::int64_t requests = 0;
  std::int64_t errors = 0;         // status >= 400 (499 included)
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  std::optional<std::int64_t> cost_micro_usd;
  std::int64_t avg_latency_us = 0; // rounded down
};

struct UsageResult {
  std::vector<GroupKey> group_by;  // as queried (empty for records)
  std::vector<UsageTotals> totals; // totals queries: ordered by the group keys
  std::vector<UsageRecord> records;
  bool records_query = false;
};

// JSON and CSV renderings shared by the admin API and the CLI (docs/store.md gives the exact
// columns). Totals: {"group_by":[...],"rows":[{<keys>,"requests",...}]}; records:
// {"records":[{...}]}. CSV: a header line, then one line per row; null is an empty field;
// fields with a comma, quote, CR or LF are quoted as RFC 4180 says; lines end with LF. Pure.
std::string ToJson(const UsageResult& result);
std::string ToCsv(const UsageResult& result);

class UsageStore {
 public:
  virtual ~UsageStore() = default;

  // Appends `records` as one atomic unit (all or nothing). On success they are committed
  // (durable as the store's options say). Failure: kInternal; nothing was appended.
  // Called by one writer at a time (the record writer's thread); implementations may assume
  // that, but must allow Query concurrently from other threads.
  virtual core::Result<void> AppendBatch(std::span<const UsageRecord> records) = 0;

  // Runs a validated query over one consistent snapshot. Failure: kInvalidRequest (the query
  // is invalid), kInternal (storage). Thread-safe.
  virtual core::Result<UsageResult> Query(const UsageQuery& query) = 0;
};

}  // namespace meridian::store
