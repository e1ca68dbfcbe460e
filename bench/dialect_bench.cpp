// Cost of dialect translation (src/dialect): a ~2 KB non-streaming request OpenAI ->
// Anthropic, OpenAI -> Gemini, OpenAI -> Responses, Responses -> Anthropic and back (parse + decode + encode, what the gateway would add per
// request), responses, and one stream chunk each way (decode + encode, steady state).
// Targets (issue): <= 10 us per 2 KB request, <= 1 us per stream chunk.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "dialect/openai_responses.hpp"

namespace {

using namespace meridian::dialect;  // NOLINT

std::string Filler(std::size_t n) {
  static constexpr std::string_view kWords =
      "the quick brown fox jumps over the lazy dog while the model considers the question "
      "and writes a careful answer about quarterly revenue, shipping dates and invoices. ";
  std::string s;
  while (s.size() < n) s.append(kWords.substr(0, std::min(kWords.size(), n - s.size())));
  return s;
}

// ~2 KB: a system prompt, three turns, a tool call and its result, one tool definition.
std::string OpenAiRequest() {
  return R"({"model":"claude-sonnet-4-5","max_completion_tokens":1024,"temperature":0.7,)"
         R"("messages":[{"role":"system","content":")" + Filler(500) +
         R"("},{"role":"user","content":")" + Filler(400) +
         R"("},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
         R"("function":{"name":"get_weather","arguments":"{\"location\":\"Paris, France\"}"}}]},)"
         R"({"role":"tool","tool_call_id":"call_1","content":")" + Filler(300) +
         R"("},{"role":"user","content":")" + Filler(400) +
         R"("}],"tools":[{"type":"function","function":{"name":"get_weather","description":)"
         R"("Get the current weather in a given location","parameters":{"type":"object",)"
         R"("properties":{"location":{"type":"string","description":"City and country"}},)"
         R"("required":["location"]}}}],"tool_choice":"auto"})";
}

void BM_RequestOpenAiToAnthropic(benchmark::State& state) {
  const std::string body = OpenAiRequest();
  for (auto _ : state) {
    auto req = openai::DecodeRequest(std::string_view(body));
    auto out = anthropic::EncodeRequest(*req);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_RequestOpenAiToAnthropic);

void BM_RequestAnthropicToOpenAi(benchmark::State& state) {
  const std::string body = *anthropic::EncodeRequest(*openai::DecodeRequest(OpenAiRequest()));
  for (auto _ : state) {
    auto req = anthropic::DecodeRequest(std::string_view(body));
    auto out = openai::EncodeRequest(*req);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_RequestAnthropicToOpenAi);

void BM_ResponseAnthropicToOpenAi(benchmark::State& state) {
  const std::string body =
      R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",)"
      R"("model":"claude-sonnet-4-5","content":[{"type":"text","text":")" + Filler(1000) +
      R"("}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":50,)"
      R"("cache_creation_input_tokens":0,"cache_read_input_tokens":1000,"output_tokens":230}})";
  for (auto _ : state) {
    auto resp = anthropic::DecodeResponse(body);
    auto out = openai::EncodeResponse(*resp, {.created = 1700000000});
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ResponseAnthropicToOpenAi);

// One text delta chunk in, its Anthropic event out (the block is already open).
void BM_ChunkOpenAiToAnthropic(benchmark::State& state) {
  openai::StreamDecoder dec;
  anthropic::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  const std::string first =
      R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,)"
      R"("model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,)"
      R"("delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})";
  const std::string chunk =
      R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,)"
      R"("model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,)"
      R"("delta":{"content":" the answer"},"logprobs":null,"finish_reason":null}]})";
  (void)dec.Feed(first, events);
  (void)dec.Feed(chunk, events);
  for (const auto& ev : events) (void)enc.Encode(ev, out);
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkOpenAiToAnthropic);

void BM_ChunkAnthropicToOpenAi(benchmark::State& state) {
  anthropic::StreamDecoder dec;
  openai::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  (void)dec.Feed(R"({"type":"message_start","message":{"id":"msg_1","type":"message",)"
                 R"("role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":)"
                 R"(null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}})",
                 events);
  (void)dec.Feed(R"({"type":"content_block_start","index":0,"content_block":{"type":"text",)"
                 R"("text":""}})",
                 events);
  for (const auto& ev : events) (void)enc.Encode(ev, out);
  const std::string chunk =
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the answer"}})";
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkAnthropicToOpenAi);

// A tool-argument fragment each way.
void BM_ChunkToolArgsOpenAiToAnthropic(benchmark::State& state) {
  openai::StreamDecoder dec;
  anthropic::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  (void)dec.Feed(R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":)"
                 R"([{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1",)"
                 R"("type":"function","function":{"name":"get_weather","arguments":""}}]},)"
                 R"("finish_reason":null}]})",
                 events);
  for (const auto& ev : events) (void)enc.Encode(ev, out);
  const std::string chunk =
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,)"
      R"("delta":{"tool_calls":[{"index":0,"function":{"arguments":"tion\":\"Par"}}]},)"
      R"("finish_reason":null}]})";
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkToolArgsOpenAiToAnthropic);

// ---- Google Gemini ------------------------------------------------------------------------

void BM_RequestOpenAiToGemini(benchmark::State& state) {
  const std::string body = OpenAiRequest();
  for (auto _ : state) {
    auto req = openai::DecodeRequest(std::string_view(body));
    auto out = gemini::EncodeRequest(*req);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_RequestOpenAiToGemini);

void BM_RequestGeminiToOpenAi(benchmark::State& state) {
  const auto encoded = *gemini::EncodeRequest(*openai::DecodeRequest(OpenAiRequest()));
  const gemini::Target target = *gemini::ParseTarget(encoded.path);
  for (auto _ : state) {
    auto req = gemini::DecodeRequest(std::string_view(encoded.body), target);
    auto out = openai::EncodeRequest(*req);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * encoded.body.size()));
  state.counters["request_bytes"] = static_cast<double>(encoded.body.size());
}
BENCHMARK(BM_RequestGeminiToOpenAi);

void BM_ResponseGeminiToOpenAi(benchmark::State& state) {
  const std::string body =
      R"({"candidates":[{"content":{"parts":[{"text":")" + Filler(1000) +
      R"("}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{)"
      R"("promptTokenCount":1050,"candidatesTokenCount":230,"totalTokenCount":1280,)"
      R"("cachedContentTokenCount":1000},"modelVersion":"gemini-2.5-flash",)"
      R"("responseId":"x2Fsaa3eCdKBz7IPkKuL0Q0"})";
  for (auto _ : state) {
    auto resp = gemini::DecodeResponse(body);
    auto out = openai::EncodeResponse(*resp, {.created = 1700000000});
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ResponseGeminiToOpenAi);

// One Gemini text chunk in (a whole GenerateContentResponse), its OpenAI chunk out.
void BM_ChunkGeminiToOpenAi(benchmark::State& state) {
  gemini::StreamDecoder dec;
  openai::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  const std::string chunk =
      R"({"candidates":[{"content":{"parts":[{"text":" the answer"}],"role":"model"},"index":0}],)"
      R"("usageMetadata":{"promptTokenCount":25,"candidatesTokenCount":3,"totalTokenCount":28},)"
      R"("modelVersion":"gemini-2.5-flash","responseId":"x2Fsaa3eCdKBz7IPkKuL0Q0"})";
  (void)dec.Feed(chunk, events);
  for (const auto& ev : events) (void)enc.Encode(ev, out);
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkGeminiToOpenAi);

// One OpenAI text chunk in, its Gemini chunk out.
void BM_ChunkOpenAiToGemini(benchmark::State& state) {
  openai::StreamDecoder dec;
  gemini::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  const std::string first =
      R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,)"
      R"("model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,)"
      R"("delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})";
  const std::string chunk =
      R"({"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,)"
      R"("model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,)"
      R"("delta":{"content":" the answer"},"logprobs":null,"finish_reason":null}]})";
  (void)dec.Feed(first, events);
  (void)dec.Feed(chunk, events);
  for (const auto& ev : events) (void)enc.Encode(ev, out);
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkOpenAiToGemini);

// One Gemini chunk holding a whole function call, out as Anthropic's start + input + stop.
void BM_ChunkGeminiCallToAnthropic(benchmark::State& state) {
  anthropic::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  const std::string chunk =
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":)"
      R"({"location":"Paris, France","unit":"celsius"}}}],"role":"model"},"index":0}],)"
      R"("modelVersion":"gemini-2.5-flash","responseId":"x2Fsaa3eCdKBz7IPkKuL0Q0"})";
  gemini::StreamDecoder dec;
  (void)dec.Feed(chunk, events);  // the first chunk also starts the message
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkGeminiCallToAnthropic);

// ---- OpenAI Responses ------------------------------------------------------------------------

void BM_RequestOpenAiToResponses(benchmark::State& state) {
  const std::string body = OpenAiRequest();
  for (auto _ : state) {
    auto req = openai::DecodeRequest(std::string_view(body));
    auto out = responses::EncodeRequest(*req);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_RequestOpenAiToResponses);

// The same conversation as a Responses body (input items, flat tools) -> Anthropic, with the
// crossing step the gateway runs (PrepareForeign).
void BM_RequestResponsesToAnthropic(benchmark::State& state) {
  const std::string body = *responses::EncodeRequest(*openai::DecodeRequest(OpenAiRequest()));
  for (auto _ : state) {
    auto req = responses::DecodeRequest(std::string_view(body));
    responses::PrepareForeign(*req);
    auto out = anthropic::EncodeRequest(*req);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_RequestResponsesToAnthropic);

// One response.output_text.delta -> an OpenAI chunk.
void BM_ChunkResponsesToOpenAi(benchmark::State& state) {
  responses::StreamDecoder dec;
  openai::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  (void)dec.Feed(R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_1",)"
                 R"("object":"response","created_at":1741290958,"status":"in_progress",)"
                 R"("model":"gpt-4.1","output":[],"usage":null}})",
                 events);
  (void)dec.Feed(R"({"type":"response.content_part.added","item_id":"msg_1","output_index":0,)"
                 R"("content_index":0,"part":{"type":"output_text","text":"","annotations":[]},)"
                 R"("sequence_number":2})",
                 events);
  for (const auto& ev : events) (void)enc.Encode(ev, out);
  const std::string chunk =
      R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":0,)"
      R"("content_index":0,"delta":" the answer","logprobs":[],"sequence_number":3})";
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkResponsesToOpenAi);

// One Anthropic text_delta -> response.output_text.delta (the encoder also appends the delta to
// the item's text, which the .done events need).
void BM_ChunkAnthropicToResponses(benchmark::State& state) {
  anthropic::StreamDecoder dec;
  responses::StreamEncoder enc;
  std::vector<StreamEvent> events;
  std::string out;
  (void)dec.Feed(R"({"type":"message_start","message":{"id":"msg_1","type":"message",)"
                 R"("role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":)"
                 R"(null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}})",
                 events);
  (void)dec.Feed(R"({"type":"content_block_start","index":0,"content_block":{"type":"text",)"
                 R"("text":""}})",
                 events);
  for (const auto& ev : events) (void)enc.Encode(ev, out);
  const std::string chunk =
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the answer"}})";
  for (auto _ : state) {
    events.clear();
    out.clear();
    (void)dec.Feed(chunk, events);
    for (const auto& ev : events) (void)enc.Encode(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ChunkAnthropicToResponses);

}  // namespace

BENCHMARK_MAIN();
