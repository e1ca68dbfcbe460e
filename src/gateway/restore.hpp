#pragma once
// Restoring pseudonyms in a backend's answer (docs/redaction.md): every string of a JSON body,
// or, in an OpenAI chat stream, the successive content and tool-argument deltas of each choice,
// where one placeholder may arrive split across several events. Pure (no I/O).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

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

}  // namespace meridian::gateway
