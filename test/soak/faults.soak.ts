/**
 * Never hurt the host app: 60 s of continuous load on apps whose Pub/Sub endpoint is stopped,
 * hangs, or answers UNAVAILABLE / PERMISSION_DENIED / NOT_FOUND, and on one whose metadata endpoint
 * never answers, side by side with the same app without the SDK. Each app runs in its own process
 * (so crashes, unhandled rejections and memory can be observed) with a small queue, and must:
 * answer every request (no errors, no request slower than 5 s), keep its queue within the configured
 * bound and its memory flat once the queue is full, count every record it could not send by reason,
 * and write nothing to stderr.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { splitWarnings, startChildApp, type ChildApp, type ChildStats } from '../helpers/child-app.js';
import { closedPort } from '../helpers/emulator.js';
import { describeLatency, slowestPerWindow, startLoad } from '../helpers/load.js';

const DURATION_MS = Number(process.env.SOAK_DURATION_MS ?? 60_000); // 60 s
const RATE = 50; // requests/s per app (seven apps share two cores with the load generator)
const SAMPLE_EVERY_MS = 2_000;
const WARM_UP_MS = 8_000;
const MAX_QUEUE_SIZE = 500;
const MAX_QUEUE_BYTES = 1024 * 1024; // 1 MiB
const RESPONSE_BYTES = 8 * 1024; // large records (~11 KiB encoded), so that an unbounded queue would show
const MiB = 2 ** 20;

type Fault = 'collector stopped' | 'hang' | 'UNAVAILABLE' | 'PERMISSION_DENIED' | 'NOT_FOUND' | 'metadata down';
const GRPC_CODES = { UNAVAILABLE: 14, PERMISSION_DENIED: 7, NOT_FOUND: 5 } as const;

interface Subject {
  fault: Fault | 'none (no SDK)';
  app: ChildApp;
  collector?: Collector;
  samples: { at: number; s: ChildStats }[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function totalDropped(s: ChildStats): number {
  return s.stats === null ? 0 : Object.values(s.stats.dropped).reduce((a, b) => a + b, 0);
}

test(`${DURATION_MS / 1000} s of load with the endpoint down, hanging or refusing: the apps are unaffected, memory is bounded, drops are counted`, {
  timeout: DURATION_MS + 180_000,
}, async (t) => {
  const subjects: Subject[] = [];
  t.after(async () => {
    await Promise.all(subjects.map((s) => s.app.kill()));
    await Promise.all(subjects.map((s) => s.collector?.close()));
  });
  const sdkOptions = { maxQueueSize: MAX_QUEUE_SIZE, maxQueueBytes: MAX_QUEUE_BYTES, exportTimeoutMs: 2_000, maxBatchSize: 100 };

  // The baseline: the same app, no SDK at all.
  subjects.push({ fault: 'none (no SDK)', app: await startChildApp({ sdk: null, responseBytes: RESPONSE_BYTES }), samples: [] });
  for (const fault of ['collector stopped', 'hang', 'UNAVAILABLE', 'PERMISSION_DENIED', 'NOT_FOUND'] as const) {
    const collector = await startCollector();
    const app = await startChildApp({
      sdk: { apiKey: 'soak-key', rootURL: collector.rootURL, pubsubEndpoint: collector.pubsubEndpoint, ...sdkOptions },
      responseBytes: RESPONSE_BYTES,
    });
    subjects.push({ fault, app, collector, samples: [] });
  }
  const deadRoot = `http://127.0.0.1:${await closedPort()}`;
  subjects.push({
    fault: 'metadata down',
    app: await startChildApp({
      sdk: { apiKey: 'soak-key', rootURL: deadRoot, pubsubEndpoint: '127.0.0.1:9', ...sdkOptions },
      responseBytes: RESPONSE_BYTES,
    }),
    samples: [],
  });

  // Ready (metadata fetched) before the faults begin, except the one whose metadata never comes.
  for (const s of subjects) {
    if (s.collector === undefined) continue;
    await s.app.waitFor((x) => x.stats.state === 'ready', `${s.fault}: ready`, 20_000);
  }
  // Warm-up, not measured: seven processes compiling and connecting at once on two cores make the
  // first seconds slow for every app, SDK or not.
  const warm = startLoad(
    subjects.map((s) => ({ name: s.fault, url: s.app.url })),
    { ratePerSecond: RATE, path: (i) => `/work/warm-${i}` },
  );
  await sleep(WARM_UP_MS);
  await warm.stop();
  const beforeFault = new Map<Subject, ChildStats>();
  for (const s of subjects) beforeFault.set(s, await s.app.stats());
  for (const s of subjects) {
    if (s.fault === 'collector stopped') await s.collector!.close();
    else if (s.fault === 'hang') s.collector!.setPublishFault('hang');
    else if (s.fault in GRPC_CODES) s.collector!.setPublishFault(GRPC_CODES[s.fault as keyof typeof GRPC_CODES]);
  }

  const load = startLoad(
    subjects.map((s) => ({ name: s.fault, url: s.app.url })),
    { ratePerSecond: RATE, path: (i) => `/work/${i}` },
  );
  const started = Date.now();
  while (Date.now() - started < DURATION_MS) {
    await sleep(SAMPLE_EVERY_MS);
    const at = Date.now() - started;
    await Promise.all(subjects.map(async (s) => s.samples.push({ at, s: await s.app.stats({ gc: true }) })));
  }
  const results = await load.stop();

  // Delivery resumes once the faults are cleared: 60 s of failures left nothing wedged.
  for (const s of subjects) if (s.collector !== undefined && s.fault !== 'collector stopped') s.collector.setPublishFault(null);
  for (const s of subjects) {
    if (s.collector === undefined || s.fault === 'collector stopped') continue;
    const before = (await s.app.stats()).stats.published;
    for (let i = 0; i < 5; i++) await (await fetch(`${s.app.url}/work/after-${i}`)).arrayBuffer();
    await s.app.waitFor((x) => x.stats.published >= before + 5, `${s.fault}: delivery after the fault is cleared`, 15_000);
  }

  const baseline = subjects[0]!;
  const baseRss = baseline.samples.map((x) => x.s.memory.rss);
  const report: string[] = [
    `${DURATION_MS / 1000} s at ${RATE} req/s per app, maxQueueSize ${MAX_QUEUE_SIZE}, maxQueueBytes ${MAX_QUEUE_BYTES / MiB} MiB, ${RESPONSE_BYTES / 1024} KiB responses:`,
  ];
  const failures: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) failures.push(what);
  };

  for (const s of subjects) {
    const r = results.get(s.fault)!;
    const last = s.samples.at(-1)!.s;
    const rss = s.samples.map((x) => x.s.memory.rss);
    // Live memory after a full collection: the heap plus Buffers (queued records are Buffers).
    const live = (x: ChildStats) => x.memory.heapUsed + x.memory.arrayBuffers;
    // "Full": the first sample at which the SDK had started dropping (the queue or the start-up buffer was at its bound).
    const fullAt = s.samples.findIndex((x) => totalDropped(x.s) > 0);
    const window = fullAt === -1 ? s.samples : s.samples.slice(fullAt);
    const early = median(window.slice(0, 5).map((x) => x.s.memory.rss));
    const late = median(window.slice(-5).map((x) => x.s.memory.rss));
    const liveEarly = median(window.slice(0, 5).map((x) => live(x.s)));
    const liveLate = median(window.slice(-5).map((x) => live(x.s)));
    const baseGrowth = median(baseRss.slice(-5)) - median(baseRss.slice(fullAt === -1 ? 0 : fullAt, (fullAt === -1 ? 0 : fullAt) + 5));
    report.push(
      `  ${s.fault.padEnd(18)} ${r.sent} requests, ${r.errors} errors, latency ${describeLatency(r.latencies)}` +
        (last.stats === null
          ? ''
          : `; captured ${last.stats.captured}, published ${last.stats.published}, queued ${last.stats.queued} ` +
            `(${(last.stats.queuedBytes / 1024).toFixed(0)} KiB), pending ${last.stats.pending}, failed sends ${last.stats.failed}, ` +
            `dropped ${JSON.stringify(Object.fromEntries(Object.entries(last.stats.dropped).filter(([, n]) => n > 0)))}`) +
        `\n  ${''.padEnd(18)} slowest request per 5 s window (ms): ${slowestPerWindow(r)}` +
        `\n  ${''.padEnd(18)} RSS MiB every ${SAMPLE_EVERY_MS / 1000} s: ${rss.map((n) => (n / MiB).toFixed(0)).join(' ')}` +
        (last.stats === null
          ? ''
          : `\n  ${''.padEnd(18)} RSS after the queue filled (t+${((s.samples[fullAt]?.at ?? 0) / 1000).toFixed(0)} s): ` +
            `${(early / MiB).toFixed(0)} -> ${(late / MiB).toFixed(0)} MiB (no-SDK app over the same window: ${baseGrowth >= 0 ? '+' : ''}${(baseGrowth / MiB).toFixed(0)} MiB); ` +
            `heap + buffers after GC ${(liveEarly / MiB).toFixed(1)} -> ${(liveLate / MiB).toFixed(1)} MiB`),
    );

    check(r.errors === 0, `${s.fault}: ${r.errors} failed requests (${r.errorSamples.slice(0, 3).join('; ')})`);
    check(Math.max(...r.latencies) < 5_000, `${s.fault}: a request took ${Math.max(...r.latencies).toFixed(0)} ms`);
    check(r.sent >= RATE * (DURATION_MS / 1000) * 0.9, `${s.fault}: only ${r.sent} requests were sent`);
    check(s.app.crashes.length === 0, `${s.fault}: ${s.app.crashes.join('\n')}`);
    // The SDK may warn of the fault (through its default logger), once per kind in the whole minute.
    const { codes, rest } = splitWarnings(s.app.stderr());
    check(rest === '', `${s.fault}: wrote to stderr: ${rest.slice(0, 500)}`);
    check(new Set(codes).size === codes.length, `${s.fault}: a warning repeated within a minute: ${codes.join(', ')}`);
    check(s.app.child.exitCode === null, `${s.fault}: the app exited`);
    if (last.stats === null) continue;

    for (const { at, s: x } of s.samples) {
      const st = x.stats;
      check(
        st.queued <= MAX_QUEUE_SIZE && st.queuedBytes <= MAX_QUEUE_BYTES && st.pending <= MAX_QUEUE_SIZE,
        `${s.fault} t+${at} ms: over the queue bound (queued ${st.queued}, ${st.queuedBytes} bytes, pending ${st.pending})`,
      );
      // Every record is somewhere: delivered, dropped with a reason, or waiting.
      check(
        st.captured === st.published + totalDropped(x) + st.queued + st.pending,
        `${s.fault} t+${at} ms: records unaccounted for (captured ${st.captured}, published ${st.published}, dropped ${totalDropped(x)}, queued ${st.queued}, pending ${st.pending})`,
      );
    }
    check(
      fullAt !== -1 && s.samples[fullAt]!.at < DURATION_MS / 2,
      `${s.fault}: the SDK never started dropping (or only in the second half of the run)`,
    );
    // An unbounded queue would add ~11 KiB per request: ~30 MiB over the run.
    check(
      liveLate - liveEarly < 12 * MiB,
      `${s.fault}: live memory grew ${((liveLate - liveEarly) / MiB).toFixed(1)} MiB after the queue filled`,
    );
    check(late - early < 48 * MiB, `${s.fault}: RSS grew ${((late - early) / MiB).toFixed(0)} MiB after the queue filled`);

    const d = last.stats.dropped;
    switch (s.fault) {
      case 'collector stopped':
      case 'hang':
      case 'UNAVAILABLE':
        // At most the batch that was in flight when the fault began.
        check(
          d.queue_overflow! > 0 && last.stats.published - beforeFault.get(s)!.stats.published <= sdkOptions.maxBatchSize,
          `${s.fault}: expected queue_overflow drops and nothing published, got ${JSON.stringify(d)}, published ${last.stats.published}`,
        );
        break;
      case 'PERMISSION_DENIED':
      case 'NOT_FOUND':
        check(d.send_failed! > 0, `${s.fault}: expected send_failed drops, got ${JSON.stringify(d)}`);
        break;
      case 'metadata down':
        check(
          d.pending_overflow! > 0 && last.stats.state === 'starting',
          `${s.fault}: expected pending_overflow drops while starting, got ${last.stats.state} ${JSON.stringify(d)}`,
        );
        break;
    }
  }
  console.log(report.join('\n'));
  assert.deepEqual(failures, []);
});
