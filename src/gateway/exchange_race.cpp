// ExchangeRace: see exchange_race.hpp. The entrants wake the waiter by cancelling a timer; all of
// it runs on one worker thread, so a wake-up can only happen while Next is suspended, and Next
// checks the slots before every wait (no wake-up is lost).

#include "gateway/exchange_race.hpp"

#include <cassert>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace meridian::gateway {

namespace asio = boost::asio;

struct ExchangeRace::Shared {
  explicit Shared(asio::any_io_executor executor) : wake(std::move(executor)) {}
  struct Slot {
    bool launched = false;
    bool finished = false;
    bool taken = false;
    std::optional<ExchangeResult> result;
    Clock::time_point at{};
  };
  asio::steady_timer wake;
  std::array<Slot, kEntrants> slots;
};

ExchangeRace::ExchangeRace(asio::any_io_executor executor) : shared_(std::make_shared<Shared>(std::move(executor))) {}

ExchangeRace::~ExchangeRace() = default;

void ExchangeRace::Launch(std::size_t slot, std::shared_ptr<const net::Upstream> upstream,
                          net::UpstreamRequest request) {
  assert(slot < kEntrants && !shared_->slots[slot].launched);
  shared_->slots[slot].launched = true;
  asio::co_spawn(shared_->wake.get_executor(), Run(shared_, slot, std::move(upstream), std::move(request)),
                 asio::detached);
}

asio::awaitable<std::optional<std::size_t>> ExchangeRace::Next(Clock::time_point until) {
  for (;;) {
    bool waiting_for_any = false;
    for (std::size_t i = 0; i < kEntrants; ++i) {
      const Shared::Slot& s = shared_->slots[i];
      if (!s.launched || s.taken) continue;
      if (s.finished) co_return i;
      waiting_for_any = true;
    }
    if (!waiting_for_any || Clock::now() >= until) co_return std::nullopt;
    shared_->wake.expires_at(until);
    boost::system::error_code ec;  // operation_aborted: an entrant finished
    co_await shared_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

bool ExchangeRace::Pending(std::size_t slot) const {
  const Shared::Slot& s = shared_->slots[slot];
  return s.launched && !s.taken;
}

ExchangeRace::ExchangeResult ExchangeRace::Take(std::size_t slot) {
  Shared::Slot& s = shared_->slots[slot];
  assert(s.finished && !s.taken);
  s.taken = true;
  ExchangeResult out = std::move(*s.result);
  s.result.reset();
  return out;
}

ExchangeRace::Clock::time_point ExchangeRace::finished_at(std::size_t slot) const { return shared_->slots[slot].at; }

asio::awaitable<void> ExchangeRace::Run(std::shared_ptr<Shared> shared, std::size_t slot,
                                        std::shared_ptr<const net::Upstream> upstream, net::UpstreamRequest request) {
  auto result = co_await net::Exchange::Start(std::move(upstream), std::move(request));
  auto& s = shared->slots[slot];
  s.result.emplace(std::move(result));
  s.finished = true;
  s.at = Clock::now();
  shared->wake.cancel();
}

}  // namespace meridian::gateway
