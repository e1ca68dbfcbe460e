// The Gemini generateContent wire format of the simulator: exact bodies, exact SSE (CRLF) and
// JSON-array streams, function calls, errors, API key, countTokens, echo, faults, routes.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dialect_fixture.hpp"
#include "sim/content.hpp"
#include "sim/gemini.hpp"
#include "sim/simulator.hpp"

namespace meridian::sim {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::Bare;
using testing::Call;
using testing::CrlfData;
using testing::Fill;
using testing::Headers;
using testing::OpenAiHash;
using testing::Post;
using testing::With;
using testing::Word;

const Headers kKey = {{"x-goog-api-key", "test-key"}};
constexpr const char* kGenerate = "/v1beta/models/gemini-test:generateContent";
constexpr const char* kStreamSse = "/v1beta/models/gemini-test:streamGenerateContent?alt=sse";
constexpr const char* kStreamArray = "/v1beta/models/gemini-test:streamGenerateContent";

constexpr const char* kHello =
    R"({"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hello"}]}]})";
constexpr const char* kHelloOpenAi = R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}])";

constexpr const char* kTools =
    R"("tools":[{"googleSearch":{}},{"functionDeclarations":[
        {"name":"get_weather","description":"Weather","parameters":{"type":"OBJECT",
          "properties":{"city":{"type":"STRING"},"days":{"type":"INTEGER"},"unit":{"type":"STRING","enum":["C","F"]}},
          "required":["city","days"]}},
        {"name":"get_time","parametersJsonSchema":{"type":"object","properties":{"tz":{"type":"string"},
          "exact":{"type":"boolean"}},"required":["exact","tz"]}}]}],)";

std::string ToolBody(std::string_view user_text, std::string_view extra = "") {
  return "{" + std::string(kTools) + std::string(extra) + R"("contents":[{"role":"user","parts":[{"text":")" +
         std::string(user_text) + R"("}]}]})";
}

// One GenerateContentResponse as the simulator writes it.
std::string Chunk(std::string_view parts, std::string_view finish, int prompt, std::optional<int> completion,
                  std::string_view model, uint64_t hash) {
  std::string s = R"({"candidates":[{"content":{"parts":)" + std::string(parts) + R"(,"role":"model"})";
  if (!finish.empty()) s += R"(,"finishReason":")" + std::string(finish) + "\"";
  s += R"(,"index":0}],"usageMetadata":{"promptTokenCount":)" + std::to_string(prompt);
  if (completion) s += R"(,"candidatesTokenCount":)" + std::to_string(*completion);
  s += R"(,"totalTokenCount":)" + std::to_string(prompt + completion.value_or(0));
  s += R"(},"modelVersion":")" + std::string(model) + R"(","responseId":")" + Hex16(Mix64(hash)) + "\"}";
  return s;
}
std::string Text(std::string_view text) { return R"([{"text":")" + std::string(text) + "\"}]"; }

std::string Error(unsigned code, std::string_view status, std::string_view message) {
  std::string escaped;
  AppendJsonString(escaped, message);
  return R"({"error":{"code":)" + std::to_string(code) + R"(,"message":)" + escaped + R"(,"status":")" +
         std::string(status) + "\"}}";
}

class GeminiTest : public testing::DialectTest {};

// --- Plain text ---------------------------------------------------------------------------------

TEST_F(GeminiTest, NonStreamExactBody) {
  auto r = Run(Post(kGenerate, kHello, With(kKey, {{"x-sim-output-tokens", "4"}})));
  ASSERT_EQ(Status(*r), 200u) << BodyText(*r);
  EXPECT_EQ(Header(*r, "content-type"), "application/json");
  const uint64_t h = OpenAiHash(kHelloOpenAi);
  EXPECT_EQ(BodyText(*r), Chunk(Text(AnswerText(h, 4)), "STOP", 4, 4, "gemini-test", h));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("usageMetadata").at("totalTokenCount").as_int64(), 8);
}

TEST_F(GeminiTest, SameAnswerOnAllThreeRoutes) {
  auto g = Run(Post(kGenerate, kHello, kKey));
  auto o = Run(Post("/v1/chat/completions", std::string(R"({"model":"m","messages":)") + kHelloOpenAi + "}"));
  auto a = Run(Post("/v1/messages",
                    R"({"model":"c","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello"}]})",
                    {{"x-api-key", "k"}, {"anthropic-version", "2023-06-01"}}));
  json::value gv = Body(*g), ov = Body(*o), av = Body(*a);
  const json::value& text = gv.at("candidates").at(0).at("content").at("parts").at(0).at("text");
  EXPECT_EQ(text, ov.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(text, av.at("content").at(0).at("text"));
  EXPECT_EQ(gv.at("usageMetadata").at("promptTokenCount"), ov.at("usage").at("prompt_tokens"));
  EXPECT_EQ(gv.at("usageMetadata").at("candidatesTokenCount"), ov.at("usage").at("completion_tokens"));
  // A multi-turn conversation: "model" is the assistant; a missing role is "user"; snake_case.
  auto multi = Run(Post(kGenerate,
                        R"({"system_instruction":{"parts":[{"text":"S"}]},"contents":[{"parts":[{"text":"a"}]},
                            {"role":"model","parts":[{"text":"b"}]},{"role":"user","parts":[{"text":"c"},{"text":"d"}]}]})",
                        kKey));
  auto multi_o = Run(Post("/v1/chat/completions", R"({"model":"m","messages":[{"role":"system","content":"S"},
      {"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"cd"}]})"));
  EXPECT_EQ(Body(*multi).at("candidates").at(0).at("content").at("parts").at(0).at("text"),
            Body(*multi_o).at("choices").at(0).at("message").at("content"));
}

TEST_F(GeminiTest, MaxOutputTokens) {
  auto r = Run(Post(kGenerate, R"({"contents":[{"parts":[{"text":"Hello"}]}],"generationConfig":{"maxOutputTokens":2}})", kKey));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("candidates").at(0).at("finishReason").as_string(), "MAX_TOKENS");
  EXPECT_EQ(v.at("usageMetadata").at("candidatesTokenCount").as_int64(), 2);
  r = Run(Post(kGenerate, R"({"contents":[{"parts":[{"text":"Hello"}]}],"generation_config":{"max_output_tokens":3}})", kKey));
  EXPECT_EQ(Body(*r).at("usageMetadata").at("candidatesTokenCount").as_int64(), 3);
}

TEST_F(GeminiTest, SseStreamExact) {
  auto r = Run(Post(kStreamSse, kHello, With(kKey, {{"x-sim-output-tokens", "2"}})));
  ASSERT_TRUE(r->head());
  EXPECT_EQ(Header(*r, "content-type"), "text/event-stream");
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);
  const uint64_t h = OpenAiHash(kHelloOpenAi);
  const std::string expected =
      "data: " + Chunk(Text(Word(h, 0)), "", 4, std::nullopt, "gemini-test", h) + "\r\n\r\n" +
      "data: " + Chunk(Text(Word(h, 1)), "", 4, std::nullopt, "gemini-test", h) + "\r\n\r\n" +
      "data: " + Chunk(Text(""), "STOP", 4, 2, "gemini-test", h) + "\r\n\r\n";
  EXPECT_EQ(r->StreamText(), expected);
  EXPECT_EQ(r->Count(Call::kWriteChunk), 3u);
  EXPECT_EQ(r->StreamText().find("[DONE]"), std::string::npos);
  // Each event is a GenerateContentResponse; the texts concatenate to the non-streaming text.
  std::string text;
  for (const std::string& d : CrlfData(r->StreamText())) {
    text += json::parse(d).at("candidates").at(0).at("content").at("parts").at(0).at("text").as_string();
  }
  EXPECT_EQ(text, AnswerText(h, 2));
  EXPECT_EQ(sim_.stats().streams_completed.load(), 1u);
}

TEST_F(GeminiTest, JsonArrayStreamWithoutAltSse) {
  auto r = Run(Post(kStreamArray, kHello, With(kKey, {{"x-sim-output-tokens", "2"}})));
  EXPECT_EQ(Header(*r, "content-type"), "application/json");
  const uint64_t h = OpenAiHash(kHelloOpenAi);
  const std::string expected = "[" + Chunk(Text(Word(h, 0)), "", 4, std::nullopt, "gemini-test", h) + ",\r\n" +
                               Chunk(Text(Word(h, 1)), "", 4, std::nullopt, "gemini-test", h) + ",\r\n" +
                               Chunk(Text(""), "STOP", 4, 2, "gemini-test", h) + "]";
  EXPECT_EQ(r->StreamText(), expected);
  EXPECT_EQ(r->Count(Call::kWriteChunk), 3u);
  EXPECT_EQ(json::parse(r->StreamText()).as_array().size(), 3u);
  // alt=json (or anything but sse) is the array form too.
  r = Run(Post(std::string(kStreamArray) + "?alt=json", kHello, kKey));
  EXPECT_TRUE(r->StreamText().starts_with("[{"));
}

// --- Function calls -----------------------------------------------------------------------------

TEST_F(GeminiTest, FunctionCallNonStreamExact) {
  auto r = Run(Post(kGenerate, ToolBody("Please call a tool"), kKey));
  const uint64_t h = OpenAiHash(R"([{"role":"user","content":"Please call a tool"}])");
  // Upper-case schema types work; {"city":"sim","days":1} is 6 fragments of 4 bytes = 6 tokens.
  EXPECT_EQ(BodyText(*r),
            Chunk(R"([{"functionCall":{"name":"get_weather","args":{"city":"sim","days":1}}}])", "STOP", 5, 6,
                  "gemini-test", h));
}

TEST_F(GeminiTest, FunctionCallStreamIsOneChunk) {
  auto r = Run(Post(kStreamSse, ToolBody("hello"), With(kKey, {{"x-sim-tool-call", "1"}})));
  const uint64_t h = OpenAiHash(R"([{"role":"user","content":"hello"}])");
  EXPECT_EQ(r->StreamText(),
            "data: " +
                Chunk(R"([{"functionCall":{"name":"get_weather","args":{"city":"sim","days":1}}}])", "STOP", 2, 6,
                      "gemini-test", h) +
                "\r\n\r\n");
  r = Run(Post(kStreamArray, ToolBody("call a tool"), kKey));
  json::value arr = json::parse(r->StreamText());
  ASSERT_EQ(arr.as_array().size(), 1u);
  EXPECT_EQ(arr.at(0).at("candidates").at(0).at("content").at("parts").at(0).at("functionCall").at("name").as_string(),
            "get_weather");
}

TEST_F(GeminiTest, FunctionCallingConfig) {
  auto call = [&](const std::string& body, Headers extra = {}) -> std::string {
    auto r = Run(Post(kGenerate, body, With(kKey, extra)));
    EXPECT_EQ(Status(*r), 200u) << BodyText(*r);
    json::value v = Body(*r);
    const json::value& part = v.at("candidates").at(0).at("content").at("parts").at(0);
    if (!part.as_object().contains("functionCall")) return "text";
    return json::serialize(part.at("functionCall"));
  };
  EXPECT_EQ(call(ToolBody("hello")), "text");
  EXPECT_EQ(call(ToolBody("hello", R"("toolConfig":{"functionCallingConfig":{"mode":"ANY"}},)")),
            R"({"name":"get_weather","args":{"city":"sim","days":1}})");
  EXPECT_EQ(call(ToolBody("call a tool", R"("toolConfig":{"functionCallingConfig":{"mode":"NONE"}},)")), "text");
  EXPECT_EQ(call(ToolBody("call a tool", R"("toolConfig":{"functionCallingConfig":{"mode":"AUTO"}},)")),
            R"({"name":"get_weather","args":{"city":"sim","days":1}})");
  // allowedFunctionNames picks the call; parametersJsonSchema gives the arguments (required order).
  EXPECT_EQ(call(ToolBody("hello", R"("tool_config":{"function_calling_config":{"mode":"ANY",
                                       "allowed_function_names":["get_time"]}},)")),
            R"({"name":"get_time","args":{"exact":true,"tz":"sim"}})");
  EXPECT_EQ(call(R"({"tools":[{"function_declarations":[{"name":"f"}]}],"contents":[{"parts":[{"text":"call a tool"}]}]})"),
            R"({"name":"f","args":{}})");
  // The function call wins over echo.
  EXPECT_EQ(call(ToolBody("hello"), {{"x-sim-tool-call", "1"}, {"x-sim-echo", "1"}}),
            R"({"name":"get_weather","args":{"city":"sim","days":1}})");
}

// --- Echo ---------------------------------------------------------------------------------------

TEST_F(GeminiTest, Echo) {
  const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"first"}]},{"role":"model","parts":[{"text":"r"}]},
      {"role":"user","parts":[{"text":"Call Alice "},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},
                              {"text":"at +1 555 0100"}]}]})";
  auto r = Run(Post(kGenerate, body, With(kKey, {{"x-sim-echo", "1"}})));
  json::value v = Body(*r);
  EXPECT_EQ(v.at("candidates").at(0).at("content").at("parts").at(0).at("text").as_string(), "Call Alice at +1 555 0100");
  EXPECT_EQ(v.at("usageMetadata").at("candidatesTokenCount").as_int64(), 16);
  r = Run(Post(kStreamSse, body, With(kKey, {{"x-sim-echo", "1"}, {"x-sim-chunk-bytes", "10"}})));
  std::vector<std::string> events = CrlfData(r->StreamText());
  ASSERT_EQ(events.size(), 4u);
  std::vector<std::string> texts;
  for (const std::string& e : events) {
    texts.emplace_back(json::parse(e).at("candidates").at(0).at("content").at("parts").at(0).at("text").as_string());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"Call Alice", " at +1 555", " 0100", ""}));
  EXPECT_EQ(json::parse(events.back()).at("usageMetadata").at("candidatesTokenCount").as_int64(), 16);
}

// --- Key, validation, errors --------------------------------------------------------------------

TEST_F(GeminiTest, ApiKey) {
  const std::string denied = Error(403, "PERMISSION_DENIED",
                                   "Method doesn't allow unregistered callers (callers without established identity). "
                                   "Please use API Key or other form of API consumer identity to call this API.");
  auto r = Run(Post(kGenerate, kHello));
  EXPECT_EQ(Status(*r), 403u);
  EXPECT_EQ(BodyText(*r), denied);
  EXPECT_EQ(Status(*Run(Post(kGenerate, kHello, {{"x-goog-api-key", ""}}))), 403u);
  EXPECT_EQ(Status(*Run(Post(std::string(kGenerate) + "?key=", kHello))), 403u);
  EXPECT_EQ(Status(*Run(Post(std::string(kGenerate) + "?key=abc", kHello))), 200u);
  auto s = Run(Post("/v1beta/models/g:streamGenerateContent?alt=sse&key=abc", kHello));
  EXPECT_TRUE(s->head().has_value());
  EXPECT_EQ(Status(*Run(Post("/v1beta/models/g:countTokens", kHello))), 403u);
}

TEST_F(GeminiTest, Validation) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({})", "* GenerateContentRequest.contents: contents is not specified"},
      {R"({"contents":[]})", "* GenerateContentRequest.contents: contents is not specified"},
      {R"({"contents":{}})", "Invalid value at 'contents': expected an array of Content objects."},
      {R"({"contents":[{"role":"assistant","parts":[{"text":"x"}]}]})", "Please use a valid role: user, model."},
      {R"({"contents":[{"role":"user","parts":[]}]})",
       "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty."},
      {R"({"contents":[{"role":"user"}]})", "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty."},
      {R"({"contents":[{"parts":[{"text":"a"}]},{"parts":[{"foo":1}]}]})",
       "* GenerateContentRequest.contents[1].parts[0].data: required oneof field 'data' must have one initialized field"},
      {R"({"contents":[{"parts":[{"text":5}]}]})", "Invalid value at 'contents[0].parts[0].text': expected a string (TYPE_STRING)."},
      {R"({"contents":[{"parts":[{"inlineData":{"data":"eA=="}}]}]})",
       "Invalid value at 'contents[0].parts[0].inlineData.mimeType': expected a string."},
      {R"({"contents":[{"parts":[{"functionCall":{"args":{}}}]}]})",
       "Invalid value at 'contents[0].parts[0].functionCall.name': expected a non-empty string."},
      {R"({"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":0}})",
       "Invalid value at 'generation_config.max_output_tokens': expected a positive integer (TYPE_INT32)."},
      {R"({"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"description":"d"}]}]})",
       "Invalid value at 'tools[0].function_declarations[0].name': expected a non-empty string."},
      {R"({"contents":[{"parts":[{"text":"x"}]}],"toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}}})",
       "Invalid value at 'tool_config.function_calling_config.mode': expected one of MODE_UNSPECIFIED, AUTO, ANY, NONE, VALIDATED."},
      {R"({"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],
          "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["g"]}}})",
       "Invalid value at 'tool_config.function_calling_config.allowed_function_names': every name must be declared in "
       "function_declarations."},
      {"nope", "We could not parse the JSON body of your request: invalid JSON (syntax error) near byte 0. The API expects a JSON object."},
  };
  for (const Case& c : cases) {
    auto r = Run(Post(kGenerate, c.body, kKey));
    ASSERT_EQ(Status(*r), 400u) << c.body;
    EXPECT_EQ(BodyText(*r), Error(400, "INVALID_ARGUMENT", c.message)) << c.body;
  }
  // A bad x-sim-* header: Gemini's shape too.
  auto r = Run(Post(kGenerate, kHello, With(kKey, {{"x-sim-chunk-bytes", "0"}})));
  EXPECT_EQ(BodyText(*r), Error(400, "INVALID_ARGUMENT",
                                "Invalid header 'x-sim-chunk-bytes': expected an integer from 1 to 4096 (bytes)."));
}

TEST_F(GeminiTest, UnknownModel) {
  Simulator sim(SimOptions{.models = {"gemini-known"}});
  auto r = Run(sim, Post(kGenerate, kHello, kKey));
  EXPECT_EQ(Status(*r), 404u);
  EXPECT_EQ(BodyText(*r), Error(404, "NOT_FOUND",
                                "models/gemini-test is not found for API version v1beta, or is not supported for "
                                "generateContent. Call ListModels to see the list of available models and their "
                                "supported methods."));
  EXPECT_EQ(Status(*Run(sim, Post("/v1beta/models/gemini-known:generateContent", kHello, kKey))), 200u);
  // An empty model is never found.
  EXPECT_EQ(Status(*Run(Post("/v1beta/models/:generateContent", kHello, kKey))), 404u);
}

TEST_F(GeminiTest, StatusFaultsExactBodies) {
  struct Case {
    const char* fault;
    unsigned status;
    std::string body;
    bool retry_after;
  } cases[] = {
      {"429", 429,
       R"j({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota). (simulated by meridian-sim)",)j"
       R"j("status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}})j",
       true},
      {"500", 500, Error(500, "INTERNAL", "An internal error has occurred. (simulated by meridian-sim)"), false},
      {"503", 503, Error(503, "UNAVAILABLE", "The service is currently unavailable. (simulated by meridian-sim)"), true},
      {"overloaded", 503,
       Error(503, "UNAVAILABLE", "The model is overloaded. Please try again later. (simulated by meridian-sim)"), true},
      {"error-during", 503,
       Error(503, "UNAVAILABLE", "The model is overloaded. Please try again later. (simulated by meridian-sim)"), true},
  };
  for (const Case& c : cases) {
    auto r = Run(Post(kGenerate, kHello, With(kKey, {{"x-sim-fault", c.fault}, {"x-sim-retry-after", "7"}})));
    ASSERT_EQ(Status(*r), c.status) << c.fault;
    EXPECT_EQ(BodyText(*r), c.body) << c.fault;
    EXPECT_EQ(Header(*r, "retry-after"), c.retry_after ? "7" : "") << c.fault;
  }
  // Streams get the status error before any byte.
  auto r = Run(Post(kStreamSse, kHello, With(kKey, {{"x-sim-fault", "429"}})));
  EXPECT_EQ(Status(*r), 429u);
  EXPECT_FALSE(r->head().has_value());
}

TEST_F(GeminiTest, StreamFaults) {
  // error-during: 2 chunks, then the error as an event; the stream then ends.
  auto r = Run(Post(kStreamSse, kHello, With(kKey, {{"x-sim-fault", "error-during"}})));
  std::vector<std::string> events = CrlfData(r->StreamText());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2], Error(503, "UNAVAILABLE", "The model is overloaded. Please try again later. (simulated by meridian-sim)"));
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);
  // The same in a JSON array: the error is its last element, and the array is closed.
  r = Run(Post(kStreamArray, kHello, With(kKey, {{"x-sim-fault", "error-during"}})));
  json::value arr = json::parse(r->StreamText());
  ASSERT_EQ(arr.as_array().size(), 3u);
  EXPECT_EQ(arr.at(2).at("error").at("status").as_string(), "UNAVAILABLE");
  // error-during with nothing to send before it: a one-element array.
  r = Run(Post(kStreamArray, kHello, With(kKey, {{"x-sim-fault", "error-during"}, {"x-sim-output-tokens", "0"}})));
  EXPECT_EQ(json::parse(r->StreamText()).as_array().size(), 1u);

  r = Run(Post(kStreamSse, kHello, With(kKey, {{"x-sim-fault", "reset-during"}})));
  ASSERT_EQ(r->calls.size(), 1u + 2u + 1u);  // head, 2 chunks, reset
  EXPECT_EQ(r->calls.back().kind, Call::kReset);

  r = Run(Post(kStreamSse, kHello, With(kKey, {{"x-sim-fault", "stall-during"}})), CloseAfter(30ms));
  ASSERT_EQ(r->calls.size(), 2u);  // head and the first chunk, then held
  EXPECT_EQ(sim_.stats().client_aborts.load(), 1u);

  r = Run(Post(kStreamSse, kHello, With(kKey, {{"x-sim-fault", "malformed"}})));
  EXPECT_EQ(r->StreamText(), "data: {not json\r\n\r\n");
  EXPECT_EQ(r->calls.back().kind, Call::kEndStream);
  r = Run(Post(kStreamArray, kHello, With(kKey, {{"x-sim-fault", "malformed"}})));
  EXPECT_EQ(r->StreamText(), "[{not json]");

  r = Run(Post(kGenerate, kHello, With(kKey, {{"x-sim-fault", "malformed"}})));
  std::string whole = BodyText(*Run(Post(kGenerate, kHello, kKey)));
  EXPECT_EQ(BodyText(*r), whole.substr(0, whole.size() / 2));
}

// --- countTokens --------------------------------------------------------------------------------

TEST_F(GeminiTest, CountTokens) {
  auto r = Run(Post("/v1beta/models/gemini-test:countTokens", R"({"contents":[{"parts":[{"text":"Hello world, how are you"}]}]})", kKey));
  ASSERT_EQ(Status(*r), 200u);
  EXPECT_EQ(BodyText(*r), R"({"totalTokens":6})");
  // The generateContentRequest form counts the system instruction too, as generateContent does.
  r = Run(Post("/v1beta/models/gemini-test:countTokens",
               std::string(R"({"generateContentRequest":)") + kHello + "}", kKey));
  EXPECT_EQ(BodyText(*r), R"({"totalTokens":4})");
  r = Run(Post("/v1beta/models/gemini-test:countTokens", R"({"contents":[]})", kKey));
  EXPECT_EQ(Status(*r), 400u);
}

// --- Routes, stats, capture ---------------------------------------------------------------------

TEST_F(GeminiTest, RoutesStatsAndCapture) {
  auto r = Run(Bare(http::verb::get, kGenerate, kKey));
  EXPECT_EQ(Status(*r), 405u);
  EXPECT_EQ(Header(*r, "allow"), "POST");
  EXPECT_EQ(BodyText(*r),
            Error(405, "UNIMPLEMENTED",
                  "Method GET is not allowed for /v1beta/models/gemini-test:generateContent (allowed: POST)."));
  r = Run(Post("/v1beta/models/gemini-test:embedContent", "{}", kKey));
  EXPECT_EQ(Status(*r), 404u);
  EXPECT_EQ(BodyText(*r), Error(404, "NOT_FOUND", "Invalid URL (POST /v1beta/models/gemini-test:embedContent)"));
  // The stable /v1 path serves the Gemini methods too; other /v1/models paths stay OpenAI's.
  EXPECT_EQ(Status(*Run(Post("/v1/models/gemini-test:generateContent", kHello, kKey))), 200u);
  r = Run(Bare(http::verb::get, "/v1/models/ft:gpt-4o:org:abc"));
  EXPECT_EQ(Status(*r), 200u);
  EXPECT_EQ(Body(*r).at("id").as_string(), "ft:gpt-4o:org:abc");
  Run(Post(std::string(kStreamSse) + "&key=secret", kHello));
  Run(Post("/v1beta/models/gemini-test:countTokens", kHello, kKey));

  json::value stats = json::parse(BodyText(*Run(Bare(http::verb::get, "/sim/stats"))));
  const json::value& paths = stats.at("paths");
  EXPECT_EQ(paths.at("generate_content").as_int64(), 2);
  EXPECT_EQ(paths.at("stream_generate_content").as_int64(), 1);
  EXPECT_EQ(paths.at("gemini_count_tokens").as_int64(), 1);
  EXPECT_EQ(paths.at("other").as_int64(), 1);
  EXPECT_EQ(paths.at("models").as_int64(), 1);

  // Captured without the query string (so a key= never lands in the capture).
  json::value cap = json::parse(BodyText(*Run(Bare(http::verb::get, "/sim/requests"))));
  const json::array& reqs = cap.at("requests").as_array();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].at("path").as_string(), "/v1beta/models/gemini-test:embedContent");
  EXPECT_EQ(reqs[1].at("path").as_string(), "/v1/models/gemini-test:generateContent");
  EXPECT_EQ(reqs[2], (json::object{{"path", "/v1beta/models/gemini-test:streamGenerateContent"}, {"body", kHello}}));
  EXPECT_EQ(reqs[3].at("path").as_string(), "/v1beta/models/gemini-test:countTokens");
  EXPECT_EQ(cap.as_object().size(), 1u);
  EXPECT_EQ(BodyText(*Run(Bare(http::verb::get, "/sim/requests"))).find("secret"), std::string::npos);
}

TEST(GeminiPath, ParsesModelAndMethod) {
  auto r = ParseGeminiPath("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->model, "gemini-2.0-flash");
  EXPECT_EQ(r->method, "streamGenerateContent");
  EXPECT_FALSE(ParseGeminiPath("/v1beta/models/gemini-2.0-flash"));
  EXPECT_FALSE(ParseGeminiPath("/v1beta/models/x:"));
  EXPECT_FALSE(ParseGeminiPath("/v1beta/tunedModels/x:generateContent"));
  EXPECT_EQ(QueryParam("/p?alt=sse&key=K", "key"), std::optional<std::string_view>("K"));
  EXPECT_EQ(QueryParam("/p?alt=sse&key=K", "alt"), std::optional<std::string_view>("sse"));
  EXPECT_EQ(QueryParam("/p?keys=1", "key"), std::nullopt);
  EXPECT_EQ(QueryParam("/p", "key"), std::nullopt);
  EXPECT_EQ(QueryParam("/p?key", "key"), std::optional<std::string_view>(""));
}

}  // namespace
}  // namespace meridian::sim
