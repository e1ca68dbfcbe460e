#include "sim/simulator.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>

#include "sim/content.hpp"

namespace meridian::sim {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kEventStream = "text/event-stream; charset=utf-8";
constexpr milliseconds kStallSlice{100};
const std::vector<std::string> kDefaultModels = {"sim-chat", "sim-chat-large", "sim-embedding"};

std::string_view PathOf(std::string_view target) {
  std::size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> ParseNonNegative(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !(v >= 0)) return std::nullopt;
  return v;
}

std::unexpected<core::Error> BadHeader(std::string_view name, std::string_view expected) {
  return core::Fail(core::ErrorCode::kInvalidRequest,
                    "Invalid header '" + std::string(name) + "': expected " + std::string(expected) + ".",
                    std::string(name));
}

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

// Timer for pacing and stalls that also notices the client going away (Responder's peer-close
// watch cancels the wait). Lives in the handler's coroutine frame; must not move once armed.
class Simulator::Pacer {
 public:
  explicit Pacer(net::Responder& responder) : responder_(responder), timer_(responder.executor()) {}

  bool gone() const { return gone_ || responder_.peer_gone(); }
  net::Responder& responder() { return responder_; }

  // Waits until `deadline`. Returns false if the client went away (before or while waiting).
  // A deadline already past returns at once (without arming the watch).
  asio::awaitable<bool> SleepUntil(Clock::time_point deadline) {
    if (deadline <= Clock::now()) co_return !gone();
    Arm();
    if (gone()) co_return false;
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return !gone();
  }

 private:
  void Arm() {
    if (armed_) return;
    armed_ = true;
    responder_.WatchPeerClose([this] {
      gone_ = true;
      timer_.cancel();
    });
  }

  net::Responder& responder_;
  asio::steady_timer timer_;
  bool armed_ = false;
  bool gone_ = false;
};

core::Result<Overrides> ParseOverrides(const net::Request& request) {
  Overrides ov;
  for (const auto& field : request) {
    std::string_view name = field.name_string();
    if (name.size() < 6 || !boost::beast::iequals(name.substr(0, 6), "x-sim-")) continue;
    std::string_view key = name.substr(6);
    std::string_view value = field.value();
    if (boost::beast::iequals(key, "ttft-ms")) {
      ov.ttft_ms = ParseUint(value);
      if (!ov.ttft_ms) return BadHeader("x-sim-ttft-ms", "a non-negative integer (milliseconds)");
    } else if (boost::beast::iequals(key, "tps")) {
      ov.tps = ParseNonNegative(value);
      if (!ov.tps) return BadHeader("x-sim-tps", "a non-negative number (tokens per second)");
    } else if (boost::beast::iequals(key, "output-tokens")) {
      ov.output_tokens = ParseUint(value);
      if (!ov.output_tokens) return BadHeader("x-sim-output-tokens", "a non-negative integer");
    } else if (boost::beast::iequals(key, "retry-after")) {
      ov.retry_after_s = ParseUint(value);
      if (!ov.retry_after_s) return BadHeader("x-sim-retry-after", "a non-negative integer (seconds)");
    } else if (boost::beast::iequals(key, "fault")) {
      ov.fault = ParseFault(value);
      if (!ov.fault) {
        return core::Fail(core::ErrorCode::kInvalidRequest,
                          "Invalid header 'x-sim-fault': unknown fault '" + std::string(value) +
                              "'; expected one of none, 429, 500, 503, reset-before, reset-during, "
                              "stall-before, stall-during, malformed.",
                          "x-sim-fault");
      }
    } else if (boost::beast::iequals(key, "tool-call")) {
      ov.tool_call = value == "1" || boost::beast::iequals(value, "true");
    } else if (boost::beast::iequals(key, "echo")) {
      if (value == "1" || boost::beast::iequals(value, "true")) {
        ov.echo = true;
      } else if (value == "0" || boost::beast::iequals(value, "false")) {
        ov.echo = false;
      } else {
        return BadHeader("x-sim-echo", "1 or 0 (true or false)");
      }
    } else if (boost::beast::iequals(key, "chunk-bytes")) {
      ov.chunk_bytes = ParseUint(value);
      if (!ov.chunk_bytes || *ov.chunk_bytes < 1 || *ov.chunk_bytes > kMaxEchoChunkBytes) {
        return BadHeader("x-sim-chunk-bytes", "an integer from 1 to 4096 (bytes)");
      }
    }
  }
  return ov;
}

Simulator::Simulator(SimOptions options)
    : options_(std::move(options)),
      picker_(options_.fault, options_.fault_rate, options_.seed),
      models_body_(RenderModelList(options_.models.empty() ? kDefaultModels : options_.models)) {}

net::Response Simulator::MakeResponse(const net::Request& request, http::status status,
                                      std::string body, std::string_view content_type) const {
  net::Response res{status, request.version()};
  res.set(http::field::content_type, content_type);
  res.set(kSimulatorHeader, options_.name);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

net::Response Simulator::ErrorResponse(const net::Request& request, http::status status,
                                       std::string_view message, std::string_view type,
                                       std::string_view param, std::string_view code) const {
  return MakeResponse(request, status, RenderErrorBody(message, type, param, code), kJson);
}

net::Response Simulator::InvalidRequest(const net::Request& request, const core::Error& error) const {
  return ErrorResponse(request, http::status::bad_request, error.message, "invalid_request_error",
                       error.param);
}

net::Response Simulator::ModelNotFound(const net::Request& request, std::string_view model) const {
  return ErrorResponse(request, http::status::not_found,
                       "The model `" + std::string(model) + "` does not exist or you do not have access to it.",
                       "invalid_request_error", "model", "model_not_found");
}

net::Response Simulator::RenderServerError(http::status status, std::string_view message) const {
  net::Response res{status, 11};
  res.set(http::field::content_type, kJson);
  res.set(kSimulatorHeader, options_.name);
  unsigned code = static_cast<unsigned>(status);
  res.body() = RenderErrorBody(message, code >= 500 ? "server_error" : "invalid_request_error");
  res.prepare_payload();
  return res;
}

bool Simulator::ModelKnown(std::string_view model) const {
  return options_.models.empty() ||
         std::find(options_.models.begin(), options_.models.end(), model) != options_.models.end();
}

asio::awaitable<void> Simulator::Reply(net::Responder& responder, net::Response response) {
  stats_.CountStatus(response.result_int());
  co_await responder.Send(std::move(response));
}

net::Response Simulator::StatsResponse(const net::Request& request) const {
  std::string body = stats_.ToJson();
  body.pop_back();  // '}'
  body.append(",\"name\":");
  AppendJsonString(body, options_.name);
  if (server_stats_) {
    body.append(",\"server\":");
    body.append(server_stats_());
  }
  body.push_back('}');
  return MakeResponse(request, http::status::ok, std::move(body), kJson);
}

asio::awaitable<void> Simulator::Handle(net::Request& request, net::Responder& responder) {
  Stats::Bump(stats_.requests_total);
  std::string_view path = PathOf(request.target());
  http::verb method = request.method();
  if (method == http::verb::post && path.starts_with("/v1/")) capture_.Record(path, request.body());

  auto wrong_method = [&](std::string_view allow) {
    net::Response r = ErrorResponse(
        request, http::status::method_not_allowed,
        "Method " + std::string(request.method_string()) + " is not allowed for " + std::string(path) +
            " (allowed: " + std::string(allow) + ").",
        "invalid_request_error", {}, "method_not_allowed");
    r.set(http::field::allow, allow);
    return r;
  };

  if (path == "/v1/chat/completions") {
    stats_.CountRoute(Route::kChat);
    if (method != http::verb::post) {
      co_await Reply(responder, wrong_method("POST"));
    } else {
      co_await Chat(request, responder);
    }
    co_return;
  }
  if (path == "/v1/embeddings") {
    stats_.CountRoute(Route::kEmbeddings);
    if (method != http::verb::post) {
      co_await Reply(responder, wrong_method("POST"));
    } else {
      co_await Embeddings(request, responder);
    }
    co_return;
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    stats_.CountRoute(Route::kModels);
    if (method != http::verb::get) {
      co_await Reply(responder, wrong_method("GET"));
      co_return;
    }
    if (path.size() <= 11) {  // "/v1/models" or "/v1/models/"
      co_await Reply(responder, MakeResponse(request, http::status::ok, models_body_, kJson));
      co_return;
    }
    std::string_view id = path.substr(11);
    if (!ModelKnown(id)) {
      co_await Reply(responder, ModelNotFound(request, id));
    } else {
      co_await Reply(responder, MakeResponse(request, http::status::ok, RenderModel(id), kJson));
    }
    co_return;
  }
  if (path == "/healthz") {
    stats_.CountRoute(Route::kHealth);
    if (method != http::verb::get) {
      co_await Reply(responder, wrong_method("GET"));
    } else {
      co_await Reply(responder, MakeResponse(request, http::status::ok, "ok", "text/plain"));
    }
    co_return;
  }
  if (path == "/sim/stats") {
    stats_.CountRoute(Route::kStats);
    if (method == http::verb::get) {
      co_await Reply(responder, StatsResponse(request));
    } else if (method == http::verb::delete_) {
      stats_.Reset();
      co_await Reply(responder, MakeResponse(request, http::status::ok, "{\"reset\":true}", kJson));
    } else {
      co_await Reply(responder, wrong_method("GET, DELETE"));
    }
    co_return;
  }
  if (path == "/sim/requests") {
    stats_.CountRoute(Route::kRequests);
    if (method == http::verb::get) {
      co_await Reply(responder, MakeResponse(request, http::status::ok, capture_.ToJson(), kJson));
    } else if (method == http::verb::delete_) {
      capture_.Clear();
      co_await Reply(responder, MakeResponse(request, http::status::ok, "{\"cleared\":true}", kJson));
    } else {
      co_await Reply(responder, wrong_method("GET, DELETE"));
    }
    co_return;
  }
  stats_.CountRoute(Route::kOther);
  co_await Reply(responder,
                 ErrorResponse(request, http::status::not_found,
                               "Invalid URL (" + std::string(request.method_string()) + " " +
                                   std::string(path) + ")",
                               "invalid_request_error", {}, "unknown_url"));
}

asio::awaitable<void> Simulator::Chat(net::Request& request, net::Responder& responder) {
  auto ov = ParseOverrides(request);
  if (!ov) {
    co_await Reply(responder, InvalidRequest(request, ov.error()));
    co_return;
  }
  auto chat = ParseChatRequest(request.body(), ov->tool_call, ov->echo);
  if (!chat) {
    co_await Reply(responder, InvalidRequest(request, chat.error()));
    co_return;
  }
  if (!ModelKnown(chat->model)) {
    co_await Reply(responder, ModelNotFound(request, chat->model));
    co_return;
  }
  Fault fault = ov->fault ? *ov->fault : picker_.Next();

  uint64_t tokens = std::min(ov->output_tokens.value_or(options_.output_tokens), kMaxOutputTokens);
  std::string_view finish = "stop";
  if (chat->max_tokens && *chat->max_tokens < tokens) {
    tokens = *chat->max_tokens;
    finish = "length";
  }
  std::vector<std::string_view> fragments;
  if (chat->tool_call) {
    fragments = ToolArgumentFragments(chat->tool_call->arguments);
    tokens = fragments.size();
    finish = "tool_calls";
  }
  Stats::Bump(stats_.prompt_tokens, chat->prompt_tokens);
  Stats::Bump(stats_.completion_tokens, tokens);

  milliseconds ttft{ov->ttft_ms.value_or(options_.ttft_ms)};
  double tps = ov->tps.value_or(options_.tps);

  // The hot path: no delay, no fault, no stream.
  if (fault == Fault::kNone && !chat->stream && ttft.count() == 0 && tps == 0) {
    co_await Reply(responder, MakeResponse(request, http::status::ok,
                                           RenderChatCompletion(*chat, tokens, finish), kJson));
    co_return;
  }

  Pacer pacer(responder);
  if (fault != Fault::kNone) {
    stats_.CountFault(fault);
    if (co_await CommonFault(request, responder, fault, *ov, ttft, chat->stream, pacer)) co_return;
  }
  if (chat->stream) {
    std::size_t chunk_bytes = ov->chunk_bytes.value_or(kDefaultEchoChunkBytes);
    co_await StreamChat(request, responder, *chat, tokens, finish, fault, ttft, tps, chunk_bytes, pacer);
    co_return;
  }

  Clock::time_point ready = Clock::now() + ttft;
  if (tps > 0) ready += Seconds(static_cast<double>(tokens) / tps);
  if (!co_await pacer.SleepUntil(ready)) {
    CountAbort();
    co_return;
  }
  std::string body = RenderChatCompletion(*chat, tokens, finish);
  if (fault == Fault::kMalformed) body.resize(body.size() / 2);
  co_await Reply(responder, MakeResponse(request, http::status::ok, std::move(body), kJson));
}

asio::awaitable<void> Simulator::StreamChat(net::Request& request, net::Responder& responder,
                                            const ChatRequest& chat, uint64_t tokens,
                                            std::string_view finish_reason, Fault fault,
                                            milliseconds ttft, double tps, std::size_t chunk_bytes,
                                            Pacer& pacer) {
  if (!co_await pacer.SleepUntil(Clock::now() + ttft)) {
    CountAbort();
    co_return;
  }
  http::response_header<> head;
  head.result(http::status::ok);
  head.version(request.version());
  head.set(http::field::content_type, kEventStream);
  head.set(http::field::cache_control, "no-cache");
  head.set(kSimulatorHeader, options_.name);
  if (!co_await responder.StartStream(std::move(head))) {
    CountAbort();
    co_return;
  }
  Stats::Bump(stats_.streams_started);
  stats_.CountStatus(200);

  auto write = [&](std::string_view event) -> asio::awaitable<bool> {
    // (No co_await inside && or ||: GCC 12 coroutines are fragile there.)
    bool ok = !pacer.gone();
    if (ok) ok = co_await responder.WriteChunk(event);
    if (!ok) CountAbort();
    co_return ok;
  };

  if (fault == Fault::kMalformed) {
    if (!co_await write("data: {not json\n\n")) co_return;
    if (!co_await write(ChatStreamRenderer::kDoneEvent)) co_return;
    co_await responder.EndStream();
    co_return;
  }

  ChatStreamRenderer render(chat);
  const bool tool = chat.tool_call.has_value();
  const bool echo = !tool && chat.echo.has_value();
  // Tool call: argument fragments; echo: chunks of the echoed text; else one event per word.
  std::vector<std::string_view> fragments;
  if (tool) fragments = ToolArgumentFragments(chat.tool_call->arguments);
  if (echo) fragments = Utf8Chunks(*chat.echo, chunk_bytes);
  const uint64_t events = tool || echo ? fragments.size() : tokens;
  // (Built outside the co_await expression: GCC 12 miscompiles conditional temporaries there.)
  std::string first = tool ? render.ToolHeadEvent(*chat.tool_call) : render.RoleEvent();
  if (!co_await write(first)) co_return;

  if (fault == Fault::kStallDuring) {
    co_await Stall(pacer);
    co_return;
  }
  const uint64_t reset_after = std::min<uint64_t>(2, events);
  if (fault == Fault::kResetDuring && reset_after == 0) {
    responder.Reset();
    co_return;
  }

  Clock::time_point t0 = Clock::now();
  for (uint64_t i = 0; i < events; ++i) {
    if (tps > 0 && i > 0) {
      if (!co_await pacer.SleepUntil(t0 + Seconds(static_cast<double>(i) / tps))) {
        CountAbort();
        co_return;
      }
    }
    std::string event = tool   ? render.ToolArgumentsEvent(fragments[i])
                        : echo ? render.ContentEvent(fragments[i])
                               : render.TokenEvent(chat.hash, i);
    if (!co_await write(event)) co_return;
    if (fault == Fault::kResetDuring && i + 1 == reset_after) {
      responder.Reset();
      co_return;
    }
  }
  std::string finish_event = render.FinishEvent(finish_reason);
  if (!co_await write(finish_event)) co_return;
  if (chat.include_usage) {
    std::string usage = render.UsageEvent(chat.prompt_tokens, tokens);
    if (!co_await write(usage)) co_return;
  }
  if (!co_await write(ChatStreamRenderer::kDoneEvent)) co_return;
  if (!co_await responder.EndStream()) {
    CountAbort();
    co_return;
  }
  Stats::Bump(stats_.streams_completed);
}

asio::awaitable<void> Simulator::Embeddings(net::Request& request, net::Responder& responder) {
  auto ov = ParseOverrides(request);
  if (!ov) {
    co_await Reply(responder, InvalidRequest(request, ov.error()));
    co_return;
  }
  auto emb = ParseEmbeddingsRequest(request.body());
  if (!emb) {
    co_await Reply(responder, InvalidRequest(request, emb.error()));
    co_return;
  }
  if (!ModelKnown(emb->model)) {
    co_await Reply(responder, ModelNotFound(request, emb->model));
    co_return;
  }
  Fault fault = ov->fault ? *ov->fault : picker_.Next();
  Stats::Bump(stats_.prompt_tokens, emb->prompt_tokens);
  milliseconds ttft{ov->ttft_ms.value_or(options_.ttft_ms)};
  uint64_t dims = emb->dimensions.value_or(options_.embedding_dims);
  if (dims == 0) dims = 1;

  if (fault == Fault::kNone && ttft.count() == 0) {
    co_await Reply(responder, MakeResponse(request, http::status::ok, RenderEmbeddings(*emb, dims), kJson));
    co_return;
  }
  Pacer pacer(responder);
  if (fault != Fault::kNone) {
    stats_.CountFault(fault);
    if (co_await CommonFault(request, responder, fault, *ov, ttft, false, pacer)) co_return;
  }
  if (!co_await pacer.SleepUntil(Clock::now() + ttft)) {
    CountAbort();
    co_return;
  }
  std::string body = RenderEmbeddings(*emb, dims);
  if (fault == Fault::kMalformed) body.resize(body.size() / 2);
  co_await Reply(responder, MakeResponse(request, http::status::ok, std::move(body), kJson));
}

asio::awaitable<bool> Simulator::CommonFault(net::Request& request, net::Responder& responder,
                                             Fault fault, const Overrides& overrides,
                                             milliseconds ttft, bool streaming, Pacer& pacer) {
  std::string retry_after = std::to_string(overrides.retry_after_s.value_or(options_.retry_after_s));
  switch (fault) {
    case Fault::kRateLimit: {
      net::Response r = ErrorResponse(
          request, http::status::too_many_requests,
          "Rate limit reached for requests (simulated by meridian-sim). Please try again later.",
          "requests", {}, "rate_limit_exceeded");
      r.set(http::field::retry_after, retry_after);
      co_await Reply(responder, std::move(r));
      co_return true;
    }
    case Fault::kServerError:
      co_await Reply(responder,
                     ErrorResponse(request, http::status::internal_server_error,
                                   "The server had an error while processing your request "
                                   "(simulated by meridian-sim).",
                                   "server_error"));
      co_return true;
    case Fault::kUnavailable: {
      net::Response r = ErrorResponse(request, http::status::service_unavailable,
                                      "The server is overloaded or not ready yet (simulated by "
                                      "meridian-sim).",
                                      "server_error", {}, "service_unavailable");
      r.set(http::field::retry_after, retry_after);
      co_await Reply(responder, std::move(r));
      co_return true;
    }
    case Fault::kResetBefore:
      responder.Reset();
      co_return true;
    case Fault::kStallBefore:
      co_await Stall(pacer);
      co_return true;
    case Fault::kResetDuring:
      if (streaming) co_return false;
      if (!co_await pacer.SleepUntil(Clock::now() + ttft)) {
        CountAbort();
        co_return true;
      }
      responder.Reset();
      co_return true;
    case Fault::kStallDuring:
      if (streaming) co_return false;
      co_await Stall(pacer);
      co_return true;
    case Fault::kMalformed:
    case Fault::kNone:
      co_return false;
  }
  co_return false;
}

asio::awaitable<void> Simulator::Stall(Pacer& pacer) {
  bool alive = true;
  while (alive && !stopping_.load(std::memory_order_relaxed)) {
    alive = co_await pacer.SleepUntil(Clock::now() + kStallSlice);
  }
  if (!alive) {
    CountAbort();
  } else {
    pacer.responder().Reset();  // shutting down: drop the held request like a dying upstream
  }
  co_return;
}

}  // namespace meridian::sim
