/**
 * What every benchmark app shares, so that the frameworks are compared like with like: the request
 * and response bodies, the redaction rules, the SDK configuration, how an adapter is loaded, and
 * the harness protocol (`listening PORT` on stdout, plus IPC when started by `bench/run.ts`).
 *
 * An app file is `bench/servers/<name>.ts`, started as `node --import tsx bench/servers/<name>.ts
 * bare|sdk`; the harness learns about it from `bench/apps.ts`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { probeHandlers } from '../probe.js';
import type { APIToolkit } from '../../src/index.js';
import type { Transport } from '../../src/transport/types.js';
import { announce, fatal, serveIpc } from '../ipc-child.js';

/** The route every app serves. */
// V8 flags for an experiment on one variant (bench/insitu.ts), e.g. BENCH_V8_FLAGS=--no-allocation-site-pretenuring.
if (process.env.BENCH_V8_FLAGS !== undefined) setFlagsFromString(process.env.BENCH_V8_FLAGS);

/**
 * A control for experiments (bench/insitu.ts): BENCH_SPIN_US=N makes the app spend N µs of its own
 * CPU per request, before its response (BENCH_SPIN_AT=before, the default) or right after it
 * (`after`), allocating nothing: a bare app as slow as the SDK's, to tell the SDK's own cost from
 * what a slower app costs the machine (the load generator's wake-ups).
 */
const SPIN_US = Number(process.env.BENCH_SPIN_US ?? 0);
export const SPIN_AT: 'before' | 'after' = process.env.BENCH_SPIN_AT === 'after' ? 'after' : 'before';
export function spin(at: 'before' | 'after'): void {
  if (SPIN_US <= 0 || at !== SPIN_AT) return;
  const until = performance.now() + SPIN_US / 1000;
  while (performance.now() < until);
}

export const ROUTE_PATH = '/users/:id';
export const REQUEST_PATH = '/users/42';

/** The 1 KB (1 024 B) JSON request body (three of its fields are redacted by the request rules). */
export const REQUEST_BODY = JSON.stringify({
  name: 'Ada',
  password: 'hunter2',
  card: { number: '4111111111111111', cvv: '123' },
  prefs: { theme: 'dark', secret: 's3' },
  bio: 'b'.repeat(892),
});

/** The 1 KB JSON response body (1 024 B with id "42" and name "Ada") (two of its fields are redacted by the response rules). */
export function responseBody(id: string, name: unknown): object {
  return { id, token: 'tok', user: { email: 'a@b.c', name }, padding: 'p'.repeat(948) };
}

/** 3 request and 2 response JSONPath rules, as the issue asks. */
export const REDACT_REQUEST_BODY = ['$.password', '$.card.cvv', '$..secret'];
export const REDACT_RESPONSE_BODY = ['$.token', '$.user.email'];

/** What the harness passes to an app: collector addresses and the id stamped on its records. */
export interface AppEnv {
  appId: string;
  rootURL: string | undefined;
  pubsubEndpoint: string | undefined;
  /** The gRPC bridge for apitoolkit-express@2.4.6 (bench/legacy-grpc.ts). */
  legacyEndpoint: string | undefined;
}

export function appEnv(): AppEnv {
  return {
    appId: process.env.BENCH_APP_ID ?? 'bench',
    rootURL: process.env.COLLECTOR_ROOT_URL,
    pubsubEndpoint: process.env.COLLECTOR_ENDPOINT,
    legacyEndpoint: process.env.COLLECTOR_LEGACY_ENDPOINT,
  };
}

/** Delivers nothing: capture, redaction and encoding only. */
const noopTransport: Transport = {
  start: async () => ({ projectId: '00000000-0000-4000-8000-000000000000' }),
  send: async () => ({ ok: true as const }),
  shutdown: async () => {},
};

/**
 * This SDK as the benchmark runs it: full capture, the redaction rules above, delivery over Pub/Sub's
 * REST API to the collector (or to nowhere with `noop`), `service_version` = the app id so the records of
 * each app can be told apart. Resolves once client metadata has arrived, so the first requests
 * measured are not held in the start-up buffer.
 */
export async function benchClient(env: AppEnv, options: { noop?: boolean } = {}): Promise<APIToolkit> {
  // BENCH_NOOP=1: the same app delivering nowhere (bench/insitu.ts's variants).
  if (process.env.BENCH_NOOP === '1') options = { ...options, noop: true };
  if (options.noop !== true && (env.rootURL === undefined || env.pubsubEndpoint === undefined)) {
    throw new Error('COLLECTOR_ROOT_URL and COLLECTOR_ENDPOINT must name the collector (bench/run.ts sets them)');
  }
  const { APIToolkit: Client } = (await import(sdkModule('index'))) as typeof import('../../src/index.js');
  const client = new Client({
    ...(options.noop === true
      ? { transport: noopTransport }
      : { apiKey: 'bench', rootURL: env.rootURL, pubsubEndpoint: env.pubsubEndpoint }),
    redactRequestBody: REDACT_REQUEST_BODY,
    redactResponseBody: REDACT_RESPONSE_BODY,
    serviceVersion: env.appId,
    // e.g. SDK_OPTIONS='{"captureResponseBody":false}' to see what one feature costs.
    ...(JSON.parse(process.env.SDK_OPTIONS ?? '{}') as object),
  });
  await client.ready();
  return client;
}

/** How the harness flushes this SDK and reads its counters. */
export function sdkControl(client: APIToolkit): Control {
  return {
    flush: (timeoutMs) => client.flush(timeoutMs),
    stats: () => client.stats(),
    close: async () => void (await client.shutdown(5_000)),
  };
}

/** Adds closing `server` to a control's `close`. */
export function closing(control: Control, closeServer: () => unknown): Control {
  return {
    ...control,
    close: async () => {
      await closeServer();
      await control.close?.();
    },
  };
}

/**
 * Which build of the SDK the apps load (`BENCH_SDK`, set by `bench/run.ts --sdk`): `dist`, the
 * built package as users run it (the default; `npm run bench` builds it first), or `src`, the
 * TypeScript sources through tsx (no build needed; tsx adds a little per call, e.g. `__name()`
 * on every function created per request).
 */
export function sdkBuild(): 'dist' | 'src' {
  return process.env.BENCH_SDK === 'src' ? 'src' : 'dist';
}

/** The URL of SDK module `entry` (`index`, or an adapter's name) in the build the apps load. */
function sdkModule(entry: string): string {
  // BENCH_SDK_DIST: another build of the package (bench/insitu.ts's A/B builds), inside the project
  // so that its imports resolve from node_modules.
  const dist = process.env.BENCH_SDK_DIST;
  if (sdkBuild() === 'dist' && dist !== undefined && dist !== '') {
    return new URL(`${dist.replace(/\/$/, '')}/${entry === 'index' ? 'index.js' : `${entry}/index.js`}`, `file://${ROOT_DIR}/`).href;
  }
  const path =
    sdkBuild() === 'src'
      ? entry === 'index'
        ? '../../src/index.ts'
        : `../../src/adapters/${entry}/index.ts`
      : entry === 'index'
        ? '../../dist/index.js'
        : `../../dist/${entry}/index.js`;
  return new URL(path, import.meta.url).href;
}

const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Why the SDK build the apps would load is not there, or null. */
export function sdkBuildMissing(): string | null {
  if (sdkBuild() === 'src' || existsSync(fileURLToPath(sdkModule('index')))) return null;
  return 'dist/ is not built: run `npm run build` (`npm run bench` builds first), or bench the sources with --sdk src';
}

/** The adapter module of framework `name`, as the package exports it (`apitoolkit-node/<name>`). */
export function adapterModulePath(name: string): string {
  return sdkBuild() === 'src' ? `src/adapters/${name}/index.ts` : `dist/${name}/index.js`;
}

/**
 * Why the adapter for `name` cannot be benchmarked yet (its module is missing or does not export
 * `exportName`), or null when it can. Never throws.
 */
export async function adapterMissing(name: string, exportName: string): Promise<string | null> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(sdkModule(name))) as Record<string, unknown>;
  } catch (error) {
    return `${adapterModulePath(name)} cannot be loaded (${(error as Error).message.split('\n')[0]})`;
  }
  if (typeof mod[exportName] === 'function') return null;
  const exported = Object.keys(mod).filter((k) => k !== 'default');
  return exported.length === 0
    ? `adapter not written yet: ${adapterModulePath(name)} is a placeholder that exports nothing`
    : `${adapterModulePath(name)} exports ${exported.join(', ')} but no function ${exportName}: update bench/servers/${name}.ts and bench/apps.ts`;
}

/** Loads export `exportName` of the adapter for `name`; throws with the reason when it is missing. */
export async function loadAdapter<T>(name: string, exportName: string): Promise<T> {
  const missing = await adapterMissing(name, exportName);
  if (missing !== null) throw new Error(missing);
  const mod = (await import(sdkModule(name))) as Record<string, unknown>;
  return mod[exportName] as T;
}

/** How the harness flushes an app and reads its counters. */
export interface Control {
  /** Sends everything captured so far; resolves true when it all went out. */
  flush?(timeoutMs: number): Promise<boolean>;
  /** SDK counters (shown in the report). */
  stats?(): object;
  /** Stops accepting connections and releases what the app holds. */
  close?(): Promise<void>;
}

const FLUSH_TIMEOUT_MS = 60_000;

/**
 * Announces `port` (stdout line `listening PORT`, and over IPC) and answers the harness:
 * `flush` → `{ flushed, ms }`, `stats` → `{ stats }`. SIGTERM closes and exits.
 */
export function serveHarness(port: number, control: Control = {}): void {
  serveIpc({
    async flush() {
      const started = performance.now();
      // Requests cut off when the load stopped end on this tick or the next: let them be captured first.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const flushed = control.flush === undefined ? true : await control.flush(FLUSH_TIMEOUT_MS);
      return { flushed, ms: performance.now() - started };
    },
    stats: () => ({ stats: control.stats?.() ?? null }),
    // GC and CPU profiles of a measured window, for bench/insitu.ts.
    ...probeHandlers(),
  });
  process.once('SIGTERM', () => {
    const done = () => {
      // Started by hand (no harness): what bench:overhead used to print, for scripts that read it.
      if (process.send === undefined) {
        const line = standaloneCpu?.();
        if (line !== undefined) process.stdout.write(`${line}\n`);
        if (control.stats !== undefined) process.stdout.write(`stats ${JSON.stringify(control.stats())}\n`);
      }
      process.exit(0);
    };
    setTimeout(done, 5_000).unref();
    void (control.close?.() ?? Promise.resolve()).then(done, done);
  });
  process.stdout.write(`listening ${port}\n`);
  announce({ port });
}

const STANDALONE_WARMUP_REQUESTS = 5_000;
let standaloneCpu: (() => string) | undefined;

/**
 * When the app is started by hand (no harness measuring it from outside), a counter for its
 * requests: on SIGTERM it prints `cpu X us/request over N requests after warm-up` (the first 5 000
 * requests, JIT warm-up, left out). Returns undefined under the harness, which reads /proc instead.
 */
export function standaloneCounter(): (() => void) | undefined {
  if (process.send !== undefined) return undefined;
  let served = 0;
  let cpuAtWarm = process.cpuUsage();
  standaloneCpu = () => {
    const cpu = process.cpuUsage(cpuAtWarm);
    const measured = served - STANDALONE_WARMUP_REQUESTS;
    return `cpu ${((cpu.user + cpu.system) / measured).toFixed(1)} us/request over ${measured} requests after warm-up`;
  };
  return () => {
    served += 1;
    if (served === STANDALONE_WARMUP_REQUESTS) cpuAtWarm = process.cpuUsage();
  };
}

/** Runs an app's `main`, reporting a start-up failure to the harness. */
export function startApp(main: (mode: string, env: AppEnv) => Promise<void>): void {
  const mode = process.argv[2] ?? '';
  main(mode, appEnv()).catch(fatal);
}

export function usage(file: string, modes: readonly string[], got: string): Error {
  return new Error(`usage: node --import tsx bench/servers/${file} ${modes.join('|')} (got ${JSON.stringify(got)})`);
}
