// SIGTERM drains: in-flight streams finish, new connections are refused, the process exits 0
// within shutdown_grace; when the grace is shorter than the streams, they are cut at the grace
// and the process still exits 0.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';

import {
  CHAT, TEST_KEY, assertNoSanitizerReport, chatBody, chunks, deltaText, probeConnection, simBackend, simStats,
  startGateway, startSim, stopAll, testConfig, waitExit, waitForStderr, waitUntil,
} from './lib.mjs';

let sim;

before(async () => {
  sim = await startSim(['--models', 'sim-small', '--threads', '2']);
});

after(async () => {
  await stopAll();
});

function gateway(grace) {
  return startGateway(testConfig({
    backends: [simBackend(sim, { id: 'sim-a' })],
    server: { workers: 2, shutdown_grace: grace },
  }));
}

/** Parses an SSE text into data payloads. */
function sseData(text) {
  return text.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice(6));
}

/**
 * Starts a streaming request. Returns {first, done}: `first` resolves when the first event
 * arrived; `done` resolves with {data: [...], endedAt, error} when the body ended or failed.
 */
function startStream(g, body, headers) {
  let onFirst;
  const first = new Promise((resolve) => { onFirst = resolve; });
  const done = (async () => {
    let text = '';
    try {
      const res = await fetch(`${g.url}${CHAT}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ ...body, stream: true }),
      });
      assert.equal(res.status, 200);
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        text += decoder.decode(chunk, { stream: true });
        if (text.includes('\n\n')) onFirst();
      }
      return { data: sseData(text), endedAt: performance.now() };
    } catch (e) {
      onFirst();
      return { data: sseData(text), endedAt: performance.now(), error: e };
    }
  })();
  return { first, done };
}

/** The simulator's non-streaming answer to `body` (at full speed). */
async function expectedText(body, tokens) {
  const res = await fetch(`${sim.url}${CHAT}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-sim-tps': '0', 'x-sim-output-tokens': String(tokens) },
    body: JSON.stringify(body),
  });
  return (await res.json()).choices[0].message.content;
}

describe('graceful shutdown', () => {
  test('SIGTERM: in-flight streams complete, new connections are refused, exit 0 within the grace', async (t) => {
    const GRACE_MS = 10000;
    const g = await gateway(`${GRACE_MS}ms`);
    let exited = false;
    try {
      const K = 5;
      const bodies = Array.from({ length: K }, (_, i) => chatBody(`drain me ${i}`));
      const expected = await Promise.all(bodies.map((b) => expectedText(b, 10)));
      // 10 tokens at 10 tokens/s: each stream runs for about a second.
      const streams = bodies.map((b) => startStream(g, b, { 'x-sim-tps': '10', 'x-sim-output-tokens': '10' }));
      await Promise.all(streams.map((s) => s.first));

      const signalled = performance.now();
      g.proc.kill('SIGTERM');
      await waitForStderr(g, (text) => /signal 15: draining/.test(text));

      // A new client gets no answer: its connection is refused, or closed without a byte while
      // the acceptors are being closed; soon every attempt is refused.
      const firstProbe = await probeConnection(g.port);
      assert.ok(firstProbe.refused || firstProbe.response === '',
        `a connection made after SIGTERM was served: ${JSON.stringify(firstProbe)}`);
      const refused = await waitUntil(async () => {
        const p = await probeConnection(g.port);
        assert.ok(p.refused || p.response === '', `served after SIGTERM: ${JSON.stringify(p)}`);
        return p.refused ? p : null;
      }, { timeoutMs: 3000, what: 'connections to be refused' });
      assert.equal(refused.code, 'ECONNREFUSED');

      const results = await Promise.all(streams.map((s) => s.done));
      for (const [i, r] of results.entries()) {
        assert.equal(r.error, undefined, `stream ${i} failed: ${r.error}`);
        assert.equal(r.data.at(-1), '[DONE]', `stream ${i} was cut`);
        assert.equal(deltaText(r.data.slice(0, -1).map((d) => JSON.parse(d))), expected[i]);
      }
      const lastStreamEnd = Math.max(...results.map((r) => r.endedAt));

      const { code, signal } = await waitExit(g);
      exited = true;
      const exitAt = performance.now();
      t.diagnostic(`streams finished ${(lastStreamEnd - signalled).toFixed(0)} ms after SIGTERM; `
        + `process exited ${(exitAt - signalled).toFixed(0)} ms after SIGTERM (grace ${GRACE_MS} ms)`);
      assert.equal(signal, null);
      assert.equal(code, 0, g.stderr().slice(-2000));
      assert.ok(exitAt >= lastStreamEnd, 'exited before the in-flight streams were done');
      assert.ok(exitAt - signalled < GRACE_MS, 'the drain took the whole grace though nothing was left');
      assert.match(g.stderr(), /stopped/);
      assertNoSanitizerReport(g.stderr(), 'gateway');
    } finally {
      if (!exited) await g.stop('SIGKILL');
    }
  });

  test('a grace shorter than the streams: they are cut at the grace and the process exits 0', async (t) => {
    const GRACE_MS = 500;
    const g = await gateway(`${GRACE_MS}ms`);
    let exited = false;
    try {
      const K = 3;
      const aborts0 = (await simStats(sim)).client_aborts;
      // 50 tokens at 10 tokens/s: 5 s each, far beyond the grace.
      const streams = Array.from({ length: K }, (_, i) => startStream(g, chatBody(`cut me ${i}`),
        { 'x-sim-tps': '10', 'x-sim-output-tokens': '50' }));
      await Promise.all(streams.map((s) => s.first));

      const signalled = performance.now();
      g.proc.kill('SIGTERM');
      const { code, signal } = await waitExit(g);
      exited = true;
      const took = performance.now() - signalled;
      t.diagnostic(`grace ${GRACE_MS} ms: exited ${took.toFixed(0)} ms after SIGTERM`);
      assert.equal(signal, null);
      assert.equal(code, 0, g.stderr().slice(-2000));
      assert.ok(took >= GRACE_MS * 0.9, `exited after ${took.toFixed(0)} ms, before the ${GRACE_MS} ms grace`);
      assert.ok(took < 5000, `exited ${took.toFixed(0)} ms after SIGTERM; the grace is ${GRACE_MS} ms`);
      assertNoSanitizerReport(g.stderr(), 'gateway');

      const results = await Promise.all(streams.map((s) => s.done));
      for (const [i, r] of results.entries()) {
        assert.notEqual(r.data.at(-1), '[DONE]', `stream ${i} completed though the grace was over`);
        assert.ok(r.data.length >= 2 && r.data.length < 50, `stream ${i} got ${r.data.length} events`);
      }
      // The upstream streams were closed with the gateway.
      await waitUntil(async () => (await simStats(sim)).client_aborts >= aborts0 + K,
        { what: 'the simulator to see the upstream streams closed' });
    } finally {
      if (!exited) await g.stop('SIGKILL');
    }
  });

  test('after serving authenticated requests the gateway exits 0 with no leak (sanitizer builds)', async () => {
    // LeakSanitizer on: every per-thread allocation must be released at exit.
    const g = await startGateway(testConfig({ backends: [simBackend(sim, { id: 'sim-a' })], server: { workers: 2 } }),
      { env: { LSAN_OPTIONS: 'detect_leaks=1' } });
    let exited = false;
    try {
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${g.url}${CHAT}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json', Connection: 'close' },
          body: JSON.stringify(chatBody()),
        });
        assert.equal(res.status, 200);
        await res.text();
      }
      g.proc.kill('SIGTERM');
      const { code } = await waitExit(g);
      exited = true;
      assertNoSanitizerReport(g.stderr(), 'gateway');
      assert.equal(code, 0);
    } finally {
      if (!exited) await g.stop('SIGKILL');
    }
  });

  test('an idle gateway exits 0 at once on SIGINT', async (t) => {
    const g = await gateway('10s');
    const signalled = performance.now();
    g.proc.kill('SIGINT');
    const { code, signal } = await waitExit(g);
    const took = performance.now() - signalled;
    t.diagnostic(`idle gateway: exited ${took.toFixed(0)} ms after SIGINT`);
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.ok(took < 5000, 'an idle gateway waited for its grace');
    assert.match(g.stderr(), /signal 2: draining/);
    assertNoSanitizerReport(g.stderr(), 'gateway');
  });
});
