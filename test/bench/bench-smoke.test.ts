/**
 * Smoke test of the benchmark harness (`npm run bench`) in its quickest mode: bare Express and
 * Express + this SDK for a second each, micro-benchmarks at 10 ms per case. Asserts the report is
 * produced and every request the SDK app completed reached the collector. No timing or throughput
 * assertion: the figures of a one-second run on a shared machine mean nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { BenchSummary } from '../../bench/report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('the bench harness, quickest mode: markdown table written and every SDK record delivered', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apitoolkit-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'LATEST.md');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/run.ts',
      '--quick',
      '--apps',
      'bare-express,express',
      '--rounds',
      '1',
      '--duration',
      '1',
      '--warmup',
      '0.5',
      '--unpinned-rounds',
      '0',
      '--micro-time',
      '10',
      '--out',
      out,
      // The sources, so that the test needs no build (npm run bench measures the built package).
      '--sdk',
      'src',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The harness kills its own children on exit; this only covers the harness itself hanging.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `bench/run.ts failed:\n${stderr}\n${stdout}`);

  // The table is printed and written.
  const header = '| framework | app | req/s | vs bare, same round: median (range) |';
  assert.ok(stdout.includes(header), `no table on stdout:\n${stdout}`);
  const markdown = readFileSync(out, 'utf8');
  assert.ok(markdown.includes(header));
  assert.match(markdown, /\| Express 5 \| bare \| [\d ]+ \| 1× \|/);
  assert.match(markdown, /\| Express 5 \| \+ this SDK \(collector over REST\) \| [\d ]+ \| \*\*[\d.]+×\*\*/);
  assert.match(markdown, /## Per-record cost of each pipeline stage/);
  assert.doesNotMatch(markdown, /FAILED/);
  assert.ok(existsSync(out.replace(/\.md$/, '.json')));

  // Every request the SDK app completed has its record at the collector.
  const summary = JSON.parse(readFileSync(out.replace(/\.md$/, '.json'), 'utf8')) as BenchSummary;
  const express = summary.runs[0]!.groups.find((g) => g.framework.name === 'express');
  assert.ok(express !== undefined, 'the express group did not run');
  const sdk = express.apps.find((a) => a.app.id === 'express')!;
  assert.equal(sdk.error, undefined);
  assert.equal(sdk.samples.length, 1);
  const d = sdk.delivery!;
  assert.ok(d.completed > 0, 'autocannon completed no request');
  assert.ok(d.delivered >= d.completed, `records delivered ${d.delivered} < requests completed ${d.completed}`);
  assert.ok(d.delivered <= d.sent, `records delivered ${d.delivered} > requests sent ${d.sent}`);
  assert.ok(d.allFlushed);
  assert.ok(
    d.check !== null && d.check.kept > 0 && d.check.valid === d.check.kept,
    `invalid messages at the collector: ${JSON.stringify(d.check)}`,
  );
  assert.ok(d.check.ownRecords > 0, 'the records at the collector do not carry the app id');
  const stats = sdk.sdkStats as { published: number; dropped: Record<string, number> };
  assert.deepEqual(
    Object.entries(stats.dropped).filter(([, n]) => n > 0),
    [],
  );
  assert.equal(stats.published, d.delivered);
  // Pinned, a fixed-rate run follows (open loop): every request sent completed, all delivered.
  const fixed = summary.runs.find((r) => r.kind === 'fixed-rate');
  assert.equal(fixed !== undefined, summary.settings.rate != null);
  if (fixed !== undefined) {
    assert.match(markdown, /## Fixed rate: 1000 req\/s in all, pinned/);
    const atRate = fixed.groups[0]!.apps.find((a) => a.app.id === 'express')!;
    assert.equal(atRate.samples.length, 1);
    const [s] = atRate.samples;
    assert.ok(s!.completed > 0 && s!.completed === s!.sent && s!.errors === 0, JSON.stringify(s));
    assert.ok(atRate.delivery!.delivered >= atRate.delivery!.completed);
  }
  // The bare app delivers nothing and is not checked.
  assert.equal(express.apps.find((a) => a.app.id === 'bare-express')!.delivery, null);
});
