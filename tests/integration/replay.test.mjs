// `meridian replay TRACE`: the real Mooncake conversation trace through configs/replay.yaml,
// JSON on stdout. Checks the report's structure and that prefix affinity keeps more reusable
// prefix blocks on the replica that holds them than round robin (docs/replay.md).

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot, runGateway } from './lib.mjs';

const trace = path.join(repoRoot, '..', 'shared', 'data', 'traces', 'mooncake', 'conversation_trace.jsonl');

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

test('replay: a missing trace is exit 2 with the file named', async () => {
  const r = await runGateway(['replay', 'no-such-trace.jsonl', '-c', 'configs/replay.yaml'], { cwd: repoRoot });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no-such-trace\.jsonl/);
});
