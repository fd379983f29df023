/**
 * An Express app run in a child process, for the tests that need a process of its own: crashes,
 * unhandled rejections, memory (RSS) and signals can only be observed from outside.
 *
 * Started by `startChildApp()` (below) through `fork`; this same file is the child's entry point.
 * Protocol over IPC: the child sends `{ type: 'listening', port }`; the parent sends
 * `{ type: 'stats' | 'shutdown' | 'ping', id }` and gets `{ type, id, ... }` back. Any unhandled
 * rejection or uncaught exception is sent as `{ type: 'crash' }`, written to stderr, and ends the
 * process with status 70.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the child app runs. `sdk: null` is the same app without the SDK at all (the baseline). */
export interface ChildAppConfig {
  /** APIToolkit options (JSON-serialisable ones); null for no SDK. */
  sdk: Record<string, unknown> | null;
  /** 4 or 5. Default 5. */
  express?: 4 | 5;
  /** Size of the JSON body `GET /work` answers with. Default 1 000 bytes. */
  responseBytes?: number;
  /** Install `shutdownOnSignals(client, this)`. */
  shutdownOnSignals?: { signals?: NodeJS.Signals[]; timeoutMs?: number };
  /** An app-level signal listener that calls `process.exit(code)`. */
  appSignalExit?: { signal: NodeJS.Signals; code: number };
  /** Print every debug line of the SDK to stdout (the parent greps it). */
  debugToStdout?: boolean;
  /** Environment variables added to the child's (NODE_EXTRA_CA_CERTS, proxies...). */
  env?: Record<string, string>;
}

export interface ChildStats {
  stats: Record<string, unknown> & {
    captured: number;
    published: number;
    queued: number;
    queuedBytes: number;
    pending: number;
    dropped: Record<string, number>;
    failed: number;
    state: string;
  };
  memory: NodeJS.MemoryUsage;
}

export interface ChildApp {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the child wrote to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Crash reports received (unhandled rejection, uncaught exception). */
  readonly crashes: string[];
  /** The SDK's stats() and process.memoryUsage(); with `gc`, measured after a full collection. */
  stats(options?: { gc?: boolean }): Promise<ChildStats>;
  /** Polls stats() (one request at a time) until `condition` holds; rejects after `timeoutMs`. */
  waitFor(condition: (s: ChildStats) => boolean, what: string, timeoutMs?: number): Promise<ChildStats>;
  shutdown(timeoutMs: number): Promise<{ flushed: boolean; dropped: number }>;
  /** Resolves with the exit code and signal once the child is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

const CRASH_EXIT_CODE = 70;

/** Forks this file as an app process and waits until it listens. */
/**
 * A child's stderr split into the SDK's warnings (`apitoolkit: warning CODE: ...`, printed without
 * debug and rate-limited per code) and everything else, which must stay empty.
 */
export function splitWarnings(stderr: string): { codes: string[]; rest: string } {
  const codes: string[] = [];
  const rest = stderr.split('\n').filter((line) => {
    const code = /^apitoolkit: warning (APITOOLKIT_WARN_[A-Z_]+): /.exec(line)?.[1];
    if (code !== undefined) codes.push(code);
    return code === undefined;
  });
  return { codes, rest: rest.join('\n').trim() };
}

export async function startChildApp(config: ChildAppConfig): Promise<ChildApp> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(config)], {
    // --expose-gc: memory samples are taken after a full collection, so a leak is not hidden in noise.
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '', ...config.env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const crashes: string[] = [];
  const replies = new Map<number, (message: any) => void>();
  let nextId = 1;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  child.on('message', (message: any) => {
    if (message?.type === 'crash') crashes.push(String(message.error));
    const reply = replies.get(message?.id);
    if (reply !== undefined) {
      replies.delete(message.id);
      reply(message);
    }
  });
  const [listening] = await Promise.race([
    once(child, 'message') as Promise<[{ type: string; port: number }]>,
    exited.then(({ code }) => {
      throw new Error(`child app exited (${code}) before listening:\n${err}`);
    }),
  ]);
  if (listening.type !== 'listening') throw new Error(`unexpected first message ${JSON.stringify(listening)}`);

  function ask<T>(message: Record<string, unknown>): Promise<T> {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      replies.set(id, resolve);
      child.send({ ...message, id }, (error) => {
        if (error) {
          replies.delete(id);
          reject(error);
        }
      });
      void exited.then(() => {
        if (replies.delete(id)) reject(new Error(`child app exited while answering ${String(message.type)}:\n${err}`));
      });
    });
  }

  return {
    url: `http://127.0.0.1:${listening.port}`,
    child,
    stdout: () => out,
    stderr: () => err,
    crashes,
    stats: ({ gc = false } = {}) => ask<ChildStats>({ type: 'stats', gc }),
    async waitFor(condition, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await ask<ChildStats>({ type: 'stats' });
        if (condition(s)) return s;
        if (Date.now() > deadline)
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last stats: ${JSON.stringify(s.stats)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    shutdown: (timeoutMs) => ask<{ result: { flushed: boolean; dropped: number } }>({ type: 'shutdown', timeoutMs }).then((m) => m.result),
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export { CRASH_EXIT_CODE };

// ---------------------------------------------------------------------------------------------
// The child's side.

async function runChild(config: ChildAppConfig): Promise<void> {
  const report =
    (kind: string) =>
    (error: unknown): void => {
      const text = `${kind}: ${error instanceof Error ? error.stack : String(error)}`;
      process.stderr.write(`${text}\n`);
      process.send?.({ type: 'crash', error: text }, () => process.exit(CRASH_EXIT_CODE));
    };
  process.on('unhandledRejection', report('unhandledRejection'));
  process.on('uncaughtException', report('uncaughtException'));

  const require = createRequire(import.meta.url);
  const express = (config.express === 4 ? require('express4') : require('express')) as typeof import('express');
  const { APIToolkit, shutdownOnSignals } = await import('../../src/index.js');
  const { expressMiddleware, expressErrorHandler } = await import('../../src/adapters/express/index.js');

  const apitoolkit =
    config.sdk === null
      ? undefined
      : new APIToolkit({
          ...config.sdk,
          ...(config.debugToStdout ? { debug: true, logger: (line: string) => process.stdout.write(`${line}\n`) } : {}),
        });
  if (apitoolkit !== undefined && config.shutdownOnSignals) shutdownOnSignals(apitoolkit, config.shutdownOnSignals);
  if (config.appSignalExit) {
    const { signal, code } = config.appSignalExit;
    process.on(signal, () => process.exit(code));
  }

  const app = express();
  app.use(express.json({ limit: '5mb' }));
  if (apitoolkit) app.use(expressMiddleware(apitoolkit));
  const filler = 'x'.repeat(Math.max(0, (config.responseBytes ?? 1_000) - 40));
  app.get('/work/:id', (req, res) => {
    res.json({ id: req.params.id, token: 'secret-token', filler });
  });
  app.post('/work/:id', (req, res) => {
    res.status(201).json({ id: req.params.id, received: JSON.stringify(req.body ?? null).length });
  });
  if (apitoolkit) app.use(expressErrorHandler(apitoolkit));

  const server = app.listen(0, '127.0.0.1', () => {
    process.send!({ type: 'listening', port: (server.address() as { port: number }).port });
  });
  // Longer than the load generator keeps idle sockets: a server closing a keep-alive socket just as
  // the client reuses it would show up as a failed request that has nothing to do with the SDK.
  server.keepAliveTimeout = 120_000;

  process.on('message', async (message: { type: string; id: number; timeoutMs?: number; gc?: boolean }) => {
    if (message.type === 'stats') {
      if (message.gc) (globalThis as { gc?: () => void }).gc?.();
      process.send!({ type: 'stats', id: message.id, stats: apitoolkit?.stats() ?? null, memory: process.memoryUsage() });
    } else if (message.type === 'shutdown') {
      const result = apitoolkit ? await apitoolkit.shutdown(message.timeoutMs) : { flushed: true, dropped: 0 };
      process.send!({ type: 'shutdown', id: message.id, result });
    } else if (message.type === 'ping') {
      process.send!({ type: 'ping', id: message.id });
    }
  });
  // The parent going away (a failed test) must not leave this process behind.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  void runChild(JSON.parse(process.argv[2]!) as ChildAppConfig);
}
