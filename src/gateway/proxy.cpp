// Forwarding a request to a backend and relaying its answer: Gateway::Forward, and for an
// OpenAI Chat client of an OpenAI Chat backend RelayBody and RelayStream (relay_translated.cpp
// has every other pair). Errors before the first byte reaches the client are answered with a status;
// after that, a stream ends with one final error event.

#include <array>
#include <random>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/codecs.hpp"
#include "gateway/gateway.hpp"
#include "gateway/http_error.hpp"
#include "gateway/json_scan.hpp"
#include "gateway/relay_util.hpp"
#include "gateway/restore.hpp"
#include "net/client.hpp"
#include "net/sse.hpp"
#include "route/retry.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::ErrorCode;

namespace {

bool IsOpenAiErrorBody(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const json::value* e = v.as_object().if_contains("error");
  return e && e->is_object() && e->as_object().contains("message");
}

std::string StreamErrorEvent(const core::Error& error) {
  std::string out;
  net::AppendSseEvent(out, OpenAiErrorBody(error));
  return out;
}


// Used when a request carries no routing policy (unit tests that build a context by hand).
const RoutePolicy kDefaultRoutePolicy{};

// Output tokens a request is assumed to produce when it sets no maximum (cost and total-latency
// predictions only; budgets reserve their own configured default).
constexpr std::int64_t kExpectedOutputTokens = 256;

// A retried error answer is read to its end up to this size so the connection can be reused.
constexpr std::size_t kDrainLimit = 1 << 20;

// Retries go to the next backend of the plan at once; the same backend is never retried within
// a request (its retry-after puts it on cool-down for the requests that follow instead). A
// timeout after the request was written is not retried: the upstream may be working on it (and
// billing it); a connect timeout is, since nothing was sent.
const route::RetryPolicy kRetryPolicy{.retry_timeouts = false};

// Per worker thread: strategies draw from it (p2c, weighted). Seeded once per thread from the
// OS; a request runs on one thread, so no two requests share a draw at the same time.
route::Rng& RequestRng() {
  thread_local route::Rng rng((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
  return rng;
}

// The prompt size routing predicts cost and latency with: the limiter's tokenizer estimate
// when the request has one, else about four bytes per token of the request body.
std::int64_t EstimatedInputTokens(const RequestContext& ctx) {
  if (ctx.estimated_input_tokens >= 0) return ctx.estimated_input_tokens;
  return ctx.request ? static_cast<std::int64_t>(ctx.request->body().size() / 4) : 0;
}

// The provider's rate-limit headers of a response (OpenAI x-ratelimit-*, Anthropic
// anthropic-ratelimit-*, retry-after); other headers are not looked at.
route::RateLimit RateLimitOf(const http::fields& headers) {
  std::array<route::HeaderField, 24> fields;
  std::size_t n = 0;
  for (const auto& field : headers) {
    std::string_view name = field.name_string();
    const bool wanted = (name.size() > 12 && boost::beast::iequals(name.substr(0, 12), "x-ratelimit-")) ||
                        (name.size() > 20 && boost::beast::iequals(name.substr(0, 20), "anthropic-ratelimit-")) ||
                        boost::beast::iequals(name, "retry-after");
    if (wanted && n < fields.size()) fields[n++] = {name, field.value()};
  }
  return route::ParseRateLimit({fields.data(), n}, route::WallClock::now());
}

// "status_429", "status_503", ... for the retries metric (a handful of values).
std::string_view RetryStatusLabel(int status) {
  switch (status) {
    case 408: return "status_408";
    case 429: return "status_429";
    case 500: return "status_500";
    case 502: return "status_502";
    case 503: return "status_503";
    case 504: return "status_504";
    case 529: return "status_529";
    default: return "status_5xx";
  }
}

// What a relayed answer says about its backend: a client that left says nothing; an answer cut
// by the upstream (reset, timeout mid-stream) or a 5xx/529 counts against it.
route::AttemptReport::Verdict RelayedVerdict(const RequestContext& ctx, int status) {
  if (ctx.error_code == "client_closed") return route::AttemptReport::Verdict::kNeutral;
  if (ctx.error_code == core::CodeName(ErrorCode::kUpstreamError) ||
      ctx.error_code == core::CodeName(ErrorCode::kUpstreamTimeout)) {
    return route::AttemptReport::Verdict::kFailure;
  }
  return route::VerdictOf(route::AttemptOutcome{route::FailureKind::kNone, status, true, {}});
}

// Prefix affinity: the backend the request's prefix key hashes to (among the model's backends,
// skipping those not in the plan or over their load bound) moves to the front of the plan.
void PreferAffinityReplica(const RequestContext& ctx, const std::vector<Backend*>& usable,
                           const std::vector<route::Candidate>& candidates, std::vector<std::uint16_t>& order) {
  const std::vector<Backend*>& all = *ctx.model_backends;
  std::vector<route::ReplicaLoad> loads(all.size());
  std::vector<int> position(all.size(), -1);  // the replica's place in `order`, -1 = not in the plan
  for (std::size_t i = 0; i < all.size(); ++i) {
    loads[i].healthy = false;
    for (std::size_t p = 0; p < order.size(); ++p) {
      if (usable[order[p]] == all[i]) {
        position[i] = static_cast<int>(p);
        const route::StatsView& view = candidates[order[p]].stats;
        loads[i] = route::ReplicaLoad{view.in_flight, view.health != route::Health::kOpen};
        break;
      }
    }
  }
  std::optional<std::uint32_t> pick = ctx.affinity_ring->Pick(*ctx.prefix_key, loads);
  if (!pick || position[*pick] <= 0) return;
  std::rotate(order.begin(), order.begin() + position[*pick], order.begin() + position[*pick] + 1);
}

// 504 when the request's routing deadline passed: before an attempt could start, or while one
// waited for its response head.
core::Error DeadlineError(const RoutePolicy& policy, std::string_view backend, bool waiting) {
  return core::Fail(ErrorCode::kUpstreamTimeout,
                    waiting ? fmt::format("backend '{}' did not answer within the request's deadline of {} ms",
                                          backend, policy.deadline.count())
                            : fmt::format("the request's deadline of {} ms passed before backend '{}' could be tried",
                                          policy.deadline.count(), backend))
      .error();
}

}  // namespace

asio::awaitable<void> Gateway::Forward(net::Responder& out, RequestContext& ctx, const std::vector<Backend*>& backends,
                                       RequestTranslator& translator, bool stream, bool client_wants_usage) {
  // If the client goes away, the upstream exchange is cut at once, whatever stage it is in.
  auto cancel = std::make_shared<net::CancelToken>();
  out.WatchPeerClose([cancel] { cancel->Cancel(); });

  const RoutePolicy& policy = ctx.routing ? *ctx.routing : kDefaultRoutePolicy;
  const Clock::time_point routed_at = Clock::now();
  // The candidates: the eligible backends that pass their active health check (and are not
  // cooling down after a connect failure), in configuration order, with their live stats.
  std::vector<Backend*> usable;
  std::vector<route::LiveStats*> live;
  std::vector<route::Candidate> candidates;
  usable.reserve(backends.size());
  live.reserve(backends.size());
  candidates.reserve(backends.size());
  for (Backend* backend : backends) {
    if (!backend->healthy(routed_at)) {
      ctx.skipped.push_back({backend, "health: unhealthy, skipped"});
      continue;
    }
    route::LiveStats& stats = stats_.Get(backend->id(), ctx.upstream_model);
    usable.push_back(backend);
    live.push_back(&stats);
    candidates.push_back(route::Candidate{backend->id(), backend->price(ctx.upstream_model),
                                          policy.WeightOf(backend->id()), stats.View(routed_at)});
  }
  route::RouteRequest routing;
  routing.strategy = policy.strategy;
  routing.estimated_input_tokens = EstimatedInputTokens(ctx);
  routing.expected_output_tokens = ctx.max_output_tokens.value_or(kExpectedOutputTokens);
  routing.latency_goal = policy.latency_goal;
  routing.open_policy = policy.open_policy;
  // The plan holds every candidate; attempts are counted below, because a backend that cannot
  // be sent the request in its dialect takes a place in the plan without being an attempt.
  routing.max_attempts = route::Plan::kMaxAttempts;
  routing.now = routed_at;
  routing.deadline = policy.deadline.count() > 0 ? ctx.start + policy.deadline : Clock::time_point::max();
  routing.rng = &RequestRng();
  const route::Plan plan = route::Route(routing, candidates);
  std::vector<std::uint16_t> order(plan.attempts().begin(), plan.attempts().end());
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    if (std::find(order.begin(), order.end(), k) == order.end()) {
      ctx.skipped.push_back({usable[k], "breaker: open, skipped"});
    }
  }
  if (policy.prefix_affinity && ctx.prefix_key && ctx.affinity_ring && ctx.model_backends) {
    PreferAffinityReplica(ctx, usable, candidates, order);
  }

  std::optional<core::Error> last_error;
  std::optional<core::Error> untranslatable;  // the first backend whose dialect cannot take the request
  Backend* status_error = nullptr;  // the backend whose error answer last_error holds, if any
  unsigned attempts_made = 0;
  for (std::size_t step = 0; step < order.size() && attempts_made < policy.max_attempts; ++step) {
    const std::size_t index = order[step];
    Backend* backend = usable[index];
    route::LiveStats& stats = *live[index];
    auto call = translator.For(*backend);
    if (!call) {
      // Nothing was sent: a backend that speaks another dialect may still take it.
      if (!untranslatable) untranslatable = std::move(call.error());
      continue;
    }
    const Clock::time_point attempt_start = Clock::now();
    if (attempt_start >= routing.deadline) {
      last_error = DeadlineError(policy, backend->id(), false);
      break;
    }
    // An open breaker's backend is in the plan only as a last resort (open_breakers: last).
    const route::Admission admission =
        stats.Begin(attempt_start, candidates[index].stats.health == route::Health::kOpen);
    if (admission == route::Admission::kRejected) {
      ctx.skipped.push_back({backend, "breaker: half-open, probes busy, skipped"});
      continue;
    }
    ctx.backend = backend;
    ++ctx.attempts;
    ++attempts_made;
    ctx.attempt_log.push_back(AttemptInfo{backend, 0, {}, attempt_start});
    const bool has_next = step + 1 < order.size() && attempts_made < policy.max_attempts;
    auto retry_context = [&](Clock::time_point now) {
      return route::RetryContext{attempts_made, policy.max_attempts, has_next, 0, now, routing.deadline,
                                 route::WallClock::now()};
    };
    net::UpstreamRequest req;
    req.method = http::verb::post;
    req.path = std::move(call->path);
    req.headers.set(http::field::content_type, "application/json");
    req.headers.set(http::field::accept, stream ? "text/event-stream" : "application/json");
    req.headers.set("x-request-id", ctx.request_id);
    SetUpstreamAuth(req.headers, *backend);
    if (backend->config().provider == "simulator") {
      // Fault-injection and pacing headers reach the simulator, so tests can drive failures
      // through the gateway. No other client header is forwarded.
      for (const auto& field : *ctx.request) {
        auto name = field.name_string();
        if (name.size() > 6 && boost::beast::iequals(name.substr(0, 6), "x-sim-")) {
          req.headers.set(name, field.value());
        }
      }
    }
    req.body = std::move(call->body);
    req.cancel = cancel;
    // The request's deadline also bounds the wait for a response head.
    auto deadline_hit = std::make_shared<bool>(false);
    std::optional<asio::steady_timer> deadline_timer;
    if (routing.deadline != Clock::time_point::max()) {
      deadline_timer.emplace(co_await asio::this_coro::executor, routing.deadline);
      deadline_timer->async_wait([deadline_hit, cancel](boost::system::error_code ec) {
        if (ec) return;
        *deadline_hit = true;
        cancel->Cancel();
      });
    }
    auto exchange = co_await net::Exchange::Start(backend->upstream(), std::move(req));
    if (deadline_timer) deadline_timer->cancel();
    const Clock::time_point head_at = Clock::now();
    if (*deadline_hit) {
      stats.End(admission, route::AttemptReport{route::AttemptReport::Verdict::kNeutral, std::nullopt,
                                                head_at - attempt_start, 0},
                head_at);
      ctx.attempt_log.back().error = core::CodeName(ErrorCode::kUpstreamTimeout);
      ctx.attempt_log.back().end = head_at;
      metrics_.attempts->With({backend->id(), core::CodeName(ErrorCode::kUpstreamTimeout)}).Inc();
      last_error = DeadlineError(policy, backend->id(), true);
      break;
    }
    if (cancel->cancelled()) {
      stats.End(admission, route::AttemptReport{route::AttemptReport::Verdict::kNeutral, std::nullopt,
                                                head_at - attempt_start, 0},
                head_at);
      ClientLeft(ctx);  // nobody to answer
      ctx.attempt_log.back().error = ctx.error_code;
      ctx.attempt_log.back().end = head_at;
      co_return;
    }
    if (!exchange) {
      auto& err = exchange.error();
      ctx.attempt_log.back().error = core::CodeName(err.code);
      ctx.attempt_log.back().end = head_at;
      metrics_.attempts->With({backend->id(), core::CodeName(err.code)}).Inc();
      if (err.code == ErrorCode::kUpstreamUnavailable || (err.code == ErrorCode::kUpstreamTimeout && err.retryable)) {
        backend->MarkConnectFailure(options_.connect_failure_cool_down);
      }
      route::AttemptOutcome outcome = route::OutcomeFromError(err, false);
      if (err.code == ErrorCode::kUpstreamTimeout && err.retryable) outcome.failure = route::FailureKind::kConnect;
      stats.End(admission, route::AttemptReport{route::VerdictOf(outcome), std::nullopt, head_at - attempt_start, 0},
                head_at);
      const route::RetryDecision decision = route::DecideRetry(outcome, retry_context(head_at), kRetryPolicy);
      // An earlier backend's error answer tells the client more than this connection failure.
      if (!status_error) last_error = std::move(err);
      if (decision.action == route::RetryAction::kNextBackend) {
        metrics_.retries->With({backend->id(), last_error->code == ErrorCode::kUpstreamTimeout ? "timeout" : "connect"})
            .Inc();
        continue;
      }
      break;
    }
    metrics_.attempts->With({backend->id(), "ok"}).Inc();
    net::Exchange& ex = **exchange;
    const int status = ex.status();
    ctx.attempt_log.back().status = status;
    stats.ObserveRateLimit(RateLimitOf(ex.headers()), head_at);
    if (route::IsRetryableStatus(status)) {
      const std::string retry_after(ex.headers()[http::field::retry_after]);
      const route::AttemptOutcome outcome{route::FailureKind::kNone, status, false, retry_after};
      const route::RetryDecision decision = route::DecideRetry(outcome, retry_context(head_at), kRetryPolicy);
      if (decision.backend_cool_down) stats.BlockUntil(head_at + *decision.backend_cool_down);
      if (decision.action == route::RetryAction::kNextBackend) {
        // Nothing has reached the client: the answer is read to the end (the connection goes
        // back to its pool) and the next backend of the plan is tried.
        auto drained = co_await ex.ReadAll(kDrainLimit);
        (void)drained;
        const Clock::time_point end = Clock::now();
        stats.End(admission, route::AttemptReport{route::VerdictOf(outcome), head_at - attempt_start,
                                                  end - attempt_start, 0},
                  end);
        ctx.attempt_log.back().error = core::CodeName(ErrorCode::kUpstreamStatus);
        ctx.attempt_log.back().end = end;
        metrics_.retries->With({backend->id(), RetryStatusLabel(status)}).Inc();
        last_error = UpstreamStatusError(ctx, status);
        last_error->retry_after = retry_after;
        status_error = backend;
        continue;
      }
    }
    bool sse = stream && status == 200 && IsEventStream(ex.headers()[http::field::content_type]);
    if (call->dialect == dialect::Dialect::kOpenAiChat && ctx.dialect == dialect::Dialect::kOpenAiChat) {
      if (sse) {
        co_await RelayStream(out, ctx, ex, client_wants_usage);
      } else {
        co_await RelayBody(out, ctx, ex);
      }
    } else if (sse) {
      co_await RelayTranslatedStream(out, ctx, ex, call->dialect, client_wants_usage);
    } else {
      co_await RelayTranslatedBody(out, ctx, ex, call->dialect);
    }
    if (cancel->cancelled() && ctx.status == 0) ClientLeft(ctx);  // left before any answer
    const Clock::time_point end = Clock::now();
    ctx.attempt_log.back().error = ctx.error_code;
    ctx.attempt_log.back().end = end;
    stats.End(admission,
              route::AttemptReport{RelayedVerdict(ctx, status), head_at - attempt_start, end - attempt_start,
                                   std::max<std::int64_t>(ctx.completion_tokens, 0)},
              end);
    co_return;
  }
  if (!last_error && untranslatable) {
    // No backend could be sent the request in its dialect: the client learns which field.
    co_await ReplyError(out, ctx, *untranslatable);
    co_return;
  }
  if (status_error) ctx.backend = status_error;  // the answer relayed is that backend's
  if (!last_error) {
    last_error = core::Fail(ErrorCode::kUpstreamUnavailable,
                            fmt::format("no healthy backend serves model '{}'", ctx.model))
                     .error();
  }
  co_await ReplyError(out, ctx, *last_error);
}

asio::awaitable<void> Gateway::RelayBody(net::Responder& out, RequestContext& ctx, net::Exchange& ex) {
  int status = ex.status();
  auto body = co_await ex.ReadAll(options_.max_upstream_body_bytes);
  if (!body) {
    if (out.peer_gone()) {
      ClientLeft(ctx);
      co_return;
    }
    co_await ReplyError(out, ctx, body.error());
    co_return;
  }
  if (status >= 200 && status < 300) {
    auto scan = ScanJson(*body);
    if (!scan || !scan->top_level_object) {
      co_await ReplyError(out, ctx,
                          core::Fail(ErrorCode::kUpstreamError,
                                     fmt::format("backend '{}' returned a malformed JSON body", ctx.backend->id()))
                              .error());
      co_return;
    }
    TakeUsage(*scan, ctx);
    if (ctx.pseudonyms) *body = RestoreJsonBody(*body, *ctx.pseudonyms);
    auto res = MakeResponse(ctx, static_cast<http::status>(status), std::move(*body));
    AddMeridianHeaders(res, ctx);
    co_await Reply(out, ctx, std::move(res));
    co_return;
  }
  // An upstream error keeps its status and back-off headers.
  core::Error error = UpstreamStatusError(ctx, status);
  ctx.error_code = core::CodeName(error.code);
  std::string out_body = IsOpenAiErrorBody(*body) ? std::move(*body) : OpenAiErrorBody(error);
  auto res = MakeResponse(ctx, StatusFor(error), std::move(out_body));
  for (const auto& field : ex.headers()) {
    if (IsRelayedErrorHeader(field.name_string())) res.set(field.name_string(), field.value());
  }
  AddMeridianHeaders(res, ctx);
  co_await Reply(out, ctx, std::move(res));
}

asio::awaitable<void> Gateway::RelayStream(net::Responder& out, RequestContext& ctx, net::Exchange& ex,
                                           bool client_wants_usage) {
  http::response_header<> head;
  head.result(http::status::ok);
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("x-request-id", ctx.request_id);
  AddMeridianHeaders(head, ctx);
  ctx.status = 200;
  // (GCC 12 miscompiles some co_await inside conditions: results go through locals.)
  bool started = co_await out.StartStream(std::move(head));
  if (!started) {
    ex.Abort();
    co_return;
  }

  net::SseParser parser;
  std::string pending;  // translated events that arrived together, written as one chunk
  bool saw_done = false;
  std::optional<core::Error> failure;
  // Placeholders in the answer are restored as the events pass, a split one held back until
  // its end arrives (at most one placeholder's length).
  std::optional<ChatStreamRestorer> restorer;
  if (ctx.pseudonyms) restorer.emplace(*ctx.pseudonyms);
  std::string restored;
  auto on_event = [&](const net::SseEvent& upstream_event) {
    if (failure || saw_done) return;
    if (upstream_event.data == "[DONE]") {
      saw_done = true;
      if (restorer) {
        if (std::string rest = restorer->Finish(); !rest.empty()) net::AppendSseEvent(pending, rest);
      }
      net::AppendSseEvent(pending, upstream_event.data);
      return;
    }
    net::SseEvent event = upstream_event;
    if (restorer) {
      restored = restorer->Event(upstream_event.data);
      event.data = restored;
    }
    auto scan = ScanJson(event.data);
    if (!scan || !scan->top_level_object) {
      failure = core::Fail(ErrorCode::kUpstreamError,
                           fmt::format("backend '{}' sent a malformed stream event", ctx.backend->id()))
                    .error();
      return;
    }
    TakeUsage(*scan, ctx);
    // A budget or token limit that runs out mid-stream ends it here, with an error event.
    if (auto cut = ChargeStream(ctx, scan->text_bytes)) {
      failure = std::move(*cut);
      return;
    }
    if (client_wants_usage || scan->usage == JsonScan::Usage::kAbsent) {
      net::AppendSseEvent(pending, event.data, event.type);
      return;
    }
    // The client did not ask for usage: drop the usage-only chunk, and the "usage" member
    // the upstream adds to every other chunk because the gateway asked for it.
    if (scan->choices_empty) return;
    // Upstreams put the member last ("...,\"usage\":null}"): the member just before the final
    // brace belongs to the top-level object, so cutting it there is exact and copies nothing.
    constexpr std::string_view kNullUsageTail = ",\"usage\":null}";
    if (scan->usage == JsonScan::Usage::kNull && event.data.ends_with(kNullUsageTail) && event.type.empty() &&
        event.data.find('\n') == std::string_view::npos) {
      pending.append("data: ");
      pending.append(event.data.substr(0, event.data.size() - kNullUsageTail.size()));
      pending.append("}\n\n");
      return;
    }
    std::string data(event.data);
    if (scan->usage != JsonScan::Usage::kNull || !StripNullUsage(data)) {
      boost::system::error_code ec;
      json::value value = json::parse(event.data, ec);
      if (!ec && value.is_object()) {
        value.as_object().erase("usage");
        data = json::serialize(value);
      }
    }
    net::AppendSseEvent(pending, data, event.type);
  };

  auto feed = [&](std::string_view piece) {
    if (auto fed = parser.Feed(piece, on_event); !fed && !failure) {
      failure = core::Fail(ErrorCode::kUpstreamError,
                           fmt::format("backend '{}' sent a malformed stream: {}", ctx.backend->id(),
                                       fed.error().message))
                    .error();
    }
  };
  constexpr std::size_t kMaxBatch = 64 * 1024;
  bool ended = false;
  while (!ended && !failure && !saw_done) {
    auto piece = co_await ex.ReadSome();
    if (!piece) {
      if (out.peer_gone()) {
        ClientLeft(ctx);
        co_return;
      }
      failure = piece.error();
    } else if (piece->empty()) {
      ended = true;
    } else {
      feed(*piece);
      // Events that arrived together leave together: translate what is already in memory
      // (never waiting for more), then write once.
      while (!failure && !saw_done && pending.size() < kMaxBatch) {
        auto more = ex.ReadBuffered();
        if (!more) {
          failure = more.error();
        } else if (more->empty()) {
          break;
        } else {
          feed(*more);
        }
      }
    }
    if (saw_done && !failure) {
      // Strict durability: for an SSE client [DONE] is the end of the answer, so it leaves only
      // once the request's record is committed.
      bool recorded = co_await CommitBeforeEnd(out, ctx);
      if (!recorded) {
        ex.Abort();
        co_return;
      }
    }
    // Whatever was translated goes out before any error event or the end of the stream.
    bool written = true;
    if (!pending.empty()) written = co_await out.WriteChunk(pending);
    pending.clear();
    if (!written) {
      ex.Abort();  // the client is gone: stop the upstream now
      ClientLeft(ctx);
      co_return;
    }
  }
  if (!failure && !saw_done) {
    failure = core::Fail(ErrorCode::kUpstreamError,
                         fmt::format("backend '{}' ended the stream before [DONE]", ctx.backend->id()))
                  .error();
  }
  if (failure) {
    ex.Abort();
    ctx.error_code = core::CodeName(failure->code);
    std::string tail;
    if (restorer) {
      // What was held back is the client's text: it goes out before the error.
      if (std::string rest = restorer->Finish(); !rest.empty()) net::AppendSseEvent(tail, rest);
    }
    tail += StreamErrorEvent(*failure);
    bool recorded = co_await CommitBeforeEnd(out, ctx);  // strict: the error event ends the answer
    if (!recorded) co_return;
    co_await out.WriteChunk(tail);
    co_await out.EndStream();
    co_return;
  }
  bool recorded = co_await CommitBeforeEnd(out, ctx);
  if (!recorded) {
    ex.Abort();
    co_return;
  }
  co_await out.EndStream();
  // The client has its answer; read the upstream's end of body so the connection is pooled.
  // A client that now closes must not abort that.
  out.WatchPeerClose(nullptr);
  while (!ex.done()) {
    auto rest = co_await ex.ReadSome();
    if (!rest || rest->empty()) break;
  }
}

}  // namespace meridian::gateway
