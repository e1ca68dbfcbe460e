// Drives the gateway with the official `openai` npm SDK (version pinned in package-lock.json)
// against one deterministic simulator, and checks that what the SDK sees through Meridian is what
// it sees talking to the simulator directly.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';

import { TEST_KEY, startGateway, startSim, stopAll } from '../harness.mjs';

let sim;
let gw;
let client;   // through the gateway
let direct;   // straight to the simulator

const chatRequest = {
  model: 'sim-small',
  messages: [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Hello from the OpenAI SDK conformance test' },
  ],
  max_tokens: 24,
};

before(async () => {
  sim = await startSim(['--name', 'sim-a', '--models', 'sim-small,sim-embed', '--ttft-ms', '0', '--tps', '5000', '--threads', '1']);
  gw = await startGateway(`
server: {listen: "127.0.0.1:0", workers: 2}
auth: {keys: ["${TEST_KEY}"]}
backends:
  - {id: sim-a, provider: simulator, base_url: "${sim.url}/v1", models: [sim-small, sim-embed], tier: local}
aliases: {fast: sim-small}
`);
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TEST_KEY, maxRetries: 0, timeout: 30_000 });
  direct = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-direct', maxRetries: 0, timeout: 30_000 });
});

after(async () => {
  await stopAll();
});

function assertUsage(usage, where) {
  assert.ok(usage, `${where}: usage present`);
  for (const f of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    assert.ok(Number.isInteger(usage[f]) && usage[f] >= 0, `${where}: usage.${f} is a non-negative integer (got ${usage[f]})`);
  }
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, `${where}: total = prompt + completion`);
  assert.ok(usage.completion_tokens > 0, `${where}: some completion tokens`);
}

async function collectStream(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function streamText(chunks) {
  return chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
}

describe('chat.completions (non-streaming)', () => {
  test('matches a direct call to the simulator, with usage', async () => {
    const viaGateway = await client.chat.completions.create(chatRequest);
    const viaSim = await direct.chat.completions.create(chatRequest);

    assert.equal(viaGateway.object, 'chat.completion');
    assert.equal(typeof viaGateway.id, 'string');
    assert.equal(viaGateway.choices.length, 1);
    const choice = viaGateway.choices[0];
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(typeof choice.message.content, 'string');
    assert.ok(choice.message.content.length > 0, 'non-empty content');
    assert.ok(['stop', 'length'].includes(choice.finish_reason), `finish_reason ${choice.finish_reason}`);

    assert.equal(choice.message.content, viaSim.choices[0].message.content, 'same text as the simulator');
    assertUsage(viaGateway.usage, 'gateway');
    assert.deepEqual(
      { p: viaGateway.usage.prompt_tokens, c: viaGateway.usage.completion_tokens },
      { p: viaSim.usage.prompt_tokens, c: viaSim.usage.completion_tokens },
      'same token counts as the simulator');
  });

  test('an alias resolves to its target model', async () => {
    const viaAlias = await client.chat.completions.create({ ...chatRequest, model: 'fast' });
    const viaSim = await direct.chat.completions.create(chatRequest);
    assert.equal(viaAlias.choices[0].message.content, viaSim.choices[0].message.content);
    assertUsage(viaAlias.usage, 'alias');
  });
});

describe('chat.completions (streaming)', () => {
  test('with include_usage: text matches, the last chunk alone carries usage', async () => {
    const chunks = await collectStream({ ...chatRequest, stream_options: { include_usage: true } });
    const viaSim = await direct.chat.completions.create(chatRequest);

    assert.ok(chunks.length >= 2, `several chunks (got ${chunks.length})`);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(typeof c.id, 'string');
    }
    assert.equal(streamText(chunks), viaSim.choices[0].message.content, 'chunks concatenate to the simulator text');

    const last = chunks.at(-1);
    assertUsage(last.usage, 'stream usage chunk');
    assert.deepEqual(last.choices, [], 'usage chunk has empty choices');
    assert.equal(last.usage.completion_tokens, viaSim.usage.completion_tokens, 'same completion tokens as non-streaming');
    assert.equal(last.usage.prompt_tokens, viaSim.usage.prompt_tokens, 'same prompt tokens as non-streaming');
    for (const c of chunks.slice(0, -1)) {
      assert.ok(c.usage == null, 'only the last chunk carries usage');
    }
    const finishes = chunks.map((c) => c.choices?.[0]?.finish_reason).filter(Boolean);
    assert.equal(finishes.length, 1, 'exactly one chunk has a finish_reason');
    assert.ok(['stop', 'length'].includes(finishes[0]));
  });

  test('without include_usage: no usage chunk', async () => {
    const chunks = await collectStream(chatRequest);
    const viaSim = await direct.chat.completions.create(chatRequest);
    assert.ok(chunks.length >= 1);
    assert.equal(streamText(chunks), viaSim.choices[0].message.content);
    for (const c of chunks) {
      assert.ok(c.usage == null, `no chunk carries usage (got ${JSON.stringify(c.usage)})`);
      assert.ok(Array.isArray(c.choices) && c.choices.length === 1, 'every chunk has one choice');
    }
  });
});

describe('embeddings', () => {
  const input = ['the quick brown fox', 'jumps over the lazy dog'];

  test('float encoding: one vector per input, with usage', async () => {
    const res = await client.embeddings.create({ model: 'sim-embed', input, encoding_format: 'float' });
    assert.equal(res.object, 'list');
    assert.equal(res.data.length, input.length);
    const dim = res.data[0].embedding.length;
    assert.ok(dim > 0, 'non-empty vectors');
    res.data.forEach((d, i) => {
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, dim, 'same dimension for every input');
      assert.ok(d.embedding.every((x) => Number.isFinite(x)), 'finite numbers');
    });
    assert.ok(Number.isInteger(res.usage?.prompt_tokens) && res.usage.prompt_tokens > 0, 'usage.prompt_tokens');
    const viaSim = await direct.embeddings.create({ model: 'sim-embed', input, encoding_format: 'float' });
    assert.deepEqual(res.data.map((d) => d.embedding), viaSim.data.map((d) => d.embedding), 'same vectors as the simulator');
  });

  test('SDK default (base64 on the wire) decodes to the same vectors', async () => {
    const floats = await client.embeddings.create({ model: 'sim-embed', input, encoding_format: 'float' });
    const dflt = await client.embeddings.create({ model: 'sim-embed', input });
    assert.equal(dflt.data.length, input.length);
    dflt.data.forEach((d, i) => {
      const want = floats.data[i].embedding;
      assert.equal(d.embedding.length, want.length);
      // base64 carries float32: compare at float32 precision.
      d.embedding.forEach((x, j) => assert.ok(Math.abs(x - Math.fround(want[j])) <= 1e-6 * Math.max(1, Math.abs(want[j])),
        `component ${j} of vector ${i}: ${x} vs ${want[j]}`));
    });
  });
});

describe('models', () => {
  test('models.list includes served models and aliases', async () => {
    const ids = [];
    for await (const m of client.models.list()) {
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    for (const want of ['sim-small', 'sim-embed', 'fast']) {
      assert.ok(ids.includes(want), `models.list has ${want} (got ${ids.join(', ')})`);
    }
  });
});

describe('errors', () => {
  test('a wrong key is an AuthenticationError (401)', async () => {
    const bad = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create(chatRequest), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `AuthenticationError, got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 401);
      assert.equal(typeof err.error?.message, 'string', 'OpenAI error body {error: {message, ...}}');
      return true;
    });
  });

  test('a wrong key on models.list is also 401', async () => {
    const bad = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), OpenAI.AuthenticationError);
  });

  test('an unknown model is NotFoundError with code model_not_found', async () => {
    await assert.rejects(client.chat.completions.create({ ...chatRequest, model: 'no-such-model' }), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `NotFoundError, got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      return true;
    });
  });

  test('an unknown model when streaming fails before any chunk', async () => {
    await assert.rejects(collectStream({ ...chatRequest, model: 'no-such-model' }), OpenAI.NotFoundError);
  });
});
