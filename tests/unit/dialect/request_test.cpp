// Request translation, table-driven from tests/fixtures/dialect/requests (accepted) and
// tests/fixtures/dialect/requests_rejected (400s naming the field).

#include "codecs.hpp"
#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

using testing::Dialects;
using testing::JsonDiff;
using testing::ListFixtures;
using testing::LoadFixture;
namespace json = boost::json;

// Decodes `input` in dialect `from` and encodes it in dialect `to` (Gemini forms are
// {"path", "body"}; see codecs.hpp).
core::Result<json::value> Translate(std::string_view from, std::string_view to,
                                    const json::value& input, const json::object& fx) {
  auto req = testing::DecodeRequestForm(from, input);
  if (!req) return std::unexpected(req.error());
  return testing::EncodeRequestForm(to, *req, fx);
}

void ExpectTranslation(std::string_view from, std::string_view to, const json::value& input,
                       const json::value& want, const json::object& fx) {
  SCOPED_TRACE(std::string(from) + " -> " + std::string(to));
  ASSERT_TRUE(input.is_object());
  auto out = Translate(from, to, input, fx);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const std::string diff = JsonDiff(want, *out);
  EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << json::serialize(*out);
}

class RequestFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(RequestFixture, Translates) {
  const json::object fx = LoadFixture("requests", GetParam());
  ASSERT_FALSE(fx.empty());
  int checked = 0;
  // Symmetric fixtures: each form present translates exactly into each other one.
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
  EXPECT_GT(checked, 0) << "fixture checks nothing";
}

// Decoding a body and encoding it in its own dialect gives the body back, up to the
// normalisations a fixture lists under "same_dialect" (e.g. max_tokens → max_completion_tokens).
TEST_P(RequestFixture, SameDialectIsLossless) {
  const json::object fx = LoadFixture("requests", GetParam());
  for (const std::string& dialect : Dialects()) {
    const json::value* body = fx.if_contains(dialect);
    if (body == nullptr) {
      for (const auto& kv : fx) {
        std::string from, to;
        if (testing::SplitDirection(kv.key(), from, to) && from == dialect) {
          body = &kv.value().at("input");
          break;
        }
      }
      if (body == nullptr) continue;
    }
    SCOPED_TRACE(dialect);
    json::value want = *body;
    if (const auto* same = fx.if_contains("same_dialect"); same && same->is_object()) {
      if (const auto* w = same->get_object().if_contains(dialect)) want = *w;
    }
    auto out = Translate(dialect, dialect, *body, fx);
    ASSERT_TRUE(out.has_value()) << out.error().message;
    const std::string diff = JsonDiff(want, *out);
    EXPECT_TRUE(diff.empty()) << diff << "\noutput: " << json::serialize(*out);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RequestFixture,
                         ::testing::ValuesIn(ListFixtures("requests")),
                         [](const auto& info) { return info.param; });

class RejectedFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(RejectedFixture, FailsNamingTheField) {
  const json::object fx = LoadFixture("requests_rejected", GetParam());
  ASSERT_FALSE(fx.empty());
  const std::string from(fx.at("from").as_string());
  const json::value* to = fx.if_contains("to");
  core::Error error;
  if (to == nullptr) {
    auto req = testing::DecodeRequestForm(from, fx.at("input"));
    ASSERT_FALSE(req.has_value()) << "decoding succeeded";
    error = req.error();
  } else {
    auto out = Translate(from, to->as_string(), fx.at("input"), fx);
    ASSERT_FALSE(out.has_value()) << "translation succeeded: " << json::serialize(*out);
    error = out.error();
  }
  EXPECT_EQ(error.code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(error.param, fx.at("param").as_string());
  EXPECT_EQ(error.message, fx.at("message").as_string());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RejectedFixture,
                         ::testing::ValuesIn(ListFixtures("requests_rejected")),
                         [](const auto& info) { return info.param; });

TEST(RequestDecode, KeepsUnmodelledMembersAsExtras) {
  auto req = openai::DecodeRequest(std::string_view(
      R"({"model":"m","messages":[{"role":"user","content":"hi","name":"ann"}],)"
      R"("logit_bias":{"50256":-100},"n":1,"user":"u1"})"));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  EXPECT_EQ(req->origin, Dialect::kOpenAiChat);
  EXPECT_EQ(req->extra.size(), 2u);
  EXPECT_TRUE(req->extra.contains("logit_bias"));
  EXPECT_EQ(req->messages[0].extra.at("name"), "ann");
  EXPECT_EQ(req->user, "u1");
}

TEST(RequestDecode, InvalidJsonIsA400) {
  auto req = anthropic::DecodeRequest(std::string_view("{\"model\":"));
  ASSERT_FALSE(req.has_value());
  EXPECT_EQ(req.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_NE(req.error().message.find("invalid JSON"), std::string::npos);
}

TEST(RequestEncode, DefaultMaxTokensComesFromTheOptions) {
  auto req = openai::DecodeRequest(
      std::string_view(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"));
  ASSERT_TRUE(req.has_value());
  anthropic::EncodeOptions opt;
  opt.default_max_tokens = 777;
  auto out = anthropic::EncodeRequest(*req, opt);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(json::parse(*out).at("max_tokens").as_int64(), 777);
}

}  // namespace
}  // namespace meridian::dialect

namespace meridian::dialect {
namespace {

// Members and blocks only one dialect knows pass through that dialect unchanged.
TEST(SameDialect, AnthropicServerToolsAndUnmodelledBlocksPassThrough) {
  const std::string body =
      R"({"model":"claude-sonnet-4-5","max_tokens":1024,"container":"container_1",)"
      R"("context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},)"
      R"("tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5},)"
      R"({"name":"lookup","input_schema":{"type":"object"},"input_examples":[{"q":"x"}]}],)"
      R"("messages":[{"role":"user","content":[{"type":"search_result","source":"https://a",)"
      R"("title":"A","content":[{"type":"text","text":"alpha"}]},{"type":"text","text":"Q",)"
      R"("citations":[]}]},{"role":"assistant","content":[{"type":"server_tool_use",)"
      R"("id":"srvtoolu_1","name":"web_search","input":{"query":"q"}},)"
      R"({"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},)"
      R"({"type":"text","text":"Found."}]},{"role":"user","content":"More"}],)"
      R"("output_config":{"effort":"low","task_budget":{"tokens":1000}}})";
  auto req = anthropic::DecodeRequest(std::string_view(body));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  auto out = anthropic::EncodeRequest(*req);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const std::string diff = testing::JsonDiff(json::parse(body), json::parse(*out));
  EXPECT_TRUE(diff.empty()) << diff << "\n" << *out;
  // ...and the first thing OpenAI cannot carry is named.
  auto cross = openai::EncodeRequest(*req);
  ASSERT_FALSE(cross.has_value());
  EXPECT_EQ(cross.error().param, "messages[0].content[0]");
}

TEST(SameDialect, OpenAiOnlyFeaturesPassThrough) {
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hi"},)"
      R"({"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}],"name":"ann"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"custom",)"
      R"("custom":{"name":"sql","input":"SELECT 1"}}],"audio":{"id":"audio_1"}}],)"
      R"("tools":[{"type":"custom","custom":{"name":"sql"}}],"tool_choice":{"type":"allowed_tools",)"
      R"("allowed_tools":{"mode":"auto","tools":[{"type":"custom","custom":{"name":"sql"}}]}},)"
      R"("n":3,"logprobs":true,"top_logprobs":2,"modalities":["text","audio"],)"
      R"("audio":{"voice":"alloy","format":"wav"},"prediction":{"type":"content","content":"x"},)"
      R"("stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false},)"
      R"("web_search_options":{},"verbosity":"low","prompt_cache_key":"k","seed":7})";
  auto req = openai::DecodeRequest(std::string_view(body));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  auto out = openai::EncodeRequest(*req);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const std::string diff = testing::JsonDiff(json::parse(body), json::parse(*out));
  EXPECT_TRUE(diff.empty()) << diff << "\n" << *out;
}

TEST(CrossDialect, CitationsSwitchedOffAskForNothing) {
  auto req = anthropic::DecodeRequest(std::string_view(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document",)"
      R"("source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="},)"
      R"("citations":{"enabled":false}}]}]})"));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  auto out = openai::EncodeRequest(*req);
  ASSERT_TRUE(out.has_value()) << out.error().message;
}

}  // namespace
}  // namespace meridian::dialect
