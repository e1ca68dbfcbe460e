// Gateway::Forward: orders the eligible backends into a plan (route::Route, prefix affinity),
// then tries them in turn until one answers: retries only before any byte reached the client and
// only on retryable failures (route::DecideRetry), one request deadline over all attempts, and
// for a latency-critical alias a hedge (a second attempt raced against a slow first one,
// route::DecideHedge, exchange_race.hpp). The answer itself is relayed by proxy.cpp and
// relay_translated.cpp. docs/routing.md, "In the request path" and "Hedged requests".

#include <array>
#include <random>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include "gateway/exchange_race.hpp"
#include "gateway/gateway.hpp"
#include "gateway/http_error.hpp"
#include "gateway/relay_util.hpp"
#include "net/client.hpp"
#include "route/retry.hpp"

namespace meridian::gateway {

using core::ErrorCode;

namespace {

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

// The retries metric's reason for giving up an attempt: "connect", "timeout", or the status
// ("status_429", "status_503", ...; a handful of values).
// `error` is the attempt's failure when no response head came.
std::string_view RetryReason(int status, const core::Error* error) {
  if (error) return error->code == ErrorCode::kUpstreamTimeout ? "timeout" : "connect";
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

// What a hedge's losing attempt is recorded with (attempt log and decision record).
constexpr std::string_view kHedgeLost = "hedge_lost";

// Far enough to mean "until an attempt finishes": every attempt ends by its own upstream
// timeouts, the request deadline or the client leaving.
constexpr std::chrono::hours kUntilFinished{24};

// Every upstream attempt's cancel token, and whether the client left. Closing the client's
// connection cancels them all; the request deadline cancels the attempts but is not a client
// leaving. One worker thread; shared with the peer-close watcher.
class CancelGroup {
 public:
  std::shared_ptr<net::CancelToken> NewToken() {
    auto token = std::make_shared<net::CancelToken>();
    if (client_left_) token->Cancel();
    tokens_.push_back(token);
    return token;
  }
  void CancelAttempts() {
    for (const auto& token : tokens_) token->Cancel();
  }
  void ClientLeft() {
    client_left_ = true;
    CancelAttempts();
  }
  bool client_left() const { return client_left_; }

 private:
  std::vector<std::shared_ptr<net::CancelToken>> tokens_;
  bool client_left_ = false;
};

// One attempt that was started: where it went and what it holds of the backend's stats.
struct Attempt {
  Backend* backend = nullptr;
  route::LiveStats* stats = nullptr;
  route::Admission admission{};
  Clock::time_point start{};
  dialect::Dialect dialect{};
  std::size_t log = 0;  // its entry in ctx.attempt_log
  std::shared_ptr<net::CancelToken> cancel;
};

}  // namespace

asio::awaitable<void> Gateway::Forward(net::Responder& out, RequestContext& ctx, const std::vector<Backend*>& backends,
                                       RequestTranslator& translator, bool stream, bool client_wants_usage) {
  // If the client goes away, every upstream exchange is cut at once, whatever stage it is in.
  auto cancels = std::make_shared<CancelGroup>();
  out.WatchPeerClose([cancels] { cancels->ClientLeft(); });

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
  bool deadline_passed = false;  // before an attempt could start

  // Starts the attempt at order[step]: its request, admission and log entry. nullopt when the
  // backend is passed over (its dialect cannot take the request, its half-open probes are busy)
  // or the deadline has passed (deadline_passed, last_error set); then nothing was sent.
  auto begin_attempt = [&](std::size_t step, net::UpstreamRequest& req) -> std::optional<Attempt> {
    const std::size_t index = order[step];
    Backend* backend = usable[index];
    auto call = translator.For(*backend);
    if (!call) {
      // Nothing was sent: a backend that speaks another dialect may still take it.
      if (!untranslatable) untranslatable = std::move(call.error());
      return std::nullopt;
    }
    const Clock::time_point start = Clock::now();
    if (start >= routing.deadline) {
      last_error = DeadlineError(policy, backend->id(), false);
      deadline_passed = true;
      return std::nullopt;
    }
    // An open breaker's backend is in the plan only as a last resort (open_breakers: last).
    route::LiveStats& stats = *live[index];
    const route::Admission admission = stats.Begin(start, candidates[index].stats.health == route::Health::kOpen);
    if (admission == route::Admission::kRejected) {
      ctx.skipped.push_back({backend, "breaker: half-open, probes busy, skipped"});
      return std::nullopt;
    }
    ctx.backend = backend;
    ++ctx.attempts;
    ++attempts_made;
    ctx.attempt_log.push_back(AttemptInfo{backend, 0, {}, start});
    Attempt a{backend, &stats, admission, start, call->dialect, ctx.attempt_log.size() - 1, cancels->NewToken()};
    req = net::UpstreamRequest{};
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
    req.cancel = a.cancel;
    return a;
  };

  // Records an attempt that ended at `at` without an answer for the client: no response head
  // (`error`), or a retryable status whose head came at `head_at`. Returns the outcome the retry
  // rules judge. Keeps an earlier backend's error answer as last_error over a connect failure.
  auto end_failed_attempt = [&](Attempt& a, const core::Error* error, const net::Exchange* ex,
                                Clock::time_point head_at, Clock::time_point at) -> route::AttemptOutcome {
    AttemptInfo& info = ctx.attempt_log[a.log];
    info.end = at;
    if (error) {
      info.error = core::CodeName(error->code);
      metrics_.attempts->With({a.backend->id(), core::CodeName(error->code)}).Inc();
      const bool connect_timeout = error->code == ErrorCode::kUpstreamTimeout && error->retryable;
      if (error->code == ErrorCode::kUpstreamUnavailable || connect_timeout) {
        a.backend->MarkConnectFailure(options_.connect_failure_cool_down);
      }
      route::AttemptOutcome outcome = route::OutcomeFromError(*error, false);
      if (connect_timeout) outcome.failure = route::FailureKind::kConnect;
      a.stats->End(a.admission, route::AttemptReport{route::VerdictOf(outcome), std::nullopt, at - a.start, 0}, at);
      if (!status_error) last_error = *error;
      return outcome;
    }
    const int status = ex->status();
    info.status = status;
    info.error = core::CodeName(ErrorCode::kUpstreamStatus);
    metrics_.attempts->With({a.backend->id(), "ok"}).Inc();
    a.stats->ObserveRateLimit(RateLimitOf(ex->headers()), head_at);
    const std::string_view retry_after = ex->headers()[http::field::retry_after];
    const route::AttemptOutcome outcome{route::FailureKind::kNone, status, false, retry_after};
    a.stats->End(a.admission,
                 route::AttemptReport{route::VerdictOf(outcome), head_at - a.start, at - a.start, 0}, at);
    last_error = UpstreamStatusError(ctx, status);
    last_error->retry_after = std::string(retry_after);
    status_error = a.backend;
    return outcome;
  };

  // Records a raced attempt given up while still running (the other one's head was used, or
  // the client left, or the deadline passed). Says nothing about its backend.
  auto end_lost_attempt = [&](Attempt& a, Clock::time_point at) {
    a.cancel->Cancel();
    const route::AttemptReport neutral{route::AttemptReport::Verdict::kNeutral, std::nullopt, at - a.start, 0};
    a.stats->End(a.admission, neutral, at);
    ctx.attempt_log[a.log].error = kHedgeLost;
    ctx.attempt_log[a.log].end = at;
  };

  auto retry_context = [&](bool has_next, Clock::time_point now) {
    return route::RetryContext{attempts_made, policy.max_attempts, has_next, 0, now, routing.deadline,
                               route::WallClock::now()};
  };

  for (std::size_t step = 0; step < order.size() && attempts_made < policy.max_attempts; ++step) {
    net::UpstreamRequest first_request;
    std::optional<Attempt> first = begin_attempt(step, first_request);
    if (deadline_passed) break;
    if (!first) continue;

    // Hedging applies when the alias asks for it, the plan has another backend and the first
    // backend has enough recent times to a response head to know what "slow" is.
    std::optional<route::Duration> hedge_delay;
    if (policy.hedge) {
      route::HedgeInput hedge;
      hedge.latency_critical = true;
      hedge.has_next = step + 1 < order.size() && attempts_made < policy.max_attempts;
      hedge.ttft_quantile = first->stats->TtftQuantile(policy.hedge_policy.quantile);
      hedge.now = first->start;
      hedge.deadline = routing.deadline;
      const route::HedgeDecision decision = route::DecideHedge(hedge, policy.hedge_policy);
      if (decision.action == route::HedgeAction::kWait) hedge_delay = decision.wait;
      if (decision.action == route::HedgeAction::kLaunch) hedge_delay = route::Duration(0);
    }

    // The request's deadline also bounds the wait for a response head.
    auto deadline_hit = std::make_shared<bool>(false);
    std::optional<asio::steady_timer> deadline_timer;
    if (routing.deadline != Clock::time_point::max()) {
      deadline_timer.emplace(co_await asio::this_coro::executor, routing.deadline);
      deadline_timer->async_wait([deadline_hit, cancels](boost::system::error_code ec) {
        if (ec) return;
        *deadline_hit = true;
        cancels->CancelAttempts();
      });
    }

    // The attempt whose head is used (the first, or the hedge that beat it) and its result.
    std::optional<Attempt> chosen;
    ExchangeRace::ExchangeResult exchange = core::Fail(ErrorCode::kInternal, "no attempt finished");
    Clock::time_point head_at{};
    if (!hedge_delay) {
      exchange = co_await net::Exchange::Start(first->backend->upstream(), std::move(first_request));
      head_at = Clock::now();
      chosen = std::move(first);
    } else {
      ExchangeRace race(co_await asio::this_coro::executor);
      std::array<std::optional<Attempt>, ExchangeRace::kEntrants> entrants;
      const Backend* hedge_backend = nullptr;  // set when the hedge was launched
      race.Launch(0, first->backend->upstream(), std::move(first_request));
      entrants[0] = std::move(first);
      std::optional<std::size_t> done = co_await race.Next(entrants[0]->start + *hedge_delay);
      if (!done && !*deadline_hit && !cancels->client_left()) {
        // The first head is late: the hedge goes to the next backend of the plan that takes it.
        for (std::size_t next = step + 1; next < order.size() && attempts_made < policy.max_attempts; ++next) {
          net::UpstreamRequest hedge_request;
          std::optional<Attempt> hedge = begin_attempt(next, hedge_request);
          if (deadline_passed) break;
          if (!hedge) continue;
          race.Launch(1, hedge->backend->upstream(), std::move(hedge_request));
          hedge_backend = hedge->backend;
          entrants[1] = std::move(hedge);
          step = next;  // the plan goes on after the hedge's backend
          break;
        }
        deadline_passed = false;  // the first attempt is still running: its outcome decides
      }
      if (!done) done = co_await race.Next(Clock::now() + kUntilFinished);
      // The first head that can be used wins. A failed one (no head, or a retryable status)
      // loses at once while the other still runs; the other's result then decides.
      while (done) {
        const std::size_t slot = *done;
        const std::size_t other = 1 - slot;
        ExchangeRace::ExchangeResult result = race.Take(slot);
        const Clock::time_point at = race.finished_at(slot);
        const bool failed = !result || route::IsRetryableStatus((*result)->status());
        if (failed && race.Pending(other) && !*deadline_hit && !cancels->client_left()) {
          const route::AttemptOutcome outcome =
              result ? end_failed_attempt(*entrants[slot], nullptr, result->get(), at, at)
                     : end_failed_attempt(*entrants[slot], &result.error(), nullptr, at, at);
          const route::RetryDecision decision = route::DecideRetry(outcome, retry_context(true, at), kRetryPolicy);
          if (decision.backend_cool_down) entrants[slot]->stats->BlockUntil(at + *decision.backend_cool_down);
          const core::Error* error = result ? nullptr : &result.error();
          metrics_.retries->With({entrants[slot]->backend->id(), RetryReason(outcome.status, error)}).Inc();
          entrants[slot].reset();
          done = co_await race.Next(Clock::now() + kUntilFinished);
          continue;
        }
        exchange = std::move(result);
        head_at = at;
        chosen = std::move(entrants[slot]);
        entrants[slot].reset();
        break;
      }
      for (std::size_t i = 0; i < entrants.size(); ++i) {
        // The loser: cancelled if still waiting for its head, dropped if its head came too.
        if (entrants[i] && race.Pending(i)) end_lost_attempt(*entrants[i], Clock::now());
      }
      if (hedge_backend) {
        const bool hedge_won = chosen && chosen->backend == hedge_backend;  // a plan never repeats a backend
        metrics_.hedges->With({hedge_backend->id(), hedge_won ? "won" : "lost"}).Inc();
      }
    }
    if (deadline_timer) deadline_timer->cancel();
    if (!chosen) {
      // No raced attempt finished within kUntilFinished (an upstream with no timeouts at all):
      // both were abandoned above; the plan goes on.
      continue;
    }
    Attempt& a = *chosen;
    ctx.backend = a.backend;
    const bool has_next = step + 1 < order.size() && attempts_made < policy.max_attempts;
    if (*deadline_hit) {
      a.stats->End(a.admission, route::AttemptReport{route::AttemptReport::Verdict::kNeutral, std::nullopt,
                                                     head_at - a.start, 0},
                   head_at);
      ctx.attempt_log[a.log].error = core::CodeName(ErrorCode::kUpstreamTimeout);
      ctx.attempt_log[a.log].end = head_at;
      metrics_.attempts->With({a.backend->id(), core::CodeName(ErrorCode::kUpstreamTimeout)}).Inc();
      last_error = DeadlineError(policy, a.backend->id(), true);
      break;
    }
    if (cancels->client_left()) {
      a.stats->End(a.admission, route::AttemptReport{route::AttemptReport::Verdict::kNeutral, std::nullopt,
                                                     head_at - a.start, 0},
                   head_at);
      ClientLeft(ctx);  // nobody to answer
      ctx.attempt_log[a.log].error = ctx.error_code;
      ctx.attempt_log[a.log].end = head_at;
      co_return;
    }
    if (!exchange) {
      const route::AttemptOutcome outcome = end_failed_attempt(a, &exchange.error(), nullptr, head_at, head_at);
      const route::RetryDecision decision = route::DecideRetry(outcome, retry_context(has_next, head_at), kRetryPolicy);
      if (decision.action == route::RetryAction::kNextBackend) {
        metrics_.retries->With({a.backend->id(), RetryReason(0, &exchange.error())}).Inc();
        continue;
      }
      break;
    }
    net::Exchange& ex = **exchange;
    const int status = ex.status();
    if (route::IsRetryableStatus(status)) {
      const std::string retry_after(ex.headers()[http::field::retry_after]);
      const route::AttemptOutcome outcome{route::FailureKind::kNone, status, false, retry_after};
      const route::RetryDecision decision = route::DecideRetry(outcome, retry_context(has_next, head_at), kRetryPolicy);
      if (decision.backend_cool_down) a.stats->BlockUntil(head_at + *decision.backend_cool_down);
      if (decision.action == route::RetryAction::kNextBackend) {
        // Nothing has reached the client: the answer is read to the end (the connection goes
        // back to its pool) and the next backend of the plan is tried.
        auto drained = co_await ex.ReadAll(kDrainLimit);
        (void)drained;
        end_failed_attempt(a, nullptr, &ex, head_at, Clock::now());
        metrics_.retries->With({a.backend->id(), RetryReason(status, nullptr)}).Inc();
        continue;
      }
    }
    ctx.attempt_log[a.log].status = status;
    metrics_.attempts->With({a.backend->id(), "ok"}).Inc();
    a.stats->ObserveRateLimit(RateLimitOf(ex.headers()), head_at);
    bool sse = stream && status == 200 && IsEventStream(ex.headers()[http::field::content_type]);
    if (a.dialect == dialect::Dialect::kOpenAiChat && ctx.dialect == dialect::Dialect::kOpenAiChat) {
      if (sse) {
        co_await RelayStream(out, ctx, ex, client_wants_usage);
      } else {
        co_await RelayBody(out, ctx, ex);
      }
    } else if (sse) {
      co_await RelayTranslatedStream(out, ctx, ex, a.dialect, client_wants_usage);
    } else {
      co_await RelayTranslatedBody(out, ctx, ex, a.dialect);
    }
    if (cancels->client_left() && ctx.status == 0) ClientLeft(ctx);  // left before any answer
    const Clock::time_point end = Clock::now();
    ctx.attempt_log[a.log].error = ctx.error_code;
    ctx.attempt_log[a.log].end = end;
    a.stats->End(a.admission,
                 route::AttemptReport{RelayedVerdict(ctx, status), head_at - a.start, end - a.start,
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

}  // namespace meridian::gateway
