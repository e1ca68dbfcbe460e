// The official `openai` SDK's Responses API (`client.responses.create`, plain and stream: true,
// with function tools) against the gateway's /v1/responses, whose backend speaks Anthropic
// Messages. Upstream requests are validated against Anthropic's CreateMessageParams, every
// response body against OpenAI's `Response`, every stream event against `ResponseStreamEvent`,
// and the answers are compared with the simulator's answer to the replayed upstream request.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import OpenAI from 'openai';

import { stopAll } from '../harness.mjs';
import { validateResponses, validateResponsesStreamText } from './spec_validate.mjs';
import {
  MODELS, TEST_KEY, clearCaptured, expectError, jsonBody, onlyUpstream, recorder, replay, simPromptTokens, sseText,
  startStack, upstreamRequests,
} from './xdialect.mjs';

const MODEL = MODELS.anthropic;
const INSTRUCTIONS = 'You are a terse assistant.';
const INPUT = 'Hello from the Responses API, through Meridian, to an Anthropic upstream';

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
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
  },
};
const weatherInput = { city: 'sim', unit: 'celsius' };

async function recordedResponse() {
  const ex = rec.only();
  assert.equal(ex.status, 200, await ex.text);
  const body = validateResponses('Response', await jsonBody(ex), 'gateway response');
  assert.equal(ex.headers.get('x-meridian-backend'), 'sim-anthropic');
  return body;
}

async function recordedEvents() {
  const ex = rec.only();
  const events = validateResponsesStreamText(await sseText(ex), 'gateway stream').map((e) => e.data);
  assert.equal(ex.headers.get('x-meridian-backend'), 'sim-anthropic');
  // sequence_number counts up from 0 without gaps; one response id throughout.
  events.forEach((e, i) => assert.equal(e.sequence_number, i, `sequence_number of event ${i} (${e.type})`));
  return events;
}

function outputText(resp) {
  return resp.output.filter((o) => o.type === 'message').flatMap((o) => o.content).filter((c) => c.type === 'output_text').map((c) => c.text).join('');
}

describe('text', () => {
  test('non-streaming: instructions → system, input → user message; output_text and usage equal the upstream answer', async () => {
    const resp = await client.responses.create({ model: MODEL, instructions: INSTRUCTIONS, input: INPUT, max_output_tokens: 24 });
    const raw = await recordedResponse();
    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up, { model: MODEL, max_tokens: 24, system: INSTRUCTIONS, messages: [{ role: 'user', content: INPUT }] });
    const direct = await replay(sim, up, { path: '/v1/messages' });

    assert.equal(raw.id, resp.id);
    assert.equal(resp.object, 'response');
    assert.equal(resp.status, 'completed');
    assert.equal(resp.model, MODEL);
    assert.equal(resp.output.length, 1);
    assert.equal(resp.output[0].type, 'message');
    assert.equal(resp.output[0].role, 'assistant');
    assert.equal(resp.output[0].status, 'completed');
    assert.deepEqual(resp.output[0].content.map((c) => ({ type: c.type, text: c.text })), [{ type: 'output_text', text: direct.content[0].text }]);
    assert.equal(resp.output_text, direct.content[0].text, 'the SDK\'s output_text');
    const p = simPromptTokens(INSTRUCTIONS, INPUT);
    assert.deepEqual(
      { i: resp.usage.input_tokens, o: resp.usage.output_tokens, t: resp.usage.total_tokens },
      { i: p, o: direct.usage.output_tokens, t: p + direct.usage.output_tokens });
    // The Response echoes the request's instructions (OpenAI's Response.instructions).
    assert.equal(resp.instructions, INSTRUCTIONS, 'instructions echoed');
  });

  test('max_output_tokens below the natural length: status incomplete, reason max_output_tokens', async () => {
    const resp = await client.responses.create({ model: MODEL, input: INPUT, max_output_tokens: 3 });
    await recordedResponse();
    const up = await onlyUpstream(sim, '/v1/messages');
    const direct = await replay(sim, up, { path: '/v1/messages' });
    assert.equal(direct.stop_reason, 'max_tokens');
    assert.equal(resp.status, 'incomplete');
    assert.deepEqual(resp.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(outputText(resp), direct.content[0].text);
    assert.equal(resp.usage.output_tokens, 3);
  });

  test('stream: created … completed, every event valid, deltas concatenate to the final text', async () => {
    const stream = await client.responses.create({ model: MODEL, instructions: INSTRUCTIONS, input: INPUT, max_output_tokens: 24, stream: true });
    const sdkEvents = [];
    for await (const ev of stream) sdkEvents.push(ev);
    const events = await recordedEvents();
    assert.equal(sdkEvents.length, events.length);

    const up = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up, { model: MODEL, max_tokens: 24, system: INSTRUCTIONS, messages: [{ role: 'user', content: INPUT }], stream: true });
    const direct = await replay(sim, { ...up, stream: false }, { path: '/v1/messages' });
    const text = direct.content[0].text;

    const types = events.map((e) => e.type);
    const n = text.split(' ').length;
    assert.deepEqual(types, [
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      ...Array(n).fill('response.output_text.delta'),
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    assert.equal(deltas.map((d) => d.delta).join(''), text);
    const itemId = events[2].item.id;
    for (const d of deltas) assert.deepEqual({ item: d.item_id, o: d.output_index, c: d.content_index }, { item: itemId, o: 0, c: 0 });
    assert.equal(events.find((e) => e.type === 'response.output_text.done').text, text);
    const created = events[0].response;
    const completed = events.at(-1).response;
    assert.equal(created.status, 'in_progress');
    assert.equal(completed.id, created.id);
    assert.equal(completed.status, 'completed');
    assert.equal(outputText(completed), text);
    assert.deepEqual({ i: completed.usage.input_tokens, o: completed.usage.output_tokens },
      { i: direct.usage.input_tokens, o: direct.usage.output_tokens });
  });
});

describe('tools', () => {
  const question = 'What is the weather in Paris?';

  test('non-streaming: function tools go up as Anthropic tools; the tool_use comes back as a function_call; the output goes back as tool_result', async () => {
    const first = await client.responses.create({ model: MODEL, input: question, tools: [weatherTool], tool_choice: 'required', max_output_tokens: 100 });
    await recordedResponse();
    const up1 = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up1.tools, [{ name: 'get_weather', description: 'Current weather in a city', input_schema: weatherTool.parameters }]);
    assert.deepEqual(up1.tool_choice, { type: 'any' });
    const direct1 = await replay(sim, up1, { path: '/v1/messages' });
    const toolUse = direct1.content[0];
    assert.equal(toolUse.type, 'tool_use');

    const calls = first.output.filter((o) => o.type === 'function_call');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].call_id, toolUse.id, 'call_id is the tool_use id');
    assert.equal(calls[0].name, 'get_weather');
    assert.deepEqual(JSON.parse(calls[0].arguments), weatherInput);
    assert.equal(calls[0].status, 'completed');

    rec.clear();
    const second = await client.responses.create({
      model: MODEL, tools: [weatherTool], max_output_tokens: 100,
      input: [
        { role: 'user', content: question },
        { type: 'function_call', call_id: calls[0].call_id, name: calls[0].name, arguments: calls[0].arguments },
        { type: 'function_call_output', call_id: calls[0].call_id, output: '21 degrees' },
      ],
    });
    await recordedResponse();
    const up2 = await onlyUpstream(sim, '/v1/messages');
    assert.deepEqual(up2.messages, [
      { role: 'user', content: question },
      { role: 'assistant', content: [{ type: 'tool_use', id: toolUse.id, name: 'get_weather', input: weatherInput }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '21 degrees' }] },
    ]);
    const direct2 = await replay(sim, up2, { path: '/v1/messages' });
    assert.equal(second.output_text, direct2.content[0].text);

    // The Response echoes the request's tool settings (as `instructions`, above).
    assert.deepEqual({ tools: first.tools.map((t) => [t.type, t.name]), tool_choice: first.tool_choice },
      { tools: [['function', 'get_weather']], tool_choice: 'required' }, 'tools and tool_choice echoed');
  });

  test('stream with tools: output_item.added function_call, arguments deltas, arguments.done, completed', async () => {
    const stream = await client.responses.create({ model: MODEL, input: question, tools: [weatherTool], tool_choice: 'required', max_output_tokens: 100, stream: true });
    for await (const _ of stream) { /* drain */ }
    const events = await recordedEvents();
    const up = await onlyUpstream(sim, '/v1/messages');
    const direct = await replay(sim, { ...up, stream: false }, { path: '/v1/messages' });
    const toolUse = direct.content[0];

    const added = events.find((e) => e.type === 'response.output_item.added');
    assert.equal(added.item.type, 'function_call');
    assert.equal(added.item.call_id, toolUse.id);
    assert.equal(added.item.name, 'get_weather');
    const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    assert.ok(deltas.length >= 2, `several argument deltas (got ${deltas.length})`);
    for (const d of deltas) assert.equal(d.item_id, added.item.id);
    const args = deltas.map((d) => d.delta).join('');
    assert.deepEqual(JSON.parse(args), weatherInput);
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    assert.equal(done.arguments, args);
    const completed = events.at(-1);
    assert.equal(completed.type, 'response.completed');
    const call = completed.response.output.find((o) => o.type === 'function_call');
    assert.deepEqual({ call_id: call.call_id, name: call.name, args: JSON.parse(call.arguments) }, { call_id: toolUse.id, name: 'get_weather', args: weatherInput });
  });
});

describe('errors', () => {
  test('upstream 429 → RateLimitError with retry-after, an OpenAI error body', async () => {
    const err = await expectError(() => client.responses.create({ model: MODEL, input: INPUT }, { headers: { 'x-sim-fault': '429', 'x-sim-retry-after': '3' } }), OpenAI.RateLimitError);
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '3');
    const ex = rec.exchanges.at(-1);
    validateResponses('ErrorResponse', await jsonBody(ex), 'gateway 429');
    assert.ok((await upstreamRequests(sim)).length >= 1);
  });

  test('a field Anthropic cannot express (previous_response_id) → BadRequestError naming it', async () => {
    const err = await expectError(() => client.responses.create({ model: MODEL, input: INPUT, previous_response_id: 'resp_123' }), OpenAI.BadRequestError);
    const body = validateResponses('ErrorResponse', await jsonBody(rec.exchanges.at(-1)), 'gateway 400');
    assert.ok(body.error.message.includes('previous_response_id'), body.error.message);
    assert.equal(err.status, 400);
    assert.deepEqual(await upstreamRequests(sim), []);
  });

  test('an error in the middle of the stream: the events before it are valid and it ends the stream', async () => {
    const stream = await client.responses.create({ model: MODEL, input: INPUT, stream: true }, { headers: { 'x-sim-fault': 'error-during' } });
    const got = [];
    let thrown;
    try {
      for await (const ev of stream) got.push(ev);
    } catch (e) {
      thrown = e;
    }
    const events = validateResponsesStreamText(await rec.only().text, 'gateway stream').map((e) => e.data);
    const last = events.at(-1);
    assert.ok(['error', 'response.failed'].includes(last.type), `the stream ends with error or response.failed (got ${last.type})`);
    assert.ok(events.some((e) => e.type === 'response.output_text.delta'), 'deltas before the error');
    assert.ok(thrown || got.at(-1)?.type === last.type, 'the SDK raised it or delivered it');
  });
});
