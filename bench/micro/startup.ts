/**
 * Start-up: what `new APIToolkit()` costs the app's event loop, each run in a fresh process (an empty
 * module cache, as at an app's start): the constructor's synchronous time, the longest event-loop
 * block from it until the first record is published to the collector (client metadata, the first
 * publish and its connection), how long that took, and the process' RSS then; and the same probe app
 * without the SDK (`enabled: false`) as the baseline. The SDK build is the one the apps load
 * (`BENCH_SDK`, see bench/servers/common.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MicroRow } from './fixtures.js';
import { sdkBuild } from '../servers/common.js';

const RUNS = 5;

// A 1 ms interval timer: the longest gap between two of its ticks is the longest block. The probe app
// (node:http) starts and serves a first request before the SDK exists, so that its own first-use
// costs are not counted; then `new APIToolkit()`, the app's handler becomes the SDK's adapter, and
// one request makes the record that gets published.
const CHILD = `
import { createServer, request } from 'node:http';
const { APIToolkit } = await import(process.env.SDK_URL);
const { httpHandler } = await import(process.env.SDK_HTTP_URL);
const get = (port, path) => new Promise((resolve, reject) => request({ port, path }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
let handler = (req, res) => res.end('ok');
const server = createServer((req, res) => handler(req, res)).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await get(server.address().port, '/warm-up');
let last = performance.now(), longest = 0;
const timer = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; }, 1);
await new Promise((resolve) => setTimeout(resolve, 20));
const started = performance.now();
longest = 0;
last = started;
const client = new APIToolkit({ apiKey: 'bench', rootURL: process.env.ROOT_URL, pubsubEndpoint: process.env.PUBSUB_ENDPOINT, ...JSON.parse(process.env.SDK_OPTIONS ?? '{}') });
const constructed = performance.now();
handler = httpHandler(client, (req, res) => res.end('ok'));
await get(server.address().port, '/probe');
const flushed = await client.flush(30_000);
const published = performance.now();
const rssMB = process.memoryUsage().rss / 1048576;
clearInterval(timer);
server.close();
await client.shutdown(5_000);
console.log(JSON.stringify({ flushed, constructorMs: constructed - started, longestBlockMs: Math.max(longest, published - last), publishedMs: published - started, rssMB }));
`;

interface Run {
  flushed: boolean;
  constructorMs: number;
  longestBlockMs: number;
  publishedMs: number;
  rssMB: number;
}

export async function startupBench(options: { rootURL: string; pubsubEndpoint: string }): Promise<MicroRow[]> {
  const src = sdkBuild() === 'src';
  const url = new URL(src ? '../../src/index.ts' : '../../dist/index.js', import.meta.url).href;
  const httpUrl = new URL(src ? '../../src/adapters/http/index.ts' : '../../dist/http/index.js', import.meta.url).href;
  const rows: MicroRow[] = [];
  // With the SDK, and the same probe without it: the difference is the SDK's.
  for (const enabled of [true, false]) {
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const sdkOptions = JSON.stringify({ ...(JSON.parse(process.env.SDK_OPTIONS ?? '{}') as object), enabled });
      const { stdout } = await promisify(execFile)(process.execPath, [...(src ? ['--import', 'tsx'] : []), '--input-type=module', '-e', CHILD], {
        env: { ...process.env, SDK_OPTIONS: sdkOptions, SDK_URL: url, SDK_HTTP_URL: httpUrl, ROOT_URL: options.rootURL, PUBSUB_ENDPOINT: options.pubsubEndpoint },
        timeout: 60_000,
      });
      const run = JSON.parse(stdout.trim().split('\n').pop()!) as Run;
      if (!run.flushed) throw new Error('the start-up probe record was not published');
      runs.push(run);
    }
    const how = `${enabled ? 'with the SDK' : 'probe app without the SDK'}; ${src ? 'sources' : 'built package'}, fresh process`;
    const row = (name: string, value: (run: Run) => number, scale = 1_000): MicroRow => {
      const values = runs.map((r) => value(r) * scale).sort((a, b) => a - b);
      return {
        stage: 'start-up', case: `${name} (${how})`,
        medianUs: values[Math.floor(values.length / 2)]!, meanUs: values.reduce((a, b) => a + b, 0) / values.length,
        p99Us: values[values.length - 1]!, samples: values.length,
      };
    };
    if (enabled) rows.push(row('new APIToolkit(), synchronous', (r) => r.constructorMs));
    rows.push(
      row('longest event-loop block until the first record is published', (r) => r.longestBlockMs),
      row(enabled ? 'first record published after' : 'first request served after', (r) => r.publishedMs),
      // A size in the table's µs columns: kB, and the case says so.
      row('RSS then, in kB (not µs)', (r) => r.rssMB, 1_024),
    );
  }
  return rows;
}
