/**
 * Pipeline figures for the foundation: how many records per second the queue + Pub/Sub transport
 * deliver to a collector running in another process, and how much memory a queued record costs.
 *
 *   npm run bench:pipeline            # RECORDS=50000 by default
 *
 * Not a test: numbers only, printed as a markdown table.
 */
import { createBatcher } from '../src/core/batcher.js';
import { encodeRecord } from '../src/core/encode.js';
import type { ApiRecord } from '../src/core/record.js';
import { nodeHttpClient } from '../src/transport/http-node.js';
import { makePubSubTransport } from '../src/transport/pubsub.js';
import { sampleRecord } from './micro/fixtures.js';
import { spawnNode } from './proc.js';

const RECORDS = Number(process.env.RECORDS ?? 50_000);

/** The micro-benchmarks' record, made distinct per index. */
function recordOf(i: number): ApiRecord {
  const body = Buffer.from(
    JSON.stringify({ id: i, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'dev'], bio: 'x'.repeat(300) }),
  );
  return { ...sampleRecord(body, body), raw_url: `/users/${i}?x=1`, path_params: { id: String(i) }, query_params: { x: ['1'] } };
}

async function delivery(): Promise<{ recordsPerSecond: number; bytesPerRecord: number; seconds: number }> {
  // The collector in a process of its own (killed with this one, whatever happens).
  const collector = await spawnNode('collector', 'collector.ts', []);
  const { rootURL, pubsubEndpoint } = collector.ready as { rootURL: string; pubsubEndpoint: string };
  const transport = makePubSubTransport({ apiKey: 'bench', rootURL, pubsubEndpoint, http: nodeHttpClient() });
  await transport.start(AbortSignal.timeout(10_000));
  let published = 0;
  let allPublished!: () => void;
  const done = new Promise<void>((resolve) => {
    allPublished = resolve;
  });
  const batcher = createBatcher({
    maxQueueSize: RECORDS,
    maxQueueBytes: 2 ** 31,
    maxBatchSize: 500,
    maxBatchBytes: 5 * 1024 * 1024,
    flushIntervalMs: 500,
    exportTimeoutMs: 10_000,
    send: (m, t) => transport.send(m, t),
    onPublished: (n) => {
      published += n;
      if (published >= RECORDS) allPublished();
    },
    onDropped: (reason) => {
      throw new Error(`dropped: ${reason}`);
    },
    onRetry: (e) => console.error('retry', e.message),
  });
  const messages = Array.from({ length: RECORDS }, (_, i) => {
    const e = encodeRecord(recordOf(i));
    if (!e.ok) throw e.error;
    return e.message;
  });
  const bytes = messages.reduce((a, m) => a + m.length, 0);
  const started = process.hrtime.bigint();
  for (const m of messages) batcher.add(m);
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await transport.shutdown();
  await collector.stop();
  return { recordsPerSecond: RECORDS / seconds, bytesPerRecord: bytes / RECORDS, seconds };
}

async function queueMemory(): Promise<{ perRecord: number; encoded: number }> {
  const n = 10_000;
  const batcher = createBatcher({
    maxQueueSize: n,
    maxQueueBytes: 2 ** 31,
    maxBatchSize: 500,
    maxBatchBytes: 5 * 1024 * 1024,
    flushIntervalMs: 3_600_000,
    exportTimeoutMs: 3_600_000,
    send: () => new Promise(() => {}), // the endpoint hangs: everything stays queued
    onPublished() {},
    onDropped() {},
    onRetry() {},
  });
  global.gc?.();
  const before = process.memoryUsage();
  let encoded = 0;
  for (let i = 0; i < n; i++) {
    const e = encodeRecord(recordOf(i));
    if (!e.ok) throw e.error;
    encoded += e.message.length;
    batcher.add(e.message);
  }
  global.gc?.();
  const after = process.memoryUsage();
  const delta = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  if (batcher.size !== n) throw new Error('queue did not hold every record');
  return { perRecord: delta / n, encoded: encoded / n };
}

const memory = await queueMemory();
const d = await delivery();
console.log(`
| measure | value |
|---|---|
| Node | ${process.version} |
| records delivered to a collector in another process (Pub/Sub REST over node:https) | ${RECORDS} in ${d.seconds.toFixed(2)} s |
| **delivery throughput** | **${Math.round(d.recordsPerSecond).toLocaleString('en')} records/s** |
| encoded record size | ${Math.round(d.bytesPerRecord)} B |
| **memory per queued record** (heap + buffers, ${memory.encoded.toFixed(0)} B encoded) | **${Math.round(memory.perRecord)} B** |
`);
process.exit(0);
