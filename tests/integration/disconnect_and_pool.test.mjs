// A client that leaves mid-request makes the gateway close its upstream connection at once
// (the simulator sees the abort) and that connection never returns to the pool; finished
// exchanges return theirs, so sequential requests reuse one upstream connection.

import assert from 'node:assert/strict';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';

import {
  CHAT, TEST_KEY, chatBody, httpRequest, jsonHeaders, metric, metrics, openRawSocket, simBackend, simStats, startGateway,
  startSim, stopAll, stopCleanly, testConfig, waitForAccessLog, waitUntil, chat,
} from './lib.mjs';

let sim;

before(async () => {
  sim = await startSim(['--models', 'sim-small']);
});

after(async () => {
  await stopAll();
});

function gateway({ pool } = {}) {
  return startGateway(testConfig({
    backends: [simBackend(sim, { id: 'sim-a', models: ['sim-small'], ...(pool ? { pool } : {}) })],
    server: { workers: 1 },
  }));
}

const pool = (m, state) => metric(m, 'meridian_upstream_connections', { backend: 'sim-a', state });
const exchanges = (m, connection) => metric(m, 'meridian_upstream_exchanges', { backend: 'sim-a', connection });

function rawChat(body, headers) {
  const text = JSON.stringify(body);
  return `POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_KEY}\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n`
    + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + `\r\n${text}`;
}

describe('client disconnects', () => {
  // One token every 5 s after the first: once the first token is in, the simulator sleeps for
  // 5 s, so an abort it reports well before that came from the gateway closing the connection,
  // not from a failed write of the next token.
  const TOKEN_GAP_MS = 5000;

  /**
   * Starts a slow stream through a fresh gateway, waits for its first token, then leaves
   * (`how`: 'fin' or 'rst'). Returns what the simulator and gateway saw; the gateway is stopped.
   */
  async function leaveMidStream(how, requestId) {
    const g = await gateway();
    try {
      const s0 = await simStats(sim);
      const conn = await openRawSocket(g.port);
      await conn.write(rawChat({ ...chatBody('leave early'), stream: true },
        { 'x-sim-tps': String(1000 / TOKEN_GAP_MS), 'x-sim-output-tokens': '50', 'x-request-id': requestId }));
      // Role chunk and first token.
      await conn.waitFor((d) => (d.match(/data: /g) ?? []).length >= 2, 5000);
      const s1 = await simStats(sim);
      const m1 = await metrics(g);

      const left = performance.now();
      if (how === 'rst') conn.socket.resetAndDestroy(); else conn.destroy();
      const s2 = await waitUntil(async () => {
        const s = await simStats(sim);
        return s.client_aborts > s0.client_aborts ? s : null;
      }, { timeoutMs: TOKEN_GAP_MS * 2, intervalMs: 5, what: 'the simulator to count the abort' });
      const delay = performance.now() - left;

      const line = await waitForAccessLog(g, requestId);
      const m2 = await waitUntil(async () => {
        const m = await metrics(g);
        return pool(m, 'open') === 0 ? m : null;
      }, { what: 'the aborted upstream connection to be closed' });

      // The next request opens a new connection rather than reusing the aborted one.
      const next = await chat(g, chatBody());
      const m3 = await metrics(g);
      return { s0, s1, s2, m1, m2, m3, delay, line, next };
    } finally {
      await stopCleanly(g, 'gateway');
    }
  }

  for (const how of ['fin', 'rst']) {
    test(`mid-stream client ${how.toUpperCase()}: upstream closed at once and not pooled`, async (t) => {
      const o = await leaveMidStream(how, `leaver-${how}`);
      t.diagnostic(`client ${how.toUpperCase()} mid-stream → simulator saw the abort after ${o.delay.toFixed(1)} ms`);
      // While streaming: one upstream connection, in use.
      assert.equal(o.s1.streams_started, o.s0.streams_started + 1);
      assert.equal(o.s1.client_aborts, o.s0.client_aborts);
      assert.equal(pool(o.m1, 'open'), 1);
      assert.equal(pool(o.m1, 'idle'), 0);
      // After leaving: the simulator saw exactly this stream aborted, long before its next token.
      assert.equal(o.s2.client_aborts, o.s0.client_aborts + 1);
      assert.equal(o.s2.streams_completed, o.s0.streams_completed);
      assert.ok(o.delay < TOKEN_GAP_MS / 2, `abort seen after ${o.delay.toFixed(0)} ms: the upstream was not closed at once`);
      assert.equal(pool(o.m2, 'idle'), 0, 'the aborted connection must not be pooled');
      assert.equal(o.line.stream, true);
      assert.equal(o.next.status, 200);
      assert.equal(exchanges(o.m3, 'new'), 2);
      assert.equal(exchanges(o.m3, 'reused'), 0);
    });
  }

  test('a mid-stream client disconnect is recorded as 499, not as a successful 200', async () => {
    const o = await leaveMidStream('fin', 'leaver-status');
    assert.equal(o.line.status, 499, `access log: ${JSON.stringify(o.line)}`);
    assert.equal(metric(o.m2, 'meridian_requests_total', { route: 'chat_completions', status: '499', backend: 'sim-a' }), 1);
  });

  test('disconnect while waiting for the first byte: upstream closed at once', async (t) => {
    const g = await gateway();
    try {
      const s0 = await simStats(sim);
      const conn = await openRawSocket(g.port);
      await conn.write(rawChat(chatBody('slow start'), { 'x-sim-ttft-ms': '10000', 'x-request-id': 'early-leaver' }));
      // No byte comes back before the simulator's 10 s ttft: wait until the gateway has the
      // upstream connection open (the request is with the simulator).
      await waitUntil(async () => pool(await metrics(g), 'open') === 1, { what: 'the upstream exchange to start' });
      await waitUntil(async () => (await simStats(sim)).paths.chat_completions > s0.paths.chat_completions,
        { what: 'the simulator to receive the request' });
      const left = performance.now();
      conn.destroy();
      await waitUntil(async () => (await simStats(sim)).client_aborts > s0.client_aborts,
        { timeoutMs: 10000, intervalMs: 5, what: 'the simulator to count the abort' });
      const delay = performance.now() - left;
      t.diagnostic(`client left before the first byte → simulator saw the abort after ${delay.toFixed(1)} ms`);
      assert.ok(delay < 5000, `abort seen after ${delay.toFixed(0)} ms`);
      const line = await waitForAccessLog(g, 'early-leaver');
      assert.equal(line.status, 499);
      const m = await waitUntil(async () => {
        const x = await metrics(g);
        return pool(x, 'open') === 0 ? x : null;
      }, { what: 'the upstream connection to be closed' });
      assert.equal(pool(m, 'idle'), 0);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });
});

describe('upstream connection pool', () => {
  const N = 10;

  test(`${N} sequential requests on one client connection use one upstream connection`, async () => {
    const g = await gateway();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ports = new Set();
      for (let i = 0; i < N; i++) {
        const body = JSON.stringify(chatBody(`pooled ${i}`));
        const r = await httpRequest(g.port, { method: 'POST', path: CHAT, headers: jsonHeaders(body), body, agent });
        assert.equal(r.status, 200);
        ports.add(r.localPort);
      }
      assert.equal(ports.size, 1, 'the client connection itself was kept alive');
      const m = await metrics(g);
      assert.equal(exchanges(m, 'new'), 1);
      assert.equal(exchanges(m, 'reused'), N - 1);
      assert.equal(pool(m, 'idle'), 1);
      assert.equal(pool(m, 'open'), 1);
    } finally {
      agent.destroy();
      await stopCleanly(g, 'gateway');
    }
  });

  test(`${N} sequential streams reuse one upstream connection too`, async () => {
    const g = await gateway();
    try {
      for (let i = 0; i < N; i++) {
        const res = await fetch(`${g.url}${CHAT}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ ...chatBody(`stream ${i}`), stream: true }),
        });
        assert.equal(res.status, 200);
        assert.match(await res.text(), /data: \[DONE\]\n\n$/);
        // The stream's last upstream bytes are read after the client's stream ended: the next
        // request waits until the connection is back in the pool, or (on a loaded machine) it
        // could find the pool empty and open a second one.
        await waitUntil(async () => pool(await metrics(g), 'idle') === 1, { what: `stream ${i}'s connection back in the pool` });
      }
      const m = await waitUntil(async () => {
        const x = await metrics(g);
        return exchanges(x, 'new') + exchanges(x, 'reused') === N && pool(x, 'idle') === 1 ? x : null;
      }, { what: 'the last stream to return its connection' });
      assert.equal(exchanges(m, 'new'), 1);
      assert.equal(exchanges(m, 'reused'), N - 1);
      assert.equal(pool(m, 'open'), 1);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('error answers with a body keep the connection reusable', async () => {
    const g = await gateway();
    try {
      for (const fault of ['429', '500', '503', 'none']) {
        const r = await chat(g, chatBody(), { headers: { 'x-sim-fault': fault } });
        assert.equal(r.status, { 429: 429, 500: 500, 503: 503, none: 200 }[fault]);
      }
      const m = await metrics(g);
      assert.equal(exchanges(m, 'new'), 1);
      assert.equal(exchanges(m, 'reused'), 3);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('pool.max_idle 0 disables reuse', async () => {
    const g = await gateway({ pool: { max_idle: 0 } });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await chat(g, chatBody())).status, 200);
      const m = await waitUntil(async () => {
        const x = await metrics(g);
        return pool(x, 'open') === 0 ? x : null;
      }, { what: 'unpooled connections to close' });
      assert.equal(exchanges(m, 'new'), 4);
      assert.equal(exchanges(m, 'reused'), 0);
      assert.equal(pool(m, 'idle'), 0);
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });

  test('a pooled connection the upstream closed is replaced transparently', async () => {
    const own = await startSim(['--name', 'restartable', '--models', 'sim-small']);
    const g = await startGateway(testConfig({ backends: [simBackend(own, { id: 'sim-a' })], server: { workers: 1 } }));
    try {
      assert.equal((await chat(g, chatBody())).status, 200);
      assert.equal(pool(await metrics(g), 'idle'), 1);
      // Restart the simulator on the same port: the pooled connection is now dead.
      await own.stop();
      const again = await startSim(['--listen', `127.0.0.1:${own.port}`, '--name', 'restarted', '--models', 'sim-small']);
      try {
        const r = await chat(g, chatBody());
        assert.equal(r.status, 200, r.text);
        const m = await metrics(g);
        assert.equal(exchanges(m, 'new'), 2);
      } finally {
        await again.stop();
      }
    } finally {
      await stopCleanly(g, 'gateway');
    }
  });
});
