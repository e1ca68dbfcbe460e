#pragma once
// The in-process CounterStore: one state per configured scope, each with its own mutex
// (a sharded lock: requests of different tenants never contend). A reservation locks the
// states of its scopes in level order (tenant, team, key) — a fixed global order, so no
// deadlock — checks every limit, and applies all of them or none while holding the locks.
// docs/limits.md, "Concurrency".

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "limits/limits.hpp"

namespace meridian::limits {

class InMemoryCounterStore final : public CounterStore {
 public:
  InMemoryCounterStore();
  ~InMemoryCounterStore() override;

  void Configure(Level level, std::string_view id, const ScopeLimits& limits) override;
  void SeedSpent(Level level, std::string_view id, std::int64_t today, std::int64_t this_month,
                 TimePoint now) override;
  void Remove(Level level, std::string_view id) override;
  std::expected<Hold, Denial> Reserve(const Scopes& scopes, const Amounts& amounts,
                                      TimePoint now) override;
  std::expected<void, Denial> Extend(const Hold& hold, const Amounts& extra,
                                     TimePoint now) override;
  void Settle(const Hold& hold, const Amounts& held, const Amounts& used,
              TimePoint now) override;
  std::optional<ScopeUsage> Inspect(Level level, std::string_view id,
                                    TimePoint now) const override;

  struct State;  // one scope's limits and counters (memory_store.cpp)

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Map = std::unordered_map<std::string, std::unique_ptr<State>, Hash, std::equal_to<>>;

  State* Find(Level level, std::string_view id) const;
  // The scope's state, created (with no limits) if it does not exist yet. States live as long
  // as the store, so the pointer stays valid.
  State* FindOrCreate(Level level, std::string_view id);

  // One map per level. States are created by Configure and live until the store is
  // destroyed (Remove only clears their limits), so a Hold's raw pointers stay valid.
  mutable std::shared_mutex maps_mutex_;
  Map maps_[kLevels];
};

}  // namespace meridian::limits
