/**
 * The real runtimes the Web build targets, from this repository's devDependencies (`bun`, `deno`
 * and `workerd` ship their binaries in npm packages): an app directory outside the repository
 * that installs the built package as a user's would (node_modules/apitoolkit-node -> this
 * repository, resolved through its `exports` map), and one server process of the standard app per
 * runtime, bounded in time and killed by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const exec = promisify(execFile);
export const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name: string): string => join(repo, 'node_modules/.bin', name);
const fixtures = join(repo, 'test/fixtures/runtimes');
/** The longest a runtime may take to start listening. */
const START_TIMEOUT_MS = 20_000;

/** Newest modification time under `path` (a file or a folder), in ms. */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let time = 0;
  for (const name of readdirSync(path)) time = Math.max(time, newest(join(path, name)));
  return time;
}

/** Builds the package (tsup) unless dist/ is newer than every source it is built from. */
export async function ensureBuilt(): Promise<void> {
  const output = join(repo, 'dist/web/index.js');
  const inputs = Math.max(newest(join(repo, 'src')), newest(join(repo, 'tsup.config.ts')), newest(join(repo, 'package.json')));
  if (existsSync(output) && statSync(output).mtimeMs > inputs && existsSync(join(repo, 'dist/index.js'))) return;
  await exec(bin('tsup'), ['--silent'], { cwd: repo, timeout: 180_000 });
}

/**
 * An app directory of its own: the fixtures of test/fixtures/runtimes, a package.json, and
 * node_modules with the package and the frameworks the fixtures import, linked from this repository.
 */
export function makeAppDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'apitoolkit-runtimes-'));
  for (const name of readdirSync(fixtures)) if (name.endsWith('.mjs')) copyFileSync(join(fixtures, name), join(dir, name));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'runtime-app', private: true, type: 'module' }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules/apitoolkit-node'), 'dir');
  for (const name of ['hono', 'express', 'fastify', 'fastify-plugin']) {
    symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A port free on 127.0.0.1 right now (for workerd, which is given its port in its config). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A runtime process serving on 127.0.0.1. */
export interface RuntimeServer {
  readonly url: string;
  /** Where `/apitoolkit-flush` is served (the app itself, or a control server beside it). */
  readonly controlUrl: string;
  /** What the server said about itself (runtime and version). */
  readonly runtime: string;
  readonly child: ChildProcess;
  output(): string;
  close(): Promise<void>;
}

function track(child: ChildProcess): { output: () => string; exited: Promise<number | null> } {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => output, exited };
}

function closer(child: ChildProcess, exited: Promise<number | null>): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
}

/** Waits for the first JSON line `{"port":N,...}` on stdout. */
async function listening(
  child: ChildProcess,
  out: () => string,
  exited: Promise<number | null>,
): Promise<{ port: number; runtime: string; control?: number }> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const line = out()
      .split('\n')
      .find((l) => l.startsWith('{"port"'));
    if (line !== undefined) return JSON.parse(line) as { port: number; runtime: string; control?: number };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`the runtime did not start:\n${out()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Settings of a test client (APIToolkit options as JSON), or undefined for the bare app. */
export type Settings = Record<string, unknown> | undefined;

/** Starts `bun <script>` in `dir`. */
export async function startBun(dir: string, script: string, env: Record<string, string>): Promise<RuntimeServer> {
  const child = spawn(bin('bun'), [script], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, exited } = track(child);
  const { port, runtime, control } = await listening(child, output, exited);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    controlUrl: control === undefined ? url : `http://127.0.0.1:${control}`,
    runtime,
    child,
    output,
    close: closer(child, exited),
  };
}

/** Starts `deno run` of `script` (Deno.serve) in `dir`, npm packages from its node_modules. */
export async function startDeno(dir: string, script: string, env: Record<string, string>): Promise<RuntimeServer> {
  const child = spawn(
    bin('deno'),
    ['run', '--quiet', '--no-lock', '--node-modules-dir=manual', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', script],
    {
      cwd: dir,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const { output, exited } = track(child);
  const { port, runtime } = await listening(child, output, exited);
  const url = `http://127.0.0.1:${port}`;
  return { url, controlUrl: url, runtime, child, output, close: closer(child, exited) };
}

/** Bundles `entry` for workerd as wrangler does (esbuild, the `workerd` export condition first). */
export async function bundleWorker(dir: string, entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [join(dir, entry)],
    outfile: join(dir, outfile),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    logLevel: 'silent',
  });
}

/** A Worker in a workerd config: its bundle (in `dir`) and its text bindings. */
export interface WorkerSpec {
  bundle: string;
  bindings: Record<string, string>;
  /** Compatibility flags, e.g. `['nodejs_compat']`. */
  flags: string[];
}

const capnpText = (value: string): string => JSON.stringify(value);

/** workerd's version, `workerd 2026-11-17`. */
export async function workerdVersion(): Promise<string> {
  const { stdout } = await exec(bin('workerd'), ['--version']);
  return stdout.trim();
}

/**
 * Serves one Worker with `workerd serve` on a free port, its outbound network allowed to reach this
 * machine (the collector on loopback), as `wrangler dev --local` would.
 */
export async function startWorkerd(dir: string, worker: WorkerSpec, name = 'worker'): Promise<RuntimeServer> {
  const port = await freePort();
  const bindings = Object.entries(worker.bindings)
    .map(([key, value]) => `(name = ${capnpText(key)}, text = ${capnpText(value)})`)
    .join(', ');
  const config = join(dir, `${name}.capnp`);
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const mainWorker :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed ${capnpText(worker.bundle)}) ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = [${worker.flags.map(capnpText).join(', ')}],
  bindings = [${bindings}],
  globalOutbound = "internet",
);
`,
  );
  const child = spawn(bin('workerd'), ['serve', config, '--verbose'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, exited } = track(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      await fetch(`${url}/apitoolkit-stats`, { signal: AbortSignal.timeout(1_000) });
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`workerd did not start:\n${output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url, controlUrl: url, runtime: await workerdVersion(), child, output, close: closer(child, exited) };
}
