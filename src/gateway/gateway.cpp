#include "gateway/gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/compile.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/request_id.hpp"
#include "core/utf8.hpp"
#include "catalog/cost.hpp"
#include "gateway/http_error.hpp"
#include "gateway/policy_stage.hpp"
#include "gateway/relay_util.hpp"
#include "tenancy/admin_api.hpp"
#include "tenancy/key_format.hpp"
#include "gateway/request_body.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::ErrorCode;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

template <class T>
T* Registered(core::Result<T*> result) {
  // Metric names are constants of this file: a failure is a programming error.
  if (!result) throw std::logic_error("metric registration failed: " + result.error().message);
  return *result;
}

std::string_view PathOf(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

core::Error Invalid(std::string message, std::string param = {}) {
  return core::Fail(ErrorCode::kInvalidRequest, std::move(message), std::move(param)).error();
}

// Appends `text` as a JSON string literal (quotes, backslashes and control bytes escaped).
void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      fmt::format_to(std::back_inserter(out), FMT_COMPILE("\\u{:04x}"), c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

}  // namespace

Gateway::Gateway(std::shared_ptr<const Snapshot> snapshot, telemetry::Registry& registry,
                 telemetry::AccessLog* access_log, GatewayOptions options)
    : snapshot_(std::move(snapshot)),
      registry_(registry),
      access_log_(access_log),
      options_(options),
      started_unix_(std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count()),
      stats_(options.route_stats),
      limiter_(options.limits) {
  auto& m = metrics_;
  m.requests = Registered(registry.AddCounter("meridian_requests_total",
                                              "Requests answered, by route, status and backend.",
                                              {"route", "status", "backend"}));
  m.duration = Registered(registry.AddHistogram("meridian_request_duration_seconds",
                                                "Time from request head to the end of the response.",
                                                {"route"}, telemetry::DefaultLatencyBuckets()));
  m.tokens = Registered(registry.AddCounter("meridian_tokens_total",
                                            "Tokens reported by backends, by kind (prompt, completion).",
                                            {"backend", "kind"}));
  m.cost = Registered(registry.AddCounter("meridian_cost_micro_usd_total",
                                          "Cost of answered requests in micro-USD, from the price catalog.",
                                          {"backend"}));
  m.attempts = Registered(registry.AddCounter("meridian_upstream_attempts_total",
                                              "Upstream attempts by backend and outcome.",
                                              {"backend", "outcome"}));
  m.retries = Registered(registry.AddCounter(
      "meridian_retries_total",
      "Attempts given up for the next backend of the plan before any byte reached the client, by the "
      "backend that failed and why (connect, timeout, status_429, status_503, ...).",
      {"backend", "reason"}));
  m.hedges = Registered(registry.AddCounter(
      "meridian_hedges_total",
      "Hedged attempts launched because the first attempt's response head was late, by the hedge's "
      "backend and whether its answer was the one used (won) or not (lost).",
      {"backend", "result"}));
  m.ejections = Registered(registry.AddCounter(
      "meridian_outlier_ejections_total",
      "Backends taken out of a model's rotation by the outlier sweep (routing.outliers).", {"backend", "model"}));
  auto in_flight = [this](telemetry::Emit emit) {
    emit({}, server_ ? static_cast<double>(server_->in_flight()) : 0.0);
  };
  auto connections = [this](telemetry::Emit emit) {
    emit({}, server_ ? static_cast<double>(server_->open_connections()) : 0.0);
  };
  auto pool = [this](telemetry::Emit emit) {
    for (const auto& b : this->snapshot()->backends()) {
      emit({b->id(), "idle"}, static_cast<double>(b->upstream()->pooled()));
      emit({b->id(), "open"}, static_cast<double>(b->upstream()->open()));
    }
  };
  auto exchanges = [this](telemetry::Emit emit) {
    for (const auto& b : this->snapshot()->backends()) {
      emit({b->id(), "new"}, static_cast<double>(b->upstream()->connected()));
      emit({b->id(), "reused"}, static_cast<double>(b->upstream()->reused()));
    }
  };
  auto healthy = [this](telemetry::Emit emit) {
    for (const auto& b : this->snapshot()->backends()) emit({b->id()}, b->healthy() ? 1.0 : 0.0);
  };
  auto check = [](core::Result<void> r) {
    if (!r) throw std::logic_error("metric registration failed: " + r.error().message);
  };
  check(registry.AddCallbackGauge("meridian_in_flight_requests", "Requests being served now.", {}, in_flight));
  check(registry.AddCallbackGauge("meridian_open_connections", "Client connections open now.", {}, connections));
  check(registry.AddCallbackGauge("meridian_upstream_connections",
                                  "Upstream connections per backend: idle in the pools, or open in all.",
                                  {"backend", "state"}, pool));
  check(registry.AddCallbackGauge("meridian_upstream_exchanges",
                                  "Upstream requests sent since start, on a new or a reused pooled connection.",
                                  {"backend", "connection"}, exchanges));
  check(registry.AddCallbackGauge("meridian_backend_healthy", "1 if the backend is in rotation.", {"backend"},
                                  healthy));
  // The router's view of each backend × model it has routed to (route/stats.hpp).
  auto breaker = [this](telemetry::Emit emit) {
    const auto now = Clock::now();
    stats_.ForEach([&](std::string_view backend, std::string_view model, route::LiveStats& stats) {
      const route::StatsView view = stats.View(now);
      emit({backend, model, route::BreakerStateName(view.breaker)}, 1.0);
    });
  };
  auto routed = [this](telemetry::Emit emit) {
    const auto now = Clock::now();
    stats_.ForEach([&](std::string_view backend, std::string_view model, route::LiveStats& stats) {
      const route::StatsView view = stats.View(now);
      std::string_view b = backend, m = model;
      emit({b, m, "in_flight"}, static_cast<double>(view.in_flight));
      emit({b, m, "latency_ewma_seconds"}, view.latency_ms / 1000.0);
      emit({b, m, "ttft_ewma_seconds"}, view.ttft_ms / 1000.0);
      emit({b, m, "error_rate_ewma"}, view.error_rate);
    });
  };
  check(registry.AddCallbackGauge("meridian_breaker_state",
                                  "Circuit breaker of each backend × model the router has used: 1 for its current state.",
                                  {"backend", "model", "state"}, breaker));
  check(registry.AddCallbackGauge("meridian_route_stats", "The router's live statistics per backend × model.",
                                  {"backend", "model", "stat"}, routed));
}

net::Response Gateway::MakeResponse(RequestContext& ctx, http::status status, std::string body,
                                    std::string_view content_type) const {
  net::Response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.set("x-request-id", ctx.request_id);
  res.body() = std::move(body);
  return res;
}

asio::awaitable<void> Gateway::Reply(net::Responder& out, RequestContext& ctx, net::Response response) {
  ctx.status = response.result_int();
  if (StrictRecordPending(ctx)) {
    // Strict durability: the response goes out only once its record is committed.
    bool committed = co_await CommitRecords(ctx);
    if (!committed) {
      core::Error error = core::Fail(ErrorCode::kUnavailable,
                                     "The gateway could not record this request in its usage ledger; try again later.")
                              .error();
      ctx.error_code = core::CodeName(error.code);
      response = MakeResponse(ctx, StatusFor(error), OpenAiErrorBody(error));
      response.set(http::field::retry_after, "1");
      ctx.status = response.result_int();
    }
  }
  co_await out.Send(std::move(response));
}

asio::awaitable<void> Gateway::ReplyError(net::Responder& out, RequestContext& ctx, const core::Error& error) {
  ctx.error_code = core::CodeName(error.code);
  core::Error shown = error;
  if (error.code == ErrorCode::kMethodNotAllowed) shown.param.clear();  // the Allow header carries it
  ErrorReply reply = RenderError(ctx.dialect, shown);
  auto res = MakeResponse(ctx, static_cast<http::status>(reply.status), std::move(reply.body));
  for (auto& [name, value] : reply.headers) res.set(name, value);
  if (error.code == ErrorCode::kUnauthorized) res.set(http::field::www_authenticate, "Bearer");
  // A spent budget does not come back by retrying soon: the OpenAI and Anthropic SDKs honour this.
  if (error.code == ErrorCode::kQuotaExceeded) res.set("x-should-retry", "false");
  if (error.code == ErrorCode::kMethodNotAllowed && !error.param.empty()) res.set(http::field::allow, error.param);
  if (ctx.backend && ctx.attempts > 0) {
    // An error after an upstream attempt says which backend it concerns and what the policy
    // stage replaced, like a relayed one.
    AddMeridianHeaders(res, ctx);
  }
  co_await Reply(out, ctx, std::move(res));
}

net::Response Gateway::RenderServerError(http::status status, std::string_view message) const {
  core::Error error;
  switch (status) {
    case http::status::payload_too_large: error.code = ErrorCode::kPayloadTooLarge; break;
    case http::status::request_timeout: error.code = ErrorCode::kRequestTimeout; break;
    case http::status::internal_server_error: error.code = ErrorCode::kInternal; break;
    default: error.code = ErrorCode::kInvalidRequest; break;
  }
  error.message = std::string(message);
  net::Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set("x-request-id", core::NewRequestId());
  res.body() = OpenAiErrorBody(error);
  return res;
}

asio::awaitable<void> Gateway::Handle(net::Request& request, net::Responder& out) {
  RequestContext ctx;
  ctx.start = Clock::now();
  ctx.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ctx.snapshot = snapshot();
  ctx.request = &request;
  auto client_id = request["x-request-id"];
  ctx.request_id = core::IsAcceptableClientRequestId(client_id) ? std::string(client_id) : core::NewRequestId();
  co_await Dispatch(request, out, ctx);
  if (ctx.status == 0) ctx.status = out.peer_gone() ? 499 : 500;
  SettleLimits(ctx);
  Record(ctx);
}

asio::awaitable<void> Gateway::HandleAdmin(net::Request& request, net::Responder& out) {
  RequestContext ctx;
  ctx.start = Clock::now();
  ctx.snapshot = snapshot();
  ctx.request = &request;
  ctx.request_id = core::NewRequestId();
  ctx.route = "admin";
  co_await DispatchAdmin(request, out, ctx);
  if (ctx.status == 0) ctx.status = out.peer_gone() ? 499 : 500;
  Record(ctx);
}

asio::awaitable<void> Gateway::DispatchAdmin(net::Request& request, net::Responder& out, RequestContext& ctx) {
  std::string_view path = PathOf(request.target());
  std::string_view auth = request[http::field::authorization];
  std::optional<std::string_view> bearer = BearerToken(auth);
  if (!bearer || !ctx.snapshot->AdminKeyAccepted(*bearer)) {
    co_await ReplyError(out, ctx,
                        core::Fail(ErrorCode::kUnauthorized, "An admin key is required: 'Authorization: Bearer <admin key>'.")
                            .error());
    co_return;
  }
  if (store_.tenancy && tenancy::IsTenancyAdminPath(path)) {
    // Who made a change, for the audit chain: the admin key's prefix, never the key.
    std::string actor = "admin:" + std::string(bearer->substr(0, std::min<std::size_t>(8, bearer->size() / 2)));
    co_await AdminTenancy(request, out, ctx, actor);
    co_return;
  }
  if (path == "/admin/usage") {
    ctx.route = "admin_usage";
    if (request.method() != http::verb::get) {
      co_await ReplyError(out, ctx,
                          core::Fail(ErrorCode::kMethodNotAllowed,
                                     fmt::format("{} is not allowed on {}; use GET", request.method_string(), path), "GET")
                              .error());
      co_return;
    }
    co_await AdminUsage(request, out, ctx);
    co_return;
  }
  if (path != "/admin/explain") {
    co_await ReplyError(out, ctx, core::Fail(ErrorCode::kNotFound, fmt::format("no admin route for {}", path)).error());
    co_return;
  }
  ctx.route = "admin_explain";
  if (request.method() != http::verb::post) {
    co_await ReplyError(out, ctx,
                        core::Fail(ErrorCode::kMethodNotAllowed,
                                   fmt::format("{} is not allowed on {}; use POST", request.method_string(), path), "POST")
                            .error());
    co_return;
  }
  // The body is the request to explain, exactly as a client would send it.
  auto parsed = ParseModelRequest(request);
  if (!parsed) {
    co_await ReplyError(out, ctx, parsed.error());
    co_return;
  }
  auto route = ctx.snapshot->Resolve(parsed->model);
  if (!route) {
    co_await ReplyError(out, ctx, route.error());
    co_return;
  }
  // Whose policy applies: the client key named in x-meridian-client-key, or no key at all
  // (no tenant, team or key-declared classes) when the header is absent.
  std::string_view client_key = request["x-meridian-client-key"];
  const Caller* caller =
      client_key.empty() ? &ctx.snapshot->anonymous_caller() : ctx.snapshot->FindCaller(client_key);
  if (!caller) {
    co_await ReplyError(out, ctx,
                        Invalid("header x-meridian-client-key: not one of the configured client keys",
                                "x-meridian-client-key"));
    co_return;
  }
  auto declared = ParseDeclared(request[kDataClassesHeader], request[kDataJurisdictionHeader]);
  if (!declared) {
    co_await ReplyError(out, ctx, declared.error());
    co_return;
  }
  PolicyDecision decision = DecidePolicy(*ctx.snapshot, *caller, *declared, parsed->body, route->facts);
  co_await Reply(out, ctx,
                 MakeResponse(ctx, http::status::ok, json::serialize(ExplainJson(decision, parsed->model, route->facts))));
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a query-string component ('+' is a space). nullopt if an escape is malformed.
std::optional<std::string> DecodeQueryComponent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A request parameter for an error message: printable ASCII, at most 40 characters.
std::string Shown(std::string_view text) {
  std::string s(text.substr(0, 40));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return text.size() > 40 ? s + "..." : s;
}

struct UsageRequest {
  store::UsageQuery query;
  bool csv = false;
};

// GET /admin/usage's query string: tenant, key_prefix, model, from, to, by, records, limit,
// format (docs/store.md). Failure: kInvalidRequest naming the parameter.
core::Result<UsageRequest> ParseUsageRequest(std::string_view target) {
  UsageRequest out;
  out.query.limit = 1000;
  auto q = target.find('?');
  std::string_view rest = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::vector<std::string> seen;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto name = DecodeQueryComponent(pair.substr(0, eq));
    auto value = DecodeQueryComponent(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return core::Fail(ErrorCode::kInvalidRequest, "query string: malformed percent escape");
    if (std::find(seen.begin(), seen.end(), *name) != seen.end()) {
      return core::Fail(ErrorCode::kInvalidRequest, fmt::format("{}: given more than once", Shown(*name)), *name);
    }
    seen.push_back(*name);
    auto& query = out.query;
    if (*name == "tenant") {
      query.tenant = *value;
    } else if (*name == "key_prefix" || *name == "key") {
      query.key_prefix = *value;
    } else if (*name == "model") {
      query.model = *value;
    } else if (*name == "from") {
      query.from = *value;
    } else if (*name == "to") {
      query.to = *value;
    } else if (*name == "by") {
      auto keys = store::ParseGroupKeys(*value);
      if (!keys) return std::unexpected(keys.error());
      query.group_by = std::move(*keys);
    } else if (*name == "records") {
      if (*value != "true" && *value != "false" && *value != "1" && *value != "0") {
        return core::Fail(ErrorCode::kInvalidRequest, "records: expected true or false", "records");
      }
      query.records = *value == "true" || *value == "1";
    } else if (*name == "limit") {
      std::size_t n = 0;
      bool ok = !value->empty() && value->size() <= 7;
      for (char c : *value) ok = ok && c >= '0' && c <= '9';
      if (ok) n = std::stoul(*value);
      if (!ok || n < 1 || n > 1'000'000) {
        return core::Fail(ErrorCode::kInvalidRequest, "limit: expected an integer from 1 to 1000000", "limit");
      }
      query.limit = n;
    } else if (*name == "format") {
      if (*value != "json" && *value != "csv") {
        return core::Fail(ErrorCode::kInvalidRequest, "format: expected json or csv", "format");
      }
      out.csv = *value == "csv";
    } else {
      return core::Fail(ErrorCode::kInvalidRequest,
                        fmt::format("unknown parameter '{}' (known: tenant, key_prefix, model, from, to, by, records, "
                                    "limit, format)",
                                    Shown(*name)),
                        *name);
    }
  }
  if (auto ok = store::ValidateQuery(out.query); !ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace

asio::awaitable<void> Gateway::AdminUsage(net::Request& request, net::Responder& out, RequestContext& ctx) {
  if (!store_.usage) {
    co_await ReplyError(out, ctx, core::Fail(ErrorCode::kNotFound, "this gateway keeps no usage ledger").error());
    co_return;
  }
  auto parsed = ParseUsageRequest(request.target());
  if (!parsed) {
    co_await ReplyError(out, ctx, parsed.error());
    co_return;
  }
  // A read-only snapshot of the ledger, on the admin listener's own thread.
  auto result = store_.usage->Query(parsed->query);
  if (!result) {
    co_await ReplyError(out, ctx, result.error());
    co_return;
  }
  if (parsed->csv) {
    co_await Reply(out, ctx, MakeResponse(ctx, http::status::ok, store::ToCsv(*result), "text/csv; charset=utf-8"));
  } else {
    co_await Reply(out, ctx, MakeResponse(ctx, http::status::ok, store::ToJson(*result)));
  }
}

asio::awaitable<void> Gateway::Dispatch(net::Request& request, net::Responder& out, RequestContext& ctx) {
  std::string_view path = PathOf(request.target());
  auto method = request.method();

  // The allowed method travels in `param` to ReplyError, which turns it into the Allow header.
  auto wrong_method = [&](std::string_view allowed) {
    return core::Fail(ErrorCode::kMethodNotAllowed,
                      fmt::format("{} is not allowed on {}; use {}", request.method_string(), path, allowed),
                      std::string(allowed))
        .error();
  };

  if (path == "/healthz") {
    ctx.route = "healthz";
    co_await Reply(out, ctx, MakeResponse(ctx, http::status::ok, "ok\n", "text/plain"));
    co_return;
  }
  if (path == "/readyz") {
    ctx.route = "readyz";
    bool ready = false;
    std::string body = ReadyBody(ready);
    co_await Reply(out, ctx,
                   MakeResponse(ctx, ready ? http::status::ok : http::status::service_unavailable, std::move(body)));
    co_return;
  }
  if (path == "/metrics") {
    ctx.route = "metrics";
    co_await Reply(out, ctx,
                   MakeResponse(ctx, http::status::ok, registry_.RenderPrometheus(),
                                "text/plain; version=0.0.4; charset=utf-8"));
    co_return;
  }
  std::optional<ApiRoute> api = MatchApiRoute(request.target());
  if (!api) {
    co_await ReplyError(out, ctx, core::Fail(ErrorCode::kNotFound, fmt::format("no route for {}", path)).error());
    co_return;
  }
  ctx.route = api->metric_route;
  ctx.dialect = api->dialect;
  ctx.api = api->api;
  // Every API request, rejected ones included, gets a usage and a decision record.
  ctx.ledger = store_.sink != nullptr;
  if (ctx.ledger && store_.sink->durability() == store::Durability::kStrict &&
      store_.sink->health() != store::SinkHealth::kOk) {
    // Strict: a request whose record may not be kept is refused before it costs anything.
    co_await ReplyError(out, ctx,
                        core::Fail(ErrorCode::kUnavailable,
                                   "The gateway cannot record requests in its usage ledger right now; try again later.")
                            .error());
    co_return;
  }
  // Every API request needs a key when keys are configured (auth.keys, or virtual keys in the
  // tenancy store); a rejected request never reaches an upstream. Each SDK sends it its own way
  // (ingress.hpp, ClientKey). A virtual key ("mk-...") is looked up in the store on every
  // request, so a revocation takes effect on the next one.
  const std::optional<std::string_view> presented = ClientKey(request);
  if (store_.keys && presented && tenancy::LooksLikeKey(*presented)) {
    tenancy::AuthResult auth = store_.keys->Authenticate(*presented);
    if (!auth) {
      ErrorCode code = auth.status == tenancy::AuthStatus::kUnavailable ? ErrorCode::kUnavailable : ErrorCode::kUnauthorized;
      co_await ReplyError(out, ctx, core::Fail(code, std::string(tenancy::ClientMessage(auth.status))).error());
      co_return;
    }
    ctx.virtual_key = std::move(auth.key);
    ctx.virtual_caller.tenant = ctx.virtual_key->tenant;
    ctx.virtual_caller.team = ctx.virtual_key->team;
    ctx.virtual_caller.key_prefix = ctx.virtual_key->key_id;
    ctx.virtual_caller.declared_mask = ctx.virtual_key->declared_mask;
    ctx.caller = &ctx.virtual_caller;
    SyncLimits();
  } else if (ctx.snapshot->auth_enabled() || VirtualKeysExist()) {
    const std::optional<std::string_view>& key = presented;
    if (!key) {
      co_await ReplyError(out, ctx,
                          core::Fail(ErrorCode::kUnauthorized, std::string(MissingKeyMessage(ctx.dialect))).error());
      co_return;
    }
    ctx.caller = ctx.snapshot->FindCaller(*key);
    if (ctx.caller == nullptr) {
      co_await ReplyError(out, ctx, core::Fail(ErrorCode::kUnauthorized, "Incorrect API key provided.").error());
      co_return;
    }
  } else {
    ctx.caller = ctx.snapshot->FindCaller({});
  }

  if (api->api == Api::kModels) {
    if (method != http::verb::get) {
      co_await ReplyError(out, ctx, wrong_method("GET"));
    } else if (path == "/v1/models") {
      co_await ListModels(out, ctx);
    } else {
      co_await GetModel(path.substr(std::string_view("/v1/models/").size()), out, ctx);
    }
    co_return;
  }
  if (method != http::verb::post) {
    co_await ReplyError(out, ctx, wrong_method("POST"));
    co_return;
  }
  switch (api->api) {
    case Api::kChatCompletions: co_await ChatCompletions(request, out, ctx); break;
    case Api::kEmbeddings: co_await Embeddings(request, out, ctx); break;
    case Api::kMessagesCountTokens:
    case Api::kGeminiCountTokens: co_await CountTokens(request, out, ctx, *api); break;
    default: co_await ModelCall(request, out, ctx, *api); break;
  }
}

// ---------------------------------------------------------------------------------------------
// Chat completions and embeddings: validate what the gateway itself needs, leave the rest to
// the backend (which validates the full schema and answers in the same error format).


asio::awaitable<void> Gateway::ChatCompletions(net::Request& request, net::Responder& out, RequestContext& ctx) {
  auto parsed = ParseModelRequest(request);
  if (!parsed) {
    co_await ReplyError(out, ctx, parsed.error());
    co_return;
  }
  json::object& body = parsed->body;
  const json::value* messages = body.if_contains("messages");
  if (!messages || !messages->is_array() || messages->as_array().empty()) {
    co_await ReplyError(out, ctx, Invalid("'messages' is required and must be a non-empty array", "messages"));
    co_return;
  }
  bool stream = false;
  if (const json::value* s = body.if_contains("stream"); s && !s->is_null()) {
    if (!s->is_bool()) {
      co_await ReplyError(out, ctx, Invalid("'stream' must be a boolean", "stream"));
      co_return;
    }
    stream = s->as_bool();
  }
  bool wants_usage = false;
  if (const json::value* so = body.if_contains("stream_options"); so && !so->is_null()) {
    if (!so->is_object()) {
      co_await ReplyError(out, ctx, Invalid("'stream_options' must be an object", "stream_options"));
      co_return;
    }
    if (const json::value* iu = so->as_object().if_contains("include_usage"); iu && !iu->is_null()) {
      if (!iu->is_bool()) {
        co_await ReplyError(out, ctx,
                            Invalid("'stream_options.include_usage' must be a boolean", "stream_options.include_usage"));
        co_return;
      }
      wants_usage = iu->as_bool();
    }
  }
  ctx.model = std::move(parsed->model);
  ctx.stream = stream;
  auto route = ResolveModel(ctx, body);
  if (!route) {
    co_await ReplyError(out, ctx, route.error());
    co_return;
  }
  ctx.upstream_model = route->upstream_model;
  ctx.routing = route->routing;
  ctx.affinity_ring = route->ring;
  ctx.model_backends = route->backends;
  bool body_changed = false;
  auto eligible = co_await ApplyPolicy(request, out, ctx, *route, body, body_changed);
  if (!eligible) co_return;
  // The body goes upstream as the client sent it unless the gateway must change it: an alias
  // resolved to another model id, a stream whose usage the gateway asks for so that every
  // stream can be metered (the usage chunk is dropped again on the way out if the client did
  // not ask for it), or a backend that speaks another dialect (egress.hpp).
  RequestTranslator translator({.client = ctx.dialect,
                                .api = ctx.api,
                                .body = &body,
                                .raw = std::move(request.body()),
                                .body_changed = body_changed,
                                .upstream_model = route->upstream_model,
                                .client_model = ctx.model,
                                .stream = stream,
                                .client_wants_usage = wants_usage,
                                .reasoning = &reasoning_,
                                .scope = ReasoningScope(ctx)});
  co_await Forward(out, ctx, *eligible, translator, stream, wants_usage);
}

asio::awaitable<void> Gateway::Embeddings(net::Request& request, net::Responder& out, RequestContext& ctx) {
  auto parsed = ParseModelRequest(request);
  if (!parsed) {
    co_await ReplyError(out, ctx, parsed.error());
    co_return;
  }
  json::object& body = parsed->body;
  const json::value* input = body.if_contains("input");
  if (!input || !(input->is_string() || input->is_array())) {
    co_await ReplyError(out, ctx, Invalid("'input' is required and must be a string or an array", "input"));
    co_return;
  }
  ctx.model = std::move(parsed->model);
  auto route = ctx.snapshot->Resolve(ctx.model);
  if (!route) {
    co_await ReplyError(out, ctx, route.error());
    co_return;
  }
  ctx.upstream_model = route->upstream_model;
  ctx.routing = route->routing;
  ctx.affinity_ring = route->ring;
  ctx.model_backends = route->backends;
  bool body_changed = false;
  auto eligible = co_await ApplyPolicy(request, out, ctx, *route, body, body_changed);
  if (!eligible) co_return;
  RequestTranslator translator({.client = ctx.dialect,
                                .api = ctx.api,
                                .body = &body,
                                .raw = std::move(request.body()),
                                .body_changed = body_changed,
                                .upstream_model = route->upstream_model,
                                .client_model = ctx.model});
  co_await Forward(out, ctx, *eligible, translator, false, false);
}

asio::awaitable<std::optional<std::vector<Backend*>>> Gateway::ApplyPolicy(net::Request& request, net::Responder& out,
                                                                           RequestContext& ctx, const ModelRoute& route,
                                                                           json::object& body, bool& body_changed) {
  auto declared = ParseDeclared(request[kDataClassesHeader], request[kDataJurisdictionHeader]);
  if (!declared) {
    co_await ReplyError(out, ctx, declared.error());
    co_return std::nullopt;
  }
  PolicyDecision decision = DecidePolicy(*ctx.snapshot, *ctx.caller, *declared, body, route.facts);
  // For the audit record: counts, rule names and backend ids (the decision keeps no values).
  auto summarize = [&ctx](PolicyDecision& d) {
    PolicySummary& p = ctx.policy.emplace();
    p.class_counts = d.facts.class_counts;
    p.rules_fired = std::move(d.eligibility.applied_rules);
    p.eligible = std::move(d.eligibility.allowed);
    p.excluded = std::move(d.eligibility.excluded);
  };
  if (!decision.allowed()) {
    // Never a quiet fallback: the client learns which rules stopped the request.
    ctx.error_code = policy::OutcomeCode(decision.eligibility.outcome);
    auto denial = MakeResponse(ctx, http::status::forbidden,
                               RenderOpenAiErrorBodyAs(ctx.dialect, DenialBody(decision), 403));
    summarize(decision);
    co_await Reply(out, ctx, std::move(denial));
    co_return std::nullopt;
  }
  body_changed = false;
  if (decision.must_transform()) {
    // The eligible set was computed for the request without these values: they must not leave.
    auto pseudonyms = std::make_unique<redact::Pseudonymizer>(ctx.snapshot->pseudonym_key());
    body_changed = ApplyObligations(decision, *pseudonyms) > 0;
    ctx.redacted = pseudonyms->redacted_count();
    ctx.pseudonymized = pseudonyms->pseudonymized_count();
    if (pseudonyms->has_placeholders()) ctx.pseudonyms = std::move(pseudonyms);
  }
  auto eligible = EligibleBackends(decision, *route.backends);
  summarize(decision);
  // The key's own restrictions narrow the set further; then its limits are reserved.
  std::optional<core::Error> refused = ApplyKeyRestrictions(ctx, eligible);
  if (!refused) refused = ReserveLimits(ctx, eligible, body);
  if (refused) {
    co_await ReplyError(out, ctx, *refused);
    co_return std::nullopt;
  }
  co_return eligible;
}

// ---------------------------------------------------------------------------------------------
// Models

namespace {

std::string_view OwnedBy(const Backend* backend) {
  if (!backend) return "meridian";
  const auto& c = backend->config();
  if (c.provider == "simulator") return "meridian-simulator";
  return c.vendor.empty() ? std::string_view(c.provider) : std::string_view(c.vendor);
}

json::object ModelObject(std::string_view id, std::string_view owned_by, std::int64_t created) {
  json::object m;
  m["id"] = id;
  m["object"] = "model";
  m["created"] = created;
  m["owned_by"] = owned_by;
  return m;
}

}  // namespace

asio::awaitable<void> Gateway::ListModels(net::Responder& out, RequestContext& ctx) {
  const Snapshot& snap = *ctx.snapshot;
  json::array data;
  for (const auto& id : snap.model_ids()) {
    data.push_back(ModelObject(id, OwnedBy(snap.FirstBackendFor(id)), started_unix_));
  }
  for (const auto& alias : snap.alias_names()) {
    auto route = snap.Resolve(alias);
    auto m = ModelObject(alias, OwnedBy(snap.FirstBackendFor(route->upstream_model)), started_unix_);
    m["meridian_alias_for"] = route->upstream_model;
    data.push_back(std::move(m));
  }
  json::object list;
  list["object"] = "list";
  list["data"] = std::move(data);
  co_await Reply(out, ctx, MakeResponse(ctx, http::status::ok, json::serialize(list)));
}

asio::awaitable<void> Gateway::GetModel(std::string_view id, net::Responder& out, RequestContext& ctx) {
  auto route = ctx.snapshot->Resolve(id);
  if (!route) {
    co_await ReplyError(out, ctx, route.error());
    co_return;
  }
  auto m = ModelObject(id, OwnedBy(ctx.snapshot->FirstBackendFor(route->upstream_model)), started_unix_);
  if (route->upstream_model != id) m["meridian_alias_for"] = route->upstream_model;
  co_await Reply(out, ctx, MakeResponse(ctx, http::status::ok, json::serialize(m)));
}

// ---------------------------------------------------------------------------------------------
// Readiness, metrics, access log

std::string Gateway::ReadyBody(bool& ready) const {
  auto snap = snapshot();
  std::size_t healthy = 0;
  for (const auto& b : snap->backends()) healthy += b->healthy() ? 1 : 0;
  bool draining = server_ && server_->draining();
  // A store that drops or cannot commit records makes the instance unready: a load balancer
  // then sends the traffic to an instance that keeps its ledger and audit log complete.
  auto store_health = store_.sink ? store_.sink->health() : store::SinkHealth::kOk;
  bool store_ok = store_health == store::SinkHealth::kOk;
  ready = !draining && healthy > 0 && store_ok;
  json::object o;
  o["status"] = draining                 ? "draining"
                : healthy == 0           ? "no_healthy_backend"
                : !store_ok              ? "store_unavailable"
                                         : "ready";
  o["healthy_backends"] = healthy;
  o["backends"] = snap->backends().size();
  if (store_.sink) o["store"] = store::SinkHealthName(store_health);
  return json::serialize(o);
}

std::string ReasoningScope(const RequestContext& ctx) {
  if (!ctx.caller) return {};
  return ctx.caller->tenant + "/" + ctx.caller->key_prefix;
}

std::optional<std::int64_t> RequestCost(const RequestContext& ctx) {
  if (!ctx.backend || ctx.prompt_tokens < 0 || ctx.completion_tokens < 0) return std::nullopt;
  const catalog::Entry* price = ctx.backend->price(ctx.upstream_model);
  if (!price) return std::nullopt;
  catalog::Usage usage;
  usage.input_tokens = ctx.prompt_tokens;
  usage.output_tokens = ctx.completion_tokens;
  usage.cache_read_tokens = std::max<std::int64_t>(ctx.cached_tokens, 0);
  usage.cache_write_tokens = std::max<std::int64_t>(ctx.cache_write_tokens, 0);
  usage.reasoning_tokens = std::max<std::int64_t>(ctx.reasoning_tokens, 0);
  return catalog::Cost(*price, usage);
}

void Gateway::Record(const RequestContext& ctx) {
  auto& m = metrics_;
  std::string_view backend = ctx.backend ? std::string_view(ctx.backend->id()) : std::string_view("none");
  char status[8];
  auto n = fmt::format_to_n(status, sizeof status, "{}", ctx.status).size;
  m.requests->With({ctx.route, std::string_view(status, n), backend}).Inc();
  double seconds = std::chrono::duration<double>(Clock::now() - ctx.start).count();
  m.duration->With({ctx.route}).Observe(seconds);
  if (ctx.backend) {
    if (ctx.prompt_tokens > 0) m.tokens->With({backend, "prompt"}).Inc(static_cast<std::uint64_t>(ctx.prompt_tokens));
    if (ctx.completion_tokens > 0) {
      m.tokens->With({backend, "completion"}).Inc(static_cast<std::uint64_t>(ctx.completion_tokens));
    }
    if (auto cost = RequestCost(ctx); cost && *cost > 0) m.cost->With({backend}).Inc(static_cast<std::uint64_t>(*cost));
  }
  if (access_log_ && ctx.snapshot->config().server.request_log) {
    // Only request metadata: never keys, bodies or message content. Every string here is a
    // constant or validated identifier except the client's model name, which is escaped.
    std::string& line = access_log_->Buffer();
    auto out = std::back_inserter(line);
    fmt::format_to(out, FMT_COMPILE(R"({{"request_id":"{}","route":"{}","status":{},"duration_ms":{:.3f})"),
                   ctx.request_id, ctx.route, ctx.status, seconds * 1e3);
    if (!ctx.model.empty()) {
      line.append(R"(,"model":)");
      AppendJsonString(line, ctx.model);
    }
    if (ctx.backend) fmt::format_to(out, FMT_COMPILE(R"(,"backend":"{}")"), backend);
    if (ctx.attempts) fmt::format_to(out, FMT_COMPILE(R"(,"attempts":{})"), ctx.attempts);
    if (ctx.stream) line.append(R"(,"stream":true)");
    if (!ctx.error_code.empty()) fmt::format_to(out, FMT_COMPILE(R"(,"error":"{}")"), ctx.error_code);
    if (ctx.prompt_tokens >= 0) fmt::format_to(out, FMT_COMPILE(R"(,"prompt_tokens":{})"), ctx.prompt_tokens);
    if (ctx.completion_tokens >= 0) {
      fmt::format_to(out, FMT_COMPILE(R"(,"completion_tokens":{})"), ctx.completion_tokens);
    }
    line.append("}\n");
    access_log_->Commit();
  }
  // Batched durability (and strict requests that never reached a final write, e.g. a client
  // that left): the records go to the writer's queue now, off the response path.
  if (ctx.ledger && !ctx.records_submitted && store_.sink) store_.sink->Submit(BuildRecords(ctx));
}

std::unique_ptr<store::PendingRecord> Gateway::BuildRecords(const RequestContext& ctx) const {
  const auto now = Clock::now();
  auto opt = [](std::int64_t v) { return v >= 0 ? std::optional<std::int64_t>(v) : std::nullopt; };
  auto pending = std::make_unique<store::PendingRecord>();
  store::UsageRecord& u = pending->usage.emplace();
  u.time_ms = ctx.start_unix_ms;
  u.request_id = ctx.request_id;
  if (ctx.caller) {
    u.tenant = ctx.caller->tenant;
    u.team = ctx.caller->team;
    u.key_prefix = ctx.caller->key_prefix;
  }
  u.route = std::string(ctx.route);
  if (!ctx.upstream_model.empty()) {
    u.model = std::string(ctx.upstream_model);
    if (ctx.upstream_model != ctx.model) u.alias = ctx.model;
  } else {
    u.model = ctx.model;
  }
  if (ctx.backend) u.backend = ctx.backend->id();
  u.input_tokens = opt(ctx.prompt_tokens);
  u.output_tokens = opt(ctx.completion_tokens);
  u.cached_tokens = opt(ctx.cached_tokens);
  u.reasoning_tokens = opt(ctx.reasoning_tokens);
  u.cost_micro_usd = RequestCost(ctx);
  u.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(now - ctx.start).count();
  u.status = ctx.status;
  u.error = std::string(ctx.error_code);
  u.stream = ctx.stream;
  u.attempts = ctx.attempts;
  if (!store_.audit) return pending;

  audit::DecisionRecord& d = pending->decision.emplace();
  d.request_id = u.request_id;
  d.tenant = u.tenant;
  d.key_prefix = u.key_prefix;
  if (ctx.policy) {
    for (int c = 0; c < core::kDataClassCount; ++c) {
      int n = ctx.policy->class_counts[static_cast<std::size_t>(c)];
      if (n > 0) d.data_classes[static_cast<core::DataClass>(c)] = static_cast<std::uint64_t>(n);
    }
    d.rules_fired = ctx.policy->rules_fired;
    d.eligible = ctx.policy->eligible;
    for (const auto& x : ctx.policy->excluded) d.excluded.push_back({x.backend, x.rule + ": " + x.reason});
  }
  for (const auto& skipped : ctx.skipped) d.excluded.push_back({skipped.backend->id(), std::string(skipped.reason)});
  if (ctx.backend) {
    d.chosen_backend = ctx.backend->id();
    d.chosen_jurisdiction = ctx.backend->facts().inference_jurisdiction;
  }
  for (std::size_t i = 0; i < ctx.attempt_log.size(); ++i) {
    const AttemptInfo& a = ctx.attempt_log[i];
    const bool running = a.end == Clock::time_point{};
    std::string_view error = running && a.error.empty() ? ctx.error_code : a.error;
    d.attempts.push_back({a.backend->id(), a.status, std::string(error),
                          std::chrono::duration_cast<std::chrono::milliseconds>((running ? now : a.end) - a.start)
                              .count()});
  }
  d.status = u.status;
  d.cost_micro_usd = u.cost_micro_usd;
  return pending;
}

namespace {

// Resumes a handler suspended in CommitRecords once the writer has committed (or failed).
// Done runs on the writer's thread and only posts; everything else happens on the handler's
// worker thread, so `timer` needs no lock: the handler clears it before its frame goes away.
class CommitSignal final : public store::CommitWaiter, public std::enable_shared_from_this<CommitSignal> {
 public:
  explicit CommitSignal(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  void Done(bool committed) override {
    asio::post(executor_, [self = shared_from_this(), committed] {
      self->done = true;
      self->committed = committed;
      if (self->timer) self->timer->cancel();
    });
  }

  bool done = false;
  bool committed = false;
  asio::steady_timer* timer = nullptr;

 private:
  asio::any_io_executor executor_;
};

}  // namespace

asio::awaitable<bool> Gateway::CommitRecords(RequestContext& ctx) {
  ctx.records_submitted = true;
  auto record = BuildRecords(ctx);
  auto executor = co_await asio::this_coro::executor;
  auto signal = std::make_shared<CommitSignal>(executor);
  asio::steady_timer timer(executor, asio::steady_timer::time_point::max());
  signal->timer = &timer;
  struct Detach {
    CommitSignal& s;
    ~Detach() { s.timer = nullptr; }
  } detach{*signal};
  record->waiter = signal;
  bool queued = store_.sink->Submit(std::move(record));
  if (!queued) co_return false;
  while (!signal->done) {
    auto [ec] = co_await timer.async_wait(kNoThrow);
    (void)ec;  // cancelled by the signal, or never expires
  }
  co_return signal->committed;
}

asio::awaitable<bool> Gateway::CommitBeforeEnd(net::Responder& out, RequestContext& ctx) {
  if (!StrictRecordPending(ctx)) co_return true;
  bool committed = co_await CommitRecords(ctx);
  if (committed) co_return true;
  ctx.error_code = core::CodeName(ErrorCode::kUnavailable);
  out.Reset();
  co_return false;
}

// ---------------------------------------------------------------------------------------------
// Background tasks

namespace {

asio::awaitable<void> HealthLoop(Backend* backend, std::shared_ptr<const net::Upstream> probe) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto& hc = backend->config().health_check;
  for (;;) {
    net::UpstreamRequest req;
    req.method = http::verb::get;
    req.path = hc.path;
    if (!backend->config().api_key.empty()) {
      req.headers.set(http::field::authorization, "Bearer " + backend->config().api_key);
    }
    auto exchange = co_await net::Exchange::Start(probe, std::move(req));
    bool passing = false;
    if (exchange) {
      auto body = co_await (*exchange)->ReadAll(1 << 20);
      passing = body && (*exchange)->status() >= 200 && (*exchange)->status() < 300;
    }
    backend->SetCheckPassing(passing);
    timer.expires_after(hc.interval);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return;
  }
}

// Per worker, once a second: write the buffered access-log lines; every fifth time, close
// pooled upstream connections past their idle timeout or lifetime.
asio::awaitable<void> HousekeepingLoop(asio::io_context& context, telemetry::AccessLog* access_log) {
  asio::steady_timer timer(context);
  for (unsigned tick = 1;; ++tick) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return;
    if (access_log) access_log->FlushThisThread();
    if (tick % 5 == 0) net::SweepIdleConnections(context);
  }
}

// Every routing.outliers.interval (read again each time, so a reload applies): one sweep.
asio::awaitable<void> OutlierLoop(Gateway* gateway) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(gateway->snapshot()->config().routing.outliers.interval);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return;
    gateway->SweepOutliers();
  }
}

route::OutlierOptions ToOutlierOptions(const config::OutlierConfig& c) {
  route::OutlierOptions o;
  o.min_samples = c.min_samples;
  o.min_pool = c.min_pool;
  o.latency_factor = c.latency_factor;
  o.min_latency_gap_ms = static_cast<double>(c.min_latency_gap.count());
  o.error_rate_gap = c.error_rate_gap;
  o.max_ejected_fraction = c.max_ejected_fraction;
  o.base_ejection = c.base_ejection;
  o.max_ejection = c.max_ejection;
  return o;
}

}  // namespace

std::size_t Gateway::SweepOutliers() {
  auto snap = snapshot();
  const config::OutlierConfig& c = snap->config().routing.outliers;
  if (!c.enabled) return 0;
  const route::OutlierOptions options = ToOutlierOptions(c);
  const Clock::time_point now = Clock::now();
  std::size_t ejected = 0;
  for (const std::string& model : snap->model_ids()) {
    for (const std::string& backend : stats_.SweepOutliers(model, now, options)) {
      metrics_.ejections->With({backend, model}).Inc();
      spdlog::info("outlier sweep: backend '{}' ejected for model '{}'", backend, model);
      ++ejected;
    }
  }
  return ejected;
}

void Gateway::StartBackgroundTasks(asio::io_context& health_context,
                                   const std::vector<asio::io_context*>& worker_contexts) {
  auto snap = snapshot();
  for (const auto& b : snap->backends()) {
    const auto& hc = b->config().health_check;
    if (hc.path.empty()) continue;
    // The probe gets its own endpoint with the check's short deadlines and a one-connection pool.
    net::UpstreamOptions opts = b->upstream()->options();
    opts.connect_timeout = opts.first_byte_timeout = opts.between_chunks_timeout = opts.total_timeout = hc.timeout;
    opts.pool_max_idle = 1;
    auto probe = net::Upstream::Create(b->id(), b->upstream()->url(), std::move(opts));
    if (!probe) continue;  // same settings as the backend's own upstream, which was created
    asio::co_spawn(health_context, HealthLoop(b.get(), std::move(*probe)), asio::detached);
  }
  asio::co_spawn(health_context, OutlierLoop(this), asio::detached);
  for (auto* context : worker_contexts) {
    asio::co_spawn(*context, HousekeepingLoop(*context, access_log_), asio::detached);
  }
}

}  // namespace meridian::gateway
