// The price of each request, through the real binaries: a backend's `prices` (over the catalog
// file) give the x-meridian-cost-usd header of a non-streamed answer, exactly the usage times the
// prices; the same micro-USD reach meridian_cost_micro_usd_total; an answer translated from
// another dialect is priced the same way; and `config check` reports a bad price with its line.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TEST_KEY, metric, metrics, readAll, repoRoot, runGateway, startGateway, startSim, stopAll, testConfig, writeTempConfig } from './lib.mjs';

let sim, gw;

// micro-USD per token = USD per million tokens.
const PRICE = { input: 2.5, output: 10 };

// Rounded half up once, at the end (docs/catalog.md).
function expectedMicroUsd(prompt, completion) {
  return Math.floor(prompt * PRICE.input + completion * PRICE.output + 0.5);
}

function usd(micro) {
  return `${Math.floor(micro / 1e6)}.${String(micro % 1e6).padStart(6, '0')}`;
}

before(async () => {
  sim = await startSim(['--models', 'gpt-sim,claude-sim', '--name', 'sim', '--output-tokens', '7']);
  gw = await startGateway(testConfig({
    catalog: { file: path.join(repoRoot, 'tests/fixtures/catalog/mini_litellm.json') },
    backends: [
      { id: 'priced', provider: 'simulator', base_url: `${sim.url}/v1`, models: ['gpt-sim'], tier: 'local',
        prices: { 'gpt-sim': { input_per_mtok: PRICE.input, output_per_mtok: PRICE.output } } },
      { id: 'catalogued', provider: 'simulator', dialect: 'anthropic_messages', api_key: 'sk-sim', base_url: `${sim.url}/v1`, models: ['claude-sim'], tier: 'local' },
    ],
  }));
});

after(async () => {
  await stopAll();
});

describe('cost', () => {
  test('a non-streamed answer carries its exact cost, and the metric adds it', async () => {
    const before = metric(await metrics(gw), 'meridian_cost_micro_usd_total', { backend: 'priced' }) ?? 0;
    const res = await readAll(await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_KEY}` },
      body: JSON.stringify({ model: 'gpt-sim', messages: [{ role: 'user', content: 'one two three four' }] }),
    }));
    assert.equal(res.status, 200, res.text);
    const { prompt_tokens: p, completion_tokens: c } = res.json.usage;
    assert.equal(c, 7);
    const micro = expectedMicroUsd(p, c);
    assert.equal(res.headers.get('x-meridian-cost-usd'), usd(micro));
    const after = metric(await metrics(gw), 'meridian_cost_micro_usd_total', { backend: 'priced' });
    assert.equal(after - before, micro);
  });

  test('an OpenAI client of an Anthropic backend is priced from the catalog', async () => {
    const res = await readAll(await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_KEY}` },
      body: JSON.stringify({ model: 'claude-sim', max_tokens: 32, messages: [{ role: 'user', content: 'five six' }] }),
    }));
    assert.equal(res.status, 200, res.text);
    const { prompt_tokens: p, completion_tokens: c } = res.json.usage;
    // mini_litellm.json: claude-sim $3 in, $15 out per million.
    assert.equal(res.headers.get('x-meridian-cost-usd'), usd(p * 3 + c * 15));
  });

  test('a stream has no cost header (the cost is known only at its end)', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_KEY}` },
      body: JSON.stringify({ model: 'gpt-sim', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-meridian-cost-usd'), null);
    await res.text();
  });

  test('config check names a bad price by file, line and field', async () => {
    const file = writeTempConfig(
      'backends:\n  - id: a\n    provider: openai\n    models: [m]\n    tier: cloud\n' +
      '    prices:\n      m: {input_per_mtok: -1}\n');
    const r = await runGateway(['config', 'check', file]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], /meridian\.yaml:7: backends\[0\]\.prices\.m\.input_per_mtok: /);
    assert.match(lines.at(-1), /1 error\(s\)$/);
  });
});
