// The usage ledger and the audit log through the real binaries (docs/store.md): one usage
// record and one decision record per API request, served and rejected ones alike, with exact
// fields; start-up and shutdown as admin records in the same verified chain; GET /admin/usage
// and `meridian usage` answering the same, as JSON and CSV; strict durability (a response
// completes only once its record is committed), including `kill -9` under load; a scan of
// everything the gateway wrote for the secrets it was given; a clear start-up error for a
// state_dir that cannot be used.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  CHAT, TEST_KEY, chat, chatBody, chatStream, chunks, makeTempDir, post, readAll, runGateway, simBackend,
  startGateway, startSim, stopAll, stopCleanly, testConfig, waitUntil, writeTempConfig,
} from './lib.mjs';

const ADMIN_KEY = 'adm-store-test-key-000000001';
const ACME_KEY = 'sk-acme-ops-key-0000000001';
const EMAIL = 'grace.hopper@example.org';
const SECRET = 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';

const policies = [
  { name: 'eu-personal-data', when: { data_classes: ['email'] }, require: { inference_jurisdiction: ['EU'] } },
  { name: 'secrets-never-leave', when: { data_classes: ['secret'] }, action: 'block' },
];

after(stopAll);

// ---------------------------------------------------------------------------------------------
// Helpers

/** `meridian usage --state-dir DIR ...`: {code, stdout, stderr}. */
function usageCli(stateDir, args = []) {
  return runGateway(['usage', '--state-dir', stateDir, ...args]);
}

/** The ledger's records, oldest first, read with the CLI. */
async function ledger(stateDir) {
  const r = await usageCli(stateDir, ['--records', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).records;
}

/** The audit chain's records as {seq, kind, body (parsed)}. */
function auditRows(stateDir) {
  const out = execFileSync('sqlite3', ['-json', path.join(stateDir, 'audit.db'),
    'SELECT seq, kind, body FROM audit_log ORDER BY seq'], { encoding: 'utf8' });
  return (out.trim() ? JSON.parse(out) : []).map((r) => ({ ...r, body: JSON.parse(r.body) }));
}

function adminUrlOf(gw) {
  const m = /admin listening on (\S+):(\d+)/.exec(gw.stdout());
  assert.ok(m, `no admin listening line in: ${gw.stdout()}`);
  return `http://${m[1]}:${m[2]}`;
}

async function adminGet(adminUrl, query, key = ADMIN_KEY) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  return readAll(await fetch(`${adminUrl}/admin/usage${query}`, { headers }));
}

function utcDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// ---------------------------------------------------------------------------------------------

describe('records for served and rejected requests (batched)', () => {
  let us, eu, gw, cfg, configFile, adminUrl, t0, t1;
  const usage = {};  // request id -> the usage object the client received

  before(async () => {
    us = await startSim(['--models', 'sim-small', '--name', 'us']);
    eu = await startSim(['--models', 'sim-small', '--name', 'eu']);
    cfg = testConfig({
      backends: [
        simBackend(us, { id: 'us', models: ['sim-small'], tier: 'cloud', jurisdiction: 'US' }),
        simBackend(eu, { id: 'eu', models: ['sim-small'], tier: 'cloud', jurisdiction: 'DE' }),
      ],
      aliases: { fast: 'sim-small' },
      policies,
      auth: { keys: [TEST_KEY, { key: ACME_KEY, tenant: 'acme', team: 'ops' }] },
      admin: { listen: '127.0.0.1:0', keys: [ADMIN_KEY] },
      store: { ledger: { durability: 'batched', batch_window: '10ms' } },
    });
    configFile = writeTempConfig(cfg);
    gw = await startGateway({ file: configFile });
    adminUrl = adminUrlOf(gw);
    t0 = Date.now();

    const send = async (id, body, { key = TEST_KEY, stream = false } = {}) => {
      const headers = { 'x-request-id': id };
      if (stream) {
        const s = await chatStream(gw, body, { key, headers });
        const last = chunks(s.events).find((c) => c.usage);
        if (last) usage[id] = last.usage;
        return s.status;
      }
      const r = await chat(gw, body, { key, headers });
      if (r.json?.usage) usage[id] = r.json.usage;
      return r.status;
    };
    assert.equal(await send('st-1', chatBody('hello there'), { key: ACME_KEY }), 200);
    assert.equal(await send('st-2', chatBody('stream me', { model: 'fast', stream_options: { include_usage: true } }),
      { stream: true }), 200);
    assert.equal(await send('st-3', chatBody(`write to ${EMAIL}`), { key: ACME_KEY }), 200);
    assert.equal(await send('st-4', chatBody(`token ${SECRET}`)), 403);
    assert.equal(await send('st-5', chatBody('who am i'), { key: 'sk-not-a-configured-key-77' }), 401);
    assert.equal(await send('st-6', { model: 'sim-small' }), 400);
    t1 = Date.now();
    // Batched: the records are committed within the 10 ms window.
    await waitUntil(async () => (await adminGet(adminUrl, '')).json?.rows?.[0]?.requests === 6,
      { what: 'six ledger records' });
  });

  test('one usage record per request, with exact fields', async () => {
    const r = await adminGet(adminUrl, '?records=true');
    assert.equal(r.status, 200);
    const records = r.json.records;
    assert.deepEqual(records.map((x) => x.request_id), ['st-1', 'st-2', 'st-3', 'st-4', 'st-5', 'st-6']);
    for (const x of records) {
      assert.ok(x.time_ms >= t0 - 5000 && x.time_ms <= t1, `time_ms ${x.time_ms}`);
      assert.equal(x.day, utcDay(x.time_ms));
      assert.ok(Number.isInteger(x.latency_us) && x.latency_us > 0);
      assert.equal(x.cost_micro_usd, null);  // no price catalog yet
    }
    const strip = ({ time_ms, day, latency_us, ...rest }) => rest;
    const tokens = (id) => ({
      input_tokens: usage[id].prompt_tokens, output_tokens: usage[id].completion_tokens,
      cached_tokens: usage[id].prompt_tokens_details.cached_tokens,
      reasoning_tokens: usage[id].completion_tokens_details.reasoning_tokens,
    });
    const none = { input_tokens: null, output_tokens: null, cached_tokens: null, reasoning_tokens: null };
    assert.deepEqual(records.map(strip), [
      { request_id: 'st-1', tenant: 'acme', team: 'ops', key_prefix: 'sk-acme-', route: 'chat_completions', alias: '',
        model: 'sim-small', backend: 'us', ...tokens('st-1'), cost_micro_usd: null, status: 200, error: '',
        stream: false, attempts: 1 },
      { request_id: 'st-2', tenant: '', team: '', key_prefix: 'sk-t', route: 'chat_completions', alias: 'fast',
        model: 'sim-small', backend: 'us', ...tokens('st-2'), cost_micro_usd: null, status: 200, error: '',
        stream: true, attempts: 1 },
      { request_id: 'st-3', tenant: 'acme', team: 'ops', key_prefix: 'sk-acme-', route: 'chat_completions', alias: '',
        model: 'sim-small', backend: 'eu', ...tokens('st-3'), cost_micro_usd: null, status: 200, error: '',
        stream: false, attempts: 1 },
      { request_id: 'st-4', tenant: '', team: '', key_prefix: 'sk-t', route: 'chat_completions', alias: '',
        model: 'sim-small', backend: '', ...none, cost_micro_usd: null, status: 403, error: 'policy_blocked',
        stream: false, attempts: 0 },
      { request_id: 'st-5', tenant: '', team: '', key_prefix: '', route: 'chat_completions', alias: '',
        model: '', backend: '', ...none, cost_micro_usd: null, status: 401, error: 'unauthorized',
        stream: false, attempts: 0 },
      { request_id: 'st-6', tenant: '', team: '', key_prefix: 'sk-t', route: 'chat_completions', alias: '',
        model: '', backend: '', ...none, cost_micro_usd: null, status: 400, error: 'invalid_request',
        stream: false, attempts: 0 },
    ]);
  });

  test('totals by tenant and by model, as JSON and CSV; filters', async () => {
    const u = (id) => usage[id];
    const byTenant = await adminGet(adminUrl, '?by=tenant');
    assert.equal(byTenant.status, 200);
    const row = (keys, ids, requests, errors) => ({
      ...keys, requests, errors,
      input_tokens: ids.reduce((s, id) => s + u(id).prompt_tokens, 0),
      output_tokens: ids.reduce((s, id) => s + u(id).completion_tokens, 0),
      cached_tokens: 0, reasoning_tokens: 0, cost_micro_usd: null,
    });
    const noLatency = (rows) => rows.map(({ avg_latency_us, ...rest }) => rest);
    assert.deepEqual(byTenant.json.group_by, ['tenant']);
    assert.deepEqual(noLatency(byTenant.json.rows), [
      row({ tenant: '' }, ['st-2'], 4, 3),
      row({ tenant: 'acme' }, ['st-1', 'st-3'], 2, 0),
    ]);

    const csv = await adminGet(adminUrl, '?by=model,backend&format=csv');
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    const lines = csv.text.trimEnd().split('\n').map((l) => l.split(','));
    assert.deepEqual(lines[0], ['model', 'backend', 'requests', 'errors', 'input_tokens', 'output_tokens',
      'cached_tokens', 'reasoning_tokens', 'cost_micro_usd', 'avg_latency_us']);
    const sum = (ids, f) => String(ids.reduce((s, id) => s + f(u(id)), 0));
    assert.deepEqual(lines.slice(1).map((l) => l.slice(0, 9)), [
      ['', '', '2', '2', '0', '0', '0', '0', ''],
      ['sim-small', '', '1', '1', '0', '0', '0', '0', ''],
      ['sim-small', 'eu', '1', '0', sum(['st-3'], (x) => x.prompt_tokens), sum(['st-3'], (x) => x.completion_tokens), '0', '0', ''],
      ['sim-small', 'us', '2', '0', sum(['st-1', 'st-2'], (x) => x.prompt_tokens),
        sum(['st-1', 'st-2'], (x) => x.completion_tokens), '0', '0', ''],
    ]);

    const acme = await adminGet(adminUrl, `?tenant=acme&key_prefix=sk-acme-&from=${utcDay(t0)}&to=${utcDay(t1)}`);
    assert.equal(acme.json.rows[0].requests, 2);
    const alias = await adminGet(adminUrl, '?model=fast&records=1');
    assert.deepEqual(alias.json.records.map((x) => x.request_id), ['st-2']);
    const limited = await adminGet(adminUrl, '?records=true&limit=2');
    assert.deepEqual(limited.json.records.map((x) => x.request_id), ['st-1', 'st-2']);
    const future = await adminGet(adminUrl, '?from=2999-01-01&by=day');
    assert.deepEqual(future.json, { group_by: ['day'], rows: [] });
  });

  test('admin usage: bad parameters are 400 naming them; the admin key is required', async () => {
    const cases = [
      ['?by=hour', 'by', "by: unknown grouping 'hour' (expected day, tenant, team, key, model or backend, comma-separated)"],
      ['?from=2025-13-01', 'from', 'from: expected a day as YYYY-MM-DD'],
      ['?from=2025-02-02&to=2025-02-01', 'from', 'from: must not be after to'],
      ['?tenant=a&tenant=b', 'tenant', 'tenant: given more than once'],
      ['?format=xml', 'format', 'format: expected json or csv'],
      ['?limit=0', 'limit', 'limit: expected an integer from 1 to 1000000'],
      ['?colour=blue', 'colour',
        "unknown parameter 'colour' (known: tenant, key_prefix, model, from, to, by, records, limit, format)"],
    ];
    for (const [query, param, message] of cases) {
      const r = await adminGet(adminUrl, query);
      assert.equal(r.status, 400, query);
      assert.equal(r.json.error.param, param, query);
      assert.equal(r.json.error.message, message, query);
    }
    assert.equal((await adminGet(adminUrl, '', null)).status, 401);
    assert.equal((await adminGet(adminUrl, '', ACME_KEY)).status, 401);
    const posted = await fetch(`${adminUrl}/admin/usage`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(posted.status, 405);
  });

  test('after shutdown: the CLI answers exactly what the admin API answered; the chain verifies', async () => {
    const queries = [
      ['?by=tenant', ['--by', 'tenant']],
      ['?by=day,model', ['--by', 'day,model']],
      ['?tenant=acme&records=true', ['--tenant', 'acme', '--records']],
      ['?model=sim-small&by=key', ['--model', 'sim-small', '--by', 'key']],
    ];
    const expected = [];
    for (const [query] of queries) {
      expected.push([(await adminGet(adminUrl, query)).text, (await adminGet(adminUrl, `${query}&format=csv`)).text]);
    }
    await stopCleanly(gw, 'gateway');
    for (let i = 0; i < queries.length; ++i) {
      const json = await usageCli(cfg.state_dir, [...queries[i][1], '--json']);
      assert.equal(json.code, 0, json.stderr);
      assert.equal(json.stdout, `${expected[i][0]}\n`, queries[i][0]);
      const csv = await usageCli(cfg.state_dir, [...queries[i][1], '--csv']);
      assert.equal(csv.stdout, expected[i][1], queries[i][0]);
    }
    // The default output is a table of the same cells.
    const table = await usageCli(cfg.state_dir, ['--by', 'tenant']);
    assert.equal(table.code, 0);
    const tlines = table.stdout.trimEnd().split('\n');
    assert.match(tlines[0], /^tenant\s+requests\s+errors\s+input_tokens\s+output_tokens/);
    assert.match(tlines[2], /^acme\s+2\s+0\s/);
    const bad = await usageCli(cfg.state_dir, ['--from', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'usage: --from: expected a day as YYYY-MM-DD\n');
    const missing = await usageCli(makeTempDir());
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^usage: no usage ledger at .*usage\.db\n$/);

    const v = await runGateway(['audit', 'verify', '--state-dir', cfg.state_dir]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /^ok: 8 records, head [0-9a-f]{64}\n$/);
  });

  test('audit: start-up and shutdown admin records around one decision record per request', async () => {
    const rows = auditRows(cfg.state_dir);
    assert.deepEqual(rows.map((r) => r.kind), ['admin', ...Array(6).fill('request'), 'admin']);
    const start = rows[0].body;
    assert.equal(start.action, 'gateway.start');
    assert.equal(start.actor, 'meridian');
    assert.equal(start.target, configFile);
    assert.equal(start.fields.config_sha256, sha256(readFileSync(configFile)));
    assert.equal(start.fields.ledger_durability, 'batched');
    assert.equal(rows[7].body.action, 'gateway.stop');
    assert.equal(rows[7].body.fields.signal, '15');

    const d = Object.fromEntries(rows.slice(1, 7).map((r) => [r.body.request_id, r.body]));
    const attempt = (x) => x.attempts.map(({ duration_ms, ...rest }) => rest);
    assert.deepEqual({ ...d['st-1'], attempts: attempt(d['st-1']) }, {
      request_id: 'st-1', tenant: 'acme', key_prefix: 'sk-acme-', data_classes: {}, rules_fired: [],
      eligible: ['us', 'eu'], excluded: [], chosen_backend: 'us', chosen_jurisdiction: 'US',
      attempts: [{ backend: 'us', status: 200, error: '' }], cost_micro_usd: null, status: 200,
    });
    assert.deepEqual({ ...d['st-3'], attempts: attempt(d['st-3']) }, {
      request_id: 'st-3', tenant: 'acme', key_prefix: 'sk-acme-', data_classes: { email: 1 },
      rules_fired: ['eu-personal-data'], eligible: ['eu'],
      excluded: [{ backend: 'us', reason: 'eu-personal-data: inference_jurisdiction US not in [EU]' }],
      chosen_backend: 'eu', chosen_jurisdiction: 'DE', attempts: [{ backend: 'eu', status: 200, error: '' }],
      cost_micro_usd: null, status: 200,
    });
    assert.deepEqual(d['st-4'], {
      request_id: 'st-4', tenant: '', key_prefix: 'sk-t', data_classes: { secret: 1 },
      rules_fired: ['secrets-never-leave'], eligible: [],
      excluded: [
        { backend: 'us', reason: 'secrets-never-leave: request blocked by rule secrets-never-leave' },
        { backend: 'eu', reason: 'secrets-never-leave: request blocked by rule secrets-never-leave' },
      ],
      chosen_backend: '', chosen_jurisdiction: '', attempts: [], cost_micro_usd: null, status: 403,
    });
    for (const [id, status] of [['st-5', 401], ['st-6', 400]]) {
      assert.deepEqual(d[id], {
        request_id: id, tenant: '', key_prefix: id === 'st-5' ? '' : 'sk-t', data_classes: {}, rules_fired: [],
        eligible: [], excluded: [], chosen_backend: '', chosen_jurisdiction: '', attempts: [],
        cost_micro_usd: null, status,
      });
    }
    assert.equal(d['st-2'].chosen_backend, 'us');
  });
});

// ---------------------------------------------------------------------------------------------

describe('durability', () => {
  test('strict: the record is in the ledger when the response completes; batched: only after its window', async () => {
    const sim = await startSim(['--models', 'sim-small']);
    const strict = testConfig({ backends: [simBackend(sim)], store: { ledger: { durability: 'strict' } } });
    const batched = testConfig({ backends: [simBackend(sim)], store: { ledger: { batch_window: '10s' } } });
    const gs = await startGateway(strict);
    const gb = await startGateway(batched);
    try {
      for (let i = 0; i < 3; ++i) {
        const r = await chat(gs, chatBody(`strict ${i}`), { headers: { 'x-request-id': `strict-${i}` } });
        assert.equal(r.status, 200);
        const s = await chatStream(gs, chatBody(`strict stream ${i}`), { headers: { 'x-request-id': `strict-s${i}` } });
        assert.equal(s.status, 200);
        // No waiting: the response's last byte left after the commit.
        const ids = (await ledger(strict.state_dir)).map((x) => x.request_id);
        assert.ok(ids.includes(`strict-${i}`) && ids.includes(`strict-s${i}`), JSON.stringify(ids));
      }
      const r = await chat(gb, chatBody('batched'), { headers: { 'x-request-id': 'batched-1' } });
      assert.equal(r.status, 200);
      assert.deepEqual(await ledger(batched.state_dir), []);  // still in the 10 s window
      await stopCleanly(gb, 'batched gateway');  // shutdown commits what is queued
      assert.deepEqual((await ledger(batched.state_dir)).map((x) => x.request_id), ['batched-1']);
    } finally {
      await stopCleanly(gs, 'strict gateway');
      await sim.stop();
    }
  });

  test('strict: kill -9 under load loses no record of a completed response', { timeout: 120000 }, async (t) => {
    const sim = await startSim(['--models', 'sim-small', '--threads', '2']);
    const cfg = testConfig({ backends: [simBackend(sim)], store: { ledger: { durability: 'strict' } } });
    const gw = await startGateway(cfg);
    const completed = new Set();
    let attempted = 0;
    let stop = false;
    // Even workers ask for complete answers, odd ones for streams. A stream counts as completed
    // as soon as its [DONE] event arrived: SSE clients stop reading there.
    const worker = async (w) => {
      const stream = w % 2 === 1;
      for (let i = 0; !stop; ++i) {
        const id = `kill-${w}-${i}`;
        ++attempted;
        try {
          const res = await post(gw, CHAT, chatBody(`load ${w} ${i}`, stream ? { stream: true } : {}),
            { headers: { 'x-request-id': id } });
          if (!stream) {
            const text = await res.text();  // resolves only when the whole body arrived
            if (res.status === 200 && JSON.parse(text).choices?.length === 1) completed.add(id);
            continue;
          }
          let seen = '';
          const decoder = new TextDecoder();
          for await (const chunk of res.body) {
            seen += decoder.decode(chunk, { stream: true });
            if (res.status === 200 && seen.includes('data: [DONE]')) completed.add(id);
          }
        } catch {
          // the gateway died under this request
        }
      }
    };
    const workers = Array.from({ length: 200 }, (_, w) => worker(w));
    await waitUntil(() => completed.size >= 400, { timeoutMs: 60000, what: '400 completed requests' });
    gw.proc.kill('SIGKILL');
    stop = true;
    await gw.exited;
    await Promise.allSettled(workers);
    const records = new Set((await ledger(cfg.state_dir)).map((x) => x.request_id));
    const lost = [...completed].filter((id) => !records.has(id));
    t.diagnostic(`attempted ${attempted}, completed ${completed.size}, ledger rows ${records.size}, lost ${lost.length}`);
    assert.deepEqual(lost, []);
    assert.ok(completed.size >= 400);
    // The chain is intact too; the head file may lag the last commit (reported as a note).
    const v = await runGateway(['audit', 'verify', '--state-dir', cfg.state_dir]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    // And the next start continues the same chain.
    const again = await startGateway({ file: writeTempConfig(cfg) });
    await stopCleanly(again, 'restarted gateway');
    const v2 = await runGateway(['audit', 'verify', '--state-dir', cfg.state_dir]);
    assert.equal(v2.code, 0, v2.stdout + v2.stderr);
    await sim.stop();
  });
});

// ---------------------------------------------------------------------------------------------

describe('secrets', () => {
  test('no key, provider secret or detected value in anything the gateway wrote', async () => {
    const PROVIDER_KEY = 'prov-secret-api-key-4242424242';
    const CLIENT_KEY = 'sk-client-secret-key-0000000007';
    const WRONG_KEY = 'sk-wrong-secret-key-0000000009';
    const sim = await startSim(['--models', 'sim-small']);
    const sim2 = await startSim(['--models', 'sim-small']);
    const cfg = testConfig({
      backends: [
        simBackend(sim, { id: 'us', jurisdiction: 'US', api_key: PROVIDER_KEY }),
        simBackend(sim2, { id: 'eu', jurisdiction: 'FR', api_key: PROVIDER_KEY }),
      ],
      policies,
      auth: { keys: [{ key: CLIENT_KEY, tenant: 'acme' }] },
      admin: { listen: '127.0.0.1:0', keys: [ADMIN_KEY] },
      store: { ledger: { durability: 'strict' } },
    });
    const gw = await startGateway(cfg);
    const adminUrl = adminUrlOf(gw);
    const routed = await chat(gw, chatBody(`mail ${EMAIL} please`), { key: CLIENT_KEY });
    assert.equal(routed.status, 200);
    assert.equal(routed.headers.get('x-meridian-backend'), 'eu');
    const streamed = await chatStream(gw, chatBody(`and ${EMAIL} again`), { key: CLIENT_KEY });
    assert.equal(streamed.status, 200);
    assert.equal((await chat(gw, chatBody(`leak ${SECRET}`), { key: CLIENT_KEY })).status, 403);
    assert.equal((await chat(gw, chatBody('hi'), { key: WRONG_KEY })).status, 401);
    const usage = await adminGet(adminUrl, '?records=true');
    assert.equal(usage.json.records.length, 4);
    const scraped = await (await fetch(`${gw.url}/metrics`)).text();
    await stopCleanly(gw, 'gateway');

    const files = [];
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(cfg.state_dir);
    assert.ok(files.some((f) => f.endsWith('usage.db')) && files.some((f) => f.endsWith('audit.db')), files.join(', '));
    const haystacks = [
      ...files.map((f) => [f, readFileSync(f)]),
      ['stdout', Buffer.from(gw.stdout())],
      ['stderr', Buffer.from(gw.stderr())],
      ['/metrics', Buffer.from(scraped)],
      ['admin usage', Buffer.from(usage.text)],
    ];
    const secrets = { CLIENT_KEY, WRONG_KEY, ADMIN_KEY, PROVIDER_KEY, EMAIL, SECRET };
    for (const [where, bytes] of haystacks) {
      for (const [name, value] of Object.entries(secrets)) {
        assert.equal(bytes.indexOf(Buffer.from(value)), -1, `${name} found in ${where}`);
      }
    }
    // What is there instead: the prefix, and the class with its count.
    const rows = auditRows(cfg.state_dir);
    const routedRow = rows.find((r) => r.kind === 'request' && r.body.chosen_backend === 'eu');
    assert.equal(routedRow.body.key_prefix, 'sk-clien');
    assert.deepEqual(routedRow.body.data_classes, { email: 1 });
    await sim.stop();
    await sim2.stop();
  });
});

// ---------------------------------------------------------------------------------------------

describe('start-up', () => {
  test('a state_dir that cannot be created is a clear error', async () => {
    const dir = makeTempDir();
    const file = path.join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const cfg = testConfig({
      backends: [{ id: 'a', provider: 'simulator', base_url: 'http://127.0.0.1:9/v1', models: ['m'], tier: 'local' }],
      state_dir: path.join(file, 'state'),
    });
    const configFile = writeTempConfig(cfg);
    const r = await runGateway(['serve', '--config', configFile], { timeoutMs: 10000 });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${configFile}: state_dir '${path.join(file, 'state')}': cannot create it: Not a directory\n`);
  });

  test('an audit log that does not match its anchors is not appended to', async () => {
    const sim = await startSim(['--models', 'sim-small']);
    const cfg = testConfig({ backends: [simBackend(sim)] });
    const gw = await startGateway(cfg);
    await stopCleanly(gw, 'gateway');
    // A head file naming another hash for record 1: the log is not the one it anchored.
    writeFileSync(path.join(cfg.state_dir, 'audit.db.head'), `meridian-audit-head v1\n1 ${'f'.repeat(64)}\n`);
    const r = await runGateway(['serve', '--config', writeTempConfig(cfg)], { timeoutMs: 10000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /audit log: audit log .*audit\.db does not match its anchors .*run `meridian audit verify/);
    await sim.stop();
  });
});
