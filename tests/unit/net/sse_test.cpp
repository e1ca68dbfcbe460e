#include "net/sse.hpp"

#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace meridian::net {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

struct Ev {
  std::string type;
  std::string data;
  std::string id;
  std::optional<std::uint64_t> retry;
  bool operator==(const Ev&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Ev& e) {
  os << "{type=\"" << e.type << "\" data=\"" << e.data << "\" id=\"" << e.id << "\"";
  if (e.retry) os << " retry=" << *e.retry;
  return os << "}";
}

struct Parsed {
  std::vector<Ev> events;
  std::vector<std::string> comments;
  bool ok = true;         // every Feed succeeded
  bool finished = true;   // Finish() succeeded
  std::string error;      // first error message
};

// Feeds `chunks` in order into a fresh parser and records everything.
Parsed ParseChunks(const std::vector<std::string_view>& chunks, SseParserOptions options = {}) {
  Parsed out;
  SseParser parser(options);
  auto on_event = [&](const SseEvent& e) {
    out.events.push_back(Ev{std::string(e.type), std::string(e.data), std::string(e.id), e.retry});
  };
  auto on_comment = [&](std::string_view c) { out.comments.emplace_back(c); };
  for (std::string_view chunk : chunks) {
    auto r = parser.Feed(chunk, on_event, on_comment);
    if (!r && out.ok) {
      out.ok = false;
      out.error = r.error().message;
    }
  }
  auto fin = parser.Finish();
  out.finished = fin.has_value();
  if (!fin && out.error.empty()) out.error = fin.error().message;
  return out;
}

Parsed Parse(std::string_view stream, SseParserOptions options = {}) {
  return ParseChunks({stream}, options);
}

// A stream exercising every rule: BOM, comments, CR/LF/CRLF, missing colon, no space after
// colon, two spaces, persisting id, retry, unknown fields, a non-dispatched event, [DONE].
const std::string kRichStream =
    "\xEF\xBB\xBF"
    ": hello comment\n"
    "event: message_start\n"
    "id: 1\n"
    "data: {\"a\":1}\n"
    "\n"
    "data: line1\r\n"
    "data:line2\r\n"
    "data:  two spaces\r"
    "\r\n"
    "retry: 1500\n"
    "data\n"
    "\n"
    "id\n"
    "event: x\n"
    "\n"
    "data: [DONE]\r\r"
    "foo: bar\n"
    ":\n"
    "data: last\n\n";

const std::vector<Ev> kRichEvents = {
    {"message_start", "{\"a\":1}", "1", std::nullopt},
    {"", "line1\nline2\n two spaces", "1", std::nullopt},
    {"", "", "1", 1500},
    {"", "[DONE]", "", std::nullopt},
    {"", "last", "", std::nullopt},
};
const std::vector<std::string> kRichComments = {"hello comment", ""};

TEST(SseParserTest, RichStreamInOneChunk) {
  Parsed p = Parse(kRichStream);
  EXPECT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.finished) << p.error;
  EXPECT_EQ(p.events, kRichEvents);
  EXPECT_EQ(p.comments, kRichComments);
}

TEST(SseParserTest, ByteAtATime) {
  std::vector<std::string_view> chunks;
  std::string_view s = kRichStream;
  for (std::size_t i = 0; i < s.size(); ++i) chunks.push_back(s.substr(i, 1));
  Parsed p = ParseChunks(chunks);
  EXPECT_TRUE(p.ok && p.finished) << p.error;
  EXPECT_EQ(p.events, kRichEvents);
  EXPECT_EQ(p.comments, kRichComments);
}

TEST(SseParserTest, EveryTwoWaySplit) {
  std::string_view s = kRichStream;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    Parsed p = ParseChunks({s.substr(0, i), s.substr(i)});
    ASSERT_TRUE(p.ok && p.finished) << "split at " << i << ": " << p.error;
    ASSERT_EQ(p.events, kRichEvents) << "split at " << i;
    ASSERT_EQ(p.comments, kRichComments) << "split at " << i;
  }
}

TEST(SseParserTest, EveryThreeWaySplitIncludingEmptyChunks) {
  std::string_view s = kRichStream;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    for (std::size_t j = i; j <= s.size(); ++j) {
      Parsed p = ParseChunks({s.substr(0, i), s.substr(i, j - i), "", s.substr(j)});
      ASSERT_TRUE(p.ok && p.finished) << i << "," << j << ": " << p.error;
      ASSERT_EQ(p.events, kRichEvents) << i << "," << j;
    }
  }
}

TEST(SseParserTest, RandomChunkings) {
  std::mt19937 rng(12345);
  std::string_view s = kRichStream;
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string_view> chunks;
    for (std::size_t pos = 0; pos < s.size();) {
      std::size_t len = std::uniform_int_distribution<std::size_t>(0, 12)(rng);
      chunks.push_back(s.substr(pos, len));
      pos += len;
    }
    Parsed p = ParseChunks(chunks);
    ASSERT_TRUE(p.ok && p.finished) << p.error;
    ASSERT_EQ(p.events, kRichEvents) << "round " << round;
  }
}

struct LineEndingCase {
  const char* name;
  std::string eol;
};

TEST(SseParserTest, EachLineEndingKind) {
  const std::vector<LineEndingCase> cases = {{"LF", "\n"}, {"CRLF", "\r\n"}, {"CR", "\r"}};
  for (const auto& c : cases) {
    const std::string& e = c.eol;
    std::string stream = "event: delta" + e + "id: 9" + e + "data: a" + e + "data: b" + e + e +
                         ": ping" + e + "data: c" + e + e;
    std::vector<Ev> want = {{"delta", "a\nb", "9", std::nullopt}, {"", "c", "9", std::nullopt}};
    for (std::size_t i = 0; i <= stream.size(); ++i) {
      std::string_view s = stream;
      Parsed p = ParseChunks({s.substr(0, i), s.substr(i)});
      ASSERT_TRUE(p.ok && p.finished) << c.name << " split " << i << ": " << p.error;
      ASSERT_EQ(p.events, want) << c.name << " split " << i;
      ASSERT_EQ(p.comments, std::vector<std::string>{"ping"}) << c.name;
    }
  }
}

TEST(SseParserTest, MixedLineEndingsInOneStream) {
  Parsed p = Parse("data: a\rdata: b\r\ndata: c\n\r\n\r");
  EXPECT_TRUE(p.ok && p.finished) << p.error;
  // "\r\n" after the blank "\n" line is a second blank line; the final "\r" a third.
  EXPECT_EQ(p.events, (std::vector<Ev>{{"", "a\nb\nc", "", std::nullopt}}));
}

TEST(SseParserTest, CrLfSplitIsOneLineEnding) {
  // "\r" | "\n": the LF completes the CRLF and must not count as a blank line.
  Parsed p = ParseChunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
  EXPECT_TRUE(p.ok && p.finished) << p.error;
  EXPECT_EQ(p.events, (std::vector<Ev>{{"", "a\nb", "", std::nullopt}}));
}

struct BomCase {
  const char* name;
  std::vector<std::string_view> chunks;
  std::vector<std::string> data;  // expected event data
};

TEST(SseParserTest, ByteOrderMark) {
  const std::vector<BomCase> cases = {
      {"bom then event", {"\xEF\xBB\xBF" "data: a\n\n"}, {"a"}},
      {"bom split", {"\xEF", "\xBB", "\xBF" "data: a\n\n"}, {"a"}},
      {"bom alone in chunk", {"\xEF\xBB\xBF", "data: a\n\n"}, {"a"}},
      {"no bom", {"data: a\n\n"}, {"a"}},
      // Only one BOM is stripped: a second one is part of the first field name.
      {"two boms", {"\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n"}, {"b"}},
      // A BOM later in the stream is content, not skipped.
      {"bom mid stream", {"data: a\n\n\xEF\xBB\xBF" "data: b\n\n"}, {"a"}},
      // A BOM prefix that is not a BOM stays part of the line.
      {"partial bom", {"\xEF\xBB", "data: a\n\ndata: b\n\n"}, {"b"}},
      {"bom then blank", {"\xEF\xBB\xBF\n", "data: a\n\n"}, {"a"}},
  };
  for (const auto& c : cases) {
    Parsed p = ParseChunks(c.chunks);
    EXPECT_TRUE(p.ok && p.finished) << c.name << ": " << p.error;
    std::vector<std::string> data;
    for (const auto& e : p.events) data.push_back(e.data);
    EXPECT_EQ(data, c.data) << c.name;
  }
}

TEST(SseParserTest, FieldRules) {
  struct Case {
    const char* name;
    std::string stream;
    std::vector<Ev> want;
  };
  const std::vector<Case> cases = {
      {"no data: not dispatched", "event: x\nid: 3\n\n", {}},
      {"type resets after undispatched block", "event: x\n\ndata: y\n\n",
       {{"", "y", "", std::nullopt}}},
      {"data without colon is empty data", "data\n\n", {{"", "", "", std::nullopt}}},
      {"empty data lines joined", "data:\ndata:\n\n", {{"", "\n", "", std::nullopt}}},
      {"only one space stripped", "data:   x  \n\n", {{"", "  x  ", "", std::nullopt}}},
      {"colon in value kept", "data: a: b\n\n", {{"", "a: b", "", std::nullopt}}},
      {"field names are case sensitive", "Data: x\n\ndata: y\n\n", {{"", "y", "", std::nullopt}}},
      {"unknown fields ignored", "foo: 1\ndata: y\nbar\n\n", {{"", "y", "", std::nullopt}}},
      {"id persists", "id: 7\ndata: a\n\ndata: b\n\n",
       {{"", "a", "7", std::nullopt}, {"", "b", "7", std::nullopt}}},
      {"empty id resets", "id: 7\ndata: a\n\nid:\ndata: b\n\n",
       {{"", "a", "7", std::nullopt}, {"", "b", "", std::nullopt}}},
      {"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"s,
       {{"", "a", "1", std::nullopt}, {"", "b", "1", std::nullopt}}},
      {"retry digits only", "retry: 12a\ndata: a\n\nretry:\ndata: b\n\nretry: 300\ndata: c\n\n",
       {{"", "a", "", std::nullopt}, {"", "b", "", std::nullopt}, {"", "c", "", 300}}},
      {"retry overflow ignored", "retry: 99999999999999999999999\ndata: a\n\n",
       {{"", "a", "", std::nullopt}}},
      {"retry not carried to next event", "retry: 5\ndata: a\n\ndata: b\n\n",
       {{"", "a", "", 5}, {"", "b", "", std::nullopt}}},
      {"event type only for its event", "event: e\ndata: a\n\ndata: b\n\n",
       {{"e", "a", "", std::nullopt}, {"", "b", "", std::nullopt}}},
      {"DONE is plain data", "data: [DONE]\n\n", {{"", "[DONE]", "", std::nullopt}}},
      {"blank lines alone dispatch nothing", "\n\n\r\n\r", {}},
  };
  for (const auto& c : cases) {
    Parsed p = Parse(c.stream);
    EXPECT_TRUE(p.ok && p.finished) << c.name << ": " << p.error;
    EXPECT_EQ(p.events, c.want) << c.name;
  }
}

TEST(SseParserTest, CommentsIgnoredWithoutCallback) {
  SseParser parser;
  int events = 0;
  ASSERT_TRUE(parser.Feed(": ping\n\n:x\ndata: a\n\n", [&](const SseEvent&) { ++events; }));
  EXPECT_EQ(events, 1);
}

TEST(SseParserTest, StreamLevelState) {
  SseParser parser;
  ASSERT_TRUE(parser.Feed("retry: 250\nid: abc\n\n", [](const SseEvent&) {}));
  EXPECT_EQ(parser.reconnection_time(), 250u);
  EXPECT_EQ(parser.last_event_id(), "abc");
  parser.Reset();
  EXPECT_EQ(parser.reconnection_time(), std::nullopt);
  EXPECT_EQ(parser.last_event_id(), "");
}

TEST(SseParserTest, OversizeEventFails) {
  SseParserOptions small{.max_event_bytes = 16};
  struct Case {
    const char* name;
    std::vector<std::string_view> chunks;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"line at the limit", {"data: 0123456789\n\n"}, true},  // 16-byte line
      {"line over the limit", {"data: 0123456789a\n\n"}, false},
      {"partial line over the limit", {"data: 01234567", "89abcdef"}, false},
      {"data lines add up", {"data: 1234567\n", "data: 1234567\n\n"}, false},
      {"events do not add up", {"data: 0123456789\n\n", "data: 0123456789\n\n"}, true},
      {"endless comment", {": aaaaaaaa", "aaaaaaaaaaaaaaaa"}, false},
  };
  for (const auto& c : cases) {
    Parsed p = ParseChunks(c.chunks, small);
    EXPECT_EQ(p.ok, c.ok) << c.name << ": " << p.error;
    if (!c.ok) {
      EXPECT_NE(p.error.find("exceeds"), std::string::npos) << c.name;
      EXPECT_FALSE(p.finished) << c.name;
    }
  }
}

TEST(SseParserTest, FailedParserStaysFailedUntilReset) {
  SseParser parser(SseParserOptions{.max_event_bytes = 8});
  int events = 0;
  auto count = [&](const SseEvent&) { ++events; };
  auto r = parser.Feed("data: 0123456789\n\n", count);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
  EXPECT_FALSE(parser.Feed("data: a\n\n", count));
  EXPECT_FALSE(parser.Finish());
  EXPECT_EQ(events, 0);
  parser.Reset();
  EXPECT_TRUE(parser.Feed("data: a\n\n", count));
  EXPECT_TRUE(parser.Finish());
  EXPECT_EQ(events, 1);
}

TEST(SseParserTest, TruncatedTail) {
  struct Case {
    const char* name;
    std::string stream;
    bool truncated;
    std::size_t events;
  };
  const std::vector<Case> cases = {
      {"clean end", "data: a\n\n", false, 1},
      {"data line without blank line", "data: a\n\ndata: b\n", true, 1},
      {"partial line", "data: a\n\ndata: b", true, 1},
      {"ended after lone CR blank line", "data: a\n\r", false, 1},
      {"pending CR of CRLF", "data: a\r\n\r", false, 1},
      {"fields without data are not an event", "data: a\n\nevent: x\nid: 2\n", false, 1},
      {"partial BOM", "\xEF\xBB", true, 0},
      {"empty stream", "", false, 0},
      {"only a BOM", "\xEF\xBB\xBF", false, 0},
  };
  for (const auto& c : cases) {
    Parsed p = Parse(c.stream);
    EXPECT_TRUE(p.ok) << c.name;
    EXPECT_EQ(!p.finished, c.truncated) << c.name;
    EXPECT_EQ(p.events.size(), c.events) << c.name;
    if (c.truncated) {
      EXPECT_NE(p.error.find("truncated"), std::string::npos) << c.name;
    }
  }
}

TEST(SseEncoderTest, ExactOutput) {
  EXPECT_EQ(EncodeSseEvent("hello"), "data: hello\n\n");
  EXPECT_EQ(EncodeSseEvent(""), "data:\n\n");
  EXPECT_EQ(EncodeSseEvent("a\nb", "delta", "7"), "event: delta\nid: 7\ndata: a\ndata: b\n\n");
  EXPECT_EQ(EncodeSseEvent("a\r\nb\rc\n"), "data: a\ndata: b\ndata: c\ndata:\n\n");
  EXPECT_EQ(EncodeSseEvent("x", "ev\r\nil", "1\n2\0"sv), "event: evil\nid: 12\ndata: x\n\n");
  std::string out = "prefix|";
  AppendSseEvent(out, "[DONE]");
  AppendSseComment(out, "ping");
  EXPECT_EQ(out, "prefix|data: [DONE]\n\n: ping\n\n");
}

TEST(SseEncoderTest, RoundTrip) {
  struct Case {
    std::string data, event, id;
    std::string want_data;  // line endings normalize to LF
  };
  const std::vector<Case> cases = {
      {"hello", "", "", "hello"},
      {"", "", "", ""},
      {"{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}", "", "", ""},
      {"a\nb\nc", "content_block_delta", "42", "a\nb\nc"},
      {"win\r\nmac\runix\n", "e", "", "win\nmac\nunix\n"},
      {" leading space", "", "", " leading space"},
      {"  two", "", "", "  two"},
      {"\n\n", "", "", "\n\n"},
      {":not a comment", "", "", ":not a comment"},
      {"data: nested", "", "", "data: nested"},
      {"[DONE]", "", "", "[DONE]"},
      {"\xEF\xBB\xBF" "bom in data", "", "", "\xEF\xBB\xBF" "bom in data"},
  };
  std::string stream;
  std::vector<Ev> want;
  std::string last_id;
  for (const auto& c : cases) {
    AppendSseEvent(stream, c.data, c.event, c.id);
    if (!c.id.empty()) last_id = c.id;
    want.push_back(Ev{c.event, c.want_data.empty() ? c.data : c.want_data, last_id, std::nullopt});
  }
  Parsed p = Parse(stream);
  EXPECT_TRUE(p.ok && p.finished) << p.error;
  EXPECT_EQ(p.events, want);
  // And again byte by byte.
  std::vector<std::string_view> chunks;
  std::string_view s = stream;
  for (std::size_t i = 0; i < s.size(); ++i) chunks.push_back(s.substr(i, 1));
  EXPECT_EQ(ParseChunks(chunks).events, want);
}

}  // namespace
}  // namespace meridian::net
