// Residency policy through the real binaries: the eligible set restricts routing, fallbacks
// included; denials are 403 with the rules named; pseudonyms go upstream and come back restored
// (streaming too); redaction; declaration headers; the admin explain endpoint; `meridian
// explain`; and `config check` on residency errors. Simulators record what reached them
// (GET /sim/requests), so "never reached" is observed, not assumed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  EMBEDDINGS, TEST_KEY, chat, chatBody, post, chatStream, chunks, deltaText, freePort, makeTempDir, readAll, runGateway, simBackend,
  startGateway, startSim, stopAll, stopCleanly, testConfig, writeTempConfig,
} from './lib.mjs';

const ADMIN_KEY = 'adm-policy-test-0001';
const ACME_KEY = 'sk-acme-classified-01';
const EMAIL = 'alice.martin@example.org';
const PHONE = '+44 20 7946 0958';
const SECRET = 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';

let us, eu1, eu2, gw, adminUrl, configFile, deadPort;

const policies = [
  { name: 'eu-personal-data', when: { data_classes: ['email'] }, require: { inference_jurisdiction: ['EU'] } },
  { name: 'secrets-never-leave', when: { data_classes: ['secret'] }, action: 'block' },
  { name: 'pseudonymize-phones', when: { data_classes: ['phone'] }, action: 'pseudonymize' },
  { name: 'redact-ips', when: { data_classes: ['ip_address'] }, action: 'redact' },
  { name: 'classified-local', when: { data_classes: ['classification_marking'] }, require: { tier: ['local'] } },
];

function backends(euFirstUrl) {
  return [
    simBackend(us, { id: 'us', models: ['sim-small', 'sim-embed'], tier: 'cloud', jurisdiction: 'US', vendor: 'openai' }),
    { ...simBackend(eu1, { id: 'eu-1', models: ['sim-small'], tier: 'cloud', jurisdiction: 'FR' }), ...(euFirstUrl ? { base_url: euFirstUrl } : {}) },
    simBackend(eu2, { id: 'eu-2', models: ['sim-small', 'sim-embed'], tier: 'cloud', jurisdiction: 'DE' }),
  ];
}

async function captured(sim) {
  const res = await fetch(`${sim.url}/sim/requests`);
  assert.equal(res.status, 200);
  return (await res.json()).requests;
}

async function clearCaptures() {
  for (const sim of [us, eu1, eu2]) {
    const res = await fetch(`${sim.url}/sim/requests`, { method: 'DELETE' });
    assert.equal(res.status, 200);
  }
}

before(async () => {
  us = await startSim(['--models', 'sim-small,sim-embed', '--name', 'us']);
  eu1 = await startSim(['--models', 'sim-small', '--name', 'eu1']);
  eu2 = await startSim(['--models', 'sim-small,sim-embed', '--name', 'eu2']);
  deadPort = await freePort();
  const cfg = testConfig({
    backends: backends(),
    policies,
    auth: { keys: [TEST_KEY, { key: ACME_KEY, tenant: 'acme', data_classes: ['classification_marking'] }] },
    admin: { listen: '127.0.0.1:0', keys: [ADMIN_KEY] },
    // Configuration order inside the eligible set, so each test knows which backend serves.
    routing: { strategy: 'priority' },
  });
  configFile = writeTempConfig(cfg);
  gw = await startGateway({ file: configFile });
  const m = /admin listening on (\S+):(\d+)/.exec(gw.stdout());
  assert.ok(m, `no admin listening line in: ${gw.stdout()}`);
  adminUrl = `http://${m[1]}:${m[2]}`;
});

after(async () => {
  try {
    if (gw) await stopCleanly(gw, 'gateway');
  } finally {
    await stopAll();
  }
});

beforeEach(clearCaptures);

describe('routing inside the eligible set', () => {
  test('a request with nothing sensitive goes to the first backend', async () => {
    const r = await chat(gw, chatBody('What is the capital of France?'));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-meridian-backend'), 'us');
  });

  test('an e-mail address keeps the request in the EU and off the US backend', async () => {
    const r = await chat(gw, chatBody(`Please write to ${EMAIL} today`));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-meridian-backend'), 'eu-1');
    assert.equal((await captured(us)).length, 0);
    assert.equal((await captured(eu1)).length, 1);
  });

  test('embeddings inputs are classified too', async () => {
    const clean = await readAll(await post(gw, EMBEDDINGS, { model: 'sim-embed', input: ['plain text'] }));
    assert.equal(clean.status, 200);
    assert.equal(clean.headers.get('x-meridian-backend'), 'us');
    const r = await readAll(await post(gw, EMBEDDINGS, { model: 'sim-embed', input: ['plain text', `owner ${EMAIL}`] }));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-meridian-backend'), 'eu-2');
    assert.equal((await captured(us)).length, 1);  // only the clean one
  });

  test('a declared class restricts routing like a found one', async () => {
    const r = await chat(gw, chatBody('hello'), { headers: { 'x-meridian-data-classes': 'email' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-meridian-backend'), 'eu-1');
  });

  test('a bad declaration header is a 400 naming it', async () => {
    const r = await chat(gw, chatBody('hello'), { headers: { 'x-meridian-data-classes': 'email, passport' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'x-meridian-data-classes');
    assert.match(r.json.error.message, /^header x-meridian-data-classes: unknown data class 'passport'/);
    const j = await chat(gw, chatBody('hello'), { headers: { 'x-meridian-data-jurisdiction': 'Germany' } });
    assert.equal(j.status, 400);
    assert.equal(j.json.error.param, 'x-meridian-data-jurisdiction');
  });

  test('a key that declares classified data gets 403 when no local backend serves the model', async () => {
    const r = await chat(gw, chatBody('hello'), { key: ACME_KEY });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'no_eligible_backend');
    assert.deepEqual(r.json.error.policy.rules, ['classified-local']);
    assert.deepEqual(r.json.error.policy.excluded.map((x) => [x.backend, x.reason]), [
      ['us', 'tier cloud not in [local]'], ['eu-1', 'tier cloud not in [local]'], ['eu-2', 'tier cloud not in [local]'],
    ]);
    for (const sim of [us, eu1, eu2]) assert.equal((await captured(sim)).length, 0);
  });
});

describe('denials', () => {
  test('a secret is blocked with a 403 naming the rule, and reaches no backend', async () => {
    for (const stream of [false, true]) {
      const r = await chat(gw, chatBody(`deploy with ${SECRET}`, { stream }));
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.equal(r.json.error.type, 'permission_error');
      assert.equal(r.json.error.code, 'policy_blocked');
      assert.equal(r.json.error.message, 'request blocked by policy rule(s): secrets-never-leave');
      assert.deepEqual(r.json.error.policy.rules, ['secrets-never-leave']);
      assert.deepEqual(r.json.error.policy.data_classes, { secret: 1 });
      assert.ok(!r.text.includes(SECRET), 'the 403 must not echo the secret');
    }
    for (const sim of [us, eu1, eu2]) assert.equal((await captured(sim)).length, 0);
  });
});

describe('pseudonymization round trip', () => {
  const echo = { 'x-sim-echo': '1', 'x-sim-chunk-bytes': '3' };

  test('the backend sees a placeholder; the client gets its own value back', async () => {
    const text = `Call me on ${PHONE} tomorrow.`;
    const r = await chat(gw, chatBody(text), { headers: echo });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, text);
    assert.equal(r.headers.get('x-meridian-pseudonymized'), '1');
    const seen = await captured(us);
    assert.equal(seen.length, 1);
    const sent = JSON.parse(seen[0].body).messages[0].content;
    assert.ok(!sent.includes(PHONE), `the phone number reached the backend: ${sent}`);
    assert.match(sent, /^Call me on \[PHONE_[0-9a-f]{8}\] tomorrow\.$/);
  });

  test('streaming: placeholders split across 3-byte deltas are restored', async () => {
    const text = `Numbers: ${PHONE} and again ${PHONE}, done.`;
    const r = await chatStream(gw, chatBody(text), { headers: echo });
    assert.equal(r.status, 200);
    const payloads = chunks(r.events);
    assert.equal(deltaText(payloads), text);
    assert.equal(r.events.at(-1).data, '[DONE]');
    // The same value gets the same placeholder, so the backend saw one pseudonym twice.
    const sent = JSON.parse((await captured(us))[0].body).messages[0].content;
    const placeholders = sent.match(/\[PHONE_[0-9a-f]{8}\]/g);
    assert.equal(placeholders.length, 2);
    assert.equal(placeholders[0], placeholders[1]);
  });

  test('a pseudonymized e-mail-free request may use any backend; redacted IPs stay redacted', async () => {
    const text = `Host 10.20.30.40 is down, page ${PHONE}`;
    const r = await chat(gw, chatBody(text), { headers: echo });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-meridian-backend'), 'us');
    assert.equal(r.headers.get('x-meridian-redacted'), '1');
    assert.equal(r.json.choices[0].message.content, `Host [REDACTED_IP_ADDRESS] is down, page ${PHONE}`);
    const sent = JSON.parse((await captured(us))[0].body).messages[0].content;
    assert.ok(!sent.includes('10.20.30.40'));
  });
});

describe('admin explain', () => {
  const explain = (body, headers = {}) => fetch(`${adminUrl}/admin/explain`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body),
  }).then(readAll);

  test('shows classes, spans, rules and backends, never values', async () => {
    const r = await explain(chatBody(`mail ${EMAIL}`), { Authorization: `Bearer ${ADMIN_KEY}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.outcome, 'allowed');
    assert.deepEqual(r.json.eligible, ['eu-1', 'eu-2']);
    assert.deepEqual(r.json.rules_fired, ['eu-personal-data']);
    assert.deepEqual(r.json.classes, [{ class: 'email', count: 1, declared: false,
      spans: [{ field: 'messages[0].content', begin: 5, end: 5 + EMAIL.length }] }]);
    assert.ok(!r.text.includes(EMAIL));
    for (const sim of [us, eu1, eu2]) assert.equal((await captured(sim)).length, 0, 'explain must not send');
  });

  test('needs an admin key: no key, a client key and a wrong key are 401', async () => {
    for (const headers of [{}, { Authorization: `Bearer ${TEST_KEY}` }, { Authorization: 'Bearer nope' }]) {
      const r = await explain(chatBody('x'), headers);
      assert.equal(r.status, 401);
    }
  });

  test('explains for a named client key', async () => {
    const r = await explain(chatBody('hello'), { Authorization: `Bearer ${ADMIN_KEY}`, 'x-meridian-client-key': ACME_KEY });
    assert.equal(r.status, 200);
    assert.equal(r.json.caller.tenant, 'acme');
    assert.equal(r.json.outcome, 'no_eligible_backend');
    const bad = await explain(chatBody('hello'), { Authorization: `Bearer ${ADMIN_KEY}`, 'x-meridian-client-key': 'sk-unknown' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'x-meridian-client-key');
  });

  test('the admin API is not served on the client port', async () => {
    const r = await readAll(await fetch(`${gw.url}/admin/explain`, {
      method: 'POST', headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' }, body: '{}',
    }));
    assert.equal(r.status, 404);
  });
});

describe('fallbacks never leave the eligible set', () => {
  test('a dead EU backend falls back to the other EU backend, never to the US', async () => {
    const g = await startGateway(testConfig({ backends: backends(`http://127.0.0.1:${deadPort}/v1`), policies }));
    try {
      const r = await chat(g, chatBody(`mail ${EMAIL}`));
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-meridian-backend'), 'eu-2');
      assert.equal(r.headers.get('x-meridian-attempts'), '2');
      assert.equal((await captured(us)).length, 0);
    } finally {
      await stopCleanly(g, 'gateway (dead eu-1)');
    }
  });

  test('when every eligible backend fails, the client gets the failure, not a non-compliant answer', async () => {
    for (const fault of ['503', '500']) {
      const r = await chat(gw, chatBody(`mail ${EMAIL}`), { headers: { 'x-sim-fault': fault } });
      assert.equal(r.status, Number(fault));
      assert.equal((await captured(us)).length, 0);
    }
  });
});

describe('command line', () => {
  test('meridian explain prints the decision for a request file', async () => {
    const dir = makeTempDir();
    const req = path.join(dir, 'req.json');
    fs.writeFileSync(req, JSON.stringify(chatBody(`deploy with ${SECRET}`)));
    const r = await runGateway(['explain', '--config', configFile, req, '--key-env', 'POLICY_TEST_KEY'],
                               { env: { POLICY_TEST_KEY: TEST_KEY } });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.outcome, 'policy_blocked');
    assert.deepEqual(out.denying_rules, ['secrets-never-leave']);
    assert.ok(!r.stdout.includes(SECRET));
    assert.equal(out.caller.key_prefix, 'sk-t');  // at most half of a short key
    // Without a key: the anonymous caller; with a key that is not configured: an error.
    const nokey = await runGateway(['explain', '--config', configFile, req]);
    assert.equal(nokey.code, 0, nokey.stderr);
    assert.equal(JSON.parse(nokey.stdout).caller.key_prefix, '');
    const badkey = await runGateway(['explain', '--config', configFile, req, '--key-env', 'POLICY_TEST_KEY'],
                                    { env: { POLICY_TEST_KEY: 'sk-not-configured' } });
    assert.equal(badkey.code, 2);
    assert.equal(badkey.stderr, 'meridian explain: --key-env: the key in POLICY_TEST_KEY is not one of the configured auth.keys\n');
  });

  test('config check reports residency errors with file and line', async () => {
    const file = writeTempConfig(
      'backends:\n  - id: a\n    provider: openai\n    base_url: http://127.0.0.1:9/v1\n    models: [m]\n    tier: cloud\n' +
      '    facts: {storage_jurisdiction: de}\n' +
      'policies:\n  - name: r\n    when: {data_classes: [emial]}\n    action: block\n');
    const r = await runGateway(['config', 'check', file]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], /meridian\.yaml:7: backends\[0\]\.facts\.storage_jurisdiction: unknown jurisdiction 'de': codes are upper case, write 'DE'$/);
    assert.match(lines[1], /meridian\.yaml:10: policies\[0\]\.when\.data_classes\[0\]: unknown data class 'emial'/);
    assert.match(lines[2], /2 error\(s\)$/);
  });
});

describe('what the gateway wrote', () => {
  test('no key and no detected value appears in its logs (checked after a clean stop)', async () => {
    // A request that carries every kind of value, so the log has had the chance to leak it.
    await chat(gw, chatBody(`${EMAIL} ${PHONE} ${SECRET}`));
    const stopped = gw;
    gw = undefined;
    await stopCleanly(stopped, 'gateway');  // flushes the batched access log
    const written = stopped.stdout() + stopped.stderr();
    assert.match(written, /"route":"chat_completions"/, 'expected access-log lines to scan');
    for (const [what, value] of [['client key', TEST_KEY], ['tenant key', ACME_KEY], ['admin key', ADMIN_KEY],
      ['e-mail', EMAIL], ['phone', PHONE], ['secret', SECRET]]) {
      assert.ok(!written.includes(value), `the gateway wrote a ${what}`);
    }
  });
});
