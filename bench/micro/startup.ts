/**
 * Start-up: what `new APIToolkit()` costs the app's event loop, each run in a fresh process (an empty
 * module cache, as at an app's start): the constructor's synchronous time, the longest event-loop
 * block from it until the first record is published to the collector (client metadata, loading the
 * official Pub/Sub client, its channel), and how long that first publish took. The SDK build is the
 * one the apps load (`BENCH_SDK`, see bench/servers/common.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MicroRow } from './fixtures.js';
import { sdkBuild } from '../servers/common.js';

const RUNS = 5;

// A 1 ms interval timer: the longest gap between two of its ticks is the longest block. One request
// to a node:http app served through the SDK's adapter makes the record that gets published.
const CHILD = `
import { createServer, request } from 'node:http';
const { APIToolkit } = await import(process.env.SDK_URL);
const { httpHandler } = await import(process.env.SDK_HTTP_URL);
let last = performance.now(), longest = 0;
const timer = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; }, 1);
const started = performance.now();
const client = new APIToolkit({ apiKey: 'bench', rootURL: process.env.ROOT_URL, pubsubEndpoint: process.env.PUBSUB_ENDPOINT, ...JSON.parse(process.env.SDK_OPTIONS ?? '{}') });
const constructed = performance.now();
const server = createServer(httpHandler(client, (req, res) => res.end('ok'))).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await new Promise((resolve, reject) => request({ port: server.address().port, path: '/probe' }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
const flushed = await client.flush(30_000);
const published = performance.now();
clearInterval(timer);
server.close();
await client.shutdown(5_000);
console.log(JSON.stringify({ flushed, constructorMs: constructed - started, longestBlockMs: Math.max(longest, published - last), publishedMs: published - started }));
`;

interface Run {
  flushed: boolean;
  constructorMs: number;
  longestBlockMs: number;
  publishedMs: number;
}

export async function startupBench(options: { rootURL: string; pubsubEndpoint: string }): Promise<MicroRow[]> {
  const src = sdkBuild() === 'src';
  const url = new URL(src ? '../../src/index.ts' : '../../dist/index.js', import.meta.url).href;
  const httpUrl = new URL(src ? '../../src/adapters/http/index.ts' : '../../dist/http/index.js', import.meta.url).href;
  const rows: MicroRow[] = [];
  // Both ways of publishing: the default picks by core count ('auto'), and this stage runs pinned.
  for (const publishThread of [true, false]) {
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const sdkOptions = JSON.stringify({ ...(JSON.parse(process.env.SDK_OPTIONS ?? '{}') as object), publishThread });
      const { stdout } = await promisify(execFile)(process.execPath, [...(src ? ['--import', 'tsx'] : []), '--input-type=module', '-e', CHILD], {
        env: { ...process.env, SDK_OPTIONS: sdkOptions, SDK_URL: url, SDK_HTTP_URL: httpUrl, ROOT_URL: options.rootURL, PUBSUB_ENDPOINT: options.pubsubEndpoint },
        timeout: 60_000,
      });
      const run = JSON.parse(stdout.trim().split('\n').pop()!) as Run;
      if (!run.flushed) throw new Error('the start-up probe record was not published');
      runs.push(run);
    }
    const how = publishThread ? 'publishing thread' : "app's thread";
    const row = (name: string, ms: (run: Run) => number): MicroRow => {
      const values = runs.map((r) => ms(r) * 1_000).sort((a, b) => a - b);
      return {
        stage: 'start-up', case: `${name} (${how}; ${src ? 'sources' : 'built package'}, fresh process)`,
        medianUs: values[Math.floor(values.length / 2)]!, meanUs: values.reduce((a, b) => a + b, 0) / values.length,
        p99Us: values[values.length - 1]!, samples: values.length,
      };
    };
    rows.push(
      row('new APIToolkit(), synchronous', (r) => r.constructorMs),
      row('longest event-loop block until the first record is published', (r) => r.longestBlockMs),
      row('first record published after', (r) => r.publishedMs),
    );
  }
  return rows;
}
