#pragma once
// Restoring pseudonyms in a backend's answer (docs/redaction.md): every string of a JSON body,
// or, in an OpenAI chat stream, the successive content and tool-argument deltas of each choice,
// where one placeholder may arrive split across several events. Pure (no I/O).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <deque>
#include <vector>

#include "dialect/canonical.hpp"
#include "redact/redact.hpp"

namespace meridian::gateway {

// `body` with every string value restored (keys and structure unchanged). A body that is not
// JSON is returned as it is. `p` must have placeholders (otherwise there is nothing to do).
std::string RestoreJsonBody(std::string_view body, const redact::Pseudonymizer& p);

// Restores one OpenAI chat completion stream, event by event. Not thread-safe; one per stream;
// `p` must outlive it.
class ChatStreamRestorer {
 public:
  explicit ChatStreamRestorer(const redact::Pseudonymizer& p) : p_(p) {}

  // The event's data with `choices[].delta.content` and `choices[].delta.tool_calls[].function.arguments`
  // restored. A suffix that may be the start of a placeholder is held back until the next event
  // of the same choice and field, or released in the event that carries the choice's
  // finish_reason. Data that is not a JSON object is returned unchanged.
  std::string Event(std::string_view data);

  // What is still held back when the stream ends without a finish_reason for some choice, as
  // the data of one extra chunk event (empty string: nothing held).
  std::string Finish();

 private:
  // (choice index, -1 for content or the tool call index for its arguments)
  using Field = std::pair<std::int64_t, std::int64_t>;
  redact::StreamRestorer& For(Field f);

  const redact::Pseudonymizer& p_;
  std::map<Field, std::unique_ptr<redact::StreamRestorer>> open_;
  std::string id_, model_;
  std::int64_t created_ = 0;
};

// Restores a stream in canonical form (any dialect, translated or not): the text, tool-argument
// and thinking deltas of each block, a placeholder split across deltas held back until its end
// arrives and released as one more delta just before the block stops (or before the message
// stops, for a block never stopped). Not thread-safe; one per stream; `p` must outlive it.
class EventRestorer {
 public:
  explicit EventRestorer(const redact::Pseudonymizer& p) : p_(p) {}
  // Rewrites `events` (one upstream event's worth) in place. The restored texts live in this
  // object until the next call.
  void Process(std::vector<dialect::StreamEvent>& events);

 private:
  struct Block {
    int index;
    dialect::StreamEventKind delta_kind;
    std::unique_ptr<redact::StreamRestorer> restorer;
  };
  Block* Find(int index);
  void Release(Block& block, std::vector<dialect::StreamEvent>& out);

  const redact::Pseudonymizer& p_;
  std::vector<Block> blocks_;
  std::deque<std::string> texts_;
  std::vector<dialect::StreamEvent> out_;
};

}  // namespace meridian::gateway
