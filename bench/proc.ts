/**
 * Child processes for the benchmarks: every app, the collector and the load generator run in a
 * process of their own (optionally pinned to a core with `taskset`), talk to the harness over IPC,
 * and are killed when the harness ends, whichever way it ends.
 *
 * Parent side: `spawnNode()`. Child side: `serveIpc()` (see `ipc-child.ts`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const READY_TIMEOUT_MS = 60_000; // tsx start-up on a loaded 2-core machine can take a while
const CALL_TIMEOUT_MS = 120_000; // a 60 s load run plus its flush
const STOP_GRACE_MS = 5_000; // 5 s, then SIGKILL

const running = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Kills every child still running. Synchronous, so it also works from an 'exit' handler. */
export function killAll(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  running.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // 'exit' also runs after an uncaught exception or an unhandled rejection ended the process.
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${running.size} child process(es)\n`);
      killAll();
      process.exit(130);
    });
  }
}

/**
 * Two cores this process may run on, when `taskset` can pin processes here (Linux, taskset
 * installed, at least two cores allowed); null otherwise.
 */
export function pinCores(): [number, number] | null {
  if (process.platform !== 'linux' || availableParallelism() < 2) return null;
  const out = spawnSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
  if (out.status !== 0) return null;
  // "pid 123's current affinity list: 0,1" or "0-3,6"
  const cores: number[] = [];
  for (const part of (out.stdout.split(':').pop() ?? '').trim().split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || !Number.isInteger(from)) continue;
    for (let core = from; core <= (to ?? from) && cores.length < 2; core++) cores.push(core);
  }
  return cores.length === 2 ? [cores[0]!, cores[1]!] : null;
}

/** `VmRSS` (bytes) and user+system CPU time (microseconds) of a process, read from /proc; null elsewhere. */
export function procSample(pid: number): { rssBytes: number; cpuUs: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    // Fields after the parenthesised command name (which may contain spaces): utime is field 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(rssKb) || !Number.isFinite(ticks)) return null;
    return { rssBytes: rssKb * 1024, cpuUs: (ticks * 1e6) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

export const CLOCK_TICKS = (() => {
  if (process.platform !== 'linux') return 100;
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** A message from a child: a reply (`id`), or an announcement (`type`). */
export interface ChildMessage {
  id?: number;
  type?: string;
  error?: string;
  [key: string]: unknown;
}

export interface NodeChild {
  readonly name: string;
  readonly pid: number;
  /** What the child sent with `announce()` once ready. */
  readonly ready: ChildMessage;
  /** Sends `{ type, ...payload }` and resolves with the child's reply; rejects on an error reply or exit. */
  call<T extends object = ChildMessage>(type: string, payload?: object, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL after a grace period. Idempotent. */
  stop(): Promise<void>;
  /** Last lines of the child's stderr (for error messages). */
  stderrTail(): string;
}

export interface SpawnOptions {
  /** Pin to this core with taskset. */
  core?: number | undefined;
  env?: Record<string, string | undefined>;
  /** Echo the child's stderr to ours (default: keep the last lines for error messages only). */
  echoStderr?: boolean;
  /** A command the node process runs under, e.g. `['valgrind', '--tool=callgrind']` (bench/insitu.ts). */
  wrap?: string[];
  /** How long it may take to announce itself (default READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
}

/**
 * Starts `node --import tsx bench/<entry> ...args` (pinned when `core` is given) with an IPC
 * channel, and resolves once it has sent `{ type: 'ready' }`; rejects (and kills it) if it sends
 * `{ type: 'fatal' }`, exits or stays silent for a minute.
 */
export async function spawnNode(name: string, entry: string, args: string[], options: SpawnOptions = {}): Promise<NodeChild> {
  installCleanup();
  // BENCH_NODE_ARGS (a variant's env or the harness's): node options for the child's command line, for
  // the V8 flags that must be set before the heap exists (--min-semi-space-size) and NODE_OPTIONS refuses.
  const extra = (options.env?.BENCH_NODE_ARGS ?? process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const nodeArgs = [...extra, '--import', 'tsx', fileURLToPath(new URL(entry, `file://${BENCH_DIR}`)), ...args];
  const wrapped = [...(options.wrap ?? []), process.execPath, ...nodeArgs];
  const [command, commandArgs] =
    options.core === undefined ? [wrapped[0]!, wrapped.slice(1)] : ['taskset', ['-c', String(options.core), ...wrapped]];
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  // BENCH_STDOUT_DIR=dir: each child's stdout to dir/NAME.PID.out (V8's --trace-* flags print there).
  const stdoutDir = process.env.BENCH_STDOUT_DIR;
  const stdout = stdoutDir === undefined ? 'ignore' : openSync(join(stdoutDir, `${name}.${process.pid}.${Date.now()}.out`), 'w');
  const child = spawn(command, commandArgs, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', stdout, 'pipe', 'ipc'],
  });
  if (typeof stdout === 'number') closeSync(stdout);
  running.add(child);
  const tail: string[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (options.echoStderr === true) process.stderr.write(chunk.replace(/^(?=.)/gm, `[${name}] `));
    tail.push(chunk);
    while (tail.length > 40) tail.shift();
  });
  const stderrTail = () => tail.join('').split('\n').slice(-15).join('\n');
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = once(child, 'exit').then(([code, signal]) => {
    exited = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    running.delete(child);
  });

  let nextId = 1;
  const pending = new Map<number, { resolve(m: ChildMessage): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  const failAll = (error: Error) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.reject(error);
    }
  };
  let announced: ((m: ChildMessage) => void) | undefined;
  let refused: ((e: Error) => void) | undefined;
  child.on('message', (message: ChildMessage) => {
    if (typeof message.id === 'number') {
      const p = pending.get(message.id);
      if (p === undefined) return;
      pending.delete(message.id);
      clearTimeout(p.timer);
      if (typeof message.error === 'string') p.reject(new Error(`${name}: ${message.error}`));
      else p.resolve(message);
    } else if (message.type === 'ready') announced?.(message);
    else if (message.type === 'fatal') refused?.(new Error(`${name}: ${String(message.error)}`));
  });
  void exit.then(() => failAll(new Error(`${name} exited (${describeExit(exited)})\n${stderrTail()}`)));

  let ready: ChildMessage;
  try {
    ready = await new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`${name} did not start within ${readyTimeoutMs / 1000} s\n${stderrTail()}`)),
        readyTimeoutMs,
      );
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(error);
      }
      announced = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
      refused = fail;
      void exit.then(() => fail(new Error(`${name} exited before it was ready (${describeExit(exited)})\n${stderrTail()}`)));
      child.once('error', fail);
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exit;
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    name,
    pid: child.pid!,
    ready,
    stderrTail,
    call<T extends object = ChildMessage>(type: string, payload: object = {}, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
      if (exited !== undefined) return Promise.reject(new Error(`${name} has exited (${describeExit(exited)})\n${stderrTail()}`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: no answer to '${type}' within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (m: ChildMessage) => void, reject, timer });
        child.send({ ...payload, type, id });
      });
    },
    stop() {
      stopping ??= (async () => {
        if (exited !== undefined) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exit;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function describeExit(exited: { code: number | null; signal: NodeJS.Signals | null } | undefined): string {
  if (exited === undefined) return 'running';
  return exited.signal !== null ? `signal ${exited.signal}` : `code ${exited.code}`;
}
