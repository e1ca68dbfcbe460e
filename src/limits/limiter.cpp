#include <utility>

#include "limits/counters.hpp"
#include "limits/limits.hpp"
#include "limits/memory_store.hpp"

namespace meridian::limits {

namespace {
std::int64_t NonNegative(std::int64_t v) { return v < 0 ? 0 : v; }
}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTenant: return "tenant";
    case Level::kTeam: return "team";
    case Level::kKey: return "key";
  }
  return "scope";
}

std::string_view DenialKindName(DenialKind kind) {
  switch (kind) {
    case DenialKind::kConcurrency: return "concurrent_requests";
    case DenialKind::kRequests: return "requests_per_minute";
    case DenialKind::kInputTokens: return "input_tokens_per_minute";
    case DenialKind::kOutputTokens: return "output_tokens_per_minute";
    case DenialKind::kDailyBudget: return "daily_budget";
    case DenialKind::kMonthlyBudget: return "monthly_budget";
  }
  return "limit";
}

bool IsBudget(DenialKind kind) {
  return kind == DenialKind::kDailyBudget || kind == DenialKind::kMonthlyBudget;
}

// ---- Reservation ---------------------------------------------------------------------------

Reservation::Reservation(Reservation&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      hold_(other.hold_),
      held_(other.held_),
      used_(other.used_),
      cut_(std::move(other.cut_)) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    if (store_ != nullptr) store_->Settle(hold_, held_, used_, TimePoint::min());
    store_ = std::exchange(other.store_, nullptr);
    hold_ = other.hold_;
    held_ = other.held_;
    used_ = other.used_;
    cut_ = std::move(other.cut_);
  }
  return *this;
}

Reservation::~Reservation() {
  // Released with what was charged so far (nothing for a request that never streamed).
  if (store_ != nullptr) store_->Settle(hold_, held_, used_, TimePoint::min());
}

// ---- Limiter -------------------------------------------------------------------------------

Limiter::Limiter(Options options, std::unique_ptr<CounterStore> store)
    : options_(options),
      store_(store ? std::move(store) : std::make_unique<InMemoryCounterStore>()) {}

Limiter::~Limiter() = default;

void Limiter::Configure(Level level, std::string_view id, const ScopeLimits& limits) {
  store_->Configure(level, id, limits);
}

void Limiter::Remove(Level level, std::string_view id) { store_->Remove(level, id); }

std::int64_t Limiter::MaxOutputTokens(std::optional<std::int64_t> requested) const {
  return NonNegative(requested.value_or(options_.default_max_output_tokens));
}

ReserveResult Limiter::Reserve(const Scopes& scopes, const Demand& demand, TimePoint now) {
  const Amounts amounts{NonNegative(demand.cost_upper_micro_usd), NonNegative(demand.input_tokens),
                        MaxOutputTokens(demand.max_output_tokens)};
  auto hold = store_->Reserve(scopes, amounts, now);
  if (!hold) return std::unexpected(std::move(hold.error()));
  Reservation r;
  r.store_ = store_.get();
  r.hold_ = *hold;
  r.held_ = amounts;
  return r;
}

bool Limiter::Charge(Reservation& reservation, std::int64_t extra_output_tokens,
                     std::int64_t extra_cost_micro_usd, TimePoint now) {
  if (!reservation.active()) return false;
  Amounts& used = reservation.used_;
  Amounts& held = reservation.held_;
  used.output_tokens = SatAdd(used.output_tokens, NonNegative(extra_output_tokens));
  used.cost_micro_usd = SatAdd(used.cost_micro_usd, NonNegative(extra_cost_micro_usd));
  const Amounts need{NonNegative(used.cost_micro_usd - held.cost_micro_usd), 0,
                     NonNegative(used.output_tokens - held.output_tokens)};
  if (need.cost_micro_usd == 0 && need.output_tokens == 0) return true;
  auto extended = store_->Extend(reservation.hold_, need, now);
  if (!extended) {
    reservation.cut_ = std::move(extended.error());
    return false;
  }
  held.cost_micro_usd += need.cost_micro_usd;
  held.output_tokens += need.output_tokens;
  return true;
}

void Limiter::Settle(Reservation&& reservation, const Actual& actual, TimePoint now) {
  if (!reservation.active()) return;
  const Amounts used{NonNegative(actual.cost_micro_usd), NonNegative(actual.input_tokens),
                     NonNegative(actual.output_tokens)};
  reservation.store_->Settle(reservation.hold_, reservation.held_, used, now);
  reservation.store_ = nullptr;
}

void Limiter::Release(Reservation&& reservation) {
  if (!reservation.active()) return;
  reservation.store_->Settle(reservation.hold_, reservation.held_, reservation.used_,
                             TimePoint::min());
  reservation.store_ = nullptr;
}

std::optional<ScopeUsage> Limiter::Inspect(Level level, std::string_view id, TimePoint now) const {
  return store_->Inspect(level, id, now);
}

void Limiter::SeedSpent(Level level, std::string_view id, std::int64_t today, std::int64_t this_month,
                        TimePoint now) {
  store_->SeedSpent(level, id, today, this_month, now);
}

}  // namespace meridian::limits
