#pragma once
// Helpers for tests that drive net::Server and net::Exchange over real loopback sockets:
// a server running on its own thread, a blocking raw client with poll() deadlines, and
// cross-thread events (a Gate a coroutine awaits, a Signal a test thread waits on).
// Everything here is test-only; it may throw, block and poll.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <fmt/format.h>

#include "net/server.hpp"

namespace meridian::net::test_support {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

inline Millis Since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

// Polls `predicate` (every 2 ms) until it holds or `timeout` passes. For state that has no
// event to await (atomic counters updated on another thread).
inline bool WaitUntil(const std::function<bool()>& predicate, Millis timeout = 5s) {
  auto deadline = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// An error renderer whose bodies are recognisable, so tests can tell it was used.
inline Response TestErrorRenderer(http::status status, std::string_view message) {
  Response res{status, 11};
  res.set(http::field::content_type, "text/plain");
  res.body() = fmt::format("rendered {}: {}", static_cast<int>(status), message);
  return res;
}

// Counts notifications from any thread; a test thread waits for them with a deadline.
class Signal {
 public:
  void Notify() {
    std::lock_guard lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(Millis timeout, int count = 1) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= count; });
  }
  int count() const {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

// A one-shot event: coroutines on any io_context await it, any thread opens it.
// Must outlive every io_context whose coroutines wait on it.
class Gate {
 public:
  // Completes when Open() is called (true) or after `timeout` (false).
  asio::awaitable<bool> Wait(Millis timeout = 10s) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    timer->expires_after(timeout);
    {
      std::lock_guard lock(mu_);
      if (open_) co_return true;
      waiters_.push_back(timer);
    }
    // Unregisters even if the frame is destroyed while suspended (io_context teardown), so
    // the Gate never holds a timer whose io_context is gone.
    struct Unregister {
      Gate* gate;
      std::shared_ptr<asio::steady_timer> timer;
      ~Unregister() {
        std::lock_guard lock(gate->mu_);
        std::erase(gate->waiters_, timer);
      }
    } unregister{this, timer};
    co_await timer->async_wait(kNoThrow);
    bool opened;
    {
      std::lock_guard lock(mu_);
      opened = open_;
    }
    co_return opened;
  }

  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    for (auto& timer : waiters_) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
    waiters_.clear();
  }

  bool is_open() const {
    std::lock_guard lock(mu_);
    return open_;
  }

 private:
  mutable std::mutex mu_;
  bool open_ = false;
  std::vector<std::shared_ptr<asio::steady_timer>> waiters_;
};

// Sleeps inside a coroutine (a handler that "takes its time").
inline asio::awaitable<void> Sleep(Millis duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(duration);
  co_await timer.async_wait(kNoThrow);
}

// A net::Server listening on 127.0.0.1:0 and running on its own thread from construction.
// Destroy it before anything its handler refers to (declare it last).
class TestServer {
 public:
  TestServer(ServerOptions options, Handler handler, ErrorRenderer renderer = TestErrorRenderer) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<Server>(std::move(options), std::move(handler), std::move(renderer));
    if (auto listened = server_->Listen(); !listened) throw std::runtime_error(listened.error().message);
    run_ = std::async(std::launch::async, [server = server_.get()] { server->Run(); });
  }
  ~TestServer() {
    server_->Shutdown(Millis(0));
    run_.wait();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  Server& server() { return *server_; }
  uint16_t port() const { return server_->port(); }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", server_->port()); }

  // True once Server::Run() has returned (waits up to `timeout`).
  bool WaitRunReturned(Millis timeout) { return run_.wait_for(timeout) == std::future_status::ready; }

 private:
  std::unique_ptr<Server> server_;
  std::future<void> run_;
};

// Runs `body` as a coroutine on `ioc` (on this thread) until it finishes or `timeout` passes.
// Returns false on timeout. Exceptions from the body are rethrown.
inline bool RunOn(asio::io_context& ioc, std::function<asio::awaitable<void>()> body, Millis timeout = 20s) {
  struct State {
    bool finished = false;
    std::exception_ptr error;
  };
  auto state = std::make_shared<State>();
  asio::co_spawn(ioc, body(), [state, &ioc](std::exception_ptr e) {
    state->finished = true;
    state->error = e;
    ioc.stop();
  });
  ioc.restart();
  ioc.run_for(timeout);
  if (state->error) std::rethrow_exception(state->error);
  return state->finished;
}

// A blocking TCP client on a raw socket; every read has a deadline (poll), so a server
// that misbehaves fails the test instead of hanging it.
class RawClient {
 public:
  enum class End { kData, kEof, kReset, kTimeout, kError };

  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      connect_errno_ = errno;
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int connect_errno() const { return connect_errno_; }
  int fd() const { return fd_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Appends what one recv() returns to `out`.
  End ReadSome(std::string& out, Millis timeout) {
    if (fd_ < 0) return End::kError;
    pollfd p{fd_, POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, static_cast<int>(std::max<Millis::rep>(timeout.count(), 0)));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) return End::kTimeout;
    if (ready < 0) return End::kError;
    char buf[16 * 1024];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      return End::kData;
    }
    if (n == 0) return End::kEof;
    return errno == ECONNRESET ? End::kReset : End::kError;
  }

  // Reads (into the internal buffer) until the peer closes or resets, or `timeout` passes.
  End ReadUntilClose(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      if (left <= Millis(0)) return End::kTimeout;
      End end = ReadSome(buffer_, left);
      if (end != End::kData) return end;
    }
  }

  // Feeds bytes into `parser` until it is done, `until()` holds, the peer closes (put_eof is
  // applied), or `timeout` passes. Leftover bytes stay buffered for the next message.
  // kData = done or `until` held; otherwise how reading ended.
  template <class Parser>
  End Pump(Parser& parser, const std::function<bool()>& until, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      while (!buffer_.empty() && !parser.is_done()) {
        beast::error_code ec;
        std::size_t n = parser.put(asio::buffer(buffer_.data(), buffer_.size()), ec);
        buffer_.erase(0, n);
        if (ec == http::error::need_more) break;
        if (ec) return End::kError;
        if (n == 0) break;
      }
      if (parser.is_done() || (until && until())) return End::kData;
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      if (left <= Millis(0)) return End::kTimeout;
      End end = ReadSome(buffer_, left);
      if (end == End::kEof) {
        beast::error_code ec;
        if (parser.got_some()) parser.put_eof(ec);
        return parser.is_done() && !ec ? End::kData : End::kEof;
      }
      if (end != End::kData) return end;
    }
  }

  // Reads one complete response (a 1xx interim response counts as one).
  std::optional<Response> ReadResponse(Millis timeout = 5s) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(64 << 20);
    if (Pump(parser, nullptr, timeout) != End::kData || !parser.is_done()) return std::nullopt;
    return parser.release();
  }

  // Sends `request_text` and reads one response.
  std::optional<Response> RoundTrip(std::string_view request_text, Millis timeout = 5s) {
    if (!Send(request_text)) return std::nullopt;
    return ReadResponse(timeout);
  }

  std::string& buffer() { return buffer_; }

  void ShutdownWrite() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }
  // Orderly close (FIN).
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Abortive close (RST).
  void Abort() {
    if (fd_ < 0) return;
    linger lg{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    Close();
  }

 private:
  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buffer_;
};

// An upstream that answers every connection with one canned byte string written by a single
// send() (so the client receives it in one read), after reading the request; then closes at
// once (`close_after_send`) or waits for the client to close. One connection at a time, on its
// own thread. For wire shapes net::Server never produces.
class CannedUpstream {
 public:
  explicit CannedUpstream(std::string response, bool close_after_send = false)
      : response_(std::move(response)), close_after_send_(close_after_send) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("CannedUpstream: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedUpstream() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }

 private:
  static bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 5000) > 0;
  }
  void Serve() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::string in;
      char buf[4096];
      for (;;) {  // the head, then Content-Length bytes of body
        auto end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
          std::string head = in.substr(0, end);
          std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
          std::size_t length = 0;
          if (auto at = head.find("content-length:"); at != std::string::npos) {
            length = std::stoul(head.substr(at + 15));
          }
          if (in.size() >= end + 4 + length) break;
        }
        if (!Readable(fd)) break;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      ::send(fd, response_.data(), response_.size(), MSG_NOSIGNAL);
      if (close_after_send_) ::shutdown(fd, SHUT_WR);
      while (Readable(fd) && ::recv(fd, buf, sizeof buf, 0) > 0) {
      }
      ::close(fd);
    }
  }

  std::string response_;
  bool close_after_send_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// A minimal GET request text.
inline std::string GetRequest(std::string_view target = "/", std::string_view extra_headers = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n{}\r\n", target, extra_headers);
}

// A POST request text with a body and Content-Length.
inline std::string PostRequest(std::string_view target, std::string_view body, std::string_view extra_headers = "") {
  return fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n{}\r\n{}", target, body.size(),
                     extra_headers, body);
}

}  // namespace meridian::net::test_support
