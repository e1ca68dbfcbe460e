// Upstream failures as the client sees them: relayed error statuses and back-off headers,
// wrapped non-OpenAI bodies, resets and malformed answers (502 or a final SSE error event),
// refused connections (503) and falling back to the next backend serving the model.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import {
  CHAT, assertOpenAiError, chat, chatBody, chatStream, chunks, deltaText, freePort, metric, metrics, readAll,
  simBackend, simStats, startGateway, startSim, startStack, stopAll, stopCleanly, testConfig, waitForAccessLog,
  waitUntil,
} from './lib.mjs';

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

/** The same request straight to the simulator, with the same fault headers. */
async function direct(body, headers = {}) {
  return readAll(await fetch(`${sim.url}${CHAT}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body),
  }));
}

function lastError(events) {
  const last = events.at(-1);
  assert.ok(last, 'no events');
  assert.notEqual(last.data, '[DONE]', 'the stream must not claim success');
  const payload = JSON.parse(last.data);
  assert.ok(payload.error, `last event is not an error: ${last.data}`);
  return payload;
}

describe('upstream error statuses are relayed', () => {
  test('429: status, retry-after and the OpenAI body pass through', async () => {
    const headers = { 'x-sim-fault': '429', 'x-sim-retry-after': '7' };
    const r = await chat(gw, chatBody(), { headers });
    const straight = await direct(chatBody(), headers);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '7');
    assert.equal(r.text, straight.text);
    assertOpenAiError(r.json, { code: 'rate_limit_exceeded', type: 'requests' });
    assert.equal(r.headers.get('x-meridian-backend'), 'sim-a');
    assert.equal(r.headers.get('x-meridian-attempts'), '1');
    const line = await waitForAccessLog(gw, r.headers.get('x-request-id'));
    assert.equal(line.status, 429);
    assert.equal(line.error, 'upstream_status');
  });

  test('429 on a stream request is a JSON 429, not an event stream', async () => {
    const s = await chatStream(gw, chatBody(), { headers: { 'x-sim-fault': '429' } });
    assert.equal(s.status, 429);
    assert.match(s.headers.get('content-type'), /^application\/json/);
    assertOpenAiError(JSON.parse(s.error), { code: 'rate_limit_exceeded' });
  });

  test('500: status and body pass through', async () => {
    const r = await chat(gw, chatBody(), { headers: { 'x-sim-fault': '500' } });
    const straight = await direct(chatBody(), { 'x-sim-fault': '500' });
    assert.equal(r.status, 500);
    assert.equal(r.text, straight.text);
    assertOpenAiError(r.json, { type: 'server_error' });
    assert.equal(r.headers.get('retry-after'), null);
  });

  test('503: status, retry-after and body pass through', async () => {
    const r = await chat(gw, chatBody(), { headers: { 'x-sim-fault': '503', 'x-sim-retry-after': '3' } });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '3');
    assertOpenAiError(r.json, { code: 'service_unavailable', type: 'server_error' });
  });

  test('an upstream answer with a non-OpenAI error body is wrapped; back-off headers are kept', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(429, {
          'Content-Type': 'text/html',
          'Retry-After': '11',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '11s',
          'x-secret-internal': 'do-not-relay',
        });
        res.end('<html><body>slow down</body></html>');
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const g = await startGateway(testConfig({
      backends: [{ id: 'html', provider: 'vllm', base_url: `http://127.0.0.1:${port}/v1`, models: ['sim-small'], tier: 'local' }],
    }));
    try {
      const r = await chat(g, chatBody());
      assert.equal(r.status, 429);
      assertOpenAiError(r.json, { code: 'rate_limit_exceeded', type: 'requests' });
      assert.match(r.json.error.message, /html/);
      assert.equal(r.headers.get('retry-after'), '11');
      assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
      assert.equal(r.headers.get('x-ratelimit-reset-requests'), '11s');
      assert.equal(r.headers.get('x-secret-internal'), null);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.equal(r.headers.get('x-meridian-provider'), 'vllm');
    } finally {
      await stopCleanly(g, 'gateway (html backend)');
      server.close();
    }
  });

  test('x-sim-* headers reach only simulator backends', async () => {
    // The same simulator declared as a vLLM backend: the fault header must not be forwarded.
    const g = await startGateway(testConfig({
      backends: [simBackend(sim, { id: 'as-vllm', provider: 'vllm', models: ['sim-small'] })],
    }));
    try {
      const before = (await simStats(sim)).faults_injected;
      const r = await chat(g, chatBody(), { headers: { 'x-sim-fault': '500' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-provider'), 'vllm');
      assert.equal((await simStats(sim)).faults_injected, before);
    } finally {
      await stopCleanly(g, 'gateway (vllm provider)');
    }
  });
});

describe('broken upstream answers', () => {
  test('reset before the response → 502 upstream_error', async () => {
    const r = await chat(gw, chatBody(), { headers: { 'x-sim-fault': 'reset-before' } });
    assert.equal(r.status, 502);
    assertOpenAiError(r.json, { code: 'upstream_error', type: 'server_error' });
    // The gateway is fine afterwards.
    assert.equal((await chat(gw, chatBody())).status, 200);
  });

  test('non-streaming reset after the time to first token → 502', async () => {
    const r = await chat(gw, chatBody(), { headers: { 'x-sim-fault': 'reset-during', 'x-sim-ttft-ms': '50' } });
    assert.equal(r.status, 502);
    assertOpenAiError(r.json, { code: 'upstream_error' });
  });

  test('malformed (truncated) JSON body → 502 upstream_error', async () => {
    const r = await chat(gw, chatBody(), { headers: { 'x-sim-fault': 'malformed' } });
    assert.equal(r.status, 502);
    const e = assertOpenAiError(r.json, { code: 'upstream_error' });
    assert.match(e.message, /malformed/);
  });

  test('gateway-written upstream errors name the backend that was tried', async () => {
    const r = await chat(gw, chatBody(), { headers: { 'x-sim-fault': 'malformed' } });
    assert.equal(r.status, 502);
    assert.equal(r.headers.get('x-meridian-backend'), 'sim-a');
    assert.equal(r.headers.get('x-meridian-provider'), 'simulator');
    assert.equal(r.headers.get('x-meridian-attempts'), '1');
  });

  test('stream reset mid-way → content so far, then a final error event, no [DONE]', async () => {
    const s = await chatStream(gw, chatBody('reset me'), { headers: { 'x-sim-fault': 'reset-during', 'x-request-id': 'reset-during-1' } });
    assert.equal(s.status, 200);
    assert.equal(s.events.filter((e) => e.data === '[DONE]').length, 0);
    const err = lastError(s.events);
    assertOpenAiError(err, { code: 'upstream_error', type: 'server_error' });
    // The simulator resets after two tokens: those were relayed before the error.
    const before = chunks(s.events.slice(0, -1));
    const whole = await chat(gw, chatBody('reset me'));
    const text = deltaText(before);
    assert.ok(text.length > 0);
    assert.ok(whole.json.choices[0].message.content.startsWith(text));
    const line = await waitForAccessLog(gw, 'reset-during-1');
    assert.equal(line.status, 200);
    assert.equal(line.error, 'upstream_error');
  });

  test('stream with a malformed event → a final error event, no [DONE]', async () => {
    const s = await chatStream(gw, chatBody(), { headers: { 'x-sim-fault': 'malformed' } });
    assert.equal(s.status, 200);
    assert.equal(s.events.filter((e) => e.data === '[DONE]').length, 0);
    assert.equal(s.events.length, 1, `the broken event must not be relayed: ${JSON.stringify(s.events)}`);
    const e = assertOpenAiError(lastError(s.events), { code: 'upstream_error' });
    assert.match(e.message, /malformed/);
  });
});

describe('unreachable backends', () => {
  test('connection refused → 503 upstream_unavailable, and the backend cools down', async () => {
    const closed = await freePort();
    const g = await startGateway(testConfig({
      backends: [{ id: 'down', provider: 'simulator', base_url: `http://127.0.0.1:${closed}/v1`, models: ['sim-small'], tier: 'local' }],
    }));
    try {
      const r = await chat(g, chatBody());
      assert.equal(r.status, 503);
      const e = assertOpenAiError(r.json, { code: 'upstream_unavailable', type: 'server_error' });
      assert.match(e.message, /down/);
      const m = await metrics(g);
      assert.equal(metric(m, 'meridian_upstream_attempts_total', { backend: 'down', outcome: 'upstream_unavailable' }), 1);
      assert.equal(metric(m, 'meridian_backend_healthy', { backend: 'down' }), 0);
      // Within the cool-down the backend is not even tried.
      const again = await chat(g, chatBody());
      assert.equal(again.status, 503);
      assert.match(again.json.error.message, /no healthy backend/);
      const m2 = await metrics(g);
      assert.equal(metric(m2, 'meridian_upstream_attempts_total', { backend: 'down', outcome: 'upstream_unavailable' }), 1);
    } finally {
      await stopCleanly(g, 'gateway (refused backend)');
    }
  });

  test('the next backend serving the model answers when the first refuses connections', async () => {
    const closed = await freePort();
    const g = await startGateway(testConfig({
      backends: [
        { id: 'first-down', provider: 'simulator', base_url: `http://127.0.0.1:${closed}/v1`, models: ['sim-small'], tier: 'local' },
        simBackend(sim, { id: 'second-up', models: ['sim-small'] }),
      ],
    }));
    try {
      const r = await chat(g, chatBody('fallback'));
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-backend'), 'second-up');
      assert.equal(r.headers.get('x-meridian-attempts'), '2');
      assert.equal(r.text, (await direct(chatBody('fallback'))).text);
      const line = await waitForAccessLog(g, r.headers.get('x-request-id'));
      assert.equal(line.attempts, 2);
      assert.equal(line.backend, 'second-up');

      // Streams fall back too (nothing was sent yet), and the cooled-down backend is skipped.
      const s = await chatStream(g, chatBody('fallback'));
      assert.equal(s.status, 200);
      assert.equal(s.headers.get('x-meridian-backend'), 'second-up');
      assert.equal(s.headers.get('x-meridian-attempts'), '1');
      assert.equal(s.events.at(-1).data, '[DONE]');

      const m = await waitUntil(async () => {
        const x = await metrics(g);
        return metric(x, 'meridian_upstream_attempts_total', { backend: 'second-up', outcome: 'ok' }) === 2 ? x : null;
      }, { what: 'attempt counters' });
      assert.equal(metric(m, 'meridian_upstream_attempts_total', { backend: 'first-down', outcome: 'upstream_unavailable' }), 1);
    } finally {
      await stopCleanly(g, 'gateway (fallback)');
    }
  });

  test('a retryable upstream status (503) before the first byte goes to the next backend of the plan', async () => {
    // `one` always answers 503 with retry-after: 30; `two` is healthy. Priority routing tries
    // them in configuration order, so the first request meets the 503 and moves on.
    const bad = await startSim(['--name', 'bad', '--models', 'sim-small', '--fault', '503', '--retry-after', '30']);
    const other = await startSim(['--name', 'other', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [simBackend(bad, { id: 'one', models: ['sim-small'] }), simBackend(other, { id: 'two', models: ['sim-small'] })],
      routing: { strategy: 'priority' },
    }));
    try {
      const r = await chat(g, chatBody());
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-backend'), 'two');
      assert.equal(r.headers.get('x-meridian-attempts'), '2');
      assert.equal((await simStats(bad)).paths.chat_completions, 1);
      assert.equal((await simStats(other)).paths.chat_completions, 1);
      const m = await metrics(g);
      assert.equal(metric(m, 'meridian_retries_total', { backend: 'one', reason: 'status_503' }), 1);
      // Its retry-after put `one` on cool-down: the next request goes straight to `two`.
      const again = await chat(g, chatBody());
      assert.equal(again.status, 200);
      assert.equal(again.headers.get('x-meridian-backend'), 'two');
      assert.equal(again.headers.get('x-meridian-attempts'), '1');
      assert.equal((await simStats(bad)).paths.chat_completions, 1);
    } finally {
      await stopCleanly(g, 'gateway (two sims)');
      await bad.stop();
      await other.stop();
    }
  });

  test('a retryable status on every backend: the last answer is relayed after max_attempts', async () => {
    const other = await startSim(['--name', 'other', '--models', 'sim-small']);
    const third = await startSim(['--name', 'third', '--models', 'sim-small']);
    const g = await startGateway(testConfig({
      backends: [
        simBackend(sim, { id: 'one', models: ['sim-small'] }),
        simBackend(other, { id: 'two', models: ['sim-small'] }),
        simBackend(third, { id: 'three', models: ['sim-small'] }),
      ],
      routing: { strategy: 'priority', max_attempts: 2 },
    }));
    try {
      const before = (await simStats(third)).paths.chat_completions;
      const r = await chat(g, chatBody(), { headers: { 'x-sim-fault': '500' } });
      assert.equal(r.status, 500);
      assert.equal(r.headers.get('x-meridian-backend'), 'two');
      assert.equal(r.headers.get('x-meridian-attempts'), '2');
      assertOpenAiError(r.json, { type: 'server_error' });
      assert.equal((await simStats(third)).paths.chat_completions, before, 'max_attempts 2: the third is never tried');
    } finally {
      await stopCleanly(g, 'gateway (three sims)');
      await other.stop();
      await third.stop();
    }
  });

  test('a non-retryable upstream status (404) is relayed and not retried on the next backend', async () => {
    // `one` is configured to serve sim-big, which its simulator does not know: it answers 404.
    const other = await startSim(['--name', 'other', '--models', 'sim-big']);
    const g = await startGateway(testConfig({
      backends: [simBackend(sim, { id: 'one', models: ['sim-big'] }), simBackend(other, { id: 'two', models: ['sim-big'] })],
      routing: { strategy: 'priority' },
    }));
    try {
      const before = (await simStats(other)).paths.chat_completions;
      const r = await chat(g, chatBody('hello', { model: 'sim-big' }));
      assert.equal(r.status, 404);
      assert.equal(r.headers.get('x-meridian-backend'), 'one');
      assert.equal(r.headers.get('x-meridian-attempts'), '1');
      assert.equal(r.json.error.code, 'model_not_found');
      assert.equal((await simStats(other)).paths.chat_completions, before);
    } finally {
      await stopCleanly(g, 'gateway (two sims)');
      await other.stop();
    }
  });
});
