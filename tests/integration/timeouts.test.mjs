// Deadlines: upstream connect (a stalled TLS handshake), first byte, between chunks and total;
// and the client-side header and body deadlines (slow clients). Each deadline here is short and
// the stall behind it long, so "quick" means well under the stall (< 5 s), never a tight bound.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';

import {
  assertOpenAiError, chat, chatBody, chatStream, chunks, openRawSocket, simBackend, simStats, sleep, startGateway,
  startSilentServer, startSim, stopAll, stopCleanly, testConfig, waitUntil,
} from './lib.mjs';

const QUICK_MS = 5000;  // upper bound for "the deadline fired" (stalls last until the peer leaves)

let sim;

before(async () => {
  sim = await startSim(['--models', 'sim-small']);
});

after(async () => {
  await stopAll();
});

/** A gateway in front of the shared simulator with the given upstream timeouts and server settings. */
function gatewayWith({ timeouts = {}, server = {} } = {}) {
  return startGateway(testConfig({
    backends: [simBackend(sim, { id: 'sim-a', models: ['sim-small'] })],
    upstream_defaults: { timeouts },
    server,
  }));
}

async function timed(fn) {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** Waits until the simulator has counted `n` more client aborts than `before`. */
async function simSawAborts(before, n = 1) {
  return waitUntil(async () => (await simStats(sim)).client_aborts >= before + n,
    { timeoutMs: QUICK_MS, what: 'the simulator to see the upstream connection close' });
}

describe('upstream deadlines', () => {
  test('first_byte: a stalled upstream → 504 after ~300 ms, upstream connection closed', async (t) => {
    const g = await gatewayWith({ timeouts: { first_byte: '300ms' } });
    try {
      const aborts = (await simStats(sim)).client_aborts;
      const { value: r, ms } = await timed(() => chat(g, chatBody(), { headers: { 'x-sim-fault': 'stall-before' } }));
      t.diagnostic(`first_byte 300ms → 504 after ${ms.toFixed(0)} ms`);
      assert.equal(r.status, 504);
      const e = assertOpenAiError(r.json, { code: 'upstream_timeout', type: 'server_error' });
      assert.match(e.message, /first-byte timeout/);
      assert.ok(ms >= 250, `answered after ${ms.toFixed(0)} ms, before the 300 ms deadline`);
      assert.ok(ms < QUICK_MS, `answered after ${ms.toFixed(0)} ms`);
      await simSawAborts(aborts);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('first_byte on a stream request → 504 JSON before any event', async () => {
    const g = await gatewayWith({ timeouts: { first_byte: '300ms' } });
    try {
      const { value: s, ms } = await timed(() => chatStream(g, chatBody(), { headers: { 'x-sim-fault': 'stall-before' } }));
      assert.equal(s.status, 504);
      assert.match(s.headers.get('content-type'), /^application\/json/);
      assertOpenAiError(JSON.parse(s.error), { code: 'upstream_timeout' });
      assert.ok(ms < QUICK_MS);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('one request timing out at first byte does not take the backend out of rotation', async () => {
    const g = await gatewayWith({ timeouts: { first_byte: '300ms' } });
    try {
      const r = await chat(g, chatBody(), { headers: { 'x-sim-fault': 'stall-before' } });
      assert.equal(r.status, 504);
      const next = await chat(g, chatBody());
      assert.equal(next.status, 200, `next request: ${next.status} ${next.text}`);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('a first-byte timeout is not re-sent to the next backend (the request was already delivered)', async () => {
    const other = await startSim(['--name', 'other', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [simBackend(sim, { id: 'one', models: ['sim-small'] }), simBackend(other, { id: 'two' })],
      upstream_defaults: { timeouts: { first_byte: '300ms' } },
      routing: { strategy: 'priority' },
    }));
    try {
      const before = (await simStats(other)).paths.chat_completions;
      const r = await chat(g, chatBody(), { headers: { 'x-sim-fault': 'stall-before' } });
      assert.equal(r.status, 504);
      assert.equal((await simStats(other)).paths.chat_completions, before, 'the second backend received the request too');
    } finally {
      await stopCleanly(g, 'gateway');
      await other.stop();
    }
  });

  test('between_chunks: a stream that stalls mid-way ends with an error event after ~300 ms', async (t) => {
    const g = await gatewayWith({ timeouts: { between_chunks: '300ms' } });
    try {
      const aborts = (await simStats(sim)).client_aborts;
      const { value: s, ms } = await timed(() => chatStream(g, chatBody(), { headers: { 'x-sim-fault': 'stall-during' } }));
      t.diagnostic(`between_chunks 300ms → error event after ${ms.toFixed(0)} ms`);
      assert.equal(s.status, 200);
      assert.ok(ms < QUICK_MS, `stream ended after ${ms.toFixed(0)} ms`);
      assert.ok(ms >= 250);
      assert.equal(s.events.length, 2, `role chunk + error: ${JSON.stringify(s.events.map((e) => e.data))}`);
      assert.equal(chunks(s.events.slice(0, 1))[0].choices[0].delta.role, 'assistant');
      const err = JSON.parse(s.events.at(-1).data);
      const e = assertOpenAiError(err, { code: 'upstream_timeout', type: 'server_error' });
      assert.match(e.message, /between-chunk timeout/);
      await simSawAborts(aborts);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('total: a slow stream is cut with an error event after ~500 ms', async (t) => {
    const g = await gatewayWith({ timeouts: { total: '500ms' } });
    try {
      // 20 tokens at 5 tokens/s: 4 s of streaming, each gap (200 ms) well inside between_chunks.
      const { value: s, ms } = await timed(() => chatStream(g, chatBody(), {
        headers: { 'x-sim-tps': '5', 'x-sim-output-tokens': '20' },
      }));
      t.diagnostic(`total 500ms → stream cut after ${ms.toFixed(0)} ms with ${s.events.length - 1} chunks relayed`);
      assert.equal(s.status, 200);
      assert.ok(ms >= 450 && ms < QUICK_MS, `stream ended after ${ms.toFixed(0)} ms`);
      assert.ok(s.events.length >= 3, 'some tokens were relayed before the deadline');
      assert.ok(s.events.every((e) => e.data !== '[DONE]'));
      const e = assertOpenAiError(JSON.parse(s.events.at(-1).data), { code: 'upstream_timeout' });
      assert.match(e.message, /total timeout/);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('total: a slow non-streaming answer → 504 after ~500 ms', async () => {
    const g = await gatewayWith({ timeouts: { total: '500ms' } });
    try {
      const { value: r, ms } = await timed(() => chat(g, chatBody(), { headers: { 'x-sim-tps': '5', 'x-sim-output-tokens': '20' } }));
      assert.equal(r.status, 504);
      const e = assertOpenAiError(r.json, { code: 'upstream_timeout' });
      assert.match(e.message, /total timeout/);
      assert.ok(ms >= 450 && ms < QUICK_MS, `answered after ${ms.toFixed(0)} ms`);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('connect: a TLS handshake that never completes → 504 after ~300 ms', async (t) => {
    const silent = await startSilentServer();
    const g = await startGateway(testConfig({
      backends: [{
        id: 'tls-stall', provider: 'openai', base_url: `https://127.0.0.1:${silent.port}/v1`, models: ['sim-small'],
        tier: 'cloud', timeouts: { connect: '300ms' },
      }],
    }));
    try {
      const { value: r, ms } = await timed(() => chat(g, chatBody()));
      t.diagnostic(`connect 300ms (stalled TLS handshake) → ${r.status} after ${ms.toFixed(0)} ms`);
      assert.equal(r.status, 504);
      const e = assertOpenAiError(r.json, { code: 'upstream_timeout', type: 'server_error' });
      assert.match(e.message, /TLS handshake .* timed out/);
      assert.ok(ms >= 250 && ms < QUICK_MS, `answered after ${ms.toFixed(0)} ms`);
      assert.equal(silent.connections(), 1);
    } finally {
      await stopCleanly(g, 'gateway (TLS stall)');
      await silent.close();
    }
  });
});

describe('client deadlines', () => {
  const HEAD = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-1\r\n'
    + 'Content-Type: application/json\r\nX-Padding: ' + 'p'.repeat(60) + '\r\n\r\n';

  let g;
  before(async () => {
    g = await gatewayWith({ server: { header_timeout: '500ms', body_timeout: '500ms' } });
  });
  after(async () => {
    if (g) await stopCleanly(g, 'gateway (client deadlines)');
  });

  async function stillServes() {
    const r = await chat(g, chatBody());
    assert.equal(r.status, 200);
  }

  test('slowloris: a head trickling in slower than header_timeout → connection closed, no answer', async (t) => {
    const conn = await openRawSocket(g.port);
    const start = performance.now();
    let writing = true;
    // One byte every 50 ms: the full head would take ~8 s.
    const writer = (async () => {
      for (let i = 0; i < HEAD.length && writing; i++) {
        if (!(await conn.write(HEAD[i]))) break;
        await sleep(50);
      }
    })();
    const closed = await conn.waitClose(QUICK_MS);
    const ms = performance.now() - start;
    writing = false;
    await writer;
    conn.destroy();
    t.diagnostic(`header_timeout 500ms → closed after ${ms.toFixed(0)} ms`);
    assert.ok(closed, 'the server kept the slow connection open');
    assert.ok(ms >= 450, `closed after ${ms.toFixed(0)} ms, before the deadline`);
    assert.equal(conn.received(), '', 'no response can be sent on a timed-out head');
    await stillServes();
  });

  test('the header deadline runs from the accept, not from the first byte', async (t) => {
    const conn = await openRawSocket(g.port);
    const start = performance.now();
    // A client that waits 450 ms before its first byte, then trickles: with the deadline
    // restarted at the first byte it could keep the connection ~950 ms.
    await sleep(450);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < HEAD.length && writing; i++) {
        if (!(await conn.write(HEAD[i]))) break;
        await sleep(20);
      }
    })();
    const closed = await conn.waitClose(QUICK_MS);
    const ms = performance.now() - start;
    writing = false;
    await writer;
    conn.destroy();
    t.diagnostic(`header_timeout 500ms, first byte at 450 ms → closed after ${ms.toFixed(0)} ms`);
    assert.ok(closed);
    assert.equal(conn.received(), '');
    assert.ok(ms < 800, `closed ${ms.toFixed(0)} ms after connect; the head deadline is 500 ms`);
    await stillServes();
  });

  test('a connection that never sends anything is closed after header_timeout', async () => {
    const conn = await openRawSocket(g.port);
    const start = performance.now();
    const closed = await conn.waitClose(QUICK_MS);
    const ms = performance.now() - start;
    conn.destroy();
    assert.ok(closed);
    assert.ok(ms >= 450 && ms < QUICK_MS, `closed after ${ms.toFixed(0)} ms`);
    assert.equal(conn.received(), '');
    await stillServes();
  });

  test('a body shorter than its Content-Length → connection closed after body_timeout', async (t) => {
    const conn = await openRawSocket(g.port);
    const head = HEAD.replace('\r\n\r\n', '\r\nContent-Length: 1000\r\n\r\n');
    const start = performance.now();
    await conn.write(head + '{"model":"sim-small","messages":[');
    const closed = await conn.waitClose(QUICK_MS);
    const ms = performance.now() - start;
    conn.destroy();
    t.diagnostic(`body_timeout 500ms → closed after ${ms.toFixed(0)} ms`);
    assert.ok(closed, 'the server kept waiting for the body');
    assert.ok(ms >= 450, `closed after ${ms.toFixed(0)} ms`);
    assert.equal(conn.received(), '');
    await stillServes();
  });
});
