/**
 * Never lose: a 60 s outage of the Pub/Sub endpoint at 100 requests/s. The app runs in its own
 * process with the SDK's default queue; the endpoint is the local collector behind a TCP proxy
 * that is taken down (nothing listens: connections are refused, open ones are cut) and brought
 * back on the same port. Every record captured must arrive, and delivery must resume within 1 s of
 * the endpoint's return.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCollector } from '../../src/collector/index.js';
import { splitWarnings, startChildApp } from '../helpers/child-app.js';
import { describeLatency, startLoad } from '../helpers/load.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';

const RATE = 100; // requests/s
const OUTAGE_MS = Number(process.env.SOAK_OUTAGE_MS ?? 60_000); // 60 s
const RECOVERY_BOUND_MS = 1_000; // 1 s

test(`a ${OUTAGE_MS / 1000} s outage at ${RATE} requests/s loses no record; delivery resumes within 1 s`, {
  timeout: OUTAGE_MS + 180_000,
}, async (t) => {
  const collector = await startCollector();
  t.after(() => collector.close());
  const proxy = await startTcpProxy(collector.pubsubEndpoint);
  t.after(() => proxy.close());
  const app = await startChildApp({
    sdk: { apiKey: 'soak-key', rootURL: collector.rootURL, pubsubEndpoint: proxy.address },
    responseBytes: 1_000,
  });
  t.after(() => app.kill());
  await app.waitFor((s) => s.stats.state === 'ready', 'the SDK to be ready', 20_000);

  const load = startLoad([{ name: 'app', url: app.url }], { ratePerSecond: RATE, path: (i) => `/work/${i}` });
  await until(() => collector.records().length > 50, 'records flowing before the outage', 10_000);

  await proxy.down();
  const deliveredBefore = () => new Set(collector.records().map((r) => r.msg_id)).size;
  const atCut = deliveredBefore();
  const outageStarted = Date.now();
  const samples: string[] = [];
  while (Date.now() - outageStarted < OUTAGE_MS) {
    await sleep(Math.min(10_000, OUTAGE_MS - (Date.now() - outageStarted)));
    const s = await app.stats();
    samples.push(
      `t+${Math.round((Date.now() - outageStarted) / 1000)} s: captured ${s.stats.captured}, queued ${s.stats.queued}, ` +
        `failed sends ${s.stats.failed}, dropped ${JSON.stringify(s.stats.dropped)}, rss ${(s.memory.rss / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  const duringOutage = deliveredBefore() - atCut;

  const atReturn = deliveredBefore();
  await proxy.up();
  const back = performance.now();
  let resumedAfterMs = Infinity;
  await until(
    () => {
      if (deliveredBefore() > atReturn) {
        resumedAfterMs = performance.now() - back;
        return true;
      }
      return false;
    },
    'the first delivery after the endpoint came back',
    60_000,
  );

  await sleep(3_000); // keep the load on a little after the return
  const results = await load.stop();
  const final = (await app.stats()).stats;
  const captured = final.captured;
  await until(() => deliveredBefore() >= captured, `all ${captured} records to arrive`, 60_000).catch(() => {});
  const delivered = deliveredBefore();
  const end = await app.stats();
  const lost = captured - delivered;
  const duplicates = collector.records().length - delivered;
  const r = results.get('app')!;

  console.log(
    [
      `outage ${OUTAGE_MS / 1000} s at ${RATE} req/s (default queue: ${10_000} records / 64 MiB):`,
      ...samples.map((s) => `  ${s}`),
      `  delivered during the outage: ${duringOutage}`,
      `  delivery resumed ${resumedAfterMs.toFixed(0)} ms after the endpoint came back`,
      `  captured ${captured}, delivered ${delivered} (unique), lost ${lost}, duplicates ${duplicates}`,
      `  SDK: published ${end.stats.published}, dropped ${JSON.stringify(end.stats.dropped)}, failed sends ${end.stats.failed}`,
      `  app: ${r.sent} requests, ${r.errors} errors, latency ${describeLatency(r.latencies)}`,
    ].join('\n'),
  );

  assert.equal(r.errors, 0, `the app answered every request: ${r.errorSamples.join('; ')}`);
  assert.ok(Math.max(...r.latencies) < 5_000, 'no request took more than 5 s');
  assert.ok(captured >= RATE * (OUTAGE_MS / 1000) * 0.9, `the load ran (${captured} captured)`);
  // At most the batch that was on the wire when the connection was cut.
  assert.ok(duringOutage <= 500, `nothing can arrive while the endpoint is down (${duringOutage} did)`);
  assert.equal(lost, 0, `no record lost (${lost} of ${captured})`);
  assert.equal(
    Object.values(end.stats.dropped).reduce((a, b) => a + b, 0),
    0,
    'nothing dropped',
  );
  assert.ok(resumedAfterMs <= RECOVERY_BOUND_MS, `delivery resumed within ${RECOVERY_BOUND_MS} ms (took ${resumedAfterMs.toFixed(0)} ms)`);
  // Nothing but the outage's warning, once (rate-limited): publishing is retrying.
  const { codes, rest } = splitWarnings(app.stderr());
  assert.equal(rest, '', 'the app wrote nothing else to stderr');
  assert.deepEqual(codes, ['APITOOLKIT_WARN_PUBLISH_RETRYING']);
  assert.deepEqual(app.crashes, []);
});
