#pragma once
// Budgets and rate limits that hold under concurrency (issue 6; docs/limits.md). Pure and
// in-process: no sockets, no configuration parsing. The gateway reserves a request's upper
// bound before forwarding it, charges a stream as it grows, and settles (or releases) at the
// end. Scopes nest tenant ⊃ team ⊃ key; a request is admitted only if every configured level
// admits it, and a reservation is taken at all levels or at none.
//
// Units: money in micro-USD (catalog::Cost, catalog::UpperBoundCost), tokens as counts, time
// as system_clock (budgets use UTC calendar days and months; rate limits the elapsed time).

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::limits {

using TimePoint = std::chrono::system_clock::time_point;

enum class Level : std::uint8_t { kTenant = 0, kTeam = 1, kKey = 2 };
inline constexpr std::size_t kLevels = 3;
// "tenant", "team", "key".
std::string_view LevelName(Level level);

// Largest accepted per-minute limit (larger values are clamped): keeps the token-bucket
// arithmetic (tokens × 60,000,000) inside int64.
inline constexpr std::int64_t kMaxPerMinute = 100'000'000'000;

// What one scope may use. nullopt = no limit of that kind.
struct ScopeLimits {
  std::optional<std::int64_t> usd_per_day_micro = std::nullopt;    // budget per UTC calendar day, micro-USD
  std::optional<std::int64_t> usd_per_month_micro = std::nullopt;  // budget per UTC calendar month, micro-USD
  std::optional<std::int64_t> requests_per_minute = std::nullopt;
  std::optional<std::int64_t> input_tokens_per_minute = std::nullopt;
  std::optional<std::int64_t> output_tokens_per_minute = std::nullopt;
  std::optional<std::int64_t> concurrent_requests = std::nullopt;
};

// The scopes of one request. "" = the request has no scope at that level. Ids are compared
// as given: a team or key id must be unique across tenants (qualify it, "acme/research", if
// not). An id is shown to the client in a denial's message: never pass a secret (use the
// key's id or prefix, never the key).
struct Scopes {
  std::string_view tenant;
  std::string_view team;
  std::string_view key;
  std::string_view at(Level level) const {
    return level == Level::kTenant ? tenant : level == Level::kTeam ? team : key;
  }
};

// What a request may use at most, known before it is forwarded. Negative values count as 0.
struct Demand {
  std::int64_t cost_upper_micro_usd = 0;  // catalog::UpperBoundCost (with the same max output)
  std::int64_t input_tokens = 0;          // estimated or counted input tokens
  // The client's output limit; nullopt = it set none, and Options::default_max_output_tokens
  // is reserved instead (use Limiter::MaxOutputTokens for the cost bound too).
  std::optional<std::int64_t> max_output_tokens;
};

// What a request actually used (from the upstream's usage; catalog::Cost).
struct Actual {
  std::int64_t cost_micro_usd = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

// The amounts a reservation holds (or has used) at each of its scopes.
struct Amounts {
  std::int64_t cost_micro_usd = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  bool operator==(const Amounts&) const = default;
};

enum class DenialKind : std::uint8_t {
  kConcurrency,     // concurrent_requests
  kRequests,        // requests_per_minute
  kInputTokens,     // input_tokens_per_minute
  kOutputTokens,    // output_tokens_per_minute
  kDailyBudget,     // usd_per_day_micro
  kMonthlyBudget,   // usd_per_month_micro
};
// "concurrent_requests", "requests_per_minute", "input_tokens_per_minute",
// "output_tokens_per_minute", "daily_budget", "monthly_budget".
std::string_view DenialKindName(DenialKind kind);
bool IsBudget(DenialKind kind);

struct Denial {
  DenialKind kind = DenialKind::kRequests;
  Level level = Level::kTenant;
  std::string scope_id;
  // Whole seconds after which the same request can be admitted, as far as this limit knows
  // (≥ 1): rate limits: when the bucket holds enough; concurrency: 1; budgets: the end of
  // the UTC window. 0 when `permanent`.
  std::int64_t retry_after_seconds = 0;
  // The request can never fit: it asks for more than the whole limit (e.g. 20,000 input
  // tokens against 10,000 per minute, or a reservation above the day's budget).
  bool permanent = false;
  std::string message;  // client-safe: names the level, the scope id and the limit
};

// One scope's state, for the admin API and the tests.
struct ScopeUsage {
  std::int64_t reserved_micro_usd = 0;   // held by in-flight reservations
  std::int64_t spent_today_micro_usd = 0;
  std::int64_t spent_this_month_micro_usd = 0;
  std::int64_t in_flight = 0;
  // Whole units the rate buckets hold now (may be negative after an actual above its
  // reservation); nullopt = no such limit.
  std::optional<std::int64_t> requests_available;
  std::optional<std::int64_t> input_tokens_available;
  std::optional<std::int64_t> output_tokens_available;
};

// What a store hands out for a reservation: one opaque handle per level (nullptr = that level
// has no configured scope). The in-memory store's handles point at its scope states, which
// live as long as the store; a shared store (Redis, PostgreSQL) would point at its key names.
struct Hold {
  std::array<void*, kLevels> scopes{};
};

// Where the counters live. The in-memory store (memory_store.hpp) keeps them in this
// process; a later Redis or PostgreSQL store shares them between gateway instances
// (docs/limits.md, "Counter stores"). Every method is thread-safe.
class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // Sets (or replaces) the limits of one scope; counters already kept are preserved (a
  // bucket keeps its level, clamped to a new, smaller capacity). Clamps values to
  // [0, kMaxPerMinute] for rates.
  virtual void Configure(Level level, std::string_view id, const ScopeLimits& limits) = 0;
  // Removes every limit of a scope (its counters stay for reservations still holding it).
  virtual void Remove(Level level, std::string_view id) = 0;

  // Admits `amounts` (and, with `new_request`, one request and one concurrent slot) at every
  // configured scope of `scopes`, or at none. Success: the hold to settle with. Failure: the
  // first denying limit, tenant first; nothing is left reserved.
  virtual std::expected<Hold, Denial> Reserve(const Scopes& scopes, const Amounts& amounts,
                                              TimePoint now) = 0;
  // Adds `extra` to an existing hold, all scopes or none (mid-stream growth). No request or
  // concurrency slot is taken. Failure: the first denying limit.
  virtual std::expected<void, Denial> Extend(const Hold& hold, const Amounts& extra,
                                             TimePoint now) = 0;
  // Ends a hold: gives back `held`, records `used` (budget spent in the window of `now`,
  // token buckets debited), frees the concurrency slot. Never fails; `used` may exceed `held`.
  // `now` = TimePoint::min(): time unknown (a release): no refill, spent goes to the current
  // window.
  virtual void Settle(const Hold& hold, const Amounts& held, const Amounts& used,
                      TimePoint now) = 0;

  // nullopt = no such scope.
  virtual std::optional<ScopeUsage> Inspect(Level level, std::string_view id,
                                            TimePoint now) const = 0;

  // Adds spend that happened before this process started (the usage ledger's, at start):
  // `today` micro-USD to the UTC day of `now` and `this_month` (today's included) to its month.
  // Creates the scope's counters if needed (a later Configure keeps them). Never fails;
  // negative amounts count as 0.
  virtual void SeedSpent(Level level, std::string_view id, std::int64_t today, std::int64_t this_month,
                         TimePoint now) = 0;
};

class Limiter;

// A live reservation. Move-only; if it is neither settled nor released, its destructor
// releases it (no usage recorded). Must not outlive its Limiter. Not thread-safe itself (one
// request uses it); any number of reservations may be used concurrently.
class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& other) noexcept;
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();

  bool active() const { return store_ != nullptr; }
  const Amounts& held() const { return held_; }  // reserved at every scope now
  const Amounts& used() const { return used_; }  // charged so far (Limiter::Charge)
  // Why the last Charge returned false (for the stream's final error event).
  const std::optional<Denial>& cut() const { return cut_; }

 private:
  friend class Limiter;
  CounterStore* store_ = nullptr;
  Hold hold_;
  Amounts held_;
  Amounts used_;
  std::optional<Denial> cut_;
};

using ReserveResult = std::expected<Reservation, Denial>;

struct LimiterOptions {
  // Output tokens reserved when the client sets no maximum.
  std::int64_t default_max_output_tokens = 4096;
};

class Limiter {
 public:
  using Options = LimiterOptions;

  // `store` nullptr = a new InMemoryCounterStore.
  explicit Limiter(Options options = {}, std::unique_ptr<CounterStore> store = nullptr);
  ~Limiter();
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  // See CounterStore::Configure / Remove. Thread-safe.
  void Configure(Level level, std::string_view id, const ScopeLimits& limits);
  void Remove(Level level, std::string_view id);

  // The output tokens a request reserves: its own maximum, else the configured default. Pure.
  std::int64_t MaxOutputTokens(std::optional<std::int64_t> requested) const;

  // Reserves the demand's cost, input tokens and output maximum, one request and one
  // concurrent slot, at every configured scope or none. Never overshoots a budget: admitted
  // only if spent + reserved + this reservation ≤ limit at every level. Thread-safe.
  ReserveResult Reserve(const Scopes& scopes, const Demand& demand, TimePoint now);

  // Mid-stream: the stream has produced `extra_output_tokens` more and cost
  // `extra_cost_micro_usd` more. Within what is held: true. Beyond it: the excess is reserved
  // like a new demand (no request slot); true if every scope admits it, false (with cut()
  // set) if a budget or output-token limit ran out — the gateway then ends the stream with an
  // error event. The charged amounts count either way. Thread-safe across reservations.
  bool Charge(Reservation& reservation, std::int64_t extra_output_tokens,
              std::int64_t extra_cost_micro_usd, TimePoint now);

  // Ends a reservation with the request's actual usage. The only place a budget can be
  // overshot: by actual − held (docs/limits.md). An inactive reservation is ignored.
  void Settle(Reservation&& reservation, const Actual& actual, TimePoint now);
  // Ends a reservation with no usage (the request failed before any) — or, after Charge
  // calls, with what they charged. Its request still counts against requests_per_minute.
  // An inactive reservation is ignored. The destructor of an active Reservation does this.
  void Release(Reservation&& reservation);

  std::optional<ScopeUsage> Inspect(Level level, std::string_view id, TimePoint now) const;

  // See CounterStore::SeedSpent. Thread-safe.
  void SeedSpent(Level level, std::string_view id, std::int64_t today, std::int64_t this_month, TimePoint now);

  const Options& options() const { return options_; }

 private:
  Options options_;
  std::unique_ptr<CounterStore> store_;
};

}  // namespace meridian::limits
