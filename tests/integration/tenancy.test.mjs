// Virtual keys, their restrictions and their limits in the request path (docs/tenancy.md,
// docs/limits.md), through the real binaries: keys made on the admin API authenticate, are
// revoked by the CLI (another process) with effect on the next request, restrict models, and
// are held to rate limits and budgets — also under 256 concurrent requests. Admin changes land
// in the audit chain; no key appears in anything the gateway wrote.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  chat, chatBody, chatStream, chunks, deltaText, gatewayBin, post, readSse, simBackend, startGateway, startSim, stopAll, stopCleanly, testConfig,
  writeTempConfig,
} from './lib.mjs';

const ADMIN_KEY_FOR_TESTS = 'adm-tenancy-test-0001';

let sim, gw, adminUrl, stateDir, configFile;
const created = [];  // every key this test made, to scan the state directory for

async function admin(method, p, body) {
  const res = await fetch(`${adminUrl}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY_FOR_TESTS}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

async function newKey(body) {
  const r = await admin('POST', '/admin/keys', body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  created.push(r.json.key);
  return r.json;
}

function anthropic(handle, key, body) {
  return post(handle, '/v1/messages', body, { key: null, headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' } });
}

before(async () => {
  // Every answer is 20 output tokens; prices make one request's cost known exactly.
  sim = await startSim(['--models', 'sim-small,sim-other', '--output-tokens', '20']);
  const cfg = testConfig({
    backends: [simBackend(sim, {
      id: 'sim-a', models: ['sim-small', 'sim-other'],
      prices: { 'sim-small': { input_per_mtok: 1000, output_per_mtok: 1000 } },
    })],
    admin: { listen: '127.0.0.1:0', keys: [ADMIN_KEY_FOR_TESTS] },
    // A request without its own maximum reserves 5 output tokens: a longer stream is charged
    // as it grows (the mid-stream tests below).
    limits: { default_max_output_tokens: 5 },
  });
  stateDir = cfg.state_dir;
  configFile = writeTempConfig(cfg);
  gw = await startGateway({ file: configFile });
  const m = /admin listening on (\S+):(\d+)/.exec(gw.stdout());
  assert.ok(m, gw.stdout());
  adminUrl = `http://${m[1]}:${m[2]}`;
  for (const id of ['acme', 'lean', 'broke', 'crowd', 'chatty', 'steady']) {
    const r = await admin('POST', '/admin/tenants', { id });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
});

after(async () => {
  try {
    if (gw) await stopCleanly(gw, 'gateway');
  } finally {
    await stopAll();
  }
});

describe('virtual keys', () => {
  test('a key made on the admin API serves requests at once; the CLI revokes it for the next request', async () => {
    const k = await newKey({ tenant: 'acme', name: 'ci' });
    assert.match(k.key, /^mk-[0-9A-Za-z]{43}$/);
    assert.equal(k.id, k.key.slice(0, 12));
    const ok = await chat(gw, chatBody(), { key: k.key });
    assert.equal(ok.status, 200, ok.text);
    const wrong = await chat(gw, chatBody(), { key: `${k.key.slice(0, -1)}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error.message, 'Invalid API key.');

    const cli = spawnSync(gatewayBin, ['keys', 'revoke', k.id, '--state-dir', stateDir], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const revoked = await chat(gw, chatBody(), { key: k.key });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.json.error.message, 'Invalid API key.', 'revoked and unknown keys look the same');
    // The static key of the configuration keeps working beside the store.
    assert.equal((await chat(gw, chatBody())).status, 200);
  });

  test('a key restricted to one model gets 403 naming the model for another', async () => {
    const k = await newKey({ tenant: 'acme', models: ['sim-small'] });
    assert.equal((await chat(gw, chatBody(), { key: k.key })).status, 200);
    const other = await chat(gw, chatBody('hi', { model: 'sim-other' }), { key: k.key });
    assert.equal(other.status, 403);
    assert.equal(other.json.error.message, "The model 'sim-other' is not allowed for this key.");
    assert.equal(other.json.error.param, 'model');
  });
});

describe('limits', () => {
  test('requests_per_minute 2: exactly two admitted, the third 429 with retry-after, in the client dialect', async () => {
    const k = await newKey({ tenant: 'lean', limits: { requests_per_minute: 2 } });
    assert.equal((await chat(gw, chatBody(), { key: k.key })).status, 200);
    assert.equal((await chat(gw, chatBody(), { key: k.key })).status, 200);
    const third = await chat(gw, chatBody(), { key: k.key });
    assert.equal(third.status, 429);
    assert.equal(third.json.error.code, 'rate_limit_exceeded');
    assert.ok(Number(third.headers.get('retry-after')) >= 1, third.headers.get('retry-after'));
    const fourth = await anthropic(gw, k.key, { model: 'sim-small', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(fourth.status, 429);
    const body = await fourth.json();
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'rate_limit_error');
  });

  test('a spent daily budget: 429 insufficient_quota for OpenAI clients, 402 billing_error for Anthropic', async () => {
    // One request reserves about (input estimate + 50) tokens × $0.001 ≈ $0.1; $0.05 admits none.
    const k = await newKey({ tenant: 'broke', limits: { usd_per_day: '0.05' } });
    const r = await chat(gw, chatBody('hello', { max_tokens: 50 }), { key: k.key });
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.code, 'insufficient_quota');
    assert.equal(r.json.error.type, 'insufficient_quota');
    assert.equal(r.headers.get('x-should-retry'), 'false');
    const a = await anthropic(gw, k.key, { model: 'sim-small', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(a.status, 402);
    assert.equal((await a.json()).error.type, 'billing_error');
  });

  test('256 concurrent requests against a nearly exhausted budget never spend past it', async () => {
    // Each request costs (prompt + 20) tokens × $0.001 and reserves (estimate + 50) tokens'
    // worth: the budget admits a handful at a time, never more than it can pay.
    const k = await newKey({ tenant: 'crowd', limits: { usd_per_day: '0.4' } });
    const results = await Promise.all(Array.from({ length: 256 }, () =>
      chat(gw, chatBody('hi', { max_tokens: 50 }), { key: k.key })));
    const admitted = results.filter((r) => r.status === 200);
    const denied = results.filter((r) => r.status === 429);
    assert.equal(admitted.length + denied.length, 256, `statuses: ${[...new Set(results.map((r) => r.status))]}`);
    assert.ok(admitted.length >= 1 && denied.length >= 1, `admitted ${admitted.length}`);
    for (const r of denied) assert.equal(r.json.error.code, 'insufficient_quota');
    const spentMicro = admitted.reduce((sum, r) => sum + Math.round(Number(r.headers.get('x-meridian-cost-usd')) * 1e6), 0);
    assert.ok(spentMicro <= 400_000, `spent ${spentMicro} micro-USD of a 400,000 budget by ${admitted.length} requests`);
  });
});

describe('mid-stream limits', () => {
  test('an output-token limit that runs out mid-stream ends the stream with an error event, no [DONE]', async () => {
    const k = await newKey({ tenant: 'chatty', limits: { output_tokens_per_minute: 40 } });
    const s = await chatStream(gw, chatBody('tell me a story'), { key: k.key, headers: { 'x-sim-output-tokens': '400' } });
    assert.equal(s.status, 200);
    assert.ok(!s.events.some((e) => e.data === '[DONE]'), 'the stream must not complete');
    const last = JSON.parse(s.events.at(-1).data);
    assert.equal(last.error.code, 'rate_limit_exceeded');
    assert.match(last.error.message, /output_tokens_per_minute|output tokens/);
    // About 40 tokens' worth of text (4 bytes a token) reached the client, not the 400 words.
    const text = deltaText(chunks(s.events.slice(0, -1)));
    assert.ok(text.length > 0 && text.length <= 40 * 4, `relayed ${text.length} bytes`);
  });

  test('the same cut reaches an Anthropic client as its own error event', async () => {
    const k = await newKey({ tenant: 'chatty', limits: { output_tokens_per_minute: 40 } });
    const res = await post(gw, '/v1/messages',
      { model: 'sim-small', max_tokens: 2, stream: true, messages: [{ role: 'user', content: 'tell me a story' }] },
      // The upstream overruns the client's max_tokens (x-sim-ignore-max-tokens): the reservation
      // held 2 output tokens, the charge follows the text and the limit cuts the stream.
      { key: null, headers: { 'x-api-key': k.key, 'anthropic-version': '2023-06-01', 'x-sim-output-tokens': '400',
        'x-sim-ignore-max-tokens': '1' } });
    assert.equal(res.status, 200);
    const events = await readSse(res);
    const last = events.at(-1);
    assert.equal(last.event, 'error');
    assert.equal(JSON.parse(last.data).error.type, 'rate_limit_error');
    assert.ok(!events.some((e) => e.event === 'message_stop'));
  });
});

describe('audit and secrecy', () => {
  test('admin changes are in the audit chain, and no key appears in any file the gateway wrote', async () => {
    const verify = spawnSync(gatewayBin, ['audit', 'verify', '--state-dir', stateDir], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr + verify.stdout);
    const dump = spawnSync('sqlite3', [path.join(stateDir, 'audit.db'), 'SELECT body FROM audit_log'], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    assert.match(dump.stdout, /"action":"key\.create"/);
    assert.match(dump.stdout, /"action":"key\.revoke"/);
    const files = [];
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p); else files.push(p);
      }
    };
    walk(stateDir);
    const written = files.map((f) => readFileSync(f).toString('latin1')).join('\n') + gw.stdout() + gw.stderr();
    for (const key of created) {
      assert.ok(!written.includes(key), `key ${key.slice(0, 12)}… found in what the gateway wrote`);
      assert.ok(!written.includes(key.slice(12)), 'the secret part of a key was written');
    }
  });
});

describe('restart', () => {
  test('a budget spent before a restart stays spent after it (seeded from the usage ledger)', async () => {
    const k = await newKey({ tenant: 'steady', limits: { usd_per_day: '0.1' } });
    let admitted = 0;
    for (;;) {
      const r = await chat(gw, chatBody('hi', { max_tokens: 20 }), { key: k.key });
      if (r.status !== 200) {
        assert.equal(r.status, 429);
        assert.equal(r.json.error.code, 'insufficient_quota');
        break;
      }
      ++admitted;
      assert.ok(admitted < 50, 'the budget never ran out');
    }
    assert.ok(admitted >= 1);
    await stopCleanly(gw, 'gateway before restart');
    gw = await startGateway({ file: configFile });
    assert.match(gw.stderr(), /spend of \d+ tenant\/team\/key scope\(s\) restored from the usage ledger/);
    const after = await chat(gw, chatBody('hi', { max_tokens: 20 }), { key: k.key });
    assert.equal(after.status, 429, 'a fresh process must not forget what was spent today');
    assert.equal(after.json.error.code, 'insufficient_quota');
  });
});
