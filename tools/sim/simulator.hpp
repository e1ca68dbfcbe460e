#pragma once
// The provider simulator's request handler: an OpenAI-compatible upstream with deterministic
// answers, configurable timing (time to first token, tokens per second) and fault injection.
// Serves POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models[/{id}], GET /healthz
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
  std::optional<uint64_t> chunk_bytes;  // x-sim-chunk-bytes: bytes per streamed echo chunk
};

// Bytes per streamed echo chunk without x-sim-chunk-bytes, and the header's range.
inline constexpr uint64_t kDefaultEchoChunkBytes = 3;
inline constexpr uint64_t kMaxEchoChunkBytes = 4096;

// Reads the x-sim-* headers. Failure: an invalid value or unknown fault; the error's param
// names the header.
core::Result<Overrides> ParseOverrides(const net::Request& request);

inline constexpr std::string_view kSimulatorHeader = "x-meridian-simulator";

class Simulator {
 public:
  explicit Simulator(SimOptions options);
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // The net::Handler. Answers exactly once (or resets/stalls, when a fault says so).
  // Thread-safe: runs concurrently on every worker thread; the Simulator must outlive it.
  asio::awaitable<void> Handle(net::Request& request, net::Responder& responder);

  // The net::ErrorRenderer: an OpenAI error body for errors the server detects itself.
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
  asio::awaitable<void> StreamChat(net::Request& request, net::Responder& responder,
                                   const ChatRequest& chat, uint64_t tokens,
                                   std::string_view finish_reason, Fault fault,
                                   std::chrono::milliseconds ttft, double tps,
                                   std::size_t chunk_bytes, Pacer& pacer);
  asio::awaitable<void> Embeddings(net::Request& request, net::Responder& responder);
  // Faults whose behaviour does not depend on the endpoint (statuses, reset-before,
  // stall-before, and the non-streaming forms of reset-during/stall-during). Returns true when
  // the request has been dealt with.
  asio::awaitable<bool> CommonFault(net::Request& request, net::Responder& responder, Fault fault,
                                    const Overrides& overrides, std::chrono::milliseconds ttft,
                                    bool streaming, Pacer& pacer);
  asio::awaitable<void> Stall(Pacer& pacer);
  asio::awaitable<void> Reply(net::Responder& responder, net::Response response);

  net::Response MakeResponse(const net::Request& request, http::status status, std::string body,
                             std::string_view content_type) const;
  net::Response ErrorResponse(const net::Request& request, http::status status,
                              std::string_view message, std::string_view type,
                              std::string_view param = {}, std::string_view code = {}) const;
  net::Response InvalidRequest(const net::Request& request, const core::Error& error) const;
  net::Response ModelNotFound(const net::Request& request, std::string_view model) const;
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
