/**
 * Cost of outgoing capture per call: N sequential calls (POST, 1 KB JSON body, 1 KB JSON answer) to
 * an upstream in a child process on loopback, with capture off and on, alternating rounds so that
 * drift cancels. CPU is this process's `process.cpuUsage()` delta (user + system), so the upstream's
 * work is not counted. "on" records every call through the whole pipeline (template, redaction with
 * one response rule, encoding, queue) into a no-op transport; "off" is the same client without
 * `captureOutgoing`, which subscribes to nothing. Both run with async context tracking on, as in
 * any app the SDK serves requests for (incoming capture uses AsyncLocalStorage): that cost is the
 * incoming side's, not the outgoing one's.
 *
 *   node --import tsx bench/outgoing.ts            # CALLS=2000 ROUNDS=4 CLIENTS=fetch,http,axios
 *   BODIES=0 node --import tsx bench/outgoing.ts   # the same with body capture off
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { fork } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import { APIToolkit, type Transport } from '../src/index.js';

const CALLS = Number(process.env.CALLS ?? 2_000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const CLIENTS = (process.env.CLIENTS ?? 'fetch,http,axios').split(',') as Client[];
const BODIES = process.env.BODIES !== '0';
type Client = 'fetch' | 'http' | 'axios';

const BODY = JSON.stringify({ name: 'Ada', password: 'hunter2', bio: 'b'.repeat(950) });
const ANSWER = JSON.stringify({ id: 42, token: 'upstream-token', bio: 'a'.repeat(960) });

function serveUpstream(): void {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) });
      res.end(ANSWER);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
  process.on('disconnect', () => process.exit(0));
}

const noop: Transport = {
  start: async () => ({ projectId: '00000000-0000-4000-8000-000000000000' }),
  send: async () => ({ ok: true }),
  shutdown: async () => {},
};

const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });

function viaHttp(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) } },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

const instance = axios.create({ httpAgent: agent });

async function once(client: Client, url: string): Promise<void> {
  if (client === 'fetch') {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    await res.arrayBuffer();
  } else if (client === 'http') {
    await viaHttp(url);
  } else {
    await instance.post(url, BODY, { headers: { 'content-type': 'application/json' } });
  }
}

async function round(client: Client, url: string, capture: boolean): Promise<{ cpuUs: number; wallMs: number; captured: number }> {
  const apitoolkit = new APIToolkit({
    transport: noop,
    captureRequestBody: BODIES,
    captureResponseBody: BODIES,
    ...(capture ? { captureOutgoing: { [client]: client === 'axios' ? instance : true }, redactOutgoingResponseBody: ['$.token'] } : {}),
  });
  await apitoolkit.ready();
  for (let i = 0; i < 50; i += 1) await once(client, `${url}/users/${i}`); // warm-up, not measured
  const before = apitoolkit.stats().captured;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) await once(client, `${url}/users/${i}`);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  const captured = apitoolkit.stats().captured - before;
  await apitoolkit.shutdown(5_000);
  return { cpuUs: used.user + used.system, wallMs, captured };
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['upstream'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));
  const url = `http://127.0.0.1:${port}`;
  console.log(
    `node ${process.version}, undici ${process.versions.undici}; ${CALLS} sequential calls per round, ${ROUNDS} rounds, POST 1 KB JSON -> 1 KB JSON, body capture ${BODIES ? 'on' : 'off'}`,
  );
  console.log('client | off: CPU us/call | on: CPU us/call | capture cost us/call | off/on wall ms per round');
  for (const client of CLIENTS) {
    const off: number[] = [];
    const on: number[] = [];
    const wall: string[] = [];
    // One unmeasured pair first: JIT and connection warm-up would otherwise land in round 1.
    await round(client, url, false);
    await round(client, url, true);
    for (let r = 0; r < ROUNDS; r += 1) {
      // Alternate which goes first so that warm-up and drift do not favour one side.
      const order = r % 2 === 0 ? [false, true] : [true, false];
      const results: Record<string, { cpuUs: number; wallMs: number; captured: number }> = {};
      for (const capture of order) results[String(capture)] = await round(client, url, capture);
      const a = results.false!;
      const b = results.true!;
      if (b.captured !== CALLS) throw new Error(`${client}: expected ${CALLS} records with capture on, got ${b.captured}`);
      if (a.captured !== 0) throw new Error(`${client}: capture off recorded ${a.captured}`);
      off.push(a.cpuUs / CALLS);
      on.push(b.cpuUs / CALLS);
      wall.push(`${a.wallMs.toFixed(0)}/${b.wallMs.toFixed(0)}`);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const deltas = on.map((v, i) => v - off[i]!);
    console.log(
      `${client.padEnd(6)} | ${off.map((v) => v.toFixed(0)).join(', ')} | ${on.map((v) => v.toFixed(0)).join(', ')} | ` +
        `${deltas.map((v) => v.toFixed(0)).join(', ')} (median ${median(deltas).toFixed(0)}) | ${wall.join(', ')}`,
    );
  }
  child.kill();
  agent.destroy();
}

if (process.argv[2] === 'upstream') serveUpstream();
else await new AsyncLocalStorage<number>().run(1, main);
