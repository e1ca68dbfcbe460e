#include "sim/simulator.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>

#include "sim/anthropic.hpp"
#include "sim/content.hpp"
#include "sim/gemini.hpp"
#include "sim/responses.hpp"

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

// Whether `list` (comma-separated, spaces allowed) names `name`.
bool NamesSelf(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == name) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

core::Result<Overrides> ParseOverrides(const net::Request& request, std::string_view self_name) {
  Overrides ov;
  if (auto it = request.find("x-sim-for"); it != request.end() && !NamesSelf(it->value(), self_name)) return ov;
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
                              "'; expected one of none, 429, 500, 503, overloaded, reset-before, "
                              "reset-during, stall-before, stall-during, error-during, malformed.",
                          "x-sim-fault");
      }
    } else if (boost::beast::iequals(key, "tool-call")) {
      ov.tool_call = value == "1" || boost::beast::iequals(value, "true");
    } else if (boost::beast::iequals(key, "ignore-max-tokens")) {
      if (value != "1" && value != "0") return BadHeader("x-sim-ignore-max-tokens", "1 or 0");
      ov.ignore_max_tokens = value == "1";
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

net::Response Simulator::FromReply(const net::Request& request, ErrorReply reply) const {
  net::Response res = MakeResponse(request, static_cast<http::status>(reply.status), std::move(reply.body), kJson);
  if (reply.status == 529) res.reason("Overloaded");  // not a registered status: give it its usual phrase
  for (auto& [name, value] : reply.headers) res.set(name, value);
  return res;
}

net::Response Simulator::InvalidRequest(const net::Request& request, const Dialect& dialect,
                                        const core::Error& error) const {
  return FromReply(request, dialect.Error(ErrorKind::kInvalidRequest, error.message, error.param));
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

namespace {

std::optional<std::string_view> HeaderValue(const net::Request& request, std::string_view name) {
  auto it = request.find(name);
  if (it == request.end()) return std::nullopt;
  return it->value();
}

bool IsGeminiMethod(std::string_view method) {
  return method == "generateContent" || method == "streamGenerateContent" || method == "countTokens";
}

}  // namespace

asio::awaitable<void> Simulator::Handle(net::Request& request, net::Responder& responder) {
  Stats::Bump(stats_.requests_total);
  std::string_view path = PathOf(request.target());
  http::verb method = request.method();
  if (method == http::verb::post && (path.starts_with("/v1/") || path.starts_with("/v1beta/"))) {
    capture_.Record(path, request.body());
  }

  auto wrong_method = [&](const Dialect& dialect, std::string_view allow) {
    net::Response r = FromReply(
        request, dialect.Error(ErrorKind::kMethodNotAllowed,
                               "Method " + std::string(request.method_string()) + " is not allowed for " +
                                   std::string(path) + " (allowed: " + std::string(allow) + ").",
                               {}, "method_not_allowed"));
    r.set(http::field::allow, allow);
    return r;
  };
  auto unknown_url = [&](const Dialect& dialect) {
    return FromReply(request, dialect.Error(ErrorKind::kNotFound,
                                            "Invalid URL (" + std::string(request.method_string()) + " " +
                                                std::string(path) + ")",
                                            {}, "unknown_url"));
  };

  if (path == "/v1/chat/completions") {
    stats_.CountRoute(Route::kChat);
    if (method != http::verb::post) {
      co_await Reply(responder, wrong_method(OpenAiDialect(), "POST"));
    } else {
      co_await Chat(request, responder);
    }
    co_return;
  }
  if (path == "/v1/responses") {
    stats_.CountRoute(Route::kResponses);
    if (method != http::verb::post) {
      co_await Reply(responder, wrong_method(ResponsesDialect(), "POST"));
    } else {
      co_await Responses(request, responder);
    }
    co_return;
  }
  if (path == "/v1/embeddings") {
    stats_.CountRoute(Route::kEmbeddings);
    if (method != http::verb::post) {
      co_await Reply(responder, wrong_method(OpenAiDialect(), "POST"));
    } else {
      co_await Embeddings(request, responder);
    }
    co_return;
  }
  if (path == "/v1/messages" || path == "/v1/messages/count_tokens") {
    const bool count_tokens = path.size() > 12;
    stats_.CountRoute(count_tokens ? Route::kMessagesCountTokens : Route::kMessages);
    if (method != http::verb::post) {
      co_await Reply(responder, wrong_method(AnthropicDialect(), "POST"));
    } else {
      co_await Messages(request, responder, count_tokens);
    }
    co_return;
  }
  if (path.starts_with("/v1/messages/")) {
    stats_.CountRoute(Route::kOther);
    co_await Reply(responder, unknown_url(AnthropicDialect()));
    co_return;
  }
  // Gemini: /v1beta/models/{model}:{method}, and /v1/models/{model}:{method} for its methods
  // (other /v1/models/... paths are OpenAI's model routes).
  if (auto gemini = ParseGeminiPath(path); gemini && IsGeminiMethod(gemini->method)) {
    Route route = gemini->method == "generateContent"         ? Route::kGenerateContent
                  : gemini->method == "streamGenerateContent" ? Route::kStreamGenerateContent
                                                              : Route::kGeminiCountTokens;
    stats_.CountRoute(route);
    if (method != http::verb::post) {
      co_await Reply(responder, wrong_method(GeminiDialect(), "POST"));
    } else {
      co_await GeminiMethod(request, responder, gemini->model, gemini->method);
    }
    co_return;
  }
  if (path.starts_with("/v1beta/")) {
    stats_.CountRoute(Route::kOther);
    co_await Reply(responder, unknown_url(GeminiDialect()));
    co_return;
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    stats_.CountRoute(Route::kModels);
    if (method != http::verb::get) {
      co_await Reply(responder, wrong_method(OpenAiDialect(), "GET"));
      co_return;
    }
    if (path.size() <= 11) {  // "/v1/models" or "/v1/models/"
      co_await Reply(responder, MakeResponse(request, http::status::ok, models_body_, kJson));
      co_return;
    }
    std::string_view id = path.substr(11);
    if (!ModelKnown(id)) {
      co_await Reply(responder, FromReply(request, OpenAiDialect().ModelNotFound(id)));
    } else {
      co_await Reply(responder, MakeResponse(request, http::status::ok, RenderModel(id), kJson));
    }
    co_return;
  }
  if (path == "/healthz") {
    stats_.CountRoute(Route::kHealth);
    if (method != http::verb::get) {
      co_await Reply(responder, wrong_method(OpenAiDialect(), "GET"));
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
      co_await Reply(responder, wrong_method(OpenAiDialect(), "GET, DELETE"));
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
      co_await Reply(responder, wrong_method(OpenAiDialect(), "GET, DELETE"));
    }
    co_return;
  }
  stats_.CountRoute(Route::kOther);
  co_await Reply(responder, unknown_url(OpenAiDialect()));
}

asio::awaitable<void> Simulator::Chat(net::Request& request, net::Responder& responder) {
  const Dialect& dialect = OpenAiDialect();
  auto ov = ParseOverrides(request, options_.name);
  if (!ov) {
    co_await Reply(responder, InvalidRequest(request, dialect, ov.error()));
    co_return;
  }
  auto chat = ParseChatRequest(request.body(), ov->tool_call, ov->echo);
  if (!chat) {
    co_await Reply(responder, InvalidRequest(request, dialect, chat.error()));
    co_return;
  }
  if (!ModelKnown(chat->model)) {
    co_await Reply(responder, FromReply(request, dialect.ModelNotFound(chat->model)));
    co_return;
  }
  co_await Answer(request, responder, dialect, *ov, *chat);
}

asio::awaitable<void> Simulator::Responses(net::Request& request, net::Responder& responder) {
  const Dialect& dialect = ResponsesDialect();
  auto ov = ParseOverrides(request, options_.name);
  if (!ov) {
    co_await Reply(responder, InvalidRequest(request, dialect, ov.error()));
    co_return;
  }
  auto chat = ParseResponsesRequest(request.body(), ov->tool_call, ov->echo);
  if (!chat) {
    co_await Reply(responder, InvalidRequest(request, dialect, chat.error()));
    co_return;
  }
  if (!ModelKnown(chat->model)) {
    co_await Reply(responder, FromReply(request, dialect.ModelNotFound(chat->model)));
    co_return;
  }
  co_await Answer(request, responder, dialect, *ov, *chat);
}

asio::awaitable<void> Simulator::Messages(net::Request& request, net::Responder& responder, bool count_tokens) {
  const Dialect& dialect = AnthropicDialect();
  if (auto bad = CheckAnthropicHeaders(HeaderValue(request, "x-api-key"), HeaderValue(request, "anthropic-version"))) {
    ErrorKind kind = bad->code == core::ErrorCode::kUnauthorized ? ErrorKind::kAuthentication : ErrorKind::kInvalidRequest;
    co_await Reply(responder, FromReply(request, dialect.Error(kind, bad->message)));
    co_return;
  }
  auto ov = ParseOverrides(request, options_.name);
  if (!ov) {
    co_await Reply(responder, InvalidRequest(request, dialect, ov.error()));
    co_return;
  }
  auto chat = ParseMessagesRequest(request.body(), ov->tool_call, ov->echo, count_tokens);
  if (!chat) {
    co_await Reply(responder, InvalidRequest(request, dialect, chat.error()));
    co_return;
  }
  if (!ModelKnown(chat->model)) {
    co_await Reply(responder, FromReply(request, dialect.ModelNotFound(chat->model)));
    co_return;
  }
  if (count_tokens) {
    co_await Unary(request, responder, dialect, *ov, RenderCountTokens(chat->prompt_tokens));
    co_return;
  }
  co_await Answer(request, responder, dialect, *ov, *chat);
}

asio::awaitable<void> Simulator::GeminiMethod(net::Request& request, net::Responder& responder,
                                              std::string_view model, std::string_view method) {
  const bool stream = method == "streamGenerateContent";
  const bool sse = QueryParam(request.target(), "alt") == std::optional<std::string_view>("sse");
  const Dialect& dialect = GeminiDialect(!stream || sse);
  std::optional<std::string_view> key = HeaderValue(request, "x-goog-api-key");
  if (!key || key->empty()) key = QueryParam(request.target(), "key");
  if (!key || key->empty()) {
    co_await Reply(responder,
                   FromReply(request, dialect.Error(ErrorKind::kAuthentication,
                                                    "Method doesn't allow unregistered callers (callers without "
                                                    "established identity). Please use API Key or other form of "
                                                    "API consumer identity to call this API.")));
    co_return;
  }
  auto ov = ParseOverrides(request, options_.name);
  if (!ov) {
    co_await Reply(responder, InvalidRequest(request, dialect, ov.error()));
    co_return;
  }
  if (method == "countTokens") {
    auto tokens = ParseGeminiCountTokens(request.body(), model);
    if (!tokens) {
      co_await Reply(responder, InvalidRequest(request, dialect, tokens.error()));
      co_return;
    }
    if (model.empty() || !ModelKnown(model)) {
      co_await Reply(responder, FromReply(request, dialect.ModelNotFound(model)));
      co_return;
    }
    co_await Unary(request, responder, dialect, *ov, RenderGeminiCountTokens(*tokens));
    co_return;
  }
  auto chat = ParseGenerateContentRequest(request.body(), model, ov->tool_call, ov->echo);
  if (!chat) {
    co_await Reply(responder, InvalidRequest(request, dialect, chat.error()));
    co_return;
  }
  if (model.empty() || !ModelKnown(model)) {
    co_await Reply(responder, FromReply(request, dialect.ModelNotFound(model)));
    co_return;
  }
  chat->stream = stream;
  co_await Answer(request, responder, dialect, *ov, *chat);
}

asio::awaitable<void> Simulator::Answer(net::Request& request, net::Responder& responder, const Dialect& dialect,
                                        const Overrides& ov, const ChatRequest& chat) {
  Fault fault = ov.fault ? *ov.fault : picker_.Next();

  uint64_t tokens = std::min(ov.output_tokens.value_or(options_.output_tokens), kMaxOutputTokens);
  Finish finish = Finish::kStop;
  if (chat.max_tokens && *chat.max_tokens < tokens && !ov.ignore_max_tokens) {
    tokens = *chat.max_tokens;
    finish = Finish::kLength;
  }
  if (chat.tool_call) {
    tokens = ToolArgumentFragments(chat.tool_call->arguments).size();
    finish = Finish::kToolCall;
  }
  Stats::Bump(stats_.prompt_tokens, chat.prompt_tokens);
  Stats::Bump(stats_.completion_tokens, tokens);

  milliseconds ttft{ov.ttft_ms.value_or(options_.ttft_ms)};
  double tps = ov.tps.value_or(options_.tps);

  // The hot path: no delay, no fault, no stream.
  if (fault == Fault::kNone && !chat.stream && ttft.count() == 0 && tps == 0) {
    co_await Reply(responder, MakeResponse(request, http::status::ok, dialect.Response(chat, tokens, finish), kJson));
    co_return;
  }

  Pacer pacer(responder);
  if (fault != Fault::kNone) {
    stats_.CountFault(fault);
    if (co_await CommonFault(request, responder, dialect, fault, ov, ttft, chat.stream, pacer)) co_return;
  }
  if (chat.stream) {
    std::size_t chunk_bytes = ov.chunk_bytes.value_or(kDefaultEchoChunkBytes);
    std::unique_ptr<StreamScript> script = dialect.Stream(chat, tokens, finish, chunk_bytes);
    co_await StreamAnswer(request, responder, *script, fault, ttft, tps, pacer);
    co_return;
  }

  Clock::time_point ready = Clock::now() + ttft;
  if (tps > 0) ready += Seconds(static_cast<double>(tokens) / tps);
  if (!co_await pacer.SleepUntil(ready)) {
    CountAbort();
    co_return;
  }
  std::string body = dialect.Response(chat, tokens, finish);
  if (fault == Fault::kMalformed) body.resize(body.size() / 2);
  co_await Reply(responder, MakeResponse(request, http::status::ok, std::move(body), kJson));
}

asio::awaitable<void> Simulator::StreamAnswer(net::Request& request, net::Responder& responder,
                                              StreamScript& script, Fault fault, milliseconds ttft, double tps,
                                              Pacer& pacer) {
  if (!co_await pacer.SleepUntil(Clock::now() + ttft)) {
    CountAbort();
    co_return;
  }
  http::response_header<> head;
  head.result(http::status::ok);
  head.version(request.version());
  head.set(http::field::content_type, script.content_type());
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
    std::vector<std::string> events = script.MalformedEvents();
    for (const std::string& event : events) {
      if (!co_await write(event)) co_return;
    }
    co_await responder.EndStream();
    co_return;
  }

  const std::size_t prelude = script.prelude_size();
  const std::size_t body = script.body_size();
  const std::size_t total = prelude + body + script.trailer_size();
  // stall-during holds after the prelude (after the first event when there is none);
  // reset-during and error-during cut after the prelude and up to 2 body events.
  const std::size_t stall_at = std::max<std::size_t>(prelude, std::min<std::size_t>(1, total));
  const std::size_t cut_at = prelude + std::min<std::size_t>(2, body);
  Clock::time_point t0{};
  for (std::size_t k = 0;; ++k) {
    if (k == cut_at && fault == Fault::kResetDuring) {
      responder.Reset();
      co_return;
    }
    if (k == cut_at && fault == Fault::kErrorDuring) {
      std::string error = script.ErrorEvent();
      if (!co_await write(error)) co_return;
      if (!co_await responder.EndStream()) CountAbort();
      co_return;
    }
    if (k == stall_at && fault == Fault::kStallDuring) {
      co_await Stall(pacer);
      co_return;
    }
    if (k == total) break;
    if (k >= prelude && k < prelude + body) {
      // Body event i is due at t0 + i / tps, t0 being the first body event.
      std::size_t i = k - prelude;
      if (i == 0) {
        t0 = Clock::now();
      } else if (tps > 0) {
        if (!co_await pacer.SleepUntil(t0 + Seconds(static_cast<double>(i) / tps))) {
          CountAbort();
          co_return;
        }
      }
    }
    std::string event = script.Event(k);
    if (!co_await write(event)) co_return;
  }
  if (!co_await responder.EndStream()) {
    CountAbort();
    co_return;
  }
  Stats::Bump(stats_.streams_completed);
}

asio::awaitable<void> Simulator::Embeddings(net::Request& request, net::Responder& responder) {
  const Dialect& dialect = OpenAiDialect();
  auto ov = ParseOverrides(request, options_.name);
  if (!ov) {
    co_await Reply(responder, InvalidRequest(request, dialect, ov.error()));
    co_return;
  }
  auto emb = ParseEmbeddingsRequest(request.body());
  if (!emb) {
    co_await Reply(responder, InvalidRequest(request, dialect, emb.error()));
    co_return;
  }
  if (!ModelKnown(emb->model)) {
    co_await Reply(responder, FromReply(request, dialect.ModelNotFound(emb->model)));
    co_return;
  }
  Stats::Bump(stats_.prompt_tokens, emb->prompt_tokens);
  uint64_t dims = emb->dimensions.value_or(options_.embedding_dims);
  if (dims == 0) dims = 1;
  co_await Unary(request, responder, dialect, *ov, RenderEmbeddings(*emb, dims));
}

asio::awaitable<void> Simulator::Unary(net::Request& request, net::Responder& responder, const Dialect& dialect,
                                       const Overrides& ov, std::string body) {
  Fault fault = ov.fault ? *ov.fault : picker_.Next();
  milliseconds ttft{ov.ttft_ms.value_or(options_.ttft_ms)};
  if (fault == Fault::kNone && ttft.count() == 0) {
    co_await Reply(responder, MakeResponse(request, http::status::ok, std::move(body), kJson));
    co_return;
  }
  Pacer pacer(responder);
  if (fault != Fault::kNone) {
    stats_.CountFault(fault);
    if (co_await CommonFault(request, responder, dialect, fault, ov, ttft, false, pacer)) co_return;
  }
  if (!co_await pacer.SleepUntil(Clock::now() + ttft)) {
    CountAbort();
    co_return;
  }
  if (fault == Fault::kMalformed) body.resize(body.size() / 2);
  co_await Reply(responder, MakeResponse(request, http::status::ok, std::move(body), kJson));
}

asio::awaitable<bool> Simulator::CommonFault(net::Request& request, net::Responder& responder,
                                             const Dialect& dialect, Fault fault, const Overrides& overrides,
                                             milliseconds ttft, bool streaming, Pacer& pacer) {
  const uint64_t retry_after = overrides.retry_after_s.value_or(options_.retry_after_s);
  switch (fault) {
    case Fault::kRateLimit:
    case Fault::kServerError:
    case Fault::kUnavailable:
    case Fault::kOverloaded:
      co_await Reply(responder, FromReply(request, dialect.FaultError(fault, retry_after)));
      co_return true;
    case Fault::kResetBefore:
      responder.Reset();
      co_return true;
    case Fault::kStallBefore:
      co_await Stall(pacer);
      co_return true;
    case Fault::kResetDuring:
    case Fault::kErrorDuring:
      if (streaming) co_return false;
      if (!co_await pacer.SleepUntil(Clock::now() + ttft)) {
        CountAbort();
        co_return true;
      }
      if (fault == Fault::kResetDuring) {
        responder.Reset();
      } else {
        co_await Reply(responder, FromReply(request, dialect.FaultError(fault, retry_after)));
      }
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
