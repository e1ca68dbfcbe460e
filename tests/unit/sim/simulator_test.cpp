// The simulator's handler driven through a fake Responder on an io_context.

#include <cmath>
#include <cstring>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "fake_responder.hpp"
#include "sim/content.hpp"
#include "sim/simulator.hpp"

namespace meridian::sim {
namespace {

namespace json = boost::json;
using testing::Call;
using testing::Clock;
using testing::FakeResponder;
using namespace std::chrono_literals;

constexpr const char* kHello = R"({"model":"gpt-test","messages":[{"role":"user","content":"Hello there, simulator!"}]})";

net::Request Post(std::string target, std::string body,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  net::Request r{http::verb::post, target, 11};
  r.set(http::field::content_type, "application/json");
  for (auto& [k, v] : headers) r.set(k, v);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

net::Request Get(std::string target) { return net::Request{http::verb::get, target, 11}; }

// Splits an SSE text into the payloads of its "data: " events.
std::vector<std::string> SseData(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated event: " << text.substr(pos);
      break;
    }
    std::string ev = text.substr(pos, end - pos);
    EXPECT_TRUE(ev.starts_with("data: ")) << ev;
    out.push_back(ev.substr(6));
    pos = end + 2;
  }
  return out;
}

SimOptions Options(std::function<void(SimOptions&)> edit) {
  SimOptions o;
  edit(o);
  return o;
}

class SimTest : public ::testing::Test {
 protected:
  // Runs one request to completion. `during` may schedule things on the io_context.
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

  // Closes the fake's peer after `delay`.
  std::function<void(FakeResponder&)> CloseAfter(std::chrono::milliseconds delay) {
    return [this, delay](FakeResponder& r) {
      auto timer = std::make_shared<asio::steady_timer>(io_, delay);
      timer->async_wait([timer, &r](auto) { r.ClosePeer(); });
    };
  }

  static json::value Body(const FakeResponder& r) {
    EXPECT_TRUE(r.response().has_value());
    return json::parse(r.response()->body());
  }
  static unsigned Status(const FakeResponder& r) { return r.response()->result_int(); }
  static const json::object& Error(const json::value& v) { return v.at("error").as_object(); }

  asio::io_context io_;
  Simulator sim_{Options([](SimOptions& o) { o.name = "sim-a"; })};
};

TEST_F(SimTest, ChatNonStreamShape) {
  auto r = Run(Post("/v1/chat/completions", kHello));
  ASSERT_TRUE(r->response());
  EXPECT_EQ(Status(*r), 200u);
  EXPECT_EQ((*r->response())[http::field::content_type], "application/json");
  EXPECT_EQ((*r->response())["x-meridian-simulator"], "sim-a");
  json::value v = Body(*r);
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("model").as_string(), "gpt-test");
  EXPECT_TRUE(v.at("id").as_string().starts_with("chatcmpl-sim-"));
  EXPECT_EQ(v.at("created").as_int64(), static_cast<int64_t>(kCreated));
  const auto& choice = v.at("choices").as_array().at(0);
  EXPECT_EQ(choice.at("index").as_int64(), 0);
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  EXPECT_TRUE(choice.at("logprobs").is_null());
  EXPECT_EQ(choice.at("message").at("role").as_string(), "assistant");
  std::string content(choice.at("message").at("content").as_string());
  EXPECT_EQ(std::count(content.begin(), content.end(), ' '), 15);  // 16 words
  const auto& usage = v.at("usage");
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), 6);  // 23 chars → ceil(23/4)
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 16);
  EXPECT_EQ(usage.at("total_tokens").as_int64(), 22);
  EXPECT_EQ(r->watch_count, 0);  // the fast path arms no watcher
  EXPECT_EQ(sim_.stats().responses_2xx.load(), 1u);
}

TEST_F(SimTest, ChatIsDeterministic) {
  auto a = Run(Post("/v1/chat/completions", kHello));
  auto b = Run(Post("/v1/chat/completions", kHello));
  EXPECT_EQ(a->response()->body(), b->response()->body());
  Simulator other(SimOptions{});
  auto c = Run(other, Post("/v1/chat/completions", kHello));
  EXPECT_EQ(a->response()->body(), c->response()->body());

  auto d = Run(Post("/v1/chat/completions",
                    R"({"model":"gpt-test","messages":[{"role":"user","content":"Hello there, simulator?"}]})"));
  auto content = [&](const FakeResponder& r) {
    return std::string(Body(r).at("choices").at(0).at("message").at("content").as_string());
  };
  EXPECT_NE(content(*a), content(*d));
  EXPECT_NE(Body(*a).at("id"), Body(*d).at("id"));
}

TEST_F(SimTest, MaxTokensCapsWithFinishLength) {
  auto r = Run(Post("/v1/chat/completions",
                    R"({"model":"m","max_tokens":3,"messages":[{"role":"user","content":"hi"}]})"));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason").as_string(), "length");
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 3);
  std::string content(v.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(std::count(content.begin(), content.end(), ' '), 2);

  // max_completion_tokens wins over max_tokens; a cap above the natural length is no cap.
  r = Run(Post("/v1/chat/completions",
               R"({"model":"m","max_completion_tokens":2,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_EQ(Body(*r).at("usage").at("completion_tokens").as_int64(), 2);
  r = Run(Post("/v1/chat/completions",
               R"({"model":"m","max_tokens":100,"messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_EQ(Body(*r).at("choices").at(0).at("finish_reason").as_string(), "stop");
  EXPECT_EQ(Body(*r).at("usage").at("completion_tokens").as_int64(), 16);
}

TEST_F(SimTest, OutputTokensHeaderSetsNaturalLength) {
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-output-tokens", "40"}}));
  EXPECT_EQ(Body(*r).at("usage").at("completion_tokens").as_int64(), 40);
  EXPECT_EQ(Body(*r).at("choices").at(0).at("finish_reason").as_string(), "stop");
}

TEST_F(SimTest, StreamWithoutUsage) {
  auto r = Run(Post("/v1/chat/completions",
                    R"({"model":"m","stream":true,"messages":[{"role":"user","content":"Hello there, simulator!"}]})",
                    {{"x-sim-output-tokens", "5"}}));
  ASSERT_TRUE(r->head());
  EXPECT_EQ(r->head()->result_int(), 200u);
  EXPECT_EQ((*r->head())[http::field::content_type], "text/event-stream; charset=utf-8");
  EXPECT_EQ((*r->head())["x-meridian-simulator"], "sim-a");
  EXPECT_EQ(r->Count(Call::kSend), 0u);
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);
  auto events = SseData(r->StreamText());
  ASSERT_EQ(events.size(), 1u + 5u + 1u + 1u);  // role, 5 tokens, finish, [DONE]
  EXPECT_EQ(r->Count(Call::kWriteChunk), events.size());
  EXPECT_EQ(events.back(), "[DONE]");
  std::string content;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    json::value c = json::parse(events[i]);
    EXPECT_EQ(c.at("object").as_string(), "chat.completion.chunk");
    EXPECT_EQ(c.at("model").as_string(), "m");
    EXPECT_FALSE(c.as_object().contains("usage"));
    const auto& choice = c.at("choices").at(0);
    const auto& delta = choice.at("delta").as_object();
    if (i == 0) {
      EXPECT_EQ(delta.at("role").as_string(), "assistant");
      EXPECT_EQ(delta.at("content").as_string(), "");
    }
    if (i + 2 < events.size()) {
      EXPECT_TRUE(choice.at("finish_reason").is_null());
      if (i > 0) content += delta.at("content").as_string();
    } else {
      EXPECT_TRUE(delta.empty());
      EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
    }
  }
  // The streamed text equals the non-streamed answer to the same messages.
  auto ns = Run(Post("/v1/chat/completions",
                     R"({"model":"m","messages":[{"role":"user","content":"Hello there, simulator!"}]})",
                     {{"x-sim-output-tokens", "5"}}));
  EXPECT_EQ(content, Body(*ns).at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(sim_.stats().streams_started.load(), 1u);
  EXPECT_EQ(sim_.stats().streams_completed.load(), 1u);
}

TEST_F(SimTest, StreamWithUsage) {
  auto r = Run(Post("/v1/chat/completions",
                    R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":4,
                        "messages":[{"role":"user","content":"abcdefgh"}]})"));
  auto events = SseData(r->StreamText());
  ASSERT_EQ(events.size(), 1u + 4u + 1u + 1u + 1u);  // role, 4 tokens, finish, usage, [DONE]
  EXPECT_EQ(events.back(), "[DONE]");
  for (std::size_t i = 0; i + 2 < events.size(); ++i) {
    json::value c = json::parse(events[i]);
    EXPECT_TRUE(c.at("usage").is_null()) << events[i];
  }
  json::value finish = json::parse(events[events.size() - 3]);
  EXPECT_EQ(finish.at("choices").at(0).at("finish_reason").as_string(), "length");
  json::value usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage.at("choices").as_array().empty());
  EXPECT_EQ(usage.at("usage").at("prompt_tokens").as_int64(), 2);
  EXPECT_EQ(usage.at("usage").at("completion_tokens").as_int64(), 4);
  EXPECT_EQ(usage.at("usage").at("total_tokens").as_int64(), 6);
  EXPECT_EQ(usage.at("id"), finish.at("id"));
}

constexpr const char* kToolRequest = R"({"model":"m","messages":[{"role":"user","content":"%s"}],%s
  "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object",
    "properties":{"q":{"type":"string"},"limit":{"type":"integer"}},"required":["q","limit"]}}},
   {"type":"function","function":{"name":"other"}}]})";

std::string ToolRequest(const char* text, const char* extra = "") {
  char buf[1024];
  std::snprintf(buf, sizeof buf, kToolRequest, text, extra);
  return buf;
}

TEST_F(SimTest, ToolCallNonStream) {
  auto check = [&](const FakeResponder& r, const char* name, const char* args) {
    json::value v = Body(r);
    const auto& choice = v.at("choices").at(0);
    EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
    const auto& msg = choice.at("message");
    EXPECT_TRUE(msg.at("content").is_null());
    const auto& call = msg.at("tool_calls").at(0);
    EXPECT_EQ(call.at("type").as_string(), "function");
    EXPECT_TRUE(call.at("id").as_string().starts_with("call_sim_"));
    EXPECT_EQ(call.at("function").at("name").as_string(), name);
    EXPECT_EQ(call.at("function").at("arguments").as_string(), args);
    EXPECT_GE(v.at("usage").at("completion_tokens").as_int64(), 1);
  };
  // By header.
  auto r = Run(Post("/v1/chat/completions", ToolRequest("hello"), {{"x-sim-tool-call", "1"}}));
  check(*r, "lookup", R"({"q":"sim","limit":1})");
  // By the text of the last user message.
  r = Run(Post("/v1/chat/completions", ToolRequest("Please Call a tool now")));
  check(*r, "lookup", R"({"q":"sim","limit":1})");
  // By a named tool_choice.
  r = Run(Post("/v1/chat/completions",
               ToolRequest("hello", R"("tool_choice":{"type":"function","function":{"name":"other"}},)")));
  check(*r, "other", "{}");
  // Not without a trigger, and never with tool_choice none.
  r = Run(Post("/v1/chat/completions", ToolRequest("hello")));
  EXPECT_EQ(Body(*r).at("choices").at(0).at("finish_reason").as_string(), "stop");
  r = Run(Post("/v1/chat/completions", ToolRequest("call a tool", R"("tool_choice":"none",)")));
  EXPECT_EQ(Body(*r).at("choices").at(0).at("finish_reason").as_string(), "stop");
}

TEST_F(SimTest, ToolCallStream) {
  auto r = Run(Post("/v1/chat/completions",
                    ToolRequest("call a tool", R"("stream":true,"stream_options":{"include_usage":true},)")));
  auto events = SseData(r->StreamText());
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.back(), "[DONE]");
  json::value head = json::parse(events[0]);
  const auto& d0 = head.at("choices").at(0).at("delta");
  EXPECT_EQ(d0.at("role").as_string(), "assistant");
  const auto& call0 = d0.at("tool_calls").at(0);
  EXPECT_EQ(call0.at("index").as_int64(), 0);
  EXPECT_TRUE(call0.at("id").as_string().starts_with("call_sim_"));
  EXPECT_EQ(call0.at("type").as_string(), "function");
  EXPECT_EQ(call0.at("function").at("name").as_string(), "lookup");
  EXPECT_EQ(call0.at("function").at("arguments").as_string(), "");
  std::string args;
  std::size_t fragments = 0;
  for (std::size_t i = 1; i + 3 < events.size(); ++i) {
    json::value c = json::parse(events[i]);
    const auto& call = c.at("choices").at(0).at("delta").at("tool_calls").at(0);
    EXPECT_EQ(call.at("index").as_int64(), 0);
    EXPECT_FALSE(call.as_object().contains("id"));
    args += call.at("function").at("arguments").as_string();
    ++fragments;
  }
  EXPECT_EQ(args, R"({"q":"sim","limit":1})");
  json::value finish = json::parse(events[events.size() - 3]);
  EXPECT_EQ(finish.at("choices").at(0).at("finish_reason").as_string(), "tool_calls");
  json::value usage = json::parse(events[events.size() - 2]);
  EXPECT_EQ(usage.at("usage").at("completion_tokens").as_int64(), static_cast<int64_t>(fragments));
}

TEST_F(SimTest, EmbeddingsFloat) {
  auto r = Run(Post("/v1/embeddings", R"({"model":"emb","input":["alpha","beta gamma"]})"));
  EXPECT_EQ(Status(*r), 200u);
  json::value v = Body(*r);
  EXPECT_EQ(v.at("object").as_string(), "list");
  EXPECT_EQ(v.at("model").as_string(), "emb");
  const auto& data = v.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(data[i].at("object").as_string(), "embedding");
    EXPECT_EQ(data[i].at("index").as_int64(), static_cast<int64_t>(i));
    const auto& e = data[i].at("embedding").as_array();
    ASSERT_EQ(e.size(), 16u);
    double n = 0;
    for (const auto& x : e) n += x.to_number<double>() * x.to_number<double>();
    EXPECT_NEAR(std::sqrt(n), 1.0, 1e-5);
  }
  EXPECT_NE(data[0].at("embedding"), data[1].at("embedding"));
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 2 + 3);
  EXPECT_EQ(v.at("usage").at("total_tokens").as_int64(), 5);

  // Same input, same vector; requested dimensions.
  auto s = Run(Post("/v1/embeddings", R"({"model":"emb","input":"alpha","dimensions":8})"));
  json::value sv = Body(*s);
  const auto& e8 = sv.at("data").at(0).at("embedding").as_array();
  EXPECT_EQ(e8.size(), 8u);
  auto t = Run(Post("/v1/embeddings", R"({"model":"emb","input":"alpha","dimensions":8})"));
  EXPECT_EQ(s->response()->body(), t->response()->body());
}

TEST_F(SimTest, EmbeddingsTokensAndBase64) {
  auto r = Run(Post("/v1/embeddings", R"({"model":"emb","input":[[1,2,3],[4,5]],"encoding_format":"base64","dimensions":4})"));
  json::value v = Body(*r);
  ASSERT_EQ(v.at("data").as_array().size(), 2u);
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 5);
  std::string b64(v.at("data").at(0).at("embedding").as_string());
  EXPECT_EQ(b64.size(), 24u);  // 16 bytes
  // Decode and compare with the float form of the same input.
  auto f = Run(Post("/v1/embeddings", R"({"model":"emb","input":[[1,2,3]],"dimensions":4})"));
  json::value fvalue = Body(*f);
  const auto& floats = fvalue.at("data").at(0).at("embedding").as_array();
  std::string expect;
  std::vector<float> fv;
  for (const auto& x : floats) fv.push_back(static_cast<float>(x.to_number<double>()));
  AppendBase64Floats(expect, fv);
  EXPECT_EQ(b64, expect);

  auto single = Run(Post("/v1/embeddings", R"({"model":"emb","input":[1,2,3]})"));
  EXPECT_EQ(Body(*single).at("data").as_array().size(), 1u);
  EXPECT_EQ(Body(*single).at("usage").at("prompt_tokens").as_int64(), 3);
}

TEST_F(SimTest, EmbeddingsValidation) {
  auto r = Run(Post("/v1/embeddings", R"({"model":"emb"})"));
  EXPECT_EQ(Status(*r), 400u);
  EXPECT_EQ(Error(Body(*r)).at("param").as_string(), "input");
  r = Run(Post("/v1/embeddings", R"({"model":"emb","input":[true]})"));
  EXPECT_EQ(Error(Body(*r)).at("param").as_string(), "input");
  r = Run(Post("/v1/embeddings", R"({"model":"emb","input":"x","encoding_format":"hex"})"));
  EXPECT_EQ(Error(Body(*r)).at("param").as_string(), "encoding_format");
}

TEST_F(SimTest, ModelsDefaultAndConfigured) {
  auto r = Run(Get("/v1/models"));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("object").as_string(), "list");
  EXPECT_FALSE(v.at("data").as_array().empty());
  EXPECT_EQ(v.at("data").at(0).at("owned_by").as_string(), "meridian-simulator");

  Simulator sim(Options([](SimOptions& o) { o.models = {"alpha", "beta"}; }));
  r = Run(sim, Get("/v1/models"));
  v = Body(*r);
  ASSERT_EQ(v.at("data").as_array().size(), 2u);
  EXPECT_EQ(v.at("data").at(1).at("id").as_string(), "beta");
  EXPECT_EQ(v.at("data").at(1).at("object").as_string(), "model");

  r = Run(sim, Get("/v1/models/alpha"));
  EXPECT_EQ(Status(*r), 200u);
  EXPECT_EQ(Body(*r).at("id").as_string(), "alpha");
  EXPECT_EQ(Body(*r).at("owned_by").as_string(), "meridian-simulator");

  r = Run(sim, Get("/v1/models/gamma"));
  EXPECT_EQ(Status(*r), 404u);
  EXPECT_EQ(Error(Body(*r)).at("code").as_string(), "model_not_found");

  r = Run(sim, Post("/v1/chat/completions", kHello));
  EXPECT_EQ(Status(*r), 404u);
  EXPECT_EQ(Error(Body(*r)).at("code").as_string(), "model_not_found");
  EXPECT_EQ(Error(Body(*r)).at("type").as_string(), "invalid_request_error");
}

TEST_F(SimTest, BadRequests) {
  auto r = Run(Post("/v1/chat/completions", R"({"model": "m", "messages": [)"));
  EXPECT_EQ(Status(*r), 400u);
  std::string msg(Error(Body(*r)).at("message").as_string());
  EXPECT_NE(msg.find("JSON"), std::string::npos) << msg;
  EXPECT_EQ(Error(Body(*r)).at("type").as_string(), "invalid_request_error");

  r = Run(Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}]})"));
  EXPECT_EQ(Status(*r), 400u);
  EXPECT_EQ(Error(Body(*r)).at("param").as_string(), "model");

  r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "explode"}}));
  EXPECT_EQ(Status(*r), 400u);
  EXPECT_EQ(Error(Body(*r)).at("param").as_string(), "x-sim-fault");
  msg = Error(Body(*r)).at("message").as_string();
  EXPECT_NE(msg.find("x-sim-fault"), std::string::npos);
  EXPECT_NE(msg.find("explode"), std::string::npos);

  r = Run(Post("/v1/chat/completions", kHello, {{"X-Sim-Tps", "fast"}}));
  EXPECT_EQ(Status(*r), 400u);
  EXPECT_EQ(Error(Body(*r)).at("param").as_string(), "x-sim-tps");
  EXPECT_EQ(sim_.stats().responses_4xx.load(), 4u);
}

TEST_F(SimTest, RoutesAndMethods) {
  auto r = Run(Get("/healthz"));
  EXPECT_EQ(Status(*r), 200u);
  EXPECT_EQ(r->response()->body(), "ok");
  EXPECT_EQ((*r->response())["x-meridian-simulator"], "sim-a");

  r = Run(Get("/v1/nothing"));
  EXPECT_EQ(Status(*r), 404u);
  EXPECT_EQ((*r->response())["x-meridian-simulator"], "sim-a");
  EXPECT_TRUE(Body(*r).at("error").at("message").as_string().starts_with("Invalid URL"));

  r = Run(Get("/v1/chat/completions"));
  EXPECT_EQ(Status(*r), 405u);
  EXPECT_EQ((*r->response())[http::field::allow], "POST");
  r = Run(Post("/v1/models", "{}"));
  EXPECT_EQ(Status(*r), 405u);

  // Query strings do not change the route.
  r = Run(Post("/v1/chat/completions?api-version=1", kHello));
  EXPECT_EQ(Status(*r), 200u);
}

TEST_F(SimTest, ServerErrorRenderer) {
  net::Response r = sim_.RenderServerError(http::status::payload_too_large, "body too large");
  EXPECT_EQ(r.result_int(), 413u);
  EXPECT_EQ(r["x-meridian-simulator"], "sim-a");
  json::value v = json::parse(r.body());
  EXPECT_EQ(v.at("error").at("message").as_string(), "body too large");
  EXPECT_EQ(v.at("error").at("type").as_string(), "invalid_request_error");
}

// --- Faults -------------------------------------------------------------------------------

TEST_F(SimTest, Fault429) {
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "429"}, {"x-sim-retry-after", "7"}}));
  EXPECT_EQ(Status(*r), 429u);
  EXPECT_EQ((*r->response())[http::field::retry_after], "7");
  json::value body = Body(*r);
  const auto& e = Error(body);
  EXPECT_EQ(e.at("type").as_string(), "requests");
  EXPECT_EQ(e.at("code").as_string(), "rate_limit_exceeded");
  EXPECT_TRUE(e.at("param").is_null());
  EXPECT_EQ(sim_.stats().faults_injected.load(), 1u);

  // Default retry-after comes from the options.
  r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "429"}}));
  EXPECT_EQ((*r->response())[http::field::retry_after], "1");
}

TEST_F(SimTest, Fault500And503) {
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "500"}}));
  EXPECT_EQ(Status(*r), 500u);
  EXPECT_EQ(Error(Body(*r)).at("type").as_string(), "server_error");
  r = Run(Post("/v1/embeddings", R"({"model":"e","input":"x"})", {{"x-sim-fault", "503"}}));
  EXPECT_EQ(Status(*r), 503u);
  EXPECT_EQ(Error(Body(*r)).at("type").as_string(), "server_error");
  EXPECT_EQ((*r->response())[http::field::retry_after], "1");
  EXPECT_EQ(sim_.stats().responses_5xx.load(), 2u);
}

TEST_F(SimTest, FaultResetBefore) {
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "reset-before"}}));
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->calls[0].kind, Call::kReset);
}

TEST_F(SimTest, FaultResetDuringStream) {
  auto r = Run(Post("/v1/chat/completions",
                    R"({"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]})",
                    {{"x-sim-fault", "reset-during"}}));
  ASSERT_EQ(r->calls.size(), 5u);  // head, role, 2 tokens, reset
  EXPECT_EQ(r->calls[0].kind, Call::kStartStream);
  EXPECT_EQ(r->Count(Call::kWriteChunk), 3u);
  EXPECT_EQ(r->calls.back().kind, Call::kReset);
  EXPECT_EQ(sim_.stats().streams_completed.load(), 0u);
}

TEST_F(SimTest, FaultResetDuringNonStreamWaitsTtft) {
  auto start = Clock::now();
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "reset-during"}, {"x-sim-ttft-ms", "30"}}));
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->calls[0].kind, Call::kReset);
  EXPECT_GE(r->calls[0].at - start, 30ms);
}

TEST_F(SimTest, FaultStallBeforeHoldsUntilClientLeaves) {
  auto start = Clock::now();
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "stall-before"}}), CloseAfter(50ms));
  EXPECT_TRUE(r->calls.empty());
  EXPECT_GE(Clock::now() - start, 50ms);
  EXPECT_EQ(r->watch_count, 1);
  EXPECT_EQ(sim_.stats().client_aborts.load(), 1u);
}

TEST_F(SimTest, StopEndsStallsWithReset) {
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "stall-before"}}), [this](FakeResponder&) {
    auto timer = std::make_shared<asio::steady_timer>(io_, 30ms);
    timer->async_wait([timer, this](auto) { sim_.Stop(); });
  });
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->calls[0].kind, Call::kReset);
  EXPECT_EQ(sim_.stats().client_aborts.load(), 0u);
}

TEST_F(SimTest, FaultStallDuringStream) {
  auto r = Run(Post("/v1/chat/completions",
                    R"({"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]})",
                    {{"x-sim-fault", "stall-during"}}),
               CloseAfter(40ms));
  ASSERT_EQ(r->calls.size(), 2u);
  EXPECT_EQ(r->calls[0].kind, Call::kStartStream);
  EXPECT_EQ(r->calls[1].kind, Call::kWriteChunk);
  EXPECT_EQ(sim_.stats().client_aborts.load(), 1u);
}

TEST_F(SimTest, FaultMalformed) {
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "malformed"}}));
  EXPECT_EQ(Status(*r), 200u);
  EXPECT_EQ((*r->response())[http::field::content_type], "application/json");
  boost::system::error_code ec;
  json::parse(r->response()->body(), ec);
  EXPECT_TRUE(ec);

  r = Run(Post("/v1/chat/completions",
               R"({"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]})",
               {{"x-sim-fault", "malformed"}}));
  auto events = SseData(r->StreamText());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "{not json");
  EXPECT_EQ(events[1], "[DONE]");
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);
}

TEST_F(SimTest, FaultNoneOverridesRunFault) {
  Simulator sim(Options([](SimOptions& o) { o.fault = Fault::kServerError; }));
  auto r = Run(sim, Post("/v1/chat/completions", kHello));
  EXPECT_EQ(Status(*r), 500u);
  r = Run(sim, Post("/v1/chat/completions", kHello, {{"x-sim-fault", "none"}}));
  EXPECT_EQ(Status(*r), 200u);
  // Faults never apply to health checks and model listings.
  r = Run(sim, Get("/healthz"));
  EXPECT_EQ(Status(*r), 200u);
}

TEST_F(SimTest, RunFaultRateIsSeeded) {
  auto pattern = [&](uint64_t seed) {
    Simulator sim(Options([&](SimOptions& o) {
      o.fault = Fault::kRateLimit;
      o.fault_rate = 0.5;
      o.seed = seed;
    }));
    std::string p;
    for (int i = 0; i < 40; ++i) p += Status(*Run(sim, Post("/v1/chat/completions", kHello))) == 429 ? 'F' : '.';
    return p;
  };
  std::string a = pattern(1);
  EXPECT_EQ(a, pattern(1));
  EXPECT_NE(a, pattern(2));
  auto faults = std::count(a.begin(), a.end(), 'F');
  EXPECT_GT(faults, 5);
  EXPECT_LT(faults, 35);
}

// --- Timing -------------------------------------------------------------------------------

TEST_F(SimTest, StreamPacingAtTps) {
  auto start = Clock::now();
  auto r = Run(Post("/v1/chat/completions",
                    R"({"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]})",
                    {{"x-sim-tps", "100"}, {"x-sim-output-tokens", "5"}, {"x-sim-ttft-ms", "20"}}));
  std::vector<Clock::time_point> chunk_times;
  Clock::time_point head_time{};
  for (const Call& c : r->calls) {
    if (c.kind == Call::kWriteChunk) chunk_times.push_back(c.at);
    if (c.kind == Call::kStartStream) head_time = c.at;
  }
  ASSERT_EQ(chunk_times.size(), 1u + 5u + 1u + 1u);
  // Lower bounds only: the first byte waits for ttft; 5 tokens at 100/s span >= 40 ms.
  EXPECT_GE(head_time - start, 20ms);
  EXPECT_GE(chunk_times[5] - chunk_times[1], 39ms);
  EXPECT_GE(chunk_times.back() - start, 60ms);
  EXPECT_EQ(sim_.stats().streams_completed.load(), 1u);
}

TEST_F(SimTest, NonStreamWaitsTtftPlusGeneration) {
  auto start = Clock::now();
  auto r = Run(Post("/v1/chat/completions", kHello,
                    {{"x-sim-tps", "200"}, {"x-sim-output-tokens", "4"}, {"x-sim-ttft-ms", "10"}}));
  EXPECT_EQ(Status(*r), 200u);
  EXPECT_GE(r->calls[0].at - start, 30ms);  // 10 ms + 4 / 200 s
}

TEST_F(SimTest, ClientLeavingDuringTtftEndsRequest) {
  auto start = Clock::now();
  auto r = Run(Post("/v1/chat/completions", kHello, {{"x-sim-ttft-ms", "60000"}}), CloseAfter(20ms));
  EXPECT_TRUE(r->calls.empty());
  EXPECT_LT(Clock::now() - start, 30s);  // did not wait out the ttft
  EXPECT_EQ(sim_.stats().client_aborts.load(), 1u);
}

TEST_F(SimTest, StreamStopsWhenWriteFails) {
  auto r = Run(Post("/v1/chat/completions",
                    R"({"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]})"),
               [](FakeResponder& f) { f.fail_after_chunks = 3; });
  EXPECT_EQ(r->Count(Call::kWriteChunk), 3u);
  EXPECT_EQ(r->Count(Call::kEndStream), 0u);
  EXPECT_EQ(sim_.stats().client_aborts.load(), 1u);
  EXPECT_EQ(sim_.stats().streams_completed.load(), 0u);
}

TEST_F(SimTest, StatsEndpoint) {
  sim_.SetServerStats([] { return std::string(R"({"open_connections":3})"); });
  Run(Post("/v1/chat/completions", kHello));
  Run(Post("/v1/chat/completions", kHello, {{"x-sim-fault", "500"}}));
  Run(Post("/v1/embeddings", R"({"model":"e","input":"x"})"));
  auto r = Run(Get("/sim/stats"));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("requests_total").as_int64(), 4);
  EXPECT_EQ(v.at("paths").at("chat_completions").as_int64(), 2);
  EXPECT_EQ(v.at("paths").at("embeddings").as_int64(), 1);
  EXPECT_EQ(v.at("paths").at("stats").as_int64(), 1);
  EXPECT_EQ(v.at("faults_injected").as_int64(), 1);
  EXPECT_EQ(v.at("faults").at("500").as_int64(), 1);
  EXPECT_EQ(v.at("client_aborts").as_int64(), 0);
  EXPECT_EQ(v.at("name").as_string(), "sim-a");
  EXPECT_EQ(v.at("server").at("open_connections").as_int64(), 3);

  net::Request del{http::verb::delete_, "/sim/stats", 11};
  Run(std::move(del));
  EXPECT_EQ(sim_.stats().requests_total.load(), 0u);
}

}  // namespace
}  // namespace meridian::sim
