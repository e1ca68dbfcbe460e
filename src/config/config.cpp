#include "config/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>
#include <system_error>

#include "config/interpolate.hpp"
#include "config/units.hpp"
#include "config/yaml_util.hpp"
#include "core/jurisdiction.hpp"
#include "core/url.hpp"

namespace meridian::config {

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kEdge: return "edge";
    case Tier::kLocal: return "local";
    case Tier::kCloud: return "cloud";
  }
  return "cloud";
}

std::string_view LedgerDurabilityName(LedgerDurability durability) {
  return durability == LedgerDurability::kStrict ? "strict" : "batched";
}

std::string ConfigIssue::ToString() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}", line);
  out += ": ";
  if (!field.empty()) {
    out += field;
    out += ": ";
  }
  out += message;
  return out;
}

namespace {

constexpr Millis kMinDuration{1};
constexpr Millis kMaxDuration{24 * 3'600'000};
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr std::size_t kMaxFileBytes = 4 * kMiB;

constexpr std::string_view kProviders[] = {
    "openai", "azure-openai", "anthropic", "gemini",  "mistral", "deepseek",
    "qwen",   "groq",         "together",  "xai",     "openrouter", "ollama",
    "vllm",   "llamacpp",     "sglang",    "simulator",
};

// ---------------------------------------------------------------------------------------------
// Small helpers

bool HasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool IsLowerDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsValidBackendId(std::string_view id) {
  if (id.empty() || id.size() > 63 || !IsLowerDigit(id.front())) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return IsLowerDigit(c) || c == '_' || c == '-'; });
}

bool IsValidEnvName(std::string_view name) {
  auto start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (name.empty() || !start(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return start(c) || (c >= '0' && c <= '9'); });
}

// ---------------------------------------------------------------------------------------------
// Parse context: where issues and warnings are collected.

struct Ctx {
  std::string file;
  EnvLookup lookup;
  std::vector<ConfigIssue> issues;
  std::vector<ConfigIssue> warnings;
  std::string tolerate_unset;  // requires_env of the backend being read, when unset

  void Error(int line, std::string field, std::string message) {
    issues.push_back(ConfigIssue{file, line, std::move(field), std::move(message)});
  }
  void Warn(int line, std::string field, std::string message) {
    warnings.push_back(ConfigIssue{file, line, std::move(field), std::move(message)});
  }
};

// One key/value of a map.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
  std::string path;  // dotted path of the value
  int key_line = 0;
  // Line of the value, falling back to the key's line for empty values.
  int Line() const {
    if (value.IsNull()) return key_line;
    int l = LineOf(value);
    return l > 0 ? l : key_line;
  }
};

// Reads the entries of a map node, reporting non-string keys, duplicates and unknown keys.
class Fields {
 public:
  Fields(Ctx& ctx, const YAML::Node& map, std::string_view path,
         std::initializer_list<std::string_view> known) {
    std::vector<std::string_view> known_list(known);
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key_node = it->first;
      int key_line = LineOf(key_node);
      if (!key_node.IsScalar()) {
        ctx.Error(key_line, std::string(path), "field names must be plain strings");
        continue;
      }
      const std::string& key = key_node.Scalar();
      std::string field = Join(path, key);
      if (std::find(known_list.begin(), known_list.end(), key) == known_list.end()) {
        ctx.Error(key_line, field, UnknownFieldMessage(key, known_list));
        continue;
      }
      if (const Entry* first = Get(key)) {
        ctx.Error(key_line, field,
                  fmt::format("duplicate field '{}' (first set at line {})", key, first->key_line));
        continue;
      }
      entries_.push_back(Entry{key, key_node, it->second, field, key_line});
    }
  }

  const Entry* Get(std::string_view key) const {
    for (const Entry& e : entries_) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }

 private:
  std::vector<Entry> entries_;
};

// ---------------------------------------------------------------------------------------------
// Scalar readers. Each reports its own issue and returns nullopt on failure.

// `expected` names the wanted kind in the type error ("an integer").
std::optional<std::string> ReadString(Ctx& ctx, const YAML::Node& node, int line,
                                      const std::string& field,
                                      std::string_view expected = "a string") {
  if (!node.IsScalar()) {
    ctx.Error(line, field, fmt::format("expected {}, got {}", expected, KindName(node)));
    return std::nullopt;
  }
  auto value = Interpolate(node.Scalar(), ctx.lookup, ctx.tolerate_unset);
  if (!value) {
    ctx.Error(line, field, value.error().message);
    return std::nullopt;
  }
  return std::move(*value);
}

std::optional<std::string> ReadString(Ctx& ctx, const Entry& e,
                                      std::string_view expected = "a string") {
  return ReadString(ctx, e.value, e.Line(), e.path, expected);
}

// A scalar that must not be empty.
std::optional<std::string> ReadNonEmpty(Ctx& ctx, const Entry& e) {
  auto s = ReadString(ctx, e);
  if (s && s->empty()) {
    ctx.Error(e.Line(), e.path, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<uint64_t> ReadUint(Ctx& ctx, const Entry& e, uint64_t min, uint64_t max) {
  auto s = ReadString(ctx, e, "an integer");
  if (!s) return std::nullopt;
  const std::string& text = *s;
  if (!text.empty() && text.front() == '-' && text.size() > 1 &&
      std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    ctx.Error(e.Line(), e.path, fmt::format("must not be negative, got {}", text));
    return std::nullopt;
  }
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 19 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    ctx.Error(e.Line(), e.path, fmt::format("expected an integer, got '{}'", text));
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
  if (v < min || v > max) {
    ctx.Error(e.Line(), e.path, fmt::format("must be between {} and {}, got {}", min, max, v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> ReadBool(Ctx& ctx, const Entry& e) {
  auto s = ReadString(ctx, e, "true or false");
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "True" || *s == "TRUE") return true;
  if (*s == "false" || *s == "False" || *s == "FALSE") return false;
  ctx.Error(e.Line(), e.path, fmt::format("expected true or false, got '{}'", *s));
  return std::nullopt;
}

std::optional<Millis> ReadDuration(Ctx& ctx, const Entry& e, Millis min = kMinDuration,
                                   Millis max = kMaxDuration) {
  auto s = ReadString(ctx, e, "a duration");
  if (!s) return std::nullopt;
  auto d = ParseDuration(*s);
  if (!d) {
    ctx.Error(e.Line(), e.path, d.error().message);
    return std::nullopt;
  }
  if (*d < min || *d > max) {
    ctx.Error(e.Line(), e.path,
              fmt::format("must be between {} and {}, got {}", FormatDuration(min),
                          FormatDuration(max), FormatDuration(*d)));
    return std::nullopt;
  }
  return *d;
}

std::optional<uint64_t> ReadSize(Ctx& ctx, const Entry& e, uint64_t min, uint64_t max) {
  auto s = ReadString(ctx, e, "a size");
  if (!s) return std::nullopt;
  auto v = ParseSize(*s);
  if (!v) {
    ctx.Error(e.Line(), e.path, v.error().message);
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    ctx.Error(e.Line(), e.path,
              fmt::format("must be between {} and {}, got {}", FormatSize(min), FormatSize(max),
                          FormatSize(*v)));
    return std::nullopt;
  }
  return *v;
}

struct ListItem {
  std::string value;
  int line = 0;
  std::string path;
};

// A list of strings; an empty value counts as an empty list. Items that fail are reported
// and left out; nullopt only when the value is not a list at all.
std::optional<std::vector<ListItem>> ReadStringList(Ctx& ctx, const Entry& e) {
  if (e.value.IsNull()) return std::vector<ListItem>{};
  if (!e.value.IsSequence()) {
    ctx.Error(e.Line(), e.path, fmt::format("expected a list of strings, got {}", KindName(e.value)));
    return std::nullopt;
  }
  std::vector<ListItem> out;
  std::size_t i = 0;
  for (const YAML::Node& item : e.value) {
    std::string path = Index(e.path, i++);
    int line = LineOf(item) > 0 ? LineOf(item) : e.Line();
    if (auto s = ReadString(ctx, item, line, path)) out.push_back(ListItem{std::move(*s), line, path});
  }
  return out;
}

// A map section; an empty value counts as absent. Reports a non-map and returns false.
bool IsMapSection(Ctx& ctx, const Entry& e) {
  if (e.value.IsNull()) return false;
  if (!e.value.IsMap()) {
    ctx.Error(e.Line(), e.path, fmt::format("expected a map, got {}", KindName(e.value)));
    return false;
  }
  return true;
}

void ReadCaFile(Ctx& ctx, const Entry& e, std::string& out) {
  auto s = ReadString(ctx, e);
  if (!s) return;
  if (!s->empty()) {
    std::error_code ec;
    std::filesystem::file_status st = std::filesystem::status(*s, ec);
    if (ec || !std::filesystem::exists(st)) {
      ctx.Error(e.Line(), e.path, fmt::format("cannot read CA file '{}': no such file", *s));
      return;
    }
    if (!std::filesystem::is_regular_file(st)) {
      ctx.Error(e.Line(), e.path, fmt::format("CA file '{}' is not a regular file", *s));
      return;
    }
    std::ifstream in(*s, std::ios::binary);
    if (!in) {
      ctx.Error(e.Line(), e.path,
                fmt::format("cannot read CA file '{}': {}", *s,
                            std::error_code(errno, std::generic_category()).message()));
      return;
    }
  }
  out = std::move(*s);
}

// ---------------------------------------------------------------------------------------------
// Sections

std::optional<std::pair<std::string, uint16_t>> ParseListen(std::string_view text,
                                                             std::string& why) {
  constexpr std::string_view kExpected = "expected host:port, e.g. 127.0.0.1:8090 or [::1]:8090";
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      why = kExpected;
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = kExpected;
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      why = "IPv6 addresses must be written in brackets, e.g. [::1]:8090";
      return std::nullopt;
    }
  }
  if (host.empty()) {
    why = fmt::format("host is missing; {} (0.0.0.0 listens on all interfaces)", kExpected);
    return std::nullopt;
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    why = "port must be a number from 0 to 65535";
    return std::nullopt;
  }
  unsigned p = static_cast<unsigned>(std::stoul(std::string(port)));
  if (p > 65535) {
    why = "port must be a number from 0 to 65535";
    return std::nullopt;
  }
  // Host syntax is the same as a URL's: reuse its validation.
  bool v6 = host.find(':') != std::string_view::npos;
  std::string probe = v6 ? fmt::format("http://[{}]", host) : fmt::format("http://{}", host);
  auto url = core::ParseUrl(probe);
  if (!url || !url->base_path.empty()) {
    why = fmt::format("invalid host '{}'", host);
    return std::nullopt;
  }
  return std::make_pair(url->host, static_cast<uint16_t>(p));
}

// A "host:port" listen address into `host`/`port` (left unchanged after an issue).
void ReadListen(Ctx& ctx, const Entry& e, std::string& host, uint16_t& port) {
  auto s = ReadString(ctx, e);
  if (!s) return;
  std::string why;
  if (auto hp = ParseListen(*s, why)) {
    host = hp->first;
    port = hp->second;
  } else {
    ctx.Error(e.Line(), e.path, fmt::format("invalid listen address '{}': {}", *s, why));
  }
}

void ParseServer(Ctx& ctx, const Entry& section, ServerConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path,
           {"listen", "workers", "max_connections", "max_header_size", "max_body_size",
            "header_timeout", "body_timeout", "idle_timeout", "write_timeout", "shutdown_grace",
            "request_log"});
  if (const Entry* e = f.Get("listen")) ReadListen(ctx, *e, out.listen_host, out.listen_port);
  if (const Entry* e = f.Get("workers")) {
    if (auto v = ReadUint(ctx, *e, 0, 256)) out.workers = static_cast<unsigned>(*v);
  }
  if (const Entry* e = f.Get("max_connections")) {
    if (auto v = ReadUint(ctx, *e, 1, 1'000'000)) out.max_connections = *v;
  }
  if (const Entry* e = f.Get("max_header_size")) {
    if (auto v = ReadSize(ctx, *e, kKiB, kMiB)) out.max_header_bytes = *v;
  }
  if (const Entry* e = f.Get("max_body_size")) {
    if (auto v = ReadSize(ctx, *e, kKiB, kGiB)) out.max_body_bytes = *v;
  }
  if (const Entry* e = f.Get("header_timeout")) {
    if (auto v = ReadDuration(ctx, *e)) out.header_timeout = *v;
  }
  if (const Entry* e = f.Get("body_timeout")) {
    if (auto v = ReadDuration(ctx, *e)) out.body_timeout = *v;
  }
  if (const Entry* e = f.Get("idle_timeout")) {
    if (auto v = ReadDuration(ctx, *e)) out.idle_timeout = *v;
  }
  if (const Entry* e = f.Get("write_timeout")) {
    if (auto v = ReadDuration(ctx, *e)) out.write_timeout = *v;
  }
  if (const Entry* e = f.Get("shutdown_grace")) {
    if (auto v = ReadDuration(ctx, *e, Millis{0})) out.shutdown_grace = *v;
  }
  if (const Entry* e = f.Get("request_log")) {
    if (auto v = ReadBool(ctx, *e)) out.request_log = *v;
  }
}

// An ISO 3166-1 alpha-2 code or "EU", upper case; the message suggests the upper-case form.
std::optional<std::string> ReadJurisdiction(Ctx& ctx, const Entry& e) {
  auto s = ReadNonEmpty(ctx, e);
  if (!s) return std::nullopt;
  if (core::IsKnownJurisdiction(*s)) return s;
  std::string upper = *s;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (upper != *s && core::IsKnownJurisdiction(upper)) {
    ctx.Error(e.Line(), e.path, fmt::format("unknown jurisdiction '{}': codes are upper case, write '{}'", *s, upper));
  } else {
    ctx.Error(e.Line(), e.path,
              fmt::format("unknown jurisdiction '{}' (expected an ISO 3166-1 alpha-2 code such as DE or US, or EU)",
                          *s));
  }
  return std::nullopt;
}

// The key string of one auth.keys entry, checked. Keys are secrets: no message quotes one.
std::optional<std::string> CheckKey(Ctx& ctx, std::string value, int line, const std::string& path) {
  if (value.empty()) {
    ctx.Error(line, path, "must not be empty");
    return std::nullopt;
  }
  if (HasSpaceOrControl(value)) {
    ctx.Error(line, path, "must not contain spaces or control characters");
    return std::nullopt;
  }
  return value;
}

// A map entry of auth.keys: {key, tenant, team, data_classes, jurisdiction}.
std::optional<KeyConfig> ParseKeyMap(Ctx& ctx, const YAML::Node& node, const std::string& path) {
  Fields f(ctx, node, path, {"key", "tenant", "team", "data_classes", "jurisdiction"});
  KeyConfig k;
  bool ok = true;
  const Entry* key = f.Get("key");
  if (!key) {
    ctx.Error(LineOf(node), Join(path, "key"), "is required");
    ok = false;
  } else if (auto s = ReadString(ctx, *key)) {
    if (auto checked = CheckKey(ctx, std::move(*s), key->Line(), key->path)) k.key = std::move(*checked);
    else ok = false;
  } else {
    ok = false;
  }
  for (std::string_view name : {"tenant", "team"}) {
    const Entry* e = f.Get(name);
    if (!e) continue;
    auto s = ReadNonEmpty(ctx, *e);
    if (!s) { ok = false; continue; }
    if (HasSpaceOrControl(*s) || s->find('*') != std::string::npos) {
      ctx.Error(e->Line(), e->path, "must not contain spaces, control characters or '*'");
      ok = false;
      continue;
    }
    (name == "tenant" ? k.tenant : k.team) = std::move(*s);
  }
  if (const Entry* e = f.Get("data_classes")) {
    if (auto items = ReadStringList(ctx, *e)) {
      for (const ListItem& item : *items) {
        auto cls = core::ParseDataClass(item.value);
        if (!cls) {
          ctx.Error(item.line, item.path, fmt::format("unknown data class '{}'", item.value));
          ok = false;
        } else if (std::find(k.data_classes.begin(), k.data_classes.end(), *cls) == k.data_classes.end()) {
          k.data_classes.push_back(*cls);
        }
      }
    } else {
      ok = false;
    }
  }
  if (const Entry* e = f.Get("jurisdiction")) {
    if (auto j = ReadJurisdiction(ctx, *e)) k.jurisdiction = std::move(*j);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return k;
}

void ParseAuth(Ctx& ctx, const Entry& section, AuthConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"keys"});
  const Entry* e = f.Get("keys");
  if (!e || e->value.IsNull()) return;
  if (!e->value.IsSequence()) {
    ctx.Error(e->Line(), e->path, fmt::format("expected a list of keys, got {}", KindName(e->value)));
    return;
  }
  std::vector<std::string> paths;  // of out.keys, for the duplicate message
  std::size_t i = 0;
  for (const YAML::Node& item : e->value) {
    std::string path = Index(e->path, i++);
    int line = LineOf(item) > 0 ? LineOf(item) : e->Line();
    std::optional<KeyConfig> k;
    if (item.IsMap()) {
      k = ParseKeyMap(ctx, item, path);
    } else if (auto s = ReadString(ctx, item, line, path, "a key string or a map with 'key'")) {
      if (auto checked = CheckKey(ctx, std::move(*s), line, path)) {
        k.emplace();
        k->key = std::move(*checked);
      }
    }
    if (!k) continue;
    bool duplicate = false;
    for (std::size_t j = 0; j < out.keys.size(); ++j) {
      if (out.keys[j].key == k->key) {
        ctx.Error(line, path, fmt::format("duplicate key (same as {})", paths[j]));
        duplicate = true;
        break;
      }
    }
    if (!duplicate) {
      out.keys.push_back(std::move(*k));
      paths.push_back(path);
    }
  }
}

void ParseAdmin(Ctx& ctx, const Entry& section, AdminConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"listen", "keys"});
  out.enabled = true;
  if (const Entry* e = f.Get("listen")) ReadListen(ctx, *e, out.listen_host, out.listen_port);
  const Entry* keys = f.Get("keys");
  if (!keys || keys->value.IsNull() || (keys->value.IsSequence() && keys->value.size() == 0)) {
    ctx.Error(keys ? keys->Line() : section.key_line, Join(section.path, "keys"),
              "at least one admin key is required: the admin API is never open");
    return;
  }
  auto items = ReadStringList(ctx, *keys);
  if (!items) return;
  for (ListItem& item : *items) {
    if (auto k = CheckKey(ctx, std::move(item.value), item.line, item.path)) out.keys.push_back(std::move(*k));
  }
}

void ParseLedger(Ctx& ctx, const Entry& section, LedgerConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"durability", "batch_max", "batch_window", "queue_size"});
  if (const Entry* e = f.Get("durability")) {
    if (auto s = ReadString(ctx, *e)) {
      if (*s == "batched") {
        out.durability = LedgerDurability::kBatched;
      } else if (*s == "strict") {
        out.durability = LedgerDurability::kStrict;
      } else {
        ctx.Error(e->Line(), e->path, fmt::format("unknown durability '{}' (expected batched or strict)", *s));
      }
    }
  }
  bool sizes_ok = true;
  if (const Entry* e = f.Get("queue_size")) {
    if (auto v = ReadUint(ctx, *e, 1, 16'777'216)) out.queue_size = *v;
    else sizes_ok = false;
  }
  if (const Entry* e = f.Get("batch_max")) {
    if (auto v = ReadUint(ctx, *e, 1, 65'536)) {
      out.batch_max = *v;
      if (sizes_ok && out.batch_max > out.queue_size) {
        ctx.Error(e->Line(), e->path,
                  fmt::format("must not exceed queue_size ({}), got {}", out.queue_size, out.batch_max));
      }
    }
  }
  if (const Entry* e = f.Get("batch_window")) {
    if (auto v = ReadDuration(ctx, *e, Millis{1}, Millis{10'000})) out.batch_window = *v;
  }
}

void ParseStore(Ctx& ctx, const Entry& section, StoreConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"ledger", "audit"});
  if (const Entry* e = f.Get("ledger")) ParseLedger(ctx, *e, out.ledger);
  if (const Entry* e = f.Get("audit")) {
    if (IsMapSection(ctx, *e)) {
      Fields a(ctx, e->value, e->path, {"enabled"});
      if (const Entry* en = a.Get("enabled")) {
        if (auto v = ReadBool(ctx, *en)) out.audit.enabled = *v;
      }
    }
  }
}

void ParseTimeouts(Ctx& ctx, const Entry& section, UpstreamTimeouts& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"connect", "first_byte", "between_chunks", "total"});
  if (const Entry* e = f.Get("connect")) {
    if (auto v = ReadDuration(ctx, *e)) out.connect = *v;
  }
  if (const Entry* e = f.Get("first_byte")) {
    if (auto v = ReadDuration(ctx, *e)) out.first_byte = *v;
  }
  if (const Entry* e = f.Get("between_chunks")) {
    if (auto v = ReadDuration(ctx, *e)) out.between_chunks = *v;
  }
  if (const Entry* e = f.Get("total")) {
    if (auto v = ReadDuration(ctx, *e)) out.total = *v;
  }
}

void ParsePool(Ctx& ctx, const Entry& section, PoolConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"max_idle", "idle_timeout", "max_lifetime"});
  if (const Entry* e = f.Get("max_idle")) {
    if (auto v = ReadUint(ctx, *e, 0, 10'000)) out.max_idle = *v;
  }
  if (const Entry* e = f.Get("idle_timeout")) {
    if (auto v = ReadDuration(ctx, *e)) out.idle_timeout = *v;
  }
  if (const Entry* e = f.Get("max_lifetime")) {
    if (auto v = ReadDuration(ctx, *e)) out.max_lifetime = *v;
  }
}

struct UpstreamDefaults {
  UpstreamTimeouts timeouts;
  PoolConfig pool;
  std::string ca_file;
};

void ParseUpstreamDefaults(Ctx& ctx, const Entry& section, UpstreamDefaults& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"timeouts", "pool", "ca_file"});
  if (const Entry* e = f.Get("timeouts")) ParseTimeouts(ctx, *e, out.timeouts);
  if (const Entry* e = f.Get("pool")) ParsePool(ctx, *e, out.pool);
  if (const Entry* e = f.Get("ca_file")) ReadCaFile(ctx, *e, out.ca_file);
}

void ParseHealthCheck(Ctx& ctx, const Entry& section, HealthCheckConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path, {"path", "interval", "timeout"});
  HealthCheckConfig hc;
  const Entry* path = f.Get("path");
  if (!path) {
    ctx.Error(section.key_line, Join(section.path, "path"), "is required when health_check is set");
  } else if (auto s = ReadNonEmpty(ctx, *path)) {
    if (s->front() != '/') {
      ctx.Error(path->Line(), path->path, fmt::format("must start with '/', got '{}'", *s));
    } else if (HasSpaceOrControl(*s) || s->find_first_of("?#") != std::string::npos) {
      ctx.Error(path->Line(), path->path,
                "must not contain spaces, control characters, '?' or '#'");
    } else {
      hc.path = *s;
    }
  }
  bool ok = true;
  if (const Entry* e = f.Get("interval")) {
    if (auto v = ReadDuration(ctx, *e)) hc.interval = *v; else ok = false;
  }
  const Entry* timeout = f.Get("timeout");
  if (timeout) {
    if (auto v = ReadDuration(ctx, *timeout)) hc.timeout = *v; else ok = false;
  }
  if (ok && hc.timeout > hc.interval) {
    int line = timeout ? timeout->Line() : section.key_line;
    ctx.Error(line, Join(section.path, "timeout"),
              fmt::format("must not exceed interval ({}), got {}", FormatDuration(hc.interval),
                          FormatDuration(hc.timeout)));
  }
  if (!hc.path.empty()) out = hc;
}

struct ParsedBackend {
  BackendConfig config;
  bool enabled = true;
  bool models_ok = false;
  bool id_ok = false;
};

ParsedBackend ParseBackend(Ctx& ctx, const YAML::Node& node, const std::string& path,
                           const UpstreamDefaults& defaults) {
  ParsedBackend pb;
  BackendConfig& b = pb.config;
  b.line = LineOf(node);
  b.path = path;
  b.timeouts = defaults.timeouts;
  b.pool = defaults.pool;
  b.ca_file = defaults.ca_file;
  if (!node.IsMap()) {
    ctx.Error(b.line, path, fmt::format("expected a map describing a backend, got {}", KindName(node)));
    return pb;
  }
  Fields f(ctx, node, path,
           {"id", "provider", "base_url", "api_key", "requires_env", "models", "tier",
            "jurisdiction", "region", "vendor", "timeouts", "pool", "ca_file", "health_check",
            "facts", "dialect", "api_version", "deployments", "prices"});
  auto require = [&](std::string_view key) -> const Entry* {
    const Entry* e = f.Get(key);
    if (!e) ctx.Error(b.line, Join(path, key), "is required");
    return e;
  };

  // requires_env first: when its variable is unset, the backend is disabled and a reference
  // to that same variable elsewhere in the entry (e.g. api_key: ${OPENAI_API_KEY}) is no error.
  ctx.tolerate_unset.clear();
  if (const Entry* e = f.Get("requires_env")) {
    if (auto name = ReadNonEmpty(ctx, *e)) {
      if (!IsValidEnvName(*name)) {
        ctx.Error(e->Line(), e->path,
                  fmt::format("invalid environment variable name '{}' (letters, digits and '_', "
                              "not starting with a digit)",
                              *name));
      } else {
        const char* value = ctx.lookup(*name);
        if (value == nullptr || *value == '\0') {
          pb.enabled = false;
          ctx.tolerate_unset = *name;
        }
      }
    }
  }

  if (const Entry* e = require("id")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (IsValidBackendId(*s)) {
        b.id = *s;
        pb.id_ok = true;
      } else {
        ctx.Error(e->Line(), e->path,
                  fmt::format("invalid id '{}': use 1 to 63 lower-case letters, digits, '_' and "
                              "'-', starting with a letter or digit",
                              *s));
      }
    }
  }
  if (const Entry* e = require("provider")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (std::find(std::begin(kProviders), std::end(kProviders), *s) != std::end(kProviders)) {
        b.provider = *s;
      } else if (std::string_view hint = Suggest(*s, kProviders); !hint.empty()) {
        ctx.Error(e->Line(), e->path,
                  fmt::format("unknown provider '{}'; did you mean '{}'?", *s, hint));
      } else {
        std::string known;
        for (std::string_view p : kProviders) known += (known.empty() ? "" : ", ") + std::string(p);
        ctx.Error(e->Line(), e->path, fmt::format("unknown provider '{}' (known: {})", *s, known));
      }
    }
  }
  const ProviderPreset* preset = FindProviderPreset(b.provider);
  if (preset) b.dialect = preset->dialect;
  if (const Entry* e = f.Get("dialect")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (auto d = ParseWireDialect(*s)) {
        b.dialect = *d;
      } else {
        std::string known;
        for (std::string_view n : WireDialectNames()) known += (known.empty() ? "" : ", ") + std::string(n);
        ctx.Error(e->Line(), e->path, fmt::format("unknown dialect '{}' (known: {})", *s, known));
      }
    }
  }
  // base_url may be left out for providers with a public endpoint (the preset's).
  const Entry* base_url = (preset && !preset->base_url.empty()) ? f.Get("base_url") : require("base_url");
  if (base_url) {
    if (auto s = ReadNonEmpty(ctx, *base_url)) {
      if (auto url = core::ParseUrl(*s)) {
        b.base_url = *s;
      } else {
        ctx.Error(base_url->Line(), base_url->path, fmt::format("invalid URL: {}", url.error().message));
      }
    }
  } else if (preset && !preset->base_url.empty()) {
    b.base_url = std::string(preset->base_url);
  }
  bool azure = preset && preset->deployments;
  if (const Entry* e = f.Get("api_version")) {
    if (!azure) {
      ctx.Error(e->Line(), e->path, "only an azure-openai backend takes an api_version");
    } else if (auto s = ReadNonEmpty(ctx, *e)) {
      if (HasSpaceOrControl(*s) || s->find_first_of("&#?") != std::string::npos) {
        ctx.Error(e->Line(), e->path, fmt::format("invalid api_version '{}'", *s));
      } else {
        b.api_version = *s;
      }
    }
  }
  if (const Entry* e = f.Get("deployments")) {
    if (!azure) {
      ctx.Error(e->Line(), e->path, "only an azure-openai backend takes deployments");
    } else if (!e->value.IsMap()) {
      ctx.Error(e->Line(), e->path, "expected a map of model id to deployment name");
    } else {
      for (auto it = e->value.begin(); it != e->value.end(); ++it) {
        std::string field = Join(e->path, it->first.Scalar());
        if (!it->second.IsScalar() || it->second.Scalar().empty() ||
            !std::all_of(it->second.Scalar().begin(), it->second.Scalar().end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
            })) {
          ctx.Error(LineOf(it->second), field, "deployment names use letters, digits, '-', '_' and '.'");
          continue;
        }
        b.deployments.emplace_back(it->first.Scalar(), it->second.Scalar());
      }
    }
  }
  if (azure && b.dialect != WireDialect::kOpenAiChat && b.dialect != WireDialect::kOpenAiResponses) {
    ctx.Error(b.line, Join(path, "dialect"), "an azure-openai backend speaks openai_chat or openai_responses");
  }
  if (const Entry* e = f.Get("api_key")) {
    // A secret: messages never quote it.
    if (auto s = ReadString(ctx, *e)) {
      if (HasSpaceOrControl(*s)) {
        ctx.Error(e->Line(), e->path, "must not contain spaces or control characters");
      } else {
        b.api_key = std::move(*s);
      }
    }
  }
  if (const Entry* e = require("models")) {
    if (e->value.IsNull() || (e->value.IsSequence() && e->value.size() == 0)) {
      ctx.Error(e->Line(), e->path, "must list at least one model");
    } else if (auto items = ReadStringList(ctx, *e)) {
      pb.models_ok = items->size() == e->value.size();
      for (std::size_t i = 0; i < items->size(); ++i) {
        const ListItem& item = (*items)[i];
        if (item.value.empty()) {
          ctx.Error(item.line, item.path, "must not be empty");
          pb.models_ok = false;
          continue;
        }
        if (HasSpaceOrControl(item.value)) {
          ctx.Error(item.line, item.path, "must not contain spaces or control characters");
          pb.models_ok = false;
          continue;
        }
        auto first = std::find(b.models.begin(), b.models.end(), item.value);
        if (first != b.models.end()) {
          std::size_t j = 0;
          while ((*items)[j].value != item.value) ++j;
          ctx.Error(item.line, item.path,
                    fmt::format("duplicate model '{}' (also {})", item.value, (*items)[j].path));
          continue;
        }
        b.models.push_back(item.value);
      }
    }
  }
  if (const Entry* e = require("tier")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (*s == "edge") b.tier = Tier::kEdge;
      else if (*s == "local") b.tier = Tier::kLocal;
      else if (*s == "cloud") b.tier = Tier::kCloud;
      else ctx.Error(e->Line(), e->path, fmt::format("unknown tier '{}' (expected edge, local or cloud)", *s));
    }
  }
  if (const Entry* e = f.Get("jurisdiction")) {
    if (auto j = ReadJurisdiction(ctx, *e)) b.jurisdiction = std::move(*j);
  }
  if (const Entry* e = f.Get("region")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (std::all_of(s->begin(), s->end(), [](char c) { return IsLowerDigit(c) || c == '-'; })) {
        b.region = *s;
      } else {
        ctx.Error(e->Line(), e->path,
                  fmt::format("invalid region '{}': use lower-case letters, digits and '-'", *s));
      }
    }
  }
  if (const Entry* e = f.Get("vendor")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (IsValidBackendId(*s)) {
        b.vendor = *s;
      } else {
        ctx.Error(e->Line(), e->path,
                  fmt::format("invalid vendor '{}': use lower-case letters, digits, '_' and '-'", *s));
      }
    }
  }
  if (const Entry* e = f.Get("timeouts")) ParseTimeouts(ctx, *e, b.timeouts);
  if (const Entry* e = f.Get("pool")) ParsePool(ctx, *e, b.pool);
  if (const Entry* e = f.Get("ca_file")) ReadCaFile(ctx, *e, b.ca_file);
  if (const Entry* e = f.Get("health_check")) ParseHealthCheck(ctx, *e, b.health_check);
  // Residency facts: validated by policy::CompileConfigPolicy.
  if (const Entry* e = f.Get("facts")) b.facts = e->value;
  // Prices: validated by catalog::ParsePriceOverrides (gateway/pricing.cpp).
  if (const Entry* e = f.Get("prices")) b.prices = e->value;
  for (const auto& [model, deployment] : b.deployments) {
    if (pb.models_ok && std::find(b.models.begin(), b.models.end(), model) == b.models.end()) {
      ctx.Error(b.line, Join(Join(path, "deployments"), model),
                fmt::format("'{}' is not one of this backend's models", model));
    }
  }
  ctx.tolerate_unset.clear();
  return pb;
}


// ---------------------------------------------------------------------------------------------
// Routing (docs/routing.md, "Configuration").

constexpr std::string_view kStrategyNames[] = {"p2c", "power-of-two", "cheapest", "fastest",
                                               "weighted", "least-busy", "priority"};

// A number that `accept` takes; `expected` says which ("a number between 0 and 1"). Reports
// and returns nullopt otherwise.
std::optional<double> ReadNumber(Ctx& ctx, const Entry& e, std::string_view expected, bool (*accept)(double)) {
  auto s = ReadString(ctx, e, expected);
  if (!s) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || ptr != s->data() + s->size() || !accept(v)) {
    ctx.Error(e.Line(), e.path, fmt::format("expected {}, got '{}'", expected, *s));
    return std::nullopt;
  }
  return v;
}

// A number in [0, 1] ("0.3").
std::optional<double> ReadFraction(Ctx& ctx, const Entry& e) {
  return ReadNumber(ctx, e, "a number between 0 and 1", [](double v) { return v >= 0.0 && v <= 1.0; });
}

// A positive number below 1e9 (a factor).
std::optional<double> ReadPositive(Ctx& ctx, const Entry& e) {
  return ReadNumber(ctx, e, "a positive number", [](double v) { return v > 0.0 && v < 1e9; });
}

// `hedge: true|false` or `hedge: {quantile, min_delay, max_delay}` (a map turns hedging on).
void ReadHedge(Ctx& ctx, const Entry& e, RoutingConfig& out) {
  if (!e.value.IsMap()) {
    if (auto v = ReadBool(ctx, e)) out.hedge = *v;
    return;
  }
  Fields f(ctx, e.value, e.path, {"quantile", "min_delay", "max_delay"});
  out.hedge = true;
  if (const Entry* q = f.Get("quantile")) {
    if (auto v = ReadFraction(ctx, *q)) {
      if (*v <= 0) {
        ctx.Error(q->Line(), q->path, "must be above 0 (0.95 waits for the 95th percentile time to a response head)");
      } else {
        out.hedge_quantile = *v;
      }
    }
  }
  if (const Entry* d = f.Get("min_delay")) {
    if (auto v = ReadDuration(ctx, *d)) out.hedge_min_delay = *v;
  }
  if (const Entry* d = f.Get("max_delay")) {
    if (auto v = ReadDuration(ctx, *d)) out.hedge_max_delay = *v;
  }
  if (out.hedge_min_delay > out.hedge_max_delay) {
    ctx.Error(e.Line(), e.path + ".min_delay",
              fmt::format("min_delay ({} ms) is above max_delay ({} ms)", out.hedge_min_delay.count(),
                          out.hedge_max_delay.count()));
  }
}

// The routing fields shared by the `routing` section and an alias's map ("strategy",
// "max_attempts", "deadline", "open_breakers", "latency_goal", "hedge", "weights"); each
// present one overrides `out`.
void ReadRoutingFields(Ctx& ctx, const Fields& f, const std::vector<ParsedBackend>& backends,
                       RoutingConfig& out) {
  if (const Entry* e = f.Get("strategy")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (std::find(std::begin(kStrategyNames), std::end(kStrategyNames), *s) == std::end(kStrategyNames)) {
        ctx.Error(e->Line(), e->path,
                  fmt::format("unknown strategy '{}'; expected one of p2c, cheapest, fastest, weighted, "
                              "least-busy, priority",
                              *s));
      } else {
        out.strategy = *s == "power-of-two" ? "p2c" : *s;
      }
    }
  }
  if (const Entry* e = f.Get("max_attempts")) {
    if (auto v = ReadUint(ctx, *e, 1, 16)) out.max_attempts = static_cast<unsigned>(*v);
  }
  if (const Entry* e = f.Get("deadline")) {
    if (auto v = ReadDuration(ctx, *e)) out.deadline = *v;
  }
  if (const Entry* e = f.Get("open_breakers")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (*s == "exclude" || *s == "last") {
        out.exclude_open = *s == "exclude";
      } else {
        ctx.Error(e->Line(), e->path, fmt::format("expected 'last' or 'exclude', got '{}'", *s));
      }
    }
  }
  if (const Entry* e = f.Get("latency_goal")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (*s == "ttft" || *s == "total") {
        out.latency_total = *s == "total";
      } else {
        ctx.Error(e->Line(), e->path, fmt::format("expected 'ttft' or 'total', got '{}'", *s));
      }
    }
  }
  if (const Entry* e = f.Get("hedge")) ReadHedge(ctx, *e, out);
  if (const Entry* e = f.Get("affinity")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      if (*s == "prefix" || *s == "none") {
        out.prefix_affinity = *s == "prefix";
      } else {
        ctx.Error(e->Line(), e->path, fmt::format("expected 'prefix' or 'none', got '{}'", *s));
      }
    }
  }
  if (const Entry* e = f.Get("weights")) {
    if (IsMapSection(ctx, *e)) {
      out.weights.clear();
      for (auto it = e->value.begin(); it != e->value.end(); ++it) {
        const YAML::Node key = it->first;
        int line = LineOf(key);
        if (!key.IsScalar()) {
          ctx.Error(line, e->path, "backend ids must be plain strings");
          continue;
        }
        std::string field = Join(e->path, key.Scalar());
        bool known = std::any_of(backends.begin(), backends.end(),
                                 [&](const ParsedBackend& pb) { return pb.config.id == key.Scalar(); });
        if (!known) {
          ctx.Error(line, field, fmt::format("no backend has the id '{}'", key.Scalar()));
          continue;
        }
        Entry w{key.Scalar(), key, it->second, field, line};
        if (auto v = ReadUint(ctx, w, 0, 1'000'000)) out.weights.emplace_back(key.Scalar(), static_cast<unsigned>(*v));
      }
    }
  }
}

// `outliers: false`, or a map of OutlierConfig's fields (a map leaves it on).
void ReadOutliers(Ctx& ctx, const Entry& e, OutlierConfig& out) {
  if (!e.value.IsMap()) {
    if (auto v = ReadBool(ctx, e)) out.enabled = *v;
    return;
  }
  Fields f(ctx, e.value, e.path,
           {"interval", "min_samples", "min_pool", "latency_factor", "min_latency_gap", "error_rate_gap",
            "max_ejected_fraction", "base_ejection", "max_ejection"});
  out.enabled = true;
  if (const Entry* x = f.Get("interval")) {
    if (auto v = ReadDuration(ctx, *x)) out.interval = *v;
  }
  if (const Entry* x = f.Get("min_samples")) {
    if (auto v = ReadUint(ctx, *x, 1, 1000000)) out.min_samples = static_cast<unsigned>(*v);
  }
  if (const Entry* x = f.Get("min_pool")) {
    if (auto v = ReadUint(ctx, *x, 2, 1000)) out.min_pool = static_cast<unsigned>(*v);
  }
  if (const Entry* x = f.Get("latency_factor")) {
    if (auto v = ReadPositive(ctx, *x)) out.latency_factor = *v;
  }
  if (const Entry* x = f.Get("min_latency_gap")) {
    if (auto v = ReadDuration(ctx, *x)) out.min_latency_gap = *v;
  }
  if (const Entry* x = f.Get("error_rate_gap")) {
    if (auto v = ReadFraction(ctx, *x)) out.error_rate_gap = *v;
  }
  if (const Entry* x = f.Get("max_ejected_fraction")) {
    if (auto v = ReadFraction(ctx, *x)) out.max_ejected_fraction = *v;
  }
  if (const Entry* x = f.Get("base_ejection")) {
    if (auto v = ReadDuration(ctx, *x)) out.base_ejection = *v;
  }
  if (const Entry* x = f.Get("max_ejection")) {
    if (auto v = ReadDuration(ctx, *x)) out.max_ejection = *v;
  }
  if (out.base_ejection > out.max_ejection) {
    ctx.Error(e.Line(), e.path + ".base_ejection",
              fmt::format("base_ejection ({} ms) is above max_ejection ({} ms)", out.base_ejection.count(),
                          out.max_ejection.count()));
  }
}

void ParseRouting(Ctx& ctx, const Entry& section, const std::vector<ParsedBackend>& backends, RoutingConfig& out) {
  if (!IsMapSection(ctx, section)) return;
  Fields f(ctx, section.value, section.path,
           {"strategy", "max_attempts", "deadline", "open_breakers", "latency_goal", "hedge", "weights", "affinity",
            "outliers"});
  ReadRoutingFields(ctx, f, backends, out);
  if (const Entry* e = f.Get("outliers")) ReadOutliers(ctx, *e, out.outliers);
}

bool ServedBySome(const std::vector<ParsedBackend>& backends, std::string_view model) {
  return std::any_of(backends.begin(), backends.end(), [&](const ParsedBackend& pb) {
    const auto& models = pb.config.models;
    return std::find(models.begin(), models.end(), model) != models.end();
  });
}

std::optional<QualityConfig> ParseQuality(Ctx& ctx, const Entry& section, const std::vector<ParsedBackend>& backends,
                                          bool models_complete) {
  if (!IsMapSection(ctx, section)) return std::nullopt;
  Fields f(ctx, section.value, section.path, {"weak", "model", "threshold", "strong_share"});
  QualityConfig q;
  bool ok = true;
  if (const Entry* e = f.Get("weak")) {
    if (auto s = ReadNonEmpty(ctx, *e)) {
      q.weak = *s;
      if (models_complete && !ServedBySome(backends, q.weak)) {
        ctx.Error(e->Line(), e->path, fmt::format("no backend serves model '{}'", q.weak));
        ok = false;
      }
    } else {
      ok = false;
    }
  } else {
    ctx.Error(section.Line(), section.path + ".weak", "required: the cheaper model id");
    ok = false;
  }
  if (const Entry* e = f.Get("model")) {
    if (auto s = ReadNonEmpty(ctx, *e)) q.model_file = *s; else ok = false;
  } else {
    ctx.Error(section.Line(), section.path + ".model", "required: the quality router's model file");
    ok = false;
  }
  const Entry* threshold = f.Get("threshold");
  const Entry* share = f.Get("strong_share");
  if (threshold && share) {
    ctx.Error(share->Line(), share->path, "set either threshold or strong_share, not both");
    ok = false;
  } else if (threshold) {
    q.threshold = ReadFraction(ctx, *threshold);
    ok = ok && q.threshold.has_value();
  } else if (share) {
    q.strong_share = ReadFraction(ctx, *share);
    ok = ok && q.strong_share.has_value();
  }
  if (!ok) return std::nullopt;
  return q;
}

void ParseAliases(Ctx& ctx, const Entry& section, const std::vector<ParsedBackend>& backends,
                  bool models_complete, const RoutingConfig& defaults,
                  std::vector<AliasConfig>& out) {
  if (!IsMapSection(ctx, section)) return;
  std::set<std::string> seen;
  for (auto it = section.value.begin(); it != section.value.end(); ++it) {
    const YAML::Node key = it->first;
    int line = LineOf(key);
    if (!key.IsScalar()) {
      ctx.Error(line, section.path, "alias names must be plain strings");
      continue;
    }
    const std::string& name = key.Scalar();
    std::string field = Join(section.path, name);
    if (name.empty() || HasSpaceOrControl(name)) {
      ctx.Error(line, field, "alias names must be non-empty and without spaces or control characters");
      continue;
    }
    if (!seen.insert(name).second) {
      ctx.Error(line, field, fmt::format("duplicate alias '{}'", name));
      continue;
    }
    Entry e{name, key, it->second, field, line};
    AliasConfig alias{name, {}, defaults, std::nullopt, field, line};
    std::optional<std::string> target;
    if (e.value.IsMap()) {
      // The long form: {target, <routing fields>, quality}.
      Fields af(ctx, e.value, field, {"target", "strategy", "max_attempts", "deadline", "open_breakers",
                                      "latency_goal", "hedge", "weights", "affinity", "quality"});
      ReadRoutingFields(ctx, af, backends, alias.routing);
      if (const Entry* t = af.Get("target")) {
        target = ReadNonEmpty(ctx, *t);
      } else {
        ctx.Error(line, field + ".target", "required: the model id the alias stands for");
      }
      if (const Entry* q = af.Get("quality")) {
        alias.quality = ParseQuality(ctx, *q, backends, models_complete);
        if (!alias.quality) continue;
      }
    } else {
      target = ReadNonEmpty(ctx, e);
    }
    if (!target) continue;
    bool clash = false;
    for (const ParsedBackend& pb : backends) {
      const auto& models = pb.config.models;
      if (std::find(models.begin(), models.end(), name) != models.end()) {
        ctx.Error(line, field,
                  fmt::format("alias '{}' has the same name as a model served by backend '{}'", name,
                              pb.config.id));
        clash = true;
        break;
      }
    }
    if (clash) continue;
    std::vector<std::string> enabled_servers, disabled_servers;
    for (const ParsedBackend& pb : backends) {
      const auto& models = pb.config.models;
      if (std::find(models.begin(), models.end(), *target) != models.end()) {
        (pb.enabled ? enabled_servers : disabled_servers).push_back(pb.config.id);
      }
    }
    if (enabled_servers.empty() && disabled_servers.empty()) {
      if (models_complete) {
        ctx.Error(e.Line(), field,
                  fmt::format("alias '{}' points to model '{}', which no backend serves", name, *target));
      }
      continue;
    }
    if (enabled_servers.empty()) {
      std::string ids;
      for (const auto& id : disabled_servers) ids += (ids.empty() ? "" : ", ") + id;
      ctx.Warn(e.Line(), field,
               fmt::format("alias '{}' points to model '{}', which only disabled backends serve ({})",
                           name, *target, ids));
    }
    alias.target = *target;
    out.push_back(std::move(alias));
  }
}

void ParseRoot(Ctx& ctx, const YAML::Node& root, Config& config) {
  Fields f(ctx, root, "",
           {"state_dir", "store", "server", "auth", "admin", "upstream_defaults", "backends", "aliases",
            "routing", "limits", "policies", "catalog", "replay"});
  // `replay` is read by `meridian replay` only (docs/replay.md); the gateway ignores it.
  // Interpreted by the policy module (policy::CompileConfigPolicy); kept raw here.
  if (const Entry* e = f.Get("policies")) config.policies = e->value;
  if (const Entry* e = f.Get("state_dir")) {
    if (auto s = ReadNonEmpty(ctx, *e)) config.state_dir = *s;
  }
  if (const Entry* e = f.Get("limits")) {
    if (IsMapSection(ctx, *e)) {
      Fields lf(ctx, e->value, e->path, {"default_max_output_tokens"});
      if (const Entry* m = lf.Get("default_max_output_tokens")) {
        if (auto v = ReadUint(ctx, *m, 1, 10'000'000)) config.default_max_output_tokens = static_cast<std::int64_t>(*v);
      }
    }
  }
  if (const Entry* e = f.Get("catalog")) {
    if (IsMapSection(ctx, *e)) {
      Fields cf(ctx, e->value, e->path, {"file"});
      if (const Entry* file = cf.Get("file")) {
        if (auto s = ReadNonEmpty(ctx, *file)) config.catalog_file = *s;
      }
    }
  }
  if (const Entry* e = f.Get("store")) ParseStore(ctx, *e, config.store);
  if (const Entry* e = f.Get("server")) ParseServer(ctx, *e, config.server);
  if (const Entry* e = f.Get("auth")) ParseAuth(ctx, *e, config.auth);
  if (const Entry* e = f.Get("admin")) {
    ParseAdmin(ctx, *e, config.admin);
    for (std::size_t i = 0; i < config.admin.keys.size(); ++i) {
      for (const KeyConfig& k : config.auth.keys) {
        if (k.key == config.admin.keys[i]) {
          ctx.Error(e->key_line, Index("admin.keys", i), "must differ from every client key in auth.keys");
        }
      }
    }
  }
  if (config.auth.keys.empty()) {
    const Entry* e = f.Get("auth");
    ctx.Warn(e ? e->key_line : 0, "auth.keys",
             "authentication is disabled: no keys are configured, so every client is accepted");
  }

  UpstreamDefaults defaults;
  if (const Entry* e = f.Get("upstream_defaults")) ParseUpstreamDefaults(ctx, *e, defaults);

  std::vector<ParsedBackend> parsed;
  const Entry* backends = f.Get("backends");
  if (backends == nullptr) {
    ctx.Error(0, "backends", "at least one backend must be declared");
  } else if (backends->value.IsNull() ||
             (backends->value.IsSequence() && backends->value.size() == 0)) {
    ctx.Error(backends->Line(), "backends", "at least one backend must be declared");
  } else if (!backends->value.IsSequence()) {
    ctx.Error(backends->Line(), "backends",
              fmt::format("expected a list of backends, got {}", KindName(backends->value)));
  } else {
    std::size_t i = 0;
    for (const YAML::Node& node : backends->value) {
      parsed.push_back(ParseBackend(ctx, node, Index("backends", i++), defaults));
    }
  }

  // Unique ids.
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i].id_ok) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (parsed[j].id_ok && parsed[j].config.id == parsed[i].config.id) {
        ctx.Error(parsed[i].config.line, Index("backends", i) + ".id",
                  fmt::format("duplicate backend id '{}' (first declared at line {})",
                              parsed[i].config.id, parsed[j].config.line));
        break;
      }
    }
  }

  bool models_complete = std::all_of(parsed.begin(), parsed.end(),
                                     [](const ParsedBackend& pb) { return pb.models_ok; });
  if (const Entry* e = f.Get("routing")) ParseRouting(ctx, *e, parsed, config.routing);
  if (const Entry* e = f.Get("aliases")) {
    ParseAliases(ctx, *e, parsed, models_complete, config.routing, config.aliases);
  }

  for (ParsedBackend& pb : parsed) {
    if (pb.enabled) {
      config.backends.push_back(std::move(pb.config));
    } else {
      config.disabled_backends.push_back(pb.config.id);
    }
  }
  if (!parsed.empty() && config.backends.empty()) {
    ctx.Warn(backends->key_line, "backends",
             fmt::format("no backend is enabled: all {} declared backends have their requires_env "
                         "variable unset",
                         parsed.size()));
  }
}

// Counts documents with an event pass that builds nothing.
class NoEvents : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// yaml-cpp 0.7 (Debian 12) never returns from YAML::LoadAll when a document starts with a ','
// token: it yields empty documents without consuming it (jbeder/yaml-cpp#1040, fixed after
// 0.8.0). The event pass below finds that case (more documents than the text has characters)
// and reports where, so a file can never hang `serve` or `config check`. Found by fuzz/config_yaml.
std::optional<int> StuckDocumentLine(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  NoEvents events;
  std::size_t docs = 0;
  try {
    while (parser.HandleNextDocument(events)) {
      if (++docs > text.size() + 1) {
        // The first ',' that is not in a comment is where the parser stopped.
        std::size_t line = 1;
        bool comment = false;
        for (char c : text) {
          if (c == '\n') {
            ++line;
            comment = false;
          } else if (c == '#') {
            comment = true;
          } else if (c == ',' && !comment) {
            break;
          }
        }
        return static_cast<int>(line);
      }
    }
  } catch (const YAML::Exception&) {
    // A syntax error: LoadAll reports it with its position.
  }
  return std::nullopt;
}

std::expected<Config, std::vector<ConfigIssue>> ParseWith(std::string_view yaml_text,
                                                          std::string_view file,
                                                          EnvLookup lookup) {
  Ctx ctx;
  ctx.file = std::string(file);
  ctx.lookup = std::move(lookup);
  Config config;
  config.source = std::string(file);
  try {
    std::vector<YAML::Node> docs;
    if (auto stuck = StuckDocumentLine(yaml_text)) {
      ctx.Error(*stuck, "", "YAML syntax error: unexpected ',' where a document should start");
    } else {
      docs = YAML::LoadAll(std::string(yaml_text));
    }
    if (!ctx.issues.empty()) {
      // reported above
    } else if (docs.empty() || (docs.size() == 1 && docs[0].IsNull())) {
      ctx.Error(0, "", "configuration is empty");
    } else if (docs.size() > 1) {
      ctx.Error(LineOf(docs[1]), "", "only one YAML document is allowed per file");
    } else if (!docs[0].IsMap()) {
      ctx.Error(LineOf(docs[0]), "",
                fmt::format("the top level must be a map of sections, got {}", KindName(docs[0])));
    } else {
      ParseRoot(ctx, docs[0], config);
    }
  } catch (const YAML::DeepRecursion& e) {
    ctx.Error(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "YAML syntax error: nesting is too deep");
  } catch (const YAML::Exception& e) {
    ctx.Error(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", fmt::format("YAML syntax error: {}", e.msg));
  } catch (const std::exception& e) {
    ctx.Error(0, "", fmt::format("internal error while reading the configuration: {}", e.what()));
  } catch (...) {
    ctx.Error(0, "", "internal error while reading the configuration");
  }

  auto by_line = [](const ConfigIssue& a, const ConfigIssue& b) { return a.line < b.line; };
  if (!ctx.issues.empty()) {
    std::stable_sort(ctx.issues.begin(), ctx.issues.end(), by_line);
    return std::unexpected(std::move(ctx.issues));
  }
  std::stable_sort(ctx.warnings.begin(), ctx.warnings.end(), by_line);
  for (const ConfigIssue& w : ctx.warnings) config.warnings.push_back(w.ToString());
  return config;
}

}  // namespace

std::expected<Config, std::vector<ConfigIssue>> ParseConfig(std::string_view yaml_text,
                                                            std::string_view file) {
  return ParseWith(yaml_text, file, [](const std::string& name) { return std::getenv(name.c_str()); });
}

std::expected<Config, std::vector<ConfigIssue>> LoadConfigFile(const std::string& path, std::string* raw) {
  auto fail = [&](std::string message) {
    return std::unexpected(std::vector<ConfigIssue>{ConfigIssue{path, 0, "", std::move(message)}});
  };
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return fail("cannot read configuration file: it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return fail(fmt::format("cannot read configuration file: {}",
                              std::error_code(errno, std::generic_category()).message()));
    }
    std::string text;
    char buf[64 * 1024];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      text.append(buf, static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxFileBytes) {
        return fail(fmt::format("configuration file is larger than {}", FormatSize(kMaxFileBytes)));
      }
    }
    if (in.bad()) return fail("cannot read configuration file: read error");
    if (raw) *raw = text;
    return ParseConfig(text, path);
  } catch (const std::exception& e) {
    return fail(fmt::format("cannot read configuration file: {}", e.what()));
  } catch (...) {
    return fail("cannot read configuration file");
  }
}

}  // namespace meridian::config
