#include "sim/stats.hpp"

#include <boost/json.hpp>

namespace meridian::sim {
namespace {

constexpr std::array<const char*, kRouteCount> kRouteNames = {
    "chat_completions", "embeddings", "models", "healthz", "stats", "other", "requests",
    "messages", "messages_count_tokens", "generate_content", "stream_generate_content",
    "gemini_count_tokens", "responses"};

uint64_t Load(const Stats::Counter& c) { return c.load(std::memory_order_relaxed); }

}  // namespace

void Stats::CountStatus(unsigned status) {
  if (status >= 500) {
    Bump(responses_5xx);
  } else if (status >= 400) {
    Bump(responses_4xx);
  } else if (status >= 200 && status < 300) {
    Bump(responses_2xx);
  }
}

void Stats::CountFault(Fault f) {
  Bump(faults_injected);
  Bump(faults_by_kind[static_cast<int>(f)]);
}

void Stats::Reset() {
  auto zero = [](Counter& c) { c.store(0, std::memory_order_relaxed); };
  zero(requests_total);
  for (auto& c : by_route) zero(c);
  zero(responses_2xx);
  zero(responses_4xx);
  zero(responses_5xx);
  zero(streams_started);
  zero(streams_completed);
  zero(client_aborts);
  zero(faults_injected);
  for (auto& c : faults_by_kind) zero(c);
  zero(completion_tokens);
  zero(prompt_tokens);
}

std::string Stats::ToJson() const {
  boost::json::object o;
  o["requests_total"] = Load(requests_total);
  boost::json::object paths;
  for (int i = 0; i < kRouteCount; ++i) paths[kRouteNames[static_cast<std::size_t>(i)]] = Load(by_route[static_cast<std::size_t>(i)]);
  o["paths"] = std::move(paths);
  o["responses_2xx"] = Load(responses_2xx);
  o["responses_4xx"] = Load(responses_4xx);
  o["responses_5xx"] = Load(responses_5xx);
  o["streams_started"] = Load(streams_started);
  o["streams_completed"] = Load(streams_completed);
  o["client_aborts"] = Load(client_aborts);
  o["faults_injected"] = Load(faults_injected);
  boost::json::object faults;
  for (int i = 1; i < kFaultKinds; ++i) {
    faults[FaultName(static_cast<Fault>(i))] = Load(faults_by_kind[static_cast<std::size_t>(i)]);
  }
  o["faults"] = std::move(faults);
  o["completion_tokens"] = Load(completion_tokens);
  o["prompt_tokens"] = Load(prompt_tokens);
  return boost::json::serialize(o);
}

}  // namespace meridian::sim
