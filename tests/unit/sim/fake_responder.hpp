#pragma once
// Test double of net::Responder: records every call with a steady_clock timestamp, can fail
// writes after a number of chunks, and can simulate the client closing its connection.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/server.hpp"

namespace meridian::sim::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

struct Call {
  enum Kind { kSend, kStartStream, kWriteChunk, kEndStream, kReset };
  Kind kind;
  std::string data;  // chunk text, or the body for kSend
  Clock::time_point at;
};

class FakeResponder : public net::Responder {
 public:
  explicit FakeResponder(asio::io_context& io) : io_(io) {}

  asio::awaitable<bool> Send(net::Response response) override {
    calls.push_back({Call::kSend, response.body(), Clock::now()});
    response_ = std::move(response);
    committed_ = true;
    co_return !closed_;
  }
  asio::awaitable<bool> StartStream(http::response_header<> head) override {
    calls.push_back({Call::kStartStream, {}, Clock::now()});
    head_ = std::move(head);
    committed_ = true;
    co_return !closed_;
  }
  asio::awaitable<bool> WriteChunk(std::string_view data) override {
    if (closed_) co_return false;
    if (fail_after_chunks && chunks_written_ >= *fail_after_chunks) {
      closed_ = true;
      co_return false;
    }
    ++chunks_written_;
    calls.push_back({Call::kWriteChunk, std::string(data), Clock::now()});
    co_return true;
  }
  asio::awaitable<bool> EndStream() override {
    if (closed_) co_return false;
    calls.push_back({Call::kEndStream, {}, Clock::now()});
    co_return true;
  }
  bool committed() const override { return committed_; }
  void WatchPeerClose(std::function<void()> on_close) override {
    ++watch_count;
    on_close_ = std::move(on_close);
  }
  bool peer_gone() const override { return peer_gone_; }
  void Reset() override {
    calls.push_back({Call::kReset, {}, Clock::now()});
    closed_ = true;
  }
  asio::any_io_executor executor() const override { return io_.get_executor(); }

  // Simulates the client closing the connection.
  void ClosePeer() {
    peer_gone_ = true;
    closed_ = true;
    if (on_close_) std::exchange(on_close_, {})();
  }
  void DisarmWatch() { on_close_ = nullptr; }

  const std::optional<net::Response>& response() const { return response_; }
  const std::optional<http::response_header<>>& head() const { return head_; }

  // Text of all chunks written, in order.
  std::string StreamText() const {
    std::string s;
    for (const Call& c : calls) {
      if (c.kind == Call::kWriteChunk) s += c.data;
    }
    return s;
  }
  std::size_t Count(Call::Kind kind) const {
    std::size_t n = 0;
    for (const Call& c : calls) n += c.kind == kind;
    return n;
  }

  std::vector<Call> calls;
  std::optional<std::size_t> fail_after_chunks;  // WriteChunk fails once this many were written
  int watch_count = 0;

 private:
  asio::io_context& io_;
  std::optional<net::Response> response_;
  std::optional<http::response_header<>> head_;
  std::function<void()> on_close_;
  std::size_t chunks_written_ = 0;
  bool committed_ = false;
  bool peer_gone_ = false;
  bool closed_ = false;
};

}  // namespace meridian::sim::testing
