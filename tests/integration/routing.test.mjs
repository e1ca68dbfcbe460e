// The router in the request path (docs/routing.md): strategies chosen per alias, the circuit
// breaker taking a failing backend out of the plan, the request deadline, and the audit record
// naming what was skipped. Through the real binaries against simulators.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import path from 'node:path';

import {
  chat, chatBody, chatStream, gatewayBin, metric, metrics, repoRoot, simBackend, simStats, startGateway, startSim, stopAll,
  stopCleanly, testConfig, waitForStderr, writeTempConfig,
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

describe('outlier ejection', () => {
  test('the periodic sweep ejects a backend far slower than the rest of its pool: it leaves the rotation', async () => {
    const sims = [];
    for (const name of ['a', 'b', 'slow']) {
      sims.push(await startSim(['--name', name, '--models', 'sim-small', ...(name === 'slow' ? ['--ttft-ms', '150'] : [])]));
    }
    const g = await startGateway(testConfig({
      backends: sims.map((sim, i) => simBackend(sim, { id: ['a', 'b', 'slow'][i], models: ['sim-small'] })),
      // Weighted (random, equal weights) so that every backend gathers samples; the sweep runs
      // every 100 ms and judges a backend from 5 samples on.
      routing: { strategy: 'weighted', outliers: { interval: '100ms', min_samples: 5, base_ejection: '60s' } },
    }));
    try {
      for (let i = 0; i < 90; ++i) assert.equal((await chat(g, chatBody())).status, 200);
      // Await the sweep's verdict (it runs on its own timer and logs each ejection).
      await waitForStderr(g, (text) => text.includes("outlier sweep: backend 'slow' ejected for model 'sim-small'"), 20000);
      const m = await metrics(g);
      assert.equal(metric(m, 'meridian_outlier_ejections_total', { backend: 'slow', model: 'sim-small' }), 1);
      assert.equal(metric(m, 'meridian_outlier_ejections_total', { backend: 'a' }), undefined);
      assert.equal(metric(m, 'meridian_outlier_ejections_total', { backend: 'b' }), undefined);
      assert.equal(metric(m, 'meridian_breaker_state', { backend: 'slow', model: 'sim-small', state: 'open' }), 1);
      const before = (await simStats(sims[2])).paths.chat_completions;
      for (let i = 0; i < 20; ++i) {
        const r = await chat(g, chatBody());
        assert.equal(r.status, 200);
        assert.notEqual(r.headers.get('x-meridian-backend'), 'slow');
      }
      assert.equal((await simStats(sims[2])).paths.chat_completions, before);
      assert.doesNotMatch(g.stderr(), /outlier sweep: backend '(a|b)'/);
    } finally {
      await stopCleanly(g, 'gateway');
      for (const sim of sims) await sim.stop();
    }
  });
});

describe('hedged requests', () => {
  // The primary (priority: first configured) answers at once until a request slows it down with
  // x-sim-for: slow; the hedge then goes to the second backend after min_delay (50 ms), since the
  // primary's 95th-percentile time to a response head is a few milliseconds.
  async function warmUp(g, model, n = 8) {
    for (let i = 0; i < n; ++i) {
      const r = await chat(g, chatBody('warm', { model }));
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-backend'), 'slow');
    }
  }

  async function waitForAborts(sim, n) {
    for (;;) {
      const stats = await simStats(sim);
      if (stats.client_aborts >= n) return stats.client_aborts;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  test('a late first head launches a hedge on the next backend; the first head wins and the loser is cancelled', async () => {
    const slow = await startSim(['--name', 'slow', '--models', 'sim-small']);
    const fast = await startSim(['--name', 'fast', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [simBackend(slow, { id: 'slow', models: ['sim-small'] }), simBackend(fast, { id: 'fast', models: ['sim-small'] })],
      routing: { strategy: 'priority' },
      aliases: {
        quick: { target: 'sim-small', hedge: { quantile: 0.95, min_delay: '50ms', max_delay: '2s' } },
        patient: { target: 'sim-small' },
      },
    }));
    try {
      await warmUp(g, 'quick');
      const slowDown = { 'x-sim-for': 'slow', 'x-sim-ttft-ms': '30000' };
      const r = await chat(g, chatBody('hello', { model: 'quick' }), { headers: slowDown });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-backend'), 'fast');
      assert.equal(r.headers.get('x-meridian-attempts'), '2');
      assert.equal(await waitForAborts(slow, 1), 1);  // the losing attempt's connection was closed

      // Streamed: the race is on the response head, the same way.
      const s = await chatStream(g, chatBody('hello', { model: 'quick' }), { headers: slowDown });
      assert.equal(s.status, 200);
      assert.equal(s.headers.get('x-meridian-backend'), 'fast');
      assert.equal(s.headers.get('x-meridian-attempts'), '2');
      assert.equal(s.events.at(-1).data, '[DONE]');
      assert.equal(await waitForAborts(slow, 2), 2);

      // An alias without hedge waits for its first backend, however slow.
      const p = await chat(g, chatBody('hello', { model: 'patient' }),
        { headers: { 'x-sim-for': 'slow', 'x-sim-ttft-ms': '300' } });
      assert.equal(p.status, 200);
      assert.equal(p.headers.get('x-meridian-backend'), 'slow');
      assert.equal(p.headers.get('x-meridian-attempts'), '1');

      const m = await metrics(g);
      assert.equal(metric(m, 'meridian_hedges_total', { backend: 'fast', result: 'won' }), 2);
      assert.equal(metric(m, 'meridian_hedges_total', { backend: 'fast', result: 'lost' }), undefined);
      assert.equal((await simStats(fast)).paths.chat_completions, 2);
    } finally {
      await stopCleanly(g, 'gateway');
      await slow.stop();
      await fast.stop();
    }
  });

  test('a hedge that fails does not cut the first attempt: its answer is used', async () => {
    const slow = await startSim(['--name', 'slow', '--models', 'sim-small']);
    const broken = await startSim(['--name', 'broken', '--models', 'sim-small', '--fault', '500']);
    const g = await startGateway(testConfig({
      backends: [simBackend(slow, { id: 'slow', models: ['sim-small'] }),
        simBackend(broken, { id: 'broken', models: ['sim-small'] })],
      routing: { strategy: 'priority' },
      aliases: { quick: { target: 'sim-small', hedge: { min_delay: '50ms' } } },
    }));
    try {
      await warmUp(g, 'quick');
      const r = await chat(g, chatBody('hello', { model: 'quick' }),
        { headers: { 'x-sim-for': 'slow', 'x-sim-ttft-ms': '600' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-backend'), 'slow');
      assert.equal(r.headers.get('x-meridian-attempts'), '2');
      assert.equal((await simStats(broken)).responses_5xx, 1);
      const m = await metrics(g);
      assert.equal(metric(m, 'meridian_hedges_total', { backend: 'broken', result: 'lost' }), 1);
      assert.equal(metric(m, 'meridian_retries_total', { backend: 'broken', reason: 'status_500' }), 1);
    } finally {
      await stopCleanly(g, 'gateway');
      await slow.stop();
      await broken.stop();
    }
  });

  test('a hedge never leaves the eligible set: with one eligible backend there is none to hedge to', async () => {
    const slow = await startSim(['--name', 'slow', '--models', 'sim-small']);
    const fast = await startSim(['--name', 'fast', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [
        simBackend(slow, { id: 'slow', models: ['sim-small'], tier: 'cloud', jurisdiction: 'DE' }),
        simBackend(fast, { id: 'fast', models: ['sim-small'], tier: 'cloud', jurisdiction: 'US', vendor: 'openai' }),
      ],
      routing: { strategy: 'priority' },
      aliases: { quick: { target: 'sim-small', hedge: { min_delay: '50ms' } } },
      policies: [{ name: 'eu-personal-data', when: { data_classes: ['email'] }, require: { inference_jurisdiction: ['EU'] } }],
    }));
    try {
      await warmUp(g, 'quick');
      const slowDown = { 'x-sim-for': 'slow', 'x-sim-ttft-ms': '400' };
      // Personal data: only the German backend may serve it, so the late head is waited for.
      const r = await chat(g, chatBody('write to jane.doe@example.com', { model: 'quick' }), { headers: slowDown });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-backend'), 'slow');
      assert.equal(r.headers.get('x-meridian-attempts'), '1');
      assert.equal((await simStats(fast)).paths.chat_completions, 0);
      // Without it, a late head is hedged to the US backend. (The 400 ms above is now among the
      // primary's samples, so "late" is past it here.)
      const h = await chat(g, chatBody('hello', { model: 'quick' }),
        { headers: { 'x-sim-for': 'slow', 'x-sim-ttft-ms': '30000' } });
      assert.equal(h.headers.get('x-meridian-backend'), 'fast');
      assert.equal((await simStats(fast)).paths.chat_completions, 1);
    } finally {
      await stopCleanly(g, 'gateway');
      await slow.stop();
      await fast.stop();
    }
  });

  test('no hedge before the primary has enough samples to say what late is', async () => {
    const slow = await startSim(['--name', 'slow', '--models', 'sim-small']);
    const fast = await startSim(['--name', 'fast', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [simBackend(slow, { id: 'slow', models: ['sim-small'] }), simBackend(fast, { id: 'fast', models: ['sim-small'] })],
      routing: { strategy: 'priority' },
      aliases: { quick: { target: 'sim-small', hedge: true } },
    }));
    try {
      await warmUp(g, 'quick', 7);  // one short of the 8 samples a quantile needs
      const r = await chat(g, chatBody('hello', { model: 'quick' }),
        { headers: { 'x-sim-for': 'slow', 'x-sim-ttft-ms': '300' } });
      assert.equal(r.headers.get('x-meridian-backend'), 'slow');
      assert.equal(r.headers.get('x-meridian-attempts'), '1');
      assert.equal((await simStats(fast)).paths.chat_completions, 0);
    } finally {
      await stopCleanly(g, 'gateway');
      await slow.stop();
      await fast.stop();
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
