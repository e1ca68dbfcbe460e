#pragma once
// HTTP/1.1 server on Boost.Beast with C++20 coroutines. Knows nothing about LLMs.
//
// Threading: one io_context per worker thread, each with its own SO_REUSEPORT acceptor on the
// same port, so a connection lives and dies on one thread and handlers need no locks for
// per-thread state. The handler runs on the worker thread that accepted the connection.
//
// Limits enforced here, before the handler sees a request: header size (431), body size (413),
// malformed requests (400), header and body read deadlines (slowloris: the connection is
// closed, since a deadline that fired has already shut the socket), connection count (excess
// connections are closed at accept), Expect: 100-continue (HTTP/1.1 only), HEAD (no body is
// sent). Errors detected here are rendered by the ErrorRenderer the owner supplies, so the
// body matches the API dialect.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/error.hpp"

namespace meridian::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Millis = std::chrono::milliseconds;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                        // 0 = any free port (see Server::port())
  unsigned workers = 1;
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  Millis header_timeout{10'000};
  Millis body_timeout{30'000};
  Millis idle_timeout{60'000};
  Millis write_timeout{30'000};
};

// Renders a server-detected error (status 400/408/413/431/503...) as a complete response.
using ErrorRenderer = std::function<Response(http::status status, std::string_view message)>;

// The handler's way to answer one request. Exactly one of Send() or StartStream()..EndStream()
// per request. Every write has the server's write deadline; a write that fails (peer gone,
// deadline) returns false, after which the connection is closed and further writes fail.
// Not thread-safe: use it only from the handler's coroutine (the worker thread).
class Responder {
 public:
  virtual ~Responder() = default;

  // Sends a complete response. Sets keep-alive from the request unless the server is draining.
  virtual asio::awaitable<bool> Send(Response response) = 0;

  // Sends the head of a chunked response (Transfer-Encoding: chunked is set here).
  virtual asio::awaitable<bool> StartStream(http::response_header<> head) = 0;
  // Sends one chunk; empty data is ignored (it would end the stream).
  virtual asio::awaitable<bool> WriteChunk(std::string_view data) = 0;
  // Sends the terminating chunk.
  virtual asio::awaitable<bool> EndStream() = 0;

  // True once any byte of the response has been written (retries are no longer possible).
  virtual bool committed() const = 0;

  // Arms a watcher that calls `on_close` (on this thread, at most once) as soon as the client
  // closes or resets its connection while the handler is still working, e.g. waiting on an
  // upstream. Disarmed automatically when the handler returns. Pipelined bytes from the client
  // end the watch without a call (the connection is still alive).
  virtual void WatchPeerClose(std::function<void()> on_close) = 0;
  // True once the watcher saw the client go away.
  virtual bool peer_gone() const = 0;

  // Closes the connection abruptly (TCP RST, no response). For fault injection and for
  // answering a client that must not get a reply. Further writes fail.
  virtual void Reset() = 0;

  // The executor of the worker thread the handler runs on.
  virtual asio::any_io_executor executor() const = 0;
};

using Handler = std::function<asio::awaitable<void>(Request& request, Responder& responder)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler, ErrorRenderer render_error);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on every worker's acceptor. On success the bound port is port().
  // Fails (with a message naming the address) if the address cannot be bound.
  core::Result<void> Listen();
  uint16_t port() const { return port_; }

  // Runs the worker threads; returns after Shutdown() has finished draining.
  void Run();

  // Stops accepting, closes idle keep-alive connections, lets in-flight requests finish, and
  // force-closes whatever is left at `grace`. Thread-safe; safe to call more than once.
  void Shutdown(Millis grace);
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  // Live counters, safe to read from any thread.
  std::size_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  // The io_context of worker `index` (0 <= index < workers), e.g. to run background tasks.
  asio::io_context& worker_context(unsigned index);

  struct Worker;  // implementation detail, public for the .cpp's free functions

 private:
  void ConnectionClosed();  // a session ended (any thread); finishes a drain at zero
  void StopAll();           // stops every worker's io_context (thread-safe, idempotent)

  ServerOptions options_;
  Handler handler_;
  ErrorRenderer render_error_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<std::size_t> in_flight_{0};

  friend class Session;
};

}  // namespace meridian::net
