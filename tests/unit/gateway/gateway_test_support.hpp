#pragma once
// Helpers shared by the gateway tests that drive Gateway::Handle in-process (handler_test.cpp,
// policy_e2e_property_test.cpp): a net::Responder that records what the gateway sends instead
// of writing to a client socket. Test-only.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "net/server.hpp"

namespace meridian::gateway::test_support {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// A Responder that records what the gateway sends.
class RecordingResponder : public net::Responder {
 public:
  explicit RecordingResponder(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  asio::awaitable<bool> Send(net::Response response) override {
    ++sends;
    if (committed_ || closed_) co_return false;
    committed_ = true;
    response_ = std::move(response);
    co_return true;
  }
  asio::awaitable<bool> StartStream(http::response_header<> head) override {
    ++starts;
    if (committed_ || closed_) co_return false;
    committed_ = true;
    head_ = std::move(head);
    co_return true;
  }
  asio::awaitable<bool> WriteChunk(std::string_view data) override {
    if (!head_ || closed_ || ended) co_return false;
    chunks.emplace_back(data);
    if (on_chunk) on_chunk();
    co_return true;
  }
  asio::awaitable<bool> EndStream() override {
    ++ends;
    if (!head_ || closed_ || ended) co_return false;
    ended = true;
    co_return true;
  }
  bool committed() const override { return committed_; }
  void WatchPeerClose(std::function<void()> on_close) override { on_close_ = std::move(on_close); }
  bool peer_gone() const override { return peer_gone_; }
  void Reset() override { closed_ = true; }
  asio::any_io_executor executor() const override { return executor_; }

  // The client goes away: fires the watcher like the real server does.
  void ClosePeer() {
    peer_gone_ = true;
    closed_ = true;
    if (on_close_) std::exchange(on_close_, nullptr)();
  }

  const std::optional<net::Response>& response() const { return response_; }
  const std::optional<http::response_header<>>& head() const { return head_; }
  std::string stream_text() const {
    std::string s;
    for (const auto& c : chunks) s += c;
    return s;
  }

  int sends = 0, starts = 0, ends = 0;
  bool ended = false;
  std::function<void()> on_chunk;  // called after each recorded chunk
  std::vector<std::string> chunks;

 private:
  asio::any_io_executor executor_;
  std::optional<net::Response> response_;
  std::optional<http::response_header<>> head_;
  std::function<void()> on_close_;
  bool committed_ = false;
  bool closed_ = false;
  bool peer_gone_ = false;
};

}  // namespace meridian::gateway::test_support
