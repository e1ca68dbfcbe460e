#pragma once
// Counters of the simulator, exposed as JSON at GET /sim/stats. All counters are relaxed
// atomics: safe to bump from any worker thread and to read at any time (values read together
// are not a consistent snapshot).

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "sim/fault.hpp"

namespace meridian::sim {

// The route a request was dispatched to, for per-path counts.
enum class Route {
  kChat,
  kEmbeddings,
  kModels,
  kHealth,
  kStats,
  kOther,
  kRequests,
  kMessages,               // Anthropic POST /v1/messages
  kMessagesCountTokens,    // Anthropic POST /v1/messages/count_tokens
  kGenerateContent,        // Gemini POST /v1beta/models/{model}:generateContent
  kStreamGenerateContent,  // Gemini POST /v1beta/models/{model}:streamGenerateContent
  kGeminiCountTokens,      // Gemini POST /v1beta/models/{model}:countTokens
  kResponses,              // OpenAI POST /v1/responses
};
inline constexpr int kRouteCount = 13;

struct Stats {
  using Counter = std::atomic<uint64_t>;

  Counter requests_total{0};
  std::array<Counter, kRouteCount> by_route{};
  Counter responses_2xx{0};
  Counter responses_4xx{0};
  Counter responses_5xx{0};
  Counter streams_started{0};    // answer streams (any dialect) whose head was sent
  Counter streams_completed{0};  // answer streams that sent their last event and the final chunk
  Counter client_aborts{0};      // requests the client abandoned (write failed / peer closed)
  Counter faults_injected{0};
  std::array<Counter, kFaultKinds> faults_by_kind{};
  Counter completion_tokens{0};  // tokens generated (any dialect), whether or not fully delivered
  Counter prompt_tokens{0};      // prompt tokens of generation and embedding requests

  static void Bump(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  void CountRoute(Route r) { Bump(by_route[static_cast<int>(r)]); }
  void CountStatus(unsigned status);
  void CountFault(Fault f);

  // Sets every counter to zero (DELETE /sim/stats). Not atomic as a whole.
  void Reset();

  // The counters as a JSON object text (without server-level figures).
  std::string ToJson() const;
};

}  // namespace meridian::sim
