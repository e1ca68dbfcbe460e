#pragma once
// Racing upstream attempts for hedged requests (docs/routing.md, "Hedged requests").
//
// Forward starts the first attempt with Launch, waits with Next until its response head arrives
// or the hedge delay passes, launches a second attempt if the delay passed, then takes whichever
// head arrives first. Each attempt runs in its own coroutine on the caller's worker thread, so
// the loser can keep running (until its cancel token closes it) after Forward has moved on.
//
// Ownership: the race's shared state lives as long as the race object or any attempt still
// running, whichever is longer; an Exchange left untaken is destroyed with it (its connection
// is then closed, not pooled). Threading: one worker thread, like net::Exchange; not thread-safe.

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/error.hpp"
#include "net/client.hpp"

namespace meridian::gateway {

class ExchangeRace {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kEntrants = 2;
  using ExchangeResult = core::Result<std::unique_ptr<net::Exchange>>;

  explicit ExchangeRace(boost::asio::any_io_executor executor);
  ~ExchangeRace();
  ExchangeRace(const ExchangeRace&) = delete;
  ExchangeRace& operator=(const ExchangeRace&) = delete;

  // Starts net::Exchange::Start(upstream, request) as entrant `slot` (< kEntrants, once each).
  // Returns at once; the attempt runs until its head arrives, it fails, or request.cancel fires.
  void Launch(std::size_t slot, std::shared_ptr<const net::Upstream> upstream, net::UpstreamRequest request);

  // Waits until an entrant that has not been taken has finished, and returns its slot (the
  // lower slot when both have); nullopt once `until` passes first, or when no launched entrant
  // is left untaken. Never fails; a cancelled entrant finishes with its error.
  boost::asio::awaitable<std::optional<std::size_t>> Next(Clock::time_point until);

  // Whether entrant `slot` was launched and has not been taken yet (finished or not).
  bool Pending(std::size_t slot) const;

  // The result of finished entrant `slot` (Next returned it), moved out; the entrant is then
  // taken. Calling it for a slot that has not finished is a programming error (checked).
  ExchangeResult Take(std::size_t slot);

  // When entrant `slot` finished (its head arrived or it failed).
  Clock::time_point finished_at(std::size_t slot) const;

 private:
  struct Shared;
  static boost::asio::awaitable<void> Run(std::shared_ptr<Shared> shared, std::size_t slot,
                                          std::shared_ptr<const net::Upstream> upstream,
                                          net::UpstreamRequest request);
  std::shared_ptr<Shared> shared_;
};

}  // namespace meridian::gateway
