// Echo mode (x-sim-echo, x-sim-chunk-bytes) and request capture (GET|DELETE /sim/requests),
// driven through the handler with a fake Responder, plus their pure helpers.

#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "fake_responder.hpp"
#include "sim/capture.hpp"
#include "sim/content.hpp"
#include "sim/openai.hpp"
#include "sim/simulator.hpp"

namespace meridian::sim {
namespace {

namespace json = boost::json;
using testing::Call;
using testing::FakeResponder;

using Headers = std::vector<std::pair<std::string, std::string>>;

net::Request Post(std::string target, std::string body, Headers headers = {}) {
  net::Request r{http::verb::post, target, 11};
  r.set(http::field::content_type, "application/json");
  for (auto& [k, v] : headers) r.set(k, v);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

net::Request Bare(http::verb verb, std::string target) { return net::Request{verb, target, 11}; }

// A chat request body with these messages (JSON array text) and extra top-level fields.
std::string ChatBody(std::string_view messages, std::string_view extra = "") {
  std::string s = R"({"model":"m",)";
  s += extra;
  s += R"("messages":)";
  s += messages;
  s += "}";
  return s;
}

// The payloads of an SSE text's "data: " events.
std::vector<std::string> SseData(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated event: " << text.substr(pos);
      break;
    }
    std::string ev = text.substr(pos, end - pos);
    EXPECT_TRUE(ev.starts_with("data: ")) << ev;
    out.push_back(ev.substr(6));
    pos = end + 2;
  }
  return out;
}

class EchoCaptureTest : public ::testing::Test {
 protected:
  std::unique_ptr<FakeResponder> Run(net::Request req) {
    auto res = std::make_unique<FakeResponder>(io_);
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          co_await sim_.Handle(req, *res);
          done = true;
          res->DisarmWatch();
        },
        asio::detached);
    io_.run();
    io_.restart();
    EXPECT_TRUE(done);
    return res;
  }

  static json::value Body(const FakeResponder& r) {
    EXPECT_TRUE(r.response().has_value());
    return json::parse(r.response()->body());
  }
  static unsigned Status(const FakeResponder& r) { return r.response()->result_int(); }
  static std::string Content(const FakeResponder& r) {
    json::value v = Body(r);
    return std::string(v.at("choices").at(0).at("message").at("content").as_string());
  }

  // The delta.content of every event between the role event and the finish event of a stream;
  // checks the stream's frame (role first, then contents, finish, optional usage, [DONE]).
  std::vector<std::string> StreamContents(const FakeResponder& r, std::string_view finish = "stop",
                                          bool usage = false) {
    std::vector<std::string> events = SseData(r.StreamText());
    std::size_t tail = usage ? 3 : 2;  // finish[, usage], [DONE]
    EXPECT_GE(events.size(), 1 + tail);
    if (events.size() < 1 + tail) return {};
    EXPECT_EQ(events.back(), "[DONE]");
    json::value role = json::parse(events.front());
    EXPECT_EQ(role.at("choices").at(0).at("delta").at("role").as_string(), "assistant");
    json::value fin = json::parse(events[events.size() - tail]);
    EXPECT_EQ(fin.at("choices").at(0).at("finish_reason").as_string(), finish);
    EXPECT_TRUE(fin.at("choices").at(0).at("delta").as_object().empty());
    std::vector<std::string> out;
    for (std::size_t i = 1; i < events.size() - tail; ++i) {
      json::value c = json::parse(events[i]);
      const json::object& delta = c.at("choices").at(0).at("delta").as_object();
      EXPECT_EQ(delta.size(), 1u) << events[i];
      EXPECT_TRUE(c.at("choices").at(0).at("finish_reason").is_null());
      out.emplace_back(delta.at("content").as_string());
    }
    return out;
  }

  asio::io_context io_;
  Simulator sim_{SimOptions{}};
};

// --- Echo: pure helpers ---------------------------------------------------------------------

TEST(EchoText, LastUserMessageStringOrTextParts) {
  auto echo = [](std::string_view messages) {
    auto r = ParseChatRequest(ChatBody(messages), false, true);
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->echo.has_value());
    return r->echo.value_or("<unset>");
  };
  EXPECT_EQ(echo(R"([{"role":"system","content":"sys"},{"role":"user","content":"first"},
                     {"role":"assistant","content":"reply"},{"role":"user","content":"Call Alice at +1 555 0100"},
                     {"role":"assistant","content":"later"}])"),
            "Call Alice at +1 555 0100");
  EXPECT_EQ(echo(R"([{"role":"user","content":[{"type":"text","text":"ab"},
                     {"type":"image_url","image_url":{"url":"http://x/y.png"}},{"type":"text","text":"c\n\"d\""}]}])"),
            "abc\n\"d\"");
  EXPECT_EQ(echo(R"([{"role":"system","content":"no user here"}])"), "");
  EXPECT_EQ(echo(R"([{"role":"user","content":null}])"), "");
  EXPECT_EQ(echo(R"([{"role":"user","content":"h\u00e9 \ud83d\ude00"}])"), "h\xC3\xA9 \xF0\x9F\x98\x80");

  // Off unless asked for; never with a tool call answer.
  auto off = ParseChatRequest(ChatBody(R"([{"role":"user","content":"x"}])"), false);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->echo.has_value());
  auto tool = ParseChatRequest(
      ChatBody(R"([{"role":"user","content":"x"}])", R"("tools":[{"type":"function","function":{"name":"f"}}],)"),
      true, true);
  ASSERT_TRUE(tool);
  EXPECT_TRUE(tool->tool_call.has_value());
  EXPECT_FALSE(tool->echo.has_value());
}

TEST(EchoText, Utf8ChunksExact) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(Utf8Chunks("hello world", 3), (V{"hel", "lo ", "wor", "ld"}));
  EXPECT_EQ(Utf8Chunks("abc", 3), (V{"abc"}));
  EXPECT_EQ(Utf8Chunks("abc", 4096), (V{"abc"}));
  EXPECT_EQ(Utf8Chunks("abc", 1), (V{"a", "b", "c"}));
  EXPECT_TRUE(Utf8Chunks("", 3).empty());
  // "aé€😀b": é = C3 A9, € = E2 82 AC, 😀 = F0 9F 98 80. A chunk that would end inside a
  // sequence runs on to its end.
  const std::string t = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "b";
  EXPECT_EQ(Utf8Chunks(t, 2), (V{"a\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "b"}));
  EXPECT_EQ(Utf8Chunks(t, 1), (V{"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "b"}));
  EXPECT_EQ(Utf8Chunks(t, 4), (V{"a\xC3\xA9\xE2\x82\xAC", "\xF0\x9F\x98\x80", "b"}));
  // The tool-call fragments are 4-byte chunks, one empty fragment for empty arguments.
  EXPECT_EQ(ToolArgumentFragments(R"({"a":1})"), (V{"{\"a\"", ":1}"}));
  EXPECT_EQ(ToolArgumentFragments(""), (V{""}));
}

// --- Echo: through the handler ---------------------------------------------------------------

TEST_F(EchoCaptureTest, EchoNonStreaming) {
  const std::string body = ChatBody(R"([{"role":"system","content":"Be brief."},
      {"role":"user","content":"My name is Alice Smith, mail alice@example.com"}])");
  auto r = Run(Post("/v1/chat/completions", body, {{"x-sim-echo", "1"}}));
  ASSERT_EQ(Status(*r), 200u);
  EXPECT_EQ(Content(*r), "My name is Alice Smith, mail alice@example.com");
  json::value v = Body(*r);
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason").as_string(), "stop");
  // Usage as without echo: prompt from all message text (9 + 46 = 55 code points → 14),
  // completion = the natural length (16).
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 14);
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 16);
  EXPECT_EQ(v.at("usage").at("total_tokens").as_int64(), 30);

  // Only the content differs from the same request without echo.
  auto plain = Run(Post("/v1/chat/completions", body));
  json::value p = Body(*plain);
  EXPECT_NE(Content(*plain), Content(*r));
  p.at("choices").at(0).at("message").as_object()["content"] = Content(*r);
  EXPECT_EQ(p, v);

  // "true" works too, "0"/"false" turn it off; content parts; special characters survive.
  r = Run(Post("/v1/chat/completions",
               ChatBody(R"([{"role":"user","content":[{"type":"text","text":"tab\there "},{"type":"text","text":"\"q\" \u00fc\\"}]}])"),
               {{"X-Sim-Echo", "TRUE"}}));
  EXPECT_EQ(Content(*r), "tab\there \"q\" \xC3\xBC\\");
  r = Run(Post("/v1/chat/completions", body, {{"x-sim-echo", "0"}}));
  EXPECT_EQ(Content(*r), Content(*plain));
  r = Run(Post("/v1/chat/completions", body, {{"x-sim-echo", "false"}}));
  EXPECT_EQ(Content(*r), Content(*plain));

  // max_tokens still sets completion_tokens and finish_reason; the text is not cut.
  r = Run(Post("/v1/chat/completions",
               ChatBody(R"([{"role":"user","content":"one two three four five"}])", R"("max_tokens":2,)"),
               {{"x-sim-echo", "1"}}));
  EXPECT_EQ(Content(*r), "one two three four five");
  EXPECT_EQ(Body(*r).at("usage").at("completion_tokens").as_int64(), 2);
  EXPECT_EQ(Body(*r).at("choices").at(0).at("finish_reason").as_string(), "length");

  // No user message: empty content.
  r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"system","content":"s"}])"), {{"x-sim-echo", "1"}}));
  EXPECT_EQ(Content(*r), "");
}

TEST_F(EchoCaptureTest, EchoStreamingAsciiDefaultChunks) {
  auto r = Run(Post("/v1/chat/completions",
                    ChatBody(R"([{"role":"user","content":"Hello, Bob!"}])",
                             R"("stream":true,"stream_options":{"include_usage":true},)"),
                    {{"x-sim-echo", "1"}}));
  ASSERT_TRUE(r->head());
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);
  EXPECT_EQ(StreamContents(*r, "stop", true),
            (std::vector<std::string>{"Hel", "lo,", " Bo", "b!"}));
  std::vector<std::string> events = SseData(r->StreamText());
  ASSERT_EQ(events.size(), 1u + 4u + 1u + 1u + 1u);  // role, 4 chunks, finish, usage, [DONE]
  json::value usage = json::parse(events[events.size() - 2]);
  EXPECT_EQ(usage.at("usage").at("prompt_tokens").as_int64(), 3);  // 11 code points
  EXPECT_EQ(usage.at("usage").at("completion_tokens").as_int64(), 16);
  EXPECT_EQ(sim_.stats().streams_completed.load(), 1u);
}

TEST_F(EchoCaptureTest, EchoStreamingChunkBytes) {
  auto stream = [&](std::string text_json, std::string chunk) {
    auto r = Run(Post("/v1/chat/completions",
                      ChatBody(R"([{"role":"user","content":)" + text_json + "}]", R"("stream":true,)"),
                      {{"x-sim-echo", "1"}, {"x-sim-chunk-bytes", chunk}}));
    return StreamContents(*r);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(stream(R"("The quick brown fox")", "5"), (V{"The q", "uick ", "brown", " fox"}));
  EXPECT_EQ(stream(R"("abc")", "1"), (V{"a", "b", "c"}));
  EXPECT_EQ(stream(R"("abc")", "4096"), (V{"abc"}));
  // Multi-byte sequences at the boundaries: "Zoë → 東京 😀!" in 3-byte chunks.
  //   Z o ë(C3 AB) ' ' →(E2 86 92) ' ' 東(E6 9D B1) 京(E4 BA AC) ' ' 😀(F0 9F 98 80) !
  EXPECT_EQ(stream(R"("Zo\u00eb \u2192 \u6771\u4eac \ud83d\ude00!")", "3"),
            (V{"Zo\xC3\xAB", " \xE2\x86\x92", " \xE6\x9D\xB1", "\xE4\xBA\xAC", " \xF0\x9F\x98\x80", "!"}));
  // The same text, raw UTF-8 in the request, 2-byte chunks.
  EXPECT_EQ(stream("\"Zo\xC3\xAB \xE2\x86\x92 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80!\"", "2"),
            (V{"Zo", "\xC3\xAB", " \xE2\x86\x92", " \xE6\x9D\xB1", "\xE4\xBA\xAC", " \xF0\x9F\x98\x80", "!"}));
  // Empty text: no content events at all.
  EXPECT_EQ(stream(R"("")", "3"), V{});
}

TEST_F(EchoCaptureTest, EchoKeepsToolCallsAndFaults) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"lookup","parameters":
      {"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}}],)";
  // A forced tool call wins over echo.
  auto r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"hello"}])", tools),
                    {{"x-sim-echo", "1"}, {"x-sim-tool-call", "1"}}));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason").as_string(), "tool_calls");
  EXPECT_TRUE(v.at("choices").at(0).at("message").at("content").is_null());
  EXPECT_EQ(v.at("choices").at(0).at("message").at("tool_calls").at(0).at("function").at("arguments").as_string(),
            R"({"q":"sim"})");
  // Without a trigger, the tools are ignored and the text echoed.
  r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"hello"}])", tools),
               {{"x-sim-echo", "1"}}));
  EXPECT_EQ(Content(*r), "hello");

  // Faults: a status fault, and reset-during after the role event and 2 chunks.
  r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"hello"}])"),
               {{"x-sim-echo", "1"}, {"x-sim-fault", "503"}}));
  EXPECT_EQ(Status(*r), 503u);
  r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"hello world"}])", R"("stream":true,)"),
               {{"x-sim-echo", "1"}, {"x-sim-fault", "reset-during"}}));
  ASSERT_EQ(r->calls.size(), 5u);  // head, role, 2 chunks, reset
  EXPECT_EQ(r->calls.back().kind, Call::kReset);
  EXPECT_NE(r->calls[2].data.find(R"("delta":{"content":"hel"})"), std::string::npos) << r->calls[2].data;
  EXPECT_NE(r->calls[3].data.find(R"("delta":{"content":"lo "})"), std::string::npos) << r->calls[3].data;
  // Malformed non-streaming: the echo body cut in half.
  r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"hello"}])"),
               {{"x-sim-echo", "1"}, {"x-sim-fault", "malformed"}}));
  auto whole = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"hello"}])"),
                        {{"x-sim-echo", "1"}}));
  const std::string& full = whole->response()->body();
  EXPECT_EQ(r->response()->body(), full.substr(0, full.size() / 2));
}

TEST_F(EchoCaptureTest, BadEchoHeaders) {
  struct Case {
    const char* header;
    const char* value;
  } cases[] = {
      {"x-sim-echo", "yes"},        {"x-sim-echo", ""},          {"x-sim-echo", "2"},
      {"x-sim-chunk-bytes", "0"},   {"x-sim-chunk-bytes", "4097"}, {"x-sim-chunk-bytes", "-1"},
      {"x-sim-chunk-bytes", "3.5"}, {"x-sim-chunk-bytes", "abc"},  {"x-sim-chunk-bytes", ""},
  };
  for (const Case& c : cases) {
    auto r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"x"}])"),
                      {{"x-sim-echo", "1"}, {c.header, c.value}}));
    ASSERT_EQ(Status(*r), 400u) << c.header << ": " << c.value;
    const json::value v = Body(*r);
    const json::object& e = v.at("error").as_object();
    EXPECT_EQ(e.at("type").as_string(), "invalid_request_error");
    EXPECT_EQ(e.at("param").as_string(), c.header);
    EXPECT_TRUE(e.at("code").is_null());
    std::string msg(e.at("message").as_string());
    EXPECT_TRUE(msg.starts_with("Invalid header '" + std::string(c.header) + "': expected ")) << msg;
  }
  auto r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"x"}])"),
                    {{"x-sim-echo", "maybe"}}));
  EXPECT_EQ(Body(*r).at("error").at("message").as_string(),
            "Invalid header 'x-sim-echo': expected 1 or 0 (true or false).");
  r = Run(Post("/v1/chat/completions", ChatBody(R"([{"role":"user","content":"x"}])"),
               {{"x-sim-chunk-bytes", "0"}}));
  EXPECT_EQ(Body(*r).at("error").at("message").as_string(),
            "Invalid header 'x-sim-chunk-bytes': expected an integer from 1 to 4096 (bytes).");
  // Embeddings validate the x-sim-* headers too.
  r = Run(Post("/v1/embeddings", R"({"model":"e","input":"x"})", {{"x-sim-echo", "on"}}));
  EXPECT_EQ(Status(*r), 400u);
  EXPECT_EQ(Body(*r).at("error").at("param").as_string(), "x-sim-echo");
}

// --- Request capture --------------------------------------------------------------------------

TEST_F(EchoCaptureTest, CaptureRecordsPostsToV1InOrder) {
  const std::string chat = ChatBody(R"([{"role":"user","content":"secret \"x\"\n"}])");
  Run(Post("/v1/chat/completions?api-version=2024", chat, {{"x-sim-fault", "500"}}));
  Run(Post("/v1/embeddings", R"({"model":"e","input":"y"})"));
  Run(Post("/v1/chat/completions", "not json"));  // a 400, still captured
  Run(Post("/v1/unknown", "{}"));                   // a 404, still captured
  Run(Post("/v1/models", "z"));                     // a 405, still captured
  // Not captured: other methods, paths outside /v1/.
  Run(Bare(http::verb::get, "/v1/models"));
  Run(Post("/healthz", "h"));
  Run(Post("/sim/stats", "s"));
  Run(Post("/v2/chat/completions", "v2"));

  auto r = Run(Bare(http::verb::get, "/sim/requests"));
  ASSERT_EQ(Status(*r), 200u);
  EXPECT_EQ((*r->response())[http::field::content_type], "application/json");
  json::value expected = {
      {"requests",
       json::array{
           json::object{{"path", "/v1/chat/completions"}, {"body", chat}},
           json::object{{"path", "/v1/embeddings"}, {"body", R"({"model":"e","input":"y"})"}},
           json::object{{"path", "/v1/chat/completions"}, {"body", "not json"}},
           json::object{{"path", "/v1/unknown"}, {"body", "{}"}},
           json::object{{"path", "/v1/models"}, {"body", "z"}},
       }}};
  EXPECT_EQ(Body(*r), expected);
  // Exact text of one entry (escaping of the captured body).
  EXPECT_NE(r->response()->body().find(
                R"({"path":"/v1/chat/completions","body":"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"secret \\\"x\\\"\\n\"}]}"})"),
            std::string::npos)
      << r->response()->body();
  EXPECT_EQ(sim_.stats().by_route[static_cast<int>(Route::kRequests)].load(), 1u);
}

TEST_F(EchoCaptureTest, CaptureKeepsTheLast64) {
  for (int i = 0; i < 70; ++i) Run(Post("/v1/embeddings", "body-" + std::to_string(i)));
  auto r = Run(Bare(http::verb::get, "/sim/requests"));
  json::value v = Body(*r);
  const json::array& reqs = v.at("requests").as_array();
  ASSERT_EQ(reqs.size(), 64u);
  for (std::size_t k = 0; k < 64; ++k) {
    EXPECT_EQ(reqs[k].at("body").as_string(), "body-" + std::to_string(k + 6));
    EXPECT_EQ(reqs[k].at("path").as_string(), "/v1/embeddings");
    EXPECT_FALSE(reqs[k].as_object().contains("truncated"));
  }
  EXPECT_EQ(sim_.capture().size(), 64u);
}

TEST_F(EchoCaptureTest, CaptureDeleteClears) {
  Run(Post("/v1/chat/completions", "a"));
  Run(Post("/v1/chat/completions", "b"));
  auto d = Run(Bare(http::verb::delete_, "/sim/requests"));
  EXPECT_EQ(Status(*d), 200u);
  EXPECT_EQ(d->response()->body(), R"({"cleared":true})");
  auto r = Run(Bare(http::verb::get, "/sim/requests"));
  EXPECT_EQ(r->response()->body(), R"({"requests":[]})");
  // Recording resumes after a clear.
  Run(Post("/v1/embeddings", "c"));
  r = Run(Bare(http::verb::get, "/sim/requests"));
  EXPECT_EQ(r->response()->body(), R"({"requests":[{"path":"/v1/embeddings","body":"c"}]})");
  // Other methods: 405 with Allow.
  auto p = Run(Post("/sim/requests", "{}"));
  EXPECT_EQ(Status(*p), 405u);
  EXPECT_EQ((*p->response())[http::field::allow], "GET, DELETE");
}

TEST(RequestCapture, TruncatesAtOneMiBOnSequenceBoundary) {
  RequestCapture cap;
  const std::size_t max = RequestCapture::kMaxBodyBytes;
  ASSERT_EQ(max, 1048576u);
  cap.Record("/v1/a", std::string(max, 'x'));  // exactly 1 MiB: kept whole
  std::string over(max + 10, 'y');
  cap.Record("/v1/b", over);
  // "é" (C3 A9) straddling the limit: cut before it.
  std::string split(max - 1, 'z');
  split += "\xC3\xA9tail";
  cap.Record("/v1/c", split);
  json::value v = json::parse(cap.ToJson());
  const json::array& reqs = v.at("requests").as_array();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].at("body").as_string().size(), max);
  EXPECT_FALSE(reqs[0].as_object().contains("truncated"));
  EXPECT_EQ(reqs[1].at("body").as_string(), std::string(max, 'y'));
  EXPECT_EQ(reqs[1].at("truncated"), json::value(true));
  EXPECT_EQ(reqs[2].at("body").as_string(), std::string(max - 1, 'z'));
  EXPECT_EQ(reqs[2].at("truncated"), json::value(true));
}

TEST(RequestCapture, InvalidUtf8BecomesReplacementCharacter) {
  std::string out;
  AppendJsonStringUtf8Safe(out, "ok \xC3\xA9 \xFF x\xC3 \xED\xA0\x80 \xF0\x9F\x98\x80\x01");
  EXPECT_EQ(out, "\"ok \xC3\xA9 \xEF\xBF\xBD x\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xF0\x9F\x98\x80\\u0001\"");
  RequestCapture cap;
  cap.Record("/v1/x", "\x80");
  EXPECT_EQ(cap.ToJson(), "{\"requests\":[{\"path\":\"/v1/x\",\"body\":\"\xEF\xBF\xBD\"}]}");
}

TEST(RequestCapture, ConcurrentRecordsStayBounded) {
  RequestCapture cap;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cap, t] {
      for (int i = 0; i < 500; ++i) cap.Record("/v1/t", std::to_string(t) + ":" + std::to_string(i));
    });
  }
  std::thread reader([&cap] {
    for (int i = 0; i < 50; ++i) {
      json::value v = json::parse(cap.ToJson());
      EXPECT_LE(v.at("requests").as_array().size(), RequestCapture::kCapacity);
    }
  });
  for (auto& th : threads) th.join();
  reader.join();
  json::value v = json::parse(cap.ToJson());
  const json::array& reqs = v.at("requests").as_array();
  ASSERT_EQ(reqs.size(), 64u);
  // Per writer, the kept entries are in the order it recorded them.
  std::array<int, 4> last{-1, -1, -1, -1};
  for (const json::value& e : reqs) {
    std::string b(e.at("body").as_string());
    int t = b[0] - '0';
    int i = std::stoi(b.substr(2));
    EXPECT_GT(i, last[static_cast<std::size_t>(t)]) << b;
    last[static_cast<std::size_t>(t)] = i;
  }
}

}  // namespace
}  // namespace meridian::sim
