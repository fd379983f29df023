/**
 * The bench report's targets section: each target is judged from same-round pairs of the bare and
 * instrumented apps, and the report says plainly which are not met. Synthetic runs, no load.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppRun, GroupRun, RoundSample } from '../../bench/macro.js';
import { renderMarkdown, targetRows, type BenchSummary } from '../../bench/report.js';

const MB = 2 ** 20;

function sample(round: number, rps: number, cpuUsPerReq: number, rssMb: number, p99 = 2): RoundSample {
  return {
    round,
    position: 0,
    rps,
    p50: 1,
    p99,
    completed: rps * 5,
    sent: rps * 5,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    cpuUsPerReq,
    rssPeakBytes: rssMb * MB,
  } as RoundSample;
}

function group(name: string, label: string, bare: RoundSample[], sdk: RoundSample[]): GroupRun {
  const framework = { name, label, adapterExport: 'x' };
  const app = (id: string, sdkKind: 'none' | 'this', samples: RoundSample[]): AppRun =>
    ({
      app: { id, label: id, framework, mode: sdkKind === 'none' ? 'bare' : 'sdk', sdk: sdkKind, byDefault: true },
      samples,
      sdkStats: null,
      delivery: null,
    }) as unknown as AppRun;
  return {
    framework,
    pinned: true,
    rounds: bare.length,
    apps: [app(`bare-${name}`, 'none', bare), app(name, 'this', sdk)],
  } as unknown as GroupRun;
}

function summary(runs: BenchSummary['runs'], micro: BenchSummary['micro'] = null): BenchSummary {
  return {
    date: '2026-12-03T00:00:00Z',
    node: 'v20',
    cpu: 'test',
    cores: 2,
    platform: 'linux',
    settings: {
      connections: 50,
      warmupS: 1,
      durationS: 5,
      rounds: 3,
      adapterRounds: 3,
      unpinnedRounds: 0,
      rate: 1000,
      rateRounds: 2,
      pinning: 'taskset',
      microTimeMs: null,
      quick: false,
      apps: [],
      requestBytes: 1024,
      responseBytes: 1024,
      versions: {},
    },
    runs,
    skipped: [],
    micro,
    notes: [],
    elapsedS: 1,
  };
}

test('targets: added CPU and RSS are per-round differences, throughput the same-round ratio', () => {
  // node:http: bare 20 µs, SDK +24 / +26 / +40 µs in the three rounds: median +26 > 25, not met.
  // Fastify: +28 / +29 / +31: median +29 <= 30, met; ratio 0.75 >= 0.70, met.
  const http = group(
    'http',
    'node:http',
    [sample(1, 40_000, 20, 100), sample(2, 40_000, 22, 100), sample(3, 40_000, 20, 100)],
    [sample(1, 20_000, 44, 160), sample(2, 20_000, 48, 125), sample(3, 20_000, 60, 120)],
  );
  const fastify = group(
    'fastify',
    'Fastify 5',
    [sample(1, 40_000, 20, 100), sample(2, 40_000, 20, 100), sample(3, 40_000, 20, 100)],
    [sample(1, 30_000, 48, 120), sample(2, 30_000, 49, 125), sample(3, 30_000, 51, 129)],
  );
  const express = group(
    'express',
    'Express 5',
    [sample(1, 1000, 200, 100, 10), sample(2, 1000, 200, 100, 12)],
    [sample(1, 1000, 300, 100, 11), sample(2, 1000, 300, 100, 16)],
  );
  const rows = targetRows(
    summary(
      [
        { kind: 'pinned', groups: [http, fastify] },
        { kind: 'fixed-rate', rate: 1000, groups: [express] },
      ],
      [
        {
          stage: 'start-up',
          case: 'longest event-loop block once the app serves: import (with the SDK; built package)',
          medianUs: 42_000,
          meanUs: 42_000,
          p99Us: 42_000,
          samples: 5,
        },
      ],
    ),
  );
  const row = (prefix: string) => {
    const r = rows.find((x) => x.target.startsWith(prefix));
    assert.ok(r !== undefined, `no row ${prefix}: ${rows.map((x) => x.target).join('; ')}`);
    return r;
  };
  const httpCpu = row('node:http: added app CPU per request ≤ 25 µs');
  assert.equal(httpCpu.met, false);
  assert.match(httpCpu.measured, /\*\*\+26 µs\*\*/);
  assert.equal(row('node:http: throughput vs bare ≥ 0.70×').met, false);
  // RSS: peak of all rounds 160 - 100 = +60, not met; steady state (rounds 2-3) +25 / +20: +23 MB.
  const httpRss = row('node:http: RSS under load ≤ bare + 30 MB');
  assert.equal(httpRss.met, false);
  assert.match(httpRss.measured, /\*\*\+60 MB\*\*.*steady state\) \+23 MB/);
  assert.equal(row('Fastify 5: added app CPU per request ≤ 30 µs').met, true);
  assert.equal(row('Fastify 5: throughput vs bare ≥ 0.70×').met, true);
  assert.equal(row('Fastify 5: RSS under load').met, true);
  // p99 added: +1 and +4 ms, median +2.5 > 2.
  const p99 = row('Express 5: p99 added at a fixed 1000 req/s ≤ 2 ms');
  assert.equal(p99.met, false);
  assert.match(p99.measured, /\+2\.5 ms/);
  assert.equal(row('start-up').met, false);
});

test('targets: the markdown report says how many are met, and which are not', () => {
  const http = group('http', 'node:http', [sample(1, 40_000, 20, 100)], [sample(1, 30_000, 40, 140)]);
  const md = renderMarkdown(summary([{ kind: 'pinned', groups: [http] }]));
  assert.match(md, /## Targets\n\n2 of 3 targets met in this run\./);
  assert.match(md, /\| node:http: added app CPU per request ≤ 25 µs \| 20 -> 40 µs, \*\*\+20 µs\*\* \| met \|/);
  assert.match(md, /\| node:http: throughput vs bare ≥ 0\.70× \| \*\*0\.75×\*\* \| met \|/);
  assert.match(md, /\| node:http: RSS under load ≤ bare \+ 30 MB \| peak of all rounds \*\*\+40 MB\*\* \| \*\*not met\*\* \|/);
  // A framework without a CPU target is shown, not judged; no pinned run, no targets section.
  const nest = group('nest', 'NestJS', [sample(1, 100, 100, 100)], [sample(1, 90, 150, 200)]);
  assert.match(
    renderMarkdown(summary([{ kind: 'pinned', groups: [nest] }])),
    /NestJS: added app CPU per request \(no target\) \| .* \| — \|/,
  );
  assert.doesNotMatch(renderMarkdown(summary([])), /## Targets/);
});
