// libFuzzer target: net::SseParser::Feed; corpus/sse_parser.
// Input: one byte choosing the event size limit and one seeding the chunk sizes, then the
// stream. The stream is parsed whole and again in pieces of 1..64 bytes (the parser promises
// that bytes may be split anywhere): both runs must report the same events, comments, Finish
// outcome, last event id and reconnection time. After a failure every Feed must fail.
#include <optional>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "net/sse.hpp"

namespace {

using meridian::net::SseEvent;
using meridian::net::SseParser;

struct Run {
  std::vector<std::string> seen;  // events and comments, rendered
  bool failed = false;
  bool finished = false;
  std::string last_id;
  std::optional<std::uint64_t> reconnect;

  bool operator==(const Run&) const = default;
};

std::string Render(const SseEvent& ev) {
  std::string s = "event[" + std::string(ev.type) + "][" + std::string(ev.data) + "][" +
                  std::string(ev.id) + "]";
  if (ev.retry) s += std::to_string(*ev.retry);
  return s;
}

template <class NextSize>
Run Parse(std::string_view stream, std::size_t limit, NextSize next_size) {
  Run run;
  SseParser parser(meridian::net::SseParserOptions{.max_event_bytes = limit});
  auto on_event = [&](const SseEvent& ev) { run.seen.push_back(Render(ev)); };
  auto on_comment = [&](std::string_view text) {
    run.seen.push_back("comment[" + std::string(text) + "]");
  };
  while (!stream.empty()) {
    const std::size_t n = std::min(next_size(), stream.size());
    const auto fed = parser.Feed(stream.substr(0, n), on_event, on_comment);
    stream.remove_prefix(n);
    if (!fed) {
      run.failed = true;
      FUZZ_CHECK(!parser.Feed("data: x\n\n", on_event), "Feed succeeded after a failure");
      break;
    }
  }
  run.finished = parser.Finish().has_value();
  run.last_id = parser.last_event_id();
  run.reconnect = parser.reconnection_time();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // 16 B .. 4 MiB: small limits exercise the "event too large" path.
  const std::size_t limit = std::size_t{16} << (data[0] % 19);
  std::uint32_t state = data[1] * 2654435761u + 1;
  const std::string_view stream = meridian::fuzz::AsText(data + 2, size - 2);

  const Run whole = Parse(stream, limit, [&] { return stream.size(); });
  const Run pieces = Parse(stream, limit, [&] {
    state = state * 1664525u + 1013904223u;
    return std::size_t{1} + (state >> 24) % 64;
  });
  FUZZ_CHECK(whole == pieces, "parsing in pieces differs from parsing the whole stream");
  return 0;
}
