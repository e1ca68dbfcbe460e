// The router in the request path (docs/routing.md): strategies chosen per alias, the circuit
// breaker taking a failing backend out of the plan, the request deadline, and the audit record
// naming what was skipped. Through the real binaries against simulators.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import path from 'node:path';

import {
  chat, chatBody, gatewayBin, metric, metrics, repoRoot, simBackend, simStats, startGateway, startSim, stopAll,
  stopCleanly, testConfig, writeTempConfig,
} from './lib.mjs';
import { spawnSync } from 'node:child_process';

const QUALITY_MODEL = path.join(repoRoot, 'models', 'quality_router.json');

after(async () => {
  await stopAll();
});

describe('strategies per alias', () => {
  test('cheapest sends every request to the lower-priced backend; priority to the first configured', async () => {
    const pricey = await startSim(['--name', 'pricey', '--models', 'sim-small']);
    const cheap = await startSim(['--name', 'cheap', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [
        simBackend(pricey, { id: 'pricey', models: ['sim-small'],
          prices: { 'sim-small': { input_per_mtok: 10, output_per_mtok: 30 } } }),
        simBackend(cheap, { id: 'cheap', models: ['sim-small'],
          prices: { 'sim-small': { input_per_mtok: 0.1, output_per_mtok: 0.4 } } }),
      ],
      routing: { strategy: 'priority' },
      aliases: { budget: { target: 'sim-small', strategy: 'cheapest' } },
    }));
    try {
      for (let i = 0; i < 5; ++i) {
        const r = await chat(g, chatBody('hello', { model: 'budget' }));
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-meridian-backend'), 'cheap');
      }
      // The model id itself uses the top-level routing: configuration order.
      const direct = await chat(g, chatBody());
      assert.equal(direct.headers.get('x-meridian-backend'), 'pricey');
      assert.equal((await simStats(pricey)).paths.chat_completions, 1);
      assert.equal((await simStats(cheap)).paths.chat_completions, 5);
    } finally {
      await stopCleanly(g, 'gateway');
      await pricey.stop();
      await cheap.stop();
    }
  });
});

describe('circuit breaker', () => {
  test('five failures in a row open the breaker: the backend leaves the plan and the metrics say so', async () => {
    const bad = await startSim(['--name', 'bad', '--models', 'sim-small', '--fault', '500']);
    const good = await startSim(['--name', 'good', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [simBackend(bad, { id: 'bad', models: ['sim-small'] }), simBackend(good, { id: 'good', models: ['sim-small'] })],
      routing: { strategy: 'priority', open_breakers: 'exclude' },
    }));
    try {
      for (let i = 0; i < 5; ++i) {
        const r = await chat(g, chatBody());
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-meridian-backend'), 'good');
        assert.equal(r.headers.get('x-meridian-attempts'), '2', `request ${i + 1} tried bad first`);
      }
      const m = await metrics(g);
      assert.equal(metric(m, 'meridian_breaker_state', { backend: 'bad', model: 'sim-small', state: 'open' }), 1);
      assert.equal(metric(m, 'meridian_breaker_state', { backend: 'good', model: 'sim-small', state: 'closed' }), 1);
      assert.equal(metric(m, 'meridian_retries_total', { backend: 'bad', reason: 'status_500' }), 5);
      // Open (cool-down 5 s): the next requests go straight to good.
      for (let i = 0; i < 3; ++i) {
        const r = await chat(g, chatBody());
        assert.equal(r.headers.get('x-meridian-backend'), 'good');
        assert.equal(r.headers.get('x-meridian-attempts'), '1');
      }
      assert.equal((await simStats(bad)).paths.chat_completions, 5);
    } finally {
      await stopCleanly(g, 'gateway');
      await bad.stop();
      await good.stop();
    }
  });
});

describe('deadline', () => {
  test('the request deadline bounds the wait for a response head: 504 naming the deadline', async () => {
    const slow = await startSim(['--name', 'slow', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [simBackend(slow, { id: 'slow', models: ['sim-small'] })],
      upstream_defaults: { timeouts: { first_byte: '60s' } },
      aliases: { quick: { target: 'sim-small', deadline: '300ms' } },
    }));
    try {
      const r = await chat(g, chatBody('hello', { model: 'quick' }), { headers: { 'x-sim-fault': 'stall-before' } });
      assert.equal(r.status, 504);
      assert.equal(r.json.error.code, 'upstream_timeout');
      assert.equal(r.json.error.message, "backend 'slow' did not answer within the request's deadline of 300 ms");
      // Without the alias there is no request deadline: the same backend answers normally.
      const ok = await chat(g, chatBody());
      assert.equal(ok.status, 200);
    } finally {
      await stopCleanly(g, 'gateway');
      await slow.stop();
    }
  });
});

describe('quality router', () => {
  test('an alias with a quality router sends to its weak model below the threshold, else to its target', async () => {
    const s = await startSim(['--name', 'both', '--models', 'sim-small,sim-other']);
    const g = await startGateway(testConfig({
      backends: [simBackend(s, { id: 'both', models: ['sim-small', 'sim-other'] })],
      aliases: {
        // Scores lie in (0, 1): threshold 1 sends everything to the weak model, 0 everything strong.
        thrifty: { target: 'sim-small', quality: { weak: 'sim-other', model: QUALITY_MODEL, threshold: 1 } },
        lavish: { target: 'sim-small', quality: { weak: 'sim-other', model: QUALITY_MODEL, threshold: 0 } },
      },
    }));
    try {
      const cheap = await chat(g, chatBody('Prove that there are infinitely many primes.', { model: 'thrifty' }));
      assert.equal(cheap.status, 200);
      assert.equal(cheap.headers.get('x-meridian-quality'), 'weak');
      assert.equal(cheap.json.model, 'sim-other');
      const rich = await chat(g, chatBody('hi', { model: 'lavish' }));
      assert.equal(rich.headers.get('x-meridian-quality'), 'strong');
      assert.equal(rich.json.model, 'sim-small');
      // Other dialects are scored from their own last user turn.
      const res = await fetch(`${g.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'sk-test-1', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'thrifty', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-meridian-quality'), 'weak');
    } finally {
      await stopCleanly(g, 'gateway');
      await s.stop();
    }
  });

  test('a quality model file that cannot be loaded stops the gateway at start, naming the alias', () => {
    const file = writeTempConfig(testConfig({
      backends: [{ id: 'x', provider: 'simulator', base_url: 'http://127.0.0.1:9/v1', models: ['sim-small', 'sim-other'], tier: 'local' }],
      aliases: { smart: { target: 'sim-small', quality: { weak: 'sim-other', model: '/nonexistent/q.json' } } },
    }));
    const r = spawnSync(gatewayBin, ['serve', '-c', file], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /aliases\.smart\.quality\.model: /);
  });
});

describe('prefix affinity', () => {
  test('requests sharing a system prompt and first user turn go to the same replica; other prefixes spread', async () => {
    const sims = [];
    for (const name of ['r1', 'r2', 'r3']) sims.push(await startSim(['--name', name, '--models', 'sim-small']));
    const g = await startGateway(testConfig({
      backends: sims.map((s, i) => simBackend(s, { id: `replica-${i + 1}`, models: ['sim-small'] })),
      aliases: { sticky: { target: 'sim-small', affinity: 'prefix' } },
    }));
    try {
      const conversation = (extraTurns) => [
        { role: 'system', content: 'You are the support bot of a bicycle shop.' },
        { role: 'user', content: 'My chain keeps slipping.' },
        ...extraTurns,
      ];
      const served = new Set();
      for (let turn = 0; turn < 6; ++turn) {
        const later = Array.from({ length: turn }, (_, i) => [
          { role: 'assistant', content: `answer ${i}` }, { role: 'user', content: `follow-up ${i}` },
        ]).flat();
        const r = await chat(g, { model: 'sticky', messages: conversation(later) });
        assert.equal(r.status, 200);
        served.add(r.headers.get('x-meridian-backend'));
      }
      assert.equal(served.size, 1, `one conversation went to ${[...served]}`);
      // Different openings hash to different replicas (the hash is fixed, so this is exact).
      const spread = new Set();
      for (let i = 0; i < 12; ++i) {
        const r = await chat(g, { model: 'sticky', messages: [{ role: 'user', content: `question number ${i}` }] });
        spread.add(r.headers.get('x-meridian-backend'));
      }
      assert.ok(spread.size >= 2, `12 prefixes all went to ${[...spread]}`);
    } finally {
      await stopCleanly(g, 'gateway');
      for (const s of sims) await s.stop();
    }
  });
});
