// `meridian config check FILE`: exit 0 for a valid file, exit 2 with one
// `FILE:LINE: FIELD: MESSAGE` line per problem (all of them, ordered by line) for a broken one;
// `meridian serve` refuses the same file with the same lines.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { makeTempDir, repoRoot, runGateway } from './lib.mjs';

const UNSET = 'MERIDIAN_IT_SURELY_UNSET_VAR';

/** Environment without the variable the broken config references (in case a caller set it). */
function env() {
  const e = { ...process.env };
  delete e[UNSET];
  return e;
}

/** Writes `text` as NAME in a fresh temp dir; returns the dir (run with it as cwd). */
function writeConfig(name, text) {
  const dir = makeTempDir('meridian-config-');
  writeFileSync(path.join(dir, name), text);
  return dir;
}

const BROKEN = `server:
  listen: "127.0.0.1:0"
  workrs: 2
auth:
  keys: ["\${${UNSET}}"]
backends:
  - id: sim-a
    provider: simulator
    base_url: "ftp://127.0.0.1:9/v1"
    models: [sim-small]
    tier: local
  - id: sim-b
    provider: simulator
    base_url: "http://user:secret@127.0.0.1:9/v1"
    models: [sim-large]
    tier: local
`;

const BROKEN_LINES = [
  "broken.yaml:3: server.workrs: unknown field 'workrs'; did you mean 'workers'?",
  `broken.yaml:5: auth.keys[0]: environment variable '${UNSET}' is not set (write \${${UNSET}:-default} to give a default)`,
  "broken.yaml:9: backends[0].base_url: invalid URL: unsupported scheme 'ftp' (expected http or https)",
  'broken.yaml:14: backends[1].base_url: invalid URL: user-info (user:password@) is not allowed in URLs; pass credentials as api_key',
];

describe('meridian config check', () => {
  test('configs/default.yaml is valid: exit 0', async () => {
    const r = await runGateway(['config', 'check', 'configs/default.yaml'], { cwd: repoRoot, env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^configs\/default\.yaml: ok \(\d+ backends enabled, \d+ disabled, \d+ aliases, \d+ policy rules\)\n$/);
    assert.doesNotMatch(r.stderr, /^configs\/default\.yaml:\d+:/m, 'no error lines');
  });

  test('a broken file: exit 2, one exact line per problem, ordered by line', async () => {
    const dir = writeConfig('broken.yaml', BROKEN);
    const r = await runGateway(['config', 'check', 'broken.yaml'], { cwd: dir, env: env() });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.deepEqual(lines, [...BROKEN_LINES, 'broken.yaml: 4 error(s)']);
    assert.doesNotMatch(r.stderr, /secret/, 'URL credentials must never be printed');
  });

  test('the path is printed as given', async () => {
    const dir = writeConfig('broken.yaml', BROKEN);
    const r = await runGateway(['config', 'check', path.join(dir, 'broken.yaml')], { env: env() });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], BROKEN_LINES[0].replace('broken.yaml', path.join(dir, 'broken.yaml')));
  });

  test('a set variable makes that line go away', async () => {
    const dir = writeConfig('broken.yaml', BROKEN);
    const r = await runGateway(['config', 'check', 'broken.yaml'], { cwd: dir, env: { ...env(), [UNSET]: 'sk-from-env' } });
    assert.equal(r.code, 2);
    assert.deepEqual(r.stderr.trimEnd().split('\n'),
      [BROKEN_LINES[0], BROKEN_LINES[2], BROKEN_LINES[3], 'broken.yaml: 3 error(s)']);
  });

  test('problems with no line: an empty file and a missing file', async () => {
    const dir = writeConfig('empty.yaml', '');
    const empty = await runGateway(['config', 'check', 'empty.yaml'], { cwd: dir, env: env() });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr.split('\n')[0], /^empty\.yaml: \S/);
    assert.doesNotMatch(empty.stderr.split('\n')[0], /^empty\.yaml:\d/);

    const missing = await runGateway(['config', 'check', 'nope.yaml'], { cwd: dir, env: env() });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr.split('\n')[0], /^nope\.yaml: /);
  });

  test('meridian serve refuses a broken file with the same lines and exit 2', async () => {
    const dir = writeConfig('broken.yaml', BROKEN);
    const r = await runGateway(['serve', '--config', 'broken.yaml'], { cwd: dir, env: env() });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '', 'nothing may claim to be listening');
    assert.deepEqual(r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('broken.yaml:')), BROKEN_LINES);
  });

  test('a valid minimal file: exit 0 with counts', async () => {
    const dir = writeConfig('ok.yaml', `auth: {keys: ["sk-1"]}
backends:
  - {id: a, provider: simulator, base_url: "http://127.0.0.1:9/v1", models: [m1, m2], tier: local}
  - {id: b, provider: openai, base_url: "https://api.openai.com/v1", models: [m3], tier: cloud, requires_env: ${UNSET}}
aliases: {fast: m1}
`);
    const r = await runGateway(['config', 'check', 'ok.yaml'], { cwd: dir, env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok.yaml: ok (1 backends enabled, 1 disabled, 1 aliases, 0 policy rules)\n');
  });
});
