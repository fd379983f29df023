import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SLAB_BYTES, createBatcher, type BatcherOptions } from '../../src/core/batcher.js';
import type { DropReason } from '../../src/core/options.js';
import type { SendResult } from '../../src/transport/types.js';
import { until } from '../helpers/wait.js';

/** A scripted sink: answers each send with the next scripted result (default ok). */
function harness(overrides: Partial<BatcherOptions> = {}, script: (SendResult | 'hang')[] = []) {
  const batches: string[][] = [];
  const drops: Partial<Record<DropReason, number>> = {};
  let published = 0;
  let retries = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const batcher = createBatcher({
    maxQueueSize: 100,
    maxQueueBytes: 1_000_000,
    maxBatchSize: 10,
    maxBatchBytes: 1_000_000,
    flushIntervalMs: 10,
    exportTimeoutMs: 1_000,
    async send(messages) {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        const next = script.shift() ?? { ok: true };
        if (next === 'hang') return await new Promise<SendResult>(() => {});
        await sleep(1);
        if (next.ok) batches.push(messages.map((m) => m.toString()));
        return next;
      } finally {
        concurrent -= 1;
      }
    },
    onPublished: (n) => {
      published += n;
    },
    onDropped: (reason, n) => {
      drops[reason] = (drops[reason] ?? 0) + n;
    },
    onRetry: () => {
      retries += 1;
    },
    ...overrides,
  });
  return {
    batcher,
    batches,
    drops,
    get published() {
      return published;
    },
    get retries() {
      return retries;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
  };
}

const msg = (i: number) => Buffer.from(`m${i}`);

describe('batching', () => {
  test('a full batch goes out at once, the rest after flushIntervalMs', async () => {
    const h = harness({ flushIntervalMs: 1_000 });
    for (let i = 0; i < 13; i++) h.batcher.add(msg(i));
    await until(() => h.batches.length === 1, 'the full batch');
    assert.deepEqual(h.batches, [['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']]);
    assert.equal(h.batcher.size, 3, 'the rest waits for the timer');
    await until(() => h.batches.length === 2, 'the timed batch');
    assert.deepEqual(h.batches[1], ['m10', 'm11', 'm12']);
    assert.equal(h.published, 13);
    assert.equal(h.batcher.size, 0);
    assert.equal(h.batcher.bytes, 0);
  });

  test('maxBatchBytes splits batches, and a single oversize record still goes alone', async () => {
    const h = harness({ maxBatchBytes: 1024, maxBatchSize: 100 });
    h.batcher.add(Buffer.alloc(600, 'a'));
    h.batcher.add(Buffer.alloc(600, 'b'));
    h.batcher.add(Buffer.alloc(2000, 'c'));
    assert.equal(await h.batcher.flush(2_000), true);
    assert.deepEqual(
      h.batches.map((b) => b.length),
      [1, 1, 1],
    );
  });

  test('only one send is in flight at a time', async () => {
    const h = harness({ maxBatchSize: 2 });
    for (let i = 0; i < 40; i++) h.batcher.add(msg(i));
    assert.equal(await h.batcher.flush(2_000), true);
    assert.equal(h.maxConcurrent, 1);
    assert.deepEqual(
      h.batches.flat(),
      Array.from({ length: 40 }, (_, i) => `m${i}`),
    );
  });
});

describe('sends in flight', () => {
  test('maxSendsInFlight: 2 keeps two batches out at once, never more; each record arrives once', async () => {
    const h = harness({ maxBatchSize: 2, maxSendsInFlight: 2 });
    for (let i = 0; i < 40; i++) h.batcher.add(msg(i));
    assert.equal(await h.batcher.flush(5_000), true);
    assert.equal(h.maxConcurrent, 2);
    assert.deepEqual(h.batches.flat().sort(), Array.from({ length: 40 }, (_, i) => `m${i}`).sort());
    assert.equal(h.published, 40);
    assert.equal(h.batcher.size, 0);
    assert.equal(h.batcher.bytes, 0);
  });

  test('a batch answered before the one sent first is kept until that one is done', async () => {
    const answers: (() => void)[] = [];
    const received: string[][] = [];
    const h = harness({
      maxBatchSize: 3,
      maxSendsInFlight: 2,
      flushIntervalMs: 60_000,
      reuseBuffers: true,
      send(messages) {
        const copies = messages.map((m) => m.toString());
        return new Promise<SendResult>((resolve) =>
          answers.push(() => {
            received.push(copies);
            resolve({ ok: true });
          }),
        );
      },
    });
    for (let i = 0; i < 7; i++) h.batcher.add(msg(i));
    await until(() => answers.length === 2, 'two batches out');
    answers[1]!(); // the second batch is answered first
    await until(() => h.published === 3, 'the second batch to be counted');
    assert.equal(h.batcher.size, 7, 'its records stay queued behind the first batch');
    assert.equal(answers.length, 2, 'no third batch while the first is out');
    answers[0]!();
    const flushed = h.batcher.flush(5_000);
    await until(() => answers.length === 3, 'the last record to go out');
    assert.equal(h.published, 6);
    answers[2]!();
    assert.equal(await flushed, true);
    assert.equal(await h.batcher.flush(5_000), true);
    assert.deepEqual(received, [['m3', 'm4', 'm5'], ['m0', 'm1', 'm2'], ['m6']]);
    assert.equal(h.batcher.size, 0);
  });

  test('a failed batch is retried while the other one is delivered; nothing lost, nothing twice', async () => {
    const fail: SendResult = { ok: false, retryable: true, error: new Error('UNAVAILABLE') };
    let calls = 0;
    const delivered: string[] = [];
    const h = harness({
      maxBatchSize: 4,
      maxSendsInFlight: 2,
      async send(messages) {
        const call = ++calls;
        await sleep(call === 1 ? 20 : 1);
        if (call === 1 || call === 3) return fail;
        delivered.push(...messages.map((m) => m.toString()));
        return { ok: true };
      },
    });
    for (let i = 0; i < 16; i++) h.batcher.add(msg(i));
    assert.equal(await h.batcher.flush(5_000), true);
    assert.equal(h.retries, 2);
    assert.deepEqual(delivered.sort(), Array.from({ length: 16 }, (_, i) => `m${i}`).sort());
    assert.equal(h.published, 16);
    assert.equal(h.batcher.size, 0);
  });

  test('once close() gave up, batches that settle on their abort start no new send', async () => {
    let calls = 0;
    const h = harness({
      maxBatchSize: 5,
      maxSendsInFlight: 2,
      send(_messages, _timeoutMs, signal) {
        calls += 1;
        return new Promise<SendResult>((resolve) =>
          signal.addEventListener('abort', () => resolve({ ok: false, retryable: true, error: new Error('aborted') })),
        );
      },
    });
    for (let i = 0; i < 20; i++) h.batcher.add(msg(i));
    assert.equal(await h.batcher.close(50), 20);
    await sleep(20);
    assert.equal(calls, 2, 'no batch was sent after close() gave up');
    assert.equal(h.drops.shutdown, 20);
  });

  test('close gives up on every batch in flight and reports them all as dropped', async () => {
    const h = harness({ maxBatchSize: 5, maxSendsInFlight: 2 }, ['hang', 'hang']);
    for (let i = 0; i < 12; i++) h.batcher.add(msg(i));
    await until(() => h.maxConcurrent === 2, 'two batches out');
    assert.equal(await h.batcher.close(100), 12);
    assert.equal(h.drops.shutdown, 12);
    assert.equal(h.batcher.size, 0);
    assert.equal(h.batcher.bytes, 0);
  });
});

describe('maxQueueSize / maxQueueBytes', () => {
  test('counts and reports dropped records when full, keeps the oldest', async () => {
    const h = harness({ maxQueueSize: 5, maxBatchSize: 5, flushIntervalMs: 10_000 }, ['hang']);
    for (let i = 0; i < 5; i++) assert.equal(h.batcher.add(msg(i)), true); // first batch now hangs in flight
    for (let i = 5; i < 8; i++) assert.equal(h.batcher.add(msg(i)), false);
    assert.equal(h.drops.queue_overflow, 3);
    assert.equal(h.batcher.size, 5);
  });

  test('byte bound', () => {
    const h = harness({ maxQueueBytes: 1024, flushIntervalMs: 10_000 });
    assert.equal(h.batcher.add(Buffer.alloc(1000)), true);
    assert.equal(h.batcher.add(Buffer.alloc(100)), false);
    assert.equal(h.batcher.bytes, 1000);
    assert.equal(h.drops.queue_overflow, 1);
  });
});

describe('retries', () => {
  test('a retryable failure is retried with the same batch, in order, nothing lost', async () => {
    const fail: SendResult = { ok: false, retryable: true, error: new Error('UNAVAILABLE') };
    const h = harness({}, [fail, fail, fail]);
    for (let i = 0; i < 5; i++) h.batcher.add(msg(i));
    assert.equal(await h.batcher.flush(5_000), true);
    assert.equal(h.retries, 3);
    assert.deepEqual(h.batches, [['m0', 'm1', 'm2', 'm3', 'm4']]);
    assert.equal(h.published, 5);
  });

  test('a non-retryable failure drops the batch as send_failed and moves on', async () => {
    const h = harness({ maxBatchSize: 2 }, [{ ok: false, retryable: false, error: new Error('PERMISSION_DENIED') }]);
    for (let i = 0; i < 4; i++) h.batcher.add(msg(i));
    assert.equal(await h.batcher.flush(2_000), true);
    assert.equal(h.drops.send_failed, 2);
    assert.deepEqual(h.batches, [['m2', 'm3']]);
  });

  test('a send that never settles times out and is retried', async () => {
    const h = harness({ exportTimeoutMs: 50 }, ['hang']);
    h.batcher.add(msg(1));
    assert.equal(await h.batcher.flush(3_000), true);
    assert.equal(h.retries, 1);
    assert.deepEqual(h.batches, [['m1']]);
  });

  test('a throwing send counts as a retryable failure', async () => {
    let calls = 0;
    const h = harness({
      async send() {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return { ok: true };
      },
    });
    h.batcher.add(msg(1));
    assert.equal(await h.batcher.flush(2_000), true);
    assert.equal(calls, 2);
    assert.equal(h.published, 1);
  });
});

describe('flush and close', () => {
  test('flush resolves false when the endpoint stays down, and never rejects', async () => {
    const down: SendResult = { ok: false, retryable: true, error: new Error('down') };
    const h = harness({}, Array(100).fill(down));
    h.batcher.add(msg(1));
    assert.equal(await h.batcher.flush(300), false);
    assert.equal(h.batcher.size, 1);
  });

  test('close flushes everything queued, then refuses new records', async () => {
    const h = harness({ flushIntervalMs: 60_000, maxBatchSize: 50, maxQueueSize: 1_000 });
    for (let i = 0; i < 300; i++) h.batcher.add(msg(i));
    assert.equal(await h.batcher.close(5_000), 0);
    assert.equal(h.published, 300);
    assert.equal(h.batcher.add(msg(1)), false);
    assert.equal(h.drops.shutdown, 1);
  });

  test('close with the endpoint down resolves in time and reports what was dropped', async () => {
    const down: SendResult = { ok: false, retryable: true, error: new Error('down') };
    const h = harness({ maxBatchSize: 5 }, Array(1000).fill(down));
    for (let i = 0; i < 12; i++) h.batcher.add(msg(i));
    const started = Date.now();
    const dropped = await h.batcher.close(200);
    assert.ok(Date.now() - started < 10_000);
    // The batch in flight settles later and reports itself; everything else is dropped now.
    assert.ok(dropped === 12 || dropped === 7, `dropped ${dropped}`);
    await until(() => h.drops.shutdown === 12, 'the in-flight batch to report itself');
    assert.equal(h.batcher.size, 0);
    assert.equal(await h.batcher.close(10), dropped, 'close is idempotent');
  });

  test('timers do not keep the process alive', () => {
    const script = `
      import { createBatcher } from './src/core/batcher.ts';
      const b = createBatcher({ maxQueueSize: 10, maxQueueBytes: 1e6, maxBatchSize: 10, maxBatchBytes: 1e6,
        flushIntervalMs: 3_600_000, exportTimeoutMs: 1000, send: async () => ({ ok: true }),
        onPublished() {}, onDropped() {}, onRetry() {} });
      b.add(Buffer.from('x'));
      console.log('queued', b.size);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 20_000,
      encoding: 'utf8',
    });
    assert.match(out, /queued 1/);
  });
});

describe('records written in place (addWritten)', () => {
  const write = (text: string) => (target: Buffer, offset: number) => offset + target.write(text, offset, 'latin1');

  test('each arrives as written, in order with added ones, across slabs and own buffers', async () => {
    const received: string[] = [];
    const h = harness({
      maxQueueSize: 10_000,
      maxQueueBytes: 64 * 1024 * 1024,
      maxBatchSize: 50,
      reuseBuffers: true,
      async send(messages) {
        received.push(...messages.map((m) => Buffer.from(m).toString('latin1')));
        await sleep(1);
        return { ok: true };
      },
    });
    const sent: string[] = [];
    for (let i = 0; i < 400; i++) {
      // Some larger than a quarter slab (a buffer of their own), the rest small; every third added.
      const text = `${i}:`.padEnd(i % 53 === 7 ? SLAB_BYTES / 2 : 100 + ((i * 37) % 3000), String.fromCharCode(97 + (i % 26)));
      sent.push(text);
      assert.equal(i % 3 === 0 ? h.batcher.add(Buffer.from(text, 'latin1')) : h.batcher.addWritten(text.length, write(text)), true);
    }
    assert.equal(await h.batcher.flush(5_000), true);
    assert.deepEqual(received, sent);
    assert.equal(h.batcher.bytes, 0);
  });

  test('a write that throws or writes another size queues nothing; the next record is intact', async () => {
    const h = harness();
    assert.equal(h.batcher.addWritten(5, write('first')), true);
    assert.throws(
      () =>
        h.batcher.addWritten(8, () => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.throws(() => h.batcher.addWritten(8, write('short')), /8 bytes was written as 5/);
    assert.equal(h.batcher.size, 1);
    assert.equal(h.batcher.bytes, 5);
    assert.equal(h.batcher.addWritten(6, write('second')), true);
    assert.equal(await h.batcher.flush(5_000), true);
    assert.deepEqual(h.batches.flat(), ['first', 'second']);
  });

  test('a full queue drops the record without asking for its bytes', () => {
    const h = harness({ maxQueueSize: 2, flushIntervalMs: 60_000 });
    let writes = 0;
    const counted = (text: string) => (target: Buffer, offset: number) => {
      writes += 1;
      return write(text)(target, offset);
    };
    assert.equal(h.batcher.addWritten(1, counted('a')), true);
    assert.equal(h.batcher.addWritten(1, counted('b')), true);
    assert.equal(h.batcher.addWritten(1, counted('c')), false);
    assert.equal(writes, 2);
    assert.equal(h.drops.queue_overflow, 1);
  });
});

describe('memory of queued records', () => {
  /** Records of assorted sizes (a few larger than a quarter slab), each byte a function of its index. */
  function records(count: number): Buffer[] {
    return Array.from({ length: count }, (_, i) => {
      const size = i % 97 === 50 ? SLAB_BYTES / 2 + i : 200 + ((i * 7919) % 5000);
      const b = Buffer.allocUnsafe(size);
      for (let k = 0; k < size; k++) b[k] = (i * 31 + k) & 0xff;
      b.writeUInt32LE(i, 0); // its index, so that a record is found whatever order batches arrive in
      return b;
    });
  }

  for (const inFlight of [1, 2]) {
    test(`reuseBuffers, ${inFlight} send(s) in flight: slabs filled again after their records went; every record arrives intact`, async () => {
      const sent = records(600);
      const received = new Map<number, Buffer>();
      let calls = 0;
      const h = harness({
        reuseBuffers: true,
        maxSendsInFlight: inFlight,
        maxQueueSize: 10_000,
        maxQueueBytes: 64 * 1024 * 1024,
        maxBatchSize: 37,
        // A transport that copies what it needs just before it settles, as the Pub/Sub one does;
        // every third send is slow, so later batches are answered first.
        async send(messages) {
          const call = ++calls;
          await sleep(call % 3 === 1 ? 15 : 1);
          for (const m of messages) received.set(m.readUInt32LE(0), Buffer.from(m));
          return { ok: true };
        },
      });
      // In waves, so that emptied slabs are filled again while later records wait.
      for (let wave = 0; wave < 6; wave++) {
        for (const record of sent.slice(wave * 100, wave * 100 + 100)) assert.equal(h.batcher.add(record), true);
        if (wave % 2 === 1) assert.equal(await h.batcher.flush(5_000), true);
      }
      assert.equal(received.size, sent.length);
      sent.forEach((record, i) => assert.ok(received.get(i)?.equals(record), `record ${i} differs`));
      assert.equal(h.batcher.size, 0);
      assert.equal(h.batcher.bytes, 0);
    });
  }

  test('reuseBuffers: a batch that spanned many slabs leaves them all to the next records', async () => {
    // 8 slabs a batch (2 MiB): every one kept for reuse, none left for a full collection to find.
    const record = Buffer.alloc(4096, 0x61);
    const memoryOf: Set<ArrayBufferLike>[] = [];
    const h = harness({
      reuseBuffers: true,
      maxQueueSize: 10_000,
      maxQueueBytes: 64 * 1024 * 1024,
      maxBatchSize: 512,
      maxBatchBytes: 5 * 1024 * 1024,
      async send(messages) {
        memoryOf.push(new Set(messages.map((m) => m.buffer)));
        return { ok: true };
      },
    });
    for (let wave = 0; wave < 3; wave++) {
      for (let i = 0; i < 512; i++) assert.equal(h.batcher.add(record), true);
      assert.equal(await h.batcher.flush(5_000), true);
    }
    assert.equal(memoryOf.length, 3);
    assert.ok(memoryOf[0]!.size >= 8, `the first batch spanned ${memoryOf[0]!.size} slabs`);
    for (const later of memoryOf.slice(1)) {
      const fresh = [...later].filter((memory) => !memoryOf[0]!.has(memory)).length;
      assert.equal(fresh, 0, `${fresh} of ${later.size} slabs were new memory`);
    }
  });

  test('without reuseBuffers the Buffers a send was given are never written again', async () => {
    const sent = records(400);
    const kept: Buffer[] = [];
    const h = harness({
      maxQueueSize: 10_000,
      maxQueueBytes: 64 * 1024 * 1024,
      maxBatchSize: 50,
      async send(messages) {
        kept.push(...messages);
        return { ok: true };
      },
    });
    for (let wave = 0; wave < 4; wave++) {
      for (const record of sent.slice(wave * 100, wave * 100 + 100)) h.batcher.add(record);
      assert.equal(await h.batcher.flush(5_000), true);
    }
    sent.forEach((record, i) => assert.ok(kept[i]!.equals(record), `record ${i} was overwritten`));
  });

  test('a send that overran its time is not written under: its batch stays as it was', async () => {
    let first: Buffer[] | undefined;
    let calls = 0;
    const h = harness({
      reuseBuffers: true,
      exportTimeoutMs: 50,
      maxBatchSize: 10,
      maxQueueSize: 10_000,
      maxQueueBytes: 64 * 1024 * 1024,
      async send(messages) {
        calls += 1;
        if (calls === 1) {
          // Keeps its batch and never settles: the batcher retries without it.
          first = messages;
          return new Promise<SendResult>(() => {});
        }
        return { ok: true };
      },
    });
    const sent = records(200);
    for (const record of sent.slice(0, 10)) h.batcher.add(record);
    assert.equal(await h.batcher.flush(5_000), true);
    for (const record of sent.slice(10)) h.batcher.add(record);
    assert.equal(await h.batcher.flush(5_000), true);
    first!.forEach((m, i) => assert.ok(m.equals(sent[i]!), `record ${i} of the overrun send was overwritten`));
  });
});
