#include "sim/fault.hpp"

#include <array>

#include "sim/content.hpp"

namespace meridian::sim {
namespace {

struct FaultNameEntry {
  Fault fault;
  std::string_view name;
};

constexpr std::array<FaultNameEntry, kFaultKinds> kFaultNames = {{
    {Fault::kNone, "none"},
    {Fault::kRateLimit, "429"},
    {Fault::kServerError, "500"},
    {Fault::kUnavailable, "503"},
    {Fault::kResetBefore, "reset-before"},
    {Fault::kResetDuring, "reset-during"},
    {Fault::kStallBefore, "stall-before"},
    {Fault::kStallDuring, "stall-during"},
    {Fault::kMalformed, "malformed"},
    {Fault::kOverloaded, "overloaded"},
    {Fault::kErrorDuring, "error-during"},
}};

}  // namespace

std::optional<Fault> ParseFault(std::string_view name) {
  for (const auto& e : kFaultNames) {
    if (e.name == name) return e.fault;
  }
  return std::nullopt;
}

std::string_view FaultName(Fault fault) {
  for (const auto& e : kFaultNames) {
    if (e.fault == fault) return e.name;
  }
  return "none";
}

Fault FaultPicker::Next() {
  if (fault_ == Fault::kNone || rate_ <= 0) return Fault::kNone;
  if (rate_ >= 1) return fault_;
  uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed);
  double u = UnitDouble(Mix64(seed_ ^ Mix64(n)));
  return u < rate_ ? fault_ : Fault::kNone;
}

}  // namespace meridian::sim
