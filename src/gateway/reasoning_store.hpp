#pragma once
// Anthropic's signed thinking blocks, kept between turns for clients that cannot carry them.
//
// With extended thinking on, Anthropic requires the assistant turn that called tools to come
// back with its thinking blocks, signature intact, when the tool results are sent. An OpenAI
// Chat, Responses or Gemini client has no field for them, so the gateway remembers the blocks
// of each translated answer by the ids of the tool calls they preceded, and puts them back in
// front of those calls when the conversation returns (docs/dialects.md, "In the gateway").
//
// Bounded (oldest entries dropped first) and scoped by caller, so one tenant's blocks are never
// sent with another's conversation. Per process: several gateway instances behind one balancer
// share nothing (a turn that lands elsewhere goes up without them, as before). Thread-safe.

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dialect/canonical.hpp"

namespace meridian::gateway {

class ReasoningStore {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ReasoningStore(std::size_t capacity = 4096, std::chrono::seconds ttl = std::chrono::hours(1))
      : capacity_(capacity), ttl_(ttl) {}

  // Remembers the thinking / redacted-thinking parts of `content` (an Anthropic answer, in
  // order) under the id of every tool call that follows them. Nothing when there is no thinking
  // or no tool call.
  void Remember(std::string_view scope, const std::vector<dialect::ContentPart>& content,
                Clock::time_point now = Clock::now());

  // For each assistant message of `request` that calls tools but carries no thinking, inserts
  // the remembered blocks of its first call at the start of its content. Returns how many
  // messages were completed.
  int Restore(std::string_view scope, dialect::ChatRequest& request, Clock::time_point now = Clock::now());

  std::size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const std::vector<dialect::ContentPart>> blocks;
    Clock::time_point expires;
  };
  std::size_t capacity_;
  std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> by_key_;  // scope + '\n' + tool call id
  std::deque<std::string> order_;                  // keys, oldest first
};

// Collects what ReasoningStore::Remember needs from a stream's canonical events (thinking
// text, signatures, redacted data, tool-call ids), before anything rewrites them.
class ReasoningCollector {
 public:
  void Add(const dialect::StreamEvent& event);
  // The collected parts (thinking blocks and tool uses, in order).
  const std::vector<dialect::ContentPart>& parts() const { return parts_; }
  bool has_thinking() const { return thinking_; }

 private:
  std::vector<dialect::ContentPart> parts_;
  std::vector<std::pair<int, std::size_t>> open_;  // block index -> position in parts_
  bool thinking_ = false;
};

}  // namespace meridian::gateway
