// `meridian audit verify [--state-dir DIR | FILE]`: exit 0 and "ok: N records, head HASH" for an
// intact log; exit 1 and the first problem ("record 7: edited (hash mismatch)") for a tampered
// one; exit 2 when there is no readable log. The log is built with the hidden maintenance
// command `meridian audit append`, tampered with through the sqlite3 shell (as an attacker with
// write access to the file would), and the hash chain is recomputed here from the definition in
// docs/audit.md, so the document and the code cannot drift apart.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { makeTempDir, runGateway } from './lib.mjs';

const GENESIS = '0'.repeat(64);
const RECORDS = 20;

function sql(db, statement) {
  return execFileSync('sqlite3', [db, statement], { encoding: 'utf8' });
}

function rows(db) {
  const out = sql(db, 'SELECT seq, time_ms, kind, body, prev_hash, hash FROM audit_log ORDER BY seq');
  return out.trimEnd().split('\n').filter(Boolean).map((line) => {
    const [seq, time, kind, ...rest] = line.split('|');
    const hash = rest.pop();
    const prev = rest.pop();
    return { seq: BigInt(seq), time: BigInt(time), kind, body: rest.join('|'), prev, hash };
  });
}

// docs/audit.md: SHA-256 over F(tag) || I64(seq) || I64(time_ms) || F(kind) || F(body) || F(prev_hash),
// I64 = 8 bytes big-endian, F(s) = I64(byte length of s) || s.
function i64(v) {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(v));
  return b;
}
function field(s) {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([i64(bytes.length), bytes]);
}
function recordHash({ seq, time, kind, body, prev }) {
  return createHash('sha256')
    .update(Buffer.concat([field('meridian.audit.record.v1'), i64(seq), i64(time), field(kind), field(body), field(prev)]))
    .digest('hex');
}

async function verify(args, opts) {
  return runGateway(['audit', 'verify', ...args], opts);
}

describe('meridian audit verify', () => {
  let pristine;  // a state dir holding an intact log of RECORDS records
  let headHash;

  before(async () => {
    pristine = makeTempDir('meridian-audit-');
    for (let i = 1; i <= RECORDS; i++) {
      const kind = i % 4 === 0 ? 'admin' : 'request';
      const r = await runGateway(['audit', 'append', '--state-dir', pristine, '--kind', kind, '--body', JSON.stringify({ i, note: 'a|b' })]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^appended record ${i}, hash [0-9a-f]{64}\\n$`));
      headHash = r.stdout.trim().split(' ').pop();
    }
  });

  /** A fresh copy of the intact log; returns [stateDir, dbPath]. */
  function copy() {
    const dir = makeTempDir('meridian-audit-');
    cpSync(pristine, dir, { recursive: true });
    return [dir, path.join(dir, 'audit.db')];
  }

  async function expectProblem(dir, line) {
    const r = await verify(['--state-dir', dir]);
    assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(r.stdout, `${line}\n`);
  }

  test('an intact log: exit 0, record count and head hash; the chain matches docs/audit.md', async () => {
    const [dir, db] = copy();
    const r = await verify(['--state-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `ok: ${RECORDS} records, head ${headHash}\n`);
    assert.equal(r.stderr, '');

    const records = rows(db);
    assert.equal(records.length, RECORDS);
    let prev = GENESIS;
    for (const rec of records) {
      assert.equal(rec.prev, prev);
      assert.equal(recordHash(rec), rec.hash, `record ${rec.seq}`);
      prev = rec.hash;
    }
    assert.equal(prev, headHash);
    assert.equal(JSON.parse(records[3].body).note, 'a|b');

    const byFile = await verify([db]);
    assert.equal(byFile.code, 0, byFile.stderr);
    assert.equal(byFile.stdout, r.stdout);
  });

  test('edited body', async () => {
    const [dir, db] = copy();
    sql(db, `UPDATE audit_log SET body = '{"i":7,"note":"changed"}' WHERE seq = 7`);
    await expectProblem(dir, 'record 7: edited (hash mismatch)');
  });

  test('edited body with a recomputed hash', async () => {
    const [dir, db] = copy();
    const rec = rows(db)[6];
    rec.body = '{"i":7}';
    sql(db, `UPDATE audit_log SET body = '${rec.body}', hash = '${recordHash(rec)}' WHERE seq = 7`);
    await expectProblem(dir, 'record 7: edited (re-hashed: record 8 still links to the original)');
  });

  test('deleted record', async () => {
    const [dir, db] = copy();
    sql(db, 'DELETE FROM audit_log WHERE seq = 7');
    await expectProblem(dir, 'record 7: deleted (1 record missing)');
  });

  test('forged record appended with a correct hash', async () => {
    const [dir, db] = copy();
    const last = rows(db).at(-1);
    const forged = { seq: BigInt(RECORDS + 1), time: last.time, kind: 'admin', body: '{"forged":true}', prev: last.hash };
    forged.hash = recordHash(forged);
    sql(db, `INSERT INTO audit_log VALUES (${forged.seq}, ${forged.time}, 'admin', '${forged.body}', '${forged.prev}', '${forged.hash}')`);
    await expectProblem(dir, `record ${RECORDS + 1}: inserted (beyond the head record at seq ${RECORDS})`);
  });

  test('two records swapped', async () => {
    const [dir, db] = copy();
    sql(db, 'BEGIN; UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -1; COMMIT;');
    await expectProblem(dir, 'record 3: reordered (holds record 4)');
  });

  test('truncated tail, and the store refuses to append on top of it', async () => {
    const [dir, db] = copy();
    sql(db, 'DELETE FROM audit_log WHERE seq > 15');
    await expectProblem(dir, `record 16: truncated (the head record names seq ${RECORDS}; the log ends at 15)`);
    const append = await runGateway(['audit', 'append', '--state-dir', dir, '--kind', 'admin', '--body', '{}']);
    assert.equal(append.code, 2);
    assert.match(append.stderr, /does not match its anchors .*refusing to append: run `meridian audit verify/);
  });

  test('deleted head file; --chain-only still checks the chain', async () => {
    const [dir, db] = copy();
    rmSync(`${db}.head`);
    await expectProblem(dir, `head file: missing (${db}.head)`);
    const chainOnly = await verify(['--chain-only', db]);
    assert.equal(chainOnly.code, 0, chainOnly.stderr);
    assert.equal(chainOnly.stdout, `ok: ${RECORDS} records, head ${headHash}\n`);
    assert.match(chainOnly.stderr, /^note: chain only/);
  });

  test('no log, not a database, not an audit log: exit 2 with a message', async () => {
    const empty = makeTempDir('meridian-audit-');
    const none = await verify(['--state-dir', empty]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.equal(none.stderr, `audit verify: no audit log at ${path.join(empty, 'audit.db')}\n`);

    const garbage = path.join(empty, 'garbage.db');
    writeFileSync(garbage, 'not a database, only some text that is long enough to look like a header\n'.repeat(4));
    const bad = await verify([garbage]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, new RegExp(`^audit verify: cannot read ${garbage}: .*not a database`));

    const plain = path.join(empty, 'plain.db');
    sql(plain, 'CREATE TABLE t (x)');
    const other = await verify([plain]);
    assert.equal(other.code, 2);
    assert.equal(other.stderr, `audit verify: ${plain} is not a Meridian audit log\n`);
  });

  test('append refuses a bad entry', async () => {
    const [dir] = copy();
    const r = await runGateway(['audit', 'append', '--state-dir', dir, '--kind', 'request', '--body', '[1]']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'audit append: audit record body must be a JSON object\n');
    const v = await verify(['--state-dir', dir]);
    assert.equal(v.stdout, `ok: ${RECORDS} records, head ${headHash}\n`);
  });
});
