// The spec validators themselves (spec_validate.mjs): they accept known-good bodies taken from
// the vendors' published references (the examples inside ../shared/specs), reject known-bad
// bodies with the expected error path, and agree with the extracted ../shared/specs/*/schemas.json
// wherever both define a schema.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import {
  ANTHROPIC_SUPPLEMENTS, SpecValidationError, check, checkUnion, normaliseSchema, parseSseText, requestSchemaForPath,
  specDocuments, specSources, specsDir, validateAnthropic, validateAnthropicEvent, validateAnthropicRequest,
  validateAnthropicStreamText, validateOpenAI, validateOpenAIChunk, validateOpenAIRequest, validateOpenAIStreamText,
  validateResponses, validateResponsesEvent, validateResponsesStreamText,
} from './spec_validate.mjs';

const clone = (x) => structuredClone(x);

/** Asserts that fn throws a SpecValidationError one of whose errors is at `instancePath`. */
function assertRejects(fn, instancePath, { keyword, messageIncludes } = {}) {
  let err;
  try { fn(); } catch (e) { err = e; }
  assert.ok(err, `expected a validation error at ${instancePath}, but the body was accepted`);
  assert.ok(err instanceof SpecValidationError, `expected SpecValidationError, got ${err}`);
  const hit = err.errors.find((e) => e.instancePath === instancePath && (!keyword || e.keyword === keyword));
  assert.ok(hit, `no error at ${instancePath}${keyword ? ` (${keyword})` : ''}; got:\n${err.message}`);
  assert.match(err.message, new RegExp(`at ${instancePath.replace(/[/]/g, '\\/') || '\\/'}: `), 'the message names the path');
  if (messageIncludes) assert.ok(err.message.includes(messageIncludes), `message should include ${messageIncludes}:\n${err.message}`);
  return err;
}

function openaiExamples(p) {
  return specSources().openai.paths[p].post['x-oaiMeta'].examples;
}

// ---------------------------------------------------------------------------------------------

describe('loading', () => {
  test('the specs come from ../shared/specs and every schema name used by the tests exists', () => {
    assert.ok(specsDir.endsWith(path.join('shared', 'specs')), specsDir);
    const { openai, anthropic } = specDocuments();
    for (const n of ['CreateChatCompletionRequest', 'CreateChatCompletionResponse', 'CreateChatCompletionStreamResponse',
      'ErrorResponse', 'CreateResponse', 'Response', 'ResponseStreamEvent']) assert.ok(openai.$defs[n], `openai ${n}`);
    for (const n of ['CreateMessageParams', 'Message', 'MessageStreamEvent', 'ErrorResponse', 'BetaCountMessageTokensParams',
      'BetaCountMessageTokensResponse', 'PingEvent']) assert.ok(anthropic.$defs[n], `anthropic ${n}`);
  });

  test('normalisation: nullable, self-references, boolean exclusiveMinimum, doc keywords', () => {
    assert.deepEqual(normaliseSchema({ type: 'string', nullable: true, description: 'd', 'x-oaiTypeLabel': 'l', default: 'a' }),
      { anyOf: [{ type: 'string' }, { type: 'null' }], default: 'a' });
    assert.deepEqual(normaliseSchema({ properties: { description: { type: 'string', title: 't' } } }),
      { properties: { description: { type: 'string' } } }, 'a property named like a doc keyword is kept');
    assert.deepEqual(normaliseSchema({ $recursiveAnchor: true, items: { oneOf: [{ $recursiveRef: '#' }, { $ref: '#/components/schemas/B' }] } }, 'A'),
      { items: { oneOf: [{ $ref: '#/$defs/A' }, { $ref: '#/$defs/B' }] } });
    assert.deepEqual(normaliseSchema({ type: 'number', minimum: 0, exclusiveMinimum: true }), { type: 'number', exclusiveMinimum: 0 });
    assert.deepEqual(normaliseSchema({ required: ['a', 'b', 'a'] }), { required: ['a', 'b'] });
  });

  test('the Anthropic supplements are few and named', () => {
    assert.ok(ANTHROPIC_SUPPLEMENTS.length <= 8);
    for (const [name, what, patch] of ANTHROPIC_SUPPLEMENTS) {
      assert.equal(typeof name, 'string');
      assert.equal(typeof what, 'string');
      assert.equal(typeof patch, 'function');
    }
  });
});

describe('OpenAI Chat Completions', () => {
  test('accepts the published reference responses (Default, Image input) and stream chunks', () => {
    const ex = openaiExamples('/chat/completions');
    for (const title of ['Default', 'Image input']) {
      const body = JSON.parse(ex.find((e) => e.title === title).response);
      assert.equal(validateOpenAI('CreateChatCompletionResponse', body), body, title);
    }
    const chunks = ex.find((e) => e.title === 'Streaming').response.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(chunks.length >= 3);
    for (const c of chunks) validateOpenAIChunk(c);
  });

  test('rejects a response with an unknown finish_reason, naming the path', () => {
    const body = JSON.parse(openaiExamples('/chat/completions').find((e) => e.title === 'Default').response);
    body.choices[0].finish_reason = 'done';
    assertRejects(() => validateOpenAI('CreateChatCompletionResponse', body), '/choices/0/finish_reason', { keyword: 'enum', messageIncludes: '"tool_calls"' });
  });

  test('rejects a response message without refusal (the reference "Functions" example predates it)', () => {
    const body = JSON.parse(openaiExamples('/chat/completions').find((e) => e.title === 'Functions').response);
    assertRejects(() => validateOpenAI('CreateChatCompletionResponse', body), '/choices/0/message', { keyword: 'required', messageIncludes: "'refusal'" });
    body.choices[0].message.refusal = null;
    validateOpenAI('CreateChatCompletionResponse', body);
  });

  test('rejects a chunk with the wrong object and a tool-call delta without index', () => {
    const chunk = { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] };
    assertRejects(() => validateOpenAIChunk(chunk), '/object', { keyword: 'enum' });
    const c2 = { ...chunk, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [{ function: { arguments: '{' } }] }, finish_reason: null }] };
    assertRejects(() => validateOpenAIChunk(c2), '/choices/0/delta/tool_calls/0', { keyword: 'required', messageIncludes: "'index'" });
  });

  test('a null usage and an include_usage chunk are accepted; usage without total_tokens is not', () => {
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' };
    validateOpenAIChunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null });
    validateOpenAIChunk({ ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
    assertRejects(() => validateOpenAIChunk({ ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }), '/usage', { keyword: 'required' });
  });

  test('requests: a reference-style request passes, an unknown role and a string max_tokens do not', () => {
    const good = {
      model: 'gpt-4o', messages: [{ role: 'developer', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hello!' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
      tool_choice: 'auto', stream: true, stream_options: { include_usage: true },
      response_format: { type: 'json_schema', json_schema: { name: 'r', schema: { type: 'object' }, strict: true } },
    };
    validateOpenAIRequest(good);
    const bad = clone(good);
    bad.messages[1].role = 'robot';
    assertRejects(() => validateOpenAIRequest(bad), '/messages/1');
    assertRejects(() => validateOpenAIRequest({ ...good, max_completion_tokens: '10' }), '/max_completion_tokens');
  });

  test('errors: ErrorResponse needs error.message/type/param/code', () => {
    validateOpenAI('ErrorResponse', { error: { message: 'm', type: 'invalid_request_error', param: 'seed', code: null } });
    assertRejects(() => validateOpenAI('ErrorResponse', { error: { message: 'm', type: 'x' } }), '/error', { keyword: 'required' });
  });

  test('a whole stream: events after [DONE] and invalid chunks are caught', () => {
    const c = (delta, fr = null) => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: fr }] });
    const ok = `data: ${c({ role: 'assistant', content: '' })}\n\n: ping\n\ndata: ${c({ content: 'hi' })}\n\ndata: ${c({}, 'stop')}\n\ndata: [DONE]\n\n`;
    const r = validateOpenAIStreamText(ok);
    assert.equal(r.chunks.length, 3);
    assert.equal(r.done, true);
    assert.throws(() => validateOpenAIStreamText(`${ok}data: ${c({ content: 'late' })}\n\n`), /after \[DONE\]/);
    assert.throws(() => validateOpenAIStreamText(`data: ${c({}, 'finished')}\n\n`), /finish_reason/);
    const e = validateOpenAIStreamText(`data: ${c({ content: 'a' })}\n\ndata: {"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded"}}\n\n`);
    assert.equal(e.errors.length, 1);
    assert.equal(e.done, false);
  });
});

describe('OpenAI Responses API', () => {
  // The reference examples in openapi.yaml predate parts of its own schema (`user: null` where the
  // schema says string, output_text without `logprobs`, events without `sequence_number`).
  // So the validator must reject them as published — and accept them once exactly that is fixed.
  test('the reference "File input" example is rejected only at /user; accepted without it', () => {
    const body = JSON.parse(openaiExamples('/responses').find((e) => e.title === 'File input').response);
    const r = check('openai', 'Response', body);
    assert.equal(r.valid, false);
    assert.deepEqual(r.errors.map((e) => e.instancePath), ['/user'], r.message);
    delete body.user;
    validateResponses('Response', body);
  });

  test('the reference "Text input" example needs output_text.logprobs', () => {
    const body = JSON.parse(openaiExamples('/responses').find((e) => e.title === 'Text input').response);
    delete body.user;
    assertRejects(() => validateResponses('Response', body), '/output/0/content/0', { keyword: 'required', messageIncludes: "'logprobs'" });
    body.output[0].content[0].logprobs = [];
    validateResponses('Response', body);
  });

  test('the reference stream events, with sequence_number and logprobs added, validate as ResponseStreamEvent', () => {
    const sse = openaiExamples('/responses').find((e) => e.title === 'Streaming').response;
    const events = parseSseText(sse).map((e) => JSON.parse(e.data));
    assert.ok(events.length >= 8);
    events.forEach((ev, i) => {
      assertRejects(() => validateResponsesEvent(clone(ev)), '', { keyword: 'required', messageIncludes: "'sequence_number'" });
      ev.sequence_number = i;
      const fix = (resp) => {
        delete resp.user;
        for (const item of resp.output ?? []) for (const part of item.content ?? []) if (part.type === 'output_text') part.logprobs ??= [];
        if (resp.usage) {
          resp.usage.input_tokens_details ??= { cached_tokens: 0, cache_write_tokens: 0 };
          resp.usage.output_tokens_details ??= { reasoning_tokens: 0 };
        }
      };
      if (ev.response) fix(ev.response);
      if (ev.item) fix({ output: [ev.item] });
      if (ev.part?.type === 'output_text') ev.part.logprobs ??= [];
      if (ev.type === 'response.output_text.delta' || ev.type === 'response.output_text.done') ev.logprobs ??= [];
      if ((ev.type === 'response.created' || ev.type === 'response.in_progress') && ev.response.usage === null) delete ev.response.usage;
      validateResponsesEvent(ev);
    });
  });

  test('rejects an unknown event type and a delta without its item_id, naming them', () => {
    assertRejects(() => validateResponsesEvent({ type: 'response.output_text.deltas', sequence_number: 1 }), '/type', { messageIncludes: 'ResponseStreamEvent' });
    const delta = { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'hi', sequence_number: 3, logprobs: [] };
    assertRejects(() => validateResponsesEvent(delta), '', { keyword: 'required', messageIncludes: "'item_id'" });
    validateResponsesEvent({ ...delta, item_id: 'msg_1' });
    const args = { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta: '{"a"', sequence_number: 4 };
    validateResponsesEvent(args);
    assertRejects(() => validateResponsesEvent({ ...args, delta: 5 }), '/delta', { keyword: 'type' });
    assert.equal(checkUnion('openai', 'ResponseStreamEvent', args).member, 'ResponseFunctionCallArgumentsDeltaEvent');
  });

  test('a whole stream: the SSE event name must equal data.type', () => {
    const ev = { type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'x', sequence_number: 1, logprobs: [] };
    validateResponsesStreamText(`event: response.output_text.delta\ndata: ${JSON.stringify(ev)}\n\n`);
    assert.throws(() => validateResponsesStreamText(`event: response.output_text.done\ndata: ${JSON.stringify(ev)}\n\n`), /differs from data.type/);
  });

  test('CreateResponse: string input and function tools pass; a tool without name does not', () => {
    const good = { model: 'gpt-4.1', input: 'Tell me a story.', instructions: 'Be brief.', max_output_tokens: 50, stream: true,
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} }, strict: false }] };
    validateResponses('CreateResponse', good);
    const bad = clone(good);
    delete bad.tools[0].name;
    assertRejects(() => validateResponses('CreateResponse', bad), '/tools/0', { keyword: 'required', messageIncludes: "'name'" });
  });
});

describe('Anthropic Messages', () => {
  const anthropicExample = (name) => clone(specSources().anthropic.components.schemas[name].examples[0]);

  test('accepts the published Message example and rejects an unknown stop_reason at /stop_reason', () => {
    const msg = anthropicExample('Message');
    validateAnthropic('Message', msg);
    assertRejects(() => validateAnthropic('Message', { ...msg, stop_reason: 'finished' }), '/stop_reason', { messageIncludes: '"end_turn"' });
    validateAnthropic('Message', { ...msg, stop_reason: 'refusal' });   // supplement: current reference
    assertRejects(() => validateAnthropic('Message', { ...msg, content: [{ type: 'text' }] }), '/content/0', { keyword: 'required', messageIncludes: "'text'" });
  });

  test('stream events from the streaming reference, ping and error included', () => {
    const events = [
      ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'claude-3-5-sonnet-20241022', stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['ping', { type: 'ping' }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} } }],
      ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"location":' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 1 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 15 } }],
      ['message_stop', { type: 'message_stop' }],
      ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }],
    ];
    for (const [name, data] of events) validateAnthropicEvent(name, data);
    const sse = events.map(([n, d]) => `event: ${n}\ndata: ${JSON.stringify(d)}\n\n`).join('');
    assert.equal(validateAnthropicStreamText(sse).length, events.length);
    assert.throws(() => validateAnthropicStreamText(`data: ${JSON.stringify({ type: 'message_stop' })}\n\n`), /no `event:` line/);
  });

  test('rejects a bad delta type, a missing index and a mismatched event name', () => {
    assertRejects(() => validateAnthropicEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text', text: 'x' } }), '/delta');
    assertRejects(() => validateAnthropicEvent('content_block_stop', { type: 'content_block_stop' }), '', { keyword: 'required', messageIncludes: "'index'" });
    assert.throws(() => validateAnthropicEvent('message_stop', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 1 } }), /differs from data.type/);
    assertRejects(() => validateAnthropicEvent('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null } }), '', { keyword: 'required', messageIncludes: "'usage'" });
  });

  test('requests: the count_tokens example and a tool round trip pass; unknown members do not', () => {
    validateAnthropicRequest(anthropicExample('BetaCountMessageTokensParams'), 'BetaCountMessageTokensParams');
    const good = {
      model: 'claude-sonnet-4-5', max_tokens: 1024, system: 'Be brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?', cache_control: { type: 'ephemeral' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { location: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: '15 degrees' }] },
      ],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
      tool_choice: { type: 'auto' },
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
      stream: true,
    };
    validateAnthropicRequest(good);
    assertRejects(() => validateAnthropicRequest({ ...good, seed: 1 }), '', { keyword: 'additionalProperties', messageIncludes: "'seed'" });
    // Not supplemented, so the Nov-2024 snapshot still refuses it:
    assertRejects(() => validateAnthropicRequest({ ...good, thinking: { type: 'enabled', budget_tokens: 2048 } }), '', { keyword: 'additionalProperties', messageIncludes: "'thinking'" });
    const bad = clone(good);
    bad.messages[2].content[0].tool_use_id = 'call 1';
    assertRejects(() => validateAnthropicRequest(bad), '/messages/2/content/0/tool_use_id', { keyword: 'pattern' });
    const noMax = clone(good);
    delete noMax.max_tokens;
    assertRejects(() => validateAnthropicRequest(noMax), '', { keyword: 'required', messageIncludes: "'max_tokens'" });
  });

  test('errors: known types pass, an unknown type does not', () => {
    validateAnthropic('ErrorResponse', { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' }, request_id: 'req_1' });
    validateAnthropic('ErrorResponse', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    assertRejects(() => validateAnthropic('ErrorResponse', { type: 'error', error: { type: 'teapot_error', message: 'x' } }), '/error');
    validateAnthropic('BetaCountMessageTokensResponse', { input_tokens: 3 });
    assertRejects(() => validateAnthropic('BetaCountMessageTokensResponse', { tokens: 3 }), '', { keyword: 'required' });
  });
});

describe('agreement with the extracted schemas.json', () => {
  // ../shared/specs/*/schemas.json hold the same vendors' schemas extracted by another tool;
  // on every sample body used above that has a root there, both must give the same verdict.
  function extracted(vendor) {
    const doc = JSON.parse(readFileSync(path.join(specsDir, vendor, 'schemas.json'), 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: true, allowUnionTypes: true, logger: false });
    addFormats(ajv);
    ajv.addFormat('unixtime', { type: 'number', validate: Number.isInteger });
    ajv.addSchema(doc);
    return (name, body) => ajv.getSchema(`${doc.$id}#/$defs/${name}`)(body);
  }

  test('OpenAI chat responses and chunks', () => {
    const ext = extracted('openai');
    const ex = openaiExamples('/chat/completions');
    const samples = [];
    for (const e of ex) {
      if (e.title === 'Streaming') {
        for (const l of e.response.split('\n').filter((x) => x.startsWith('{'))) samples.push(['CreateChatCompletionStreamResponse', JSON.parse(l)]);
      } else {
        const b = JSON.parse(e.response);
        samples.push(['CreateChatCompletionResponse', b]);
        const broken = clone(b);
        broken.choices[0].finish_reason = 'done';
        samples.push(['CreateChatCompletionResponse', broken]);
      }
    }
    samples.push(['ErrorResponse', { error: { message: 'm', type: 't', param: null, code: null } }], ['ErrorResponse', { error: { message: 'm' } }]);
    let rejected = 0;
    for (const [name, body] of samples) {
      const mine = check('openai', name, body).valid;
      assert.equal(mine, ext(name, body), `${name}: ${JSON.stringify(body).slice(0, 200)}`);
      if (!mine) rejected++;
    }
    assert.ok(rejected >= 3, 'the samples include rejected bodies');
  });

  test('Anthropic messages and events (the snapshot, without supplements)', () => {
    const ext = extracted('anthropic');
    const msg = clone(specSources().anthropic.components.schemas.Message.examples[0]);
    const samples = [
      ['Message', msg], ['Message', { ...msg, stop_reason: 'finished' }], ['Message', { ...msg, usage: {} }],
      ['MessageStreamEvent', { type: 'message_stop' }], ['MessageStreamEvent', { type: 'content_block_stop' }],
      ['MessageStreamEvent', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } }],
      ['ErrorResponse', { type: 'error', error: { type: 'api_error', message: 'x' } }], ['ErrorResponse', { type: 'error' }],
    ];
    for (const [name, body] of samples) {
      assert.equal(check('anthropic', name, body).valid, ext(name, body), `${name}: ${JSON.stringify(body).slice(0, 200)}`);
    }
  });
});

test('requestSchemaForPath maps the simulator routes', () => {
  assert.deepEqual(requestSchemaForPath('/v1/chat/completions'), ['openai', 'CreateChatCompletionRequest']);
  assert.deepEqual(requestSchemaForPath('/v1/messages'), ['anthropic', 'CreateMessageParams']);
  assert.deepEqual(requestSchemaForPath('/v1/messages/count_tokens'), ['anthropic', 'BetaCountMessageTokensParams']);
  assert.deepEqual(requestSchemaForPath('/v1/responses'), ['openai', 'CreateResponse']);
  assert.equal(requestSchemaForPath('/v1beta/models/g:generateContent'), undefined);
});
