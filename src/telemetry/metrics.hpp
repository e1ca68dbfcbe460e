#pragma once
// Metrics registry and Prometheus text exposition (format 0.0.4).
//
// Design (hot path first):
//  * A Registry owns families; a family owns its series. Nothing is ever removed, so the
//    `Counter&` / `Gauge&` / `Histogram&` returned by `With()` stay valid for the registry's
//    lifetime and callers may cache them (the cheapest path: one relaxed atomic add).
//  * `With()` on an existing label set takes no lock: each family keeps an insert-only
//    open-addressing hash table of `std::atomic<Entry*>` slots that readers probe with
//    acquire loads. A miss falls back to the family mutex, which creates the series and
//    publishes it (release store). When the table grows, a new table is built and published
//    with one pointer swap; old tables are kept until the family dies (geometric sizes, so
//    they never cost more than the live one), which means no reader can see freed memory.
//  * Counters and histograms are sharded: each series holds `shards` cache-line-aligned
//    cells and a thread adds to the cell of its own thread slot (round-robin assigned on
//    first use), so worker threads do not bounce one cache line between cores. A scrape
//    sums the cells. Gauges have set semantics and are one atomic.
//  * A histogram's `_count` is the sum of its bucket cells, so the `+Inf` bucket always
//    equals `_count` in a scrape; `_sum` is updated separately and may lag by in-flight
//    observations.
//  * Rendering copies the family and series pointer lists under the mutexes (never held
//    while formatting), so a scrape blocks only the creation of new series, and only briefly.
//
// Registration errors (bad names, duplicates, bad buckets) are returned as values
// (`core::Result`); the gateway registers everything at startup and refuses to start on error.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace meridian::telemetry {

namespace detail {

// One cache line of counter cells; series allocate whole lines so shards never share one.
struct alignas(64) CellLine {
  std::atomic<std::uint64_t> cell[8];
};
inline constexpr std::size_t kCellsPerLine = 8;

std::uint32_t AssignThreadSlot() noexcept;
inline constinit thread_local std::uint32_t tl_thread_slot = 0;  // 0 = not yet assigned

// Small per-thread number used to pick a shard. Thread-safe (thread-local).
inline std::uint32_t ThreadSlot() noexcept {
  std::uint32_t slot = tl_thread_slot;
  if (slot == 0) [[unlikely]] slot = AssignThreadSlot();
  return slot;
}

inline void AtomicAddDouble(std::atomic<std::uint64_t>& bits, double delta) noexcept {
  std::uint64_t old = bits.load(std::memory_order_relaxed);
  while (!bits.compare_exchange_weak(
      old, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + delta),
      std::memory_order_relaxed, std::memory_order_relaxed)) {
  }
}

}  // namespace detail

// Monotonic counter. Inc() is wait-free and thread-safe; Value() sums the shards and may
// miss increments that happen concurrently with it.
class Counter {
 public:
  explicit Counter(std::uint32_t shards);
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc(std::uint64_t n = 1) noexcept {
    lines_[detail::ThreadSlot() & mask_].cell[0].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t Value() const noexcept;

 private:
  std::uint32_t mask_;
  std::unique_ptr<detail::CellLine[]> lines_;
};

// Gauge holding a double. Set/Add/Value are lock-free and thread-safe.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) noexcept {
    bits_.store(std::bit_cast<std::uint64_t>(value), std::memory_order_relaxed);
  }
  void Add(double delta) noexcept { detail::AtomicAddDouble(bits_, delta); }
  double Value() const noexcept {
    return std::bit_cast<double>(bits_.load(std::memory_order_relaxed));
  }

 private:
  std::atomic<std::uint64_t> bits_{std::bit_cast<std::uint64_t>(0.0)};
};

// Histogram with fixed upper bounds (shared with its family). Observe() is lock-free and
// thread-safe; NaN observations land in the +Inf bucket and make `_sum` NaN.
class Histogram {
 public:
  struct Snapshot {
    std::vector<std::uint64_t> counts;  // per bucket, NOT cumulative; last one is +Inf
    std::uint64_t count = 0;            // sum of counts
    double sum = 0;
  };

  Histogram(std::shared_ptr<const std::vector<double>> bounds, std::uint32_t shards);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value) noexcept;
  // Sums the shards; concurrent observations may be partly included.
  Snapshot Collect() const;
  const std::vector<double>& bounds() const noexcept { return *bounds_; }

 private:
  std::atomic<std::uint64_t>& Cell(std::size_t shard, std::size_t i) const noexcept {
    std::size_t flat = shard * cells_per_shard_ + i;
    return lines_[flat / detail::kCellsPerLine].cell[flat % detail::kCellsPerLine];
  }

  std::shared_ptr<const std::vector<double>> bounds_;
  std::uint32_t mask_;
  std::size_t cells_per_shard_;  // buckets + 1 (+Inf) + 1 (sum bits), rounded to whole lines
  std::unique_ptr<detail::CellLine[]> lines_;
};

enum class MetricType { kCounter, kGauge, kHistogram };

// What every family has: name, help, label names; and how it renders itself.
class FamilyBase {
 public:
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  virtual ~FamilyBase() = default;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  MetricType type() const noexcept { return type_; }

  // Appends "# HELP", "# TYPE" and the samples. Thread-safe.
  virtual void Render(std::string& out) const = 0;

 protected:
  FamilyBase(MetricType type, std::string name, std::string help,
             std::vector<std::string> label_names);

 private:
  MetricType type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

// A family with stored series, keyed by label values, with a lock-free lookup path.
class LabeledFamily : public FamilyBase {
 public:
  ~LabeledFamily() override;

 protected:
  struct Entry {
    virtual ~Entry() = default;
    std::vector<std::string> labels;
    std::uint64_t hash = 0;
  };

  LabeledFamily(MetricType type, std::string name, std::string help,
                std::vector<std::string> label_names);

  // Returns the series for `values`, creating it with NewEntry() on first use; never null.
  // Lock-free when the series exists. The count of values must match the label names
  // (asserted in debug builds; release builds drop extra values and pad missing ones with "").
  Entry* Lookup(std::span<const std::string_view> values);
  // All entries sorted by label values (a stable order for rendering). Thread-safe.
  std::vector<const Entry*> SortedEntries() const;
  virtual std::unique_ptr<Entry> NewEntry() const = 0;

 private:
  struct Table {
    explicit Table(std::size_t capacity);
    std::size_t mask;
    std::unique_ptr<std::atomic<Entry*>[]> slots;
  };

  static Entry* Find(const Table& table, std::span<const std::string_view> values,
                     std::uint64_t hash) noexcept;
  Entry* Insert(std::span<const std::string_view> values, std::uint64_t hash);

  std::atomic<const Table*> table_{nullptr};     // read lock-free, replaced under mu_
  mutable std::mutex mu_;                        // guards the two vectors below
  std::vector<std::unique_ptr<Table>> tables_;   // the live one is last; old ones kept
  std::vector<std::unique_ptr<Entry>> entries_;  // creation order
};

// A family of series of one metric type (Counter, Gauge or Histogram). With() is
// thread-safe and returns a reference valid for the registry's lifetime (lock-free for an
// existing label set; callers on hot paths should still cache it).
template <class M>
class Family final : public LabeledFamily {
 public:
  M& With(std::initializer_list<std::string_view> label_values) {
    return With(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  M& With(std::span<const std::string_view> label_values) {
    return static_cast<TypedEntry*>(Lookup(label_values))->metric;
  }

  void Render(std::string& out) const override;

 private:
  friend class Registry;
  struct TypedEntry;

  Family(MetricType type, std::string name, std::string help,
         std::vector<std::string> label_names, std::uint32_t shards,
         std::shared_ptr<const std::vector<double>> bounds);
  std::unique_ptr<Entry> NewEntry() const override;

  std::uint32_t shards_;
  std::shared_ptr<const std::vector<double>> bounds_;  // histograms only
};

template <class M>
struct Family<M>::TypedEntry final : LabeledFamily::Entry {
  template <class... Args>
  explicit TypedEntry(Args&&... args) : metric(std::forward<Args>(args)...) {}
  M metric;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Handed to a callback gauge at scrape time; call it once per series. Only valid during the
// callback, on the scraping thread.
class Emit {
 public:
  struct Sample {
    std::vector<std::string> labels;
    double value;
  };
  Emit(std::size_t label_count, std::vector<Sample>* out) : label_count_(label_count), out_(out) {}
  // Label values follow the family's label names (count mismatch: asserted in debug, padded
  // or truncated in release). A label set emitted twice keeps the last value.
  void operator()(std::initializer_list<std::string_view> label_values, double value) const {
    (*this)(std::span<const std::string_view>(label_values.begin(), label_values.size()), value);
  }
  void operator()(std::span<const std::string_view> label_values, double value) const;

 private:
  std::size_t label_count_;
  std::vector<Sample>* out_;
};

struct RegistryOptions {
  // Cache-line cells per counter/histogram series, rounded up to a power of two in [1, 64].
  // More shards = less contention between worker threads, more memory (64 B per shard).
  std::uint32_t shards = 8;
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // Registers a family owned by the registry (the pointer is valid for its lifetime).
  // Fails with kInternal (message says why) on an invalid metric name
  // ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name ([a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix),
  // duplicate label names, or a name whose samples collide with another family's.
  // Thread-safe. A family without labels has its single series from the start.
  core::Result<CounterFamily*> AddCounter(std::string name, std::string help,
                                          std::vector<std::string> label_names = {});
  core::Result<GaugeFamily*> AddGauge(std::string name, std::string help,
                                      std::vector<std::string> label_names = {});
  // Bounds must be strictly increasing and not NaN; a trailing +Inf is dropped (the +Inf
  // bucket always exists). "le" is reserved as a label name. Otherwise as AddCounter.
  core::Result<HistogramFamily*> AddHistogram(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              std::vector<double> bounds);
  // A gauge family evaluated at scrape time: `collect` runs on the scraping thread inside
  // RenderPrometheus(), must be thread-safe with respect to what it reads and must not call
  // into this registry. Same failures as AddGauge (and a null `collect`).
  core::Result<void> AddCallbackGauge(std::string name, std::string help,
                                      std::vector<std::string> label_names,
                                      std::function<void(Emit)> collect);

  // The whole registry in Prometheus text format 0.0.4: families in registration order,
  // series sorted by label values. Thread-safe; never blocks updates of existing series and
  // blocks the creation of new ones only while their family's entry list is copied.
  std::string RenderPrometheus() const;

 private:
  core::Result<void> Admit(const std::string& name, MetricType type,
                           const std::vector<std::string>& label_names, bool reserve_le);
  template <class M>
  core::Result<Family<M>*> Register(MetricType type, std::string name, std::string help,
                                    std::vector<std::string> label_names,
                                    std::shared_ptr<const std::vector<double>> bounds);

  std::uint32_t shards_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;  // registration order
  std::vector<std::string> used_names_;  // family and sample names taken, for collisions
  mutable std::atomic<std::size_t> last_render_size_{0};
};

// Latency buckets in seconds, 0.5 ms to 60 s, roughly x2-x2.5 apart (16 bounds).
std::vector<double> DefaultLatencyBuckets();

// Appends a sample value in the text format: "+Inf", "-Inf", "NaN"; the shortest round-trip
// digits in fixed notation for 1e-6 <= |v| < 1e21 (so integers have no exponent or fraction);
// the shortest round-trip form, possibly with an exponent, otherwise. -0 renders as "0".
void AppendPrometheusNumber(std::string& out, double value);

}  // namespace meridian::telemetry
