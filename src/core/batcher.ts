/**
 * A bounded queue of encoded records in front of a transport: batches by count and bytes, flushes
 * on an unref'd timer, keeps one send in flight, retries failed batches with capped backoff and
 * counts what it has to drop. It knows nothing about Pub/Sub.
 */
import type { SendResult } from '../transport/types.js';
import type { DropReason } from './options.js';

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
   * Delivers one batch; the batcher never calls it again before it settles. `signal` aborts when
   * shutdown's time is up: the send should then settle at once (it may still have arrived).
   */
  send(messages: Buffer[], timeoutMs: number, signal: AbortSignal): Promise<SendResult>;
  onPublished(count: number): void;
  onDropped(reason: DropReason, count: number, error?: Error): void;
  /** A batch failed and will be retried. */
  onRetry(error: Error, attempt: number, delayMs: number): void;
}

export interface Batcher {
  /** Queues one encoded record; returns false (and counts a drop) when the queue is full. */
  add(message: Buffer): boolean;
  /** Records waiting, including a batch being sent. */
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

function withTimeout(promise: Promise<SendResult>, timeoutMs: number): Promise<SendResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<SendResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, retryable: true, error: new Error(`send timed out after ${timeoutMs} ms`) }), timeoutMs);
    unref(timer);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * @example
 * const batcher = createBatcher({ ...limits, send: (batch, ms) => transport.send(batch, ms), onPublished, onDropped, onRetry });
 * batcher.add(Buffer.from(JSON.stringify(record)));
 */
export function createBatcher(options: BatcherOptions): Batcher {
  const queue: Buffer[] = [];
  let head = 0; // index of the oldest queued record: shift() is O(n) on large arrays
  let queuedBytes = 0;
  let inFlight: Promise<void> | undefined;
  let inFlightCount = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let closed: Promise<number> | undefined;
  let accepting = true;
  let finished = false; // close() gave up waiting: no more retries
  let inFlightAbort: AbortController | undefined;
  let sends = 0; // numbers the sends, so that close() can disown one that ignores its abort
  let abandoned = -1;
  let closeDrops = 0;
  const waiters = new Set<() => void>();

  const size = () => queue.length - head;

  function compact(): void {
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }

  function notifyIfEmpty(): void {
    if (size() === 0 && inFlight === undefined) for (const wake of waiters) wake();
  }

  function takeBatch(): Buffer[] {
    const batch: Buffer[] = [];
    let bytes = 0;
    let i = head;
    // Always take at least one record, even one larger than maxBatchBytes, or it would block forever.
    while (i < queue.length && batch.length < options.maxBatchSize) {
      const next = queue[i]!;
      if (batch.length > 0 && bytes + next.length > options.maxBatchBytes) break;
      batch.push(next);
      bytes += next.length;
      i += 1;
    }
    return batch;
  }

  function schedule(delayMs: number): void {
    if (timer !== undefined || retryTimer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      exportOnce();
    }, delayMs);
    unref(timer);
  }

  function exportOnce(): void {
    if (inFlight !== undefined || retryTimer !== undefined || size() === 0) return;
    const batch = takeBatch();
    inFlightCount = batch.length;
    const startedAt = Date.now();
    const send = ++sends;
    const controller = new AbortController();
    inFlightAbort = controller;
    inFlight = withTimeout(options.send(batch, options.exportTimeoutMs, controller.signal), options.exportTimeoutMs + 100)
      .catch((error: unknown): SendResult => ({ ok: false, retryable: true, error: error instanceof Error ? error : new Error(String(error)) }))
      .then((result) => {
        // close() already counted this batch as dropped and took it off the queue.
        if (send === abandoned) return;
        inFlight = undefined;
        inFlightCount = 0;
        inFlightAbort = undefined;
        if (result.ok || !result.retryable || finished) {
          // The batch left the queue for good: delivered, or refused for a reason a retry cannot fix.
          head += batch.length;
          for (const m of batch) queuedBytes -= m.length;
          compact();
          attempt = 0;
          if (result.ok) options.onPublished(batch.length);
          else if (result.retryable) drop('shutdown', batch.length, result.error);
          else options.onDropped('send_failed', batch.length, result.error);
          afterExport();
        } else {
          attempt += 1;
          // Attempts START at most this often: a send that already waited (a hung endpoint, or a
          // transport waiting for its connection to come back) is retried at once, so that there is
          // always one waiting when the endpoint returns.
          const backoff = Math.min(RETRY_INITIAL_DELAY_MS * 2 ** (attempt - 1), RETRY_MAX_DELAY_MS);
          const delay = Math.max(0, backoff - (Date.now() - startedAt));
          options.onRetry(result.error, attempt, delay);
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            exportOnce();
          }, delay);
          unref(retryTimer);
        }
      });
  }

  function afterExport(): void {
    notifyIfEmpty();
    if (size() >= options.maxBatchSize || (waiters.size > 0 && size() > 0)) exportOnce();
    else if (size() > 0) schedule(options.flushIntervalMs);
  }

  function add(message: Buffer): boolean {
    if (!accepting) {
      options.onDropped('shutdown', 1);
      return false;
    }
    if (size() >= options.maxQueueSize || queuedBytes + message.length > options.maxQueueBytes) {
      options.onDropped('queue_overflow', 1);
      return false;
    }
    queue.push(message);
    queuedBytes += message.length;
    if (size() >= options.maxBatchSize) exportOnce();
    else schedule(options.flushIntervalMs);
    return true;
  }

  function flush(timeoutMs: number): Promise<boolean> {
    if (size() === 0 && inFlight === undefined) return Promise.resolve(true);
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
      exportOnce();
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
      if (inFlight !== undefined) {
        // Time is up: the batch in flight is given up (it may still arrive: at least once, not
        // exactly once), so that what shutdown() reports is final.
        const settling = inFlight;
        inFlightAbort?.abort(new Error('shutdown: time is up'));
        let grace: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([settling, new Promise<void>((resolve) => { grace = setTimeout(resolve, ABANDON_GRACE_MS); })]);
        clearTimeout(grace);
      }
      if (inFlight !== undefined) {
        // A transport that ignores the abort: disown the send, whatever it does later.
        abandoned = sends;
        const count = inFlightCount;
        for (const m of queue.slice(head, head + count)) queuedBytes -= m.length;
        head += count;
        inFlight = undefined;
        inFlightCount = 0;
        drop('shutdown', count);
      }
      const left = size();
      if (left > 0) {
        for (const m of queue.splice(head)) queuedBytes -= m.length;
        drop('shutdown', left);
      }
      return closeDrops;
    })();
    return closed;
  }

  return {
    add,
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
