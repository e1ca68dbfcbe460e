#include "store/record_writer.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace meridian::store {

namespace {

using Clock = std::chrono::steady_clock;

template <class T>
T* Registered(core::Result<T*> result) {
  if (!result) throw std::logic_error("metric registration failed: " + result.error().message);
  return *result;
}

}  // namespace

std::string_view SinkHealthName(SinkHealth health) {
  switch (health) {
    case SinkHealth::kOk: return "ok";
    case SinkHealth::kFull: return "full";
    case SinkHealth::kFailing: return "failing";
  }
  return "ok";
}

RecordWriter::RecordWriter(UsageStore* usage, audit::AuditStore* audit, RecordWriterOptions options)
    : usage_(usage), audit_(audit), options_(std::move(options)), queue_(std::max<std::size_t>(1, options_.queue_size)) {
  options_.batch_max = std::clamp<std::size_t>(options_.batch_max, 1, queue_.capacity());
  if (options_.batch_window.count() < 1) options_.batch_window = std::chrono::milliseconds(1);
  if (telemetry::Registry* r = options_.registry) {
    auto* dropped = Registered(r->AddCounter(
        "meridian_store_dropped_total",
        "Records not kept: refused because the store queue was full, or lost to a failed commit, by kind "
        "(usage, audit).",
        {"kind"}));
    auto* committed = Registered(r->AddCounter("meridian_store_committed_total",
                                               "Records committed to the store, by kind (usage, audit).", {"kind"}));
    auto* errors = Registered(r->AddCounter("meridian_store_write_errors_total",
                                            "Store transactions that failed, by kind (usage, audit).", {"kind"}));
    auto* seconds = Registered(r->AddHistogram("meridian_store_commit_seconds",
                                               "Time to commit one batch of records (usage and audit).", {},
                                               telemetry::DefaultLatencyBuckets()));
    metrics_.dropped_usage = &dropped->With({"usage"});
    metrics_.dropped_audit = &dropped->With({"audit"});
    metrics_.committed_usage = &committed->With({"usage"});
    metrics_.committed_audit = &committed->With({"audit"});
    metrics_.errors_usage = &errors->With({"usage"});
    metrics_.errors_audit = &errors->With({"audit"});
    metrics_.commit_seconds = &seconds->With({});
    auto depth = [this](telemetry::Emit emit) { emit({}, static_cast<double>(queue_.size())); };
    auto ok = r->AddCallbackGauge("meridian_store_queue_depth", "Records waiting for the store writer.", {}, depth);
    if (!ok) throw std::logic_error("metric registration failed: " + ok.error().message);
  }
}

RecordWriter::~RecordWriter() { Stop(); }

void RecordWriter::Start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void RecordWriter::Stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // Never started, or a producer slipped in after the thread's last drain: commit it here.
  std::vector<std::unique_ptr<PendingRecord>> batch;
  for (;;) {
    auto item = queue_.TryPop();
    if (item) batch.push_back(std::move(*item));
    if (!batch.empty() && (!item || batch.size() >= options_.batch_max)) Commit(batch);
    if (!item) break;
  }
}

SinkHealth RecordWriter::health() const {
  if (failing_.load(std::memory_order_relaxed)) return SinkHealth::kFailing;
  if (queue_.size() >= queue_.capacity()) return SinkHealth::kFull;
  return SinkHealth::kOk;
}

RecordWriter::Stats RecordWriter::stats() const {
  return Stats{batches_.load(), committed_.load(), dropped_.load(), failed_batches_.load()};
}

void RecordWriter::CountDropped(const PendingRecord& record) {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  if (record.usage && metrics_.dropped_usage) metrics_.dropped_usage->Inc();
  if ((record.decision || record.admin) && metrics_.dropped_audit) metrics_.dropped_audit->Inc();
}

bool RecordWriter::Submit(std::unique_ptr<PendingRecord> record) {
  if (!record) return false;
  if (stopped_.load(std::memory_order_acquire) || !queue_.TryPush(record)) {
    CountDropped(*record);
    return false;
  }
  // Wake the writer only when it sleeps and waits for this many records: under load it is
  // awake (or sleeping out its batch window) and producers make no system call.
  if (queue_.size() >= wake_at_.load(std::memory_order_seq_cst)) Wake();
  return true;
}

void RecordWriter::Wake() {
  { std::lock_guard lock(mu_); }  // the writer is either before its check or inside wait()
  cv_.notify_one();
}

void RecordWriter::Run() {
  const bool strict = options_.durability == Durability::kStrict;
  std::vector<std::unique_ptr<PendingRecord>> batch;
  batch.reserve(options_.batch_max);
  Clock::time_point batch_start{};
  for (;;) {
    while (batch.size() < options_.batch_max) {
      auto item = queue_.TryPop();
      if (!item) break;
      if (batch.empty()) batch_start = Clock::now();
      batch.push_back(std::move(*item));
    }
    const bool stopping = stop_.load();
    if (!batch.empty() && (strict || stopping || batch.size() >= options_.batch_max ||
                           Clock::now() - batch_start >= options_.batch_window)) {
      Commit(batch);
      batch.clear();
      continue;
    }
    if (stopping && batch.empty() && queue_.size() == 0) return;
    // Sleep until enough records arrive for a full batch (any record when the batch is empty),
    // or until the batch window of the oldest record ends.
    std::unique_lock lock(mu_);
    const std::size_t need = batch.empty() ? 1 : options_.batch_max - batch.size();
    wake_at_.store(need, std::memory_order_seq_cst);
    if (queue_.size() < need && !stop_.load()) {
      if (batch.empty()) {
        cv_.wait(lock, [&] { return queue_.size() >= need || stop_.load(); });
      } else {
        cv_.wait_until(lock, batch_start + options_.batch_window,
                       [&] { return queue_.size() >= need || stop_.load(); });
      }
    }
    wake_at_.store(SIZE_MAX, std::memory_order_seq_cst);
  }
}

void RecordWriter::Commit(std::vector<std::unique_ptr<PendingRecord>>& batch) {
  const auto started = Clock::now();
  batches_.fetch_add(1, std::memory_order_relaxed);
  std::vector<UsageRecord> usage;
  std::vector<std::string> bodies;
  std::vector<audit::AppendEntry> entries;
  if (usage_) {
    for (auto& r : batch) {
      if (r->usage) usage.push_back(std::move(*r->usage));
    }
  }
  if (audit_) {
    // Serialised here, off the request path; `entries` points into `bodies`, reserved so it
    // never reallocates.
    bodies.reserve(batch.size());
    for (auto& r : batch) {
      if (r->decision) {
        bodies.push_back(audit::ToCanonicalJson(*r->decision));
        entries.push_back({audit::kKindRequest, bodies.back()});
      } else if (r->admin) {
        bodies.push_back(audit::ToCanonicalJson(*r->admin));
        entries.push_back({audit::kKindAdmin, bodies.back()});
      }
    }
  }
  bool usage_ok = true;
  bool audit_ok = true;
  std::string error;
  if (!usage.empty()) {
    if (auto done = usage_->AppendBatch(usage); !done) {
      usage_ok = false;
      error = fmt::format("usage ledger: {}", done.error().message);
    }
  }
  if (!entries.empty()) {
    if (auto done = audit_->AppendBatch(entries); !done) {
      audit_ok = false;
      error += fmt::format("{}audit log: {}", error.empty() ? "" : "; ", done.error().message);
    }
  }
  if (metrics_.commit_seconds) {
    metrics_.commit_seconds->Observe(std::chrono::duration<double>(Clock::now() - started).count());
    (usage_ok ? metrics_.committed_usage : metrics_.dropped_usage)->Inc(usage.size());
    (audit_ok ? metrics_.committed_audit : metrics_.dropped_audit)->Inc(entries.size());
    if (!usage_ok) metrics_.errors_usage->Inc();
    if (!audit_ok) metrics_.errors_audit->Inc();
  }
  const bool ok = usage_ok && audit_ok;
  failing_.store(!ok, std::memory_order_relaxed);
  if (ok) {
    committed_.fetch_add(batch.size(), std::memory_order_relaxed);
  } else {
    // A record is kept whole or counts as lost: its waiter hears "not committed".
    failed_batches_.fetch_add(1, std::memory_order_relaxed);
    dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
    if (options_.on_error) options_.on_error(fmt::format("store: a batch of {} record(s) failed: {}", batch.size(), error));
  }
  for (auto& r : batch) {
    if (r->waiter) r->waiter->Done(ok);
  }
}

}  // namespace meridian::store
