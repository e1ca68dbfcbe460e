// The official `@anthropic-ai/sdk` talks Messages to the gateway, whose backend speaks OpenAI
// Chat Completions (the simulator's /v1/chat/completions). Every request the upstream received
// is validated against OpenAI's CreateChatCompletionRequest, every body and stream event the SDK
// received against Anthropic's schemas (exact bytes, recorded by a teeing fetch), and the answer
// is compared with the simulator's answer to the very request the gateway sent, replayed.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import { stopAll } from '../harness.mjs';
import { validateAnthropic, validateAnthropicStreamText } from './spec_validate.mjs';
import {
  MODELS, PNG_1x1, TEST_KEY, clearCaptured, expectError, jsonBody, onlyUpstream, recorder, rejectedFixture, replay,
  simPromptTokens, sseText, startStack, upstreamRequests,
} from './xdialect.mjs';

const MODEL = MODELS.openai;
const SYSTEM = 'You are a terse assistant.';
const USER = 'Hello from the Anthropic SDK, through Meridian, to an OpenAI upstream';

let sim;
let gw;
let rec;
let client;

function anthropicClient(opts = {}) {
  return new Anthropic({ baseURL: gw.url, apiKey: TEST_KEY, maxRetries: 0, timeout: 30_000, fetch: rec.fetch, ...opts });
}

before(async () => {
  ({ sim, gw } = await startStack());
  rec = recorder();
  client = anthropicClient();
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
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
  },
};
const weatherInput = { city: 'sim', unit: 'celsius' };

async function recordedMessage() {
  const ex = rec.only();
  assert.equal(ex.status, 200);
  const body = validateAnthropic('Message', await jsonBody(ex), 'gateway response');
  assert.equal(ex.headers.get('x-meridian-backend'), 'sim-openai');
  return body;
}

async function recordedEvents() {
  const ex = rec.only();
  const events = validateAnthropicStreamText(await sseText(ex), 'gateway stream');
  assert.equal(ex.headers.get('x-meridian-backend'), 'sim-openai');
  return events;
}

/** The Anthropic event sequence rules: start, blocks opened/closed in order, one delta, stop. */
function assertEventGrammar(events) {
  const names = events.map((e) => e.event).filter((n) => n !== 'ping');
  assert.equal(names[0], 'message_start');
  assert.equal(names.at(-1), 'message_stop');
  assert.equal(names.at(-2), 'message_delta');
  assert.equal(names.filter((n) => n === 'message_delta').length, 1, 'one message_delta');
  let open = null;
  let next = 0;
  for (const { event, data } of events) {
    if (event === 'content_block_start') {
      assert.equal(open, null, 'blocks do not nest');
      assert.equal(data.index, next, 'block indexes count up from 0');
      open = data.index;
    } else if (event === 'content_block_delta') {
      assert.equal(data.index, open, 'deltas go to the open block');
    } else if (event === 'content_block_stop') {
      assert.equal(data.index, open);
      open = null;
      next++;
    } else if (event === 'message_delta') {
      assert.equal(open, null, 'every block closed before message_delta');
    }
  }
}

describe('text', () => {
  test('non-streaming: upstream body is the OpenAI form; text, usage and stop reason equal the upstream answer', async () => {
    const msg = await client.messages.create({ model: MODEL, max_tokens: 24, system: SYSTEM, messages: [{ role: 'user', content: USER }] });
    const raw = await recordedMessage();

    const up = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up, { model: MODEL, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }], max_completion_tokens: 24 });
    const direct = await replay(sim, up, { path: '/v1/chat/completions' });

    assert.deepEqual(raw, msg, 'the SDK parsed exactly the recorded body');
    const p = simPromptTokens(SYSTEM, USER);
    assert.deepEqual(msg, {
      id: direct.id, type: 'message', role: 'assistant', model: MODEL,
      content: [{ type: 'text', text: direct.choices[0].message.content }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: p, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 16 },
    });
    // The simulator's Anthropic route gives the same conversation the same text.
    const viaMessages = await replay(sim, { model: 'x', max_tokens: 24, system: SYSTEM, messages: [{ role: 'user', content: USER }] }, { path: '/v1/messages' });
    assert.equal(msg.content[0].text, viaMessages.content[0].text);
  });

  test('max_tokens below the natural length: stop_reason max_tokens', async () => {
    const msg = await client.messages.create({ model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: USER }] });
    await recordedMessage();
    const up = await onlyUpstream(sim, '/v1/chat/completions');
    assert.equal(up.max_completion_tokens, 3);
    const direct = await replay(sim, up, { path: '/v1/chat/completions' });
    assert.equal(direct.choices[0].finish_reason, 'length');
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.content[0].text, direct.choices[0].message.content);
    assert.equal(msg.usage.output_tokens, 3);
  });

  test('messages.stream(): message_start … message_stop, every event valid, final message equals the upstream answer', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 24, system: SYSTEM, messages: [{ role: 'user', content: USER }] });
    const seen = [];
    for await (const ev of stream) seen.push(ev.type);
    const final = await stream.finalMessage();
    const events = await recordedEvents();
    assert.deepEqual(seen, events.map((e) => e.data.type), 'the SDK saw every event');
    assertEventGrammar(events);

    const up = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up, {
      model: MODEL, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }], max_completion_tokens: 24,
      stream: true, stream_options: { include_usage: true },
    });
    const direct = await replay(sim, { ...up, stream: false, stream_options: undefined }, { path: '/v1/chat/completions' });
    const text = direct.choices[0].message.content;

    const names = events.map((e) => e.event).filter((n) => n !== 'ping');
    const words = text.split(' ').length;
    assert.deepEqual(names, ['message_start', 'content_block_start', ...Array(words).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(events[0].data.message.id, direct.id);
    assert.equal(events[0].data.message.model, MODEL);
    const md = events.find((e) => e.event === 'message_delta').data;
    assert.deepEqual(md.delta, { stop_reason: 'end_turn', stop_sequence: null });
    assert.equal(md.usage.output_tokens, direct.usage.completion_tokens);
    assert.equal(md.usage.input_tokens, direct.usage.prompt_tokens, 'message_delta carries the input tokens OpenAI reports at the end');

    assert.deepEqual(final.content.map((b) => ({ type: b.type, text: b.text })), [{ type: 'text', text }]);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.output_tokens, direct.usage.completion_tokens);
    assert.equal(final.usage.input_tokens, direct.usage.prompt_tokens, 'input tokens reach the final message');
  });
});

describe('tools', () => {
  const question = { role: 'user', content: 'What is the weather in Paris?' };

  test('round trip: tools + tool_choice go up as OpenAI functions; tool_calls come back as tool_use; tool_result goes up as a tool message', async () => {
    const first = await client.messages.create({ model: MODEL, max_tokens: 100, messages: [question], tools: [weatherTool], tool_choice: { type: 'any' } });
    await recordedMessage();
    const up1 = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up1, {
      model: MODEL, messages: [question], max_completion_tokens: 100,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: weatherTool.input_schema } }],
      tool_choice: 'required',
    });
    const direct1 = await replay(sim, up1, { path: '/v1/chat/completions' });
    const call = direct1.choices[0].message.tool_calls[0];
    assert.match(call.id, /^call_sim_[0-9a-f]{16}$/);

    assert.equal(first.stop_reason, 'tool_use');
    assert.deepEqual(first.content, [{ type: 'tool_use', id: call.id, name: 'get_weather', input: weatherInput }]);
    assert.equal(first.usage.output_tokens, direct1.usage.completion_tokens);

    rec.clear();
    const second = await client.messages.create({
      model: MODEL, max_tokens: 100, tools: [weatherTool],
      messages: [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '21 degrees' }] }],
    });
    await recordedMessage();
    const up2 = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up2.messages, [
      question,
      { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify(weatherInput) } }] },
      { role: 'tool', tool_call_id: call.id, content: '21 degrees' },
    ]);
    const direct2 = await replay(sim, up2, { path: '/v1/chat/completions' });
    assert.equal(second.stop_reason, 'end_turn');
    assert.deepEqual(second.content, [{ type: 'text', text: direct2.choices[0].message.content }]);
  });

  test('tool_choice tool + disable_parallel_tool_use, and an is_error result', async () => {
    const msg = await client.messages.create({
      model: MODEL, max_tokens: 50, tools: [{ name: 'noop', input_schema: { type: 'object', properties: {} } }, weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true }, messages: [question],
    });
    await recordedMessage();
    const up = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(up.parallel_tool_calls, false);
    assert.equal(msg.content[0].name, 'get_weather');

    rec.clear();
    await clearCaptured(sim);
    await client.messages.create({
      model: MODEL, max_tokens: 50, tools: [weatherTool],
      messages: [question, { role: 'assistant', content: msg.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: msg.content[0].id, content: 'city not found', is_error: true }] }],
    });
    await recordedMessage();
    const up2 = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up2.messages.at(-1), { role: 'tool', tool_call_id: msg.content[0].id, content: 'Error: city not found' });
  });

  test('streamed tool use: content_block_start tool_use, input_json_delta fragments, stop_reason tool_use', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: [question], tools: [weatherTool], tool_choice: { type: 'any' } });
    const final = await stream.finalMessage();
    const events = await recordedEvents();
    assertEventGrammar(events);
    const up = await onlyUpstream(sim, '/v1/chat/completions');
    const direct = await replay(sim, { ...up, stream: false, stream_options: undefined }, { path: '/v1/chat/completions' });
    const call = direct.choices[0].message.tool_calls[0];

    const start = events.find((e) => e.event === 'content_block_start').data;
    assert.deepEqual(start, { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: call.id, name: 'get_weather', input: {} } });
    const fragments = events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta);
    assert.ok(fragments.length >= 2, `several fragments (got ${fragments.length})`);
    for (const f of fragments) assert.equal(f.type, 'input_json_delta');
    assert.deepEqual(JSON.parse(fragments.map((f) => f.partial_json).join('')), weatherInput);
    assert.equal(events.find((e) => e.event === 'message_delta').data.delta.stop_reason, 'tool_use');
    assert.deepEqual(final.content, [{ type: 'tool_use', id: call.id, name: 'get_weather', input: weatherInput }]);
  });
});

describe('inputs and formats', () => {
  test('a base64 image block becomes a data-URL image part', async () => {
    const msg = await client.messages.create({
      model: MODEL, max_tokens: 20,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1x1 } }, { type: 'text', text: 'What is this?' }] }],
    });
    await recordedMessage();
    const up = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up.messages, [{ role: 'user', content: [
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1x1}` } },
      { type: 'text', text: 'What is this?' },
    ] }]);
    const direct = await replay(sim, up, { path: '/v1/chat/completions' });
    assert.equal(msg.content[0].text, direct.choices[0].message.content);
  });

  test('output_config.format becomes response_format json_schema (name "response", strict)', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
    await client.messages.create({
      model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'Weather in Oslo as JSON.' }],
      output_config: { format: { type: 'json_schema', schema } },
    });
    await recordedMessage();
    const up = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up.response_format, { type: 'json_schema', json_schema: { name: 'response', schema, strict: true } });
  });

  test('cache_control survives as prompt_cache_breakpoint where OpenAI can express it, and is dropped where not', async () => {
    const msg = await client.messages.create({
      model: MODEL, max_tokens: 20,
      system: [{ type: 'text', text: 'You analyse contracts.' }, { type: 'text', text: 'The long contract text.', cache_control: { type: 'ephemeral' } }],
      tools: [{ ...weatherTool, cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'List the parties.', cache_control: { type: 'ephemeral', ttl: '1h' } }] }],
    });
    await recordedMessage();
    const up = await onlyUpstream(sim, '/v1/chat/completions');
    assert.deepEqual(up.messages, [
      { role: 'system', content: [{ type: 'text', text: 'You analyse contracts.' }, { type: 'text', text: 'The long contract text.', prompt_cache_breakpoint: { mode: 'explicit' } }] },
      { role: 'user', content: [{ type: 'text', text: 'List the parties.', prompt_cache_breakpoint: { mode: 'explicit' } }] },
    ]);
    assert.deepEqual(up.tools, [{ type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: weatherTool.input_schema } }], 'the tool marker is dropped (rule D2)');
    const direct = await replay(sim, up, { path: '/v1/chat/completions' });
    assert.equal(msg.content[0].text, direct.choices[0].message.content);
    assert.equal(msg.usage.cache_read_input_tokens, direct.usage.prompt_tokens_details.cached_tokens);
  });

  test('count_tokens: a valid, deterministic count made by the gateway, nothing generated upstream', async () => {
    const params = { model: MODEL, system: SYSTEM, messages: [{ role: 'user', content: USER }] };
    const count = await client.messages.countTokens(params);
    const ex = rec.only();
    assert.equal(ex.status, 200, await ex.text);
    validateAnthropic('BetaCountMessageTokensResponse', await jsonBody(ex), 'count_tokens response');
    assert.ok(Number.isInteger(count.input_tokens) && count.input_tokens > 0, `input_tokens ${count.input_tokens}`);
    assert.deepEqual(await upstreamRequests(sim), [], 'OpenAI has no count endpoint: counted by the gateway, nothing generated upstream');
    assert.match(ex.headers.get('x-meridian-token-count') ?? 'local-estimate', /^local-(estimate|exact)$/);
    // More text, more tokens.
    const longer = await client.messages.countTokens({ ...params, messages: [{ role: 'user', content: `${USER} ${USER} ${USER}` }] });
    assert.ok(longer.input_tokens > count.input_tokens, `${longer.input_tokens} > ${count.input_tokens}`);
    // Counting is deterministic.
    rec.clear();
    assert.equal((await client.messages.countTokens(params)).input_tokens, count.input_tokens);
  });
});

describe('errors', () => {
  const req = { model: MODEL, max_tokens: 24, messages: [{ role: 'user', content: USER }] };

  async function recordedError(status) {
    const ex = rec.exchanges.at(-1);
    assert.equal(ex.status, status);
    const body = validateAnthropic('ErrorResponse', await jsonBody(ex), `gateway ${status}`);
    assert.equal(body.type, 'error');
    return body.error;
  }

  test('upstream 429 → RateLimitError (rate_limit_error) with retry-after', async () => {
    const err = await expectError(() => client.messages.create(req, { headers: { 'x-sim-fault': '429', 'x-sim-retry-after': '7' } }), Anthropic.RateLimitError);
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '7');
    assert.equal((await recordedError(429)).type, 'rate_limit_error');
    const ups = await upstreamRequests(sim);
    assert.ok(ups.length >= 1);
  });

  test('upstream 503 overloaded → OverloadedError (529, overloaded_error)', async () => {
    const err = await expectError(() => client.messages.create(req, { headers: { 'x-sim-fault': 'overloaded', 'x-sim-retry-after': '1' } }), Anthropic.OverloadedError);
    assert.equal(err.status, 529);
    assert.equal((await recordedError(529)).type, 'overloaded_error');
  });

  test('upstream 503 → ServiceUnavailableError (503, api_error)', async () => {
    const err = await expectError(() => client.messages.create(req, { headers: { 'x-sim-fault': '503', 'x-sim-retry-after': '1' } }), Anthropic.ServiceUnavailableError);
    assert.equal(err.status, 503);
    assert.equal((await recordedError(503)).type, 'api_error');
  });

  test('upstream 500 → InternalServerError (500, api_error)', async () => {
    const err = await expectError(() => client.messages.create(req, { headers: { 'x-sim-fault': '500' } }), Anthropic.InternalServerError);
    assert.equal(err.status, 500);
    assert.equal((await recordedError(500)).type, 'api_error');
  });

  test('an error in the middle of the stream: an error event the SDK raises, after valid events', async () => {
    const stream = client.messages.stream(req, { headers: { 'x-sim-fault': 'error-during' } });
    const err = await expectError(() => stream.finalMessage(), Anthropic.APIError);
    assert.match(String(err.message), /overloaded/i);
    const events = validateAnthropicStreamText(await rec.only().text, 'gateway stream');
    assert.equal(events[0].event, 'message_start');
    const last = events.at(-1);
    assert.equal(last.event, 'error');
    assert.equal(last.data.error.type, 'overloaded_error');
    assert.ok(events.some((e) => e.event === 'content_block_delta'), 'deltas before the error');
  });

  test('a wrong gateway key → AuthenticationError (authentication_error); nothing reaches the upstream', async () => {
    const err = await expectError(() => anthropicClient({ apiKey: 'sk-wrong' }).messages.create(req), Anthropic.AuthenticationError);
    assert.equal(err.status, 401);
    assert.equal((await recordedError(401)).type, 'authentication_error');
    assert.deepEqual(await upstreamRequests(sim), []);
  });

  test('the key in x-api-key (no Authorization) is accepted', async () => {
    const c = anthropicClient({ apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': TEST_KEY } });
    const msg = await c.messages.create(req);
    const ex = rec.only();
    assert.equal(ex.requestHeaders.get('authorization'), null);
    assert.equal(ex.requestHeaders.get('x-api-key'), TEST_KEY);
    validateAnthropic('Message', await jsonBody(ex));
    assert.equal(msg.type, 'message');
  });

  // The exact 400s the codec contract promises (tests/fixtures/dialect/requests_rejected/).
  for (const name of ['top_k_to_openai', 'container_to_openai', 'stop_sequences_to_openai', 'server_tool_to_openai', 'prefill_to_openai']) {
    test(`a field OpenAI cannot express (${name}) → BadRequestError naming it; nothing reaches the upstream`, async () => {
      const fx = rejectedFixture(name);
      assert.deepEqual([fx.from, fx.to], ['anthropic', 'openai']);
      const err = await expectError(() => client.messages.create({ ...fx.input, model: MODEL }), Anthropic.BadRequestError);
      assert.equal(err.status, 400);
      const e = await recordedError(400);
      assert.deepEqual({ type: e.type, message: e.message }, { type: 'invalid_request_error', message: fx.message });
      assert.deepEqual(await upstreamRequests(sim), []);
    });
  }
});
