// `meridian replay TRACE`: the real Mooncake conversation trace through configs/replay.yaml,
// JSON on stdout. Checks the report's structure and that prefix affinity keeps more reusable
// prefix blocks on the replica that holds them than round robin (docs/replay.md).

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot, runGateway } from './lib.mjs';

const trace = path.join(repoRoot, '..', 'shared', 'data', 'traces', 'mooncake', 'conversation_trace.jsonl');
const tau = path.join(repoRoot, '..', 'shared', 'data', 'traces', 'tau-bench', 'gpt-4o-airline.json');

test('replay of the Mooncake trace: JSON report, affinity beats round robin', async () => {
  const r = await runGateway(['replay', trace, '-c', 'configs/replay.yaml', '--json', '-', '--no-progress'],
    { cwd: repoRoot, timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.format, 'mooncake');
  assert.equal(report.requests, 12031);
  assert.equal(report.skipped, 0);
  assert.equal(report.policy.allowed + report.policy.blocked + report.policy.no_eligible_backend, 12031);
  assert.equal(report.routed.reduce((n, c) => n + c.requests, 0), report.policy.allowed);
  for (const key of ['total_pico_usd', 'baseline_pico_usd', 'savings_pico_usd', 'savings_share']) {
    assert.equal(typeof report.cost[key], 'number', key);
  }
  assert.equal(report.cost.savings_pico_usd, report.cost.baseline_pico_usd - report.cost.total_pico_usd);
  assert.ok(report.latency_ms.total.p50 >= report.latency_ms.ttft.p50);
  assert.ok(report.latency_ms.total.p99 >= report.latency_ms.total.p50);
  assert.ok(report.strong_share >= 0 && report.strong_share <= 1);
  const cmp = report.prefix_reuse.comparison;
  assert.equal(cmp.replicas, 8);
  assert.equal(cmp.affinity.reusable_blocks, cmp['round-robin'].reusable_blocks);
  assert.ok(cmp.affinity.hit_share > cmp['round-robin'].hit_share,
    `affinity ${cmp.affinity.hit_share} <= round robin ${cmp['round-robin'].hit_share}`);
  assert.ok(cmp.affinity.hit_share > cmp['least-busy'].hit_share);
});

// configs/replay-quality.yaml: one quality alias, replayed per alias. The split depends on the
// shipped model file, so the tau-bench run checks that the counts add up; the text-less Mooncake
// run has nothing to score and is exact.
test('replay per alias through the quality router: tau-bench scored, Mooncake unscored', async () => {
  const args = ['-c', 'configs/replay-quality.yaml', '--json', '-', '--no-progress'];
  const r = await runGateway(['replay', tau, ...args], { cwd: repoRoot, timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.per_alias, true);
  assert.equal(report.strategy, 'per-alias');
  assert.equal(report.requests, 2454);
  assert.deepEqual(report.targets.map((t) => [t.name, t.model, t.strategy, t.requests]),
    [['smart', 'gpt-4o', 'least-busy', 2454]]);
  assert.equal(report.quality.length, 1);
  const q = report.quality[0];
  assert.deepEqual([q.alias, q.strong_model, q.weak_model], ['smart', 'gpt-4o', 'llama-3.1-70b']);
  assert.equal(q.scored, 2454);
  assert.equal(q.unscored, 0);
  assert.equal(q.sent_weak + q.sent_strong, q.scored);
  const on = (model) => report.routed.filter((c) => c.model === model).reduce((n, c) => n + c.requests, 0);
  assert.equal(on('gpt-4o'), q.sent_strong);  // nothing blocked: every decision was routed
  assert.equal(on('llama-3.1-70b'), q.sent_weak);
  assert.equal(report.strong_requests, q.sent_strong);
  assert.equal(report.cost.savings_pico_usd, report.cost.baseline_pico_usd - report.cost.total_pico_usd);

  const m = await runGateway(['replay', trace, ...args, '--limit', '200'], { cwd: repoRoot, timeoutMs: 120000 });
  assert.equal(m.code, 0, m.stderr);
  const moon = JSON.parse(m.stdout);
  assert.deepEqual([moon.quality[0].scored, moon.quality[0].sent_weak, moon.quality[0].sent_strong,
    moon.quality[0].unscored], [0, 0, 0, 200]);
  assert.equal(moon.strong_requests, 200);
  assert.equal(moon.strong_share, 1);
  assert.equal(moon.cost.savings_pico_usd, 0);  // all on gpt-4o, the baseline itself
});

test('replay: a missing trace is exit 2 with the file named', async () => {
  const r = await runGateway(['replay', 'no-such-trace.jsonl', '-c', 'configs/replay.yaml'], { cwd: repoRoot });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no-such-trace\.jsonl/);
});
