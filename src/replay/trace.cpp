#include "replay/trace.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "route/affinity.hpp"
#include "tokenize/tokenize.hpp"

namespace meridian::replay {

namespace json = boost::json;

std::string_view FormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kMooncake: return "mooncake";
    case TraceFormat::kAzure: return "azure";
    case TraceFormat::kTauBench: return "tau-bench";
  }
  return "?";
}

std::optional<TraceFormat> ParseFormat(std::string_view name) {
  if (name == "mooncake") return TraceFormat::kMooncake;
  if (name == "azure") return TraceFormat::kAzure;
  if (name == "tau-bench") return TraceFormat::kTauBench;
  return std::nullopt;
}

std::optional<TraceFormat> GuessFormat(std::string_view path) {
  if (path.ends_with(".jsonl")) return TraceFormat::kMooncake;
  if (path.ends_with(".csv")) return TraceFormat::kAzure;
  if (path.ends_with(".json")) return TraceFormat::kTauBench;
  return std::nullopt;
}

bool Trace::has_prefix_ids() const {
  return std::any_of(requests.begin(), requests.end(), [](const TraceRequest& r) { return !r.prefix_ids.empty(); });
}

namespace {

// Collects bad records: counts them, keeps the first few, or fails at once when strict.
class Issues {
 public:
  Issues(Trace& trace, const ReadOptions& options) : trace_(trace), options_(options) {}
  // Returns the error to stop with (strict) or nothing (skip and go on).
  std::optional<core::Error> Bad(std::string where, std::string_view message) {
    std::string text = fmt::format("{}: {}", where, message);
    if (options_.strict) {
      core::Error e;
      e.code = core::ErrorCode::kInvalidRequest;
      e.message = std::move(text);
      return e;
    }
    ++trace_.skipped;
    if (trace_.issues.size() < Trace::kMaxIssues) trace_.issues.push_back(std::move(text));
    return std::nullopt;
  }

 private:
  Trace& trace_;
  const ReadOptions& options_;
};

bool Full(const Trace& trace, const ReadOptions& options) {
  return options.limit != 0 && trace.requests.size() >= options.limit;
}

// A JSON number that is a whole count >= 0 (1.0 is accepted; 1.5 is not).
std::optional<std::int64_t> Count(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64() >= 0 ? std::optional(v->as_int64()) : std::nullopt;
  if (v->is_uint64()) {
    return v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX) ? std::optional(static_cast<std::int64_t>(v->as_uint64()))
                                                                     : std::nullopt;
  }
  if (v->is_double()) {
    double d = v->as_double();
    if (d >= 0 && d < 9.2e18 && std::floor(d) == d) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::string_view TrimLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

// Calls `each(line, number)` for every line of `text` (1-based numbers); stops when it returns false.
template <class F>
void ForEachLine(std::string_view text, F&& each) {
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!each(line, ++number)) return;
  }
}

// Why a Mooncake line is bad, or nothing (and `out` filled).
std::optional<std::string> ParseMooncakeLine(std::string_view line, TraceRequest& out) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return fmt::format("not JSON ({})", ec.message());
  if (!v.is_object()) return std::string("expected a JSON object");
  const json::object& o = v.as_object();
  const json::value* ts = o.if_contains("timestamp");
  if (!ts || !ts->is_number()) return std::string("'timestamp' (milliseconds) is missing or not a number");
  const double t = ts->to_number<double>();
  if (!(t >= 0) || !std::isfinite(t)) return std::string("'timestamp' must be >= 0");
  auto input = Count(o.if_contains("input_length"));
  if (!input) return std::string("'input_length' is missing or not a whole number >= 0");
  auto output = Count(o.if_contains("output_length"));
  if (!output) return std::string("'output_length' is missing or not a whole number >= 0");
  const json::value* ids = o.if_contains("hash_ids");
  if (!ids || !ids->is_array()) return std::string("'hash_ids' is missing or not an array");
  out.time_ms = t;
  out.input_tokens = *input;
  out.output_tokens = *output;
  out.prefix_ids.clear();
  out.prefix_ids.reserve(ids->as_array().size());
  for (const auto& id : ids->as_array()) {
    auto n = Count(&id);
    if (!n) return std::string("'hash_ids' must hold whole numbers >= 0");
    out.prefix_ids.push_back(static_cast<std::uint64_t>(*n));
  }
  return std::nullopt;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> Digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The text of an OpenAI chat message as sent upstream: its content (a string, or the text of
// its parts) and its tool calls.
std::string MessageText(const json::object& m) {
  std::string text;
  if (const json::value* c = m.if_contains("content")) {
    if (c->is_string()) {
      text.append(c->as_string());
    } else if (c->is_array()) {
      for (const auto& part : c->as_array()) {
        if (const json::object* p = part.if_object()) {
          if (const json::value* t = p->if_contains("text"); t && t->is_string()) text.append(t->as_string());
        }
      }
    }
  }
  if (const json::value* calls = m.if_contains("tool_calls"); calls && !calls->is_null()) {
    text.append(json::serialize(*calls));
  }
  return text;
}

// Tokens of a message: its text plus the few tokens of chat framing (role, separators) that
// OpenAI's chat format adds per message.
std::int64_t MessageTokens(const json::object& m) {
  constexpr std::int64_t kPerMessage = 4;
  return kPerMessage + static_cast<std::int64_t>(tokenize::ApproximateCount(MessageText(m)));
}

std::optional<std::string> CheckMessage(const json::value& v) {
  const json::object* m = v.if_object();
  if (!m) return std::string("a message is not an object");
  const json::value* role = m->if_contains("role");
  if (!role || !role->is_string()) return std::string("a message has no 'role'");
  const json::value* content = m->if_contains("content");
  if (content && !content->is_string() && !content->is_null() && !content->is_array()) {
    return std::string("a message's 'content' is not a string, null or an array");
  }
  return std::nullopt;
}

core::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Fail(core::ErrorCode::kNotFound, fmt::format("cannot read trace file '{}'", path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

core::Result<Trace> ReadMooncake(std::string_view text, std::string_view file, const ReadOptions& options) {
  Trace trace;
  trace.format = TraceFormat::kMooncake;
  trace.file = file;
  Issues issues(trace, options);
  std::optional<core::Error> stop;
  ForEachLine(text, [&](std::string_view line, std::size_t number) {
    line = TrimLine(line);
    if (line.empty()) return true;  // blank lines (a trailing newline) are no records
    TraceRequest r;
    if (auto why = ParseMooncakeLine(line, r)) {
      stop = issues.Bad(fmt::format("{}:{}", file, number), *why);
      return !stop;
    }
    trace.requests.push_back(std::move(r));
    return !Full(trace, options);
  });
  if (stop) return std::unexpected(std::move(*stop));
  return trace;
}

namespace {

// Azure's TIMESTAMP in 100-ns ticks since 1970 (its 7 decimal places): integers, so that the
// differences between requests keep every digit (milliseconds since 1970 as a double do not).
std::optional<std::int64_t> ParseAzureTicks(std::string_view s) {
  // 2023-11-16 18:17:03.9799600
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  auto y = Digits(s.substr(0, 4)), mo = Digits(s.substr(5, 2)), d = Digits(s.substr(8, 2));
  auto h = Digits(s.substr(11, 2)), mi = Digits(s.substr(14, 2)), sec = Digits(s.substr(17, 2));
  if (!y || !mo || !d || !h || !mi || !sec || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 ||
      *sec > 60) {
    return std::nullopt;
  }
  std::int64_t ticks = 0;
  std::string_view rest = s.substr(19);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() == 1) return std::nullopt;
    std::int64_t scale = 1'000'000;  // the first decimal is 10^6 ticks
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      ticks += (c - '0') * scale;  // digits beyond the 7th (scale 0) are dropped
      scale /= 10;
    }
  }
  const std::int64_t days = DaysFromCivil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  const std::int64_t seconds = days * 86400 + *h * 3600 + *mi * 60 + *sec;
  return seconds * 10'000'000 + ticks;
}

}  // namespace

std::optional<double> ParseAzureTimestamp(std::string_view s) {
  auto ticks = ParseAzureTicks(s);
  if (!ticks) return std::nullopt;
  return static_cast<double>(*ticks) / 10'000.0;
}

core::Result<Trace> ReadAzure(std::string_view text, std::string_view file, const ReadOptions& options) {
  Trace trace;
  trace.format = TraceFormat::kAzure;
  trace.file = file;
  Issues issues(trace, options);
  std::optional<core::Error> stop;
  bool header = false;
  std::optional<std::int64_t> first;
  ForEachLine(text, [&](std::string_view line, std::size_t number) {
    line = TrimLine(line);
    if (line.empty()) return true;
    if (!header) {
      if (line != "TIMESTAMP,ContextTokens,GeneratedTokens") {
        core::Error e;
        e.code = core::ErrorCode::kInvalidRequest;
        e.message = fmt::format("{}:{}: expected the header 'TIMESTAMP,ContextTokens,GeneratedTokens'", file, number);
        stop = std::move(e);
        return false;
      }
      header = true;
      return true;
    }
    const std::size_t c1 = line.find(','), c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    std::optional<std::string> why;
    std::optional<std::int64_t> at;
    std::optional<std::int64_t> input, output;
    if (c2 == std::string_view::npos || line.find(',', c2 + 1) != std::string_view::npos) {
      why = "expected 3 fields: TIMESTAMP,ContextTokens,GeneratedTokens";
    } else if (!(at = ParseAzureTicks(line.substr(0, c1)))) {
      why = "TIMESTAMP is not 'YYYY-MM-DD HH:MM:SS[.fraction]'";
    } else if (!(input = Digits(line.substr(c1 + 1, c2 - c1 - 1))) || *input < 0) {
      why = "ContextTokens is not a whole number >= 0";
    } else if (!(output = Digits(line.substr(c2 + 1))) || *output < 0) {
      why = "GeneratedTokens is not a whole number >= 0";
    }
    if (why) {
      stop = issues.Bad(fmt::format("{}:{}", file, number), *why);
      return !stop;
    }
    if (!first) first = *at;
    TraceRequest r;
    r.time_ms = static_cast<double>(*at - *first) / 10'000.0;  // may be negative if the file is out of order: the replay sorts
    r.input_tokens = *input;
    r.output_tokens = *output;
    trace.requests.push_back(std::move(r));
    return !Full(trace, options);
  });
  if (stop) return std::unexpected(std::move(*stop));
  if (!header) return core::Fail(core::ErrorCode::kInvalidRequest, fmt::format("{}: empty file (no CSV header)", file));
  return trace;
}

core::Result<Trace> ReadTauBench(std::string_view text, std::string_view file, const ReadOptions& options) {
  Trace trace;
  trace.format = TraceFormat::kTauBench;
  trace.file = file;
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return core::Fail(core::ErrorCode::kInvalidRequest, fmt::format("{}: not JSON ({})", file, ec.message()));
  if (!doc.is_array()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, fmt::format("{}: expected a JSON array of trajectories", file));
  }
  Issues issues(trace, options);
  json::array& all = doc.as_array();
  for (std::size_t i = 0; i < all.size() && !Full(trace, options); ++i) {
    std::optional<std::string> why;
    json::object* entry = all[i].if_object();
    json::value* traj = entry ? entry->if_contains("traj") : nullptr;
    if (!entry) {
      why = "expected an object";
    } else if (!traj || !traj->is_array()) {
      why = "'traj' is missing or not an array";
    } else {
      for (const auto& m : traj->as_array()) {
        if ((why = CheckMessage(m))) break;
      }
    }
    if (why) {
      if (auto stop = issues.Bad(fmt::format("{}: [{}]", file, i), *why)) return std::unexpected(std::move(*stop));
      continue;
    }
    const json::array& messages = traj->as_array();
    const auto conversation = static_cast<std::int32_t>(trace.conversations.size());
    // Each assistant message is one model call: its prompt is every message before it.
    std::vector<std::uint64_t> chain;
    std::int64_t prompt_tokens = 0;
    std::uint64_t prefix = 0;
    std::size_t turn = 0;
    for (std::size_t k = 0; k < messages.size() && !Full(trace, options); ++k) {
      const json::object& m = messages[k].as_object();
      const std::string_view role = m.at("role").as_string();
      if (role == "assistant" && k > 0) {
        TraceRequest r;
        r.time_ms = static_cast<double>(conversation) * options.conversation_gap_ms +
                    static_cast<double>(turn++) * options.turn_gap_ms;
        r.input_tokens = prompt_tokens;
        r.output_tokens = std::max<std::int64_t>(1, MessageTokens(m) - 4);
        r.prefix_ids = chain;
        r.conversation = conversation;
        r.message_count = static_cast<std::uint32_t>(k);
        trace.requests.push_back(std::move(r));
      }
      // One prefix "block" per message, chained: equal ids mean equal conversations up to there.
      prefix = route::MixKey(prefix, route::PrefixKeyBuilder().Add(role).Add(MessageText(m)).key());
      chain.push_back(prefix);
      prompt_tokens += MessageTokens(m);
    }
    trace.conversations.push_back(std::move(traj->as_array()));
  }
  return trace;
}

core::Result<Trace> ReadTrace(const std::string& path, std::optional<TraceFormat> format, const ReadOptions& options) {
  if (!format) format = GuessFormat(path);
  if (!format) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("{}: cannot tell the trace format from the name (.jsonl = mooncake, .csv = azure, "
                                  ".json = tau-bench); pass --format",
                                  path));
  }
  auto text = ReadFile(path);
  if (!text) return std::unexpected(text.error());
  switch (*format) {
    case TraceFormat::kMooncake: return ReadMooncake(*text, path, options);
    case TraceFormat::kAzure: return ReadAzure(*text, path, options);
    case TraceFormat::kTauBench: return ReadTauBench(*text, path, options);
  }
  return core::Fail(core::ErrorCode::kInternal, "unknown trace format");
}

}  // namespace meridian::replay
