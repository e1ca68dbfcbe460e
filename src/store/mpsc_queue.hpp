#pragma once
// A bounded, lock-free multi-producer queue with one consumer (Dmitry Vyukov's bounded MPMC
// ring, used with a single consumer). Producers never block: TryPush fails when `capacity`
// items are queued. Internal to src/store/.

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

namespace meridian::store {

template <class T>
class BoundedMpscQueue {
 public:
  // `capacity` >= 1: at most that many items are queued at once (exactly, not rounded).
  explicit BoundedMpscQueue(std::size_t capacity)
      : capacity_(capacity),
        mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)) {
    for (std::size_t i = 0; i <= mask_; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }
  BoundedMpscQueue(const BoundedMpscQueue&) = delete;
  BoundedMpscQueue& operator=(const BoundedMpscQueue&) = delete;

  // Any thread. False (and `value` untouched) when the queue holds `capacity` items.
  bool TryPush(T& value) {
    // The count reserves room first, so the ring (at least `capacity` slots) always has a free
    // slot for a producer that got past it.
    if (size_.fetch_add(1, std::memory_order_seq_cst) >= capacity_) {
      size_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    Slot* slot;
    for (;;) {
      slot = &slots_[pos & mask_];
      const std::size_t seq = slot->seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else {
        // Another producer took `pos` (diff > 0), or the consumer has not released the slot
        // yet (diff < 0, momentarily): look again.
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
    slot->value = std::move(value);
    slot->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  // The consumer thread only. nullopt when nothing is ready (an item whose producer is still
  // writing it counts as not ready yet).
  std::optional<T> TryPop() {
    Slot& slot = slots_[head_ & mask_];
    const std::size_t seq = slot.seq.load(std::memory_order_acquire);
    if (seq != head_ + 1) return std::nullopt;
    std::optional<T> out(std::move(slot.value));
    slot.value = T();
    slot.seq.store(head_ + mask_ + 1, std::memory_order_release);
    ++head_;
    size_.fetch_sub(1, std::memory_order_seq_cst);
    return out;
  }

  // Items queued or being pushed; exact when no push or pop runs concurrently.
  std::size_t size() const { return size_.load(std::memory_order_seq_cst); }
  std::size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    std::atomic<std::size_t> seq{0};
    T value{};
  };

  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<std::size_t> tail_{0};
  alignas(64) std::atomic<std::size_t> size_{0};
  alignas(64) std::size_t head_ = 0;  // consumer only
};

}  // namespace meridian::store
