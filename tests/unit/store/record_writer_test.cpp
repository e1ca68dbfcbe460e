// store/record_writer: batching by count and by time, the bounded queue's full behaviour,
// strict mode's commit-then-signal order and group commit, failures, draining on Stop, and the
// audit chain it feeds. No sockets: fake stores with a gate stand in for a slow disk.

#include "store/record_writer.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../audit/audit_test_util.hpp"
#include "audit/anchor.hpp"
#include "audit/sqlite_audit_store.hpp"
#include "audit/verify.hpp"
#include "store/mpsc_queue.hpp"

namespace meridian::store {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A UsageStore that keeps batches in memory. While the gate is closed, AppendBatch waits
// (the writer thread is "in a slow fsync"); `fail` makes the next batches fail.
class FakeUsageStore final : public UsageStore {
 public:
  core::Result<void> AppendBatch(std::span<const UsageRecord> records) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    if (fail_) return core::Fail(core::ErrorCode::kInternal, "disk on fire");
    std::vector<std::string> ids;
    for (const auto& r : records) ids.push_back(r.request_id);
    batches_.push_back(std::move(ids));
    cv_.notify_all();
    return {};
  }
  core::Result<UsageResult> Query(const UsageQuery&) override { return UsageResult{}; }

  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  // Waits until AppendBatch has been entered `n` times in all.
  bool WaitEntered(int n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ >= n; });
  }
  bool WaitRecords(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return CountLocked() >= n; });
  }
  std::vector<std::vector<std::string>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return CountLocked();
  }
  bool Has(const std::string& id) {
    std::lock_guard lock(mu_);
    for (const auto& b : batches_) {
      for (const auto& x : b) {
        if (x == id) return true;
      }
    }
    return false;
  }

 private:
  std::size_t CountLocked() const {
    std::size_t n = 0;
    for (const auto& b : batches_) n += b.size();
    return n;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  bool fail_ = false;
  int entered_ = 0;
  std::vector<std::vector<std::string>> batches_;
};

std::unique_ptr<PendingRecord> Usage(std::string id, std::shared_ptr<CommitWaiter> waiter = nullptr) {
  auto r = std::make_unique<PendingRecord>();
  r->usage.emplace().request_id = std::move(id);
  r->waiter = std::move(waiter);
  return r;
}

// Remembers Done's answer and whether the store already had the record at that moment.
class Waiter final : public CommitWaiter {
 public:
  Waiter(FakeUsageStore* store, std::string id) : store_(store), id_(std::move(id)) {}
  void Done(bool committed) override {
    committed_in_store_ = store_->Has(id_);
    calls_.fetch_add(1);
    promise_.set_value(committed);
  }
  std::future<bool> future() { return promise_.get_future(); }
  bool committed_in_store() const { return committed_in_store_; }
  int calls() const { return calls_.load(); }

 private:
  FakeUsageStore* store_;
  std::string id_;
  std::promise<bool> promise_;
  std::atomic<bool> committed_in_store_{false};
  std::atomic<int> calls_{0};
};

// Opens the gate when the test ends, so that a failed assertion cannot leave the writer's
// thread (joined by the writer's destructor) waiting forever.
struct OpenAtExit {
  FakeUsageStore& store;
  ~OpenAtExit() { store.Open(); }
};

double MetricValue(telemetry::Registry& registry, std::string_view series) {
  std::string text = registry.RenderPrometheus();
  auto at = text.find("\n" + std::string(series) + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

RecordWriterOptions Options(Durability d, std::size_t batch_max, std::chrono::milliseconds window,
                            std::size_t queue = 1024, telemetry::Registry* registry = nullptr) {
  RecordWriterOptions o;
  o.durability = d;
  o.batch_max = batch_max;
  o.batch_window = window;
  o.queue_size = queue;
  o.registry = registry;
  return o;
}

TEST(RecordWriterTest, BatchedCommitsAFullBatchWithoutWaitingForTheWindow) {
  FakeUsageStore usage;
  RecordWriter w(&usage, nullptr, Options(Durability::kBatched, 4, 10s));
  w.Start();
  const auto start = Clock::now();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(w.Submit(Usage("r" + std::to_string(i))));
  ASSERT_TRUE(usage.WaitRecords(4));
  EXPECT_LT(Clock::now() - start, 5s);
  auto batches = usage.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0], (std::vector<std::string>{"r0", "r1", "r2", "r3"}));
  w.Stop();
  EXPECT_EQ(w.stats().batches, 1u);
  EXPECT_EQ(w.stats().committed, 4u);
}

TEST(RecordWriterTest, BatchedCommitsAPartialBatchWhenTheWindowEnds) {
  FakeUsageStore usage;
  RecordWriter w(&usage, nullptr, Options(Durability::kBatched, 100, 80ms));
  w.Start();
  const auto start = Clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.Submit(Usage("r" + std::to_string(i))));
  ASSERT_TRUE(usage.WaitRecords(3));
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 75ms);
  EXPECT_LT(waited, 3s);
  EXPECT_EQ(usage.batches().size(), 1u);  // one commit for the three
  // An idle writer then sleeps without committing empty batches.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(w.stats().batches, 1u);
}

TEST(RecordWriterTest, FullQueueRefusesAtOnceCountsTheDropAndRecovers) {
  FakeUsageStore usage;
  telemetry::Registry registry;
  RecordWriter w(&usage, nullptr, Options(Durability::kBatched, 1, 1ms, 4, &registry));
  OpenAtExit guard{usage};
  usage.Close();
  w.Start();
  ASSERT_TRUE(w.Submit(Usage("first")));  // the writer takes it and hangs in the "disk"
  ASSERT_TRUE(usage.WaitEntered(1));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(w.Submit(Usage("q" + std::to_string(i))));
  EXPECT_EQ(w.health(), SinkHealth::kFull);
  const auto start = Clock::now();
  EXPECT_FALSE(w.Submit(Usage("dropped")));
  EXPECT_LT(Clock::now() - start, 100ms);  // never blocks the caller
  auto dropped = std::make_unique<PendingRecord>();
  dropped->usage.emplace();
  dropped->decision.emplace();
  EXPECT_FALSE(w.Submit(std::move(dropped)));
  EXPECT_EQ(MetricValue(registry, "meridian_store_dropped_total{kind=\"usage\"}"), 2);
  EXPECT_EQ(MetricValue(registry, "meridian_store_dropped_total{kind=\"audit\"}"), 1);
  EXPECT_EQ(MetricValue(registry, "meridian_store_queue_depth"), 4);
  usage.Open();
  ASSERT_TRUE(usage.WaitRecords(5));
  EXPECT_EQ(w.health(), SinkHealth::kOk);
  EXPECT_FALSE(usage.Has("dropped"));
  w.Stop();
  EXPECT_EQ(w.stats().dropped, 2u);
  EXPECT_EQ(MetricValue(registry, "meridian_store_committed_total{kind=\"usage\"}"), 5);
}

TEST(RecordWriterTest, StrictSignalsOnlyAfterTheCommit) {
  FakeUsageStore usage;
  RecordWriter w(&usage, nullptr, Options(Durability::kStrict, 256, 10s));
  OpenAtExit guard{usage};
  usage.Close();
  w.Start();
  auto waiter = std::make_shared<Waiter>(&usage, "s1");
  auto done = waiter->future();
  ASSERT_TRUE(w.Submit(Usage("s1", waiter)));
  ASSERT_TRUE(usage.WaitEntered(1));  // strict ignores the 10 s window: committing at once
  EXPECT_EQ(done.wait_for(100ms), std::future_status::timeout);  // the disk has not answered
  usage.Open();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(done.get());
  EXPECT_TRUE(waiter->committed_in_store());
  EXPECT_EQ(waiter->calls(), 1);
}

TEST(RecordWriterTest, StrictGroupsWhatQueuedDuringACommit) {
  FakeUsageStore usage;
  RecordWriter w(&usage, nullptr, Options(Durability::kStrict, 8, 10s));
  OpenAtExit guard{usage};
  usage.Close();
  w.Start();
  ASSERT_TRUE(w.Submit(Usage("a")));
  ASSERT_TRUE(usage.WaitEntered(1));
  std::vector<std::shared_ptr<Waiter>> waiters;
  std::vector<std::future<bool>> futures;
  for (int i = 0; i < 10; ++i) {
    waiters.push_back(std::make_shared<Waiter>(&usage, "b" + std::to_string(i)));
    futures.push_back(waiters.back()->future());
    ASSERT_TRUE(w.Submit(Usage("b" + std::to_string(i), waiters.back())));
  }
  usage.Open();
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
  for (auto& waiter : waiters) EXPECT_TRUE(waiter->committed_in_store());
  auto batches = usage.batches();
  ASSERT_EQ(batches.size(), 3u);  // [a], then 10 queued records in batches of at most 8
  EXPECT_EQ(batches[1].size(), 8u);
  EXPECT_EQ(batches[2].size(), 2u);
}

TEST(RecordWriterTest, AFailedCommitSaysSoToEveryWaiterAndMarksTheSinkFailing) {
  FakeUsageStore usage;
  telemetry::Registry registry;
  std::vector<std::string> errors;
  auto opts = Options(Durability::kStrict, 16, 10ms, 64, &registry);
  std::mutex errors_mu;
  opts.on_error = [&](const std::string& e) {
    std::lock_guard lock(errors_mu);
    errors.push_back(e);
  };
  RecordWriter w(&usage, nullptr, opts);
  usage.Fail(true);
  w.Start();
  auto waiter = std::make_shared<Waiter>(&usage, "x");
  auto done = waiter->future();
  ASSERT_TRUE(w.Submit(Usage("x", waiter)));
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(done.get());
  EXPECT_EQ(w.health(), SinkHealth::kFailing);
  EXPECT_EQ(MetricValue(registry, "meridian_store_write_errors_total{kind=\"usage\"}"), 1);
  EXPECT_EQ(MetricValue(registry, "meridian_store_dropped_total{kind=\"usage\"}"), 1);
  {
    std::lock_guard lock(errors_mu);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], "store: a batch of 1 record(s) failed: usage ledger: disk on fire");
  }
  usage.Fail(false);
  auto second = std::make_shared<Waiter>(&usage, "y");
  auto ok = second->future();
  ASSERT_TRUE(w.Submit(Usage("y", second)));
  ASSERT_EQ(ok.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(ok.get());
  EXPECT_EQ(w.health(), SinkHealth::kOk);
}

TEST(RecordWriterTest, StopCommitsEverythingQueuedAndRefusesLaterRecords) {
  FakeUsageStore usage;
  RecordWriter w(&usage, nullptr, Options(Durability::kBatched, 2, 10s));
  w.Start();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(w.Submit(Usage("r" + std::to_string(i))));
  w.Stop();
  EXPECT_EQ(usage.count(), 5u);
  for (const auto& b : usage.batches()) EXPECT_LE(b.size(), 2u);
  EXPECT_FALSE(w.Submit(Usage("late")));
  EXPECT_EQ(w.stats().dropped, 1u);
  w.Stop();  // idempotent
}

TEST(RecordWriterTest, ManyProducersLoseNothing) {
  FakeUsageStore usage;
  RecordWriter w(&usage, nullptr, Options(Durability::kBatched, 64, 5ms, 1 << 16));
  w.Start();
  constexpr int kThreads = 4, kEach = 5000;
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!w.Submit(Usage(std::to_string(t) + ":" + std::to_string(i)))) refused.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  w.Stop();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(usage.count(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(RecordWriterTest, FeedsTheAuditChain) {
  audit::testing::TempDir dir;
  auto chain = audit::SqliteAuditStore::Open(dir.File("audit.db"));
  ASSERT_TRUE(chain) << chain.error().message;
  FakeUsageStore usage;
  RecordWriter w(&usage, chain->get(), Options(Durability::kBatched, 8, 5ms));
  w.Start();
  auto admin = std::make_unique<PendingRecord>();
  admin->admin.emplace().action = "gateway.start";
  ASSERT_TRUE(w.Submit(std::move(admin)));
  for (int i = 0; i < 3; ++i) {
    auto r = Usage("r" + std::to_string(i));
    r->decision.emplace().request_id = "r" + std::to_string(i);
    r->decision->status = 200;
    ASSERT_TRUE(w.Submit(std::move(r)));
  }
  w.Stop();
  auto records = (*chain)->ReadRange(1, 10);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 4u);
  EXPECT_EQ((*records)[0].kind, "admin");
  EXPECT_NE((*records)[0].body.find("\"action\":\"gateway.start\""), std::string::npos);
  EXPECT_EQ((*records)[3].kind, "request");
  EXPECT_NE((*records)[3].body.find("\"request_id\":\"r2\""), std::string::npos);
  chain->reset();
  auto report = audit::Verify(dir.File("audit.db"));
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem->ToString();
  EXPECT_EQ(report->records, 4);
}

TEST(BoundedMpscQueueTest, CapacityIsExactAndOrderIsKept) {
  BoundedMpscQueue<std::unique_ptr<int>> q(3);
  for (int i = 0; i < 3; ++i) {
    auto v = std::make_unique<int>(i);
    ASSERT_TRUE(q.TryPush(v));
    EXPECT_EQ(v, nullptr);
  }
  auto extra = std::make_unique<int>(9);
  EXPECT_FALSE(q.TryPush(extra));
  EXPECT_NE(extra, nullptr);  // left with the caller
  EXPECT_EQ(q.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto v = q.TryPop();
    ASSERT_TRUE(v);
    EXPECT_EQ(**v, i);
  }
  EXPECT_FALSE(q.TryPop());
  ASSERT_TRUE(q.TryPush(extra));  // room again, wrapping around the ring
  EXPECT_EQ(**q.TryPop(), 9);
}

}  // namespace
}  // namespace meridian::store
