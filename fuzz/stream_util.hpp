#pragma once
// The stream targets' common body: the input is SSE text as an upstream sends it; each event's
// data goes to one dialect's StreamDecoder, and every batch of canonical events it produces is
// written at once by a StreamEncoder of each dialect, as the gateway translates a stream.

#include <string>
#include <string_view>
#include <vector>

#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "dialect/openai_responses.hpp"
#include "fuzz_util.hpp"
#include "net/sse.hpp"

namespace meridian::fuzz {

// The data of every event of `text` parsed by the gateway's SSE parser. Text without any event
// is taken as one event's data, so that mutations of a bare JSON chunk reach the decoder too.
inline std::vector<std::string> SseData(std::string_view text) {
  std::vector<std::string> out;
  net::SseParser parser;
  (void)parser.Feed(text, [&](const net::SseEvent& ev) { out.emplace_back(ev.data); });
  if (out.empty()) out.emplace_back(text);
  return out;
}

// Feeds the events until the first failure (where a gateway ends the stream), then Finish
// twice (it is idempotent). Decoding may fail; nothing may crash, and every event decoded must
// be encodable (or refused with an error) in all four dialects. Views in the events are only
// used before the next Feed, which ASan checks.
template <class Decoder>
void RunStream(std::string_view text) {
  Decoder decoder;
  dialect::openai::StreamEncoder openai_out(dialect::openai::StreamOptions{.include_usage = true});
  dialect::anthropic::StreamEncoder anthropic_out;
  dialect::gemini::StreamEncoder gemini_out;
  dialect::responses::StreamEncoder responses_out;
  std::vector<dialect::StreamEvent> events;
  std::string bytes;
  auto translate = [&] {
    for (const dialect::StreamEvent& ev : events) {
      (void)openai_out.Encode(ev, bytes);
      (void)anthropic_out.Encode(ev, bytes);
      (void)gemini_out.Encode(ev, bytes);
      (void)responses_out.Encode(ev, bytes);
    }
    events.clear();
    bytes.clear();
  };
  for (const std::string& data : SseData(text)) {
    const auto fed = decoder.Feed(data, events);
    translate();
    if (!fed) return;
  }
  decoder.Finish(events);
  translate();
  decoder.Finish(events);
  translate();
}

}  // namespace meridian::fuzz
