#pragma once
// Shared fixture of the Anthropic and Gemini simulator tests: runs one request through
// Simulator::Handle on a fake Responder, and splits the two providers' stream framings.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "fake_responder.hpp"
#include "sim/content.hpp"
#include "sim/openai.hpp"
#include "sim/simulator.hpp"

namespace meridian::sim::testing {

namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

inline net::Request Post(std::string target, std::string body, const Headers& headers = {}) {
  net::Request r{http::verb::post, target, 11};
  r.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) r.set(k, v);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

inline net::Request Bare(http::verb verb, std::string target, const Headers& headers = {}) {
  net::Request r{verb, target, 11};
  for (const auto& [k, v] : headers) r.set(k, v);
  return r;
}

inline Headers With(Headers base, const Headers& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// Replaces each "{KEY}" of `text` by its value.
inline std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    std::string token = "{" + key + "}";
    for (std::size_t pos = text.find(token); pos != std::string::npos; pos = text.find(token, pos + value.size())) {
      text.replace(pos, token.size(), value);
    }
  }
  return text;
}

// The hash the OpenAI parser gives a messages array: the same conversation must hash the same
// on every route.
inline uint64_t OpenAiHash(std::string_view messages) {
  auto r = ParseChatRequest(R"({"model":"m","messages":)" + std::string(messages) + "}", false);
  EXPECT_TRUE(r) << r.error().message;
  return r ? r->hash : 0;
}

// The i-th streamed word as a JSON string body (leading space after the first).
inline std::string Word(uint64_t hash, std::size_t i) {
  return (i == 0 ? "" : " ") + std::string(AnswerWord(hash, i));
}

struct SseEvent {
  std::string event;
  std::string data;
  bool operator==(const SseEvent&) const = default;
};

// Splits Anthropic's framing: "event: NAME\ndata: JSON\n\n" per event.
inline std::vector<SseEvent> NamedEvents(const std::string& text) {
  std::vector<SseEvent> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated event: " << text.substr(pos);
      break;
    }
    std::string ev = text.substr(pos, end - pos);
    std::size_t nl = ev.find('\n');
    EXPECT_TRUE(ev.starts_with("event: ") && nl != std::string::npos) << ev;
    if (nl == std::string::npos) break;
    std::string data_line = ev.substr(nl + 1);
    EXPECT_TRUE(data_line.starts_with("data: ")) << ev;
    out.push_back({ev.substr(7, nl - 7), data_line.substr(6)});
    pos = end + 2;
  }
  return out;
}

// Splits Gemini's SSE framing: "data: JSON\r\n\r\n" per event.
inline std::vector<std::string> CrlfData(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\r\n\r\n", pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated event: " << text.substr(pos);
      break;
    }
    std::string ev = text.substr(pos, end - pos);
    EXPECT_TRUE(ev.starts_with("data: ")) << ev;
    out.push_back(ev.substr(6));
    pos = end + 4;
  }
  return out;
}

class DialectTest : public ::testing::Test {
 protected:
  std::unique_ptr<FakeResponder> Run(Simulator& sim, net::Request req,
                                     std::function<void(FakeResponder&)> setup = {}) {
    auto res = std::make_unique<FakeResponder>(io_);
    if (setup) setup(*res);
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          co_await sim.Handle(req, *res);
          done = true;
          res->DisarmWatch();
        },
        asio::detached);
    io_.run();
    io_.restart();
    EXPECT_TRUE(done);
    return res;
  }
  std::unique_ptr<FakeResponder> Run(net::Request req, std::function<void(FakeResponder&)> setup = {}) {
    return Run(sim_, std::move(req), std::move(setup));
  }

  std::function<void(FakeResponder&)> CloseAfter(std::chrono::milliseconds delay) {
    return [this, delay](FakeResponder& r) {
      auto timer = std::make_shared<asio::steady_timer>(io_, delay);
      timer->async_wait([timer, &r](auto) { r.ClosePeer(); });
    };
  }

  static unsigned Status(const FakeResponder& r) {
    EXPECT_TRUE(r.response().has_value());
    return r.response() ? r.response()->result_int() : 0;
  }
  static std::string BodyText(const FakeResponder& r) {
    EXPECT_TRUE(r.response().has_value());
    return r.response() ? r.response()->body() : std::string();
  }
  static json::value Body(const FakeResponder& r) { return json::parse(BodyText(r)); }
  static std::string Header(const FakeResponder& r, std::string_view name) {
    if (r.response()) return std::string((*r.response())[name]);
    if (r.head()) return std::string((*r.head())[name]);
    return {};
  }

  asio::io_context io_;
  Simulator sim_{SimOptions{}};
};

}  // namespace meridian::sim::testing
