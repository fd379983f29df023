/**
 * Real endpoints for the Pub/Sub transport tests: the genuine Google Pub/Sub emulator
 * (`gcloud beta emulators pubsub start`, Java) and a fake APIToolkit metadata backend on node:http.
 * gcloud runs the emulator as a child (python -> java), so it is spawned in its own process group and
 * the whole group is signalled.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';

/** Emulator start-up (JVM + gcloud) usually takes 2–5 s; this is the give-up point. */
const START_TIMEOUT_MS = 60_000; // 60 s
const STOP_TIMEOUT_MS = 5_000; // 5 s

export interface RunningEmulator {
  /** `127.0.0.1:PORT`, ready for `pubsubEndpoint` / PUBSUB_EMULATOR_HOST. */
  host: string;
  /** Kills the emulator's process group; resolves once it is gone (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** True when `gcloud` and `java` are on PATH (the emulator component itself is checked by starting it). */
export function emulatorAvailable(): boolean {
  return onPath('gcloud') && onPath('java');
}

/** A port the OS just handed out and released: a fixed port would collide between parallel runs. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts the emulator on a free loopback port and waits for 'Server started'.
 *
 * @example
 * const emulator = await startEmulator();
 * after(() => emulator.stop());
 */
export async function startEmulator(project = 'apitoolkit-test'): Promise<RunningEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child: ChildProcess = spawn('gcloud', ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${project}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Never prompt (e.g. to install the component): fail instead.
    env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn gcloud');

  // If the test process dies without calling stop(), don't leave a JVM behind.
  const onExit = (): void => killGroup(pid, 'SIGKILL');
  process.once('exit', onExit);

  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Pub/Sub emulator not ready after ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.includes('Server started')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Pub/Sub emulator exited before it was ready (code ${code}, signal ${signal}):\n${output}`));
      });
    });
  } catch (err) {
    killGroup(pid, 'SIGKILL');
    process.removeListener('exit', onExit);
    throw err;
  }
  // Keep draining the pipes so a chatty emulator never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();

  let stopped: Promise<void> | undefined;
  return {
    host,
    stop() {
      stopped ??= (async () => {
        killGroup(pid, 'SIGTERM');
        const deadline = Date.now() + STOP_TIMEOUT_MS;
        while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (groupAlive(pid)) killGroup(pid, 'SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
        process.removeListener('exit', onExit);
      })();
      return stopped;
    },
  };
}

/** What the fake APIToolkit backend saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** One answer of the fake backend: a status and a body (objects are sent as JSON). */
export interface MetadataAnswer {
  status: number;
  body?: unknown;
  /** Wait this long before answering (headers included). */
  delayMs?: number;
  /** Never answer (the request hangs until the client gives up). */
  hang?: boolean;
}

export interface MetadataServer {
  /** `http://127.0.0.1:PORT`, the rootURL to pass to the transport. */
  rootURL: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A real `node:http` server on 127.0.0.1:0 playing `GET /api/client_metadata`. `answers` are used in
 * order; the last one repeats.
 *
 * @example
 * const backend = await serveMetadata([{ status: 500 }, { status: 200, body: metadata }]);
 */
export async function serveMetadata(answers: MetadataAnswer[]): Promise<MetadataServer> {
  const requests: SeenRequest[] = [];
  const server = createHttpServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const answer = answers[Math.min(requests.length - 1, answers.length - 1)];
    if (!answer || answer.hang) return;
    const reply = (): void => {
      const body = typeof answer.body === 'string' ? answer.body : answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (answer.delayMs) setTimeout(reply, answer.delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    rootURL: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it (connections are refused). */
export async function closedPort(): Promise<number> {
  return freePort();
}
