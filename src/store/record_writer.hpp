#pragma once
// How the pipeline's records reach the stores without the workers waiting for a disk.
//
// Workers hand each request's records (one usage record, one audit decision record) to a
// RecordSink: a non-blocking Submit into a bounded queue. The RecordWriter, one thread, drains
// the queue and commits batches: the usage records with UsageStore::AppendBatch, the audit
// bodies with AuditStore::AppendBatch, then tells each record's CommitWaiter (strict mode).
//
//   batched: a batch is committed when it holds batch_max records or its oldest record has
//            waited batch_window, whichever comes first;
//   strict:  the writer commits whatever is queued as soon as it is free (group commit, at most
//            batch_max per transaction); the gateway completes a response only after the
//            waiter of its record said "committed".
//
// Queue full: Submit returns false at once and counts the drop in
// meridian_store_dropped_total{kind}; the gateway's readiness and strict-mode answers follow
// from health() (docs/store.md). PostgreSQL or Redis can sit behind the same two store
// interfaces, or replace this sink, without the pipeline changing.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "audit/decision.hpp"
#include "audit/store.hpp"
#include "store/mpsc_queue.hpp"
#include "store/usage.hpp"
#include "telemetry/metrics.hpp"

namespace meridian::store {

enum class Durability { kBatched, kStrict };

// Learns whether a submitted record was committed. Done is called exactly once, on the
// writer's thread, for every record Submit accepted; it must not block.
class CommitWaiter {
 public:
  virtual ~CommitWaiter() = default;
  virtual void Done(bool committed) = 0;
};

// One request's records (or one admin record), handed over by value: the writer owns them.
struct PendingRecord {
  std::optional<UsageRecord> usage;
  std::optional<audit::DecisionRecord> decision;  // kind "request"
  std::optional<audit::AdminRecord> admin;        // kind "admin"
  std::shared_ptr<CommitWaiter> waiter;           // may be null
};

enum class SinkHealth {
  kOk,
  kFull,     // the queue is at capacity: new records are dropped (batched) or refused (strict)
  kFailing,  // the last commit failed
};

// "ok", "full", "failing". Pure.
std::string_view SinkHealthName(SinkHealth health);

// What the gateway sees. Thread-safe.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Queues `record` without blocking. False when it was not taken (queue full, or the sink is
  // stopped): the drop is counted and the waiter is never called.
  virtual bool Submit(std::unique_ptr<PendingRecord> record) = 0;
  virtual Durability durability() const = 0;
  virtual SinkHealth health() const = 0;
};

struct RecordWriterOptions {
  Durability durability = Durability::kBatched;
  std::size_t batch_max = 256;                       // records per transaction (clamped to queue_size)
  std::chrono::milliseconds batch_window{50};        // batched only
  std::size_t queue_size = 65536;
  // Registers meridian_store_* metrics here when set (must outlive the writer).
  telemetry::Registry* registry = nullptr;
  // Called on the writer's thread when a commit fails (for the operational log).
  std::function<void(const std::string&)> on_error;
};

class RecordWriter final : public RecordSink {
 public:
  // `usage` and `audit` (either may be null: that part of each record is not kept) must outlive
  // the writer. Nothing runs until Start().
  RecordWriter(UsageStore* usage, audit::AuditStore* audit, RecordWriterOptions options);
  ~RecordWriter() override;  // Stop()
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Starts the writer thread. Call once.
  void Start();
  // Commits everything queued (in batch_max transactions), tells every waiter, and joins the
  // thread. Later Submits return false. Idempotent; call after the producers have stopped.
  void Stop();

  bool Submit(std::unique_ptr<PendingRecord> record) override;
  Durability durability() const override { return options_.durability; }
  SinkHealth health() const override;

  struct Stats {
    std::uint64_t batches = 0;          // transactions attempted
    std::uint64_t committed = 0;        // records committed
    std::uint64_t dropped = 0;          // records refused (queue full/stopped) or lost to a failed commit
    std::uint64_t failed_batches = 0;
  };
  Stats stats() const;
  std::size_t queued() const { return queue_.size(); }

 private:
  void Run();
  void Commit(std::vector<std::unique_ptr<PendingRecord>>& batch);
  void CountDropped(const PendingRecord& record);
  void Wake();

  UsageStore* usage_;
  audit::AuditStore* audit_;
  RecordWriterOptions options_;
  BoundedMpscQueue<std::unique_ptr<PendingRecord>> queue_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Queue size at which a producer must wake the writer; SIZE_MAX while the writer runs.
  std::atomic<std::size_t> wake_at_{SIZE_MAX};
  std::atomic<bool> stop_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> failing_{false};
  std::thread thread_;
  bool started_ = false;

  std::atomic<std::uint64_t> batches_{0}, committed_{0}, dropped_{0}, failed_batches_{0};

  struct Metrics {
    telemetry::Counter* dropped_usage = nullptr;
    telemetry::Counter* dropped_audit = nullptr;
    telemetry::Counter* committed_usage = nullptr;
    telemetry::Counter* committed_audit = nullptr;
    telemetry::Counter* errors_usage = nullptr;
    telemetry::Counter* errors_audit = nullptr;
    telemetry::Histogram* commit_seconds = nullptr;
  } metrics_;
};

}  // namespace meridian::store
