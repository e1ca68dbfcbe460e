#include "net/server.hpp"

#include "net/wire.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <list>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <fmt/format.h>

namespace meridian::net {
namespace {

using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

}  // namespace

class Session;

struct Server::Worker {
  // Declaration order is destruction order in reverse: sessions must outlive the io_context
  // (destroying it destroys suspended session coroutines, which unregister themselves), and
  // the acceptor must go before the io_context.
  std::list<Session*> sessions;
  // A socket is only ever used by the thread that owns its io_context, so the reactor's
  // per-descriptor locking is pure overhead; scheduler locking stays on (other threads post
  // shutdown work and call stop()).
  std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> drain_deadline;
  std::thread thread;
  bool io_running() const { return thread.joinable(); }
};

// One client connection: reads requests one after another and hands each to the handler.
// Lives on its worker's thread only.
class Session final : public Responder, public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, Server::Worker& worker, tcp::socket socket, const ServerOptions& opts)
      : server_(server), worker_(worker), opts_(opts), executor_(socket.get_executor()),
        stream_(std::move(socket)) {
    registry_it_ = worker_.sessions.insert(worker_.sessions.end(), this);
    buffer_.reserve(8 * 1024);  // most request heads and bodies in one read (Beast reads by capacity)
  }
  ~Session() override {
    worker_.sessions.erase(registry_it_);
    server_.ConnectionClosed();
  }

  static asio::awaitable<void> Run(std::shared_ptr<Session> self) { co_await self->Loop(); }

  // Called on this worker's thread during shutdown.
  void CloseIfIdle() {
    if (!busy_) CloseSocket();
  }
  void CloseSocket() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  // Responder.
  asio::awaitable<bool> Send(Response response) override {
    if (committed_ || closed_) co_return false;
    committed_ = true;
    response.keep_alive(keep_alive_ && !server_.draining());
    keep_alive_ = response.keep_alive();
    response.prepare_payload();
    head_.clear();
    AppendResponseHead(head_, response.result_int(), response.base());
    if (head_request_) {  // HEAD: the head only (RFC 9112 6.3)
      bool ok = co_await Write(asio::buffer(head_));
      co_return ok;
    }
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(response.body())};
    co_return co_await Write(buffers);
  }

  asio::awaitable<bool> StartStream(http::response_header<> head) override {
    if (committed_ || closed_) co_return false;
    committed_ = true;
    http::response<http::empty_body> res{std::move(head)};
    res.version(11);
    res.keep_alive(keep_alive_ && !server_.draining());
    keep_alive_ = res.keep_alive();
    res.chunked(true);
    head_.clear();
    AppendResponseHead(head_, res.result_int(), res.base());
    streaming_ = true;
    co_return co_await Write(asio::buffer(head_));
  }

  asio::awaitable<bool> WriteChunk(std::string_view data) override {
    if (!streaming_ || closed_) co_return false;
    if (data.empty()) co_return true;
    head_.clear();
    AppendChunkSize(head_, data.size());
    std::array<asio::const_buffer, 3> buffers{asio::buffer(head_), asio::buffer(data.data(), data.size()),
                                              asio::buffer("\r\n", 2)};
    co_return co_await Write(buffers);
  }

  asio::awaitable<bool> EndStream() override {
    if (!streaming_ || closed_) co_return false;
    streaming_ = false;
    co_return co_await Write(asio::buffer("0\r\n\r\n", 5));
  }

  bool committed() const override { return committed_; }

  void WatchPeerClose(std::function<void()> on_close) override {
    on_peer_close_ = std::move(on_close);
    if (watching_ || closed_ || peer_gone_) {
      if (peer_gone_ && on_peer_close_) std::exchange(on_peer_close_, nullptr)();
      return;
    }
    ArmWatch();
  }
  bool peer_gone() const override { return peer_gone_; }

  void Reset() override {
    if (closed_) return;
    beast::error_code ec;
    // Linger 0 makes close() send RST instead of FIN.
    stream_.socket().set_option(asio::socket_base::linger(true, 0), ec);
    stream_.socket().close(ec);
    closed_ = true;
    keep_alive_ = false;
  }

  asio::any_io_executor executor() const override { return executor_; }

 private:
  template <class Buffers>
  asio::awaitable<bool> Write(const Buffers& buffers) {
    stream_.expires_after(opts_.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, buffers, kNoThrow);
    co_return WriteDone(ec);
  }

  bool WriteDone(const beast::error_code& ec) {
    if (ec) {
      closed_ = true;
      keep_alive_ = false;
      return false;
    }
    return true;
  }

  void ArmWatch() {
    watching_ = true;
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this(), generation = generation_](const beast::error_code& ec) {
          self->OnReadable(ec, generation);
        });
  }

  void OnReadable(const beast::error_code& ec, uint64_t generation) {
    if (generation != generation_) return;  // a watch from an earlier request
    watching_ = false;
    if (ec || !busy_ || closed_) return;
    char byte;
    ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // pipelined request bytes: the client is alive; stop watching
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      ArmWatch();  // spurious wake-up
      return;
    }
    peer_gone_ = true;  // orderly close (n == 0) or reset
    if (on_peer_close_) std::exchange(on_peer_close_, nullptr)();
  }

  void DisarmWatch() {
    ++generation_;
    on_peer_close_ = nullptr;
    if (watching_) {
      watching_ = false;
      beast::error_code ec;
      stream_.socket().cancel(ec);  // only the wait is outstanding between requests
    }
  }

  // Sends a server-detected error and marks the connection for closing.
  asio::awaitable<void> SendError(http::status status, std::string_view message) {
    keep_alive_ = false;
    Response res = server_.render_error_(status, message);
    co_await Send(std::move(res));
  }

  asio::awaitable<void> Loop() {
    bool first = true;
    for (;;) {
      busy_ = false;
      if (server_.draining()) co_return;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
      parser.body_limit(opts_.max_body_bytes);

      // Idle phase: wait for the first byte of the next request. On a fresh connection the
      // header deadline runs from the accept; on a kept-alive one the idle deadline applies
      // first and the header deadline from the first byte.
      auto head_deadline = std::chrono::steady_clock::now() + opts_.header_timeout;
      if (buffer_.size() == 0) {
        if (first) {
          stream_.expires_at(head_deadline);
        } else {
          stream_.expires_after(opts_.idle_timeout);
        }
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kNoThrow);
        if (ec) co_return;  // idle timeout, close, or shutdown: nothing to answer
        buffer_.commit(n);
        if (!first) head_deadline = std::chrono::steady_clock::now() + opts_.header_timeout;
      }
      first = false;
      busy_ = true;

      // The whole head must arrive within the header deadline, however slowly it trickles.
      stream_.expires_at(head_deadline);
      auto [hec, hn] = co_await http::async_read_header(stream_, buffer_, parser, kNoThrow);
      if (hec) {
        co_await AnswerReadError(hec, /*in_body=*/false);
        co_return;
      }
      // An HTTP/1.0 client cannot understand 100 Continue: the expectation is ignored for it.
      if (parser.get().version() >= 11 && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream_.expires_after(opts_.write_timeout);
        auto [cec, cn] =
            co_await asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()), kNoThrow);
        if (cec) co_return;
      }
      if (!parser.is_done()) {
        stream_.expires_after(opts_.body_timeout);
        auto [bec, bn] = co_await http::async_read(stream_, buffer_, parser, kNoThrow);
        if (bec) {
          co_await AnswerReadError(bec, /*in_body=*/true);
          co_return;
        }
      }

      Request request = parser.release();
      keep_alive_ = request.keep_alive();
      head_request_ = request.method() == http::verb::head;
      committed_ = false;
      streaming_ = false;
      peer_gone_ = false;
      server_.in_flight_.fetch_add(1, std::memory_order_relaxed);
      co_await server_.handler_(request, *this);
      server_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
      DisarmWatch();
      if (!committed_ && !closed_ && !peer_gone_) {
        co_await SendError(http::status::internal_server_error, "the handler sent no response");
      }
      if (streaming_ && !closed_) co_await EndStream();  // a handler that forgot to end
      if (closed_ || !keep_alive_ || peer_gone_) {
        CloseSocket();
        co_return;
      }
    }
  }

  asio::awaitable<void> AnswerReadError(const beast::error_code& ec, bool in_body) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      co_return;  // the client left; nobody to answer
    }
    if (ec == beast::error::timeout) {
      // The socket was closed by the deadline; a 408 cannot be delivered on it.
      co_return;
    }
    if (ec == http::error::header_limit) {
      co_await SendError(http::status::request_header_fields_too_large,
                         fmt::format("request head exceeds {} bytes", opts_.max_header_bytes));
    } else if (ec == http::error::body_limit) {
      co_await SendError(http::status::payload_too_large,
                         fmt::format("request body exceeds {} bytes", opts_.max_body_bytes));
    } else if (ec == http::error::partial_message) {
      co_return;
    } else {
      co_await SendError(http::status::bad_request,
                         fmt::format("malformed HTTP request {}: {}", in_body ? "body" : "head",
                                     ec.message()));
    }
    CloseSocket();
  }

  Server& server_;
  Server::Worker& worker_;
  const ServerOptions& opts_;
  asio::any_io_executor executor_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string head_;  // serialised response head or chunk-size line, reused per write
  std::list<Session*>::iterator registry_it_;
  std::function<void()> on_peer_close_;
  uint64_t generation_ = 0;
  bool busy_ = false;
  bool head_request_ = false;
  bool keep_alive_ = true;
  bool committed_ = false;
  bool streaming_ = false;
  bool closed_ = false;
  bool watching_ = false;
  bool peer_gone_ = false;
};

namespace {

asio::awaitable<void> AcceptLoop(Server& server, Server::Worker& worker, const ServerOptions& opts,
                                 std::atomic<std::size_t>& open_connections) {
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  for (;;) {
    auto [ec, socket] = co_await worker.acceptor->async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !worker.acceptor->is_open()) co_return;
      // Out of descriptors or similar: back off instead of spinning.
      backoff.expires_after(std::chrono::milliseconds(20));
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    if (open_connections.load(std::memory_order_relaxed) >= opts.max_connections ||
        server.draining()) {
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    open_connections.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(server, worker, std::move(socket), opts);
    asio::co_spawn(*worker.ioc, Session::Run(std::move(session)), asio::detached);
  }
}

}  // namespace

Server::Server(ServerOptions options, Handler handler, ErrorRenderer render_error)
    : options_(std::move(options)), handler_(std::move(handler)), render_error_(std::move(render_error)) {
  if (options_.workers == 0) options_.workers = 1;
  for (unsigned i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>());
}

Server::~Server() {
  stopped_.store(true);
  for (auto& w : workers_) {
    if (w->io_running()) w->ioc->stop();
    if (w->thread.joinable()) w->thread.join();
  }
  // Destroying the workers destroys suspended sessions, which still use this Server's members:
  // do it here, while they are all alive.
  workers_.clear();
}

asio::io_context& Server::worker_context(unsigned index) { return *workers_.at(index)->ioc; }

core::Result<void> Server::Listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kInternal,
                      fmt::format("listen address '{}' is not an IP address", options_.host));
  }
  uint16_t port = options_.port;
  if (port != 0) {
    // SO_REUSEPORT would let this process join a port another process is listening on (the
    // kernel would then split connections between them). A probe bound without it fails if
    // anything listens there already.
    tcp::acceptor probe(*workers_.front()->ioc);
    tcp::endpoint endpoint(address, port);
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec) {
      return core::Fail(core::ErrorCode::kInternal,
                        fmt::format("cannot listen on {}:{}: {}", options_.host, port, ec.message()));
    }
    probe.close(ec);
  }
  for (auto& w : workers_) {
    tcp::endpoint endpoint(address, port);
    w->acceptor.emplace(*w->ioc);
    auto& acc = *w->acceptor;
    acc.open(endpoint.protocol(), ec);
    if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc.set_option(ReusePort(true), ec);
    if (!ec) acc.bind(endpoint, ec);
    if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return core::Fail(core::ErrorCode::kInternal,
                        fmt::format("cannot listen on {}:{}: {}", options_.host, port, ec.message()));
    }
    port = acc.local_endpoint().port();  // with port 0, every worker joins the first one's port
  }
  port_ = port;
  return {};
}

void Server::Run() {
  for (auto& w : workers_) {
    asio::co_spawn(*w->ioc, AcceptLoop(*this, *w, options_, open_connections_), asio::detached);
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([worker] {
      auto guard = asio::make_work_guard(*worker->ioc);
      worker->ioc->run();
    });
  }
  for (auto& w : workers_) w->thread.join();
}

void Server::Shutdown(Millis grace) {
  if (draining_.exchange(true)) return;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    Server* server = this;
    asio::post(*worker->ioc, [this, server, worker, grace] {
      beast::error_code ignored;
      if (worker->acceptor) worker->acceptor->close(ignored);
      // Copy: closing a session may run no handler inline, but be safe against mutation.
      std::vector<Session*> sessions(worker->sessions.begin(), worker->sessions.end());
      for (Session* s : sessions) s->CloseIfIdle();
      worker->drain_deadline.emplace(*worker->ioc, grace);
      worker->drain_deadline->async_wait([server, worker](const beast::error_code& ec) {
        if (ec) return;
        // Grace is over: whatever is still open is cut, and the worker stops.
        std::vector<Session*> rest(worker->sessions.begin(), worker->sessions.end());
        for (Session* s : rest) s->CloseSocket();
        server->StopAll();
      });
      if (open_connections_.load() == 0) StopAll();
    });
  }
}

void Server::ConnectionClosed() {
  if (open_connections_.fetch_sub(1, std::memory_order_acq_rel) == 1 && draining()) StopAll();
}

void Server::StopAll() {
  // io_context::stop() is thread-safe; once set, stopped_ keeps sessions destroyed during
  // teardown from touching the workers again.
  if (stopped_.exchange(true)) return;
  for (auto& w : workers_) w->ioc->stop();
}

}  // namespace meridian::net
