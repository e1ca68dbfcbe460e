// Server-sent events through the gateway: the relayed stream equals the upstream's, the usage
// chunk is kept only when the client asked for it, and events are passed on as they arrive.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';

import {
  CHAT, chat, chatBody, chatStream, chunks, deltaText, metric, metrics, readSse, startGateway, startSim,
  startStack, stopAll, stopCleanly, testConfig, simBackend, waitForAccessLog, waitUntil,
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

/** The same streaming request sent straight to the simulator. */
async function directStream(body) {
  const res = await fetch(`${sim.url}${CHAT}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }),
  });
  assert.equal(res.status, 200);
  return readSse(res);
}

function assertDoneLast(events) {
  assert.ok(events.length >= 2, `too few events: ${JSON.stringify(events)}`);
  assert.equal(events.at(-1).data, '[DONE]');
  assert.equal(events.filter((e) => e.data === '[DONE]').length, 1, 'exactly one [DONE]');
}

describe('relay', () => {
  test('stream without include_usage: same events as upstream, no usage anywhere, [DONE] last', async () => {
    const body = chatBody('Describe the tides.');
    const s = await chatStream(gw, body);
    assert.equal(s.status, 200);
    assert.match(s.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(s.headers.get('cache-control'), 'no-cache');
    assert.equal(s.headers.get('x-meridian-backend'), 'sim-a');
    assert.equal(s.headers.get('x-meridian-provider'), 'simulator');
    assert.equal(s.headers.get('x-meridian-attempts'), '1');
    assert.match(s.headers.get('x-request-id'), /^req_[0-9a-f]{32}$/);
    assertDoneLast(s.events);
    for (const e of s.events) assert.equal(e.event, 'message');

    const payloads = chunks(s.events);
    for (const p of payloads) {
      assert.equal(p.object, 'chat.completion.chunk');
      assert.equal(Object.hasOwn(p, 'usage'), false, `a chunk carries usage: ${JSON.stringify(p)}`);
      assert.equal(p.choices.length, 1, 'the usage-only chunk (choices: []) must be dropped');
    }
    assert.equal(payloads.at(-1).choices[0].finish_reason, 'stop');

    // The upstream, asked the same without include_usage, sends exactly these chunks.
    const upstream = chunks(await directStream(body));
    assert.deepEqual(payloads, upstream);

    // And the text is the non-streaming answer's.
    const whole = await chat(gw, body);
    assert.equal(whole.status, 200);
    assert.equal(deltaText(payloads), whole.json.choices[0].message.content);
  });

  test('stream with include_usage: the usage chunk comes last before [DONE]', async () => {
    const body = chatBody('Describe the tides.', { stream_options: { include_usage: true } });
    const s = await chatStream(gw, body);
    assert.equal(s.status, 200);
    assertDoneLast(s.events);
    const payloads = chunks(s.events);
    const usageChunk = payloads.at(-1);
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage.completion_tokens, 16);
    assert.equal(usageChunk.usage.total_tokens, usageChunk.usage.prompt_tokens + 16);
    for (const p of payloads.slice(0, -1)) {
      assert.equal(p.choices.length, 1);
      assert.equal(p.usage, null);
    }
    assert.deepEqual(payloads, chunks(await directStream(body)));
    const whole = await chat(gw, chatBody('Describe the tides.'));
    assert.equal(deltaText(payloads), whole.json.choices[0].message.content);
  });

  test('include_usage: false is the same as not asking', async () => {
    const plain = chunks((await chatStream(gw, chatBody('same either way'))).events);
    const off = chunks((await chatStream(gw, chatBody('same either way', { stream_options: { include_usage: false } }))).events);
    assert.deepEqual(off, plain);
    assert.ok(off.every((p) => !Object.hasOwn(p, 'usage')));
  });

  test('an alias streams the real model; usage is metered even when the client did not ask', async () => {
    const m0 = await metrics(gw);
    const s = await chatStream(gw, { ...chatBody('metered stream'), model: 'fast' }, { headers: { 'x-request-id': 'stream-meter-1' } });
    assert.equal(s.status, 200);
    assertDoneLast(s.events);
    const payloads = chunks(s.events);
    assert.ok(payloads.every((p) => p.model === 'sim-small'));
    const line = await waitForAccessLog(gw, 'stream-meter-1');
    assert.equal(line.status, 200);
    assert.equal(line.stream, true);
    assert.equal(line.model, 'fast');
    assert.equal(line.completion_tokens, 16);
    assert.ok(line.prompt_tokens >= 1);
    const m1 = await waitUntil(async () => {
      const m = await metrics(gw);
      const c = (x) => metric(x, 'meridian_tokens_total', { backend: 'sim-a', kind: 'completion' }) ?? 0;
      return c(m) - c(m0) === 16 ? m : null;
    }, { what: 'completion tokens of the stream in meridian_tokens_total' });
    assert.ok(m1);
  });

  test('output of zero tokens still ends with a finish chunk and [DONE]', async () => {
    const s = await chatStream(gw, chatBody('nothing to say'), { headers: { 'x-sim-output-tokens': '0' } });
    assert.equal(s.status, 200);
    assertDoneLast(s.events);
    const payloads = chunks(s.events);
    assert.equal(deltaText(payloads), '');
    assert.equal(payloads.at(-1).choices[0].finish_reason, 'stop');
  });
});

describe('pacing', () => {
  test('events are relayed as they arrive, not buffered', async (t) => {
    const TPS = 10;
    const TOKENS = 10;
    const paced = await startSim(['--name', 'paced', '--models', 'sim-small', '--ttft-ms', '0', '--tps', String(TPS),
      '--output-tokens', String(TOKENS)]);
    const pgw = await startGateway(testConfig({ backends: [simBackend(paced, { id: 'paced' })] }));
    try {
      const sent = performance.now();
      const s = await chatStream(pgw, chatBody('pace me'));
      assert.equal(s.status, 200);
      assertDoneLast(s.events);
      const tokenEvents = s.events.filter((e) => e.data !== '[DONE]' && JSON.parse(e.data).choices[0]?.delta?.content);
      assert.equal(tokenEvents.length, TOKENS);

      // The simulator sends token i at i/TPS seconds: (TOKENS-1)/TPS = 900 ms from first to last.
      const pacing = (TOKENS - 1) / TPS * 1000;
      const spread = tokenEvents.at(-1).t - tokenEvents[0].t;
      const firstAfter = tokenEvents[0].t - sent;
      const gaps = tokenEvents.slice(1).map((e, i) => e.t - tokenEvents[i].t);
      const distinctArrivals = gaps.filter((g) => g > pacing / (TOKENS - 1) / 2).length;
      t.diagnostic(`pacing: first token after ${firstAfter.toFixed(0)} ms, first→last ${spread.toFixed(0)} ms `
        + `(sim pacing ${pacing} ms), gaps ${gaps.map((g) => g.toFixed(0)).join(',')} ms`);
      assert.ok(spread >= 0.6 * pacing, `first→last token spread ${spread.toFixed(0)} ms < 60% of ${pacing} ms: buffered?`);
      // If the gateway held events back, they would arrive in bursts: most gaps would be ~0.
      assert.ok(distinctArrivals >= (TOKENS - 1) * 0.6,
        `only ${distinctArrivals} of ${TOKENS - 1} tokens arrived separately (gaps ${gaps.map((g) => g.toFixed(0))})`);
      // The first token arrives well before the last one was even produced.
      assert.ok(firstAfter < spread, `first token after ${firstAfter.toFixed(0)} ms, spread ${spread.toFixed(0)} ms`);
    } finally {
      await stopCleanly(pgw, 'paced gateway');
      await paced.stop();
    }
  });
});
