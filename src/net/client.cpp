#include "net/client.hpp"

#include "net/wire.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <deque>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>

namespace meridian::net {
namespace {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using core::ErrorCode;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxResponseHeadBytes = 64 * 1024;
constexpr std::size_t kReadChunkBytes = 16 * 1024;

Clock::duration Remaining(Clock::time_point deadline) {
  auto left = deadline - Clock::now();
  return left > Clock::duration::zero() ? left : Clock::duration::zero();
}

Clock::duration Earlier(Millis limit, Clock::time_point deadline) {
  return std::min<Clock::duration>(limit, Remaining(deadline));
}

core::Error MakeError(ErrorCode code, std::string message, bool retryable) {
  core::Error e;
  e.code = code;
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

}  // namespace

// A pooled connection to one upstream: plain TCP or TLS over TCP.
class Connection {
 public:
  Connection(std::shared_ptr<const Upstream> upstream, beast::tcp_stream plain)
      : upstream_(std::move(upstream)), plain_(std::make_unique<beast::tcp_stream>(std::move(plain))) {
    Opened();
  }
  Connection(std::shared_ptr<const Upstream> upstream, std::unique_ptr<TlsStream> tls)
      : upstream_(std::move(upstream)), tls_(std::move(tls)) {
    Opened();
  }
  ~Connection() {
    Close();
    upstream_->open_.fetch_sub(1, std::memory_order_relaxed);
  }

  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  // Calls f with the stream (TLS or plain); both instantiations return the same awaitable type.
  template <class F>
  auto Visit(F&& f) {
    return tls_ ? f(*tls_) : f(*plain_);
  }

  void Close() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
  }

  // An idle connection is usable if the server has neither closed it nor sent anything.
  bool LooksAlive() {
    if (!lowest().socket().is_open()) return false;
    char byte;
    ssize_t n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  const std::shared_ptr<const Upstream>& upstream() const { return upstream_; }
  beast::flat_buffer& buffer() { return buffer_; }

 private:
  void Opened() {
    upstream_->open_.fetch_add(1, std::memory_order_relaxed);
    // Beast sizes a read by the buffer's free capacity, 512 bytes at least: an empty buffer
    // took two reads (and a poll) for a typical completion. 16 KiB takes it in one.
    buffer_.reserve(16 * 1024);
  }

 public:

  Clock::time_point created = Clock::now();
  Clock::time_point last_used = Clock::now();

 private:
  std::shared_ptr<const Upstream> upstream_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<TlsStream> tls_;
  beast::flat_buffer buffer_;
};

namespace {

// The idle connections of one io_context (one worker thread), per upstream. An Asio service,
// so it is torn down with its io_context before any socket it holds could outlive it.
class PoolService : public asio::execution_context::service {
 public:
  using key_type = PoolService;
  static inline asio::execution_context::id id;

  explicit PoolService(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  std::unique_ptr<Connection> Take(const Upstream& upstream) {
    auto it = idle_.find(&upstream);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    DropExpired(list);
    while (!list.empty()) {
      auto conn = std::move(list.back());  // most recently used first: warmest, least likely closed
      list.pop_back();
      upstream.pooled_.fetch_sub(1, std::memory_order_relaxed);
      if (conn->LooksAlive()) {
        if (list.empty()) idle_.erase(it);
        return conn;
      }
    }
    idle_.erase(it);
    return nullptr;
  }

  void Give(std::unique_ptr<Connection> conn) {
    if (shut_down_) return;
    const Upstream& upstream = *conn->upstream();
    const auto& opts = upstream.options();
    auto now = Clock::now();
    if (now - conn->created >= opts.pool_max_lifetime || opts.pool_max_idle == 0) return;
    auto& list = idle_[&upstream];
    DropExpired(list);
    if (list.size() >= opts.pool_max_idle) return;
    conn->last_used = now;
    list.push_back(std::move(conn));
    upstream.pooled_.fetch_add(1, std::memory_order_relaxed);
  }

  void Sweep() {
    for (auto it = idle_.begin(); it != idle_.end();) {
      DropExpired(it->second);
      it = it->second.empty() ? idle_.erase(it) : std::next(it);
    }
  }

 private:
  void shutdown() override {
    shut_down_ = true;
    for (auto& [upstream, list] : idle_) upstream->pooled_.fetch_sub(list.size(), std::memory_order_relaxed);
    idle_.clear();
  }

  // Oldest connections sit at the front (pushed back on release).
  static void DropExpired(std::deque<std::unique_ptr<Connection>>& list) {
    auto now = Clock::now();
    while (!list.empty()) {
      auto& front = list.front();
      const auto& opts = front->upstream()->options();
      if (now - front->last_used < opts.pool_idle_timeout &&
          now - front->created < opts.pool_max_lifetime) {
        break;
      }
      front->upstream()->pooled_.fetch_sub(1, std::memory_order_relaxed);
      list.pop_front();
    }
  }

  std::unordered_map<const Upstream*, std::deque<std::unique_ptr<Connection>>> idle_;
  bool shut_down_ = false;
};

PoolService& PoolOf(const asio::any_io_executor& executor) {
  return asio::use_service<PoolService>(asio::query(executor, asio::execution::context));
}

core::Error Aborted() {
  return MakeError(ErrorCode::kUpstreamUnavailable, "upstream request aborted", false);
}

asio::awaitable<core::Result<std::unique_ptr<Connection>>> Connect(
    std::shared_ptr<const Upstream> upstream, Clock::time_point deadline, CancelToken* cancel) {
  auto executor = co_await asio::this_coro::executor;
  const auto& url = upstream->url();
  const auto& opts = upstream->options();
  auto where = fmt::format("backend '{}' ({}:{})", upstream->id(), url.host, url.port);

  tcp::resolver resolver(executor);
  if (cancel) cancel->SetCloser([&resolver] { resolver.cancel(); });
  // The lookup runs on Asio's resolver thread and takes no deadline of its own: a timer
  // cancels it at the connect deadline. `resolving` tells a late timer the resolver is gone.
  auto resolving = std::make_shared<bool>(true);
  asio::steady_timer resolve_deadline(executor, Earlier(opts.connect_timeout, deadline));
  resolve_deadline.async_wait([resolving, r = &resolver](const beast::error_code& ec) {
    if (!ec && *resolving) r->cancel();
  });
  auto [rec, endpoints] = co_await resolver.async_resolve(url.host, std::to_string(url.port), kNoThrow);
  *resolving = false;
  bool resolve_timed_out = resolve_deadline.expiry() <= Clock::now();
  resolve_deadline.cancel();
  if (cancel && cancel->cancelled()) co_return std::unexpected(Aborted());
  if (rec && resolve_timed_out) {
    co_return std::unexpected(
        MakeError(ErrorCode::kUpstreamTimeout, fmt::format("resolving {} timed out", where), true));
  }
  if (rec) {
    co_return std::unexpected(
        MakeError(ErrorCode::kUpstreamUnavailable, fmt::format("cannot resolve {}: {}", where, rec.message()), true));
  }
  beast::tcp_stream stream(executor);
  if (cancel) cancel->SetCloser([&stream] { stream.close(); });
  stream.expires_after(Earlier(opts.connect_timeout, deadline));
  auto [cec, endpoint] = co_await stream.async_connect(endpoints, kNoThrow);
  if (cancel) cancel->SetCloser(nullptr);
  if (cancel && cancel->cancelled()) co_return std::unexpected(Aborted());
  if (cec) {
    if (cec == beast::error::timeout) {
      co_return std::unexpected(
          MakeError(ErrorCode::kUpstreamTimeout, fmt::format("connect to {} timed out", where), true));
    }
    co_return std::unexpected(
        MakeError(ErrorCode::kUpstreamUnavailable, fmt::format("cannot connect to {}: {}", where, cec.message()), true));
  }
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  upstream->connected_.fetch_add(1, std::memory_order_relaxed);

  if (!url.tls) co_return std::make_unique<Connection>(upstream, std::move(stream));

  auto tls = std::make_unique<TlsStream>(std::move(stream), *upstream->tls_context());
  if (!SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str())) {
    co_return std::unexpected(
        MakeError(ErrorCode::kUpstreamUnavailable, fmt::format("cannot set TLS SNI for {}", where), true));
  }
  tls->set_verify_mode(asio::ssl::verify_peer);
  tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
  beast::get_lowest_layer(*tls).expires_after(Earlier(opts.connect_timeout, deadline));
  TlsStream* raw_tls = tls.get();
  if (cancel) cancel->SetCloser([raw_tls] { beast::get_lowest_layer(*raw_tls).close(); });
  auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, kNoThrow);
  if (cancel) cancel->SetCloser(nullptr);
  if (cancel && cancel->cancelled()) co_return std::unexpected(Aborted());
  if (hec) {
    if (hec == beast::error::timeout) {
      co_return std::unexpected(
          MakeError(ErrorCode::kUpstreamTimeout, fmt::format("TLS handshake with {} timed out", where), true));
    }
    co_return std::unexpected(MakeError(ErrorCode::kUpstreamUnavailable,
                                        fmt::format("TLS handshake with {} failed: {}", where, hec.message()), true));
  }
  co_return std::make_unique<Connection>(upstream, std::move(tls));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Upstream

Upstream::Upstream(std::string id, core::Url url, UpstreamOptions options)
    : id_(std::move(id)), url_(std::move(url)), options_(std::move(options)) {}

core::Result<std::shared_ptr<Upstream>> Upstream::Create(std::string id, core::Url url,
                                                         UpstreamOptions options) {
  std::shared_ptr<Upstream> upstream(new Upstream(std::move(id), std::move(url), std::move(options)));
  if (upstream->url_.tls) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    beast::error_code ec;
    if (upstream->options_.ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(upstream->options_.ca_file, ec);
    }
    if (ec) {
      return core::Fail(core::ErrorCode::kInternal,
                        fmt::format("backend '{}': cannot load CA certificates{}: {}", upstream->id_,
                                    upstream->options_.ca_file.empty() ? "" : " from " + upstream->options_.ca_file,
                                    ec.message()));
    }
    upstream->tls_ = std::move(ctx);
  }
  return upstream;
}

// ---------------------------------------------------------------------------------------------
// Exchange

struct Exchange::State {
  std::shared_ptr<const Upstream> upstream;
  asio::any_io_executor executor;
  std::unique_ptr<Connection> conn;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::array<char, kReadChunkBytes> chunk;
  Clock::time_point deadline;
  bool done = false;
  bool aborted = false;
  bool reusable = false;

  core::Error ReadError(const beast::error_code& ec, std::string_view phase) const {
    const auto& id = upstream->id();
    if (aborted) return Aborted();
    if (ec == beast::error::timeout) {
      bool total = Clock::now() >= deadline;
      return MakeError(ErrorCode::kUpstreamTimeout,
                       fmt::format("backend '{}': {} timeout while waiting for the {}", id,
                                   total ? "total" : phase == "response body" ? "between-chunk" : "first-byte",
                                   phase),
                       false);  // the request was sent: another attempt could run it twice
    }
    return MakeError(ErrorCode::kUpstreamError,
                     fmt::format("backend '{}': connection failed while reading the {}: {}", id, phase, ec.message()),
                     false);
  }
};

asio::awaitable<core::Result<std::unique_ptr<Exchange>>> Exchange::Start(
    std::shared_ptr<const Upstream> upstream, UpstreamRequest request) {
  std::unique_ptr<Exchange> exchange(new Exchange());  // its destructor clears the closer
  // Default-initialised (not make_unique): the 16 KiB read buffer needs no zeroing.
  exchange->state_.reset(new State);
  State& st = *exchange->state_;
  st.upstream = upstream;
  st.executor = co_await asio::this_coro::executor;
  const auto& opts = upstream->options();
  const auto& url = upstream->url();
  st.deadline = Clock::now() + opts.total_timeout;

  http::fields& fields = request.headers;
  fields.set(http::field::host, url.HostHeader());
  if (!request.body.empty() || request.method == http::verb::post || request.method == http::verb::put) {
    fields.set(http::field::content_length, std::to_string(request.body.size()));
  }
  std::string head;
  head.reserve(512);
  AppendRequestHead(head, request.method, url.base_path + request.path, fields);
  std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(request.body)};

  PoolService& pool = PoolOf(st.executor);
  CancelToken* cancel = request.cancel.get();
  exchange->cancel_ = request.cancel;
  // A pooled connection may have been closed by the server a moment ago; if it fails before
  // any response byte arrives, the request is sent once more on a fresh connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    st.conn = attempt == 0 ? pool.Take(*upstream) : nullptr;
    bool reused = st.conn != nullptr;
    if (reused) {
      upstream->reused_.fetch_add(1, std::memory_order_relaxed);
    } else {
      if (cancel && cancel->cancelled()) co_return std::unexpected(Aborted());
      auto connected = co_await Connect(upstream, st.deadline, cancel);
      if (!connected) co_return std::unexpected(std::move(connected.error()));
      st.conn = std::move(*connected);
    }
    Connection& conn = *st.conn;
    if (cancel) {
      if (cancel->cancelled()) co_return std::unexpected(Aborted());
      State* state = &st;
      cancel->SetCloser([state] {
        state->aborted = true;
        state->conn->Close();
      });
    }
    conn.lowest().expires_after(Earlier(opts.first_byte_timeout, st.deadline));
    auto [wec, wn] = co_await conn.Visit(
        [&](auto& stream) { return asio::async_write(stream, wire, kNoThrow); });
    if (wec) {
      if (reused && wec != beast::error::timeout && !st.aborted) continue;
      co_return std::unexpected(st.ReadError(wec, "request write"));
    }
    st.parser.emplace();
    st.parser->header_limit(kMaxResponseHeadBytes);
    st.parser->body_limit(boost::none);
    auto [hec, hn] = co_await conn.Visit([&](auto& stream) {
      return http::async_read_header(stream, conn.buffer(), *st.parser, kNoThrow);
    });
    if (hec) {
      bool nothing_received = conn.buffer().size() == 0 && !st.parser->got_some();
      // Only a clean close with nothing received is the server closing an idle connection
      // under us; a reset after the request was written may mean it was read, and an LLM
      // request must not run twice.
      if (reused && nothing_received && !st.aborted &&
          (hec == http::error::end_of_stream || hec == asio::error::eof)) {
        continue;
      }
      if (hec == http::error::end_of_stream || hec == asio::error::eof) {
        co_return std::unexpected(MakeError(
            ErrorCode::kUpstreamError,
            fmt::format("backend '{}' closed the connection without a response", upstream->id()), false));
      }
      co_return std::unexpected(st.ReadError(hec, "response head"));
    }
    if (st.parser->is_done()) {
      st.done = true;
      st.reusable = st.parser->get().keep_alive();
    }
    co_return std::move(exchange);
  }
  co_return std::unexpected(MakeError(ErrorCode::kUpstreamError,
                                      fmt::format("backend '{}' closed the connection twice", upstream->id()),
                                      false));
}

Exchange::~Exchange() {
  if (cancel_) cancel_->SetCloser(nullptr);
  if (!state_ || !state_->conn) return;
  if (state_->done && state_->reusable && !state_->aborted) {
    PoolOf(state_->executor).Give(std::move(state_->conn));
  }
}

int Exchange::status() const { return static_cast<int>(state_->parser->get().result_int()); }

const http::fields& Exchange::headers() const { return state_->parser->get().base(); }

bool Exchange::done() const { return state_->done; }

core::Result<std::string_view> Exchange::ReadBuffered() {
  State& st = *state_;
  if (st.done || !st.conn) return std::string_view{};
  if (st.aborted) return std::unexpected(st.ReadError({}, "response body"));
  auto parsed = ParseBuffered();
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  return std::string_view(st.chunk.data(), *parsed);
}

core::Result<std::size_t> Exchange::ParseBuffered() {
  State& st = *state_;
  auto& buffer = st.conn->buffer();
  std::size_t produced = 0;
  while (buffer.size() > 0 && !st.parser->is_done() && produced < st.chunk.size()) {
    auto& body = st.parser->get().body();
    body.data = st.chunk.data() + produced;
    body.size = st.chunk.size() - produced;
    beast::error_code ec;
    std::size_t used = st.parser->put(buffer.data(), ec);
    buffer.consume(used);
    produced = st.chunk.size() - st.parser->get().body().size;
    if (ec == http::error::need_more) break;  // the rest has not arrived yet
    if (ec == http::error::need_buffer) continue;
    if (ec) {
      st.aborted = true;
      return std::unexpected(MakeError(
          ErrorCode::kUpstreamError,
          fmt::format("backend '{}' sent a malformed response body: {}", st.upstream->id(), ec.message()), false));
    }
    if (used == 0) break;
  }
  if (st.parser->is_done()) {
    st.done = true;
    st.reusable = st.parser->get().keep_alive();
  }
  return produced;
}

asio::awaitable<core::Result<std::string_view>> Exchange::ReadSome() {
  State& st = *state_;
  if (st.done) co_return std::string_view{};
  if (st.aborted) co_return std::unexpected(st.ReadError({}, "response body"));
  const auto& opts = st.upstream->options();
  for (;;) {
    // Bytes already received are parsed here, synchronously: an asynchronous read of them
    // would still cost a round through the scheduler (and a poll of the reactor).
    auto parsed = ParseBuffered();
    if (!parsed) co_return std::unexpected(std::move(parsed.error()));
    if (*parsed > 0 || st.done) co_return std::string_view(st.chunk.data(), *parsed);

    auto& body = st.parser->get().body();
    body.data = st.chunk.data();
    body.size = st.chunk.size();
    st.conn->lowest().expires_after(Earlier(opts.between_chunks_timeout, st.deadline));
    auto [ec, n] = co_await st.conn->Visit([&](auto& stream) {
      return http::async_read_some(stream, st.conn->buffer(), *st.parser, kNoThrow);
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec || st.aborted) {
      auto error = st.ReadError(ec, "response body");
      st.aborted = true;  // the connection is in an unknown state: never pool it
      co_return std::unexpected(std::move(error));
    }
    std::size_t got = st.chunk.size() - st.parser->get().body().size;
    if (st.parser->is_done()) {
      st.done = true;
      st.reusable = st.parser->get().keep_alive();
    }
    if (got > 0 || st.done) co_return std::string_view(st.chunk.data(), got);
  }
}

asio::awaitable<core::Result<std::string>> Exchange::ReadAll(std::size_t limit) {
  std::string out;
  if (auto length = state_->parser->content_length()) out.reserve(std::min<std::uint64_t>(*length, limit));
  for (;;) {
    auto piece = co_await ReadSome();
    if (!piece) co_return std::unexpected(std::move(piece.error()));
    if (piece->empty()) co_return out;
    if (out.size() + piece->size() > limit) {
      Abort();
      co_return std::unexpected(MakeError(
          ErrorCode::kUpstreamError,
          fmt::format("backend '{}' sent a response body over {} bytes", state_->upstream->id(), limit), false));
    }
    out.append(*piece);
  }
}

void Exchange::Abort() {
  if (!state_ || state_->aborted) return;
  state_->aborted = true;
  if (state_->conn) state_->conn->Close();
}

void SweepIdleConnections(asio::execution_context& context) {
  asio::use_service<PoolService>(context).Sweep();
}

}  // namespace meridian::net
