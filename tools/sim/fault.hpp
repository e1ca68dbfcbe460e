#pragma once
// Fault kinds the simulator can inject, and the seeded picker that decides, per request, whether
// a run-level fault (--fault/--fault-rate) applies. Thread-safe.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

namespace meridian::sim {

enum class Fault {
  kNone,
  kRateLimit,     // "429": 429 + retry-after + OpenAI rate-limit body
  kServerError,   // "500"
  kUnavailable,   // "503" (+ retry-after)
  kResetBefore,   // "reset-before": TCP reset without any response
  kResetDuring,   // "reset-during": stream head + a few chunks, then reset (non-stream: after ttft)
  kStallBefore,   // "stall-before": send nothing until the client goes away
  kStallDuring,   // "stall-during": stream head + first chunk, then nothing until the client goes
  kMalformed,     // "malformed": truncated JSON (non-stream) or a broken SSE event (stream)
  kOverloaded,    // "overloaded": Anthropic 529 overloaded_error; OpenAI and Gemini 503 (+ retry-after)
  kErrorDuring,   // "error-during": stream head + a few events, then an error event (non-stream:
                  // the overloaded error after ttft)
};

inline constexpr int kFaultKinds = 11;  // including kNone

// Parses a fault name as accepted by --fault and x-sim-fault ("none" is kNone).
// Returns nullopt for an unknown name.
std::optional<Fault> ParseFault(std::string_view name);

// The canonical name of a fault ("429", "reset-during", ...; "none" for kNone).
std::string_view FaultName(Fault fault);

// Decides run-level faults: the n-th call to Next() (counted across all threads) injects
// `fault` iff a hash of (seed, n) falls below `rate`. So a run with the same seed and the same
// request order injects the same faults.
class FaultPicker {
 public:
  FaultPicker(Fault fault, double rate, uint64_t seed) : fault_(fault), rate_(rate), seed_(seed) {}

  // Returns the fault for the next eligible request (kNone most of the time, or always when
  // no run-level fault is configured). Thread-safe, lock-free.
  Fault Next();

 private:
  Fault fault_;
  double rate_;
  uint64_t seed_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace meridian::sim
