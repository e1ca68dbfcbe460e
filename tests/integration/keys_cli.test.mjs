// `meridian tenants|teams|keys …` (docs/tenancy.md, "CLI"): the same operations as the admin API,
// on <state_dir>/tenancy.db, every change audited in <state_dir>/audit.db. The key is printed
// once (stdout) with a warning (stderr), and never appears in tenancy.db, audit.db or any other
// output; the audit log stays verifiable after changes from several processes.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { makeTempDir, runGateway } from './lib.mjs';

const run = (args) => runGateway(args);

function sql(db, statement) {
  return execFileSync('sqlite3', [db, statement], { encoding: 'utf8' });
}

describe('meridian tenants, teams, keys', () => {
  let dir;
  let key;
  let keyId;
  const outputs = [];

  async function ok(args) {
    const r = await run([...args, '--state-dir', dir]);
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  }

  before(async () => {
    dir = makeTempDir('meridian-keys-');
    await ok(['tenants', 'create', 'acme', '--name', 'Acme Corp', '--usd-per-day', '12.50', '--requests-per-minute', '60',
              '--models', 'gpt-4o,fast']);
    await ok(['teams', 'create', 'research', '--tenant', 'acme', '--data-classes', 'email']);
    const created = await ok(['keys', 'create', '--tenant', 'acme', '--team', 'research', '--name', 'ci']);
    key = created.stdout.trim();
    keyId = key.slice(0, 12);
    assert.match(created.stdout, /^mk-[0-9A-Za-z]{43}\n$/);
    assert.match(created.stderr, new RegExp(`^Created key ${keyId} for tenant acme, team research\\. This is the only time the key is shown`));
  });

  test('show and list never print the key', async () => {
    const shown = await ok(['keys', 'show', keyId, '--json']);
    const body = JSON.parse(shown.stdout);
    assert.equal(body.id, keyId);
    assert.equal(body.tenant, 'acme');
    assert.equal(body.team, 'research');
    assert.equal(body.key, undefined);
    const list = await ok(['keys', 'list', '--tenant', 'acme']);
    assert.match(list.stdout, /^ID\s+TENANT\s+TEAM\s+NAME\s+STATUS/);
    assert.match(list.stdout, new RegExp(`${keyId}\\s+acme\\s+research\\s+ci\\s+active`));
    const tenant = JSON.parse((await ok(['tenants', 'show', 'acme', '--json'])).stdout);
    assert.equal(tenant.limits.usd_per_day, '12.5');
    assert.deepEqual(tenant.models, ['fast', 'gpt-4o']);
  });

  test('errors name the field and use exit codes 1 (refused) and 2 (invalid)', async () => {
    let r = await run(['tenants', 'create', 'acme', '--state-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "tenants create: tenant 'acme' already exists\n");
    r = await run(['tenants', 'update', 'acme', '--usd-per-month', '1e3', '--state-dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^tenants update: 'limits\.usd_per_month' must be a non-negative amount of US dollars/);
    r = await run(['keys', 'show', 'mk-AAAAAAAAA', '--state-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "keys show: no key 'mk-AAAAAAAAA'\n");
    r = await run(['tenants', 'delete', 'acme', '--state-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /still has 1 team\(s\) and 1 key\(s\) not revoked/);
    r = await run(['tenants', 'show', 'acme/teams', '--state-dir', dir]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "tenants show: invalid id 'acme/teams'\n");
  });

  test('revoke, then every change is in a verifiable audit log without the key', async () => {
    const revoked = JSON.parse((await ok(['keys', 'revoke', keyId, '--json'])).stdout);
    assert.equal(typeof revoked.revoked_ms, 'number');
    const list = await ok(['keys', 'list', '--revoked']);
    assert.match(list.stdout, new RegExp(`${keyId}.*revoked`));

    const db = path.join(dir, 'audit.db');
    const bodies = sql(db, "SELECT body FROM audit_log WHERE kind = 'admin' ORDER BY seq").trim().split('\n').map((l) => JSON.parse(l));
    const actions = bodies.map((b) => b.action);
    assert.deepEqual(actions.slice(0, 4), ['tenant.create', 'team.create', 'key.create', 'key.revoke']);
    assert.equal(bodies[2].target, `key:${keyId}`);
    assert.match(bodies[0].actor, /^cli/);
    const verify = await run(['audit', 'verify', '--state-dir', dir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);

    // The key (or its secret part) is in no file of the state directory and in no other output.
    const secret = key.slice(12);
    for (const name of readdirSync(dir)) {
      const bytes = readFileSync(path.join(dir, name));
      assert.equal(bytes.indexOf(secret), -1, `${name} holds the key`);
    }
    for (const text of outputs.slice(6)) assert.equal(text.indexOf(secret), -1);
  });
});
