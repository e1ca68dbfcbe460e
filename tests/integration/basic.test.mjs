// The gateway's plain request paths against one simulator: chat, aliases, embeddings, models,
// auth, request ids, health, readiness, metrics and routing errors.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CHAT, EMBEDDINGS, TEST_KEY, accessLog, assertOpenAiError, chat, chatBody, freePort, get, metric, metrics,
  openRawSocket, parseHttpResponse, post, readAll, simStats, startGateway, startStack, stopAll, stopCleanly, testConfig, waitForAccessLog, waitUntil,
} from './lib.mjs';

const REQ_ID_RE = /^req_[0-9a-f]{32}$/;

let sim;
let gw;

before(async () => {
  ({ sim, gw } = await startStack());
});

after(async () => {
  try {
    if (gw) await stopCleanly(gw, 'gateway');
  } finally {
    await stopAll();
  }
});

/** The same request sent straight to the simulator (no key needed there). */
async function direct(path, body) {
  return readAll(await fetch(`${sim.url}${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  }));
}

describe('chat completions', () => {
  test('non-streaming answer is the upstream body, byte for byte, with gateway headers', async () => {
    const body = chatBody('Tell me about lighthouses.');
    const viaGateway = await chat(gw, body);
    const straight = await direct(CHAT, body);
    assert.equal(straight.status, 200);
    assert.equal(viaGateway.status, 200);
    assert.equal(viaGateway.text, straight.text);
    assert.equal(viaGateway.json.object, 'chat.completion');
    assert.equal(viaGateway.json.model, 'sim-small');
    assert.ok(viaGateway.json.choices[0].message.content.length > 0);
    const h = viaGateway.headers;
    assert.match(h.get('content-type'), /^application\/json/);
    assert.match(h.get('x-request-id'), REQ_ID_RE);
    assert.equal(h.get('x-meridian-backend'), 'sim-a');
    assert.equal(h.get('x-meridian-provider'), 'simulator');
    assert.equal(h.get('x-meridian-attempts'), '1');
  });

  test('an alias resolves to its model', async () => {
    const viaAlias = await chat(gw, { ...chatBody('alias check'), model: 'fast' });
    const straight = await direct(CHAT, chatBody('alias check'));
    assert.equal(viaAlias.status, 200);
    // The upstream was asked for the real model, so the answer is the real model's answer.
    assert.equal(viaAlias.text, straight.text);
    assert.equal(viaAlias.json.model, 'sim-small');
    assert.equal(viaAlias.headers.get('x-meridian-backend'), 'sim-a');
    const line = await waitForAccessLog(gw, viaAlias.headers.get('x-request-id'));
    assert.equal(line.model, 'fast');
    assert.equal(line.backend, 'sim-a');
    assert.equal(line.status, 200);
    assert.equal(line.route, 'chat_completions');
  });

  test('unknown model → 404 model_not_found listing the available models; upstream untouched', async () => {
    const before = (await simStats(sim)).requests_total;
    const r = await chat(gw, { ...chatBody(), model: 'no-such-model' });
    assert.equal(r.status, 404);
    const e = assertOpenAiError(r.json, { code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
    assert.match(e.message, /no-such-model/);
    assert.match(e.message, /Available models: fast, sim-embed, sim-small$/);
    assert.match(r.headers.get('x-request-id'), REQ_ID_RE);
    // /sim/stats counts itself once.
    assert.equal((await simStats(sim)).requests_total, before + 1);
  });
});

describe('embeddings', () => {
  test('embeddings are relayed byte for byte', async () => {
    const body = { model: 'sim-embed', input: ['first text', 'second text'] };
    const viaGateway = await readAll(await post(gw, EMBEDDINGS, body));
    const straight = await direct(EMBEDDINGS, body);
    assert.equal(viaGateway.status, 200);
    assert.equal(viaGateway.text, straight.text);
    assert.equal(viaGateway.json.object, 'list');
    assert.equal(viaGateway.json.data.length, 2);
    assert.equal(viaGateway.json.data[1].index, 1);
    assert.equal(viaGateway.headers.get('x-meridian-backend'), 'sim-a');
  });
});

describe('models', () => {
  test('GET /v1/models lists served models and aliases', async () => {
    const r = await get(gw, '/v1/models', { key: TEST_KEY });
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'list');
    const byId = Object.fromEntries(r.json.data.map((m) => [m.id, m]));
    assert.deepEqual(Object.keys(byId).sort(), ['fast', 'sim-embed', 'sim-small']);
    for (const m of r.json.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
      assert.equal(m.owned_by, 'meridian-simulator');
    }
    assert.equal(byId.fast.meridian_alias_for, 'sim-small');
    assert.equal(byId['sim-small'].meridian_alias_for, undefined);
  });

  test('GET /v1/models/{id} for a model, an alias and an unknown id', async () => {
    const m = await get(gw, '/v1/models/sim-small', { key: TEST_KEY });
    assert.equal(m.status, 200);
    assert.equal(m.json.id, 'sim-small');
    assert.equal(m.json.object, 'model');
    assert.equal(m.json.meridian_alias_for, undefined);

    const a = await get(gw, '/v1/models/fast', { key: TEST_KEY });
    assert.equal(a.status, 200);
    assert.equal(a.json.id, 'fast');
    assert.equal(a.json.meridian_alias_for, 'sim-small');

    const u = await get(gw, '/v1/models/nope', { key: TEST_KEY });
    assert.equal(u.status, 404);
    assertOpenAiError(u.json, { code: 'model_not_found', param: 'model' });
  });
});

describe('authentication', () => {
  for (const [name, headers] of [
    ['missing key', {}],
    ['wrong key', { Authorization: 'Bearer sk-wrong' }],
    ['not a bearer scheme', { Authorization: `Basic ${TEST_KEY}` }],
    ['empty bearer', { Authorization: 'Bearer ' }],
  ]) {
    test(`${name} → 401 invalid_api_key, never reaching the upstream`, async () => {
      const statsBefore = await simStats(sim);
      const r = await readAll(await fetch(`${gw.url}${CHAT}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(chatBody()),
      }));
      assert.equal(r.status, 401);
      assertOpenAiError(r.json, { code: 'invalid_api_key', type: 'invalid_request_error', param: null });
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      assert.equal(r.headers.get('x-meridian-backend'), null);
      const statsAfter = await simStats(sim);
      // Only the /sim/stats request itself was added.
      assert.equal(statsAfter.requests_total, statsBefore.requests_total + 1);
      assert.equal(statsAfter.paths.chat_completions, statsBefore.paths.chat_completions);
    });
  }

  test('GET /v1/models also requires the key', async () => {
    const r = await get(gw, '/v1/models');
    assert.equal(r.status, 401);
    assertOpenAiError(r.json, { code: 'invalid_api_key' });
  });
});

describe('request ids', () => {
  test('a valid client x-request-id is echoed and logged', async () => {
    const id = 'client-Req.42:abc_XYZ';
    const r = await chat(gw, chatBody(), { headers: { 'x-request-id': id } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-request-id'), id);
    const line = await waitForAccessLog(gw, id);
    assert.equal(line.status, 200);
    assert.equal(line.attempts, 1);
    assert.equal(line.prompt_tokens, r.json.usage.prompt_tokens);
    assert.equal(line.completion_tokens, r.json.usage.completion_tokens);
  });

  test('a 128-character id is accepted, a 129-character one is replaced', async () => {
    const ok = 'a'.repeat(128);
    const r1 = await chat(gw, chatBody(), { headers: { 'x-request-id': ok } });
    assert.equal(r1.headers.get('x-request-id'), ok);
    const r2 = await chat(gw, chatBody(), { headers: { 'x-request-id': 'a'.repeat(129) } });
    assert.match(r2.headers.get('x-request-id'), REQ_ID_RE);
  });

  test('an id with characters outside [A-Za-z0-9._:-] is replaced by a generated one', async () => {
    for (const bad of ['has space', 'semi;colon', 'slash/id', 'quote"d']) {
      const r = await chat(gw, chatBody(), { headers: { 'x-request-id': bad } });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('x-request-id'), REQ_ID_RE, `for ${JSON.stringify(bad)}`);
    }
  });

  test('generated ids are unique, also on error answers', async () => {
    const ids = new Set();
    for (let i = 0; i < 20; i++) {
      const r = await get(gw, '/v1/models', i % 2 ? { key: TEST_KEY } : {});
      const id = r.headers.get('x-request-id');
      assert.match(id, REQ_ID_RE);
      ids.add(id);
    }
    assert.equal(ids.size, 20);
  });
});

describe('operational endpoints', () => {
  test('/healthz → 200 ok without a key', async () => {
    const r = await get(gw, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok\n');
    assert.match(r.headers.get('x-request-id'), REQ_ID_RE);
  });

  test('HEAD /healthz: the head only, and the connection stays usable', async () => {
    const conn = await openRawSocket(gw.port);
    try {
      await conn.write('HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await conn.waitFor((d) => d.includes('\r\n\r\n'));
      const head = parseHttpResponse(conn.received());
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '3');
      // No body follows: the next request's answer comes right after the head.
      await conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.ok(await conn.waitClose(5000));
      const text = conn.received();
      const second = text.indexOf('HTTP/1.1', 1);
      assert.equal(text.slice(0, second).endsWith('\r\n\r\n'), true, JSON.stringify(text));
      const get = parseHttpResponse(text.slice(second));
      assert.equal(get.status, 200);
      assert.equal(get.body, 'ok\n');
    } finally {
      conn.destroy();
    }
  });

  test('/readyz → 200 with one healthy backend', async () => {
    const r = await get(gw, '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ready', healthy_backends: 1, backends: 1, store: 'ok' });
  });

  test('/readyz → 503 when no backend passes its health check', async () => {
    const deadPort = await freePort();
    const lonely = await startGateway(testConfig({
      backends: [{
        id: 'dead', provider: 'simulator', base_url: `http://127.0.0.1:${deadPort}/v1`, models: ['sim-small'],
        tier: 'local', health_check: { path: '/models', interval: '1s', timeout: '200ms' },
      }],
    }));
    try {
      const r = await get(lonely, '/readyz');
      assert.equal(r.status, 503);
      assert.deepEqual(r.json, { status: 'no_healthy_backend', healthy_backends: 0, backends: 1, store: 'ok' });
      const m = await metrics(lonely);
      assert.equal(metric(m, 'meridian_backend_healthy', { backend: 'dead' }), 0);
      // And a request for its model is answered 503 without waiting for a connect.
      const c = await chat(lonely, chatBody());
      assert.equal(c.status, 503);
      assertOpenAiError(c.json, { code: 'upstream_unavailable' });
    } finally {
      await stopCleanly(lonely, 'gateway (no healthy backend)');
    }
  });

  test('/metrics counts the traffic exactly', async () => {
    const m0 = await metrics(gw);
    const reqs = (s) => metric(s, 'meridian_requests_total', { route: 'chat_completions', status: '200', backend: 'sim-a' }) ?? 0;
    const count = (s) => metric(s, 'meridian_request_duration_seconds_count', { route: 'chat_completions' }) ?? 0;
    const completion = (s) => metric(s, 'meridian_tokens_total', { backend: 'sim-a', kind: 'completion' }) ?? 0;
    const prompt = (s) => metric(s, 'meridian_tokens_total', { backend: 'sim-a', kind: 'prompt' }) ?? 0;
    const okAttempts = (s) => metric(s, 'meridian_upstream_attempts_total', { backend: 'sim-a', outcome: 'ok' }) ?? 0;
    const notFound = (s) => metric(s, 'meridian_requests_total', { route: 'chat_completions', status: '404', backend: 'none' }) ?? 0;

    const K = 5;
    let completionTokens = 0;
    let promptTokens = 0;
    for (let i = 0; i < K; i++) {
      const r = await chat(gw, chatBody(`metrics request ${i}`));
      assert.equal(r.status, 200);
      completionTokens += r.json.usage.completion_tokens;
      promptTokens += r.json.usage.prompt_tokens;
    }
    assert.equal((await chat(gw, { ...chatBody(), model: 'nope' })).status, 404);

    // A request is recorded just after its answer is sent: wait for the last one to land.
    const m1 = await waitUntil(async () => {
      const s = await metrics(gw);
      return reqs(s) - reqs(m0) >= K && notFound(s) - notFound(m0) >= 1 ? s : null;
    }, { what: 'request counters' });
    assert.equal(reqs(m1) - reqs(m0), K);
    assert.equal(notFound(m1) - notFound(m0), 1);
    assert.equal(count(m1) - count(m0), K + 1);
    assert.equal(completion(m1) - completion(m0), completionTokens);
    assert.equal(prompt(m1) - prompt(m0), promptTokens);
    assert.equal(okAttempts(m1) - okAttempts(m0), K);
    const inf = metric(m1, 'meridian_request_duration_seconds_bucket', { route: 'chat_completions', le: '+Inf' });
    assert.equal(inf, count(m1));

    // Gauges: the /metrics request itself is in flight on its own open connection.
    assert.equal(metric(m1, 'meridian_in_flight_requests'), 1);
    assert.ok(metric(m1, 'meridian_open_connections') >= 1);
    assert.equal(metric(m1, 'meridian_backend_healthy', { backend: 'sim-a' }), 1);
    const idle = metric(m1, 'meridian_upstream_connections', { backend: 'sim-a', state: 'idle' });
    const open = metric(m1, 'meridian_upstream_connections', { backend: 'sim-a', state: 'open' });
    assert.ok(idle >= 1, 'finished exchanges leave pooled connections');
    assert.ok(open >= idle);
    const fresh = metric(m1, 'meridian_upstream_exchanges', { backend: 'sim-a', connection: 'new' });
    const reused = metric(m1, 'meridian_upstream_exchanges', { backend: 'sim-a', connection: 'reused' });
    assert.ok(fresh >= 1);
    assert.ok(reused >= 1, 'sequential requests reuse pooled upstream connections');

    const text = await (await fetch(`${gw.url}/metrics`)).text();
    for (const family of ['meridian_requests_total', 'meridian_request_duration_seconds', 'meridian_in_flight_requests',
      'meridian_open_connections', 'meridian_upstream_connections', 'meridian_upstream_exchanges',
      'meridian_upstream_attempts_total', 'meridian_backend_healthy', 'meridian_tokens_total']) {
      assert.match(text, new RegExp(`^# TYPE ${family} (counter|gauge|histogram)$`, 'm'), family);
      assert.match(text, new RegExp(`^# HELP ${family} .+$`, 'm'), family);
    }
    assert.match(text, /^# TYPE meridian_request_duration_seconds histogram$/m);
    assert.match(text, /^# TYPE meridian_requests_total counter$/m);
  });
});

describe('startup', () => {
  test('a second gateway on a port that is in use fails to start', async () => {
    const port = await freePort();
    const cfg = (id) => testConfig({
      backends: [{ id, provider: 'simulator', base_url: `${sim.url}/v1`, models: ['sim-small'], tier: 'local' }],
      server: { listen: `127.0.0.1:${port}`, workers: 1 },
    });
    const first = await startGateway(cfg('first'));
    let second;
    try {
      second = await startGateway(cfg('second')).catch((e) => e);
      if (!(second instanceof Error)) {
        // Show the damage: connections to the one port reach both processes.
        const seen = new Set();
        for (let i = 0; i < 20 && seen.size < 2; i++) {
          const r = await readAll(await fetch(`${first.url}${CHAT}`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json', Connection: 'close' },
            body: JSON.stringify(chatBody()),
          }));
          seen.add(r.headers.get('x-meridian-backend'));
        }
        assert.fail(`a second gateway started on 127.0.0.1:${port}, already in use; requests reached backends ${[...seen].join(', ')}`);
      }
      assert.match(second.message, /exited before listening/);
      assert.match(second.message, /cannot listen on 127\.0\.0\.1:\d+/);
    } finally {
      if (second && !(second instanceof Error)) await second.stop();
      await first.stop();
    }
  });
});

describe('routing errors', () => {
  test('unknown route → 404 not_found (with and without /v1)', async () => {
    const r1 = await get(gw, '/nope');
    assert.equal(r1.status, 404);
    assertOpenAiError(r1.json, { code: 'not_found' });
    const r2 = await get(gw, '/v1/nope', { key: TEST_KEY });
    assert.equal(r2.status, 404);
    assertOpenAiError(r2.json, { code: 'not_found' });
  });

  test('wrong method → 405 method_not_allowed', async () => {
    const r1 = await get(gw, CHAT, { key: TEST_KEY });
    assert.equal(r1.status, 405);
    assertOpenAiError(r1.json, { code: 'method_not_allowed' });
    const r2 = await readAll(await post(gw, '/v1/models', {}));
    assert.equal(r2.status, 405);
    assertOpenAiError(r2.json, { code: 'method_not_allowed' });
    const r3 = await get(gw, EMBEDDINGS, { key: TEST_KEY });
    assert.equal(r3.status, 405);
  });

  test('405 answers carry an Allow header (RFC 9110 §15.5.6)', async () => {
    const r = await get(gw, CHAT, { key: TEST_KEY });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
  });

  test('access-log lines are well-formed and a generated id is never logged twice', async () => {
    const r = await get(gw, '/healthz', { headers: { 'x-request-id': 'last-one' } });
    assert.equal(r.status, 200);
    await waitForAccessLog(gw, 'last-one');
    const lines = accessLog(gw);
    const ids = lines.map((l) => l.request_id);
    assert.equal(new Set(ids.filter((id) => REQ_ID_RE.test(id))).size, ids.filter((id) => REQ_ID_RE.test(id)).length,
      'a generated request id appears on more than one line');
    for (const l of lines) {
      assert.equal(typeof l.status, 'number');
      assert.equal(typeof l.duration_ms, 'number');
      assert.equal(typeof l.route, 'string');
    }
  });
});
