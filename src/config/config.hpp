#pragma once
// Meridian's configuration: the YAML file's typed form, and its loader.
//
// A Config is plain data, immutable once loaded; the gateway builds a snapshot from it and
// shares that snapshot read-only between threads.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/providers.hpp"
#include "core/data_class.hpp"
#include "core/error.hpp"

namespace meridian::config {

using Millis = std::chrono::milliseconds;

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8090;
  unsigned workers = 0;                     // 0 = std::thread::hardware_concurrency()
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  Millis header_timeout{10'000};            // whole request head must arrive within this
  Millis body_timeout{30'000};              // whole body must arrive within this
  Millis idle_timeout{60'000};              // keep-alive wait for the next request
  Millis write_timeout{30'000};             // one write to a client
  Millis shutdown_grace{30'000};            // drain deadline on SIGTERM/SIGINT
  bool request_log = true;                  // one log line per request (never keys or bodies)
};

struct PoolConfig {
  std::size_t max_idle = 64;                // idle connections kept per worker thread per backend
  Millis idle_timeout{60'000};              // an idle connection older than this is closed
  Millis max_lifetime{600'000};             // a connection older than this is not reused
};

struct UpstreamTimeouts {
  Millis connect{5'000};                    // TCP connect and TLS handshake
  Millis first_byte{60'000};                // request sent -> response head received
  Millis between_chunks{30'000};            // gap between two body reads
  Millis total{600'000};                    // whole exchange
};

struct HealthCheckConfig {
  std::string path;                         // e.g. "/models"; empty = no active check
  Millis interval{5'000};
  Millis timeout{1'000};
};

enum class Tier { kEdge, kLocal, kCloud };

// The tier's name as written in the file: "edge", "local" or "cloud". Thread-safe.
std::string_view TierName(Tier tier);

struct BackendConfig {
  std::string id;                           // unique, [a-z0-9_-]+
  std::string provider;                     // provider kind: openai, anthropic, gemini, mistral,
                                            // deepseek, qwen, ollama, vllm, llamacpp, simulator, ...
  std::string base_url;                     // http(s)://host[:port][/base/path]; default from
                                            // the provider preset (config/providers.hpp)
  std::string api_key;                      // sent upstream in the dialect's key header; never logged
  WireDialect dialect = WireDialect::kOpenAiChat;  // what the upstream speaks; default from provider
  // Azure OpenAI: {base_url}/deployments/{deployment}/chat/completions?api-version=...
  std::string api_version;                  // "" = kDefaultAzureApiVersion
  std::vector<std::pair<std::string, std::string>> deployments;  // model -> deployment ("" = the model id)
  std::vector<std::string> models;          // model ids this backend serves (upstream names)
  Tier tier = Tier::kCloud;
  std::string jurisdiction;                 // ISO 3166-1 alpha-2 ("US") or "EU"; may be empty
  std::string region;                       // provider region name ("us-east-1"); may be empty
  std::string vendor;                       // "openai", "anthropic", "meridian", ...
  UpstreamTimeouts timeouts;                // defaults from upstream_defaults, per-field override
  PoolConfig pool;                          // defaults from upstream_defaults, per-field override
  std::string ca_file;                      // PEM bundle; empty = system CA store
  HealthCheckConfig health_check;
  // The raw `facts` map (residency facts, docs/policy.md), or a null node. The config module
  // does not interpret it: policy::CompileConfigPolicy validates it (keeping config free of
  // the policy module). Shares ownership with the parsed document; read-only.
  YAML::Node facts;
  // The raw `prices` map (model -> per-million-token prices, docs/catalog.md), or a null node;
  // validated by catalog::ParsePriceOverrides when the snapshot is built (and by config check).
  YAML::Node prices;
  std::string path;                         // "backends[3]": where it is in the file, for messages
  int line = 0;                             // line of this entry in the file, for later errors
};

// Outlier ejection (docs/routing.md, "Outlier ejection"): every `interval`, the backends serving
// each model are compared and one far slower or more failing than the rest is taken out of
// rotation for a while (route::OutlierOptions has the meaning of each field). Top-level
// `routing.outliers` only; `outliers: false` turns it off.
struct OutlierConfig {
  bool enabled = true;
  Millis interval{10000};
  unsigned min_samples = 20;
  unsigned min_pool = 3;
  double latency_factor = 3.0;
  Millis min_latency_gap{50};
  double error_rate_gap = 0.3;
  double max_ejected_fraction = 0.5;
  Millis base_ejection{30000};
  Millis max_ejection{300000};
};

// How the router orders the eligible backends of one model (docs/routing.md). The top-level
// `routing` section sets the defaults; an alias may override any field for its requests.
struct RoutingConfig {
  // p2c (power-of-two choices over EWMA load, the default), cheapest, fastest, weighted,
  // least-busy, priority (configuration order). Validated here by name; route::ParseStrategy
  // reads it.
  std::string strategy = "p2c";
  unsigned max_attempts = 3;                // attempts per request, the first included (1..16)
  Millis deadline{0};                       // one deadline over all attempts; 0 = none beyond
                                            // each attempt's own upstream timeouts
  bool exclude_open = false;                // open_breakers: exclude (true) or last (false, default)
  bool latency_total = false;               // fastest by predicted total latency, not TTFT
  // hedge: true, or {quantile, min_delay, max_delay} — latency-critical: when the first
  // attempt has no response head after the `quantile` of its backend's recent times to a head
  // (clamped to [min_delay, max_delay]), a second attempt goes to the plan's next backend and
  // the first head to arrive wins (docs/routing.md, "Hedged requests").
  bool hedge = false;
  double hedge_quantile = 0.95;             // (0, 1]
  Millis hedge_min_delay{50};
  Millis hedge_max_delay{10000};
  // affinity: prefix — requests sharing a prompt prefix (system prompt + first user turn) go
  // first to the same backend of the model (consistent hashing with bounded load), so a
  // self-hosted server's KV cache is reused; the strategy orders the rest of the plan.
  bool prefix_affinity = false;
  std::vector<std::pair<std::string, unsigned>> weights;  // backend id -> weight (weighted)
  OutlierConfig outliers;                   // top-level `routing` only (aliases cannot set it)
};

// The learned quality router of one alias (docs/quality_router.md): per request it predicts
// whether the cheaper `weak` model is good enough; if not, the alias's target (the strong
// model) serves it.
struct QualityConfig {
  std::string weak;                         // a model id some backend serves
  std::string model_file;                   // the router's model file; relative to the config's folder
  std::optional<double> threshold;          // send to strong when the score >= threshold
  std::optional<double> strong_share;       // or: the threshold calibrated for this share (0..1)
};

struct AliasConfig {
  std::string name;                         // what clients send as "model"
  std::string target;                       // a model id served by some backend
  RoutingConfig routing;                    // the top-level routing with this alias's overrides
  std::optional<QualityConfig> quality;
  std::string path;                         // "aliases.fast", for later messages
  int line = 0;
};

// One static client key and what Meridian knows about whoever holds it. In the file an entry
// is either the key string alone or a map {key, tenant, team, data_classes, jurisdiction}.
struct KeyConfig {
  std::string key;                          // the bearer secret; never logged or echoed
  std::string tenant;                       // policy scope; "" = none
  std::string team;                         // policy scope; "" = none
  // Classes every request with this key is declared to carry (no spans), e.g. [classification_marking].
  std::vector<core::DataClass> data_classes;
  std::string jurisdiction;                 // where this key's data comes from; "" = undeclared
};

struct AuthConfig {
  // Static bearer keys. Empty = authentication disabled (config check warns).
  std::vector<KeyConfig> keys;
};

// The admin API's own listener (docs/configuration.md, "admin"): absent = no admin API.
struct AdminConfig {
  bool enabled = false;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8091;
  std::vector<std::string> keys;            // admin bearer keys; required when enabled
};

// How the usage ledger's records reach the disk (docs/store.md).
enum class LedgerDurability {
  kBatched,  // the writer commits every batch_max records or batch_window, whichever comes first
  kStrict,   // a response completes only after its record is committed
};

// "batched" or "strict". Thread-safe.
std::string_view LedgerDurabilityName(LedgerDurability durability);

struct LedgerConfig {
  LedgerDurability durability = LedgerDurability::kBatched;
  std::size_t batch_max = 256;              // records per transaction, at most
  Millis batch_window{50};                  // batched: longest a record waits for its commit
  std::size_t queue_size = 65536;           // records waiting for the writer, at most
};

struct AuditStoreConfig {
  bool enabled = true;                      // one decision record per request in state_dir/audit.db
};

// The embedded store under state_dir: usage ledger and audit log (docs/store.md).
struct StoreConfig {
  LedgerConfig ledger;
  AuditStoreConfig audit;
};

struct Config {
  std::string source;                       // file path it was loaded from
  std::string state_dir = "./state";
  StoreConfig store;
  ServerConfig server;
  AuthConfig auth;
  AdminConfig admin;
  std::vector<BackendConfig> backends;      // only enabled backends (requires_env satisfied)
  std::vector<std::string> disabled_backends;  // ids skipped because requires_env was unset
  std::vector<AliasConfig> aliases;
  RoutingConfig routing;                    // defaults for every model (aliases may override)
  // `limits.default_max_output_tokens`: output tokens a virtual key's request reserves when it
  // sets no maximum (docs/limits.md).
  std::int64_t default_max_output_tokens = 4096;
  // The raw `policies` list (docs/policy.md), or a null node; compiled and validated by
  // policy::CompileConfigPolicy, not here.
  YAML::Node policies;
  // `catalog.file`: LiteLLM's model_prices_and_context_window.json (docs/catalog.md); a relative
  // path is taken from the configuration file's folder. "" = no catalog (only `prices`).
  std::string catalog_file;
  std::vector<std::string> warnings;        // non-fatal findings, e.g. auth disabled
};

// One finding of validation, rendered as "FILE:LINE: FIELD: MESSAGE" (":LINE" is left out when
// the line is unknown (0), "FIELD: " when the issue concerns no single field).
struct ConfigIssue {
  std::string file;
  int line = 0;                             // 1-based; 0 when unknown
  std::string field;                        // dotted path: "backends[2].base_url"
  std::string message;
  std::string ToString() const;
};

// Replaces ${NAME} and ${NAME:-default} in `text` from the process environment.
// An unset ${NAME} (no default) is an error naming the variable (set-but-empty is allowed);
// the default applies when NAME is unset or empty and is literal text up to the first '}'.
// "$$" is a literal "$"; any other "$" is literal too. Values are inserted verbatim.
// Thread-safe (reads the environment only).
core::Result<std::string> InterpolateEnv(std::string_view text);

// Parses and validates YAML text. Environment references (see InterpolateEnv) are expanded in
// each scalar value after YAML parsing, never in keys, and the result is never re-parsed.
// Success: the Config (warnings in Config::warnings, each rendered like ConfigIssue). Failure:
// every issue found (not just the first), ordered by line. `file` is used only for messages.
// Never throws. Thread-safe as long as no thread modifies the environment.
std::expected<Config, std::vector<ConfigIssue>> ParseConfig(std::string_view yaml_text,
                                                            std::string_view file);

// Reads `path` (an unreadable file is one issue naming it, line 0), then ParseConfig with
// `path` as the file name. When `raw` is given it receives the file's bytes as read (so that
// a caller can digest exactly what was loaded), also when validation fails. Never throws.
std::expected<Config, std::vector<ConfigIssue>> LoadConfigFile(const std::string& path,
                                                               std::string* raw = nullptr);

}  // namespace meridian::config
