/**
 * The default transport: the Pub/Sub transport of pubsub.ts, run in a worker thread
 * (pubsub-worker.ts). The app's thread keeps the queue (core/batcher.ts) and hands each batch over
 * as one transferred buffer (one copy of the batch, no per-message clone); loading the official
 * client, building its protos and every Publish's protobuf, gRPC and HTTP/2 work happen on the
 * publishing thread, so they neither block the app's event loop at start-up nor take its CPU time
 * per request when a second core is free.
 *
 * Fallbacks, so that delivery never depends on the thread: when the worker's file cannot be found
 * (the SDK bundled into one file) or the worker cannot start, the transport publishes from the app's
 * thread as before; when a started worker dies, sends in flight fail as retryable and the next send
 * starts a new one (after MAX_RESTARTS, the app's thread takes over).
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { TransportError } from '../core/errors.js';
import { errorMessage, failure, makePubSubTransport, type PubSubTransportOptions } from './pubsub.js';
import { fromWireError, type FromThread, type ToThread } from './thread-protocol.js';
import type { SendResult, Transport, TransportInfo } from './types.js';

/** A worker that died this many times after starting is not started again. */
const MAX_RESTARTS = 3;
/** How long after a send's deadline the app's thread stops waiting for the worker's answer. */
const ANSWER_GRACE_MS = 1_000;
/** How long shutdown() waits for the worker to close its client (pubsub.ts gives it 5 s). */
const SHUTDOWN_WAIT_MS = 5_500;

/**
 * Where pubsub-worker is, next to this file: `src/transport/pubsub-worker.ts` from the sources,
 * `dist/transport/pubsub-worker.js` (or `.cjs`) from the build, whose chunks sit in `dist/` (or in a
 * subpath's folder, `dist/express/`, when the build inlines them).
 * Undefined when it is not there (a bundler folded the SDK into one file).
 */
function workerEntry(): string | undefined {
  try {
    const self = fileURLToPath(import.meta.url);
    const ext = extname(self);
    // path.join, not `new URL('./x', import.meta.url)`: bundlers (Next's among them) take the latter
    // for an asset reference and try to bundle whatever it could name.
    for (const candidate of [join(dirname(self), `pubsub-worker${ext}`), join(dirname(self), 'transport', `pubsub-worker${ext}`), join(dirname(self), '..', 'transport', `pubsub-worker${ext}`)]) {
      if (existsSync(candidate)) return candidate;
    }
  } catch {
    // Not a file URL (a bundle's own scheme): no worker.
  }
  return undefined;
}

/**
 * What the Worker runs: the built file as it is; a TypeScript file (the SDK run from its sources, as
 * this repository's tests and examples do) through pubsub-worker.dev.mjs, which registers tsx in the
 * thread first.
 */
function workerScript(entry: string): { file: string; argv: string[] } {
  if (!entry.endsWith('.ts')) return { file: entry, argv: [] };
  return { file: join(dirname(fileURLToPath(import.meta.url)), 'pubsub-worker.dev.mjs'), argv: [pathToFileURL(entry).href] };
}

/**
 * `execArgv` less `refused` (each with its value when that is the next word) and `--input-type`,
 * which a worker inherits and then fails on (an app run with `node --input-type=module -e …`).
 */
function withoutFlags(execArgv: readonly string[], refused: ReadonlySet<string>): string[] {
  const argv: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    if (flag === '--input-type' || refused.has(flag)) {
      if (!flag.includes('=') && i + 1 < execArgv.length && !execArgv[i + 1]!.startsWith('-')) i += 1;
    } else if (!flag.startsWith('--input-type=')) argv.push(flag);
  }
  return argv;
}

/**
 * A Worker with the app's Node options where a worker accepts them. A worker refuses V8 and
 * process-wide options (`--max-old-space-size`, `--expose-gc`, `--stack-size`…) with
 * ERR_WORKER_INVALID_EXEC_ARGV, naming them; they are left out and the worker made again.
 */
function constructWorker(file: string, options: WorkerOptions): Worker {
  const refused = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    try {
      // Reflect.construct, not `new Worker(…)`: bundlers (Turbopack) take that for a worker to
      // bundle and pull in whatever the path could name.
      return Reflect.construct(Worker, [file, { ...options, execArgv: withoutFlags(process.execArgv, refused) }]) as Worker;
    } catch (error) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      const named = typeof message === 'string' ? /flags: (.*)$/.exec(message)?.[1]?.split(', ') ?? [] : [];
      if (code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || attempt >= 2 || named.length === 0) throw error;
      for (const flag of named) refused.add(flag);
    }
  }
}

/**
 * Creates the {@link Transport} of {@link makePubSubTransport}, running on a worker thread.
 *
 * @example
 * const transport = makeThreadTransport({ apiKey: process.env.APITOOLKIT_KEY!, rootURL: 'https://app.apitoolkit.io' });
 * await transport.start(AbortSignal.timeout(60_000));
 */
export function makeThreadTransport(options: PubSubTransportOptions, entry: string | null = workerEntry() ?? null): Transport {
  const { onDebug } = options;
  let worker: Worker | undefined;
  let inline: Transport | undefined;
  let info: TransportInfo | undefined;
  let started = false;
  let closed = false;
  let restarts = 0;
  let nextId = 1;
  const answers = new Map<number, (result: SendResult) => void>();
  // Settles the start() in progress on the current worker, if any.
  let onStarted: ((outcome: { info: TransportInfo } | { error: Error }) => void) | undefined;
  let onShutDown: (() => void) | undefined;
  let restarting: Promise<void> | undefined;
  // Operations waiting for the worker's answer. While there is one, the worker keeps the process
  // alive (a `await client.ready()` before `listen()`, a flush at the end of a script), as the
  // in-thread client's sockets and timers would; idle, it must not.
  let waiting = 0;
  const hold = (): void => {
    if (waiting++ === 0) worker?.ref();
  };
  const release = (): void => {
    if (--waiting === 0) worker?.unref();
  };
  // start()'s own hold, given up while it waits between two metadata attempts.
  const startHold = {
    held: false,
    hold(): void {
      if (!this.held) hold();
      this.held = true;
    },
    release(): void {
      if (this.held) release();
      this.held = false;
    },
  };

  const debug = (line: string): void => {
    if (!onDebug) return;
    try {
      onDebug(line);
    } catch {
      // A throwing debug hook must not break delivery.
    }
  };
  const post = (target: Worker, message: ToThread, transfer?: ArrayBuffer[]): void => target.postMessage(message, transfer);

  function spawn(): Worker {
    const { onDebug: _, onBackoff: __, http: ___, ...rest } = options;
    const { file, argv } = workerScript(entry!);
    const w = constructWorker(file, { argv, workerData: { ...rest, debug: onDebug !== undefined }, stdout: false, stderr: false });
    // An idle thread must not keep the app's process alive (see `waiting`).
    if (waiting === 0) w.unref();
    w.on('message', (message: FromThread) => {
      switch (message.t) {
        case 'debug':
          debug(message.line);
          break;
        case 'backoff':
          // Between two metadata attempts the app's process may end, as it could before the thread.
          if (message.waiting) startHold.release();
          else if (onStarted !== undefined) startHold.hold();
          break;
        case 'started':
          onStarted?.({ info: message.info });
          break;
        case 'start-failed':
          onStarted?.({ error: fromWireError(message.error, options.rootURL) });
          break;
        case 'sent':
          answers.get(message.id)?.(message.ok ? { ok: true } : failure(new TransportError(message.error!.message, message.error!.retryable)));
          break;
        case 'shut-down':
          onShutDown?.();
          break;
      }
    });
    w.on('error', (error) => debug(`apitoolkit-node pubsub: publishing thread failed: ${error.message}`));
    w.on('exit', (code) => {
      if (worker !== w) return;
      worker = undefined;
      onShutDown?.();
      if (closed) return;
      const error = new TransportError(`the publishing thread stopped (exit code ${code})`, true);
      // During start-up, the fallback to the app's thread says it (startWorker).
      if (onStarted === undefined) debug(`apitoolkit-node pubsub: ${errorMessage(error)}`);
      for (const answer of answers.values()) answer(failure(error));
      onStarted?.({ error });
    });
    worker = w;
    return w;
  }

  /** Starts a worker and its transport; falls back to the app's thread when the worker dies before answering. */
  function startWorker(signal: AbortSignal): Promise<TransportInfo> {
    let w: Worker;
    try {
      w = spawn();
    } catch (error) {
      return startInline(signal, `cannot start the publishing thread (${(error as Error).message})`);
    }
    startHold.hold();
    return new Promise<TransportInfo>((resolve, reject) => {
      const onAbort = (): void => {
        onStarted = undefined;
        startHold.release();
        post(w, { t: 'abort-start', reason: String(signal.reason) });
        reject(signal.reason);
      };
      onStarted = (outcome) => {
        onStarted = undefined;
        startHold.release();
        signal.removeEventListener('abort', onAbort);
        if ('info' in outcome) resolve(outcome.info);
        else if (worker === undefined && !closed) {
          // The thread itself died (not its start-up failing): publish from here instead.
          startInline(signal, outcome.error.message).then(resolve, reject);
        } else reject(outcome.error);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      post(w, { t: 'start' });
    });
  }

  function startInline(signal: AbortSignal, why: string): Promise<TransportInfo> {
    debug(`apitoolkit-node pubsub: ${errorMessage(why)}; publishing from the app's thread`);
    inline = makePubSubTransport(options);
    return inline.start(signal);
  }

  async function start(signal: AbortSignal): Promise<TransportInfo> {
    if (started) throw new TransportError('start() was called twice', false);
    started = true;
    info = entry === null
      ? await startInline(signal, 'the publishing thread\'s file is not next to the SDK (bundled?)')
      : await startWorker(signal);
    return info;
  }

  /** After the worker died: a new one, started; shared by concurrent sends. */
  function restart(): Promise<void> {
    restarting ??= (async () => {
      restarts += 1;
      const signal = new AbortController().signal;
      if (restarts > MAX_RESTARTS) await startInline(signal, `the publishing thread stopped ${restarts} times`);
      else await startWorker(signal);
    })().finally(() => {
      restarting = undefined;
    });
    return restarting;
  }

  async function send(messages: Buffer[], timeoutMs: number, signal?: AbortSignal): Promise<SendResult> {
    if (closed) return failure(new TransportError('send() after shutdown()', false));
    if (inline) return inline.send(messages, timeoutMs, signal);
    if (info === undefined) return failure(new TransportError('send() before start() resolved', true));
    if (messages.length === 0) return { ok: true };
    let total = 0;
    const lengths: number[] = [];
    for (let i = 0; i < messages.length; i++) {
      const data = messages[i];
      // A non-Buffer must fail the send before any part of it goes out.
      if (!(data instanceof Uint8Array)) return failure(new TransportError(`message ${i} is not a Buffer`, false));
      lengths.push(data.length);
      total += data.length;
    }
    if (worker === undefined) {
      try {
        await restart();
      } catch (error) {
        return failure(error instanceof TransportError ? error : new TransportError(`cannot restart publishing: ${errorMessage(error)}`, true));
      }
      if (closed) return failure(new TransportError('send() after shutdown()', false));
      if (inline) return (inline as Transport).send(messages, timeoutMs, signal);
      if (worker === undefined) return failure(new TransportError('the publishing thread is not running', true));
    }
    // One buffer of its own (not a slice of Node's shared pool), so that it can be transferred.
    const batch = Buffer.allocUnsafeSlow(total);
    let offset = 0;
    for (const data of messages) {
      batch.set(data, offset);
      offset += data.length;
    }
    const id = nextId++;
    const target = worker;
    return new Promise<SendResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const onAbort = (): void => {
        settle(failure(new TransportError(`publish of ${messages.length} message(s) abandoned: ${String(signal?.reason)}`, true)));
        post(target, { t: 'abort-send', id, reason: String(signal?.reason) });
      };
      const settle = (result: SendResult): void => {
        if (settled) return;
        settled = true;
        release();
        answers.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      answers.set(id, settle);
      hold();
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      // The worker answers every send itself; this only frees the entry if it never does.
      timer = setTimeout(() => settle(failure(new TransportError(`no answer from the publishing thread within ${timeoutMs + ANSWER_GRACE_MS} ms`, true))), timeoutMs + ANSWER_GRACE_MS);
      timer.unref();
      post(target, { t: 'send', id, buffer: batch.buffer as ArrayBuffer, offset: batch.byteOffset, lengths, timeoutMs }, [batch.buffer as ArrayBuffer]);
    });
  }

  async function shutdown(): Promise<void> {
    if (closed) return;
    closed = true;
    await inline?.shutdown();
    const w = worker;
    if (w === undefined) return;
    hold();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SHUTDOWN_WAIT_MS);
      timer.unref();
      onShutDown = () => {
        clearTimeout(timer);
        resolve();
      };
      post(w, { t: 'shutdown' });
    });
    onShutDown = undefined;
    release();
    worker = undefined;
    const error = new TransportError('the transport was shut down', true);
    for (const answer of answers.values()) answer(failure(error));
    await w.terminate().catch(() => undefined);
  }

  return { start, send, shutdown };
}
