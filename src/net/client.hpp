#pragma once
// Upstream HTTP/1.1 client with per-thread keep-alive pools. Knows nothing about LLMs.
//
// An Upstream describes one backend endpoint (address, TLS, timeouts, pool limits); it is
// immutable and shared between threads. Connections are pooled per worker thread per
// Upstream, so acquiring one takes no lock. An Exchange is one request and its response on
// one pooled connection; it returns the connection to the pool only if the response was read
// to the end, the server allows keep-alive, and Abort() was never called.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <functional>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>

#include "core/error.hpp"
#include "core/url.hpp"

namespace meridian::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Millis = std::chrono::milliseconds;

struct UpstreamOptions {
  Millis connect_timeout{5'000};
  Millis first_byte_timeout{60'000};
  Millis between_chunks_timeout{30'000};
  Millis total_timeout{600'000};
  std::size_t pool_max_idle = 64;
  Millis pool_idle_timeout{60'000};
  Millis pool_max_lifetime{600'000};
  std::string ca_file;                 // PEM bundle; empty = system default CA paths
};

class Upstream {
 public:
  // Builds the TLS context (peer and hostname verification on) for https URLs.
  // Fails if the CA file cannot be read.
  static core::Result<std::shared_ptr<Upstream>> Create(std::string id, core::Url url,
                                                        UpstreamOptions options);

  const std::string& id() const { return id_; }
  const core::Url& url() const { return url_; }
  const UpstreamOptions& options() const { return options_; }
  asio::ssl::context* tls_context() const { return tls_.get(); }

  // Idle connections pooled for this upstream, summed over all threads (for metrics).
  std::size_t pooled() const { return pooled_.load(std::memory_order_relaxed); }
  // Connections currently open to this upstream, in use or idle, over all threads.
  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  // Exchanges that reused a pooled connection / opened a new one (monotonic).
  std::uint64_t reused() const { return reused_.load(std::memory_order_relaxed); }
  std::uint64_t connected() const { return connected_.load(std::memory_order_relaxed); }

  // Internal counters, updated by the pool (mutable: an Upstream is shared as const).
  mutable std::atomic<std::size_t> pooled_{0};
  mutable std::atomic<std::size_t> open_{0};
  mutable std::atomic<std::uint64_t> reused_{0};
  mutable std::atomic<std::uint64_t> connected_{0};

 private:
  Upstream(std::string id, core::Url url, UpstreamOptions options);
  std::string id_;
  core::Url url_;
  UpstreamOptions options_;
  std::unique_ptr<asio::ssl::context> tls_;
};

// Lets another coroutine on the same thread abort an exchange at any stage (resolve, connect,
// send, waiting for the head, reading the body): the connection is closed at once, the pending
// operation fails, and the connection is never pooled. Not thread-safe; one exchange at a time.
class CancelToken {
 public:
  void Cancel() {
    cancelled_ = true;
    if (close_current_) std::exchange(close_current_, nullptr)();
  }
  bool cancelled() const { return cancelled_; }
  // Used by the client: what Cancel() closes right now (empty between stages).
  void SetCloser(std::function<void()> closer) { close_current_ = std::move(closer); }

 private:
  std::function<void()> close_current_;
  bool cancelled_ = false;
};

struct UpstreamRequest {
  http::verb method = http::verb::post;
  std::string path;                    // appended to the URL's base path: "/chat/completions"
  http::fields headers;                // Host, Content-Length and Connection are set for you
  std::string body;
  std::shared_ptr<CancelToken> cancel;  // optional
};

class Connection;  // a pooled connection (plain TCP or TLS), defined in client.cpp

class Exchange {
 public:
  // Acquires a connection (pooled or new), sends `request` and reads the response head.
  // Errors: kUpstreamUnavailable (resolve/connect/TLS failure; retryable, nothing was sent),
  // kUpstreamTimeout (a deadline passed), kUpstreamError (reset or malformed response).
  // A pooled connection the server had closed (write fails, or a clean EOF before any
  // response byte) is replaced once; a reset after the request was written is not retried.
  // Must be awaited on a worker thread; the Exchange belongs to that thread.
  static asio::awaitable<core::Result<std::unique_ptr<Exchange>>> Start(
      std::shared_ptr<const Upstream> upstream, UpstreamRequest request);

  ~Exchange();  // returns the connection to this thread's pool when reusable

  int status() const;
  const http::fields& headers() const;

  // Reads the next piece of the body as it arrives (chunked decoding is done).
  // Returns an empty view once the body is complete (then done() is true). The view is valid
  // until the next call. Errors: kUpstreamTimeout (between-chunk or total deadline),
  // kUpstreamError (reset, malformed framing), kUpstreamUnavailable after Abort().
  asio::awaitable<core::Result<std::string_view>> ReadSome();

  // Reads the rest of the body. Fails with kUpstreamError past `limit` bytes.
  asio::awaitable<core::Result<std::string>> ReadAll(std::size_t limit);

  bool done() const;

  // The next piece of the body if its bytes have already been received, without waiting or
  // any system call; an empty view when nothing is ready (or the body is complete: done()).
  // Lets a relay batch what arrived together into one write. Errors as ReadSome.
  core::Result<std::string_view> ReadBuffered();

  // Closes the connection now: a pending read completes with an error and the connection is
  // never returned to the pool. Safe to call from any coroutine on the same thread.
  void Abort();

 private:
  Exchange() = default;
  // Parses response bytes already in the connection's buffer into the body chunk, without I/O.
  core::Result<std::size_t> ParseBuffered();
  struct State;
  std::unique_ptr<State> state_;
  std::shared_ptr<CancelToken> cancel_;
};

// Closes idle pooled connections of `context` that are past their idle timeout or lifetime
// (the pool also checks on acquire and release). Call periodically on the context's thread.
void SweepIdleConnections(asio::execution_context& context);

}  // namespace meridian::net
