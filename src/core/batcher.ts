/**
 * A bounded queue of encoded records in front of a transport: batches by count and bytes, flushes
 * on an unref'd timer, keeps up to `maxSendsInFlight` sends in flight, retries failed batches with
 * capped backoff and counts what it has to drop. It knows nothing about Pub/Sub.
 *
 * Records wait in slabs (large buffers, filled one after the other), not one Buffer each: a record
 * waits from its response's end until its batch is sent, long enough to survive the young
 * generation's collections, and a Buffer per record was a JS object promoted to the old generation
 * plus external memory that only a full collection gives back (in a loaded app, most of the SDK's
 * garbage-collection time). A slab is a few objects per hundreds of records; with `reuseBuffers`
 * (the send is done with the messages once it settles) an emptied slab is filled again.
 */
import type { SendResult } from '../transport/types.js';
import type { DropReason } from './options.js';
import { within } from './within.js';

export const RETRY_INITIAL_DELAY_MS = 100;
// Short cap: delivery must resume within about a second of the endpoint coming back.
export const RETRY_MAX_DELAY_MS = 1_000; // 1 s
// After shutdown's time is up, how long a send that was told to abort may take to settle.
const ABANDON_GRACE_MS = 100;

export interface BatcherOptions {
  maxQueueSize: number;
  maxQueueBytes: number;
  maxBatchSize: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  exportTimeoutMs: number;
  /**
   * Batches sent at once (default 1: the batcher never calls `send` again before it settles). With
   * more, a batch goes out while another waits for its answer: delivery is not bounded by one
   * round trip per batch. Batches may then arrive out of order.
   */
  maxSendsInFlight?: number;
  /**
   * Delivers one batch. `signal` aborts when shutdown's time is up: the send should then settle at
   * once (it may still have arrived).
   */
  send(messages: Buffer[], timeoutMs: number, signal: AbortSignal): Promise<SendResult>;
  onPublished(count: number): void;
  onDropped(reason: DropReason, count: number, error?: Error): void;
  /** A batch failed and will be retried. */
  onRetry(error: Error, attempt: number, delayMs: number): void;
  /**
   * `send()` keeps no message once it has settled (it copied what it needed): the memory of sent
   * records is then filled with new ones. Leave it off for a transport that may keep them.
   */
  reuseBuffers?: boolean;
}

/** Bytes of one slab of queued records. */
export const SLAB_BYTES = 256 * 1024;
// A record larger than this gets a buffer of its own, never reused.
const OWN_BUFFER_BYTES = SLAB_BYTES / 4;
// Emptied slabs kept for reuse: a batch's worth, up to 4 MiB (the rest is left to the garbage
// collector). Slabs live long enough to reach the old generation, so one not reused is external
// memory that waits for a full collection: with 2 spares, node:http at 5 000 req/s held 30-39 MB
// of such array buffers at its peak.
const MAX_SPARE_SLABS = 16;

export interface Batcher {
  /** Queues (a copy of) one encoded record; returns false (and counts a drop) when the queue is full. */
  add(message: Uint8Array): boolean;
  /**
   * Queues one encoded record of `size` bytes that `write` writes straight into the queue's memory
   * at `offset` (no buffer of its own), returning the offset after it. Returns false (and counts a
   * drop) when the queue is full; throws what `write` throws, and then nothing was queued.
   */
  addWritten(size: number, write: (target: Buffer, offset: number) => number): boolean;
  /** Records waiting, including the batches being sent. */
  readonly size: number;
  readonly bytes: number;
  /** Sends everything queued; resolves true once empty, false if `timeoutMs` ran out first. Never rejects. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Flushes, then drops what is left (reason `shutdown`); returns how many were dropped. Idempotent. */
  close(timeoutMs: number): Promise<number>;
}

/**
 * Lets the process exit while `timer` waits (Node, Bun). Elsewhere a timer is a number
 * (Workers, Deno, the edge) and there is no process to hold: nothing to do.
 */
function unref(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}

const EMPTY = Buffer.alloc(0);

/** One batch given to `send()`: the `count` records after those of the batches before it. */
interface Flight {
  count: number;
  batch: Buffer[];
  /** `sending`, `failed` (waits for the retry timer) or `done` (reported; released once the batches before it are). */
  state: 'sending' | 'failed' | 'done';
  startedAt: number;
  controller: AbortController;
  /** close() gave up on it: whatever it does later is ignored. */
  disowned: boolean;
  promise: Promise<void>;
}

/**
 * @example
 * const batcher = createBatcher({ ...limits, send: (batch, ms) => transport.send(batch, ms), onPublished, onDropped, onRetry });
 * batcher.add(Buffer.from(JSON.stringify(record)));
 */
export function createBatcher(options: BatcherOptions): Batcher {
  // Record i (head <= i < lengths.length) is lengths[i] bytes at offsets[i] of its slab: small
  // integers in two arrays, no object per record.
  const offsets: number[] = [];
  const lengths: number[] = [];
  let head = 0; // index of the oldest queued record: shift() is O(n) on large arrays
  // The slabs holding records, oldest first (from slabHead); slab s holds records up to slabEnds[s].
  const slabs: Buffer[] = [];
  const slabEnds: number[] = [];
  let slabHead = 0;
  let fill = 0; // bytes used in the newest slab
  const spare: Buffer[] = [];
  const maxInFlight = Math.max(1, Math.floor(options.maxSendsInFlight ?? 1));
  const spareSlabs = Math.min(MAX_SPARE_SLABS, maxInFlight * Math.ceil(options.maxBatchBytes / SLAB_BYTES) + 1);
  // Off for good once a send overran its time or was disowned: it may still read its messages.
  let reuse = options.reuseBuffers === true;
  let queuedBytes = 0;
  // The batches given to send(), oldest first; they hold the oldest `taken` records of the queue.
  // A batch is released (its records and slabs) only once every batch before it is done, so that
  // the queue stays one run of records from `head`.
  const flights: Flight[] = [];
  let taken = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryAt = 0;
  let attempt = 0; // failures since the last delivered batch
  let closed: Promise<number> | undefined;
  let accepting = true;
  let finished = false; // close() gave up waiting: no more retries
  let closeDrops = 0;
  const waiters = new Set<() => void>();

  const size = () => lengths.length - head;
  /** Records not given to a send yet. */
  const untaken = () => size() - taken;

  /** Where the next record of `length` bytes goes in the newest slab (a new one when it does not fit). */
  function room(length: number): number {
    const slab = slabs.length > slabHead ? slabs[slabs.length - 1] : undefined;
    if (length > OWN_BUFFER_BYTES) {
      slabs.push(Buffer.allocUnsafeSlow(length));
      slabEnds.push(lengths.length);
      fill = Number.POSITIVE_INFINITY; // full: the next record starts a slab
      return 0;
    }
    if (slab === undefined || fill + length > slab.length) {
      slabs.push(spare.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES));
      slabEnds.push(lengths.length);
      fill = 0;
    }
    return fill;
  }

  /** Counts the record just written at `at` of the newest slab. */
  function stored(at: number, length: number): void {
    offsets.push(at);
    lengths.push(length);
    if (length <= OWN_BUFFER_BYTES) fill = at + length;
    slabEnds[slabEnds.length - 1] = lengths.length;
    queuedBytes += length;
  }

  /** Takes the oldest `count` records off the queue and gives back the slabs they emptied. */
  function release(count: number): void {
    for (let i = head; i < head + count; i++) queuedBytes -= lengths[i]!;
    head += count;
    while (slabHead < slabs.length && slabEnds[slabHead]! <= head) {
      const slab = slabs[slabHead]!;
      if (slabHead === slabs.length - 1) {
        // The newest slab is empty now: fill it again from the start, or start another.
        if (reuse && slab.length === SLAB_BYTES) {
          fill = 0;
          break;
        }
        fill = Number.POSITIVE_INFINITY; // never written again: a transport may still hold it
      } else if (reuse && slab.length === SLAB_BYTES && spare.length < spareSlabs) {
        spare.push(slab);
      }
      slabs[slabHead] = EMPTY;
      slabHead += 1;
    }
    compact();
  }

  function compact(): void {
    if (head > 1024 && head * 2 > lengths.length) {
      offsets.splice(0, head);
      lengths.splice(0, head);
      for (let s = slabHead; s < slabEnds.length; s++) slabEnds[s] = slabEnds[s]! - head;
      head = 0;
    }
    if (slabHead > 64 && slabHead * 2 > slabs.length) {
      slabs.splice(0, slabHead);
      slabEnds.splice(0, slabHead);
      slabHead = 0;
    }
  }

  /** Releases the batches at the front that are done. */
  function releaseDone(): void {
    while (flights.length > 0 && flights[0]!.state === 'done') {
      const flight = flights.shift()!;
      taken -= flight.count;
      release(flight.count);
    }
  }

  function notifyIfEmpty(): void {
    if (size() === 0 && flights.length === 0) for (const wake of waiters) wake();
  }

  /** The oldest records not yet given to a send that make a batch, as views of their slabs. */
  function takeBatch(): Buffer[] {
    const batch: Buffer[] = [];
    let bytes = 0;
    let i = head + taken;
    let s = slabHead;
    // Always take at least one record, even one larger than maxBatchBytes, or it would block forever.
    while (i < lengths.length && batch.length < options.maxBatchSize) {
      const length = lengths[i]!;
      if (batch.length > 0 && bytes + length > options.maxBatchBytes) break;
      while (slabEnds[s]! <= i) s += 1;
      const offset = offsets[i]!;
      batch.push(slabs[s]!.subarray(offset, offset + length));
      bytes += length;
      i += 1;
    }
    return batch;
  }

  function schedule(delayMs: number): void {
    if (timer !== undefined || retryTimer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      exportOnce(true);
    }, delayMs);
    unref(timer);
  }

  /** Whether another batch may be given to send() now. */
  function mayStart(): boolean {
    return flights.length < maxInFlight && retryTimer === undefined && attempt === 0 && !finished;
  }

  /**
   * Starts batches while a send may start: up to `maxSendsInFlight`, none while a failed batch
   * waits for its retry, and only full ones unless `partial` (the flush timer, a flush()).
   */
  function exportOnce(partial: boolean): void {
    while (mayStart()) {
      const waiting = untaken();
      if (waiting === 0 || (!partial && waiting < options.maxBatchSize)) break;
      const batch = takeBatch();
      const flight: Flight = {
        count: batch.length,
        batch,
        state: 'sending',
        startedAt: 0,
        controller: new AbortController(),
        disowned: false,
        promise: Promise.resolve(),
      };
      flights.push(flight);
      taken += batch.length;
      start(flight);
    }
  }

  /** Gives `flight`'s batch to send() (again, for a retry) and handles how it went. */
  function start(flight: Flight): void {
    flight.state = 'sending';
    flight.startedAt = Date.now();
    flight.controller = new AbortController();
    // This attempt's promise settled (not just the batcher's deadline).
    let settled = false;
    const sending = options.send(flight.batch, options.exportTimeoutMs, flight.controller.signal).finally(() => {
      settled = true;
    });
    flight.promise = within(
      sending,
      options.exportTimeoutMs + 100,
      (): SendResult => ({ ok: false, retryable: true, error: new Error(`send timed out after ${options.exportTimeoutMs + 100} ms`) }),
      { unref: true },
    )
      .catch(
        (error: unknown): SendResult => ({ ok: false, retryable: true, error: error instanceof Error ? error : new Error(String(error)) }),
      )
      .then((result) => settle(flight, result, settled));
  }

  function settle(flight: Flight, result: SendResult, settled: boolean): void {
    // The send overran its time: it may still read the batch, whose memory must then stay as it is.
    if (!settled && reuse) {
      reuse = false;
      spare.length = 0;
    }
    // close() already counted this batch as dropped and took it off the queue.
    if (flight.disowned) return;
    if (result.ok || !result.retryable || finished) {
      // The batch left the queue for good: delivered, or refused for a reason a retry cannot fix.
      flight.state = 'done';
      attempt = 0;
      if (result.ok) options.onPublished(flight.count);
      else if (result.retryable) drop('shutdown', flight.count, result.error);
      else options.onDropped('send_failed', flight.count, result.error);
      releaseDone();
      afterExport();
      return;
    }
    flight.state = 'failed';
    if (retryTimer === undefined) {
      attempt += 1;
      // Attempts START at most this often: a send that already waited (a hung endpoint, or a
      // transport waiting for its connection to come back) is retried at once, so that there is
      // always one waiting when the endpoint returns.
      const backoff = Math.min(RETRY_INITIAL_DELAY_MS * 2 ** (attempt - 1), RETRY_MAX_DELAY_MS);
      const delay = Math.max(0, backoff - (Date.now() - flight.startedAt));
      retryAt = Date.now() + delay;
      retryTimer = setTimeout(retryFailed, delay);
      unref(retryTimer);
    }
    // A batch that failed while another waits for its retry goes with it.
    options.onRetry(result.error, attempt, Math.max(0, retryAt - Date.now()));
  }

  function retryFailed(): void {
    retryTimer = undefined;
    for (const flight of flights) if (flight.state === 'failed') start(flight);
  }

  function afterExport(): void {
    notifyIfEmpty();
    if (!mayStart()) return; // the batch before this one is still out; its end comes back here
    if (untaken() >= options.maxBatchSize || (waiters.size > 0 && untaken() > 0)) exportOnce(waiters.size > 0);
    if (untaken() > 0) schedule(options.flushIntervalMs);
  }

  /** Whether a record of `length` bytes may join the queue; counts the drop when it may not. */
  function admit(length: number): boolean {
    if (!accepting) {
      options.onDropped('shutdown', 1);
      return false;
    }
    if (size() >= options.maxQueueSize || queuedBytes + length > options.maxQueueBytes) {
      options.onDropped('queue_overflow', 1);
      return false;
    }
    return true;
  }

  function add(message: Uint8Array): boolean {
    return addWritten(message.length, (target, at) => {
      target.set(message, at);
      return at + message.length;
    });
  }

  function addWritten(size: number, write: (target: Buffer, offset: number) => number): boolean {
    if (!admit(size)) return false;
    const at = room(size);
    const slab = slabs[slabs.length - 1]!;
    // Nothing is counted until every byte is written: a write that throws queues nothing.
    const end = write(slab, at);
    if (end !== at + size) throw new RangeError(`a record of ${size} bytes was written as ${end - at}`);
    stored(at, size);
    queued();
    return true;
  }

  function queued(): void {
    if (untaken() >= options.maxBatchSize && mayStart()) exportOnce(false);
    else schedule(options.flushIntervalMs);
  }

  function flush(timeoutMs: number): Promise<boolean> {
    if (size() === 0 && flights.length === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      // Ref'd on purpose: whoever awaits a flush (a script's last line, a shutdown) expects the
      // process to stay up until the records are out or the time is up.
      const deadline = setTimeout(() => finish(false), timeoutMs);
      function finish(done: boolean): void {
        clearTimeout(deadline);
        waiters.delete(wake);
        resolve(done);
      }
      function wake(): void {
        finish(true);
      }
      waiters.add(wake);
      // Skip the batching delay: whoever flushes wants the records out now.
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      exportOnce(true);
    });
  }

  function drop(reason: 'shutdown', count: number, error?: Error): void {
    closeDrops += count;
    options.onDropped(reason, count, error);
  }

  function close(timeoutMs: number): Promise<number> {
    closed ??= (async () => {
      accepting = false;
      await flush(timeoutMs);
      finished = true;
      clearTimeout(timer);
      clearTimeout(retryTimer);
      timer = retryTimer = undefined;
      const sending = flights.filter((flight) => flight.state === 'sending');
      if (sending.length > 0) {
        // Time is up: the batches in flight are given up (they may still arrive: at least once, not
        // exactly once), so that what shutdown() reports is final.
        for (const flight of sending) flight.controller.abort(new Error('shutdown: time is up'));
        await within(Promise.all(sending.map((flight) => flight.promise)), ABANDON_GRACE_MS);
      }
      // What is left in flight ignored its abort, or failed and waits for a retry that will not come.
      let left = untaken();
      for (const flight of flights) {
        if (flight.state === 'done') continue;
        if (flight.state === 'sending') {
          // A transport that ignores the abort: disown the send, whatever it does later. Its slabs
          // are never filled again: it may still read them.
          flight.disowned = true;
          reuse = false;
          fill = Number.POSITIVE_INFINITY;
          spare.length = 0;
        }
        left += flight.count;
      }
      flights.length = 0;
      taken = 0;
      release(size());
      if (left > 0) drop('shutdown', left);
      return closeDrops;
    })();
    return closed;
  }
  return {
    add,
    addWritten,
    flush,
    close,
    get size() {
      return size();
    },
    get bytes() {
      return queuedBytes;
    },
  };
}
