// Response translation, table-driven from tests/fixtures/dialect/responses.

#include "codecs.hpp"
#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

using testing::Dialects;
using testing::JsonDiff;
using testing::ListFixtures;
using testing::LoadFixture;
namespace json = boost::json;

core::Result<std::string> Translate(std::string_view from, std::string_view to,
                                    const json::value& input, const json::object& fx) {
  const std::string body = json::serialize(input);
  auto resp = testing::DecodeResponseBody(from, body);
  if (!resp) return std::unexpected(resp.error());
  return testing::EncodeResponseBody(to, *resp, fx);
}

void ExpectTranslation(std::string_view from, std::string_view to, const json::value& input,
                       const json::value& want, const json::object& fx) {
  SCOPED_TRACE(std::string(from) + " -> " + std::string(to));
  auto out = Translate(from, to, input, fx);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const std::string diff = JsonDiff(want, json::parse(*out));
  EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << *out;
}

class ResponseFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ResponseFixture, Translates) {
  const json::object fx = LoadFixture("responses", GetParam());
  ASSERT_FALSE(fx.empty());
  int checked = 0;
  const auto& ds = Dialects();
  for (std::size_t a = 0; a < ds.size(); ++a) {
    for (std::size_t b = a + 1; b < ds.size(); ++b) {
      const json::value* x = fx.if_contains(ds[a]);
      const json::value* y = fx.if_contains(ds[b]);
      if (x == nullptr || y == nullptr) continue;
      ExpectTranslation(ds[a], ds[b], *x, *y, fx);
      ExpectTranslation(ds[b], ds[a], *y, *x, fx);
      checked += 2;
    }
  }
  for (const auto& kv : fx) {
    std::string from, to;
    if (!testing::SplitDirection(kv.key(), from, to)) continue;
    ExpectTranslation(from, to, kv.value().at("input"), kv.value().at("output"), fx);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// A response decoded and encoded in its own dialect comes back unchanged.
TEST_P(ResponseFixture, SameDialectIsLossless) {
  const json::object fx = LoadFixture("responses", GetParam());
  for (const std::string& dialect : Dialects()) {
    std::vector<const json::value*> bodies;
    if (const json::value* b = fx.if_contains(dialect)) bodies.push_back(b);
    for (const auto& kv : fx) {
      std::string from, to;
      if (testing::SplitDirection(kv.key(), from, to) && from == dialect) {
        bodies.push_back(&kv.value().at("input"));
      }
    }
    for (const json::value* body : bodies) {
      SCOPED_TRACE(dialect);
      auto out = Translate(dialect, dialect, *body, fx);
      ASSERT_TRUE(out.has_value()) << out.error().message;
      const std::string diff = JsonDiff(*body, json::parse(*out));
      EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << *out;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResponseFixture,
                         ::testing::ValuesIn(ListFixtures("responses")),
                         [](const auto& info) { return info.param; });

TEST(ResponseDecode, UsageMeansTheSameInBothDialects) {
  // Anthropic: input_tokens excludes the cache; canonical input includes it.
  auto a = anthropic::DecodeResponse(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],)"
      R"("stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":50,)"
      R"("cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"output_tokens":30}})");
  ASSERT_TRUE(a.has_value()) << a.error().message;
  ASSERT_TRUE(a->usage.has_value());
  EXPECT_EQ(a->usage->input_tokens, 1250);
  EXPECT_EQ(a->usage->cache_read_tokens, 1000);
  EXPECT_EQ(a->usage->cache_write_tokens, 200);
  EXPECT_EQ(a->usage->output_tokens, 30);
  // OpenAI: prompt_tokens includes cached_tokens.
  auto o = openai::DecodeResponse(
      R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"x","refusal":null},"logprobs":null,)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":1250,"completion_tokens":30,)"
      R"("total_tokens":1280,"prompt_tokens_details":{"cached_tokens":1000},)"
      R"("completion_tokens_details":{"reasoning_tokens":12}}})");
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->usage->input_tokens, 1250);
  EXPECT_EQ(o->usage->cache_read_tokens, 1000);
  EXPECT_FALSE(o->usage->cache_write_tokens.has_value());
  EXPECT_EQ(o->usage->reasoning_tokens, 12);
}

TEST(ResponseDecode, MalformedBodiesAreUpstreamErrors) {
  for (std::string_view body : {"not json", "[1]", R"({"choices":[]})"}) {
    auto r = openai::DecodeResponse(body);
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
  }
  auto r = anthropic::DecodeResponse(R"({"type":"completion"})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUpstreamError);
}

TEST(ResponseEncode, ServerToolBlocksCannotReachAnOpenAiClient) {
  auto r = anthropic::DecodeResponse(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"m","content":[)"
      R"({"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}}],)"
      R"("stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto out = openai::EncodeResponse(*r);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, core::ErrorCode::kUpstreamError);
}

}  // namespace
}  // namespace meridian::dialect
