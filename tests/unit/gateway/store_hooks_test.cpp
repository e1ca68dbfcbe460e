// The gateway's side of the usage ledger and the audit log (docs/store.md), without sockets
// to the client: a fake RecordSink stands in for the writer. Checks what each API request's
// records hold, that batched mode hands them over after the response, and that strict mode
// sends a response's final write (a stream's [DONE]) only after the commit (503 or a reset
// connection when the commit fails, 503 before any work when the queue is full).

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "../net/test_support.hpp"
#include "gateway/gateway.hpp"
#include "net/sse.hpp"
#include "telemetry/metrics.hpp"

namespace meridian::gateway {
namespace {

namespace json = boost::json;
using namespace net::test_support;
using namespace std::chrono_literals;

constexpr std::string_view kCompletion =
    R"({"id":"c","object":"chat.completion","created":1,"model":"gpt-test",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,)"
    R"("prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":1}}})";

// Records what the gateway writes; counters are atomics because the fake writer thread reads them.
class Responder final : public net::Responder {
 public:
  explicit Responder(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  asio::awaitable<bool> Send(net::Response response) override {
    status = response.result_int();
    body = response.body();
    retry_after = std::string(response[http::field::retry_after]);
    sends.fetch_add(1);
    co_return true;
  }
  asio::awaitable<bool> StartStream(http::response_header<>) override {
    starts.fetch_add(1);
    co_return true;
  }
  asio::awaitable<bool> WriteChunk(std::string_view data) override {
    if (data.find("[DONE]") != std::string_view::npos) done_written = true;
    stream += data;
    co_return !reset;
  }
  asio::awaitable<bool> EndStream() override {
    ends.fetch_add(1);
    co_return !reset;
  }
  bool committed() const override { return sends > 0 || starts > 0; }
  void WatchPeerClose(std::function<void()>) override {}
  bool peer_gone() const override { return false; }
  void Reset() override { reset = true; }
  asio::any_io_executor executor() const override { return ex_; }

  std::atomic<int> sends{0}, starts{0}, ends{0};
  std::atomic<bool> reset{false};
  std::atomic<bool> done_written{false};  // the [DONE] event went out
  int status = 0;
  std::string body, retry_after, stream;

 private:
  asio::any_io_executor ex_;
};

// A RecordSink that keeps what it is given and, like the writer, answers each waiter from
// another thread after `delay`, noting what the client had received by then.
class FakeSink final : public store::RecordSink {
 public:
  FakeSink(store::Durability d, bool commit_ok = true) : durability_(d), commit_ok_(commit_ok) {}
  ~FakeSink() override {
    for (auto& t : threads_) t.join();
  }

  bool Submit(std::unique_ptr<store::PendingRecord> record) override {
    std::lock_guard lock(mu_);
    if (refuse) return false;
    sends_at_submit.push_back(responder ? responder->sends.load() + responder->ends.load() : -1);
    if (auto waiter = record->waiter) {
      threads_.emplace_back([this, waiter] {
        std::this_thread::sleep_for(50ms);
        {
          std::lock_guard lock(mu_);
          finished_before_done.push_back(responder->sends.load() + responder->ends.load());
          sse_done_before_commit.push_back(responder->done_written.load());
        }
        waiter->Done(commit_ok_);
      });
    }
    records.push_back(std::move(record));
    return true;
  }
  store::Durability durability() const override { return durability_; }
  store::SinkHealth health() const override { return health_value; }

  Responder* responder = nullptr;
  bool refuse = false;
  store::SinkHealth health_value = store::SinkHealth::kOk;
  std::vector<std::unique_ptr<store::PendingRecord>> records;
  std::vector<int> sends_at_submit;       // client writes done when the record was submitted
  std::vector<int> finished_before_done;  // ... when the fake commit finished
  std::vector<bool> sse_done_before_commit;

 private:
  std::mutex mu_;
  store::Durability durability_;
  bool commit_ok_;
  std::vector<std::thread> threads_;
};

class StoreHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::ServerOptions o;
    o.workers = 1;
    upstream_ = std::make_unique<TestServer>(o, [this](net::Request&, net::Responder& out) -> asio::awaitable<void> {
      if (stream_) {
        http::response_header<> head;
        head.result(http::status::ok);
        head.set(http::field::content_type, "text/event-stream");
        co_await out.StartStream(std::move(head));
        co_await out.WriteChunk(net::EncodeSseEvent(
            R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null})"));
        co_await out.WriteChunk(net::EncodeSseEvent(
            R"({"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}})"));
        co_await out.WriteChunk("data: [DONE]\n\n");
        co_await out.EndStream();
        co_return;
      }
      net::Response res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = std::string(kCompletion);
      co_await out.Send(std::move(res));
    });
  }

  void Make(FakeSink& sink) {
    config::Config c;
    c.server.request_log = false;
    config::BackendConfig b;
    b.id = "b1";
    b.provider = "openai";
    b.base_url = upstream_->url() + "/v1";
    b.models = {"gpt-test"};
    b.jurisdiction = "DE";
    c.backends.push_back(b);
    c.aliases.push_back({"fast", "gpt-test"});
    config::KeyConfig k;
    k.key = "sk-client-key-0001";
    k.tenant = "acme";
    k.team = "ops";
    c.auth.keys = {k};
    auto snapshot = Snapshot::Build(std::move(c));
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    registry_ = std::make_unique<telemetry::Registry>();
    gateway_ = std::make_unique<Gateway>(*snapshot, *registry_, nullptr);
    gateway_->AttachStore(StoreHooks{&sink, nullptr, true});
  }

  std::unique_ptr<Responder> Call(FakeSink& sink, std::string body, std::string key = "sk-client-key-0001") {
    net::Request req{http::verb::post, "/v1/chat/completions", 11};
    req.set(http::field::authorization, "Bearer " + key);
    req.set(http::field::content_type, "application/json");
    req.set("x-request-id", "req-1");
    req.body() = std::move(body);
    req.prepare_payload();
    auto out = std::make_unique<Responder>(ioc_.get_executor());
    sink.responder = out.get();
    bool finished = RunOn(ioc_, [&]() -> asio::awaitable<void> { co_await gateway_->Handle(req, *out); }, 10s);
    EXPECT_TRUE(finished);
    return out;
  }

  bool stream_ = false;
  asio::io_context ioc_;
  std::unique_ptr<TestServer> upstream_;
  std::unique_ptr<telemetry::Registry> registry_;
  std::unique_ptr<Gateway> gateway_;
};

const std::string kChat = R"({"model":"fast","messages":[{"role":"user","content":"Hello"}]})";

TEST_F(StoreHooksTest, BatchedHandsTheRecordsOverAfterTheResponse) {
  FakeSink sink(store::Durability::kBatched);
  Make(sink);
  auto out = Call(sink, kChat);
  EXPECT_EQ(out->status, 200);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.sends_at_submit, std::vector<int>{1});
  ASSERT_FALSE(sink.records[0]->waiter);
  const store::UsageRecord& u = *sink.records[0]->usage;
  EXPECT_EQ(u.request_id, "req-1");
  EXPECT_EQ(u.tenant, "acme");
  EXPECT_EQ(u.team, "ops");
  EXPECT_EQ(u.key_prefix, "sk-clien");
  EXPECT_EQ(u.route, "chat_completions");
  EXPECT_EQ(u.alias, "fast");
  EXPECT_EQ(u.model, "gpt-test");
  EXPECT_EQ(u.backend, "b1");
  EXPECT_EQ(u.input_tokens, 9);
  EXPECT_EQ(u.output_tokens, 3);
  EXPECT_EQ(u.cached_tokens, 4);
  EXPECT_EQ(u.reasoning_tokens, 1);
  EXPECT_FALSE(u.cost_micro_usd);
  EXPECT_EQ(u.status, 200);
  EXPECT_EQ(u.error, "");
  EXPECT_EQ(u.attempts, 1);
  EXPECT_GT(u.latency_us, 0);
  EXPECT_GT(u.time_ms, 1'700'000'000'000);
  const audit::DecisionRecord& d = *sink.records[0]->decision;
  EXPECT_EQ(d.request_id, "req-1");
  EXPECT_EQ(d.key_prefix, "sk-clien");
  EXPECT_EQ(d.eligible, std::vector<std::string>{"b1"});
  EXPECT_EQ(d.chosen_backend, "b1");
  EXPECT_EQ(d.chosen_jurisdiction, "DE");
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].backend, "b1");
  EXPECT_EQ(d.attempts[0].status, 200);
  EXPECT_EQ(d.status, 200);
}

TEST_F(StoreHooksTest, StrictSendsTheResponseOnlyAfterTheCommit) {
  FakeSink sink(store::Durability::kStrict);
  Make(sink);
  auto out = Call(sink, kChat);
  EXPECT_EQ(out->status, 200);
  ASSERT_EQ(sink.records.size(), 1u);  // once: Record() does not submit it again
  EXPECT_TRUE(sink.records[0]->waiter);
  EXPECT_EQ(sink.sends_at_submit, std::vector<int>{0});
  EXPECT_EQ(sink.finished_before_done, std::vector<int>{0});  // the client had nothing yet
  EXPECT_EQ(out->sends, 1);
  EXPECT_EQ(sink.records[0]->usage->status, 200);
}

TEST_F(StoreHooksTest, StrictRejectionsWaitForTheirRecordsToo) {
  FakeSink sink(store::Durability::kStrict);
  Make(sink);
  auto out = Call(sink, kChat, "sk-wrong");
  EXPECT_EQ(out->status, 401);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.finished_before_done, std::vector<int>{0});
  EXPECT_EQ(sink.records[0]->usage->status, 401);
  EXPECT_EQ(sink.records[0]->usage->error, "unauthorized");
  EXPECT_EQ(sink.records[0]->usage->key_prefix, "");
}

TEST_F(StoreHooksTest, StrictAnswers503WhenTheCommitFails) {
  FakeSink sink(store::Durability::kStrict, /*commit_ok=*/false);
  Make(sink);
  auto out = Call(sink, kChat);
  EXPECT_EQ(out->status, 503);
  EXPECT_EQ(out->retry_after, "1");
  auto e = json::parse(out->body).as_object()["error"].as_object();
  EXPECT_EQ(e["code"], "service_unavailable");
  EXPECT_EQ(e["message"], "The gateway could not record this request in its usage ledger; try again later.");
}

TEST_F(StoreHooksTest, StrictRefusesBeforeAnyWorkWhenTheQueueIsFull) {
  FakeSink sink(store::Durability::kStrict);
  sink.refuse = true;
  sink.health_value = store::SinkHealth::kFull;
  Make(sink);
  auto out = Call(sink, kChat);
  EXPECT_EQ(out->status, 503);
  auto e = json::parse(out->body).as_object()["error"].as_object();
  EXPECT_EQ(e["code"], "service_unavailable");
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(StoreHooksTest, StrictStreamEndsOnlyAfterTheCommitOrIsReset) {
  stream_ = true;
  const std::string body = R"({"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"Hi"}]})";
  {
    FakeSink sink(store::Durability::kStrict);
    Make(sink);
    auto out = Call(sink, body);
    EXPECT_EQ(out->starts, 1);
    EXPECT_EQ(out->ends, 1);
    EXPECT_EQ(sink.finished_before_done, std::vector<int>{0});  // no terminating chunk before the commit
    EXPECT_EQ(sink.sse_done_before_commit, std::vector<bool>{false});  // and no [DONE] either
    ASSERT_EQ(sink.records.size(), 1u);
    EXPECT_TRUE(sink.records[0]->usage->stream);
    EXPECT_EQ(sink.records[0]->usage->input_tokens, 5);
    EXPECT_NE(out->stream.find("[DONE]"), std::string::npos);
  }
  {
    FakeSink sink(store::Durability::kStrict, /*commit_ok=*/false);
    Make(sink);
    auto out = Call(sink, body);
    EXPECT_EQ(out->ends, 0);  // the stream never completes
    EXPECT_TRUE(out->reset);
    EXPECT_EQ(out->stream.find("[DONE]"), std::string::npos);
  }
}

TEST_F(StoreHooksTest, ReadinessReportsTheStore) {
  FakeSink sink(store::Durability::kBatched);
  Make(sink);
  auto ready = [&] {
    net::Request req{http::verb::get, "/readyz", 11};
    auto out = std::make_unique<Responder>(ioc_.get_executor());
    RunOn(ioc_, [&]() -> asio::awaitable<void> { co_await gateway_->Handle(req, *out); }, 10s);
    return std::pair(out->status, out->body);
  };
  EXPECT_EQ(ready(), std::pair(200, std::string(R"({"status":"ready","healthy_backends":1,"backends":1,"store":"ok"})")));
  sink.health_value = store::SinkHealth::kFull;
  EXPECT_EQ(ready(), std::pair(503, std::string(R"({"status":"store_unavailable","healthy_backends":1,"backends":1,"store":"full"})")));
  sink.health_value = store::SinkHealth::kFailing;
  EXPECT_EQ(ready().first, 503);
  EXPECT_TRUE(sink.records.empty());  // probes are not API requests: no records
}

}  // namespace
}  // namespace meridian::gateway
