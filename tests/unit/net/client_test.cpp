// net::Upstream / net::Exchange against a real in-process upstream (a net::Server on its own
// thread, or a minimal TLS server): exchanges, incremental reads, pooling, stale connections,
// deadlines, cancellation and TLS verification. The client runs on the test thread's
// io_context.

#include "net/client.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <gtest/gtest.h>

#include "core/url.hpp"
#include "test_support.hpp"

namespace meridian::net {
namespace {

using namespace test_support;
using core::ErrorCode;
using tcp = asio::ip::tcp;

ServerOptions UpstreamServerOptions() {
  ServerOptions o;
  o.workers = 1;
  o.header_timeout = 5s;
  o.body_timeout = 5s;
  o.idle_timeout = 5s;
  o.write_timeout = 5s;
  return o;
}

std::shared_ptr<const Upstream> MakeUpstream(const std::string& url, UpstreamOptions options = {}) {
  auto parsed = core::ParseUrl(url);
  if (!parsed) throw std::runtime_error("bad url " + url + ": " + parsed.error().message);
  auto upstream = Upstream::Create("test", std::move(*parsed), std::move(options));
  if (!upstream) throw std::runtime_error(upstream.error().message);
  return std::move(*upstream);
}

UpstreamRequest Get(std::string path) {
  UpstreamRequest req;
  req.method = http::verb::get;
  req.path = std::move(path);
  return req;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Answers every request with 200 and "body-<n>" (n counts requests from 1).
Handler CountingHandler(std::atomic<int>& requests) {
  return [&requests](Request&, Responder& out) -> asio::awaitable<void> {
    int n = ++requests;
    Response res{http::status::ok, 11};
    res.body() = fmt::format("body-{}", n);
    co_await out.Send(std::move(res));
  };
}

// One complete exchange: status and body, or the error.
struct Outcome {
  int status = 0;
  std::string body;
  std::optional<core::Error> error;
};

asio::awaitable<Outcome> FullExchange(std::shared_ptr<const Upstream> upstream, UpstreamRequest request) {
  Outcome out;
  auto ex = co_await Exchange::Start(upstream, std::move(request));
  if (!ex) {
    out.error = ex.error();
    co_return out;
  }
  out.status = (*ex)->status();
  auto body = co_await (*ex)->ReadAll(1 << 20);
  if (!body) {
    out.error = body.error();
    co_return out;
  }
  out.body = std::move(*body);
  co_return out;
}

// ---------------------------------------------------------------------------------------------
// Exchanges

TEST(ClientTest, ExchangeReturnsStatusHeadersAndBody) {
  std::mutex mu;
  Request seen;
  TestServer ts(UpstreamServerOptions(), [&](Request& req, Responder& out) -> asio::awaitable<void> {
    {
      std::lock_guard lock(mu);
      seen = req;
    }
    Response res{http::status::created, 11};
    res.set("x-answer", "42");
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"ok":true})";
    co_await out.Send(std::move(res));
  });
  auto upstream = MakeUpstream(ts.url() + "/v1");
  EXPECT_EQ(upstream->tls_context(), nullptr);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    UpstreamRequest req;
    req.method = http::verb::post;
    req.path = "/things";
    req.headers.set("x-custom", "yes");
    req.headers.set(http::field::content_type, "application/json");
    req.body = R"({"q":1})";
    auto ex = co_await Exchange::Start(upstream, std::move(req));
    EXPECT_TRUE(ex) << ex.error().message;
    if (!ex) co_return;
    EXPECT_EQ((*ex)->status(), 201);
    EXPECT_EQ((*ex)->headers()["x-answer"], "42");
    EXPECT_EQ((*ex)->headers()[http::field::content_type], "application/json");
    EXPECT_FALSE((*ex)->done());
    auto body = co_await (*ex)->ReadAll(1024);
    EXPECT_TRUE(body);
    if (body) {
      EXPECT_EQ(*body, R"({"ok":true})");
    }
    EXPECT_TRUE((*ex)->done());
    auto after = co_await (*ex)->ReadSome();  // reading past the end yields nothing
    EXPECT_TRUE(after && after->empty());
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.method(), http::verb::post);
  EXPECT_EQ(seen.target(), "/v1/things");  // base path + request path
  EXPECT_EQ(seen[http::field::host], fmt::format("127.0.0.1:{}", ts.port()));
  EXPECT_EQ(seen["x-custom"], "yes");
  EXPECT_EQ(seen[http::field::content_length], "7");
  EXPECT_EQ(seen.body(), R"({"q":1})");
  EXPECT_TRUE(seen.keep_alive());
}

TEST(ClientTest, ReadSomeYieldsChunksAsTheyAreProduced) {
  Gate second_chunk;
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    head.set(http::field::content_type, "text/event-stream");
    co_await out.StartStream(std::move(head));
    co_await out.WriteChunk("first;");
    co_await second_chunk.Wait();
    co_await out.WriteChunk("second;");
    co_await out.EndStream();
  });
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/stream"));
    EXPECT_TRUE(ex) << ex.error().message;
    if (!ex) co_return;
    EXPECT_EQ((*ex)->headers()[http::field::content_type], "text/event-stream");
    std::string got;
    while (got.size() < 6) {  // the first chunk, while the second is not even written
      auto piece = co_await (*ex)->ReadSome();
      EXPECT_TRUE(piece) << piece.error().message;
      if (!piece || piece->empty()) co_return;
      got += *piece;
    }
    EXPECT_EQ(got, "first;");
    EXPECT_FALSE((*ex)->done());
    second_chunk.Open();
    while (!(*ex)->done()) {
      auto piece = co_await (*ex)->ReadSome();
      EXPECT_TRUE(piece) << piece.error().message;
      if (!piece) co_return;
      got += *piece;
    }
    EXPECT_EQ(got, "first;second;");
  }));
  EXPECT_EQ(upstream->pooled(), 1u);  // read to the end: back in the pool
}

TEST(ClientTest, ReadAllFailsPastTheLimitAndDropsTheConnection) {
  TestServer ts(UpstreamServerOptions(), [](Request&, Responder& out) -> asio::awaitable<void> {
    Response res{http::status::ok, 11};
    res.body() = std::string(100, 'x');
    co_await out.Send(std::move(res));
  });
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(ex);
    if (!ex) co_return;
    auto body = co_await (*ex)->ReadAll(10);
    EXPECT_FALSE(body);
    if (body) co_return;
    EXPECT_EQ(body.error().code, ErrorCode::kUpstreamError);
    EXPECT_TRUE(Contains(body.error().message, "over 10 bytes")) << body.error().message;
  }));
  EXPECT_EQ(upstream->pooled(), 0u);
}

TEST(ClientTest, EmptyBodyResponseIsDoneAfterTheHead) {
  TestServer ts(UpstreamServerOptions(), [](Request&, Responder& out) -> asio::awaitable<void> {
    co_await out.Send(Response{http::status::no_content, 11});
  });
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(ex);
    if (!ex) co_return;
    EXPECT_EQ((*ex)->status(), 204);
    EXPECT_TRUE((*ex)->done());
  }));
  EXPECT_EQ(upstream->pooled(), 1u);
}

TEST(ClientTest, WholeChunkedResponseInOneSegmentIsParsed) {
  CannedUpstream canned(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Trace: t1\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer-Field: x\r\n\r\n");
  auto upstream = MakeUpstream(fmt::format("http://127.0.0.1:{}", canned.port()));
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(ex) << ex.error().message;
    if (!ex) co_return;
    EXPECT_EQ((*ex)->headers()["x-trace"], "t1");
    auto body = co_await (*ex)->ReadAll(1024);
    EXPECT_TRUE(body) << body.error().message;
    if (body) {
      EXPECT_EQ(*body, "hello world");
    }
    EXPECT_TRUE((*ex)->done());
  }, 5s));
  EXPECT_EQ(upstream->pooled(), 1u);
}

TEST(ClientTest, MalformedChunkFramingIsAnUpstreamError) {
  CannedUpstream canned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n");
  auto upstream = MakeUpstream(fmt::format("http://127.0.0.1:{}", canned.port()));
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(ex) << ex.error().message;
    if (!ex) co_return;
    auto body = co_await (*ex)->ReadAll(1024);
    EXPECT_FALSE(body);
    if (!body) {
      EXPECT_EQ(body.error().code, ErrorCode::kUpstreamError);
    }
  }, 5s));
  EXPECT_EQ(upstream->pooled(), 0u);
}

TEST(ClientTest, MalformedResponseHeadIsAnUpstreamError) {
  CannedUpstream canned("SMTP ready\r\n\r\n", /*close_after_send=*/true);
  auto upstream = MakeUpstream(fmt::format("http://127.0.0.1:{}", canned.port()));
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_FALSE(ex);
    if (!ex) {
      EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamError);
      EXPECT_FALSE(ex.error().retryable);
    }
  }, 5s));
}

TEST(ClientTest, BodyDelimitedByCloseIsReadToTheEndAndNotPooled) {
  CannedUpstream canned("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", /*close_after_send=*/true);
  auto upstream = MakeUpstream(fmt::format("http://127.0.0.1:{}", canned.port()));
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto outcome = co_await FullExchange(upstream, Get("/"));
    EXPECT_FALSE(outcome.error) << outcome.error->message;
    EXPECT_EQ(outcome.body, "until the end");
  }, 5s));
  EXPECT_EQ(upstream->pooled(), 0u);
  EXPECT_EQ(upstream->open(), 0u);
}

TEST(ClientTest, ServerClosingWithoutAResponseIsAnUpstreamError) {
  CannedUpstream canned("", /*close_after_send=*/true);
  auto upstream = MakeUpstream(fmt::format("http://127.0.0.1:{}", canned.port()));
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_FALSE(ex);
    if (!ex) {
      EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamError);
      EXPECT_TRUE(Contains(ex.error().message, "closed the connection without a response")) << ex.error().message;
    }
  }, 5s));
  EXPECT_EQ(upstream->connected(), 1u);  // a fresh connection is not retried
}

// ---------------------------------------------------------------------------------------------
// Pooling

TEST(ClientTest, SequentialExchangesReuseThePooledConnection) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  auto upstream = MakeUpstream(ts.url());
  {
    asio::io_context ioc;
    ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
      auto first = co_await FullExchange(upstream, Get("/"));
      EXPECT_FALSE(first.error);
      EXPECT_EQ(first.body, "body-1");
      EXPECT_EQ(upstream->pooled(), 1u);
      auto second = co_await FullExchange(upstream, Get("/"));
      EXPECT_FALSE(second.error);
      EXPECT_EQ(second.body, "body-2");
    }));
    EXPECT_EQ(upstream->connected(), 1u);
    EXPECT_EQ(upstream->reused(), 1u);
    EXPECT_EQ(upstream->pooled(), 1u);
    EXPECT_EQ(upstream->open(), 1u);
    EXPECT_EQ(ts.server().open_connections(), 1u);
  }
  // Destroying the io_context closes its pool.
  EXPECT_EQ(upstream->pooled(), 0u);
  EXPECT_EQ(upstream->open(), 0u);
}

TEST(ClientTest, PoolsArePerIoContext) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  auto upstream = MakeUpstream(ts.url());
  asio::io_context a, b;
  ASSERT_TRUE(RunOn(a, [&]() -> asio::awaitable<void> { EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error); }));
  ASSERT_TRUE(RunOn(b, [&]() -> asio::awaitable<void> { EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error); }));
  EXPECT_EQ(upstream->connected(), 2u);
  EXPECT_EQ(upstream->reused(), 0u);
  EXPECT_EQ(upstream->pooled(), 2u);  // summed over both contexts
}

TEST(ClientTest, PoolMaxIdleZeroNeverReuses) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  UpstreamOptions opts;
  opts.pool_max_idle = 0;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error);
  }));
  EXPECT_EQ(upstream->connected(), 3u);
  EXPECT_EQ(upstream->reused(), 0u);
  EXPECT_EQ(upstream->pooled(), 0u);
  EXPECT_EQ(upstream->open(), 0u);
}

TEST(ClientTest, PoolKeepsAtMostMaxIdleConnections) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  UpstreamOptions opts;
  opts.pool_max_idle = 1;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    // Two exchanges open at once need two connections; only one goes back to the pool.
    auto a = co_await Exchange::Start(upstream, Get("/"));
    auto b = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(a && b);
    if (!a || !b) co_return;
    EXPECT_TRUE(co_await (*a)->ReadAll(100));
    EXPECT_TRUE(co_await (*b)->ReadAll(100));
    a->reset();
    b->reset();
  }));
  EXPECT_EQ(upstream->connected(), 2u);
  EXPECT_EQ(upstream->pooled(), 1u);
  EXPECT_EQ(upstream->open(), 1u);
}

TEST(ClientTest, ResponseNotReadToTheEndIsNotPooled) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    {
      auto ex = co_await Exchange::Start(upstream, Get("/"));
      EXPECT_TRUE(ex);
      // Dropped with its body unread.
    }
    EXPECT_EQ(upstream->pooled(), 0u);
    EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error);
  }));
  EXPECT_EQ(upstream->connected(), 2u);
  EXPECT_EQ(upstream->reused(), 0u);
}

TEST(ClientTest, AbortedExchangeIsNotPooled) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    {
      auto ex = co_await Exchange::Start(upstream, Get("/"));
      EXPECT_TRUE(ex);
      if (!ex) co_return;
      (*ex)->Abort();
      auto piece = co_await (*ex)->ReadSome();
      EXPECT_FALSE(piece);
      if (!piece) {
        EXPECT_EQ(piece.error().code, ErrorCode::kUpstreamUnavailable);
      }
    }
    {
      // Aborted after the body was read completely: still never pooled.
      auto ex = co_await Exchange::Start(upstream, Get("/"));
      EXPECT_TRUE(ex);
      if (!ex) co_return;
      EXPECT_TRUE(co_await (*ex)->ReadAll(100));
      (*ex)->Abort();
    }
    EXPECT_EQ(upstream->pooled(), 0u);
    EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error);
  }));
  EXPECT_EQ(upstream->connected(), 3u);
  EXPECT_EQ(upstream->reused(), 0u);
}

TEST(ClientTest, AbortFromAnotherCoroutineEndsAPendingRead) {
  Gate never;
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    co_await out.StartStream(std::move(head));
    co_await out.WriteChunk("x");
    co_await never.Wait(10s);
  });
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(ex);
    if (!ex) co_return;
    auto first = co_await (*ex)->ReadSome();
    EXPECT_TRUE(first && *first == "x");
    Exchange* raw = ex->get();
    asio::post(ioc, [raw] { raw->Abort(); });
    auto start = Clock::now();
    auto piece = co_await (*ex)->ReadSome();
    EXPECT_LT(Since(start), 1000ms);
    EXPECT_FALSE(piece);
    if (!piece) {
      EXPECT_EQ(piece.error().code, ErrorCode::kUpstreamUnavailable);
    }
  }, 5s));
  EXPECT_EQ(upstream->pooled(), 0u);
}

TEST(ClientTest, IdleConnectionClosedByTheServerIsReplaced) {
  ServerOptions o = UpstreamServerOptions();
  o.idle_timeout = 150ms;
  std::atomic<int> requests{0};
  TestServer ts(o, CountingHandler(requests));
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error);
  }));
  ASSERT_EQ(upstream->pooled(), 1u);
  // The server's idle deadline closes the pooled connection.
  ASSERT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto second = co_await FullExchange(upstream, Get("/"));
    EXPECT_FALSE(second.error) << second.error->message;
    EXPECT_EQ(second.body, "body-2");
  }));
  EXPECT_EQ(upstream->connected(), 2u);
  EXPECT_EQ(requests.load(), 2);
}

TEST(ClientTest, PooledConnectionResetAfterTheRequestIsNotRetried) {
  // The second request (the first on the reused connection) is read by the server, which then
  // resets the connection without answering. The request may have run, so sending it again
  // could run an LLM request twice: the error is returned instead. (A pooled connection the
  // server had already closed is replaced: StaleConnectionIsReplaced above.)
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    int n = ++requests;
    if (n == 2) {
      out.Reset();
      co_return;
    }
    Response res{http::status::ok, 11};
    res.body() = fmt::format("body-{}", n);
    co_await out.Send(std::move(res));
  });
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await FullExchange(upstream, Get("/"))).body, "body-1");
    auto second = co_await FullExchange(upstream, Get("/"));
    EXPECT_TRUE(second.error);
    if (second.error) EXPECT_EQ(second.error->code, ErrorCode::kUpstreamError) << second.error->message;
  }));
  EXPECT_EQ(upstream->connected(), 1u);
  EXPECT_EQ(upstream->reused(), 1u);
  EXPECT_EQ(requests.load(), 2);
}

TEST(ClientTest, FreshConnectionThatFailsIsNotRetried) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    ++requests;
    out.Reset();
    co_return;
  });
  auto upstream = MakeUpstream(ts.url());
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_FALSE(ex);
    if (ex) co_return;
    EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamError) << ex.error().message;
    EXPECT_FALSE(ex.error().retryable);
  }));
  EXPECT_EQ(upstream->connected(), 1u);
  EXPECT_EQ(requests.load(), 1);
}

TEST(ClientTest, ConnectionPastItsLifetimeIsNotReused) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  UpstreamOptions opts;
  opts.pool_max_lifetime = 100ms;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error);
    co_await Sleep(150ms);  // time itself is the condition here
    EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error);
  }));
  EXPECT_EQ(upstream->connected(), 2u);
  EXPECT_EQ(upstream->reused(), 0u);
}

TEST(ClientTest, SweepClosesConnectionsPastTheIdleTimeout) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  UpstreamOptions opts;
  opts.pool_idle_timeout = 100ms;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    EXPECT_FALSE((co_await FullExchange(upstream, Get("/"))).error);
    EXPECT_EQ(upstream->pooled(), 1u);
    SweepIdleConnections(ioc);  // still fresh
    EXPECT_EQ(upstream->pooled(), 1u);
    co_await Sleep(150ms);
    SweepIdleConnections(ioc);
    EXPECT_EQ(upstream->pooled(), 0u);
    EXPECT_EQ(upstream->open(), 0u);
  }));
  EXPECT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
}

// ---------------------------------------------------------------------------------------------
// Deadlines and connect failures

TEST(ClientTest, FirstByteTimeout) {
  Gate never;
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    co_await never.Wait(10s);
    co_await out.Send(Response{http::status::ok, 11});
  });
  UpstreamOptions opts;
  opts.first_byte_timeout = 200ms;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto start = Clock::now();
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    auto elapsed = Since(start);
    EXPECT_FALSE(ex);
    if (ex) co_return;
    EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamTimeout);
    EXPECT_TRUE(Contains(ex.error().message, "first-byte")) << ex.error().message;
    EXPECT_GE(elapsed, 180ms);
    EXPECT_LT(elapsed, 2000ms);
  }));
  EXPECT_EQ(upstream->pooled(), 0u);
}

TEST(ClientTest, BetweenChunksTimeout) {
  Gate never;
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    co_await out.StartStream(std::move(head));
    co_await out.WriteChunk("a");
    co_await never.Wait(10s);
  });
  UpstreamOptions opts;
  opts.between_chunks_timeout = 200ms;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(ex);
    if (!ex) co_return;
    auto first = co_await (*ex)->ReadSome();
    EXPECT_TRUE(first && *first == "a");
    auto start = Clock::now();
    auto second = co_await (*ex)->ReadSome();
    auto elapsed = Since(start);
    EXPECT_FALSE(second);
    if (second) co_return;
    EXPECT_EQ(second.error().code, ErrorCode::kUpstreamTimeout);
    EXPECT_TRUE(Contains(second.error().message, "between-chunk")) << second.error().message;
    EXPECT_GE(elapsed, 180ms);
    EXPECT_LT(elapsed, 2000ms);
  }));
  EXPECT_EQ(upstream->pooled(), 0u);
}

TEST(ClientTest, TotalTimeoutCutsASteadyStream) {
  TestServer ts(UpstreamServerOptions(), [](Request&, Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    co_await out.StartStream(std::move(head));
    for (int i = 0; i < 200; ++i) {  // a chunk every 25 ms for up to 5 s
      if (!co_await out.WriteChunk("tick;")) co_return;
      co_await Sleep(25ms);
    }
    co_await out.EndStream();
  });
  UpstreamOptions opts;
  opts.total_timeout = 400ms;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto start = Clock::now();
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_TRUE(ex);
    if (!ex) co_return;
    std::size_t received = 0;
    for (;;) {
      auto piece = co_await (*ex)->ReadSome();
      if (!piece) {
        EXPECT_EQ(piece.error().code, ErrorCode::kUpstreamTimeout);
        EXPECT_TRUE(Contains(piece.error().message, "total")) << piece.error().message;
        break;
      }
      EXPECT_FALSE(piece->empty()) << "the stream should not end before the total deadline";
      if (piece->empty()) co_return;
      received += piece->size();
    }
    auto elapsed = Since(start);
    EXPECT_GT(received, 0u);
    EXPECT_GE(elapsed, 380ms);
    EXPECT_LT(elapsed, 3000ms);
  }));
}

TEST(ClientTest, TotalTimeoutAlsoBoundsTheWaitForTheHead) {
  Gate never;
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    co_await never.Wait(10s);
    co_await out.Send(Response{http::status::ok, 11});
  });
  UpstreamOptions opts;
  opts.total_timeout = 200ms;
  auto upstream = MakeUpstream(ts.url(), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto start = Clock::now();
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_FALSE(ex);
    if (ex) co_return;
    EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamTimeout);
    EXPECT_TRUE(Contains(ex.error().message, "total timeout while waiting for the response head"))
        << ex.error().message;
    EXPECT_GE(Since(start), 180ms);
    EXPECT_LT(Since(start), 2000ms);
  }));
}

// A port on 127.0.0.1 that nothing listens on.
uint16_t ClosedPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

TEST(ClientTest, ConnectRefusedIsUnavailableAndRetryable) {
  uint16_t port = ClosedPort();
  auto upstream = MakeUpstream(fmt::format("http://127.0.0.1:{}", port));
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    auto start = Clock::now();
    auto ex = co_await Exchange::Start(upstream, Get("/"));
    EXPECT_LT(Since(start), 2000ms);
    EXPECT_FALSE(ex);
    if (ex) co_return;
    EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamUnavailable);
    EXPECT_TRUE(ex.error().retryable);
    EXPECT_TRUE(Contains(ex.error().message, fmt::format("cannot connect to backend 'test' (127.0.0.1:{})", port)))
        << ex.error().message;
  }));
  EXPECT_EQ(upstream->connected(), 0u);
  EXPECT_EQ(upstream->open(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Cancellation

TEST(ClientTest, CancelWhileWaitingForTheHeadEndsTheExchangeAndTheServerSeesThePeerClose) {
  Gate handler_started, never;
  Signal peer_closed;
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    out.WatchPeerClose([&] {
      peer_closed.Notify();
      never.Open();
    });
    handler_started.Open();
    co_await never.Wait(10s);
  });
  auto upstream = MakeUpstream(ts.url());
  auto token = std::make_shared<CancelToken>();
  Clock::time_point cancelled_at;
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    asio::co_spawn(
        ioc,
        [](Gate* started, std::shared_ptr<CancelToken> token, Clock::time_point* at) -> asio::awaitable<void> {
          co_await started->Wait(5s);
          *at = Clock::now();
          token->Cancel();
        }(&handler_started, token, &cancelled_at),
        asio::detached);
    UpstreamRequest req = Get("/");
    req.cancel = token;
    auto ex = co_await Exchange::Start(upstream, std::move(req));
    auto done_at = Clock::now();
    EXPECT_TRUE(handler_started.is_open());
    EXPECT_LT(done_at - cancelled_at, 1000ms);
    EXPECT_FALSE(ex);
    if (ex) co_return;
    EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamUnavailable);
    EXPECT_TRUE(Contains(ex.error().message, "aborted")) << ex.error().message;
  }, 5s));
  EXPECT_TRUE(token->cancelled());
  EXPECT_TRUE(peer_closed.WaitFor(2s));
  EXPECT_EQ(upstream->pooled(), 0u);
}

TEST(ClientTest, CancelledTokenNeverConnects) {
  std::atomic<int> requests{0};
  TestServer ts(UpstreamServerOptions(), CountingHandler(requests));
  auto upstream = MakeUpstream(ts.url());
  auto token = std::make_shared<CancelToken>();
  token->Cancel();
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    UpstreamRequest req = Get("/");
    req.cancel = token;
    auto ex = co_await Exchange::Start(upstream, std::move(req));
    EXPECT_FALSE(ex);
    if (!ex) {
      EXPECT_EQ(ex.error().code, ErrorCode::kUpstreamUnavailable);
    }
  }));
  EXPECT_EQ(upstream->connected(), 0u);
  EXPECT_EQ(requests.load(), 0);
}

TEST(ClientTest, CancelWhileReadingTheBodyEndsTheReadPromptly) {
  Gate never;
  Signal peer_closed;
  TestServer ts(UpstreamServerOptions(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    out.WatchPeerClose([&] {
      peer_closed.Notify();
      never.Open();
    });
    http::response_header<> head;
    head.result(http::status::ok);
    co_await out.StartStream(std::move(head));
    co_await out.WriteChunk("partial");
    co_await never.Wait(10s);
  });
  auto upstream = MakeUpstream(ts.url());
  auto token = std::make_shared<CancelToken>();
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    UpstreamRequest req = Get("/");
    req.cancel = token;
    auto ex = co_await Exchange::Start(upstream, std::move(req));
    EXPECT_TRUE(ex);
    if (!ex) co_return;
    std::string got;
    while (got.size() < 7) {
      auto piece = co_await (*ex)->ReadSome();
      EXPECT_TRUE(piece);
      if (!piece || piece->empty()) co_return;
      got += *piece;
    }
    asio::post(ioc, [token] { token->Cancel(); });
    auto start = Clock::now();
    auto piece = co_await (*ex)->ReadSome();
    EXPECT_LT(Since(start), 1000ms);
    EXPECT_FALSE(piece);
    if (!piece) {
      EXPECT_EQ(piece.error().code, ErrorCode::kUpstreamUnavailable);
    }
  }, 5s));
  EXPECT_TRUE(peer_closed.WaitFor(2s));
  EXPECT_EQ(upstream->pooled(), 0u);
}

// ---------------------------------------------------------------------------------------------
// TLS

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

KeyPtr NewKey() { return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

// A certificate for `key` named `cn`, signed by `issuer` (self-signed when null). `san` is an
// OpenSSL subjectAltName value ("DNS:localhost,IP:127.0.0.1"); empty for a CA.
CertPtr NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, const std::string& san,
                long serial) {
  CertPtr cert(X509_new());
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error(fmt::format("bad extension {}", value));
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_subject_key_identifier, "hash");
  if (san.empty()) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_basic_constraints, "critical,CA:FALSE");
    add(NID_key_usage, "critical,digitalSignature");
    add(NID_ext_key_usage, "serverAuth");
    add(NID_subject_alt_name, san.c_str());
    add(NID_authority_key_identifier, "keyid:always");
  }
  if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) throw std::runtime_error("X509_sign failed");
  return cert;
}

template <class Write>
std::string ToPem(Write write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

std::string CertPem(X509* cert) {
  return ToPem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); });
}
std::string KeyPem(EVP_PKEY* key) {
  return ToPem([&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
}

// A throwaway CA and a server certificate it signed, as PEM.
struct TestPki {
  std::string ca_pem, cert_pem, key_pem;
};

TestPki MakePki(const std::string& server_cn, const std::string& san) {
  KeyPtr ca_key = NewKey();
  CertPtr ca = NewCert(ca_key.get(), "Meridian Test CA", nullptr, nullptr, "", 1);
  KeyPtr key = NewKey();
  CertPtr cert = NewCert(key.get(), server_cn, ca.get(), ca_key.get(), san, 2);
  return {CertPem(ca.get()), CertPem(cert.get()), KeyPem(key.get())};
}

// Serves one request per TLS connection ("hello over tls") on 127.0.0.1:0, on its own thread.
class TlsServer {
 public:
  TlsServer(const std::string& cert_pem, const std::string& key_pem, bool keep_alive = false)
      : keep_alive_(keep_alive) {
    ctx_.use_certificate_chain(asio::buffer(cert_pem));
    ctx_.use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, Accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsServer() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::atomic<int> handshakes{0};
  std::atomic<int> failed_handshakes{0};
  std::atomic<int> requests{0};
  std::string sni() const {
    std::lock_guard lock(mu_);
    return sni_;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      asio::co_spawn(ioc_, Serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ctx_);
    beast::get_lowest_layer(stream).expires_after(5s);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kNoThrow);
    if (hec) {
      ++failed_handshakes;
      co_return;
    }
    ++handshakes;
    if (const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
      std::lock_guard lock(mu_);
      sni_ = name;
    }
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      beast::get_lowest_layer(stream).expires_after(5s);
      auto [rec, rn] = co_await http::async_read(stream, buffer, req, kNoThrow);
      if (rec) co_return;
      ++requests;
      http::response<http::string_body> res{http::status::ok, 11};
      res.body() = "hello over tls";
      res.keep_alive(keep_alive_ && req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, kNoThrow);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  bool keep_alive_;
  asio::io_context ioc_;
  asio::ssl::context ctx_{asio::ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string sni_;
};

class ClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("meridian-client-tls-{}-{}", ::getpid(), ::testing::UnitTest::GetInstance()->random_seed());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& content) {
    auto path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }

  // Runs one GET against `url`; the outcome, or the error.
  Outcome Fetch(std::shared_ptr<const Upstream> upstream) {
    asio::io_context ioc;
    Outcome outcome;
    EXPECT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> { outcome = co_await FullExchange(upstream, Get("/")); },
                      10s));
    return outcome;
  }

  std::filesystem::path dir_;
};

TEST_F(ClientTlsTest, CaFileTrustsTheServer) {
  TestPki pki = MakePki("localhost", "DNS:localhost,IP:127.0.0.1");
  TlsServer server(pki.cert_pem, pki.key_pem);
  UpstreamOptions opts;
  opts.ca_file = WriteFile("ca.pem", pki.ca_pem);

  auto by_ip = MakeUpstream(fmt::format("https://127.0.0.1:{}", server.port()), opts);
  ASSERT_NE(by_ip->tls_context(), nullptr);
  Outcome outcome = Fetch(by_ip);
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, "hello over tls");

  auto by_name = MakeUpstream(fmt::format("https://localhost:{}", server.port()), opts);
  outcome = Fetch(by_name);
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.body, "hello over tls");
  EXPECT_EQ(server.sni(), "localhost");  // SNI carries the URL's host name
  EXPECT_EQ(server.requests.load(), 2);
}

TEST_F(ClientTlsTest, KeptAliveTlsConnectionIsReused) {
  TestPki pki = MakePki("localhost", "DNS:localhost,IP:127.0.0.1");
  TlsServer server(pki.cert_pem, pki.key_pem, /*keep_alive=*/true);
  UpstreamOptions opts;
  opts.ca_file = WriteFile("ca.pem", pki.ca_pem);
  auto upstream = MakeUpstream(fmt::format("https://127.0.0.1:{}", server.port()), opts);
  asio::io_context ioc;
  ASSERT_TRUE(RunOn(ioc, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      auto outcome = co_await FullExchange(upstream, Get("/"));
      EXPECT_FALSE(outcome.error) << outcome.error->message;
      EXPECT_EQ(outcome.body, "hello over tls");
    }
  }, 10s));
  EXPECT_EQ(upstream->connected(), 1u);
  EXPECT_EQ(upstream->reused(), 2u);
  EXPECT_EQ(server.handshakes.load(), 1);
  EXPECT_EQ(server.requests.load(), 3);
}

TEST_F(ClientTlsTest, SystemStoreRejectsAPrivateCa) {
  TestPki pki = MakePki("localhost", "DNS:localhost,IP:127.0.0.1");
  TlsServer server(pki.cert_pem, pki.key_pem);
  auto upstream = MakeUpstream(fmt::format("https://127.0.0.1:{}", server.port()), UpstreamOptions{});
  Outcome outcome = Fetch(upstream);
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kUpstreamUnavailable);
  EXPECT_TRUE(Contains(outcome.error->message, "TLS")) << outcome.error->message;
  EXPECT_TRUE(outcome.error->retryable);
  EXPECT_EQ(server.requests.load(), 0);
  EXPECT_EQ(upstream->open(), 0u);
}

TEST_F(ClientTlsTest, CertificateForAnotherHostIsRejected) {
  TestPki pki = MakePki("other.example", "DNS:other.example");
  TlsServer server(pki.cert_pem, pki.key_pem);
  UpstreamOptions opts;
  opts.ca_file = WriteFile("ca.pem", pki.ca_pem);
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto upstream = MakeUpstream(fmt::format("https://{}:{}", host, server.port()), opts);
    Outcome outcome = Fetch(upstream);
    ASSERT_TRUE(outcome.error) << host;
    EXPECT_EQ(outcome.error->code, ErrorCode::kUpstreamUnavailable) << host;
    EXPECT_TRUE(Contains(outcome.error->message, "TLS handshake")) << outcome.error->message;
  }
  EXPECT_EQ(server.requests.load(), 0);
}

TEST_F(ClientTlsTest, UnreadableCaFileFailsCreate) {
  auto url = core::ParseUrl("https://127.0.0.1:443");
  ASSERT_TRUE(url);
  UpstreamOptions opts;
  opts.ca_file = (dir_ / "missing.pem").string();
  auto upstream = Upstream::Create("tls-backend", *url, opts);
  ASSERT_FALSE(upstream);
  EXPECT_TRUE(Contains(upstream.error().message, "tls-backend")) << upstream.error().message;
  EXPECT_TRUE(Contains(upstream.error().message, opts.ca_file)) << upstream.error().message;

  opts.ca_file = WriteFile("garbage.pem", "not a certificate\n");
  EXPECT_FALSE(Upstream::Create("tls-backend", *url, opts));

  // A plain http upstream does not look at the CA file at all.
  auto plain = core::ParseUrl("http://127.0.0.1:80");
  ASSERT_TRUE(plain);
  opts.ca_file = (dir_ / "missing.pem").string();
  EXPECT_TRUE(Upstream::Create("plain", *plain, opts));
}

}  // namespace
}  // namespace meridian::net
