// meridian-sim: a deterministic provider simulator speaking the OpenAI, Anthropic and Gemini
// wire formats (docs/simulator.md).
// Prints exactly one line, "listening on HOST:PORT", once it accepts connections, then serves
// until SIGTERM or SIGINT, drains, and exits 0.

#include <csignal>
#include <cstdio>
#include <pthread.h>

#include <atomic>
#include <charconv>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "net/server.hpp"
#include "sim/simulator.hpp"

namespace {

using meridian::sim::Fault;

// Splits "host:port" ("[::1]:port" for IPv6). Returns false if the form or port is invalid.
bool SplitListen(const std::string& listen, std::string& host, uint16_t& port) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return false;
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  auto [end, ec] = std::from_chars(first, last, port);
  return ec == std::errc() && end == last;
}

}  // namespace

int main(int argc, char** argv) {
  namespace net = meridian::net;
  namespace sim = meridian::sim;

  CLI::App app{"meridian-sim: deterministic provider simulator (OpenAI, Anthropic, Gemini)"};
  sim::SimOptions opts;
  std::string listen = "127.0.0.1:0";
  unsigned threads = 1;
  std::string fault_name;
  double fault_rate = -1;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--threads", threads, "worker threads")->check(CLI::Range(1u, 256u))->capture_default_str();
  app.add_option("--name", opts.name, "value of the x-meridian-simulator response header")
      ->capture_default_str();
  app.add_option("--models", opts.models, "accepted models, comma-separated (default: any model)")
      ->delimiter(',');
  app.add_option("--ttft-ms", opts.ttft_ms, "delay before the first byte of an answer (ms)")
      ->capture_default_str();
  app.add_option("--tps", opts.tps, "tokens per second (0: as fast as possible)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--output-tokens", opts.output_tokens, "natural answer length in tokens (words)")
      ->check(CLI::Range(uint64_t{0}, sim::kMaxOutputTokens))
      ->capture_default_str();
  app.add_option("--embedding-dims", opts.embedding_dims, "default embedding dimensions")
      ->check(CLI::Range(uint64_t{1}, sim::kMaxEmbeddingDims))
      ->capture_default_str();
  app.add_option("--fault", fault_name,
                 "inject a fault: 429, 500, 503, overloaded, reset-before, reset-during, "
                 "stall-before, stall-during, error-during, malformed");
  app.add_option("--fault-rate", fault_rate, "share of requests given --fault (0..1, default 1)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", opts.seed, "seed of the fault picker")->capture_default_str();
  app.add_option("--retry-after", opts.retry_after_s, "retry-after seconds of 429/503/overloaded faults")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!fault_name.empty()) {
    auto fault = sim::ParseFault(fault_name);
    if (!fault) {
      fmt::print(stderr, "meridian-sim: unknown --fault '{}'\n", fault_name);
      return 2;
    }
    opts.fault = *fault;
  }
  opts.fault_rate = fault_rate < 0 ? 1.0 : fault_rate;

  net::ServerOptions server_opts;
  if (!SplitListen(listen, server_opts.host, server_opts.port)) {
    fmt::print(stderr, "meridian-sim: --listen wants HOST:PORT, got '{}'\n", listen);
    return 2;
  }
  server_opts.workers = threads;

  // Signals are taken by one thread with sigwait; block them everywhere else (worker threads
  // inherit this mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sim::Simulator simulator(opts);
  net::Server server(
      server_opts,
      [&simulator](net::Request& request, net::Responder& responder) {
        return simulator.Handle(request, responder);
      },
      [&simulator](net::http::status status, std::string_view message) {
        return simulator.RenderServerError(status, message);
      });
  simulator.SetServerStats([&server] {
    return fmt::format("{{\"open_connections\":{},\"in_flight\":{}}}", server.open_connections(),
                       server.in_flight());
  });

  if (auto listening = server.Listen(); !listening) {
    fmt::print(stderr, "meridian-sim: {}\n", listening.error().message);
    return 1;
  }

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (done.load()) return;
    simulator.Stop();
    server.Shutdown(net::Millis{2000});
  });

  fmt::print("listening on {}:{}\n", server_opts.host, server.port());
  std::fflush(stdout);

  server.Run();
  done.store(true);
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // no-op for sigwait if already woken
  signal_thread.join();
  return 0;
}
