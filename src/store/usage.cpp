#include "store/usage.hpp"

#include <array>
#include <chrono>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace meridian::store {

namespace json = boost::json;

namespace {

constexpr std::array<GroupKey, 6> kAllKeys = {GroupKey::kDay,   GroupKey::kTenant, GroupKey::kTeam,
                                              GroupKey::kKey,   GroupKey::kModel,  GroupKey::kBackend};

core::Result<void> Invalid(std::string message, std::string param) {
  return core::Fail(core::ErrorCode::kInvalidRequest, std::move(message), std::move(param));
}

// RFC 4180: quote a field that holds a comma, a quote, CR or LF; double the quotes inside.
void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string Opt(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : std::string(); }

json::value OptJson(const std::optional<std::int64_t>& v) {
  if (v) return json::value(*v);
  return json::value(nullptr);
}

constexpr std::string_view kTotalsColumns[] = {"requests",         "errors",         "input_tokens",
                                               "output_tokens",    "cached_tokens",  "reasoning_tokens",
                                               "cost_micro_usd",   "avg_latency_us"};
constexpr std::string_view kRecordColumns[] = {
    "time_ms",       "day",           "request_id",       "tenant",         "team",    "key_prefix", "route",
    "alias",         "model",         "backend",          "input_tokens",   "output_tokens",
    "cached_tokens", "reasoning_tokens", "cost_micro_usd", "latency_us",    "status",  "error",      "stream",
    "attempts"};

// The values of a record in kRecordColumns order, as CSV text (null = empty).
std::vector<std::string> RecordFields(const UsageRecord& r) {
  return {std::to_string(r.time_ms), UtcDay(r.time_ms), r.request_id, r.tenant, r.team, r.key_prefix, r.route,
          r.alias, r.model, r.backend, Opt(r.input_tokens), Opt(r.output_tokens), Opt(r.cached_tokens),
          Opt(r.reasoning_tokens), Opt(r.cost_micro_usd), std::to_string(r.latency_us), std::to_string(r.status),
          r.error, r.stream ? "true" : "false", std::to_string(r.attempts)};
}

std::vector<std::string> TotalsFields(const UsageTotals& t) {
  return {std::to_string(t.requests),      std::to_string(t.errors),        std::to_string(t.input_tokens),
          std::to_string(t.output_tokens), std::to_string(t.cached_tokens), std::to_string(t.reasoning_tokens),
          Opt(t.cost_micro_usd),           std::to_string(t.avg_latency_us)};
}

}  // namespace

std::string_view GroupKeyName(GroupKey key) {
  switch (key) {
    case GroupKey::kDay: return "day";
    case GroupKey::kTenant: return "tenant";
    case GroupKey::kTeam: return "team";
    case GroupKey::kKey: return "key";
    case GroupKey::kModel: return "model";
    case GroupKey::kBackend: return "backend";
  }
  return "day";
}

std::string_view GroupKeyColumn(GroupKey key) {
  return key == GroupKey::kKey ? std::string_view("key_prefix") : GroupKeyName(key);
}

core::Result<std::vector<GroupKey>> ParseGroupKeys(std::string_view text) {
  std::vector<GroupKey> out;
  std::string_view rest = text;
  while (true) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() || comma != std::string_view::npos) {
      std::optional<GroupKey> found;
      for (GroupKey k : kAllKeys) {
        if (GroupKeyName(k) == item) found = k;
      }
      if (!found) {
        std::string shown(item.substr(0, 32));
        for (char& c : shown) {
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
        }
        return core::Fail(core::ErrorCode::kInvalidRequest,
                          fmt::format("by: unknown grouping '{}' (expected day, tenant, team, key, model or "
                                      "backend, comma-separated)",
                                      shown),
                          "by");
      }
      for (GroupKey k : out) {
        if (k == *found) {
          return core::Fail(core::ErrorCode::kInvalidRequest,
                            fmt::format("by: '{}' is given twice", GroupKeyName(k)), "by");
        }
      }
      out.push_back(*found);
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

bool IsValidDay(std::string_view day) {
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (day[i] < '0' || day[i] > '9') return false;
  }
  auto num = [&](std::size_t at, std::size_t n) {
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v * 10 + static_cast<unsigned>(day[at + i] - '0');
    return v;
  };
  std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(num(0, 4))), std::chrono::month(num(5, 2)),
                                  std::chrono::day(num(8, 2))};
  return ymd.ok();
}

std::string UtcDay(std::int64_t time_ms) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(sys_time<milliseconds>(milliseconds(time_ms)));
  year_month_day ymd{days};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

core::Result<void> ValidateQuery(const UsageQuery& q) {
  if (q.from && !IsValidDay(*q.from)) return Invalid("from: expected a day as YYYY-MM-DD", "from");
  if (q.to && !IsValidDay(*q.to)) return Invalid("to: expected a day as YYYY-MM-DD", "to");
  if (q.from && q.to && *q.from > *q.to) return Invalid("from: must not be after to", "from");
  return {};
}

std::string ToJson(const UsageResult& result) {
  json::object out;
  if (result.records_query) {
    json::array records;
    for (const UsageRecord& r : result.records) {
      json::object o;
      o["time_ms"] = r.time_ms;
      o["day"] = UtcDay(r.time_ms);
      o["request_id"] = r.request_id;
      o["tenant"] = r.tenant;
      o["team"] = r.team;
      o["key_prefix"] = r.key_prefix;
      o["route"] = r.route;
      o["alias"] = r.alias;
      o["model"] = r.model;
      o["backend"] = r.backend;
      o["input_tokens"] = OptJson(r.input_tokens);
      o["output_tokens"] = OptJson(r.output_tokens);
      o["cached_tokens"] = OptJson(r.cached_tokens);
      o["reasoning_tokens"] = OptJson(r.reasoning_tokens);
      o["cost_micro_usd"] = OptJson(r.cost_micro_usd);
      o["latency_us"] = r.latency_us;
      o["status"] = r.status;
      o["error"] = r.error;
      o["stream"] = r.stream;
      o["attempts"] = r.attempts;
      records.push_back(std::move(o));
    }
    out["records"] = std::move(records);
    return json::serialize(out);
  }
  json::array by;
  for (GroupKey k : result.group_by) by.emplace_back(GroupKeyName(k));
  json::array rows;
  for (const UsageTotals& t : result.totals) {
    json::object o;
    for (std::size_t i = 0; i < result.group_by.size() && i < t.keys.size(); ++i) {
      o[GroupKeyName(result.group_by[i])] = t.keys[i];
    }
    o["requests"] = t.requests;
    o["errors"] = t.errors;
    o["input_tokens"] = t.input_tokens;
    o["output_tokens"] = t.output_tokens;
    o["cached_tokens"] = t.cached_tokens;
    o["reasoning_tokens"] = t.reasoning_tokens;
    o["cost_micro_usd"] = OptJson(t.cost_micro_usd);
    o["avg_latency_us"] = t.avg_latency_us;
    rows.push_back(std::move(o));
  }
  out["group_by"] = std::move(by);
  out["rows"] = std::move(rows);
  return json::serialize(out);
}

std::string ToCsv(const UsageResult& result) {
  std::string out;
  auto line = [&](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i) out.push_back(',');
      AppendCsvField(out, fields[i]);
    }
    out.push_back('\n');
  };
  if (result.records_query) {
    line(std::vector<std::string>(std::begin(kRecordColumns), std::end(kRecordColumns)));
    for (const UsageRecord& r : result.records) line(RecordFields(r));
    return out;
  }
  std::vector<std::string> header;
  for (GroupKey k : result.group_by) header.emplace_back(GroupKeyName(k));
  header.insert(header.end(), std::begin(kTotalsColumns), std::end(kTotalsColumns));
  line(header);
  for (const UsageTotals& t : result.totals) {
    std::vector<std::string> fields = t.keys;
    auto values = TotalsFields(t);
    fields.insert(fields.end(), values.begin(), values.end());
    line(fields);
  }
  return out;
}

}  // namespace meridian::store
