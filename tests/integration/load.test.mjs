// 1,000 concurrent streams through one gateway (2 workers) to one simulator (2 threads): every
// stream completes with the right text, nothing leaks (connections, in-flight count), the
// sanitizers stay silent, and the gateway still serves afterwards.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';

import {
  CHAT, TEST_KEY, chat, chatBody, chunks, deltaText, get, metric, metrics, readSse, simBackend, simStats, startGateway,
  startSim, stopAll, stopCleanly, testConfig, waitUntil, watchSanitizer,
} from './lib.mjs';

const STREAMS = 1000;
const PROMPTS = 25;
const TOKENS = 8;
const TPS = 40;  // 8 tokens: ~175 ms of pacing per stream

let sim;
let gw;
let sanitizer;

before(async () => {
  sim = await startSim(['--threads', '2', '--models', 'sim-small', '--output-tokens', String(TOKENS), '--tps', String(TPS)]);
  gw = await startGateway(testConfig({
    backends: [simBackend(sim, { id: 'sim-a' })],
    server: { workers: 2 },
  }));
  sanitizer = watchSanitizer(gw);
});

after(async () => {
  try {
    if (gw) await stopCleanly(gw, 'gateway');
  } finally {
    await stopAll();
  }
});

test(`${STREAMS} concurrent streams all complete with the right content`, async (t) => {
  // The expected answer of each prompt, from the simulator directly.
  const expected = [];
  for (let p = 0; p < PROMPTS; p++) {
    const res = await fetch(`${sim.url}${CHAT}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-sim-tps': '0' },
      body: JSON.stringify(chatBody(`load prompt ${p}`)),
    });
    assert.equal(res.status, 200);
    expected.push((await res.json()).choices[0].message.content);
  }
  const sim0 = await simStats(sim);
  const m0 = await metrics(gw);

  // fetch's default dispatcher opens as many connections as there are requests in flight.
  const start = performance.now();
  // Samples the gateway's gauges while the load runs (for the report only).
  let peakInFlight = 0;
  let peakConnections = 0;
  let loading = true;
  const sampler = (async () => {
    while (loading) {
      try {
        const m = await metrics(gw);
        peakInFlight = Math.max(peakInFlight, metric(m, 'meridian_in_flight_requests'));
        peakConnections = Math.max(peakConnections, metric(m, 'meridian_open_connections'));
      } catch { /* the report is best effort */ }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const results = await Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
    const p = i % PROMPTS;
    try {
      const res = await fetch(`${gw.url}${CHAT}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...chatBody(`load prompt ${p}`), stream: true }),
      });
      if (res.status !== 200) return { i, error: `status ${res.status}: ${await res.text()}` };
      const events = await readSse(res);
      return { i, p, events };
    } catch (e) {
      return { i, error: String(e?.cause ?? e) };
    }
  }));
  const elapsed = performance.now() - start;
  loading = false;
  await sampler;

  const failures = results.filter((r) => r.error);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${STREAMS} streams failed`);
  let wrong = 0;
  for (const r of results) {
    const ok = r.events.at(-1)?.data === '[DONE]'
      && deltaText(chunks(r.events)) === expected[r.p]
      && chunks(r.events).every((c) => !Object.hasOwn(c, 'usage'));
    if (!ok) wrong++;
  }
  assert.equal(wrong, 0, `${wrong} streams had wrong content or no [DONE]`);

  // Every stream reached the simulator once and completed there; none was aborted.
  const sim1 = await simStats(sim);
  assert.equal(sim1.streams_completed - sim0.streams_completed, STREAMS);
  assert.equal(sim1.client_aborts - sim0.client_aborts, 0);

  // Counters settle: all recorded as 200, nothing left in flight, no upstream connection leaked.
  const ok200 = (m) => metric(m, 'meridian_requests_total', { route: 'chat_completions', status: '200', backend: 'sim-a' }) ?? 0;
  const m1 = await waitUntil(async () => {
    const m = await metrics(gw);
    const idle = metric(m, 'meridian_upstream_connections', { backend: 'sim-a', state: 'idle' });
    const open = metric(m, 'meridian_upstream_connections', { backend: 'sim-a', state: 'open' });
    return ok200(m) - ok200(m0) === STREAMS && metric(m, 'meridian_in_flight_requests') === 1 && open === idle ? m : null;
  }, { timeoutMs: 10000, intervalMs: 50, what: 'counters to settle after the load' });
  const fresh = metric(m1, 'meridian_upstream_exchanges', { backend: 'sim-a', connection: 'new' });
  const idle = metric(m1, 'meridian_upstream_connections', { backend: 'sim-a', state: 'idle' });
  assert.ok(idle <= 2 * 64, `idle upstream connections ${idle} exceed pool.max_idle × workers`);
  t.diagnostic(`${STREAMS} streams in ${elapsed.toFixed(0)} ms; peak in flight ${peakInFlight}, peak client connections `
    + `${peakConnections}; upstream connections opened ${fresh}, idle after ${idle}`);

  assert.deepEqual(sanitizer.reports, []);
});

test('the gateway still serves after the load, with no sanitizer report', async () => {
  const h = await get(gw, '/healthz');
  assert.equal(h.status, 200);
  const r = await chat(gw, chatBody('after the storm'), { headers: { 'x-sim-tps': '0' } });
  assert.equal(r.status, 200);
  assert.equal(r.json.choices[0].message.content.split(' ').length, TOKENS);
  assert.deepEqual(sanitizer.reports, []);
});
