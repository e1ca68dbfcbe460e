#include "limits/memory_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <mutex>

#include "limits/counters.hpp"

namespace meridian::limits {

struct InMemoryCounterStore::State {
  std::mutex mutex;
  Level level = Level::kTenant;
  std::string id;
  // Limits (nullopt / absent bucket = none).
  std::optional<std::int64_t> day_limit;
  std::optional<std::int64_t> month_limit;
  std::optional<std::int64_t> concurrent;
  std::optional<TokenBucket> requests;
  std::optional<TokenBucket> input;
  std::optional<TokenBucket> output;
  // Counters.
  std::int64_t reserved = 0;   // micro-USD held by reservations in flight
  std::int64_t in_flight = 0;  // reservations not yet settled or released
  WindowCounter day;
  WindowCounter month;
};

namespace {

using State = InMemoryCounterStore::State;

// Settle's "no time known" (Limiter::Release): no refill and no window move.
constexpr std::int64_t kNoTime = INT64_MIN;

std::int64_t Micros(TimePoint t) {
  if (t == TimePoint::min()) return kNoTime;
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::int64_t NonNegative(std::int64_t v) { return v < 0 ? 0 : v; }

std::string Usd(std::int64_t micro) {
  const char* sign = micro < 0 ? "-" : "";
  const std::uint64_t m = micro < 0 ? 0 - static_cast<std::uint64_t>(micro)
                                    : static_cast<std::uint64_t>(micro);
  return fmt::format("{}${}.{:06}", sign, m / 1'000'000, m % 1'000'000);
}

void SetBucket(std::optional<TokenBucket>& bucket, const std::optional<std::int64_t>& limit) {
  if (!limit) {
    bucket.reset();
  } else if (bucket) {
    bucket->Resize(*limit);
  } else {
    bucket.emplace();
    bucket->Reset(*limit);
  }
}

Denial MakeDenial(const State& s, DenialKind kind) {
  Denial d;
  d.kind = kind;
  d.level = s.level;
  d.scope_id = s.id;
  return d;
}

std::optional<Denial> CheckBucket(const State& s, TokenBucket& bucket, DenialKind kind,
                                  std::int64_t n, std::string_view what, std::int64_t now_us) {
  if (now_us != kNoTime) bucket.Refill(now_us);
  if (bucket.CanTake(n)) return std::nullopt;
  Denial d = MakeDenial(s, kind);
  if (bucket.NeverFits(n)) {
    d.permanent = true;
    d.message = fmt::format("Request too large for {} '{}': it needs {} {}, the limit is {} per minute.",
                            LevelName(s.level), s.id, n, what, bucket.per_minute());
  } else {
    d.retry_after_seconds = bucket.RetryAfterSeconds(n);
    d.message = fmt::format("Rate limit reached for {} '{}': {} {} per minute. Retry after {} s.",
                            LevelName(s.level), s.id, bucket.per_minute(), what,
                            d.retry_after_seconds);
  }
  return d;
}

std::optional<Denial> CheckBudget(const State& s, std::int64_t limit, const WindowCounter& w,
                                  DenialKind kind, std::int64_t cost, bool new_request,
                                  std::int64_t now_us) {
  const std::int64_t committed = SatAdd(w.spent, s.reserved);
  // A zero upper bound (free model) is admitted while the budget is not used up; an extension
  // without cost is not checked here at all.
  const bool fits = cost > 0 ? SatAdd(committed, cost) <= limit : (!new_request || committed < limit);
  if (fits) return std::nullopt;
  Denial d = MakeDenial(s, kind);
  const bool daily = kind == DenialKind::kDailyBudget;
  if (cost > limit) {
    d.permanent = true;
    d.message = fmt::format("Request too expensive for {} '{}': it may cost up to {}, the {} budget is {}.",
                            LevelName(s.level), s.id, Usd(cost), daily ? "daily" : "monthly",
                            Usd(limit));
    return d;
  }
  const std::int64_t end = daily ? UtcDayEnd(now_us) : UtcMonthEnd(now_us);
  d.retry_after_seconds = std::max<std::int64_t>(1, (end - now_us + kMicrosPerSecond - 1) / kMicrosPerSecond);
  d.message = fmt::format("Budget exhausted for {} '{}': {} budget of {} (this request reserves up to {}). "
                          "It resets in {} s.",
                          LevelName(s.level), s.id, daily ? "daily" : "monthly", Usd(limit),
                          Usd(cost), d.retry_after_seconds);
  return d;
}

// Checks every limit of `s` for `a` (plus a request slot when `new_request`). Refills the
// buckets and rolls the windows to `now_us` as it goes (both are idempotent).
std::optional<Denial> Check(State& s, const Amounts& a, bool new_request, std::int64_t now_us) {
  if (new_request && s.concurrent && s.in_flight >= *s.concurrent) {
    Denial d = MakeDenial(s, DenialKind::kConcurrency);
    if (*s.concurrent <= 0) {
      d.permanent = true;
      d.message = fmt::format("No requests are allowed for {} '{}' (concurrency limit 0).",
                              LevelName(s.level), s.id);
    } else {
      d.retry_after_seconds = 1;
      d.message = fmt::format("Too many concurrent requests for {} '{}' (limit {}). Retry after 1 s.",
                              LevelName(s.level), s.id, *s.concurrent);
    }
    return d;
  }
  if (new_request && s.requests) {
    if (auto d = CheckBucket(s, *s.requests, DenialKind::kRequests, 1, "requests", now_us)) return d;
  }
  if (a.input_tokens > 0 && s.input) {
    if (auto d = CheckBucket(s, *s.input, DenialKind::kInputTokens, a.input_tokens, "input tokens", now_us)) {
      return d;
    }
  }
  if (a.output_tokens > 0 && s.output) {
    if (auto d = CheckBucket(s, *s.output, DenialKind::kOutputTokens, a.output_tokens, "output tokens", now_us)) {
      return d;
    }
  }
  if (s.day_limit) {
    s.day.Roll(UtcDayIndex(now_us));
    if (auto d = CheckBudget(s, *s.day_limit, s.day, DenialKind::kDailyBudget, a.cost_micro_usd, new_request, now_us)) {
      return d;
    }
  }
  if (s.month_limit) {
    s.month.Roll(UtcMonthIndex(now_us));
    if (auto d = CheckBudget(s, *s.month_limit, s.month, DenialKind::kMonthlyBudget, a.cost_micro_usd, new_request, now_us)) {
      return d;
    }
  }
  return std::nullopt;
}

void Apply(State& s, const Amounts& a, bool new_request) {
  if (new_request) {
    ++s.in_flight;
    if (s.requests) s.requests->Take(1);
  }
  if (s.input) s.input->Take(a.input_tokens);
  if (s.output) s.output->Take(a.output_tokens);
  s.reserved = SatAdd(s.reserved, a.cost_micro_usd);
}

// Locks the non-null states of `states` in level order (the global lock order).
class LockAll {
 public:
  explicit LockAll(const std::array<State*, kLevels>& states) : states_(states) {
    for (State* s : states_) {
      if (s != nullptr) s->mutex.lock();
    }
  }
  ~LockAll() {
    for (std::size_t i = kLevels; i-- > 0;) {
      if (states_[i] != nullptr) states_[i]->mutex.unlock();
    }
  }
  LockAll(const LockAll&) = delete;
  LockAll& operator=(const LockAll&) = delete;

 private:
  const std::array<State*, kLevels>& states_;
};

std::expected<void, Denial> CheckAndApply(const std::array<State*, kLevels>& states, const Amounts& a,
                                          bool new_request, std::int64_t now_us) {
  LockAll lock(states);
  for (State* s : states) {
    if (s == nullptr) continue;
    if (auto denial = Check(*s, a, new_request, now_us)) return std::unexpected(std::move(*denial));
  }
  for (State* s : states) {
    if (s != nullptr) Apply(*s, a, new_request);
  }
  return {};
}

std::array<State*, kLevels> StatesOf(const Hold& hold) {
  std::array<State*, kLevels> out{};
  for (std::size_t i = 0; i < kLevels; ++i) out[i] = static_cast<State*>(hold.scopes[i]);
  return out;
}

Amounts Sanitized(const Amounts& a) {
  return {NonNegative(a.cost_micro_usd), NonNegative(a.input_tokens), NonNegative(a.output_tokens)};
}

}  // namespace

InMemoryCounterStore::InMemoryCounterStore() = default;
InMemoryCounterStore::~InMemoryCounterStore() = default;

InMemoryCounterStore::State* InMemoryCounterStore::Find(Level level, std::string_view id) const {
  const Map& map = maps_[static_cast<std::size_t>(level)];
  auto it = map.find(id);
  return it == map.end() ? nullptr : it->second.get();
}

InMemoryCounterStore::State* InMemoryCounterStore::FindOrCreate(Level level, std::string_view id) {
  std::unique_lock lock(maps_mutex_);
  Map& map = maps_[static_cast<std::size_t>(level)];
  auto it = map.find(id);
  if (it == map.end()) {
    auto state = std::make_unique<State>();
    state->level = level;
    state->id = std::string(id);
    it = map.emplace(std::string(id), std::move(state)).first;
  }
  return it->second.get();
}

void InMemoryCounterStore::Configure(Level level, std::string_view id, const ScopeLimits& limits) {
  State* s = FindOrCreate(level, id);
  std::lock_guard lock(s->mutex);
  auto budget = [](const std::optional<std::int64_t>& v) -> std::optional<std::int64_t> {
    if (!v) return std::nullopt;
    return NonNegative(*v);
  };
  s->day_limit = budget(limits.usd_per_day_micro);
  s->month_limit = budget(limits.usd_per_month_micro);
  s->concurrent = budget(limits.concurrent_requests);
  SetBucket(s->requests, limits.requests_per_minute);
  SetBucket(s->input, limits.input_tokens_per_minute);
  SetBucket(s->output, limits.output_tokens_per_minute);
}

void InMemoryCounterStore::SeedSpent(Level level, std::string_view id, std::int64_t today,
                                     std::int64_t this_month, TimePoint now) {
  State* s = FindOrCreate(level, id);
  const std::int64_t now_us = Micros(now);
  std::lock_guard lock(s->mutex);
  s->day.Roll(UtcDayIndex(now_us));
  s->month.Roll(UtcMonthIndex(now_us));
  s->day.spent = SatAdd(s->day.spent, NonNegative(today));
  s->month.spent = SatAdd(s->month.spent, NonNegative(this_month));
}

void InMemoryCounterStore::Remove(Level level, std::string_view id) {
  State* s = nullptr;
  {
    std::shared_lock lock(maps_mutex_);
    s = Find(level, id);
  }
  if (s != nullptr) Configure(level, id, ScopeLimits{});
}

std::expected<Hold, Denial> InMemoryCounterStore::Reserve(const Scopes& scopes, const Amounts& amounts,
                                                          TimePoint now) {
  std::array<State*, kLevels> states{};
  {
    std::shared_lock lock(maps_mutex_);
    for (std::size_t i = 0; i < kLevels; ++i) {
      const std::string_view id = scopes.at(static_cast<Level>(i));
      if (!id.empty()) states[i] = Find(static_cast<Level>(i), id);
    }
  }
  auto done = CheckAndApply(states, Sanitized(amounts), /*new_request=*/true, Micros(now));
  if (!done) return std::unexpected(std::move(done.error()));
  Hold hold;
  for (std::size_t i = 0; i < kLevels; ++i) hold.scopes[i] = states[i];
  return hold;
}

std::expected<void, Denial> InMemoryCounterStore::Extend(const Hold& hold, const Amounts& extra,
                                                         TimePoint now) {
  return CheckAndApply(StatesOf(hold), Sanitized(extra), /*new_request=*/false, Micros(now));
}

void InMemoryCounterStore::Settle(const Hold& hold, const Amounts& held, const Amounts& used,
                                  TimePoint now) {
  const std::int64_t now_us = Micros(now);
  const Amounts u = Sanitized(used);
  // One scope at a time: settling only gives back and records, so it needs no atomicity
  // across levels.
  for (State* s : StatesOf(hold)) {
    if (s == nullptr) continue;
    std::lock_guard lock(s->mutex);
    --s->in_flight;
    s->reserved = SatAdd(s->reserved, -held.cost_micro_usd);
    if (u.cost_micro_usd != 0) {
      if (now_us != kNoTime) {
        s->day.Roll(UtcDayIndex(now_us));
        s->month.Roll(UtcMonthIndex(now_us));
      }
      s->day.spent = SatAdd(s->day.spent, u.cost_micro_usd);
      s->month.spent = SatAdd(s->month.spent, u.cost_micro_usd);
    }
    if (s->input) {
      if (now_us != kNoTime) s->input->Refill(now_us);
      s->input->Give(held.input_tokens - u.input_tokens);
    }
    if (s->output) {
      if (now_us != kNoTime) s->output->Refill(now_us);
      s->output->Give(held.output_tokens - u.output_tokens);
    }
  }
}

std::optional<ScopeUsage> InMemoryCounterStore::Inspect(Level level, std::string_view id,
                                                        TimePoint now) const {
  State* s = nullptr;
  {
    std::shared_lock lock(maps_mutex_);
    s = Find(level, id);
  }
  if (s == nullptr) return std::nullopt;
  const std::int64_t now_us = Micros(now);
  std::lock_guard lock(s->mutex);
  ScopeUsage out;
  out.reserved_micro_usd = s->reserved;
  out.in_flight = s->in_flight;
  WindowCounter day = s->day;
  WindowCounter month = s->month;
  day.Roll(UtcDayIndex(now_us));
  month.Roll(UtcMonthIndex(now_us));
  out.spent_today_micro_usd = day.spent;
  out.spent_this_month_micro_usd = month.spent;
  auto available = [&](const std::optional<TokenBucket>& b) -> std::optional<std::int64_t> {
    if (!b) return std::nullopt;
    TokenBucket copy = *b;
    copy.Refill(now_us);
    return copy.Available();
  };
  out.requests_available = available(s->requests);
  out.input_tokens_available = available(s->input);
  out.output_tokens_available = available(s->output);
  return out;
}

}  // namespace meridian::limits
