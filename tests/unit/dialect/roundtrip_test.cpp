// Round-trip property: for generated canonical requests in a dialect's normal form,
// decode(encode(x)) == x. A failure prints the seed and the encoded body.

#include <random>

#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"

#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

namespace json = boost::json;

class Gen {
 public:
  explicit Gen(std::uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Coin(int percent = 50) { return Int(1, 100) <= percent; }
  double Unit() { return Int(0, 1000) / 1000.0; }

  // Text with the characters JSON must escape, and non-ASCII.
  std::string Text() {
    static const char* kPieces[] = {"hello", " ", "world", "\"quoted\"", "back\\slash", "\n",
                                    "\t", "é", "日本語", "🙂", "{json}", "</tag>", "\x01", "0"};
    std::string s;
    const int n = Int(0, 6);
    for (int i = 0; i < n; ++i) s += kPieces[Int(0, 13)];
    return s;
  }
  std::string Id() {
    static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    std::string s = "id_";
    for (int i = 0, n = Int(1, 12); i < n; ++i) s += kChars[Int(0, 63)];
    return s;
  }
  json::value Schema() {
    json::object props;
    for (int i = 0, n = Int(0, 3); i < n; ++i) {
      props["p" + std::to_string(i)] = json::object{{"type", Coin() ? "string" : "integer"}};
    }
    return json::object{{"type", "object"}, {"properties", std::move(props)}};
  }
  std::string ArgsJson() {
    json::object o;
    for (int i = 0, n = Int(0, 3); i < n; ++i) {
      if (Coin()) o["k" + std::to_string(i)] = Text();
      else o["k" + std::to_string(i)] = Int(-5, 5000);
    }
    return json::serialize(o);
  }
  std::optional<CacheControl> Cache(bool ttl) {
    if (!Coin(25)) return std::nullopt;
    CacheControl c;
    if (ttl && Coin()) c.ttl = Coin() ? "5m" : "1h";
    return c;
  }

  ContentPart TextPart(bool ttl) {
    ContentPart p = ContentPart::Text(Text());
    p.cache = Cache(ttl);
    return p;
  }
  ContentPart Image(bool openai) {
    ContentPart p;
    p.kind = PartKind::kImage;
    if (Coin()) {
      p.source = SourceKind::kUrl;
      p.data = "https://example.com/" + Id() + ".png";
    } else {
      p.source = SourceKind::kBase64;
      p.media_type = Coin() ? "image/png" : "image/jpeg";
      p.data = "iVBORw0KGgo" + Id();
    }
    if (openai && Coin(30)) p.detail = Coin() ? "low" : "high";
    p.cache = Cache(!openai);
    return p;
  }
  ContentPart Document(bool openai) {
    ContentPart p;
    p.kind = PartKind::kDocument;
    p.source = SourceKind::kBase64;
    p.media_type = "application/pdf";
    p.data = "JVBERi0x" + Id();
    if (!openai && Coin(30)) {
      p.source = SourceKind::kText;
      p.media_type = "text/plain";
      p.data.clear();
      p.text = Text();
    }
    if (Coin()) p.name = Id() + ".pdf";
    p.cache = Cache(!openai);
    return p;
  }

  std::mt19937 rng_;
};

ChatRequest OpenAiRequest(Gen& g) {
  ChatRequest r;
  r.origin = Dialect::kOpenAiChat;
  r.model = "gpt-" + g.Id();
  auto text_message = [&](Role role) {
    Message m;
    m.role = role;
    for (int i = 0, n = g.Int(1, 3); i < n; ++i) m.content.push_back(g.TextPart(false));
    if (g.Coin(10)) m.extra["name"] = "n" + g.Id();
    return m;
  };
  if (g.Coin()) r.messages.push_back(text_message(g.Coin() ? Role::kSystem : Role::kDeveloper));
  for (int turn = 0, n = g.Int(1, 4); turn < n; ++turn) {
    Message u;
    u.role = Role::kUser;
    for (int i = 0, k = g.Int(1, 3); i < k; ++i) {
      const int kind = g.Int(0, 4);
      u.content.push_back(kind <= 2 ? g.TextPart(false) : kind == 3 ? g.Image(true) : g.Document(true));
    }
    r.messages.push_back(std::move(u));
    Message a;
    a.role = Role::kAssistant;
    for (int i = 0, k = g.Int(0, 2); i < k; ++i) a.content.push_back(g.TextPart(false));
    if (g.Coin(10)) {
      ContentPart refusal;
      refusal.kind = PartKind::kRefusal;
      refusal.text = g.Text();
      a.content.push_back(std::move(refusal));
    }
    const int calls = g.Int(0, 3);
    std::vector<std::string> ids;
    for (int i = 0; i < calls; ++i) {
      ContentPart c;
      c.kind = PartKind::kToolUse;
      c.id = "call_" + g.Id();
      c.name = "fn_" + std::to_string(i);
      c.arguments = g.Coin(90) ? g.ArgsJson() : std::string("{\"partial\":");  // any text
      ids.push_back(c.id);
      a.content.push_back(std::move(c));
    }
    r.messages.push_back(std::move(a));
    for (const auto& id : ids) {
      Message t;
      t.role = Role::kTool;
      ContentPart res;
      res.kind = PartKind::kToolResult;
      res.id = id;
      for (int i = 0, k = g.Int(1, 2); i < k; ++i) res.content.push_back(g.TextPart(false));
      t.content.push_back(std::move(res));
      r.messages.push_back(std::move(t));
    }
  }
  for (int i = 0, n = g.Int(0, 2); i < n; ++i) {
    Tool t;
    t.name = "fn_" + std::to_string(i);
    if (g.Coin()) t.description = g.Text();
    if (g.Coin(80)) t.parameters = g.Schema();
    if (g.Coin(30)) t.strict = g.Coin();
    r.tools.push_back(std::move(t));
  }
  const int mode = g.Int(0, 4);
  r.tool_choice.mode = static_cast<ToolChoice::Mode>(mode);
  if (r.tool_choice.mode == ToolChoice::Mode::kTool) r.tool_choice.name = "fn_0";
  if (g.Coin(30)) r.parallel_tool_calls = g.Coin();
  if (g.Coin(30)) {
    ResponseFormat f;
    f.type = static_cast<ResponseFormat::Type>(g.Int(0, 2));
    if (f.type == ResponseFormat::Type::kJsonSchema) {
      f.name = "schema_" + g.Id();
      if (g.Coin()) f.description = g.Text();
      f.schema = g.Schema();
      if (g.Coin()) f.strict = g.Coin();
    }
    r.response_format = std::move(f);
  }
  if (g.Coin()) r.temperature = g.Unit() * 2;
  if (g.Coin()) r.top_p = g.Unit();
  if (g.Coin()) r.max_tokens = g.Int(1, 100000);
  for (int i = 0, n = g.Int(0, 4); i < n; ++i) r.stop.push_back(g.Text());
  if (g.Coin(20)) r.seed = g.Int(-1000, 1000);
  if (g.Coin(30)) r.reasoning.effort = g.Coin() ? "low" : "high";
  r.stream = g.Coin();
  if (r.stream && g.Coin()) r.stream_include_usage = g.Coin();
  if (g.Coin(30)) r.user = g.Id();
  if (g.Coin(20)) r.service_tier = "auto";
  if (g.Coin(20)) r.extra["logit_bias"] = json::object{{"50256", -100}};
  if (g.Coin(20)) r.extra["n"] = 2;
  return r;
}

ChatRequest AnthropicRequest(Gen& g) {
  ChatRequest r;
  r.origin = Dialect::kAnthropicMessages;
  r.model = "claude-" + g.Id();
  r.max_tokens = g.Int(1, 64000);
  if (g.Coin()) {
    Message s;
    s.role = Role::kSystem;
    for (int i = 0, n = g.Int(1, 3); i < n; ++i) s.content.push_back(g.TextPart(true));
    r.messages.push_back(std::move(s));
  }
  for (int turn = 0, n = g.Int(1, 4); turn < n; ++turn) {
    Message u;
    u.role = Role::kUser;
    for (int i = 0, k = g.Int(1, 3); i < k; ++i) {
      const int kind = g.Int(0, 4);
      u.content.push_back(kind <= 2 ? g.TextPart(true) : kind == 3 ? g.Image(false) : g.Document(false));
    }
    r.messages.push_back(std::move(u));
    Message a;
    a.role = Role::kAssistant;
    if (g.Coin(20)) {
      ContentPart t;
      t.kind = PartKind::kThinking;
      t.text = g.Text();
      t.signature = "sig" + g.Id();
      a.content.push_back(std::move(t));
    }
    if (g.Coin(10)) {
      ContentPart t;
      t.kind = PartKind::kRedactedThinking;
      t.signature = "data" + g.Id();
      a.content.push_back(std::move(t));
    }
    for (int i = 0, k = g.Int(0, 2); i < k; ++i) a.content.push_back(g.TextPart(true));
    std::vector<std::string> ids;
    for (int i = 0, calls = g.Int(0, 3); i < calls; ++i) {
      ContentPart c;
      c.kind = PartKind::kToolUse;
      c.id = "toolu_" + g.Id();
      c.name = "fn_" + std::to_string(i);
      c.arguments = g.ArgsJson();
      c.cache = g.Cache(true);
      ids.push_back(c.id);
      a.content.push_back(std::move(c));
    }
    r.messages.push_back(std::move(a));
    for (const auto& id : ids) {
      Message t;
      t.role = Role::kTool;
      ContentPart res;
      res.kind = PartKind::kToolResult;
      res.id = id;
      for (int i = 0, k = g.Int(0, 2); i < k; ++i) {
        res.content.push_back(g.Coin(80) ? g.TextPart(true) : g.Image(false));
      }
      res.is_error = g.Coin(20);
      res.cache = g.Cache(true);
      t.content.push_back(std::move(res));
      r.messages.push_back(std::move(t));
    }
  }
  for (int i = 0, n = g.Int(0, 2); i < n; ++i) {
    Tool t;
    t.name = "fn_" + std::to_string(i);
    if (g.Coin()) t.description = g.Text();
    t.parameters = g.Schema();
    if (g.Coin(30)) t.strict = g.Coin();
    t.cache = g.Cache(true);
    r.tools.push_back(std::move(t));
  }
  r.tool_choice.mode = static_cast<ToolChoice::Mode>(g.Int(0, 4));
  if (r.tool_choice.mode == ToolChoice::Mode::kTool) r.tool_choice.name = "fn_0";
  if (r.tool_choice.mode != ToolChoice::Mode::kUnset &&
      r.tool_choice.mode != ToolChoice::Mode::kNone && g.Coin(40)) {
    r.parallel_tool_calls = g.Coin();
  }
  if (g.Coin(20)) {
    ResponseFormat f;
    f.type = ResponseFormat::Type::kJsonSchema;
    f.schema = g.Schema();
    f.strict = true;
    r.response_format = std::move(f);
  }
  if (g.Coin()) r.temperature = g.Unit();
  if (g.Coin()) r.top_p = g.Unit();
  if (g.Coin(30)) r.top_k = g.Int(1, 500);
  for (int i = 0, n = g.Int(0, 6); i < n; ++i) r.stop.push_back(g.Text());
  switch (g.Int(0, 3)) {
    case 1:
      r.reasoning.thinking = Reasoning::Thinking::kEnabled;
      r.reasoning.budget_tokens = g.Int(1024, 32000);
      break;
    case 2: r.reasoning.thinking = Reasoning::Thinking::kDisabled; break;
    case 3: r.reasoning.thinking = Reasoning::Thinking::kAdaptive; break;
    default: break;
  }
  if (r.reasoning.thinking != Reasoning::Thinking::kUnset && g.Coin(20)) {
    r.reasoning.display = "summarized";
  }
  if (g.Coin(30)) r.reasoning.effort = g.Coin() ? "medium" : "max";
  r.stream = g.Coin();
  if (r.stream) r.stream_include_usage = true;
  if (g.Coin(30)) r.user = g.Id();
  if (g.Coin(20)) r.service_tier = "standard_only";
  if (g.Coin(20)) r.extra["container"] = "container_" + g.Id();
  return r;
}

// A request in Gemini's normal form: what gemini::DecodeRequest produces. Tool calls carry
// either the id the decoder generates for their position (call_<content>_<n>) or their own
// (kept in extra.functionCall.id); tool results are one text part (+ images), merged with the
// next user turn into one content.
ChatRequest GeminiRequest(Gen& g) {
  ChatRequest r;
  r.origin = Dialect::kGemini;
  r.model = "gemini-" + g.Id();
  if (g.Coin()) {
    Message s;
    s.role = Role::kSystem;
    for (int i = 0, n = g.Int(1, 3); i < n; ++i) s.content.push_back(ContentPart::Text(g.Text()));
    r.messages.push_back(std::move(s));
  }
  auto media = [&](bool pdf_ok) {
    ContentPart p;
    p.kind = pdf_ok && g.Coin(30) ? PartKind::kDocument : PartKind::kImage;
    const int src = g.Int(0, 2);
    p.media_type = p.kind == PartKind::kDocument ? "application/pdf"
                   : g.Coin()                    ? "image/png"
                                                 : "image/jpeg";
    if (src == 0) {
      p.source = SourceKind::kBase64;
      p.data = "iVBORw0KGgo" + g.Id();
    } else if (src == 1) {
      p.source = SourceKind::kUrl;
      p.data = "https://example.com/" + g.Id();
    } else {
      p.source = SourceKind::kFileId;
      p.data = "https://generativelanguage.googleapis.com/v1beta/files/" + g.Id();
    }
    return p;
  };
  int ci = 0;           // index of the next Gemini content
  bool merged = false;  // the last content holds tool results a user turn may join
  for (int turn = 0, n = g.Int(1, 4); turn < n; ++turn) {
    Message u;
    u.role = Role::kUser;
    for (int i = 0, k = g.Int(1, 3); i < k; ++i) {
      if (g.Coin(70)) {
        ContentPart t = ContentPart::Text(g.Text());
        if (g.Coin(10)) t.extra["thoughtSignature"] = "c2ln" + g.Id();
        u.content.push_back(std::move(t));
      } else {
        u.content.push_back(media(true));
      }
    }
    r.messages.push_back(std::move(u));
    if (!merged) ++ci;
    Message a;
    a.role = Role::kAssistant;
    if (g.Coin(20)) {
      ContentPart t;
      t.kind = PartKind::kThinking;
      t.text = g.Text();
      if (g.Coin()) t.signature = "c2ln" + g.Id();
      a.content.push_back(std::move(t));
    }
    for (int i = 0, k = g.Int(0, 2); i < k; ++i) {
      ContentPart t = ContentPart::Text(g.Text());
      if (g.Coin(20)) t.extra["thoughtSignature"] = "c2ln" + g.Id();
      a.content.push_back(std::move(t));
    }
    struct Call {
      std::string id;
      bool own;
    };
    std::vector<Call> calls;
    for (int i = 0, k = g.Int(0, 3); i < k; ++i) {
      ContentPart c;
      c.kind = PartKind::kToolUse;
      c.name = "fn_" + std::to_string(i);
      c.arguments = g.ArgsJson();
      const bool own = g.Coin(20);
      c.id = own ? "fc_" + g.Id() : "call_" + std::to_string(ci) + "_" + std::to_string(i);
      if (own) c.extra["functionCall"] = json::object{{"id", c.id}};
      if (i == 0 && g.Coin(30)) c.extra["thoughtSignature"] = "c2ln" + g.Id();
      calls.push_back({c.id, own});
      a.content.push_back(std::move(c));
    }
    r.messages.push_back(std::move(a));
    ++ci;
    merged = false;
    for (const auto& call : calls) {
      Message t;
      t.role = Role::kTool;
      ContentPart res;
      res.kind = PartKind::kToolResult;
      res.id = call.id;
      res.content.push_back(ContentPart::Text(g.Text()));
      if (g.Coin(15)) res.content.push_back(media(false));
      res.is_error = g.Coin(20);
      if (call.own) res.extra["functionResponse"] = json::object{{"id", call.id}};
      t.content.push_back(std::move(res));
      r.messages.push_back(std::move(t));
      merged = true;
    }
    if (merged) ++ci;
  }
  for (int i = 0, n = g.Int(0, 2); i < n; ++i) {
    Tool t;
    t.name = "fn_" + std::to_string(i);
    if (g.Coin()) t.description = g.Text();
    if (g.Coin(80)) t.parameters = g.Schema();
    r.tools.push_back(std::move(t));
  }
  r.tool_choice.mode = static_cast<ToolChoice::Mode>(g.Int(0, 4));
  if (r.tool_choice.mode == ToolChoice::Mode::kTool) r.tool_choice.name = "fn_0";
  if (g.Coin(30)) {
    ResponseFormat f;
    f.type = static_cast<ResponseFormat::Type>(g.Int(0, 2));
    if (f.type == ResponseFormat::Type::kJsonSchema) f.schema = g.Schema();
    r.response_format = std::move(f);
  }
  if (g.Coin()) r.temperature = g.Unit() * 2;
  if (g.Coin()) r.top_p = g.Unit();
  if (g.Coin(30)) r.top_k = g.Int(1, 100);
  if (g.Coin()) r.max_tokens = g.Int(1, 65536);
  for (int i = 0, n = g.Int(0, 5); i < n; ++i) r.stop.push_back(g.Text());
  if (g.Coin(20)) r.seed = g.Int(-1000, 1000);
  switch (g.Int(0, 3)) {
    case 1:
      r.reasoning.thinking = Reasoning::Thinking::kEnabled;
      r.reasoning.budget_tokens = g.Int(1, 32000);
      break;
    case 2: r.reasoning.thinking = Reasoning::Thinking::kDisabled; break;
    case 3: r.reasoning.thinking = Reasoning::Thinking::kAdaptive; break;
    default: break;
  }
  if (g.Coin(20)) r.reasoning.effort = g.Coin() ? "low" : "high";
  if (g.Coin(30)) r.reasoning.display = g.Coin() ? "summarized" : "omitted";
  r.stream = g.Coin();
  if (r.stream) r.stream_include_usage = true;
  if (g.Coin(20)) r.extra["cachedContent"] = "cachedContents/" + g.Id();
  if (g.Coin(20)) {
    r.extra["safetySettings"] = json::array{
        json::object{{"category", "HARM_CATEGORY_HARASSMENT"}, {"threshold", "BLOCK_NONE"}}};
  }
  if (g.Coin(20)) r.extra["generationConfig"] = json::object{{"candidateCount", 2}};
  return r;
}

core::Result<ChatRequest> GeminiRoundTrip(const ChatRequest& x, std::string* body) {
  auto enc = gemini::EncodeRequest(x);
  if (!enc) return std::unexpected(enc.error());
  *body = enc->body;
  auto target = gemini::ParseTarget(enc->path);
  if (!target) return core::Fail(core::ErrorCode::kInternal, "unparsable path " + enc->path);
  return gemini::DecodeRequest(std::string_view(enc->body), *target);
}

constexpr int kCases = 400;

TEST(RoundTrip, OpenAiDecodeOfEncodeIsIdentity) {
  for (int seed = 0; seed < kCases; ++seed) {
    Gen g(static_cast<std::uint32_t>(seed));
    const ChatRequest x = OpenAiRequest(g);
    auto body = openai::EncodeRequest(x);
    ASSERT_TRUE(body.has_value()) << "seed " << seed << ": " << body.error().message;
    auto back = openai::DecodeRequest(*body);
    ASSERT_TRUE(back.has_value()) << "seed " << seed << ": " << back.error().message << "\n" << *body;
    ASSERT_TRUE(*back == x) << "seed " << seed << "\n" << *body << "\nre-encoded: "
                            << openai::EncodeRequest(*back).value_or("?");
  }
}

TEST(RoundTrip, AnthropicDecodeOfEncodeIsIdentity) {
  for (int seed = 0; seed < kCases; ++seed) {
    Gen g(static_cast<std::uint32_t>(seed) + 100000);
    const ChatRequest x = AnthropicRequest(g);
    auto body = anthropic::EncodeRequest(x);
    ASSERT_TRUE(body.has_value()) << "seed " << seed << ": " << body.error().message;
    auto back = anthropic::DecodeRequest(*body);
    ASSERT_TRUE(back.has_value()) << "seed " << seed << ": " << back.error().message << "\n" << *body;
    ASSERT_TRUE(*back == x) << "seed " << seed << "\n" << *body << "\nre-encoded: "
                            << anthropic::EncodeRequest(*back).value_or("?");
  }
}

TEST(RoundTrip, GeminiDecodeOfEncodeIsIdentity) {
  for (int seed = 0; seed < kCases; ++seed) {
    Gen g(static_cast<std::uint32_t>(seed) + 300000);
    const ChatRequest x = GeminiRequest(g);
    std::string body;
    auto back = GeminiRoundTrip(x, &body);
    ASSERT_TRUE(back.has_value()) << "seed " << seed << ": " << back.error().message << "\n" << body;
    ASSERT_TRUE(*back == x) << "seed " << seed << "\n" << body << "\nre-encoded: "
                            << gemini::EncodeRequest(*back).value_or(gemini::EncodedRequest{}).body;
  }
}

// Gemini <-> the others: a translation either succeeds completely and decodes again in the
// target dialect, or fails with a 400 naming a field.
TEST(RoundTrip, GeminiCrossDialectTranslationsDecode) {
  int translated = 0, attempted = 0;
  auto gemini_decodes = [](const ChatRequest& req, int seed, int& ok) {
    auto enc = gemini::EncodeRequest(req);
    if (!enc) {
      EXPECT_FALSE(enc.error().param.empty()) << "seed " << seed << ": " << enc.error().message;
      return;
    }
    ++ok;
    auto target = gemini::ParseTarget(enc->path);
    ASSERT_TRUE(target.has_value()) << enc->path;
    auto back = gemini::DecodeRequest(std::string_view(enc->body), *target);
    ASSERT_TRUE(back.has_value()) << "seed " << seed << ": " << back.error().message << "\n"
                                  << enc->body;
  };
  for (int seed = 0; seed < kCases; ++seed) {
    Gen g(static_cast<std::uint32_t>(seed) + 400000);
    gemini_decodes(OpenAiRequest(g), seed, translated);
    gemini_decodes(AnthropicRequest(g), seed, translated);
    const ChatRequest ge = GeminiRequest(g);
    if (auto o = openai::EncodeRequest(ge)) {
      ++translated;
      ASSERT_TRUE(openai::DecodeRequest(*o).has_value()) << "seed " << seed << "\n" << *o;
    } else {
      EXPECT_FALSE(o.error().param.empty()) << o.error().message;
    }
    if (auto a = anthropic::EncodeRequest(ge)) {
      ++translated;
      ASSERT_TRUE(anthropic::DecodeRequest(*a).has_value()) << "seed " << seed << "\n" << *a;
    } else {
      EXPECT_FALSE(a.error().param.empty()) << a.error().message;
    }
    attempted += 4;
  }
  EXPECT_GT(translated, attempted / 4);
}

// Cross-dialect: whatever an OpenAI request translates into is a valid Anthropic request that
// decodes again (the translation either succeeds completely or fails with a 400 naming a field).
TEST(RoundTrip, CrossDialectTranslationsDecode) {
  int translated = 0;
  for (int seed = 0; seed < kCases; ++seed) {
    Gen g(static_cast<std::uint32_t>(seed) + 200000);
    const ChatRequest o = OpenAiRequest(g);
    if (auto a = anthropic::EncodeRequest(o)) {
      ++translated;
      ASSERT_TRUE(anthropic::DecodeRequest(*a).has_value()) << "seed " << seed << "\n" << *a;
    } else {
      EXPECT_FALSE(a.error().param.empty()) << a.error().message;
    }
    const ChatRequest an = AnthropicRequest(g);
    if (auto b = openai::EncodeRequest(an)) {
      ++translated;
      ASSERT_TRUE(openai::DecodeRequest(*b).has_value()) << "seed " << seed << "\n" << *b;
    } else {
      EXPECT_FALSE(b.error().param.empty()) << b.error().message;
    }
  }
  EXPECT_GT(translated, kCases / 4);
}

}  // namespace
}  // namespace meridian::dialect
