#include "gateway/gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/compile.h>
#include <fmt/format.h>

#include "core/request_id.hpp"
#include "core/utf8.hpp"
#include "gateway/http_error.hpp"
#include "gateway/policy_stage.hpp"

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

bool IsJsonContentType(std::string_view value) {
  // "application/json" optionally followed by parameters such as "; charset=utf-8".
  auto semi = value.find(';');
  auto type = value.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return boost::beast::iequals(type, "application/json");
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

core::Result<json::object> ParseJsonObject(std::string_view body) {
  if (body.empty()) return core::Fail(ErrorCode::kInvalidRequest, "request body is empty; expected a JSON object");
  json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec, {}, opts);
  if (ec) {
    if (auto bad = core::FirstInvalidUtf8(body)) {
      return core::Fail(ErrorCode::kInvalidRequest,
                        fmt::format("request body is not valid UTF-8 (invalid byte sequence at offset {})", *bad));
    }
    return core::Fail(ErrorCode::kInvalidRequest, fmt::format("request body is not valid JSON: {}", ec.message()));
  }
  if (!value.is_object()) return core::Fail(ErrorCode::kInvalidRequest, "request body must be a JSON object");
  return std::move(value.as_object());
}

Gateway::Gateway(std::shared_ptr<const Snapshot> snapshot, telemetry::Registry& registry,
                 telemetry::AccessLog* access_log, GatewayOptions options)
    : snapshot_(std::move(snapshot)),
      registry_(registry),
      access_log_(access_log),
      options_(options),
      started_unix_(std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count()) {
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
  m.attempts = Registered(registry.AddCounter("meridian_upstream_attempts_total",
                                              "Upstream attempts by backend and outcome.",
                                              {"backend", "outcome"}));
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
  co_await out.Send(std::move(response));
}

asio::awaitable<void> Gateway::ReplyError(net::Responder& out, RequestContext& ctx, const core::Error& error) {
  ctx.error_code = core::CodeName(error.code);
  auto res = MakeResponse(ctx, StatusFor(error), OpenAiErrorBody(error));
  if (!error.retry_after.empty()) res.set(http::field::retry_after, error.retry_after);
  if (error.code == ErrorCode::kUnauthorized) res.set(http::field::www_authenticate, "Bearer");
  if (error.code == ErrorCode::kMethodNotAllowed && !error.param.empty()) {
    res.set(http::field::allow, error.param);
    res.body() = OpenAiErrorBody(core::Error{error.code, error.message, {}, 0, {}, false});
  }
  if (ctx.backend && ctx.attempts > 0) {
    // An error after an upstream attempt says which backend it concerns, like a relayed one.
    res.set("x-meridian-backend", ctx.backend->id());
    res.set("x-meridian-provider", ctx.backend->config().provider);
    res.set("x-meridian-attempts", std::to_string(ctx.attempts));
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
  ctx.snapshot = snapshot();
  ctx.request = &request;
  auto client_id = request["x-request-id"];
  ctx.request_id = core::IsAcceptableClientRequestId(client_id) ? std::string(client_id) : core::NewRequestId();
  co_await Dispatch(request, out, ctx);
  if (ctx.status == 0) ctx.status = out.peer_gone() ? 499 : 500;
  Record(ctx);
}

namespace {

// What every model-addressed API body shares: a JSON content type, a JSON object, and a
// non-empty "model" string of at most 256 characters (it is echoed in errors and logs).
struct ModelRequest {
  json::object body;
  std::string model;
};

core::Result<ModelRequest> ParseModelRequest(const net::Request& request) {
  if (!IsJsonContentType(request[http::field::content_type])) {
    return core::Fail(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json");
  }
  auto parsed = ParseJsonObject(request.body());
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::value* model = parsed->if_contains("model");
  if (!model || !model->is_string() || model->as_string().empty()) {
    return std::unexpected(Invalid("'model' is required and must be a non-empty string", "model"));
  }
  if (model->as_string().size() > 256) {
    return std::unexpected(Invalid("'model' is longer than 256 characters", "model"));
  }
  std::string name(model->as_string());
  return ModelRequest{std::move(*parsed), std::move(name)};
}

}  // namespace

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
  constexpr std::string_view kBearer = "Bearer ";
  bool has_bearer = auth.size() > kBearer.size() && boost::beast::iequals(auth.substr(0, kBearer.size()), kBearer);
  if (!has_bearer || !ctx.snapshot->AdminKeyAccepted(auth.substr(kBearer.size()))) {
    co_await ReplyError(out, ctx,
                        core::Fail(ErrorCode::kUnauthorized, "An admin key is required: 'Authorization: Bearer <admin key>'.")
                            .error());
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
  if (!path.starts_with("/v1/")) {
    co_await ReplyError(out, ctx, core::Fail(ErrorCode::kNotFound, fmt::format("no route for {}", path)).error());
    co_return;
  }

  if (path == "/v1/chat/completions") {
    ctx.route = "chat_completions";
  } else if (path == "/v1/embeddings") {
    ctx.route = "embeddings";
  } else if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    ctx.route = "models";
  }
  // Everything under /v1 needs a key when keys are configured; a rejected request never
  // reaches an upstream.
  if (ctx.snapshot->auth_enabled()) {
    std::string_view auth = request[http::field::authorization];
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || !boost::beast::iequals(auth.substr(0, kBearer.size()), kBearer)) {
      co_await ReplyError(out, ctx,
                          core::Fail(ErrorCode::kUnauthorized,
                                     "Missing API key: send it as 'Authorization: Bearer <key>'.")
                              .error());
      co_return;
    }
    ctx.caller = ctx.snapshot->FindCaller(auth.substr(kBearer.size()));
    if (ctx.caller == nullptr) {
      co_await ReplyError(out, ctx, core::Fail(ErrorCode::kUnauthorized, "Incorrect API key provided.").error());
      co_return;
    }
  } else {
    ctx.caller = ctx.snapshot->FindCaller({});
  }

  if (path == "/v1/chat/completions") {
    if (method != http::verb::post) {
      co_await ReplyError(out, ctx, wrong_method("POST"));
    } else {
      co_await ChatCompletions(request, out, ctx);
    }
  } else if (path == "/v1/embeddings") {
    if (method != http::verb::post) {
      co_await ReplyError(out, ctx, wrong_method("POST"));
    } else {
      co_await Embeddings(request, out, ctx);
    }
  } else if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    if (method != http::verb::get) {
      co_await ReplyError(out, ctx, wrong_method("GET"));
    } else if (path == "/v1/models") {
      co_await ListModels(out, ctx);
    } else {
      co_await GetModel(path.substr(std::string_view("/v1/models/").size()), out, ctx);
    }
  } else {
    co_await ReplyError(out, ctx, core::Fail(ErrorCode::kNotFound, fmt::format("no route for {}", path)).error());
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
  auto route = ctx.snapshot->Resolve(ctx.model);
  if (!route) {
    co_await ReplyError(out, ctx, route.error());
    co_return;
  }
  // The body goes upstream as the client sent it unless the gateway must change it: an alias
  // resolved to another model id, or a stream whose usage the gateway asks for so that every
  // stream can be metered (the usage chunk is dropped again on the way out if the client did
  // not ask for it).
  bool body_changed = false;
  auto eligible = co_await ApplyPolicy(request, out, ctx, *route, body, body_changed);
  if (!eligible) co_return;
  std::string upstream_body;
  if (body_changed || route->upstream_model != ctx.model || (stream && !wants_usage)) {
    body["model"] = route->upstream_model;
    if (stream) {
      json::value& so = body["stream_options"];
      if (!so.is_object()) so = json::object();
      so.as_object()["include_usage"] = true;
    }
    upstream_body = json::serialize(body);
  } else {
    upstream_body = std::move(request.body());
  }
  co_await Forward(out, ctx, *eligible, "/chat/completions", std::move(upstream_body), stream, wants_usage);
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
  bool body_changed = false;
  auto eligible = co_await ApplyPolicy(request, out, ctx, *route, body, body_changed);
  if (!eligible) co_return;
  std::string upstream_body;
  if (body_changed || route->upstream_model != ctx.model) {
    body["model"] = route->upstream_model;
    upstream_body = json::serialize(body);
  } else {
    upstream_body = std::move(request.body());
  }
  co_await Forward(out, ctx, *eligible, "/embeddings", std::move(upstream_body), false, false);
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
  if (!decision.allowed()) {
    // Never a quiet fallback: the client learns which rules stopped the request.
    ctx.error_code = policy::OutcomeCode(decision.eligibility.outcome);
    co_await Reply(out, ctx, MakeResponse(ctx, http::status::forbidden, DenialBody(decision)));
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
  co_return EligibleBackends(decision, *route.backends);
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
  ready = !draining && healthy > 0;
  json::object o;
  o["status"] = draining ? "draining" : ready ? "ready" : "no_healthy_backend";
  o["healthy_backends"] = healthy;
  o["backends"] = snap->backends().size();
  return json::serialize(o);
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

}  // namespace

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
  for (auto* context : worker_contexts) {
    asio::co_spawn(*context, HousekeepingLoop(*context, access_log_), asio::detached);
  }
}

}  // namespace meridian::gateway
