// gateway/restore: pseudonyms restored in JSON bodies and across OpenAI stream events.

#include "gateway/restore.hpp"

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace meridian::gateway {
namespace {

namespace json = boost::json;

// A pseudonymizer holding one placeholder for `value` (an e-mail); returns the placeholder.
std::string Pseudonymize(redact::Pseudonymizer& p, std::string_view value) {
  std::vector<classify::Finding> f{{core::DataClass::kEmail, 0, value.size()}};
  return p.Apply(value, f, 0, redact::Bit(core::DataClass::kEmail));
}

std::string Chunk(std::string_view content, bool finish = false) {
  json::object delta;
  delta["content"] = content;
  json::object choice{{"index", 0}, {"delta", std::move(delta)}};
  choice["finish_reason"] = finish ? json::value("stop") : json::value(nullptr);
  return json::serialize(json::object{{"id", "c1"}, {"object", "chat.completion.chunk"}, {"created", 7},
                                      {"model", "m"}, {"choices", json::array{std::move(choice)}}});
}

std::string ContentOf(const std::string& data) {
  const json::value& v = json::parse(data);
  const json::value* c = v.at("choices").at(0).at("delta").as_object().if_contains("content");
  return c ? std::string(c->as_string()) : std::string("<none>");
}

TEST(RestoreTest, JsonBodyStringsAreRestoredAndReEscaped) {
  redact::Pseudonymizer p(std::string(32, 'k'));
  std::string ph = Pseudonymize(p, "a\"b@example.com");
  std::string body = R"({"choices":[{"message":{"role":"assistant","content":"write to )" + ph + R"("}}]})";
  EXPECT_EQ(RestoreJsonBody(body, p), R"({"choices":[{"message":{"role":"assistant","content":"write to a\"b@example.com"}}]})");
  EXPECT_EQ(RestoreJsonBody("not json", p), "not json");
}

TEST(RestoreTest, APlaceholderSplitOverThreeEventsIsRestoredWhenItsEndArrives) {
  redact::Pseudonymizer p(std::string(32, 'k'));
  std::string ph = Pseudonymize(p, "alice@example.org");
  ASSERT_GT(ph.size(), 10u);
  ChatStreamRestorer r(p);
  EXPECT_EQ(ContentOf(r.Event(Chunk("Hi " + ph.substr(0, 4)))), "Hi ");
  EXPECT_EQ(ContentOf(r.Event(Chunk(ph.substr(4, 5)))), "");
  EXPECT_EQ(ContentOf(r.Event(Chunk(ph.substr(9) + " bye"))), "alice@example.org bye");
  EXPECT_EQ(r.Finish(), "");
}

TEST(RestoreTest, HeldTextIsReleasedInTheFinishingEvent) {
  redact::Pseudonymizer p(std::string(32, 'k'));
  std::string ph = Pseudonymize(p, "alice@example.org");
  ChatStreamRestorer r(p);
  EXPECT_EQ(ContentOf(r.Event(Chunk("x " + ph.substr(0, 3)))), "x ");
  // The stream ends with a finish_reason and no more text: the held prefix was not a
  // placeholder after all and goes out unchanged.
  EXPECT_EQ(ContentOf(r.Event(Chunk("", true))), ph.substr(0, 3));
  EXPECT_EQ(r.Finish(), "");
}

TEST(RestoreTest, FinishEmitsOneChunkForTextHeldWhenTheStreamStopsWithoutFinishReason) {
  redact::Pseudonymizer p(std::string(32, 'k'));
  std::string ph = Pseudonymize(p, "alice@example.org");
  ChatStreamRestorer r(p);
  r.Event(Chunk("x " + ph.substr(0, 3)));
  EXPECT_EQ(r.Finish(), R"({"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"content":")" +
                            ph.substr(0, 3) + R"("},"finish_reason":null}]})");
}

TEST(RestoreTest, ToolCallArgumentsAreRestoredPerCall) {
  redact::Pseudonymizer p(std::string(32, 'k'));
  std::string ph = Pseudonymize(p, "bob@example.net");
  ChatStreamRestorer r(p);
  auto args_event = [](std::string_view args) {
    return json::serialize(json::object{
        {"choices", json::array{json::object{
                        {"index", 0},
                        {"delta", json::object{{"tool_calls", json::array{json::object{
                                                                  {"index", 0},
                                                                  {"function", json::object{{"arguments", args}}}}}}}},
                        {"finish_reason", nullptr}}}}});
  };
  auto args_of = [](const std::string& data) {
    return std::string(json::parse(data).at("choices").at(0).at("delta").at("tool_calls").at(0).at("function").at("arguments").as_string());
  };
  EXPECT_EQ(args_of(r.Event(args_event("{\"to\":\"" + ph.substr(0, 6)))), "{\"to\":\"");
  EXPECT_EQ(args_of(r.Event(args_event(ph.substr(6) + "\"}"))), "bob@example.net\"}");
}

TEST(RestoreTest, EventsThatAreNotChatChunksPassUnchanged) {
  redact::Pseudonymizer p(std::string(32, 'k'));
  Pseudonymize(p, "alice@example.org");
  ChatStreamRestorer r(p);
  EXPECT_EQ(r.Event("{\"usage\":{\"prompt_tokens\":3}}"), "{\"usage\":{\"prompt_tokens\":3}}");
  EXPECT_EQ(r.Event("garbage"), "garbage");
}

}  // namespace
}  // namespace meridian::gateway
