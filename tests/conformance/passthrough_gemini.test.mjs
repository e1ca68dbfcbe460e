// Smaller smoke cases: the Anthropic SDK through the gateway to an Anthropic-dialect upstream
// (same dialect: the upstream must receive what the SDK sent, and the SDK must get what the
// upstream answered), the OpenAI SDK to a Gemini-dialect upstream (plain and streaming), and a
// Gemini client (plain fetch: no Gemini SDK is installed) to an Anthropic-dialect upstream.
// There is no Gemini schema in ../shared/specs: Gemini upstream bodies are checked field by
// field against the documented mapping (docs/dialects.md), client bodies against OpenAI's schemas.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { stopAll } from '../harness.mjs';
import {
  parseSseText, validateAnthropic, validateAnthropicStreamText, validateOpenAI, validateOpenAIStreamText,
} from './spec_validate.mjs';
import {
  MODELS, TEST_KEY, anthropicEvents, clearCaptured, expectError, jsonBody, onlyUpstream, recorder, replay, simDirect,
  simPromptTokens, sseText, startStack, upstreamRequests,
} from './xdialect.mjs';

const SYSTEM = 'You are a terse assistant.';
const USER = 'Hello from a smoke test of Meridian';

let sim;
let gw;
let rec;
let anthropic;
let openai;

before(async () => {
  ({ sim, gw } = await startStack());
  rec = recorder();
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: TEST_KEY, maxRetries: 0, timeout: 30_000, fetch: rec.fetch });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TEST_KEY, maxRetries: 0, timeout: 30_000, fetch: rec.fetch });
});

after(async () => {
  await stopAll();
});

beforeEach(async () => {
  rec.clear();
  await clearCaptured(sim);
});

// Whatever else the gateway sent upstream during the test (retries included) must be valid too.
afterEach(async () => {
  await upstreamRequests(sim);
});

describe('Anthropic SDK → Anthropic upstream (same dialect)', () => {
  const MODEL = MODELS.anthropic;

  test('create: the upstream gets the SDK\'s body; the SDK gets the upstream\'s answer', async () => {
    const params = {
      model: MODEL, max_tokens: 24, system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: USER, cache_control: { type: 'ephemeral' } }] }],
      metadata: { user_id: 'u-1' }, temperature: 0.5,
    };
    const msg = await anthropic.messages.create(params);
    const ex = rec.only();
    assert.equal(ex.status, 200, await ex.text);
    const raw = validateAnthropic('Message', await jsonBody(ex), 'gateway response');
    assert.equal(ex.headers.get('x-meridian-backend'), 'sim-anthropic');

    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up, params, 'the upstream body is the SDK body (cache_control kept)');
    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.deepEqual(raw, direct, 'the SDK got the upstream answer');
    assert.equal(msg.content[0].text, direct.content[0].text);
    assert.equal(msg.usage.input_tokens, simPromptTokens(SYSTEM, USER));
  });

  test('messages.stream(): every event valid; the same events the upstream streams', async () => {
    const params = { model: MODEL, max_tokens: 24, system: SYSTEM, messages: [{ role: 'user', content: USER }] };
    const stream = anthropic.messages.stream(params);
    const final = await stream.finalMessage();
    const events = validateAnthropicStreamText(await sseText(rec.only()), 'gateway stream');
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up, { ...params, stream: true });
    const direct = await simDirect(sim, '/v1/messages', up);
    await clearCaptured(sim);
    const upstreamEvents = anthropicEvents(direct.text);
    assert.deepEqual(events.filter((e) => e.event !== 'ping').map((e) => e.data), upstreamEvents.filter((e) => e.event !== 'ping').map((e) => e.data));
    assert.equal(final.content[0].text, upstreamEvents.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text).join(''));
  });

  test('count_tokens: the upstream\'s exact count', async () => {
    const params = { model: MODEL, system: SYSTEM, messages: [{ role: 'user', content: USER }] };
    const count = await anthropic.messages.countTokens(params);
    const ex = rec.only();
    assert.equal(ex.status, 200, await ex.text);
    validateAnthropic('BetaCountMessageTokensResponse', await jsonBody(ex));
    const up = await onlyUpstream(sim, '/v1/messages/count_tokens');
    assert.deepEqual(up, params);
    assert.deepEqual(count, { input_tokens: simPromptTokens(SYSTEM, USER) });
  });

  test('upstream 529 → OverloadedError with the upstream\'s body and retry-after', async () => {
    const err = await expectError(() => anthropic.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: USER }] },
      { headers: { 'x-sim-fault': 'overloaded', 'x-sim-retry-after': '2' } }), Anthropic.OverloadedError);
    assert.equal(err.status, 529);
    assert.equal(err.headers.get('retry-after'), '2');
    const body = validateAnthropic('ErrorResponse', await jsonBody(rec.exchanges.at(-1)), 'gateway 529');
    assert.equal(body.error.type, 'overloaded_error');
  });
});

describe('OpenAI SDK → Gemini upstream', () => {
  const MODEL = MODELS.gemini;
  const messages = [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }];

  test('plain: generateContent with systemInstruction; text and usage equal the upstream answer', async () => {
    const completion = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 24 });
    const ex = rec.only();
    assert.equal(ex.status, 200, await ex.text);
    validateOpenAI('CreateChatCompletionResponse', await jsonBody(ex), 'gateway response');
    assert.equal(ex.headers.get('x-meridian-backend'), 'sim-gemini');

    const up = await onlyUpstream(sim, `/v1beta/models/${MODEL}:generateContent`);
    assert.deepEqual(up, {
      systemInstruction: { parts: [{ text: SYSTEM }] },
      contents: [{ role: 'user', parts: [{ text: USER }] }],
      generationConfig: { maxOutputTokens: 24 },
    });
    const direct = await replay(sim, up, { path: `/v1beta/models/${MODEL}:generateContent` });
    const cand = direct.candidates[0];
    assert.equal(completion.id, direct.responseId);
    assert.equal(completion.model, MODEL);
    assert.equal(completion.choices[0].message.content, cand.content.parts.map((p) => p.text).join(''));
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.deepEqual(
      { p: completion.usage.prompt_tokens, c: completion.usage.completion_tokens, t: completion.usage.total_tokens },
      { p: direct.usageMetadata.promptTokenCount, c: direct.usageMetadata.candidatesTokenCount, t: direct.usageMetadata.totalTokenCount });
    assert.equal(completion.usage.prompt_tokens, simPromptTokens(SYSTEM, USER));
    // Same conversation, same answer on the simulator's OpenAI route.
    const viaChat = await replay(sim, { model: 'x', messages, max_tokens: 24 }, { path: '/v1/chat/completions' });
    assert.equal(completion.choices[0].message.content, viaChat.choices[0].message.content);
  });

  test('stream: streamGenerateContent (SSE); every chunk valid, text and usage equal the upstream answer', async () => {
    const stream = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 24, stream: true, stream_options: { include_usage: true } });
    const sdkChunks = [];
    for await (const c of stream) sdkChunks.push(c);
    const ex = rec.only();
    const { chunks, done } = validateOpenAIStreamText(await sseText(ex), 'gateway stream');
    assert.equal(done, true);
    assert.equal(sdkChunks.length, chunks.length);
    assert.equal(ex.headers.get('x-meridian-backend'), 'sim-gemini');

    const up = await onlyUpstream(sim, `/v1beta/models/${MODEL}:streamGenerateContent`);
    assert.deepEqual(up.contents, [{ role: 'user', parts: [{ text: USER }] }]);
    const direct = await replay(sim, up, { path: `/v1beta/models/${MODEL}:generateContent` });
    const text = direct.candidates[0].content.parts.map((p) => p.text).join('');
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), text);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.deepEqual(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f != null), ['stop']);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual({ p: last.usage.prompt_tokens, c: last.usage.completion_tokens },
      { p: direct.usageMetadata.promptTokenCount, c: direct.usageMetadata.candidatesTokenCount });
  });

  test('tool call: functionDeclarations up, functionCall back as tool_calls', async () => {
    const tool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
    const completion = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [tool], tool_choice: 'required', max_tokens: 50 });
    validateOpenAI('CreateChatCompletionResponse', await jsonBody(rec.only()));
    const up = await onlyUpstream(sim, `/v1beta/models/${MODEL}:generateContent`);
    assert.deepEqual(up.tools, [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: tool.function.parameters }] }]);
    assert.deepEqual(up.toolConfig, { functionCallingConfig: { mode: 'ANY' } });
    assert.equal(completion.choices[0].finish_reason, 'tool_calls');
    const call = completion.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'sim' });
    assert.equal(call.id, `call_${completion.id}_0`, 'rule G2: call_<responseId>_<n>');
  });
});

describe('a Gemini client (plain fetch, x-goog-api-key) → Anthropic upstream', () => {
  const path = (m) => `/v1beta/models/${MODELS.anthropic}:${m}`;
  const body = {
    systemInstruction: { parts: [{ text: SYSTEM }] },
    contents: [{ role: 'user', parts: [{ text: USER }] }],
    generationConfig: { maxOutputTokens: 24 },
  };
  const post = (p) => fetch(`${gw.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': TEST_KEY }, body: JSON.stringify(body) });

  test('generateContent: the upstream gets CreateMessageParams; candidates, finishReason and usage equal its answer', async () => {
    const res = await post(path('generateContent'));
    const got = await res.json();
    assert.equal(res.status, 200, JSON.stringify(got));
    assert.equal(res.headers.get('x-meridian-backend'), 'sim-anthropic');
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up, { model: MODELS.anthropic, max_tokens: 24, system: SYSTEM, messages: [{ role: 'user', content: USER }] });
    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.equal(got.responseId, direct.id);
    assert.equal(got.modelVersion, MODELS.anthropic);
    assert.equal(got.candidates.length, 1);
    assert.deepEqual(got.candidates[0].content, { role: 'model', parts: [{ text: direct.content[0].text }] });
    assert.equal(got.candidates[0].finishReason, 'STOP');
    assert.deepEqual(got.usageMetadata, {
      promptTokenCount: direct.usage.input_tokens, candidatesTokenCount: direct.usage.output_tokens,
      totalTokenCount: direct.usage.input_tokens + direct.usage.output_tokens,
    });
  });

  test('streamGenerateContent?alt=sse: data-only events whose text concatenates to the answer; the last has finishReason and usage', async () => {
    const res = await post(`${path('streamGenerateContent')}?alt=sse`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = parseSseText(await res.text());
    assert.ok(events.length >= 2);
    for (const e of events) assert.equal(e.event, undefined, 'Gemini events have no event: line');
    const chunks = events.map((e) => JSON.parse(e.data));
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.equal(up.stream, true);
    const direct = await replay(sim, { ...up, stream: false }, { path: '/v1/messages' });
    const text = chunks.flatMap((c) => c.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('');
    assert.equal(text, direct.content[0].text);
    const last = chunks.at(-1);
    assert.equal(last.candidates[0].finishReason, 'STOP');
    assert.equal(last.usageMetadata.promptTokenCount, direct.usage.input_tokens);
    assert.equal(last.usageMetadata.candidatesTokenCount, direct.usage.output_tokens);
    assert.equal(chunks.filter((c) => c.candidates?.[0]?.finishReason).length, 1, 'one chunk finishes');
  });
});
