#pragma once
// The request pipeline of the OpenAI-compatible API: route, authenticate, parse, resolve the
// model, forward to a backend (streaming or not), relay, and record metrics and one access-log
// line per request. The only module that wires net, config and telemetry together.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include "gateway/egress.hpp"
#include "gateway/ingress.hpp"
#include "gateway/request_body.hpp"
#include "gateway/snapshot.hpp"
#include "limits/limits.hpp"
#include "net/server.hpp"
#include "redact/redact.hpp"
#include "route/stats.hpp"
#include "store/record_writer.hpp"
#include "store/usage.hpp"
#include "telemetry/access_log.hpp"
#include "telemetry/metrics.hpp"
#include "tenancy/directory.hpp"
#include "tenancy/store.hpp"

namespace meridian::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// What the policy stage decided, kept for the request's audit record: names and counts only,
// never a value the classifier found.
struct PolicySummary {
  std::array<int, core::kDataClassCount> class_counts{};  // found (or declared: at least 1) per class
  std::vector<std::string> rules_fired;                    // every rule that applied, in policy order
  std::vector<std::string> eligible;                       // backend ids the policy allows
  std::vector<policy::Eligibility::Excluded> excluded;     // the others, with rule and reason
};

// One upstream attempt of Forward.
struct AttemptInfo {
  const Backend* backend = nullptr;
  int status = 0;                 // upstream HTTP status; 0 if no response head arrived
  std::string_view error;         // CodeName of the failure; empty on success (or still running)
  Clock::time_point start;
  Clock::time_point end{};        // zero while the answer is still being relayed
};

// Everything one request carries through the pipeline; lives in the handler's coroutine frame.
struct RequestContext {
  std::shared_ptr<const Snapshot> snapshot;  // the configuration this request started with
  const net::Request* request = nullptr;     // the client's request (owned by the server)
  std::string request_id;
  const Caller* caller = nullptr;            // who is calling (set after authentication)
  // Set when the policy stage replaced values by placeholders: the answer is restored with it.
  std::unique_ptr<redact::Pseudonymizer> pseudonyms;
  int redacted = 0;                          // values redacted from the request
  int pseudonymized = 0;                     // values replaced by placeholders
  std::string_view route = "other";          // metrics label
  // What the client speaks: its errors, answers and streams are written in this dialect.
  dialect::Dialect dialect = dialect::Dialect::kOpenAiChat;
  Api api = Api::kChatCompletions;
  // Responses clients: the request members a response echoes (instructions, tools, ...), as
  // the client sent them (taken before the policy stage rewrites the body).
  std::optional<boost::json::object> response_echo;
  Clock::time_point start;
  const Backend* backend = nullptr;          // the backend that answered (or was last tried)
  std::string model;                         // as the client sent it
  int attempts = 0;
  int status = 0;                            // status sent to the client; 499 = client left
  std::string_view error_code;               // CodeName() of the error returned, if any
  bool stream = false;
  std::int64_t prompt_tokens = -1;           // from the upstream's usage, when reported
  std::int64_t completion_tokens = -1;
  std::int64_t cached_tokens = -1;
  std::int64_t reasoning_tokens = -1;
  std::int64_t cache_write_tokens = -1;      // Anthropic cache_creation_input_tokens (translated path)
  // Usage ledger and audit (docs/store.md).
  std::int64_t start_unix_ms = 0;            // wall-clock arrival time, for the records
  bool ledger = false;                       // an API request: gets a usage and a decision record
  bool records_submitted = false;            // handed to the store already (strict mode)
  std::string_view upstream_model;           // the model id the alias resolved to (snapshot-owned)
  std::optional<PolicySummary> policy;       // set by the policy stage
  std::vector<AttemptInfo> attempt_log;      // every upstream attempt, in order
  // Eligible backends not tried, with why ("health: unhealthy, skipped", "breaker: open, skipped").
  struct Skipped {
    const Backend* backend = nullptr;
    std::string_view reason;                 // a string literal
  };
  std::vector<Skipped> skipped;
  // Routing (docs/routing.md): the model's routing policy (snapshot-owned; null = defaults),
  // the prompt's token estimate (-1 = none: routing approximates from the body size) and the
  // client's output maximum.
  const RoutePolicy* routing = nullptr;
  // Prefix affinity (routing `affinity: prefix`): the model's ring over all its backends
  // (index-aligned with model_backends) and the request's prefix key.
  const route::AffinityRing* affinity_ring = nullptr;
  const std::vector<Backend*>* model_backends = nullptr;
  std::optional<std::uint64_t> prefix_key;
  std::int64_t estimated_input_tokens = -1;
  std::optional<std::int64_t> max_output_tokens;
  // Virtual keys (docs/tenancy.md): the key that authenticated, and the Caller made from it
  // (ctx.caller points here then).
  std::shared_ptr<const tenancy::ResolvedKey> virtual_key;
  Caller virtual_caller;
  // Budgets and rate limits this request holds (docs/limits.md); settled when it ends.
  limits::Reservation reservation;
  // A stream's generated text so far (bytes) and the output tokens charged for it (bytes / 4,
  // rounded up) against the reservation while usage is unknown.
  std::int64_t stream_text_bytes = 0;
  std::int64_t stream_tokens_charged = 0;
  // The quality router's verdict for an alias that has one ("strong" or "weak"; "" = none).
  std::string_view quality_choice;
  double quality_score = 0;
};

// The text of the request's last user turn, in any model-call dialect (quality routing). Pure.
std::string LastUserText(Api api, const boost::json::object& body);
// The prefix-affinity key of a request: `model`, its system prompt and its first user turn, in
// any model-call dialect (route::PrefixKeyBuilder). Pure.
std::uint64_t PrefixKey(Api api, const boost::json::object& body, std::string_view model);

// The stores a gateway writes to and reads from (all optional: a gateway without them serves
// without records, as the unit tests do). Owned by the caller (`meridian serve`).
struct StoreHooks {
  store::RecordSink* sink = nullptr;         // where each API request's records go
  store::UsageStore* usage = nullptr;        // what GET /admin/usage queries
  bool audit = true;                         // build decision records
  // Tenants, teams and virtual keys (docs/tenancy.md): the admin API changes `tenancy`;
  // requests authenticate through `keys` (built over the same store), and their limits are
  // enforced by the gateway's limiter. Both null: only the configuration's auth.keys.
  tenancy::TenancyStore* tenancy = nullptr;
  tenancy::KeyDirectory* keys = nullptr;
};

struct GatewayOptions {
  std::chrono::milliseconds connect_failure_cool_down{5'000};
  std::size_t max_upstream_body_bytes = 64 * 1024 * 1024;  // non-streaming response bodies
  route::StatsOptions route_stats;  // EWMA weight and circuit-breaker thresholds (route/stats.hpp)
  limits::LimiterOptions limits;    // output tokens reserved when a request sets no maximum
};

// The request's cost in micro-USD from its usage and its backend's price for the model
// (docs/catalog.md), or nullopt while usage is unknown or the model is unpriced. Pure.
std::optional<std::int64_t> RequestCost(const RequestContext& ctx);

// The caller's scope in the ReasoningStore ("tenant/key prefix"; "" without a caller).
std::string ReasoningScope(const RequestContext& ctx);

class Gateway {
 public:
  // The gateway's own metric families (owned by the registry).
  struct Metrics {
    telemetry::CounterFamily* requests = nullptr;    // meridian_requests_total{route,status,backend}
    telemetry::HistogramFamily* duration = nullptr;  // meridian_request_duration_seconds{route}
    telemetry::CounterFamily* tokens = nullptr;      // meridian_tokens_total{backend,kind}
    telemetry::CounterFamily* attempts = nullptr;    // meridian_upstream_attempts_total{backend,outcome}
    telemetry::CounterFamily* cost = nullptr;        // meridian_cost_micro_usd_total{backend}
    telemetry::CounterFamily* retries = nullptr;     // meridian_retries_total{backend,reason}
    telemetry::CounterFamily* hedges = nullptr;      // meridian_hedges_total{backend,result}
    telemetry::CounterFamily* ejections = nullptr;   // meridian_outlier_ejections_total{backend,model}
  };

  // `registry` and `access_log` (null: no access log) must outlive the Gateway.
  Gateway(std::shared_ptr<const Snapshot> snapshot, telemetry::Registry& registry,
          telemetry::AccessLog* access_log, GatewayOptions options = {});

  // Serves one request; every outcome, errors included, is answered here. Runs on the
  // server's worker thread; thread-safe (per-request state lives in the coroutine).
  asio::awaitable<void> Handle(net::Request& request, net::Responder& responder);

  // Serves one request of the admin listener (admin.listen): POST /admin/explain and
  // GET /admin/usage, behind the admin keys. Same threading as Handle (a usage query runs on
  // the admin listener's thread).
  asio::awaitable<void> HandleAdmin(net::Request& request, net::Responder& responder);

  // Renders errors the HTTP server detects itself (413, 431, 400...) in OpenAI's format (the
  // server answers before the path is routed; every SDK raises its error class by status).
  net::Response RenderServerError(http::status status, std::string_view message) const;

  // Lets /readyz and the metrics see the server's state. Call before serving.
  void AttachServer(const net::Server* server) { server_ = server; }

  // Records every API request (/v1/...) in the usage ledger and the audit log through
  // `hooks.sink`, and serves GET /admin/usage from `hooks.usage`. Call before serving.
  void AttachStore(StoreHooks hooks) { store_ = hooks; }

  // Starts active health checks for backends that declare one and the outlier sweep
  // (routing.outliers) on `health_context`, and a periodic sweep of idle upstream connections
  // on each of `worker_contexts`.
  void StartBackgroundTasks(asio::io_context& health_context,
                            const std::vector<asio::io_context*>& worker_contexts);

  // One outlier sweep now, over the backends of every model the current configuration serves
  // (route::StatsTable::SweepOutliers with routing.outliers' options): each backend far slower
  // or more failing than the rest of its model's pool is ejected (its breaker opens for the
  // ejection time), counted in meridian_outlier_ejections_total and logged (ids only). Returns
  // the number ejected; 0 when routing.outliers is off. Thread-safe.
  std::size_t SweepOutliers();

  std::shared_ptr<const Snapshot> snapshot() const { return std::atomic_load(&snapshot_); }

  // Budgets survive a restart: adds today's and this month's spend per tenant, team and key
  // from the usage ledger (hooks.usage) to the limiter. Call after AttachStore, before
  // serving. Returns the number of scopes seeded; failure: the ledger query's error.
  core::Result<std::size_t> SeedLimitsFromLedger();

 private:
  asio::awaitable<void> Dispatch(net::Request& request, net::Responder& out, RequestContext& ctx);
  asio::awaitable<void> DispatchAdmin(net::Request& request, net::Responder& out, RequestContext& ctx);
  asio::awaitable<void> ChatCompletions(net::Request& request, net::Responder& out, RequestContext& ctx);
  asio::awaitable<void> Embeddings(net::Request& request, net::Responder& out, RequestContext& ctx);
  // POST /v1/messages, /v1/responses and Gemini generateContent / streamGenerateContent: the
  // body is decoded into the canonical model (validating it, 400 naming the field), then
  // policy, then Forward translates it for each backend that speaks another dialect.
  asio::awaitable<void> ModelCall(net::Request& request, net::Responder& out, RequestContext& ctx,
                                  const ApiRoute& api);
  // Anthropic count_tokens and Gemini countTokens: asked of the first eligible backend that
  // can count (Anthropic or Gemini dialect); estimated with the local tokenizer when none can.
  asio::awaitable<void> CountTokens(net::Request& request, net::Responder& out, RequestContext& ctx,
                                    const ApiRoute& api);
  // Runs the policy stage on `body` for `route`; on a denial or a bad declaration header it
  // answers the client and returns nullopt, otherwise the backends Forward may use.
  asio::awaitable<std::optional<std::vector<Backend*>>> ApplyPolicy(net::Request& request, net::Responder& out,
                                                                    RequestContext& ctx, const ModelRoute& route,
                                                                    boost::json::object& body, bool& body_changed);
  asio::awaitable<void> ListModels(net::Responder& out, RequestContext& ctx);
  asio::awaitable<void> GetModel(std::string_view id, net::Responder& out, RequestContext& ctx);

  // Sends the request to the first healthy backend of `backends` (the next one only if nothing
  // was sent), built for each by `translator` in its dialect, and relays the answer in the
  // client's dialect. `stream`: relay SSE; `client_wants_usage`: keep the usage chunk (OpenAI).
  // Only `backends` are tried, in order: the policy stage's eligible set for this request.
  asio::awaitable<void> Forward(net::Responder& out, RequestContext& ctx, const std::vector<Backend*>& backends,
                                RequestTranslator& translator, bool stream, bool client_wants_usage);
  // OpenAI Chat client and OpenAI Chat backend: relayed as received (pseudonyms restored,
  // usage the client did not ask for removed).
  asio::awaitable<void> RelayBody(net::Responder& out, RequestContext& ctx, net::Exchange& exchange);
  asio::awaitable<void> RelayStream(net::Responder& out, RequestContext& ctx, net::Exchange& exchange,
                                    bool client_wants_usage);
  // Any other pair of dialects (the same non-OpenAI-Chat dialect included): decoded into the
  // canonical model, usage read, and re-encoded in the client's dialect unless both speak the
  // same one; a stream one upstream event at a time.
  asio::awaitable<void> RelayTranslatedBody(net::Responder& out, RequestContext& ctx, net::Exchange& exchange,
                                            dialect::Dialect upstream);
  asio::awaitable<void> RelayTranslatedStream(net::Responder& out, RequestContext& ctx, net::Exchange& exchange,
                                              dialect::Dialect upstream, bool client_wants_usage);

  asio::awaitable<void> ReplyError(net::Responder& out, RequestContext& ctx, const core::Error& error);
  asio::awaitable<void> Reply(net::Responder& out, RequestContext& ctx, net::Response response);
  net::Response MakeResponse(RequestContext& ctx, http::status status, std::string body,
                             std::string_view content_type = "application/json") const;

  asio::awaitable<void> AdminUsage(net::Request& request, net::Responder& out, RequestContext& ctx);

  void Record(const RequestContext& ctx);

  // Resolves ctx.model; for an alias with a quality router, to its weak or strong model by the
  // prompt's score (quality_stage.cpp). Failure: as Snapshot::Resolve.
  core::Result<ModelRoute> ResolveModel(RequestContext& ctx, const boost::json::object& body);
  core::Result<ModelRoute> ResolveByQuality(RequestContext& ctx, const boost::json::object& body);

  // Virtual keys and limits (tenancy_stage.cpp).
  // Applies the key directory's scope changes to the limiter (cheap when nothing changed).
  void SyncLimits();
  // True when some virtual key exists: every API request then needs a key.
  bool VirtualKeysExist();
  // The key's model and backend restrictions: an error (403) when the model is not allowed or
  // no allowed backend is left; otherwise `eligible` keeps only the allowed backends and the
  // others are recorded as excluded.
  std::optional<core::Error> ApplyKeyRestrictions(RequestContext& ctx, std::vector<Backend*>& eligible);
  // Reserves the request's upper-bound cost and tokens at its tenant, team and key before it
  // is forwarded: nullopt when admitted (or there is nothing to enforce), else the denial.
  std::optional<core::Error> ReserveLimits(RequestContext& ctx, const std::vector<Backend*>& eligible,
                                           const boost::json::object& body);
  // Ends the request's reservation with its actual usage (or releases it).
  void SettleLimits(RequestContext& ctx);
  // A stream produced `text_bytes` more generated text: charges its estimated tokens and cost
  // to the reservation. nullopt while the limits hold; else the error that ends the stream
  // (its final error event, in the client's dialect).
  std::optional<core::Error> ChargeStream(RequestContext& ctx, std::int64_t text_bytes);
  asio::awaitable<void> AdminTenancy(net::Request& request, net::Responder& out, RequestContext& ctx,
                                     std::string_view actor);
  std::string ReadyBody(bool& ready) const;

  // The request's usage and decision records, from what the context knows now.
  std::unique_ptr<store::PendingRecord> BuildRecords(const RequestContext& ctx) const;
  // Strict durability, before a response's final write: hands the records to the store and
  // waits (suspended, never blocking the worker) until they are committed. False if they
  // were not: the response must not complete. Marks the records submitted either way.
  asio::awaitable<bool> CommitRecords(RequestContext& ctx);
  // The same before the end of a stream (the write carrying [DONE] or the final error event):
  // true when the stream may end; otherwise the client connection is reset, so the response
  // stays incomplete, and false.
  asio::awaitable<bool> CommitBeforeEnd(net::Responder& out, RequestContext& ctx);
  bool StrictRecordPending(const RequestContext& ctx) const {
    return ctx.ledger && !ctx.records_submitted && store_.sink &&
           store_.sink->durability() == store::Durability::kStrict;
  }

  std::shared_ptr<const Snapshot> snapshot_;
  telemetry::Registry& registry_;
  telemetry::AccessLog* access_log_;
  GatewayOptions options_;
  Metrics metrics_;
  const net::Server* server_ = nullptr;
  StoreHooks store_;
  std::int64_t started_unix_;
  ReasoningStore reasoning_;  // Anthropic thinking blocks between turns (reasoning_store.hpp)
  // Live stats and circuit breakers per backend × model (route/stats.hpp). Outlives
  // configuration snapshots, so what it learnt survives a reload.
  route::StatsTable stats_;
  // Budgets and rate limits per tenant, team and virtual key (in this process).
  limits::Limiter limiter_;
  std::mutex scopes_mu_;  // guards applied_scopes_ (SyncLimits)
  std::shared_ptr<const tenancy::ScopeTable> applied_scopes_;
  std::atomic<std::uint64_t> applied_generation_{0};
};


}  // namespace meridian::gateway
