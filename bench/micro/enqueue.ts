/**
 * Enqueue: `batcher.add()` of one encoded record, with the SDK's default batch limits and a
 * transport that acknowledges at once, so the cost includes starting a send every 500 records.
 */
import { createBatcher } from '../../src/core/batcher.js';
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_SIZE } from '../../src/core/options.js';
import { encodeRecord } from '../../src/core/encode.js';
import { REQUEST_1K, RESPONSE_1K, kb, newBench, rowOf, sampleRecord, type MicroOptions, type MicroRow } from './fixtures.js';

export async function enqueueBench(options: MicroOptions): Promise<MicroRow[]> {
  const encoded = encodeRecord(sampleRecord(REQUEST_1K, RESPONSE_1K));
  if (!encoded.ok) throw encoded.error;
  const message = encoded.message;
  let dropped = 0;
  const batcher = createBatcher({
    // Unbounded here: a full queue would measure the drop path instead.
    maxQueueSize: Number.MAX_SAFE_INTEGER,
    maxQueueBytes: Number.MAX_SAFE_INTEGER,
    maxBatchSize: DEFAULT_MAX_BATCH_SIZE,
    maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
    flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS,
    exportTimeoutMs: 10_000,
    send: async () => ({ ok: true }),
    onPublished() {},
    onDropped: (_reason, count) => {
      dropped += count;
    },
    onRetry() {},
  });
  const bench = newBench(options);
  bench.add(`batcher.add() of a ${kb(message)} record`, () => batcher.add(message));
  await bench.run();
  await batcher.close(10_000);
  if (dropped > 0) throw new Error(`enqueue harness: ${dropped} records dropped`);
  return bench.tasks.map((t) => rowOf(t, 'enqueue', t.name));
}
