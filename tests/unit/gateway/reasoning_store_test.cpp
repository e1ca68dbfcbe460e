// gateway/reasoning_store: Anthropic thinking blocks kept between turns for clients that cannot
// carry them, put back in front of the tool calls they preceded; and the translator using it.

#include "gateway/reasoning_store.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "gateway/egress.hpp"
#include "gateway/snapshot.hpp"

namespace meridian::gateway {
namespace {

namespace json = boost::json;
using dialect::ContentPart;
using dialect::PartKind;

ContentPart Thinking(std::string text, std::string signature) {
  ContentPart p;
  p.kind = PartKind::kThinking;
  p.text = std::move(text);
  p.signature = std::move(signature);
  return p;
}

ContentPart ToolUse(std::string id) {
  ContentPart p;
  p.kind = PartKind::kToolUse;
  p.id = std::move(id);
  p.name = "get_weather";
  p.arguments = R"({"city":"Paris"})";
  return p;
}

dialect::ChatRequest SecondTurn(std::string call_id) {
  dialect::ChatRequest r;
  r.origin = dialect::Dialect::kOpenAiChat;
  r.messages.push_back({dialect::Role::kUser, {ContentPart::Text("weather?")}, {}});
  r.messages.push_back({dialect::Role::kAssistant, {ToolUse(call_id)}, {}});
  ContentPart result;
  result.kind = PartKind::kToolResult;
  result.id = call_id;
  result.content.push_back(ContentPart::Text("18C"));
  r.messages.push_back({dialect::Role::kTool, {result}, {}});
  return r;
}

TEST(ReasoningStoreTest, PutsTheBlocksBackInFrontOfTheirCall) {
  ReasoningStore store;
  store.Remember("acme/sk-a", {Thinking("Need the weather.", "sig-1"), ContentPart::Text("Checking."), ToolUse("toolu_1")});
  dialect::ChatRequest next = SecondTurn("toolu_1");
  EXPECT_EQ(store.Restore("acme/sk-a", next), 1);
  const auto& content = next.messages[1].content;
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[0].kind, PartKind::kThinking);
  EXPECT_EQ(content[0].text, "Need the weather.");
  EXPECT_EQ(content[0].signature, "sig-1");
  EXPECT_EQ(content[1].kind, PartKind::kToolUse);
  // A second Restore changes nothing: the turn has its thinking now.
  EXPECT_EQ(store.Restore("acme/sk-a", next), 0);
}

TEST(ReasoningStoreTest, ScopedByCallerBoundedAndExpiring) {
  ReasoningStore store(2, std::chrono::seconds(60));
  auto t0 = ReasoningStore::Clock::now();
  store.Remember("acme/sk-a", {Thinking("x", "s"), ToolUse("toolu_1")}, t0);
  dialect::ChatRequest other = SecondTurn("toolu_1");
  EXPECT_EQ(store.Restore("globex/sk-b", other), 0);  // another caller never gets them
  dialect::ChatRequest late = SecondTurn("toolu_1");
  EXPECT_EQ(store.Restore("acme/sk-a", late, t0 + std::chrono::seconds(61)), 0);  // expired
  store.Remember("acme/sk-a", {Thinking("y", "s"), ToolUse("toolu_2")}, t0);
  store.Remember("acme/sk-a", {Thinking("z", "s"), ToolUse("toolu_3")}, t0);
  EXPECT_EQ(store.size(), 2u);  // toolu_1 dropped first
  dialect::ChatRequest evicted = SecondTurn("toolu_1");
  EXPECT_EQ(store.Restore("acme/sk-a", evicted, t0), 0);
  // Nothing to remember without thinking or without a call.
  store.Remember("acme/sk-a", {ContentPart::Text("hi"), ToolUse("toolu_4")}, t0);
  store.Remember("acme/sk-a", {Thinking("x", "s"), ContentPart::Text("hi")}, t0);
  EXPECT_EQ(store.size(), 2u);
}

TEST(ReasoningStoreTest, CollectorRebuildsBlocksFromStreamEvents) {
  ReasoningCollector c;
  auto ev = [](dialect::StreamEventKind kind, int index, std::string_view text = {}, PartKind block = PartKind::kText,
               std::string_view id = {}) {
    dialect::StreamEvent e;
    e.kind = kind;
    e.index = index;
    e.text = text;
    e.block = block;
    e.id = id;
    return e;
  };
  using K = dialect::StreamEventKind;
  c.Add(ev(K::kBlockStart, 0, "", PartKind::kThinking));
  c.Add(ev(K::kThinkingDelta, 0, "Need "));
  c.Add(ev(K::kThinkingDelta, 0, "weather."));
  c.Add(ev(K::kSignatureDelta, 0, "sig-"));
  c.Add(ev(K::kSignatureDelta, 0, "2"));
  c.Add(ev(K::kBlockStop, 0));
  c.Add(ev(K::kBlockStart, 1, "", PartKind::kToolUse, "toolu_9"));
  c.Add(ev(K::kToolArgsDelta, 1, "{}"));
  ASSERT_TRUE(c.has_thinking());
  ASSERT_EQ(c.parts().size(), 2u);
  EXPECT_EQ(c.parts()[0].text, "Need weather.");
  EXPECT_EQ(c.parts()[0].signature, "sig-2");
  EXPECT_EQ(c.parts()[1].id, "toolu_9");
}

TEST(ReasoningStoreTest, TranslatorSendsAnthropicTheSignedBlocks) {
  config::Config cfg;
  config::BackendConfig b;
  b.id = "claude";
  b.provider = "anthropic";
  b.base_url = "http://127.0.0.1:9/v1";
  b.api_key = "sk-up";
  b.models = {"claude-x"};
  b.dialect = config::WireDialect::kAnthropicMessages;
  cfg.backends.push_back(b);
  auto snap = Snapshot::Build(std::move(cfg));
  ASSERT_TRUE(snap) << snap.error().message;

  ReasoningStore store;
  store.Remember("t/k", {Thinking("Need the weather.", "sig-1"), ToolUse("toolu_1")});
  std::string raw =
      R"({"model":"claude-x","reasoning_effort":"low","messages":[{"role":"user","content":"weather?"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
      R"({"role":"tool","tool_call_id":"toolu_1","content":"18C"}]})";
  json::object body = json::parse(raw).as_object();
  RequestTranslator t({.client = dialect::Dialect::kOpenAiChat, .api = Api::kChatCompletions, .body = &body,
                       .raw = raw, .upstream_model = "claude-x", .client_model = "claude-x",
                       .reasoning = &store, .scope = "t/k"});
  auto call = t.For(*(*snap)->backends().front());
  ASSERT_TRUE(call) << call.error().message;
  json::value sent = json::parse(call->body);
  const json::array& assistant = sent.at("messages").at(1).at("content").as_array();
  ASSERT_EQ(assistant.size(), 2u) << call->body;
  EXPECT_EQ(assistant[0], json::parse(R"({"type":"thinking","thinking":"Need the weather.","signature":"sig-1"})"));
  EXPECT_EQ(assistant[1].at("type"), "tool_use");
}

}  // namespace
}  // namespace meridian::gateway
