// net::Server over real loopback sockets: keep-alive, limits, deadlines, Expect, streaming,
// peer-close watch, Reset, shutdown and connection limits. The server runs on its own thread;
// the test drives it with a blocking raw client.

#include "net/server.hpp"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace meridian::net {
namespace {

using namespace test_support;
using End = RawClient::End;

ServerOptions Options() {
  ServerOptions o;
  o.workers = 1;
  o.header_timeout = 5s;
  o.body_timeout = 5s;
  o.idle_timeout = 5s;
  o.write_timeout = 5s;
  return o;
}

// Answers "<METHOD> <target> <body>".
Handler EchoHandler(std::atomic<int>* calls = nullptr) {
  return [calls](Request& req, Responder& out) -> asio::awaitable<void> {
    if (calls) calls->fetch_add(1);
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.set("x-handler", "echo");
    res.body() = fmt::format("{} {} {}", req.method_string(), req.target(), req.body());
    co_await out.Send(std::move(res));
  };
}

bool IsClosed(End end) { return end == End::kEof || end == End::kReset; }

// The server still answers a fresh connection.
void ExpectServes(uint16_t port) {
  RawClient client(port);
  ASSERT_TRUE(client.connected());
  auto res = client.RoundTrip(GetRequest("/still-alive"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), "GET /still-alive ");
}

// ---------------------------------------------------------------------------------------------
// Basics

TEST(ServerTest, ListenBindsAnEphemeralPort) {
  TestServer ts(Options(), EchoHandler());
  EXPECT_NE(ts.port(), 0);
  ExpectServes(ts.port());
}

TEST(ServerTest, ListenFailsOnAnAddressThatIsNotAnIp) {
  ServerOptions o = Options();
  o.host = "not-an-address";
  Server server(o, EchoHandler(), TestErrorRenderer);
  auto listened = server.Listen();
  ASSERT_FALSE(listened);
  EXPECT_NE(listened.error().message.find("not-an-address"), std::string::npos) << listened.error().message;
}

TEST(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  std::atomic<int> calls{0};
  TestServer ts(Options(), EchoHandler(&calls));
  RawClient client(ts.port());
  ASSERT_TRUE(client.connected());

  auto first = client.RoundTrip(GetRequest("/a"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->result_int(), 200);
  EXPECT_EQ(first->body(), "GET /a ");
  EXPECT_TRUE(first->keep_alive());
  EXPECT_EQ((*first)["x-handler"], "echo");

  auto second = client.RoundTrip(PostRequest("/b", "payload"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->result_int(), 200);
  EXPECT_EQ(second->body(), "POST /b payload");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(ts.server().open_connections(), 1u);
}

TEST(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestServer ts(Options(), EchoHandler());
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send(GetRequest("/one") + PostRequest("/two", "2") + GetRequest("/three")));
  for (std::string_view expected : {"GET /one ", "POST /two 2", "GET /three "}) {
    auto res = client.ReadResponse();
    ASSERT_TRUE(res) << expected;
    EXPECT_EQ(res->body(), expected);
  }
}

TEST(ServerTest, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  TestServer ts(Options(), EchoHandler());
  RawClient client(ts.port());
  auto res = client.RoundTrip("GET /old HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), "GET /old ");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_EQ(client.ReadUntilClose(2s), End::kEof);
  EXPECT_TRUE(client.buffer().empty());
}

TEST(ServerTest, Http11ConnectionCloseIsHonoured) {
  TestServer ts(Options(), EchoHandler());
  RawClient client(ts.port());
  auto res = client.RoundTrip(GetRequest("/bye", "Connection: close\r\n"));
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_EQ((*res)[http::field::connection], "close");
  EXPECT_EQ(client.ReadUntilClose(2s), End::kEof);
}

TEST(ServerTest, AStatusBeastHasNoNameForKeepsItsNumber) {
  // Anthropic's 529 overloaded must reach clients as 529, for responses and streams alike.
  TestServer ts(Options(), [](Request& req, Responder& out) -> asio::awaitable<void> {
    if (req.target() == "/stream") {
      http::response_header<> head;
      head.result(529);
      co_await out.StartStream(std::move(head));
      co_await out.EndStream();
    } else {
      Response res;
      res.result(529);
      res.body() = "overloaded";
      co_await out.Send(std::move(res));
    }
  });
  RawClient client(ts.port());
  auto res = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 529);
  EXPECT_EQ(res->body(), "overloaded");
  auto streamed = client.RoundTrip(GetRequest("/stream"));
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->result_int(), 529);
}

TEST(ServerTest, HandlerThatSendsNothingGets500FromTheRenderer) {
  TestServer ts(Options(), [](Request&, Responder&) -> asio::awaitable<void> { co_return; });
  RawClient client(ts.port());
  auto res = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 500);
  EXPECT_EQ(res->body(), "rendered 500: the handler sent no response");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(IsClosed(client.ReadUntilClose(2s)));
}

TEST(ServerTest, OnlyOneResponsePerRequest) {
  std::atomic<int> second_send{-1}, chunk_without_stream{-1};
  TestServer ts(Options(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    chunk_without_stream = co_await out.WriteChunk("x");
    Response res{http::status::ok, 11};
    res.body() = "first";
    co_await out.Send(res);
    second_send = co_await out.Send(res);
  });
  RawClient client(ts.port());
  auto res = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "first");
  auto again = client.RoundTrip(GetRequest("/"));  // nothing extra was written in between
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body(), "first");
  EXPECT_EQ(second_send.load(), 0);
  EXPECT_EQ(chunk_without_stream.load(), 0);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(ServerTest, BodyAboveLimitGets413FromTheRendererAndServerKeepsServing) {
  ServerOptions o = Options();
  o.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  TestServer ts(o, EchoHandler(&calls));
  {
    RawClient client(ts.port());
    auto res = client.RoundTrip("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 413);
    EXPECT_EQ(res->body(), "rendered 413: request body exceeds 1024 bytes");
    EXPECT_EQ((*res)[http::field::content_type], "text/plain");
    EXPECT_FALSE(res->keep_alive());
    EXPECT_TRUE(IsClosed(client.ReadUntilClose(2s)));
  }
  {
    // At the limit is fine.
    RawClient client(ts.port());
    auto res = client.RoundTrip(PostRequest("/fits", std::string(1024, 'x')));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
  }
  EXPECT_EQ(calls.load(), 1);
  ExpectServes(ts.port());
}

TEST(ServerTest, ChunkedBodyAboveLimitGets413) {
  ServerOptions o = Options();
  o.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  TestServer ts(o, EchoHandler(&calls));
  RawClient client(ts.port());
  std::string request = "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += "200\r\n" + std::string(0x200, 'y') + "\r\n";  // 1536 bytes
  request += "0\r\n\r\n";
  auto res = client.RoundTrip(request);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413);
  EXPECT_EQ(res->body(), "rendered 413: request body exceeds 1024 bytes");
  EXPECT_EQ(calls.load(), 0);
  ExpectServes(ts.port());
}

TEST(ServerTest, OversizedHeadGets431) {
  ServerOptions o = Options();
  o.max_header_bytes = 1024;
  std::atomic<int> calls{0};
  TestServer ts(o, EchoHandler(&calls));
  RawClient client(ts.port());
  auto res = client.RoundTrip(GetRequest("/", "X-Big: " + std::string(2000, 'a') + "\r\n"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 431);
  EXPECT_EQ(res->body(), "rendered 431: request head exceeds 1024 bytes");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(IsClosed(client.ReadUntilClose(2s)));
  EXPECT_EQ(calls.load(), 0);
  ExpectServes(ts.port());
}

TEST(ServerTest, GarbageRequestLineGets400) {
  std::atomic<int> calls{0};
  TestServer ts(Options(), EchoHandler(&calls));
  RawClient client(ts.port());
  auto res = client.RoundTrip("\x01\x02 definitely not http\r\n\r\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400);
  EXPECT_TRUE(res->body().starts_with("rendered 400: malformed HTTP request head: ")) << res->body();
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(IsClosed(client.ReadUntilClose(2s)));
  EXPECT_EQ(calls.load(), 0);
  ExpectServes(ts.port());
}

TEST(ServerTest, AmbiguousBodyFramingGets400) {
  // Request smuggling guards: two different lengths, or a length next to chunked framing.
  std::atomic<int> calls{0};
  TestServer ts(Options(), EchoHandler(&calls));
  for (std::string_view request :
       {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n"}) {
    SCOPED_TRACE(request);
    RawClient client(ts.port());
    auto res = client.RoundTrip(request);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 400);
    EXPECT_TRUE(IsClosed(client.ReadUntilClose(2s)));
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(ServerTest, ConnectionsBeyondMaxConnectionsAreClosedAtOnce) {
  ServerOptions o = Options();
  o.max_connections = 1;
  TestServer ts(o, EchoHandler());
  RawClient first(ts.port());
  ASSERT_TRUE(first.RoundTrip(GetRequest("/first")));  // accepted and counted
  ASSERT_EQ(ts.server().open_connections(), 1u);

  RawClient second(ts.port());
  ASSERT_TRUE(second.connected());  // the kernel accepts; the server closes it
  second.Send(GetRequest("/second"));
  auto start = Clock::now();
  EXPECT_TRUE(IsClosed(second.ReadUntilClose(2s)));
  EXPECT_LT(Since(start), 1000ms);
  EXPECT_TRUE(second.buffer().empty());

  // The first connection is unaffected; once it closes, a new one is served.
  auto again = first.RoundTrip(GetRequest("/first-again"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body(), "GET /first-again ");
  first.Close();
  ASSERT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
  ExpectServes(ts.port());
}

TEST(ServerTest, CountsOpenConnectionsAndRequestsInFlight) {
  Gate release;
  Signal started;
  TestServer ts(Options(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    started.Notify();
    co_await release.Wait();
    Response res{http::status::ok, 11};
    co_await out.Send(std::move(res));
  });
  RawClient idle(ts.port());
  RawClient busy(ts.port());
  ASSERT_TRUE(busy.Send(GetRequest("/")));
  ASSERT_TRUE(started.WaitFor(2s));
  EXPECT_EQ(ts.server().in_flight(), 1u);
  ASSERT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 2; }));
  release.Open();
  ASSERT_TRUE(busy.ReadResponse());
  EXPECT_TRUE(WaitUntil([&] { return ts.server().in_flight() == 0; }));
  idle.Close();
  busy.Close();
  EXPECT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
}

TEST(ServerTest, TwoWorkersShareThePortAndBothServe) {
  ServerOptions o = Options();
  o.workers = 2;
  std::mutex mu;
  std::set<std::thread::id> threads;
  TestServer ts(o, [&](Request&, Responder& out) -> asio::awaitable<void> {
    {
      std::lock_guard lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    Response res{http::status::ok, 11};
    res.body() = "ok";
    co_await out.Send(std::move(res));
  });
  // SO_REUSEPORT spreads connections by a hash of the address pair: with 32 connections the
  // chance that one worker gets all of them is 2^-31.
  for (int i = 0; i < 32; ++i) {
    RawClient client(ts.port());
    auto res = client.RoundTrip(GetRequest("/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body(), "ok");
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(threads.size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST(ServerTest, HalfAHeadIsDisconnectedAfterTheHeaderTimeout) {
  ServerOptions o = Options();
  o.header_timeout = 200ms;
  std::atomic<int> calls{0};
  TestServer ts(o, EchoHandler(&calls));
  RawClient client(ts.port());
  auto start = Clock::now();
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: t\r\n"));
  EXPECT_TRUE(IsClosed(client.ReadUntilClose(3s)));
  auto elapsed = Since(start);
  EXPECT_GE(elapsed, 180ms);
  EXPECT_LT(elapsed, 2000ms);
  EXPECT_TRUE(client.buffer().empty()) << client.buffer();  // no 408 can be delivered
  EXPECT_EQ(calls.load(), 0);
  ExpectServes(ts.port());
}

TEST(ServerTest, TricklingHeadIsCutAtTheHeaderTimeout) {
  ServerOptions o = Options();
  o.header_timeout = 300ms;
  TestServer ts(o, EchoHandler());
  RawClient client(ts.port());
  std::string head = "GET / HTTP/1.1\r\nX-Slow: " + std::string(200, 'z');
  auto start = Clock::now();
  End end = End::kTimeout;
  // One byte every 20 ms: the head never completes, yet bytes keep arriving.
  for (char c : head) {
    if (!client.Send(std::string_view(&c, 1))) {
      end = End::kReset;
      break;
    }
    end = client.ReadSome(client.buffer(), 20ms);
    if (end != End::kTimeout) break;
  }
  EXPECT_TRUE(IsClosed(end) || end == End::kError);
  auto elapsed = Since(start);
  EXPECT_GE(elapsed, 270ms);
  EXPECT_LT(elapsed, 2000ms);
}

TEST(ServerTest, SilentNewConnectionIsClosedAfterTheHeaderTimeout) {
  ServerOptions o = Options();
  o.header_timeout = 200ms;
  TestServer ts(o, EchoHandler());
  RawClient client(ts.port());
  auto start = Clock::now();
  EXPECT_TRUE(IsClosed(client.ReadUntilClose(3s)));
  EXPECT_GE(Since(start), 180ms);
  EXPECT_LT(Since(start), 2000ms);
}

TEST(ServerTest, StalledBodyIsDisconnectedAfterTheBodyTimeout) {
  ServerOptions o = Options();
  o.header_timeout = 5s;
  o.body_timeout = 200ms;
  std::atomic<int> calls{0};
  TestServer ts(o, EchoHandler(&calls));
  RawClient client(ts.port());
  auto start = Clock::now();
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789"));
  EXPECT_TRUE(IsClosed(client.ReadUntilClose(4s)));
  auto elapsed = Since(start);
  EXPECT_GE(elapsed, 180ms);
  EXPECT_LT(elapsed, 2000ms);  // well before the 5 s header timeout
  EXPECT_TRUE(client.buffer().empty()) << client.buffer();
  EXPECT_EQ(calls.load(), 0);
}

TEST(ServerTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  ServerOptions o = Options();
  o.header_timeout = 5s;
  o.idle_timeout = 200ms;
  TestServer ts(o, EchoHandler());
  RawClient client(ts.port());
  ASSERT_TRUE(client.RoundTrip(GetRequest("/")));
  auto start = Clock::now();
  EXPECT_EQ(client.ReadUntilClose(4s), End::kEof);
  auto elapsed = Since(start);
  EXPECT_GE(elapsed, 180ms);
  EXPECT_LT(elapsed, 2000ms);
  EXPECT_TRUE(client.buffer().empty());
  EXPECT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
}

// ---------------------------------------------------------------------------------------------
// Expect: 100-continue

TEST(ServerTest, ExpectContinueGets100BeforeTheBodyIsSent) {
  TestServer ts(Options(), EchoHandler());
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  // Only the raw interim line, nothing else, before the body is sent.
  std::string expected = "HTTP/1.1 100 Continue\r\n\r\n";
  while (client.buffer().size() < expected.size()) {
    ASSERT_EQ(client.ReadSome(client.buffer(), 2s), End::kData);
  }
  EXPECT_EQ(client.buffer(), expected);
  client.buffer().clear();

  auto res = client.RoundTrip("hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), "POST /e hello");
}

TEST(ServerTest, ExpectContinueWithTooLargeBodyGets413Without100) {
  ServerOptions o = Options();
  o.max_body_bytes = 10;
  TestServer ts(o, EchoHandler());
  RawClient client(ts.port());
  auto res = client.RoundTrip("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413);
}

// Regression test for a fixed bug (src/net/server.cpp:77-87, Session::Send, the `AppendResponseHead` + `{head_, body}` write):
// the body is written whatever the request method, so a response to HEAD carries content
// (RFC 9112 6.3: a response to HEAD never has a body). The client, which reads no body after a
// HEAD, takes those bytes for the start of the next response, so a kept-alive connection is
// desynchronised (e.g. `HEAD /healthz` on the gateway, whose handler answers "ok\n").
// Enable once Send (and StartStream) write only the head for a HEAD request.
TEST(ServerTest, HeadResponseHasNoBody) {
  TestServer ts(Options(), EchoHandler());
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + GetRequest("/g")));
  http::response_parser<http::string_body> head_parser;
  head_parser.skip(true);  // what a client does after a HEAD request
  ASSERT_EQ(client.Pump(head_parser, nullptr, 2s), End::kData);
  EXPECT_EQ(head_parser.get().result_int(), 200);
  EXPECT_EQ(head_parser.get()[http::field::content_length], "8");  // as a GET would have it
  auto next = client.ReadResponse();
  ASSERT_TRUE(next) << "the next response is unreadable; buffered: " << client.buffer();
  EXPECT_EQ(next->result_int(), 200);
  EXPECT_EQ(next->body(), "GET /g ");
}

// Regression test for a fixed bug (src/net/server.cpp:228-234, Session::Loop): the server answers "Expect: 100-continue"
// whatever the request's version. RFC 9110 10.1.1 (RFC 7231 5.1.1): "A server that receives a
// 100-continue expectation in an HTTP/1.0 request MUST ignore that expectation." An HTTP/1.0
// client does not know 1xx responses and takes the "100 Continue" for the final answer.
// Enable once the server checks request.version() >= 11 before sending the interim response.
TEST(ServerTest, ExpectContinueIsIgnoredForHttp10) {
  TestServer ts(Options(), EchoHandler());
  RawClient client(ts.port());
  auto res = client.RoundTrip("POST /e HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), "POST /e hello");
}

// ---------------------------------------------------------------------------------------------
// Streaming

TEST(ServerTest, StreamedChunksArriveSeparatelyAndInOrder) {
  Gate after_first, after_second;
  std::atomic<bool> start_ok{false}, empty_ok{false}, end_ok{false}, late_write{true};
  TestServer ts(Options(), [&](Request& req, Responder& out) -> asio::awaitable<void> {
    if (req.target() != "/stream") {
      co_await out.Send(Response{http::status::ok, 11});
      co_return;
    }
    http::response_header<> head;
    head.result(http::status::ok);
    head.set(http::field::content_type, "text/plain");
    start_ok = co_await out.StartStream(std::move(head));
    co_await out.WriteChunk("alpha");
    co_await after_first.Wait();
    empty_ok = co_await out.WriteChunk("");  // ignored: would otherwise end the stream
    co_await out.WriteChunk("bravo-bravo");
    co_await after_second.Wait();
    co_await out.WriteChunk("c");
    end_ok = co_await out.EndStream();
    late_write = co_await out.WriteChunk("late");
  });

  RawClient client(ts.port());
  ASSERT_TRUE(client.Send(GetRequest("/stream")));
  http::response_parser<http::string_body> parser;
  std::vector<std::uint64_t> sizes;
  std::vector<std::string> chunks;
  std::size_t complete = 0;
  auto on_header = [&](std::uint64_t size, std::string_view, beast::error_code&) {
    sizes.push_back(size);
    chunks.emplace_back();
  };
  auto on_body = [&](std::uint64_t remain, std::string_view body, beast::error_code&) -> std::size_t {
    chunks.back().append(body);
    if (remain == body.size()) ++complete;
    return body.size();
  };
  parser.on_chunk_header(on_header);
  parser.on_chunk_body(on_body);

  ASSERT_EQ(client.Pump(parser, [&] { return complete >= 1; }, 2s), End::kData);
  ASSERT_TRUE(parser.is_header_done());
  EXPECT_TRUE(parser.chunked());
  EXPECT_EQ(parser.get()[http::field::content_type], "text/plain");
  EXPECT_TRUE(parser.get().keep_alive());
  EXPECT_EQ(chunks, std::vector<std::string>{"alpha"});
  EXPECT_EQ(client.buffer().find("bravo"), std::string::npos);  // not written yet

  after_first.Open();
  ASSERT_EQ(client.Pump(parser, [&] { return complete >= 2; }, 2s), End::kData);
  EXPECT_EQ(chunks, (std::vector<std::string>{"alpha", "bravo-bravo"}));

  after_second.Open();
  ASSERT_EQ(client.Pump(parser, nullptr, 2s), End::kData);
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(chunks, (std::vector<std::string>{"alpha", "bravo-bravo", "c", ""}));
  EXPECT_EQ(sizes, (std::vector<std::uint64_t>{5, 11, 1, 0}));  // 0 = the last chunk
  EXPECT_TRUE(start_ok);
  EXPECT_TRUE(empty_ok);

  // The connection is still usable after a chunked response.
  auto next = client.RoundTrip(GetRequest("/next"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->result_int(), 200);
  EXPECT_TRUE(end_ok);
  EXPECT_FALSE(late_write);
}

TEST(ServerTest, StreamLeftOpenByTheHandlerIsEndedByTheServer) {
  TestServer ts(Options(), [](Request&, Responder& out) -> asio::awaitable<void> {
    http::response_header<> head;
    head.result(http::status::ok);
    co_await out.StartStream(std::move(head));
    co_await out.WriteChunk("only");
  });
  RawClient client(ts.port());
  auto res = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "only");
  EXPECT_TRUE(res->chunked());
  ASSERT_TRUE(client.RoundTrip(GetRequest("/")));  // and the connection stays usable
}

// ---------------------------------------------------------------------------------------------
// Peer-close watch and Reset

struct WatchProbe {
  Signal started, fired, finished;
  Gate wake;
  std::atomic<bool> peer_gone{false};
  Clock::time_point fired_at;
};

Handler WatchingHandler(WatchProbe& probe) {
  return [&probe](Request&, Responder& out) -> asio::awaitable<void> {
    out.WatchPeerClose([&probe] {
      probe.fired_at = Clock::now();
      probe.fired.Notify();
      probe.wake.Open();
    });
    probe.started.Notify();
    co_await probe.wake.Wait(10s);  // stands in for a long upstream wait
    probe.peer_gone = out.peer_gone();
    probe.finished.Notify();
  };
}

TEST(ServerTest, WatchPeerCloseFiresWhenTheClientCloses) {
  WatchProbe probe;
  TestServer ts(Options(), WatchingHandler(probe));
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send(GetRequest("/")));
  ASSERT_TRUE(probe.started.WaitFor(2s));
  auto closed_at = Clock::now();
  client.Close();
  ASSERT_TRUE(probe.fired.WaitFor(2s));
  EXPECT_LT(probe.fired_at - closed_at, 2s);
  ASSERT_TRUE(probe.finished.WaitFor(2s));
  EXPECT_TRUE(probe.peer_gone);
  EXPECT_EQ(probe.fired.count(), 1);
  EXPECT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
}

TEST(ServerTest, WatchPeerCloseFiresWhenTheClientResets) {
  WatchProbe probe;
  TestServer ts(Options(), WatchingHandler(probe));
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send(GetRequest("/")));
  ASSERT_TRUE(probe.started.WaitFor(2s));
  client.Abort();
  ASSERT_TRUE(probe.fired.WaitFor(2s));
  ASSERT_TRUE(probe.finished.WaitFor(2s));
  EXPECT_TRUE(probe.peer_gone);
}

TEST(ServerTest, PipelinedBytesEndTheWatchWithoutACall) {
  std::atomic<int> fired{0};
  std::atomic<bool> gone{true};
  TestServer ts(Options(), [&](Request& req, Responder& out) -> asio::awaitable<void> {
    if (req.target() == "/watch") {
      out.WatchPeerClose([&] { ++fired; });
      co_await Sleep(100ms);  // lets the watcher see the pipelined request
      gone = out.peer_gone();
    }
    Response res{http::status::ok, 11};
    res.body() = std::string(req.target());
    co_await out.Send(std::move(res));
  });
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send(GetRequest("/watch") + GetRequest("/next")));
  auto first = client.ReadResponse();
  auto second = client.ReadResponse();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body(), "/watch");
  EXPECT_EQ(second->body(), "/next");
  EXPECT_EQ(fired.load(), 0);
  EXPECT_FALSE(gone);
}

TEST(ServerTest, ResetClosesWithoutAResponse) {
  std::atomic<int> send_after_reset{-1};
  Signal handler_done;
  TestServer ts(Options(), [&](Request& req, Responder& out) -> asio::awaitable<void> {
    if (req.target() == "/still-alive") {
      co_await EchoHandler()(req, out);
      co_return;
    }
    out.Reset();
    send_after_reset = co_await out.Send(Response{http::status::ok, 11});
    handler_done.Notify();
  });
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send(GetRequest("/reset")));
  End end = client.ReadUntilClose(2s);
  EXPECT_TRUE(IsClosed(end));
  EXPECT_TRUE(client.buffer().empty()) << client.buffer();
  ASSERT_TRUE(handler_done.WaitFor(2s));
  EXPECT_EQ(send_after_reset.load(), 0);
  EXPECT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
  ExpectServes(ts.port());
}

// ---------------------------------------------------------------------------------------------
// Shutdown

TEST(ServerTest, ShutdownClosesIdleConnectionsAndDrainsInFlightRequests) {
  Gate release;
  Signal started;
  TestServer ts(Options(), [&](Request& req, Responder& out) -> asio::awaitable<void> {
    if (req.target() == "/slow") {
      started.Notify();
      co_await release.Wait();
    }
    Response res{http::status::ok, 11};
    res.body() = std::string(req.target());
    co_await out.Send(std::move(res));
  });
  RawClient idle(ts.port());
  ASSERT_TRUE(idle.RoundTrip(GetRequest("/idle")));
  RawClient busy(ts.port());
  ASSERT_TRUE(busy.Send(GetRequest("/slow")));
  ASSERT_TRUE(started.WaitFor(2s));

  auto start = Clock::now();
  ts.server().Shutdown(5s);
  EXPECT_TRUE(ts.server().draining());
  EXPECT_EQ(idle.ReadUntilClose(2s), End::kEof);  // closed at once, not after the grace
  EXPECT_LT(Since(start), 1000ms);
  RawClient late(ts.port());
  EXPECT_FALSE(late.connected()) << "the acceptor should be closed";
  EXPECT_FALSE(ts.WaitRunReturned(0ms));  // still draining the slow request

  release.Open();
  auto res = busy.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), "/slow");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_EQ((*res)[http::field::connection], "close");
  EXPECT_EQ(busy.ReadUntilClose(2s), End::kEof);
  EXPECT_TRUE(ts.WaitRunReturned(3s));
  EXPECT_LT(Since(start), 4s);  // Run() returned when the drain finished, not at the grace
}

TEST(ServerTest, ShutdownWithNoConnectionsReturnsAtOnce) {
  TestServer ts(Options(), EchoHandler());
  ExpectServes(ts.port());
  ASSERT_TRUE(WaitUntil([&] { return ts.server().open_connections() == 0; }));
  auto start = Clock::now();
  ts.server().Shutdown(10s);
  EXPECT_TRUE(ts.WaitRunReturned(3s));
  EXPECT_LT(Since(start), 3s);
  ts.server().Shutdown(10s);  // a second call is harmless
}

TEST(ServerTest, ShutdownCutsAHandlerThatNeverFinishesAtTheGrace) {
  Gate never;
  Signal started;
  TestServer ts(Options(), [&](Request&, Responder& out) -> asio::awaitable<void> {
    started.Notify();
    co_await never.Wait(60s);
    co_await out.Send(Response{http::status::ok, 11});
  });
  RawClient client(ts.port());
  ASSERT_TRUE(client.Send(GetRequest("/")));
  ASSERT_TRUE(started.WaitFor(2s));
  auto start = Clock::now();
  ts.server().Shutdown(300ms);
  ASSERT_TRUE(ts.WaitRunReturned(5s));
  auto elapsed = Since(start);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3000ms);
  EXPECT_TRUE(IsClosed(client.ReadUntilClose(2s)));
  EXPECT_TRUE(client.buffer().empty()) << client.buffer();
}

}  // namespace
}  // namespace meridian::net
