#pragma once
// The provider simulator's request handler: an upstream speaking the OpenAI, Anthropic and
// Gemini wire formats with deterministic answers, configurable timing (time to first token,
// tokens per second) and fault injection. Serves POST /v1/chat/completions, POST
// /v1/embeddings, GET /v1/models[/{id}], POST /v1/messages[/count_tokens], POST
// /v1beta/models/{model}:generateContent|streamGenerateContent|countTokens, GET /healthz,
// GET|DELETE /sim/stats and GET|DELETE /sim/requests. See docs/simulator.md for the full
// contract.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/server.hpp"
#include "sim/capture.hpp"
#include "sim/dialect.hpp"
#include "sim/fault.hpp"
#include "sim/openai.hpp"
#include "sim/stats.hpp"

namespace meridian::sim {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct SimOptions {
  std::string name = "meridian-sim";  // value of the x-meridian-simulator response header
  std::vector<std::string> models;    // accepted models; empty = accept any model
  uint64_t ttft_ms = 0;               // delay before the first byte of an answer
  double tps = 0;                     // tokens per second; 0 = as fast as possible
  uint64_t output_tokens = 16;        // natural answer length in words (= tokens)
  uint64_t embedding_dims = 16;
  Fault fault = Fault::kNone;         // run-level fault ...
  double fault_rate = 1.0;            // ... injected into this share of requests
  uint64_t seed = 0;                  // seeds the run-level fault picker
  uint64_t retry_after_s = 1;         // retry-after of 429/503 faults
};

// Per-request overrides read from x-sim-* headers.
struct Overrides {
  std::optional<uint64_t> ttft_ms;
  std::optional<double> tps;
  std::optional<uint64_t> output_tokens;
  std::optional<Fault> fault;
  std::optional<uint64_t> retry_after_s;
  bool tool_call = false;  // x-sim-tool-call: 1
  bool echo = false;       // x-sim-echo: 1 — answer with the last user message's text
  bool ignore_max_tokens = false;  // x-sim-ignore-max-tokens: 1 — overrun the request's limit, as some servers do
  std::optional<uint64_t> chunk_bytes;  // x-sim-chunk-bytes: bytes per streamed echo chunk
};

// Bytes per streamed echo chunk without x-sim-chunk-bytes, and the header's range.
inline constexpr uint64_t kDefaultEchoChunkBytes = 3;
inline constexpr uint64_t kMaxEchoChunkBytes = 4096;

// Reads the x-sim-* headers. Failure: an invalid value or unknown fault; the error's param
// names the header. With `x-sim-for: NAME[,NAME...]` the overrides apply only to the simulators
// of those --name values; any other simulator gets none (so a test can slow down or fail one
// backend of several that all receive the gateway's forwarded headers).
core::Result<Overrides> ParseOverrides(const net::Request& request, std::string_view self_name = {});

inline constexpr std::string_view kSimulatorHeader = "x-meridian-simulator";

class Simulator {
 public:
  explicit Simulator(SimOptions options);
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // The net::Handler. Answers exactly once (or resets/stalls, when a fault says so).
  // Thread-safe: runs concurrently on every worker thread; the Simulator must outlive it.
  asio::awaitable<void> Handle(net::Request& request, net::Responder& responder);

  // The net::ErrorRenderer: an OpenAI error body for errors the server detects itself (the
  // server does not say which route it was parsing, so this is OpenAI's shape on every route).
  net::Response RenderServerError(http::status status, std::string_view message) const;

  // Makes stalled requests (stall-* faults) return within ~100 ms so shutdown can drain.
  // Thread-safe.
  void Stop() { stopping_.store(true, std::memory_order_relaxed); }

  // Adds a "server" member to GET /sim/stats: `provider` returns a JSON object text (e.g. the
  // server's open connections). Call before serving; the provider must be thread-safe.
  void SetServerStats(std::function<std::string()> provider) { server_stats_ = std::move(provider); }

  Stats& stats() { return stats_; }
  RequestCapture& capture() { return capture_; }
  const SimOptions& options() const { return options_; }

 private:
  class Pacer;

  asio::awaitable<void> Chat(net::Request& request, net::Responder& responder);
  asio::awaitable<void> Messages(net::Request& request, net::Responder& responder, bool count_tokens);
  asio::awaitable<void> Responses(net::Request& request, net::Responder& responder);
  asio::awaitable<void> GeminiMethod(net::Request& request, net::Responder& responder,
                                     std::string_view model, std::string_view method);
  asio::awaitable<void> Embeddings(net::Request& request, net::Responder& responder);
  // The answer to a parsed generation request, in any dialect: picks the fault, the length and
  // the finish, waits, and sends the body or the stream (or the fault).
  asio::awaitable<void> Answer(net::Request& request, net::Responder& responder, const Dialect& dialect,
                               const Overrides& overrides, const ChatRequest& chat);
  // The shared stream loop: head at ttft, the script's prelude, body events paced at tps, the
  // trailer; applies the streaming faults (see StreamScript).
  asio::awaitable<void> StreamAnswer(net::Request& request, net::Responder& responder, StreamScript& script,
                                     Fault fault, std::chrono::milliseconds ttft, double tps, Pacer& pacer);
  // A one-shot JSON answer (embeddings, token counts): picks the fault, waits ttft, sends `body`.
  asio::awaitable<void> Unary(net::Request& request, net::Responder& responder, const Dialect& dialect,
                              const Overrides& overrides, std::string body);
  // Faults whose behaviour does not depend on the endpoint (statuses, reset-before,
  // stall-before, and the non-streaming forms of the *-during faults). Returns true when the
  // request has been dealt with.
  asio::awaitable<bool> CommonFault(net::Request& request, net::Responder& responder, const Dialect& dialect,
                                    Fault fault, const Overrides& overrides, std::chrono::milliseconds ttft,
                                    bool streaming, Pacer& pacer);
  asio::awaitable<void> Stall(Pacer& pacer);
  asio::awaitable<void> Reply(net::Responder& responder, net::Response response);

  net::Response MakeResponse(const net::Request& request, http::status status, std::string body,
                             std::string_view content_type) const;
  net::Response FromReply(const net::Request& request, ErrorReply reply) const;
  net::Response InvalidRequest(const net::Request& request, const Dialect& dialect,
                               const core::Error& error) const;
  net::Response StatsResponse(const net::Request& request) const;
  bool ModelKnown(std::string_view model) const;
  void CountAbort() { Stats::Bump(stats_.client_aborts); }

  SimOptions options_;
  FaultPicker picker_;
  Stats stats_;
  RequestCapture capture_;
  std::atomic<bool> stopping_{false};
  std::function<std::string()> server_stats_;
  std::string models_body_;  // GET /v1/models, rendered once
};

}  // namespace meridian::sim
