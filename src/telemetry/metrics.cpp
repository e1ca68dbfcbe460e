#include "telemetry/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>

namespace meridian::telemetry {

namespace detail {

std::uint32_t AssignThreadSlot() noexcept {
  static std::atomic<std::uint32_t> next{1};
  std::uint32_t slot = next.fetch_add(1, std::memory_order_relaxed);
  if (slot == 0) slot = next.fetch_add(1, std::memory_order_relaxed);  // 0 means "unassigned"
  tl_thread_slot = slot;
  return slot;
}

}  // namespace detail

namespace {

constexpr std::size_t kInitialTableCapacity = 16;

std::uint32_t NormalizeShards(std::uint32_t shards) {
  return std::bit_ceil(std::clamp<std::uint32_t>(shards, 1, 64));
}

std::uint64_t Mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t HashLabels(std::span<const std::string_view> values) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (std::string_view v : values) {
    h = Mix64(h ^ std::hash<std::string_view>{}(v)) + v.size();
  }
  return h;
}

bool SameLabels(const std::vector<std::string>& stored, std::span<const std::string_view> values) {
  if (stored.size() != values.size()) return false;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (stored[i] != values[i]) return false;
  }
  return true;
}

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    const char* rep = nullptr;
    if (c == '\\') rep = "\\\\";
    else if (c == '\n') rep = "\\n";
    else if (c == '"' && quote) rep = "\\\"";
    if (rep == nullptr) continue;
    out.append(text.substr(start, i - start));
    out.append(rep);
    start = i + 1;
  }
  out.append(text.substr(start));
}

void AppendUint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void AppendHeader(std::string& out, const FamilyBase& family) {
  out.append("# HELP ").append(family.name()).push_back(' ');
  AppendEscaped(out, family.help(), /*quote=*/false);
  out.append("\n# TYPE ").append(family.name()).push_back(' ');
  out.append(TypeName(family.type())).push_back('\n');
}

// `{a="x",b="y"}` (with an optional extra pair such as le), nothing when there are no labels.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out.push_back('{');
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(names[i]).append("=\"");
    AppendEscaped(out, values[i], /*quote=*/true);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out.push_back(',');
    out.append(extra_name).append("=\"").append(extra_value).push_back('"');
  }
  out.push_back('}');
}

bool LabelsLess(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

core::Error RegistrationError(std::string message) {
  return core::Fail(core::ErrorCode::kInternal, std::move(message)).error();
}

}  // namespace

void AppendPrometheusNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (value == 0) {  // also turns -0 into 0
    out.push_back('0');
    return;
  }
  char buf[64];
  std::to_chars_result res;
  double magnitude = std::fabs(value);
  if (magnitude >= 1e-6 && magnitude < 1e21) {
    // Shortest round-trip digits in fixed notation: "1", "0.0005", "2.5", never "5e-04".
    res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
  } else {
    res = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  }
  out.append(buf, res.ptr);
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
}

// ---- Counter / Histogram ---------------------------------------------------------------

Counter::Counter(std::uint32_t shards)
    : mask_(NormalizeShards(shards) - 1),
      lines_(std::make_unique<detail::CellLine[]>(mask_ + 1)) {}

std::uint64_t Counter::Value() const noexcept {
  std::uint64_t total = 0;
  for (std::uint32_t s = 0; s <= mask_; ++s) {
    total += lines_[s].cell[0].load(std::memory_order_relaxed);
  }
  return total;
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds, std::uint32_t shards)
    : bounds_(std::move(bounds)), mask_(NormalizeShards(shards) - 1) {
  std::size_t cells = bounds_->size() + 2;  // buckets, +Inf, sum
  std::size_t lines_per_shard = (cells + detail::kCellsPerLine - 1) / detail::kCellsPerLine;
  cells_per_shard_ = lines_per_shard * detail::kCellsPerLine;
  lines_ = std::make_unique<detail::CellLine[]>(lines_per_shard * (mask_ + 1));
  // All-zero bits are 0.0, so the sum cells need no initialization.
}

void Histogram::Observe(double value) noexcept {
  const std::vector<double>& b = *bounds_;
  // First bound with value <= bound; NaN compares false everywhere and lands in +Inf.
  auto above = [value](double bound) { return !(value <= bound); };
  std::size_t bucket =
      static_cast<std::size_t>(std::partition_point(b.begin(), b.end(), above) - b.begin());
  std::size_t shard = detail::ThreadSlot() & mask_;
  Cell(shard, bucket).fetch_add(1, std::memory_order_relaxed);
  detail::AtomicAddDouble(Cell(shard, b.size() + 1), value);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snap;
  std::size_t buckets = bounds_->size() + 1;
  snap.counts.assign(buckets, 0);
  for (std::size_t s = 0; s <= mask_; ++s) {
    for (std::size_t i = 0; i < buckets; ++i) {
      snap.counts[i] += Cell(s, i).load(std::memory_order_relaxed);
    }
    snap.sum += std::bit_cast<double>(Cell(s, buckets).load(std::memory_order_relaxed));
  }
  for (std::uint64_t c : snap.counts) snap.count += c;
  return snap;
}

// ---- Families --------------------------------------------------------------------------

FamilyBase::FamilyBase(MetricType type, std::string name, std::string help,
                       std::vector<std::string> label_names)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)) {}

LabeledFamily::Table::Table(std::size_t capacity)
    : mask(capacity - 1), slots(std::make_unique<std::atomic<Entry*>[]>(capacity)) {}

LabeledFamily::LabeledFamily(MetricType type, std::string name, std::string help,
                             std::vector<std::string> label_names)
    : FamilyBase(type, std::move(name), std::move(help), std::move(label_names)) {}

LabeledFamily::~LabeledFamily() = default;

LabeledFamily::Entry* LabeledFamily::Find(const Table& table,
                                          std::span<const std::string_view> values,
                                          std::uint64_t hash) noexcept {
  // The table is never more than half full, so an empty slot ends every probe.
  for (std::size_t i = hash & table.mask;; i = (i + 1) & table.mask) {
    Entry* e = table.slots[i].load(std::memory_order_acquire);
    if (e == nullptr) return nullptr;
    if (e->hash == hash && SameLabels(e->labels, values)) return e;
  }
}

LabeledFamily::Entry* LabeledFamily::Lookup(std::span<const std::string_view> values) {
  if (values.size() != label_names().size()) [[unlikely]] {
    assert(false && "label value count does not match the family's label names");
    std::vector<std::string_view> fixed(label_names().size());
    std::copy_n(values.begin(), std::min(values.size(), fixed.size()), fixed.begin());
    return Lookup(fixed);
  }
  std::uint64_t hash = HashLabels(values);
  if (const Table* table = table_.load(std::memory_order_acquire)) {
    if (Entry* e = Find(*table, values, hash)) return e;
  }
  return Insert(values, hash);
}

LabeledFamily::Entry* LabeledFamily::Insert(std::span<const std::string_view> values,
                                            std::uint64_t hash) {
  std::lock_guard lock(mu_);
  const Table* table = table_.load(std::memory_order_relaxed);
  if (table != nullptr) {
    if (Entry* e = Find(*table, values, hash)) return e;  // created since our lock-free miss
  }
  std::unique_ptr<Entry> entry = NewEntry();
  entry->labels.assign(values.begin(), values.end());
  entry->hash = hash;
  Entry* raw = entry.get();
  entries_.push_back(std::move(entry));

  auto place = [](Table& t, Entry* e) {
    std::size_t i = e->hash & t.mask;
    while (t.slots[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & t.mask;
    t.slots[i].store(e, std::memory_order_release);
  };
  std::size_t capacity = table == nullptr ? 0 : table->mask + 1;
  if (entries_.size() * 2 > capacity) {
    // Build the bigger table completely, then publish it; readers of the old one that miss
    // come here and find the entry under the lock.
    auto grown = std::make_unique<Table>(std::max(kInitialTableCapacity, capacity * 2));
    for (const auto& e : entries_) place(*grown, e.get());
    table_.store(grown.get(), std::memory_order_release);
    tables_.push_back(std::move(grown));
  } else {
    place(*tables_.back(), raw);
  }
  return raw;
}

std::vector<const LabeledFamily::Entry*> LabeledFamily::SortedEntries() const {
  std::vector<const Entry*> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e.get());
  }
  std::sort(out.begin(), out.end(),
            [](const Entry* a, const Entry* b) { return LabelsLess(a->labels, b->labels); });
  return out;
}

template <class M>
Family<M>::Family(MetricType type, std::string name, std::string help,
                  std::vector<std::string> label_names, std::uint32_t shards,
                  std::shared_ptr<const std::vector<double>> bounds)
    : LabeledFamily(type, std::move(name), std::move(help), std::move(label_names)),
      shards_(shards),
      bounds_(std::move(bounds)) {}

template <class M>
std::unique_ptr<LabeledFamily::Entry> Family<M>::NewEntry() const {
  if constexpr (std::is_same_v<M, Counter>) {
    return std::make_unique<TypedEntry>(shards_);
  } else if constexpr (std::is_same_v<M, Gauge>) {
    return std::make_unique<TypedEntry>();
  } else {
    return std::make_unique<TypedEntry>(bounds_, shards_);
  }
}

template <class M>
void Family<M>::Render(std::string& out) const {
  AppendHeader(out, *this);
  const std::vector<std::string>& names = label_names();
  for (const Entry* entry : SortedEntries()) {
    const M& metric = static_cast<const TypedEntry*>(entry)->metric;
    if constexpr (std::is_same_v<M, Counter>) {
      out.append(name());
      AppendLabels(out, names, entry->labels);
      out.push_back(' ');
      AppendUint(out, metric.Value());
      out.push_back('\n');
    } else if constexpr (std::is_same_v<M, Gauge>) {
      out.append(name());
      AppendLabels(out, names, entry->labels);
      out.push_back(' ');
      AppendPrometheusNumber(out, metric.Value());
      out.push_back('\n');
    } else {
      Histogram::Snapshot snap = metric.Collect();
      const std::vector<double>& bounds = metric.bounds();
      std::string le;
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += snap.counts[i];
        le.clear();
        if (i < bounds.size()) {
          AppendPrometheusNumber(le, bounds[i]);
        } else {
          le = "+Inf";
        }
        out.append(name()).append("_bucket");
        AppendLabels(out, names, entry->labels, "le", le);
        out.push_back(' ');
        AppendUint(out, cumulative);
        out.push_back('\n');
      }
      out.append(name()).append("_sum");
      AppendLabels(out, names, entry->labels);
      out.push_back(' ');
      AppendPrometheusNumber(out, snap.sum);
      out.push_back('\n');
      out.append(name()).append("_count");
      AppendLabels(out, names, entry->labels);
      out.push_back(' ');
      AppendUint(out, snap.count);
      out.push_back('\n');
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Callback gauges -------------------------------------------------------------------

void Emit::operator()(std::span<const std::string_view> label_values, double value) const {
  assert(label_values.size() == label_count_ && "label value count mismatch in callback gauge");
  Sample sample{std::vector<std::string>(label_count_), value};
  for (std::size_t i = 0; i < std::min(label_count_, label_values.size()); ++i) {
    sample.labels[i] = label_values[i];
  }
  out_->push_back(std::move(sample));
}

namespace {

class CallbackGaugeFamily final : public FamilyBase {
 public:
  CallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
                      std::function<void(Emit)> collect)
      : FamilyBase(MetricType::kGauge, std::move(name), std::move(help),
                   std::move(label_names)),
        collect_(std::move(collect)) {}

  void Render(std::string& out) const override {
    std::vector<Emit::Sample> samples;
    {
      std::lock_guard lock(mu_);  // one scrape at a time runs a given callback
      collect_(Emit(label_names().size(), &samples));
    }
    std::stable_sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) {
      return LabelsLess(a.labels, b.labels);
    });
    AppendHeader(out, *this);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      // Equal label sets are adjacent in emission order; the last one wins.
      if (i + 1 < samples.size() && samples[i].labels == samples[i + 1].labels) continue;
      out.append(name());
      AppendLabels(out, label_names(), samples[i].labels);
      out.push_back(' ');
      AppendPrometheusNumber(out, samples[i].value);
      out.push_back('\n');
    }
  }

 private:
  mutable std::mutex mu_;
  std::function<void(Emit)> collect_;
};

}  // namespace

// ---- Registry --------------------------------------------------------------------------

Registry::Registry(RegistryOptions options) : shards_(NormalizeShards(options.shards)) {}

Registry::~Registry() = default;

core::Result<void> Registry::Admit(const std::string& name, MetricType type,
                                   const std::vector<std::string>& label_names,
                                   bool reserve_le) {
  if (!IsMetricName(name)) {
    return std::unexpected(RegistrationError("invalid metric name '" + name + "'"));
  }
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsLabelName(label)) {
      return std::unexpected(
          RegistrationError("metric '" + name + "': invalid label name '" + label + "'"));
    }
    if (reserve_le && label == "le") {
      return std::unexpected(
          RegistrationError("histogram '" + name + "': label name 'le' is reserved"));
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) !=
        label_names.begin() + i) {
      return std::unexpected(
          RegistrationError("metric '" + name + "': duplicate label name '" + label + "'"));
    }
  }
  std::vector<std::string> names{name};
  if (type == MetricType::kHistogram) {
    names.push_back(name + "_bucket");
    names.push_back(name + "_sum");
    names.push_back(name + "_count");
  }
  for (const std::string& n : names) {
    if (std::find(used_names_.begin(), used_names_.end(), n) != used_names_.end()) {
      return std::unexpected(RegistrationError(
          "metric '" + name + "' collides with an already registered name '" + n + "'"));
    }
  }
  used_names_.insert(used_names_.end(), names.begin(), names.end());
  return {};
}

template <class M>
core::Result<Family<M>*> Registry::Register(MetricType type, std::string name, std::string help,
                                            std::vector<std::string> label_names,
                                            std::shared_ptr<const std::vector<double>> bounds) {
  std::lock_guard lock(mu_);
  if (auto ok = Admit(name, type, label_names, type == MetricType::kHistogram); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  std::unique_ptr<Family<M>> owned(new Family<M>(type, std::move(name), std::move(help),
                                                 std::move(label_names), shards_,
                                                 std::move(bounds)));
  Family<M>* family = owned.get();
  families_.push_back(std::move(owned));
  if (family->label_names().empty()) family->With({});  // its one series exists from the start
  return family;
}

core::Result<CounterFamily*> Registry::AddCounter(std::string name, std::string help,
                                                  std::vector<std::string> label_names) {
  return Register<Counter>(MetricType::kCounter, std::move(name), std::move(help),
                           std::move(label_names), nullptr);
}

core::Result<GaugeFamily*> Registry::AddGauge(std::string name, std::string help,
                                              std::vector<std::string> label_names) {
  return Register<Gauge>(MetricType::kGauge, std::move(name), std::move(help),
                         std::move(label_names), nullptr);
}

core::Result<HistogramFamily*> Registry::AddHistogram(std::string name, std::string help,
                                                      std::vector<std::string> label_names,
                                                      std::vector<double> bounds) {
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      return std::unexpected(RegistrationError(
          "histogram '" + name + "': bucket bounds must be strictly increasing numbers"));
    }
  }
  return Register<Histogram>(MetricType::kHistogram, std::move(name), std::move(help),
                             std::move(label_names),
                             std::make_shared<const std::vector<double>>(std::move(bounds)));
}

core::Result<void> Registry::AddCallbackGauge(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              std::function<void(Emit)> collect) {
  if (!collect) {
    return std::unexpected(RegistrationError("callback gauge '" + name + "': no callback"));
  }
  std::lock_guard lock(mu_);
  if (auto ok = Admit(name, MetricType::kGauge, label_names, false); !ok) return ok;
  families_.push_back(std::make_unique<CallbackGaugeFamily>(
      std::move(name), std::move(help), std::move(label_names), std::move(collect)));
  return {};
}

std::string Registry::RenderPrometheus() const {
  std::vector<const FamilyBase*> families;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  std::size_t last = last_render_size_.load(std::memory_order_relaxed);
  out.reserve(last + last / 8 + 256);
  for (const FamilyBase* f : families) f->Render(out);
  last_render_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace meridian::telemetry
