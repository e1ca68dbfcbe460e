// Property test, end to end: residency policy through Gateway::Handle, with real upstream
// sockets, against an independent oracle.
//
// Random configurations (2-6 backends serving model "m" with random tier, jurisdiction, vendor,
// storage jurisdiction and ZDR facts, some of them dead = connect refused; 0-5 policy rules from
// a small grammar; two keys with tenants, one declaring a class) are rendered to YAML and loaded
// like a real file. Each configuration serves a series of random requests assembled from a
// fixed library of snippets whose classes are known (and checked against the real classifier by
// the first test), placed in user/system messages, content parts, tool-call arguments, tool
// results and (sometimes) a metadata object key, optionally with an x-meridian-data-classes
// header and stream:true. Each live backend gets a per-request answer plan (200, or a
// 500/503/429 error; an SSE stream when the request streams).
//
// The oracle reads the generator's own structs (rules, facts, snippet labels) with plain sets
// and loops, sharing no code with src/policy or src/gateway, and says: blocked or not, the
// eligible backends in configuration order, and which classes must be redacted/pseudonymized.
// Checked per request:
//   - THE property: every upstream request came from a backend in the eligible set (retries
//     and fallbacks included), and so does the x-meridian-backend header;
//   - blocked -> 403 policy_blocked, empty set -> 403 no_eligible_backend, and no upstream saw
//     anything;
//   - otherwise the eligible backends are tried in configuration order (routing: priority):
//     dead ones and live ones answering a retryable status pass the request on, for at most
//     three attempts; the last live answer is what the client gets (503 upstream_unavailable
//     when no live backend was reached), with x-meridian-attempts;
//   - no upstream body holds the raw value of a class a redact/pseudonymize rule applied to
//     (placeholders instead, counted in x-meridian-redacted / -pseudonymized); values of other
//     classes arrive unchanged; obligated values in object keys are rewritten too (their classes count as
//     declared, docs/policy.md).
//
// Seeded and reproducible: MERIDIAN_PROPERTY_SEED repeats a run, MERIDIAN_PROPERTY_CASES sets
// the number of requests (default 100000), MERIDIAN_PROPERTY_CASES_PER_CONFIG how many requests
// one configuration serves before a new one is generated (default 100), and
// MERIDIAN_PROPERTY_FIRST_CONFIG starts at that configuration (each one has its own generator
// seeded from the seed and its index). A failure prints the settings that replay it, the
// configuration YAML, the request and what the oracle expected.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "../net/test_support.hpp"
#include "classify/classifier.hpp"
#include "config/config.hpp"
#include "gateway/gateway.hpp"
#include "gateway_test_support.hpp"
#include "net/sse.hpp"
#include "telemetry/metrics.hpp"

namespace meridian::gateway {
namespace {

namespace json = boost::json;
using namespace net::test_support;
using test_support::RecordingResponder;

// ---------------------------------------------------------------------------------------------
// Snippet library: text with known classes. The labels are the oracle's only knowledge of what
// a request contains; SnippetLabelsMatchTheClassifier proves the classifier agrees with them in
// every context the generator uses.

struct Snippet {
  std::string text;
  std::string cls;    // class name; "" = plain text, the classifier finds nothing
  std::string value;  // exactly the span the classifier reports ("" for plain text)
};

const std::vector<Snippet>& Snippets() {
  static const std::vector<Snippet> snippets = {
      {"What is the capital of France?", "", ""},
      {"Summarize the meeting notes in three bullet points.", "", ""},
      {"Translate good morning into German, please.", "", ""},
      {"Write to alice.martin@example.org today.", "email", "alice.martin@example.org"},
      {"cc jane.doe@example.co.uk on the reply", "email", "jane.doe@example.co.uk"},
      {"Call +1-984-182-0190 now", "phone", "+1-984-182-0190"},
      {"Ring +44 (0)20 7946 0958 please", "phone", "+44 (0)20 7946 0958"},
      {"pay to DE89370400440532013000 now", "iban", "DE89370400440532013000"},
      {"IBAN GB82WEST12345698765432.", "iban", "GB82WEST12345698765432"},
      {"token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 leaked", "secret",
       "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"},
      {"key AKIAIOSFODNN7EXAMPLE in env", "secret", "AKIAIOSFODNN7EXAMPLE"},
      {"TOP SECRET//NOFORN\nOperation summary follows.", "classification_marking", "TOP SECRET//NOFORN"},
      {"server at 192.168.10.254, port 22", "ip_address", "192.168.10.254"},
  };
  return snippets;
}

// Fixed strings the generator writes besides snippets (roles, ids, names): must hold nothing.
const std::vector<std::string> kFixedStrings = {"m", "user", "system", "assistant", "tool", "text",
                                                "function", "call_1", "lookup"};

// Two snippets in one string are joined by this.
constexpr std::string_view kJoin = "\n";

// Tool-call arguments: a JSON object in a string.
std::string ArgumentsFor(const Snippet& s) { return json::serialize(json::object{{"note", s.text}}); }

// Classes rules and declarations talk about (us_ssn is only ever declared, never found).
const std::vector<std::string> kRuleClasses = {"email", "phone", "iban", "secret", "classification_marking",
                                               "ip_address", "us_ssn"};

// `text` as it appears inside a serialized JSON string.
std::string JsonEscaped(std::string_view text) {
  std::string quoted = json::serialize(json::string(text));
  return quoted.substr(1, quoted.size() - 2);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

template <class T, class U>
bool In(const std::vector<T>& v, const U& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// ---------------------------------------------------------------------------------------------
// Generated configuration

struct GenBackend {
  std::string id;
  std::string tier;          // edge, local, cloud
  std::string jurisdiction;  // "" = not declared
  std::string vendor;        // "" = not declared
  std::string storage;       // facts.storage_jurisdiction; "" = unknown
  std::optional<bool> zdr;   // facts.zero_data_retention; nullopt = unknown
  bool dead = false;         // base_url points at a port that refuses connections
};

struct GenRule {
  std::string name;
  std::string action = "route";      // route, block, redact, pseudonymize
  std::vector<std::string> tenants;  // scope.tenant; empty = everyone
  int when = 0;                      // 0 no condition, 1 data_classes: any, 2 data_classes: list
  std::vector<std::string> classes;  // when == 2
  std::vector<std::string> req_tier, req_inf, req_storage, deny_vendors, deny_inf;
  bool req_zdr = false;
};

struct GenKey {
  std::string key, tenant;
  std::vector<std::string> declared;  // data_classes of the key
};

struct GenConfig {
  std::vector<GenBackend> backends;
  std::vector<GenRule> rules;
  std::vector<GenKey> keys;
};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(1, 100) <= percent; }
  template <class T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }
  // 1..max distinct items of `pool`.
  std::vector<std::string> Some(const std::vector<std::string>& pool, int max) {
    std::vector<std::string> out;
    int n = Int(1, max);
    for (int i = 0; i < n; ++i) {
      const std::string& s = Pick(pool);
      if (!In(out, s)) out.push_back(s);
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

const std::vector<std::string> kTiers = {"edge", "local", "cloud"};
const std::vector<std::string> kFactJurisdictions = {"US", "FR", "DE", "CN", "EU", ""};
const std::vector<std::string> kRuleJurisdictions = {"EU", "DE", "FR", "US", "CN"};
const std::vector<std::string> kVendors = {"openai", "mistral", "deepseek", ""};
const std::vector<std::string> kRuleVendors = {"openai", "mistral", "deepseek"};

GenBackend RandomBackend(Gen& g, int index) {
  GenBackend b;
  b.id = fmt::format("b{}", index);
  b.tier = g.Pick(kTiers);
  b.jurisdiction = g.Pick(kFactJurisdictions);
  b.vendor = g.Pick(kVendors);
  b.storage = g.Chance(50) ? "" : g.Pick(kFactJurisdictions);
  int z = g.Int(0, 2);
  b.zdr = z == 0 ? std::nullopt : std::optional<bool>(z == 1);
  b.dead = g.Chance(25);
  return b;
}

GenRule RandomRule(Gen& g, int index) {
  GenRule r;
  r.name = fmt::format("rule-{}", index);
  static const std::vector<std::vector<std::string>> kScopes = {{"acme"}, {"beta"}, {"a*"}, {"acme", "beta"}, {"gamma"}};
  if (g.Chance(25)) r.tenants = g.Pick(kScopes);
  int a = g.Int(0, 19);
  r.action = a < 12 ? "route" : a < 14 ? "block" : a < 17 ? "redact" : "pseudonymize";
  int w = g.Int(0, 9);
  if (r.action == "route") {
    r.when = w < 4 ? 0 : w < 5 ? 1 : 2;
  } else if (r.action == "block") {
    // A block without a class condition is a scope-only block (a suspended tenant).
    r.when = w < 1 ? 0 : w < 2 ? 1 : 2;
    if (r.when == 0 && r.tenants.empty()) r.tenants = {"beta"};
  } else {
    r.when = w < 1 ? 0 : w < 2 ? 1 : 2;
  }
  if (r.when == 2) r.classes = g.Some(kRuleClasses, 2);
  if (r.action != "route") return r;
  while (r.req_tier.empty() && r.req_inf.empty() && r.req_storage.empty() && !r.req_zdr && r.deny_vendors.empty() &&
         r.deny_inf.empty()) {
    if (g.Chance(30)) r.req_tier = g.Some(kTiers, 2);
    if (g.Chance(35)) r.req_inf = g.Some(kRuleJurisdictions, 2);
    if (g.Chance(10)) r.req_storage = g.Some(kRuleJurisdictions, 2);
    r.req_zdr = g.Chance(15);
    if (g.Chance(25)) r.deny_vendors = g.Some(kRuleVendors, 2);
    if (g.Chance(20)) r.deny_inf = g.Some(kRuleJurisdictions, 2);
  }
  return r;
}

GenConfig RandomConfig(Gen& g) {
  GenConfig c;
  int nb = g.Int(2, 6);
  for (int i = 0; i < nb; ++i) c.backends.push_back(RandomBackend(g, i));
  int nr = g.Int(0, 5);
  for (int i = 0; i < nr; ++i) c.rules.push_back(RandomRule(g, i));
  c.keys.push_back(GenKey{"sk-acme-000000000001", "acme", {}});
  c.keys.push_back(GenKey{"sk-beta-000000000002", "beta", {g.Pick(kRuleClasses)}});
  return c;
}

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += fmt::format("{}\"{}\"", i ? ", " : "", v[i]);
  return out + "]";
}

std::string RenderYaml(const GenConfig& c, std::string_view live_url, std::string_view dead_url) {
  std::string y = "auth:\n  keys:\n";
  for (const GenKey& k : c.keys) {
    y += fmt::format("    - key: {}\n      tenant: {}\n", k.key, k.tenant);
    if (!k.declared.empty()) y += fmt::format("      data_classes: {}\n", List(k.declared));
  }
  // Configuration order inside the eligible set, so the oracle knows the plan; no breaker
  // (the test's GatewayOptions), so one case's failures do not reorder the next case's plan.
  y += "routing:\n  strategy: priority\n";
  y += "backends:\n";
  for (const GenBackend& b : c.backends) {
    y += fmt::format("  - id: {}\n    provider: openai\n    base_url: {}/{}/v1\n    api_key: sk-upstream\n"
                     "    models: [m]\n    tier: {}\n",
                     b.id, b.dead ? dead_url : live_url, b.id, b.tier);
    if (!b.jurisdiction.empty()) y += fmt::format("    jurisdiction: {}\n", b.jurisdiction);
    if (!b.vendor.empty()) y += fmt::format("    vendor: {}\n", b.vendor);
    std::vector<std::string> facts;
    if (!b.storage.empty()) facts.push_back(fmt::format("storage_jurisdiction: {}", b.storage));
    if (b.zdr) facts.push_back(fmt::format("zero_data_retention: {}", *b.zdr ? "true" : "false"));
    if (!facts.empty()) y += fmt::format("    facts: {{{}}}\n", fmt::join(facts, ", "));
  }
  if (c.rules.empty()) return y;
  y += "policies:\n";
  for (const GenRule& r : c.rules) {
    y += fmt::format("  - name: {}\n", r.name);
    if (!r.tenants.empty()) y += fmt::format("    scope: {{tenant: {}}}\n", List(r.tenants));
    if (r.when == 1) y += "    when: {data_classes: any}\n";
    if (r.when == 2) y += fmt::format("    when: {{data_classes: {}}}\n", List(r.classes));
    if (r.action != "route") {
      y += fmt::format("    action: {}\n", r.action);
      continue;
    }
    std::vector<std::string> req, deny;
    if (!r.req_tier.empty()) req.push_back(fmt::format("tier: {}", List(r.req_tier)));
    if (!r.req_inf.empty()) req.push_back(fmt::format("inference_jurisdiction: {}", List(r.req_inf)));
    if (!r.req_storage.empty()) req.push_back(fmt::format("storage_jurisdiction: {}", List(r.req_storage)));
    if (r.req_zdr) req.push_back("zero_data_retention: true");
    if (!r.deny_vendors.empty()) deny.push_back(fmt::format("vendors: {}", List(r.deny_vendors)));
    if (!r.deny_inf.empty()) deny.push_back(fmt::format("inference_jurisdiction: {}", List(r.deny_inf)));
    if (!req.empty()) y += fmt::format("    require: {{{}}}\n", fmt::join(req, ", "));
    if (!deny.empty()) y += fmt::format("    deny: {{{}}}\n", fmt::join(deny, ", "));
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Generated request

struct GenCase {
  int key = 0;                               // index into GenConfig::keys
  std::vector<std::string> header_classes;   // x-meridian-data-classes; empty = no header
  bool stream = false;
  std::vector<std::size_t> placed;           // snippet indexes placed in string values (repeats allowed)
  std::vector<std::size_t> in_keys;          // snippet indexes used as object keys (metadata)
  std::string body;
  std::map<std::string, int> plan;           // live backend id -> status it answers with
};

std::size_t RandomSnippet(Gen& g) {
  // Half plain text, half one of the classified snippets.
  const auto& s = Snippets();
  if (g.Chance(55)) return static_cast<std::size_t>(g.Int(0, 2));
  return static_cast<std::size_t>(g.Int(3, static_cast<int>(s.size()) - 1));
}

// One string of the body: one snippet, or two joined.
std::string RandomText(Gen& g, GenCase& c) {
  std::size_t a = RandomSnippet(g);
  c.placed.push_back(a);
  std::string text = Snippets()[a].text;
  if (g.Chance(25)) {
    std::size_t b = RandomSnippet(g);
    c.placed.push_back(b);
    text += kJoin;
    text += Snippets()[b].text;
  }
  return text;
}

GenCase RandomCase(Gen& g, const GenConfig& config) {
  GenCase c;
  c.key = g.Int(0, static_cast<int>(config.keys.size()) - 1);
  if (g.Chance(20)) c.header_classes = g.Some(kRuleClasses, 2);
  c.stream = g.Chance(30);
  json::array messages;
  if (g.Chance(40)) messages.push_back(json::object{{"role", "system"}, {"content", RandomText(g, c)}});
  int n = g.Int(1, 3);
  for (int i = 0; i < n; ++i) {
    int kind = g.Int(0, 9);
    if (kind < 6) {
      messages.push_back(json::object{{"role", "user"}, {"content", RandomText(g, c)}});
    } else if (kind < 8) {
      json::array parts;
      int np = g.Int(1, 2);
      for (int p = 0; p < np; ++p) parts.push_back(json::object{{"type", "text"}, {"text", RandomText(g, c)}});
      messages.push_back(json::object{{"role", "user"}, {"content", std::move(parts)}});
    } else {
      std::size_t s = RandomSnippet(g);
      c.placed.push_back(s);
      json::object function{{"name", "lookup"}, {"arguments", ArgumentsFor(Snippets()[s])}};
      json::array calls;
      calls.push_back(json::object{{"id", "call_1"}, {"type", "function"}, {"function", std::move(function)}});
      messages.push_back(json::object{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", std::move(calls)}});
      messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", RandomText(g, c)}});
    }
  }
  json::object body{{"model", "m"}, {"messages", std::move(messages)}};
  if (c.stream) body["stream"] = true;
  if (g.Chance(8)) {
    // A value inside an object key: scanned, but keys are never rewritten.
    std::size_t s = RandomSnippet(g);
    c.in_keys.push_back(s);
    body["metadata"] = json::object{{Snippets()[s].text, "v"}};
  }
  c.body = json::serialize(body);
  for (const GenBackend& b : config.backends) {
    if (b.dead) continue;
    int s = g.Int(0, 19);
    c.plan[b.id] = s < 11 ? 200 : s < 14 ? 500 : s < 17 ? 503 : 429;
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Oracle: docs/policy.md, read directly off the generator's structs.

const std::set<std::string> kEu27 = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
                                     "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"};

// require: the fact is known and listed; EU in the list accepts every member state and EU.
bool RequireJurisdiction(const std::vector<std::string>& list, const std::string& fact) {
  if (fact.empty()) return false;
  if (In(list, fact)) return true;
  return In(list, "EU") && kEu27.count(fact) > 0;
}

// deny: the fact is unknown or listed; EU denies every member state, a member state denies a
// backend that only says EU (it might be that state).
bool DenyJurisdiction(const std::vector<std::string>& list, const std::string& fact) {
  if (fact.empty()) return true;
  if (In(list, fact)) return true;
  if (In(list, "EU") && kEu27.count(fact)) return true;
  if (fact == "EU") {
    for (const auto& j : list) {
      if (kEu27.count(j)) return true;
    }
  }
  return false;
}

bool TenantMatches(const std::vector<std::string>& patterns, const std::string& tenant) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns) {
    if (p == "*" || p == tenant) return true;
    if (!p.empty() && p.back() == '*' && tenant.starts_with(p.substr(0, p.size() - 1))) return true;
  }
  return false;
}

bool Applies(const GenRule& r, const std::string& tenant, const std::set<std::string>& classes) {
  if (!TenantMatches(r.tenants, tenant)) return false;
  if (r.when == 1) return !classes.empty();
  if (r.when == 2) {
    for (const auto& c : r.classes) {
      if (classes.count(c)) return true;
    }
    return false;
  }
  return true;
}

bool Passes(const GenRule& r, const GenBackend& b) {
  if (!r.req_tier.empty() && !In(r.req_tier, b.tier)) return false;
  if (!r.req_inf.empty() && !RequireJurisdiction(r.req_inf, b.jurisdiction)) return false;
  if (!r.req_storage.empty() && !RequireJurisdiction(r.req_storage, b.storage)) return false;
  if (r.req_zdr && b.zdr != std::optional<bool>(true)) return false;
  if (!r.deny_vendors.empty() && (b.vendor.empty() || In(r.deny_vendors, b.vendor))) return false;
  if (!r.deny_inf.empty() && DenyJurisdiction(r.deny_inf, b.jurisdiction)) return false;
  return true;
}

struct Expected {
  bool blocked = false;
  std::vector<std::string> eligible;   // backend ids, configuration order
  std::set<std::string> found, declared;
  std::set<std::string> in_keys;               // found inside object keys: cannot be replaced
  std::set<std::string> redact, pseudonymize;  // classes whose found values must not leave
  std::set<std::string> removed;               // classes route rules do not see

  std::string code() const { return blocked ? "policy_blocked" : eligible.empty() ? "no_eligible_backend" : ""; }
};

Expected Oracle(const GenConfig& config, const GenCase& c) {
  Expected e;
  const GenKey& key = config.keys[static_cast<std::size_t>(c.key)];
  for (std::size_t i : c.placed) {
    if (!Snippets()[i].cls.empty()) e.found.insert(Snippets()[i].cls);
  }
  for (std::size_t i : c.in_keys) {
    if (!Snippets()[i].cls.empty()) e.in_keys.insert(Snippets()[i].cls);
  }
  e.declared.insert(key.declared.begin(), key.declared.end());
  e.declared.insert(c.header_classes.begin(), c.header_classes.end());
  std::set<std::string> all = e.found;
  all.insert(e.in_keys.begin(), e.in_keys.end());
  all.insert(e.declared.begin(), e.declared.end());

  // Block, redact and pseudonymize rules see every class found or declared.
  for (const GenRule& r : config.rules) {
    if (r.action == "route" || !Applies(r, key.tenant, all)) continue;
    if (r.action == "block") {
      e.blocked = true;
      continue;
    }
    std::set<std::string>& target = r.action == "redact" ? e.redact : e.pseudonymize;
    for (const auto& cls : all) {
      if (r.when != 2 || In(r.classes, cls)) target.insert(cls);
    }
  }
  if (e.blocked) return e;
  // Route rules see the request as it leaves: replaced found classes are gone; declared ones,
  // and ones found in object keys, stay.
  std::set<std::string> routed;
  for (const auto& cls : all) {
    bool replaced = e.redact.count(cls) || e.pseudonymize.count(cls);
    if (replaced && !e.declared.count(cls) && !e.in_keys.count(cls)) e.removed.insert(cls);
    else routed.insert(cls);
  }
  for (const GenBackend& b : config.backends) {
    bool ok = true;
    for (const GenRule& r : config.rules) {
      if (r.action == "route" && Applies(r, key.tenant, routed) && !Passes(r, b)) {
        ok = false;
        break;
      }
    }
    if (ok) e.eligible.push_back(b.id);
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Upstream: one in-process server for every live backend (the backend id is the first path
// segment), answering each request per the current case's plan and recording it.

constexpr std::string_view kCompletion =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})";

const std::vector<std::string>& StreamEvents() {
  static const std::vector<std::string> events = {
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null})",
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null})",
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}],"usage":null})",
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})",
  };
  return events;
}

struct Recorded {
  std::string backend;  // first path segment
  std::string target;
  std::string body;
};

class Upstream {
 public:
  Upstream() {
    net::ServerOptions o;
    o.workers = 1;
    server_ = std::make_unique<TestServer>(o, [this](net::Request& req, net::Responder& out) -> asio::awaitable<void> {
      return Serve(req, out);
    });
  }
  ~Upstream() { server_.reset(); }

  std::string url() const { return server_->url(); }

  // Starts a case: forgets what was recorded, installs the plan.
  void Begin(std::map<std::string, int> plan) {
    std::lock_guard lock(mu_);
    recorded_.clear();
    plan_ = std::move(plan);
  }
  std::vector<Recorded> recorded() {
    std::lock_guard lock(mu_);
    return recorded_;
  }

 private:
  asio::awaitable<void> Serve(net::Request& req, net::Responder& out) {
    std::string target(req.target());
    std::string backend = target.size() > 1 ? target.substr(1, target.find('/', 1) - 1) : "";
    int status = 418;  // a backend without a plan (never expected)
    {
      std::lock_guard lock(mu_);
      recorded_.push_back(Recorded{backend, target, req.body()});
      if (auto it = plan_.find(backend); it != plan_.end()) status = it->second;
    }
    bool stream = false;
    boost::system::error_code ec;
    json::value v = json::parse(req.body(), ec);
    if (!ec && v.is_object()) {
      if (const json::value* s = v.as_object().if_contains("stream"); s && s->is_bool()) stream = s->as_bool();
    }
    if (status == 200 && stream) {
      http::response_header<> head;
      head.result(http::status::ok);
      head.set(http::field::content_type, "text/event-stream");
      co_await out.StartStream(std::move(head));
      std::string all;
      for (const auto& e : StreamEvents()) all += net::EncodeSseEvent(e);
      all += "data: [DONE]\n\n";
      co_await out.WriteChunk(all);
      co_await out.EndStream();
      co_return;
    }
    net::Response res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    if (status == 200) {
      res.body() = std::string(kCompletion);
    } else {
      res.body() = fmt::format(
          R"({{"error":{{"message":"planned failure {}","type":"server_error","param":null,"code":"planned"}}}})",
          status);
    }
    co_await out.Send(std::move(res));
  }

  std::mutex mu_;
  std::map<std::string, int> plan_;
  std::vector<Recorded> recorded_;
  std::unique_ptr<TestServer> server_;  // last: destroyed first
};

// A loopback port that refuses connections: bound (so nobody else gets it) but not listening.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("RefusingPort: cannot bind");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// One case through Gateway::Handle, and its checks

std::string Header(const RecordingResponder& out, std::string_view name) {
  if (out.response()) return std::string((*out.response())[name]);
  if (out.head()) return std::string((*out.head())[name]);
  return {};
}

int StatusOf(const RecordingResponder& out) {
  if (out.response()) return out.response()->result_int();
  if (out.head()) return out.head()->result_int();
  return 0;
}

// error.code and error.policy.outcome of a JSON error body ("" when absent).
std::pair<std::string, std::string> ErrorCodeOf(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const json::value* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return {};
  std::pair<std::string, std::string> out;
  if (const json::value* code = e->as_object().if_contains("code"); code && code->is_string()) {
    out.first = std::string(code->as_string());
  }
  if (const json::value* p = e->as_object().if_contains("policy"); p && p->is_object()) {
    if (const json::value* o = p->as_object().if_contains("outcome"); o && o->is_string()) {
      out.second = std::string(o->as_string());
    }
  }
  return out;
}

struct Tally {
  long cases = 0, blocked = 0, no_eligible = 0, served = 0, all_dead = 0, fell_back = 0, narrowed = 0;
  long redacted = 0, pseudonymized = 0, removed_before_routing = 0, streamed = 0, upstream_errors = 0;
  long retried_statuses = 0;  // live answers with a retryable status that passed the request on
  long upstream_requests = 0, declared_header = 0, kept_in_keys = 0;
  long refused_attempts = 0;  // attempts on dead eligible backends (connect refused, next one tried)
};

// Checks one case's outcome; returns what is wrong ("" = nothing).
std::string Check(const GenConfig& config, const GenCase& c, const Expected& e, const RecordingResponder& out,
                  const std::vector<Recorded>& recorded, Tally& tally) {
  auto eligible = [&](const std::string& id) { return In(e.eligible, id); };
  // THE property: nothing reaches a backend outside the eligible set.
  for (const Recorded& r : recorded) {
    if (!eligible(r.backend)) {
      return fmt::format("backend '{}' (target {}) received the request but is not eligible; eligible: [{}]",
                         r.backend, r.target, fmt::join(e.eligible, ", "));
    }
  }
  std::string backend_header = Header(out, "x-meridian-backend");
  if (!backend_header.empty() && !eligible(backend_header)) {
    return fmt::format("x-meridian-backend '{}' is not eligible; eligible: [{}]", backend_header,
                       fmt::join(e.eligible, ", "));
  }
  if (out.sends + out.starts != 1) {
    return fmt::format("{} sends and {} stream starts; expected one answer", out.sends, out.starts);
  }

  if (!e.code().empty()) {
    if (!recorded.empty()) return fmt::format("denied request reached {} upstream(s)", recorded.size());
    if (!out.response() || out.response()->result_int() != 403) {
      return fmt::format("expected 403 {}, got {}", e.code(), StatusOf(out));
    }
    auto [code, outcome] = ErrorCodeOf(out.response()->body());
    if (code != e.code() || outcome != e.code()) {
      return fmt::format("expected error.code {} (and policy.outcome), got {} / {}: {}", e.code(), code, outcome,
                         out.response()->body());
    }
    ++(e.blocked ? tally.blocked : tally.no_eligible);
    return {};
  }

  // Allowed (routing: priority, max_attempts 3): the eligible backends are tried in
  // configuration order; a dead one (connect refused) or a live one answering a retryable
  // status (500, 503, 429) passes the request on to the next, for at most three attempts; any
  // other answer ends the walk. The client gets the last live answer (503 upstream_unavailable
  // when no live backend was reached).
  constexpr int kMaxAttempts = 3;
  std::vector<const GenBackend*> called;  // live backends tried, in order
  const GenBackend* last_tried = nullptr;
  int attempts = 0;
  for (const std::string& id : e.eligible) {
    if (attempts == kMaxAttempts) break;
    const GenBackend& b = *std::find_if(config.backends.begin(), config.backends.end(),
                                        [&](const GenBackend& x) { return x.id == id; });
    ++attempts;
    last_tried = &b;
    if (b.dead) continue;
    called.push_back(&b);
    const int planned = c.plan.at(b.id);
    if (planned != 500 && planned != 503 && planned != 429) break;
  }
  if (e.eligible.size() < config.backends.size()) ++tally.narrowed;
  std::string attempts_header = Header(out, "x-meridian-attempts");
  if (attempts_header != std::to_string(attempts)) {
    return fmt::format("x-meridian-attempts is '{}', expected {}", attempts_header, attempts);
  }
  if (called.empty()) {
    if (!recorded.empty()) {
      return fmt::format("{} upstream request(s) although every backend tried is dead", recorded.size());
    }
    if (!out.response() || out.response()->result_int() != 503) {
      return fmt::format("every backend tried is dead: expected 503, got {}", StatusOf(out));
    }
    auto [code, outcome] = ErrorCodeOf(out.response()->body());
    if (code != "upstream_unavailable") {
      return fmt::format("expected upstream_unavailable, got {}", out.response()->body());
    }
    if (backend_header != last_tried->id) {
      return fmt::format("x-meridian-backend '{}', expected the last tried '{}'", backend_header, last_tried->id);
    }
    ++tally.all_dead;
    tally.refused_attempts += attempts;
    return {};
  }
  std::vector<std::string> got, want_ids;
  for (const auto& r : recorded) got.push_back(r.backend);
  for (const GenBackend* b : called) want_ids.push_back(b->id);
  if (got != want_ids) {
    return fmt::format("expected upstream requests to [{}]; got [{}]", fmt::join(want_ids, ", "), fmt::join(got, ", "));
  }
  for (const auto& r : recorded) {
    if (r.target != fmt::format("/{}/v1/chat/completions", r.backend)) {
      return fmt::format("unexpected upstream target {}", r.target);
    }
  }
  const GenBackend* first_live = called.front();  // whose received body is checked below
  const GenBackend* answering = called.back();
  int want = c.plan.at(answering->id);
  if (StatusOf(out) != want) {
    return fmt::format("expected {} from {}, got {}", want, answering->id, StatusOf(out));
  }
  if (backend_header != answering->id) {
    return fmt::format("x-meridian-backend '{}', expected '{}'", backend_header, answering->id);
  }
  if (c.stream && want == 200) {
    if (!out.head() || !out.ended) return "expected a complete SSE stream";
    if (out.stream_text().find("data: [DONE]") == std::string::npos) {
      return "stream without [DONE]: " + out.stream_text();
    }
    ++tally.streamed;
  } else if (want == 200) {
    if (!out.response() || out.response()->body().find("\"Hello!\"") == std::string::npos) {
      return "expected the upstream's completion";
    }
  } else {
    ++tally.upstream_errors;
  }

  // What left: obligated classes' values replaced, the others unchanged — in object keys too
  // (rewritten in place, docs/policy.md), though a key's class still counts for routing.
  const std::string& sent = recorded[0].body;
  bool kept_in_keys = false;
  for (std::size_t i : c.in_keys) {
    const Snippet& s = Snippets()[i];
    bool obligated = !s.cls.empty() && (e.redact.count(s.cls) || e.pseudonymize.count(s.cls));
    bool present = sent.find(JsonEscaped(s.text)) != std::string::npos;
    if (obligated && present) {
      return fmt::format("the object key '{}' reached {} although a rule obliges replacing {}: {}", s.text,
                         first_live->id, s.cls, sent);
    }
    if (!obligated && !present) {
      return fmt::format("the object key '{}' did not reach {}: {}", s.text, first_live->id, sent);
    }
    if (obligated) kept_in_keys = true;
  }
  tally.kept_in_keys += kept_in_keys;
  for (std::size_t i : c.placed) {
    const Snippet& s = Snippets()[i];
    if (s.cls.empty() || In(c.in_keys, i)) continue;
    bool redact = e.redact.count(s.cls) > 0;
    bool pseudo = !redact && e.pseudonymize.count(s.cls) > 0;
    bool present = sent.find(s.value) != std::string::npos;
    if ((redact || pseudo) && present) {
      return fmt::format("the {} value '{}' reached {} although a {} rule applied: {}", s.cls, s.value,
                         first_live->id, redact ? "redact" : "pseudonymize", sent);
    }
    if (!redact && !pseudo && !present) {
      return fmt::format("the {} value '{}' (no rule applied) did not reach {} unchanged: {}", s.cls, s.value,
                         first_live->id, sent);
    }
    if (redact && sent.find("[REDACTED_" + Upper(s.cls) + "]") == std::string::npos) {
      return fmt::format("no [REDACTED_{}] in {}", Upper(s.cls), sent);
    }
    if (pseudo && sent.find("[" + Upper(s.cls) + "_") == std::string::npos) {
      return fmt::format("no [{}_...] placeholder in {}", Upper(s.cls), sent);
    }
  }
  // The answer says how many values were replaced (one per placed occurrence; redact wins).
  int redacted = 0, pseudonymized = 0;
  auto count = [&](const std::vector<std::size_t>& indexes) {
    for (std::size_t i : indexes) {
      const std::string& cls = Snippets()[i].cls;
      if (cls.empty()) continue;
      if (e.redact.count(cls)) ++redacted;
      else if (e.pseudonymize.count(cls)) ++pseudonymized;
    }
  };
  count(c.placed);
  count(c.in_keys);  // rewritten like values
  auto count_header = [](int n) { return n > 0 ? std::to_string(n) : std::string(); };
  if (Header(out, "x-meridian-redacted") != count_header(redacted) ||
      Header(out, "x-meridian-pseudonymized") != count_header(pseudonymized)) {
    return fmt::format("x-meridian-redacted '{}' / x-meridian-pseudonymized '{}', expected {} / {}",
                       Header(out, "x-meridian-redacted"), Header(out, "x-meridian-pseudonymized"), redacted,
                       pseudonymized);
  }
  tally.redacted += redacted > 0;
  tally.pseudonymized += pseudonymized > 0;
  tally.removed_before_routing += !e.removed.empty();
  ++tally.served;
  tally.fell_back += attempts > 1;
  tally.refused_attempts += attempts - static_cast<int>(called.size());
  tally.retried_statuses += static_cast<long>(called.size()) - 1;
  return {};
}

std::string Describe(const GenConfig& config, const GenCase& c, const Expected& e) {
  std::string s = fmt::format("key {} (tenant {}, declares [{}])", config.keys[static_cast<std::size_t>(c.key)].key,
                              config.keys[static_cast<std::size_t>(c.key)].tenant,
                              fmt::join(config.keys[static_cast<std::size_t>(c.key)].declared, ", "));
  if (!c.header_classes.empty()) s += fmt::format("\nx-meridian-data-classes: {}", fmt::join(c.header_classes, ","));
  s += fmt::format("\nbody: {}\nplan:", c.body);
  for (const auto& [id, status] : c.plan) s += fmt::format(" {}={}", id, status);
  s += "\ndead:";
  for (const auto& b : config.backends) {
    if (b.dead) s += " " + b.id;
  }
  s += fmt::format("\noracle: blocked={} eligible=[{}] found=[{}] in_keys=[{}] declared=[{}] redact=[{}] "
                   "pseudonymize=[{}] removed=[{}]",
                   e.blocked, fmt::join(e.eligible, ", "), fmt::join(e.found, ", "), fmt::join(e.in_keys, ", "),
                   fmt::join(e.declared, ", "),
                   fmt::join(e.redact, ", "), fmt::join(e.pseudonymize, ", "), fmt::join(e.removed, ", "));
  return s;
}

long EnvLong(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtol(v, nullptr, 10);
}

// ---------------------------------------------------------------------------------------------
// Tests

// The oracle trusts the snippet labels: prove the gateway's classifier finds exactly the
// labelled span in every context the generator puts a snippet in (alone, two joined, inside
// tool-call arguments; an object key is the snippet alone), and nothing in the fixed strings.
TEST(PolicyE2EProperty, SnippetLabelsMatchTheClassifier) {
  // The classifier a Snapshot scans requests with (one per process, shared by every snapshot).
  auto config = config::ParseConfig(
      "backends:\n  - {id: b0, provider: openai, base_url: 'http://127.0.0.1:9/v1', models: [m], tier: cloud}\n",
      "min.yaml");
  ASSERT_TRUE(config) << config.error().front().ToString();
  auto snapshot = Snapshot::Build(std::move(*config));
  ASSERT_TRUE(snapshot) << snapshot.error().message;
  const classify::Classifier& classifier = (*snapshot)->classifier();
  auto check = [&](const std::string& text, const std::vector<std::pair<const Snippet*, std::size_t>>& expected) {
    classify::Classification got = classifier.Scan(text);
    std::vector<std::string> want_list, got_list;
    for (const auto& [s, offset] : expected) {
      if (s->cls.empty()) continue;
      auto at = text.find(s->value, offset);
      want_list.push_back(fmt::format("{}@{}:{}", s->cls, at, s->value));
    }
    for (const auto& f : got.findings) {
      got_list.push_back(fmt::format("{}@{}:{}", core::DataClassName(f.cls), f.begin,
                                     text.substr(f.begin, f.end - f.begin)));
    }
    EXPECT_EQ(got_list, want_list) << "text: " << text;
  };
  const auto& all = Snippets();
  for (const Snippet& a : all) {
    check(a.text, {{&a, 0}});
    check(ArgumentsFor(a), {{&a, 0}});
    for (const Snippet& b : all) {
      std::string joined = a.text + std::string(kJoin) + b.text;
      check(joined, {{&a, 0}, {&b, a.text.size() + kJoin.size()}});
    }
  }
  for (const std::string& s : kFixedStrings) {
    EXPECT_TRUE(classifier.Scan(s).findings.empty()) << s;
  }
  // Every class a snippet is labelled with is a real class name.
  for (const Snippet& s : all) {
    if (!s.cls.empty()) {
      EXPECT_TRUE(core::ParseDataClass(s.cls)) << s.cls;
    }
  }
  for (const std::string& c : kRuleClasses) EXPECT_TRUE(core::ParseDataClass(c)) << c;
}

// A bound, non-listening port refuses connections at once (what the dead backends rely on).
TEST(PolicyE2EProperty, RefusingPortRefuses) {
  RefusingPort port;
  RawClient client(port.port());
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.connect_errno(), ECONNREFUSED);
}

TEST(PolicyE2EProperty, NoRequestReachesABackendOutsideItsEligibleSet) {
  uint64_t seed = static_cast<uint64_t>(EnvLong("MERIDIAN_PROPERTY_SEED", 20260611));
  long total = EnvLong("MERIDIAN_PROPERTY_CASES", 100'000);
  long per_config = std::max(1L, EnvLong("MERIDIAN_PROPERTY_CASES_PER_CONFIG", 100));
  long first_config = std::max(0L, EnvLong("MERIDIAN_PROPERTY_FIRST_CONFIG", 0));
  auto started = std::chrono::steady_clock::now();

  Upstream upstream;
  RefusingPort refusing;
  std::string live_url = upstream.url();
  std::string dead_url = fmt::format("http://127.0.0.1:{}", refusing.port());
  GatewayOptions options;
  options.connect_failure_cool_down = std::chrono::milliseconds(0);
  options.route_stats.breaker.consecutive_failures = 0;  // breaker rules off (see RenderYaml)
  options.route_stats.breaker.error_rate = 2.0;

  Tally tally;
  long configs = first_config;
  for (long done = 0; done < total; ++configs) {
    Gen g(seed * 1'000'003ull + static_cast<uint64_t>(configs));
    GenConfig config;
    std::string yaml;
    core::Result<std::shared_ptr<const Snapshot>> snapshot = std::unexpected(core::Error{});
    // A rule whose require and deny of one fact leave no value is a configuration error (the
    // compiler rejects it); the generator draws again from the same stream.
    for (;;) {
      config = RandomConfig(g);
      yaml = RenderYaml(config, live_url, dead_url);
      auto parsed = config::ParseConfig(yaml, "gen.yaml");
      ASSERT_TRUE(parsed) << parsed.error().front().ToString() << "\n" << yaml;
      snapshot = Snapshot::Build(std::move(*parsed));
      if (snapshot || snapshot.error().message.find("contradicts require.") == std::string::npos) break;
    }
    ASSERT_TRUE(snapshot) << snapshot.error().message << "\n" << yaml;
    // A fresh io_context per configuration: its upstream connection pools go with it.
    asio::io_context ioc;
    telemetry::Registry registry;
    Gateway gateway(*snapshot, registry, nullptr, options);

    for (long i = 0; i < per_config && done < total; ++i, ++done) {
      GenCase c = RandomCase(g, config);
      Expected e = Oracle(config, c);
      const GenKey& key = config.keys[static_cast<std::size_t>(c.key)];

      net::Request req{http::verb::post, "/v1/chat/completions", 11};
      req.set(http::field::host, "gateway");
      req.set(http::field::authorization, "Bearer " + key.key);
      req.set(http::field::content_type, "application/json");
      if (!c.header_classes.empty()) {
        req.set("x-meridian-data-classes", fmt::format("{}", fmt::join(c.header_classes, ", ")));
        ++tally.declared_header;
      }
      req.body() = c.body;
      req.prepare_payload();

      upstream.Begin(c.plan);
      RecordingResponder out(ioc.get_executor());
      bool finished = RunOn(ioc, [&]() -> asio::awaitable<void> { co_await gateway.Handle(req, out); }, 10s);
      std::vector<Recorded> recorded = upstream.recorded();
      ++tally.cases;
      tally.upstream_requests += static_cast<long>(recorded.size());

      std::string problem = finished ? Check(config, c, e, out, recorded, tally) : "Gateway::Handle did not finish";
      if (!problem.empty()) {
        std::string answer = out.response() ? out.response()->body() : out.stream_text();
        FAIL() << problem << "\n\nseed " << seed << ", configuration " << configs << ", case " << i
               << " of it; replay with MERIDIAN_PROPERTY_SEED=" << seed << " MERIDIAN_PROPERTY_CASES_PER_CONFIG="
               << per_config << " MERIDIAN_PROPERTY_FIRST_CONFIG=" << configs << " MERIDIAN_PROPERTY_CASES=" << i + 1
               << "\n"
               << yaml << Describe(config, c, e) << "\nstatus " << StatusOf(out) << " answer: " << answer;
      }
    }
  }

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "policy e2e property: seed %llu, %ld cases over %ld configurations in %.1f s: %ld blocked (403 "
      "policy_blocked), %ld no eligible backend (403 no_eligible_backend), %ld served by an eligible backend "
      "(%ld of them relayed an upstream error, %ld streamed), %ld all eligible dead (503); %ld served after "
      "falling back past a dead backend or a retryable status, %ld connect-refused attempts and %ld retried "
      "upstream error answers in all; %ld narrowed the eligible set; %ld redacted, %ld pseudonymized, %ld routed after removing "
      "classes, %ld rewrote an obligated value in an object key; %ld with a declaration header; %ld upstream "
      "requests, 0 outside the eligible set\n",
      static_cast<unsigned long long>(seed), tally.cases, configs - first_config, seconds, tally.blocked, tally.no_eligible,
      tally.served, tally.upstream_errors, tally.streamed, tally.all_dead, tally.fell_back, tally.refused_attempts,
      tally.retried_statuses, tally.narrowed,
      tally.redacted, tally.pseudonymized, tally.removed_before_routing, tally.kept_in_keys, tally.declared_header,
      tally.upstream_requests);
  std::fflush(stdout);

  EXPECT_EQ(tally.cases, total);
  if (total >= 20'000) {
    // The generator must exercise every outcome, or the property proves little.
    long one_percent = total / 100;
    EXPECT_GT(tally.blocked, one_percent);
    EXPECT_GT(tally.no_eligible, one_percent);
    EXPECT_GT(tally.served, 10 * one_percent);
    EXPECT_GT(tally.all_dead, one_percent);
    EXPECT_GT(tally.fell_back, one_percent);
    EXPECT_GT(tally.retried_statuses, one_percent);
    EXPECT_GT(tally.narrowed, one_percent);
    EXPECT_GT(tally.redacted, one_percent);
    EXPECT_GT(tally.pseudonymized, one_percent);
    EXPECT_GT(tally.removed_before_routing, one_percent);
    EXPECT_GT(tally.streamed, one_percent);
  }
}

}  // namespace
}  // namespace meridian::gateway
