// The official `openai` SDK talks Chat Completions to the gateway, whose backend speaks Anthropic
// Messages (the simulator's /v1/messages). Every request the upstream received is validated
// against Anthropic's CreateMessageParams, every body and stream event the SDK received against
// OpenAI's schemas (exact bytes, recorded by a teeing fetch), and the answer is compared with the
// simulator's own answer to the very request the gateway sent (replayed directly), translated:
// same text, same token counts, same tool ids.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import OpenAI from 'openai';

import { stopAll } from '../harness.mjs';
import { validateOpenAI, validateOpenAIStreamText } from './spec_validate.mjs';
import {
  MODELS, PNG_1x1, TEST_KEY, clearCaptured, expectError, jsonBody, onlyUpstream, recorder, rejectedFixture, replay,
  simPromptTokens, sseText, startStack, upstreamRequests,
} from './xdialect.mjs';

const MODEL = MODELS.anthropic;
const SYSTEM = 'You are a terse assistant.';
const USER = 'Hello from the OpenAI SDK, through Meridian, to an Anthropic upstream';

let sim;
let gw;
let rec;
let client;

before(async () => {
  ({ sim, gw } = await startStack());
  rec = recorder();
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TEST_KEY, maxRetries: 0, timeout: 30_000, fetch: rec.fetch });
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

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  },
};
const weatherInput = { city: 'sim', unit: 'celsius' };   // the simulator's placeholders for `required`

/** Validates the recorded non-streaming answer (exact bytes) and checks the gateway headers. */
async function recordedCompletion() {
  const ex = rec.only();
  assert.equal(ex.status, 200);
  const body = validateOpenAI('CreateChatCompletionResponse', await jsonBody(ex), 'gateway response');
  assert.equal(ex.headers.get('x-meridian-backend'), 'sim-anthropic');
  return body;
}

/** Validates every recorded stream event; returns {chunks, errors, done}. */
async function recordedStream() {
  const ex = rec.only();
  const r = validateOpenAIStreamText(await sseText(ex), 'gateway stream');
  assert.equal(ex.headers.get('x-meridian-backend'), 'sim-anthropic');
  return r;
}

describe('text', () => {
  test('non-streaming: upstream body is the Anthropic form; text, usage and finish equal the upstream answer', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }], max_tokens: 24,
    });
    const raw = await recordedCompletion();

    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up, { model: MODEL, max_tokens: 24, system: SYSTEM, messages: [{ role: 'user', content: USER }] }, 'upstream body');

    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.equal(direct.content.length, 1);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, MODEL);
    assert.equal(completion.choices.length, 1);
    assert.deepEqual(
      { role: completion.choices[0].message.role, content: completion.choices[0].message.content, finish: completion.choices[0].finish_reason },
      { role: 'assistant', content: direct.content[0].text, finish: 'stop' });
    assert.equal(completion.choices[0].message.tool_calls ?? undefined, undefined, 'no tool calls');
    const p = simPromptTokens(SYSTEM, USER);
    assert.equal(direct.usage.input_tokens, p);
    assert.deepEqual(
      { prompt: completion.usage.prompt_tokens, completion: completion.usage.completion_tokens, total: completion.usage.total_tokens },
      { prompt: p, completion: 16, total: p + 16 });
    assert.equal(completion.usage.completion_tokens, direct.usage.output_tokens);
    assert.deepEqual(raw.choices, completion.choices, 'the SDK parsed exactly the recorded body');

    // The simulator gives the same conversation the same answer on its OpenAI route.
    const viaOpenAIRoute = await replay(sim, { model: 'x', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }], max_tokens: 24 }, { path: '/v1/chat/completions' });
    assert.equal(completion.choices[0].message.content, viaOpenAIRoute.choices[0].message.content);
  });

  test('max_tokens below the natural length: finish_reason length, completion_tokens = the cap', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: USER }], max_completion_tokens: 3 });
    await recordedCompletion();
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.equal(up.max_tokens, 3);
    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.equal(direct.stop_reason, 'max_tokens');
    assert.equal(completion.choices[0].finish_reason, 'length');
    assert.equal(completion.choices[0].message.content, direct.content[0].text);
    assert.equal(completion.choices[0].message.content.split(' ').length, 3);
    assert.equal(completion.usage.completion_tokens, 3);
  });

  test('streaming with include_usage: every chunk valid, text and usage equal the upstream answer', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }], max_tokens: 24,
      stream: true, stream_options: { include_usage: true },
    });
    const sdkChunks = [];
    for await (const c of stream) sdkChunks.push(c);
    const { chunks, errors, done } = await recordedStream();
    assert.equal(done, true, 'ends with [DONE]');
    assert.deepEqual(errors, []);
    assert.equal(sdkChunks.length, chunks.length, 'the SDK yielded every chunk');

    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up, { model: MODEL, max_tokens: 24, system: SYSTEM, messages: [{ role: 'user', content: USER }], stream: true });
    const direct = await replay(sim, { ...up, stream: false }, { path: '/v1/messages' });

    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, 'one id for the whole stream');
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, MODEL);
    }
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, direct.content[0].text);
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f != null);
    assert.deepEqual(finishes, ['stop']);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
    assert.deepEqual(
      { p: last.usage.prompt_tokens, c: last.usage.completion_tokens, t: last.usage.total_tokens },
      { p: direct.usage.input_tokens, c: direct.usage.output_tokens, t: direct.usage.input_tokens + direct.usage.output_tokens });
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null, 'other chunks carry usage: null');
  });

  test('streaming without include_usage: no usage anywhere', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: USER }], max_tokens: 24, stream: true });
    for await (const _ of stream) { /* drain */ }
    const { chunks, done } = await recordedStream();
    assert.equal(done, true);
    for (const c of chunks) {
      assert.ok(c.usage == null, `no usage (got ${JSON.stringify(c.usage)})`);
      assert.equal(c.choices.length, 1);
    }
    const up = await onlyUpstream(sim, '/v1/messages');
    const direct = await replay(sim, { ...up, stream: false }, { path: '/v1/messages' });
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), direct.content[0].text);
  });
});

describe('tools', () => {
  const question = { role: 'user', content: 'What is the weather in Paris?' };

  test('round trip: tools + tool_choice go up as Anthropic tools; the tool_use comes back as tool_calls; the result goes up as tool_result', async () => {
    const first = await client.chat.completions.create({ model: MODEL, messages: [question], tools: [weatherTool], tool_choice: 'required', max_tokens: 100 });
    await recordedCompletion();
    const up1 = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up1, {
      model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: question.content }],
      tools: [{ name: 'get_weather', description: 'Current weather in a city', input_schema: weatherTool.function.parameters }],
      tool_choice: { type: 'any' },
    });
    const direct1 = await replay(sim, up1, { path: '/v1/messages' });
    assert.equal(direct1.content[0].type, 'tool_use');

    const msg = first.choices[0].message;
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, null);
    assert.equal(msg.tool_calls.length, 1);
    const call = msg.tool_calls[0];
    assert.equal(call.id, direct1.content[0].id, 'the tool_use id, verbatim');
    assert.match(call.id, /^toolu_sim_[0-9a-f]{16}$/);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), weatherInput);
    assert.equal(first.usage.completion_tokens, direct1.usage.output_tokens);
    assert.equal(first.usage.prompt_tokens, direct1.usage.input_tokens);

    rec.clear();
    const second = await client.chat.completions.create({
      model: MODEL, max_tokens: 100, tools: [weatherTool], tool_choice: 'auto',
      messages: [question, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' }],
    });
    await recordedCompletion();
    const up2 = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up2.messages, [
      { role: 'user', content: question.content },
      { role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: weatherInput }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '{"temp_c":21}' }] },
    ]);
    assert.deepEqual(up2.tool_choice, { type: 'auto' });
    const direct2 = await replay(sim, up2, { path: '/v1/messages' });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.equal(second.choices[0].message.content, direct2.content[0].text);
    assert.equal(second.usage.prompt_tokens, direct2.usage.input_tokens);
  });

  test('a named tool_choice and parallel_tool_calls: false', async () => {
    const res = await client.chat.completions.create({
      model: MODEL, messages: [question], max_tokens: 50, parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'noop', parameters: { type: 'object', properties: {} } } }, weatherTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    await recordedCompletion();
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up.tool_choice, { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true });
    assert.deepEqual(up.tools.map((t) => t.name), ['noop', 'get_weather']);
    assert.equal(res.choices[0].message.tool_calls[0].function.name, 'get_weather');
  });

  test('streamed tool call: id and name first, then argument fragments that concatenate to the input', async () => {
    const runner = client.chat.completions.stream({ model: MODEL, messages: [question], tools: [weatherTool], tool_choice: 'required', max_tokens: 100 });
    const final = await runner.finalChatCompletion();
    const { chunks, done } = await recordedStream();
    assert.equal(done, true);
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.equal(up.stream, true);
    const direct = await replay(sim, { ...up, stream: false }, { path: '/v1/messages' });

    const deltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta?.tool_calls ?? []));
    assert.ok(deltas.length >= 2, `several tool-call deltas (got ${deltas.length})`);
    assert.deepEqual({ index: deltas[0].index, id: deltas[0].id, type: deltas[0].type, name: deltas[0].function.name },
      { index: 0, id: direct.content[0].id, type: 'function', name: 'get_weather' });
    for (const d of deltas.slice(1)) {
      assert.equal(d.index, 0);
      assert.equal(d.id, undefined, 'only the first delta carries the id');
    }
    const args = deltas.map((d) => d.function?.arguments ?? '').join('');
    assert.deepEqual(JSON.parse(args), weatherInput);
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f != null);
    assert.deepEqual(finishes, ['tool_calls']);
    // What the SDK assembled from the stream:
    assert.equal(final.choices[0].message.tool_calls[0].id, direct.content[0].id);
    assert.deepEqual(JSON.parse(final.choices[0].message.tool_calls[0].function.arguments), weatherInput);
  });
});

describe('inputs and formats', () => {
  test('image input: a data URL becomes a base64 image block, an https URL a url source', async () => {
    const res = await client.chat.completions.create({
      model: MODEL, max_tokens: 20,
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'What is in these images?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1x1}` } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'low' } },
      ] }],
    });
    await recordedCompletion();
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up.messages, [{ role: 'user', content: [
      { type: 'text', text: 'What is in these images?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1x1 } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ] }]);
    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.equal(res.choices[0].message.content, direct.content[0].text);
    assert.equal(res.usage.prompt_tokens, simPromptTokens('What is in these images?'));
  });

  test('response_format json_schema becomes output_config.format (name and strict dropped)', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
    const res = await client.chat.completions.create({
      model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'Weather in Oslo as JSON.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } },
    });
    await recordedCompletion();
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up.output_config, { format: { type: 'json_schema', schema } });
    assert.equal(up.response_format, undefined);
    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.equal(res.choices[0].message.content, direct.content[0].text);
  });

  test('prompt_cache_breakpoint becomes cache_control: ephemeral', async () => {
    const res = await client.chat.completions.create({
      model: MODEL, max_tokens: 20,
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'A long, cacheable system prompt.', prompt_cache_breakpoint: { mode: 'explicit' } }] },
        { role: 'user', content: USER },
      ],
    });
    await recordedCompletion();
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up.system, [{ type: 'text', text: 'A long, cacheable system prompt.', cache_control: { type: 'ephemeral' } }]);
    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.equal(res.choices[0].message.content, direct.content[0].text);
    assert.equal(res.usage.prompt_tokens_details?.cached_tokens ?? 0, direct.usage.cache_read_input_tokens);
  });
});

describe('errors', () => {
  const req = { model: MODEL, messages: [{ role: 'user', content: USER }], max_tokens: 24 };

  /** The recorded error bodies: the last one validated against OpenAI's ErrorResponse. */
  async function recordedError(status) {
    const ex = rec.exchanges.at(-1);
    assert.equal(ex.status, status);
    return validateOpenAI('ErrorResponse', await jsonBody(ex), `gateway ${status}`).error;
  }

  /** Upstream requests made for a faulted call: all validated, as many as x-meridian-attempts says. */
  async function attemptsMatch() {
    const ups = await upstreamRequests(sim);
    assert.ok(ups.length >= 1, 'the upstream was called');
    for (const u of ups) assert.equal(u.path, '/v1/messages');
    const attempts = rec.exchanges.at(-1).headers.get('x-meridian-attempts');
    if (attempts !== null) assert.equal(Number(attempts), ups.length, 'x-meridian-attempts = upstream calls');
    return ups;
  }

  test('upstream 429 → RateLimitError with retry-after', async () => {
    const err = await expectError(() => client.chat.completions.create(req, { headers: { 'x-sim-fault': '429', 'x-sim-retry-after': '7' } }), OpenAI.RateLimitError);
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '7');
    const body = await recordedError(429);
    assert.deepEqual({ type: body.type, code: body.code }, { type: 'requests', code: 'rate_limit_exceeded' });
    assert.equal(err.code, 'rate_limit_exceeded');
    await attemptsMatch();
  });

  test('upstream 500 → InternalServerError (500, server_error)', async () => {
    const err = await expectError(() => client.chat.completions.create(req, { headers: { 'x-sim-fault': '500' } }), OpenAI.InternalServerError);
    assert.equal(err.status, 500);
    assert.equal((await recordedError(500)).type, 'server_error');
    await attemptsMatch();
  });

  test('upstream 503 → InternalServerError (503)', async () => {
    const err = await expectError(() => client.chat.completions.create(req, { headers: { 'x-sim-fault': '503', 'x-sim-retry-after': '1' } }), OpenAI.InternalServerError);
    assert.equal(err.status, 503);
    assert.equal((await recordedError(503)).type, 'server_error');
  });

  test('upstream 529 overloaded_error → 503 server_error, code overloaded (docs/dialects.md)', async () => {
    const err = await expectError(() => client.chat.completions.create(req, { headers: { 'x-sim-fault': 'overloaded', 'x-sim-retry-after': '1' } }), OpenAI.InternalServerError);
    assert.equal(err.status, 503);
    const body = await recordedError(503);
    assert.deepEqual({ type: body.type, code: body.code }, { type: 'server_error', code: 'overloaded' });
    assert.equal(err.headers.get('retry-after'), '1');
  });

  test('an error in the middle of the stream: valid chunks, then an OpenAI error event the SDK raises', async () => {
    const stream = await client.chat.completions.create({ ...req, stream: true }, { headers: { 'x-sim-fault': 'error-during' } });
    const got = [];
    const err = await expectError(async () => { for await (const c of stream) got.push(c); }, OpenAI.APIError);
    assert.match(err.message, /overload/i);
    const { chunks, errors, done } = validateOpenAIStreamText(await rec.only().text, 'gateway stream');
    assert.equal(done, false, 'no [DONE] after an error');
    assert.equal(errors.length, 1);
    assert.deepEqual({ type: errors[0].error.type, code: errors[0].error.code }, { type: 'server_error', code: 'overloaded' });
    assert.ok(chunks.length >= 2, 'the chunks before the error arrived');
    assert.equal(got.length, chunks.length);
  });

  test('a wrong gateway key → AuthenticationError; nothing reaches the upstream', async () => {
    const bad = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0, fetch: rec.fetch });
    const err = await expectError(() => bad.chat.completions.create(req), OpenAI.AuthenticationError);
    assert.equal(err.status, 401);
    const body = await recordedError(401);
    assert.equal(body.code, 'invalid_api_key');
    assert.deepEqual(await upstreamRequests(sim), []);
  });

  // The exact 400s the codec contract promises (tests/fixtures/dialect/requests_rejected/).
  for (const name of ['seed_to_anthropic', 'n_to_anthropic', 'logit_bias_to_anthropic', 'json_object_to_anthropic', 'message_name_to_anthropic']) {
    test(`a field Anthropic cannot express (${name}) → BadRequestError naming it; nothing reaches the upstream`, async () => {
      const fx = rejectedFixture(name);
      assert.deepEqual([fx.from, fx.to], ['openai', 'anthropic']);
      const err = await expectError(() => client.chat.completions.create({ ...fx.input, model: MODEL }), OpenAI.BadRequestError);
      assert.equal(err.status, 400);
      const body = await recordedError(400);
      assert.deepEqual({ type: body.type, param: body.param, message: body.message }, { type: 'invalid_request_error', param: fx.param, message: fx.message });
      assert.equal(err.param, fx.param, 'the SDK exposes the param');
      assert.deepEqual(await upstreamRequests(sim), []);
    });
  }
});
