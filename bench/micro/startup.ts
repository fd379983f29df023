/**
 * Start-up: what `new APIToolkit()` costs the app's event loop as a user sees it, each run in a fresh
 * process (an empty module cache, as at an app's start) with a probe loaded before anything else
 * (`node --import bench/micro/startup-probe.mjs`: a 1 ms timer from the process' start). The
 * longest event-loop block from then until the first record is published to the collector: the
 * SDK's modules loading, the constructor, the first request through the adapter, client metadata
 * and the first publish; also the constructor's synchronous time, how long the record took, and
 * the process' RSS then. The baseline is the same probe app without the SDK (never imported). The
 * SDK build is the one the apps load (`BENCH_SDK`, see bench/servers/common.ts).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { MicroRow } from './fixtures.js';
import { sdkBuild } from '../servers/common.js';

const RUNS = 5;
const PROBE = fileURLToPath(new URL('./startup-probe.mjs', import.meta.url));

// The probe app (node:http) starts and serves a first request; with the SDK (WITH_SDK=1) it then
// imports the SDK, makes the client, its handler becomes the SDK's adapter, and one request makes
// the record that gets published. Without, the same app serves one more request.
const CHILD = `
import { createServer, request } from 'node:http';
const get = (port, path) => new Promise((resolve, reject) => request({ port, path }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
let handler = (req, res) => res.end('ok');
const server = createServer((req, res) => handler(req, res)).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await get(server.address().port, '/warm-up');
// The app's own start (node's, its modules', its first request) ends here.
const appStartBlockMs = globalThis.__startupProbe.mark();
const started = performance.now();
let constructorMs = 0;
let flushed = true;
let client;
if (process.env.WITH_SDK === '1') {
  const { APIToolkit } = await import(process.env.SDK_URL);
  const { httpHandler } = await import(process.env.SDK_HTTP_URL);
  const before = performance.now();
  client = new APIToolkit({ apiKey: 'bench', rootURL: process.env.ROOT_URL, pubsubEndpoint: process.env.PUBSUB_ENDPOINT, ...JSON.parse(process.env.SDK_OPTIONS ?? '{}') });
  constructorMs = performance.now() - before;
  handler = httpHandler(client, (req, res) => res.end('ok'));
}
await get(server.address().port, '/probe');
if (client !== undefined) flushed = await client.flush(30_000);
const published = performance.now();
const sdkBlockMs = globalThis.__startupProbe.longest();
const longestBlockMs = Math.max(appStartBlockMs, sdkBlockMs);
globalThis.__startupProbe.stop();
const rssMB = process.memoryUsage().rss / 1048576;
server.close();
if (client !== undefined) await client.shutdown(5_000);
console.log(JSON.stringify({ flushed, constructorMs, longestBlockMs, sdkBlockMs, publishedMs: published - started, rssMB }));
`;

interface Run {
  flushed: boolean;
  constructorMs: number;
  longestBlockMs: number;
  /** Longest block once the app was serving: the SDK's import, constructor and first record. */
  sdkBlockMs: number;
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
      // The probe first, before tsx's loader too: its 1 ms timer sees every block from the start.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', PROBE, ...(src ? ['--import', 'tsx'] : []), '--input-type=module', '-e', CHILD],
        {
          env: {
            ...process.env,
            WITH_SDK: enabled ? '1' : '0',
            SDK_URL: url,
            SDK_HTTP_URL: httpUrl,
            ROOT_URL: options.rootURL,
            PUBSUB_ENDPOINT: options.pubsubEndpoint,
          },
          timeout: 60_000,
        },
      );
      const run = JSON.parse(stdout.trim().split('\n').pop()!) as Run;
      if (!run.flushed) throw new Error('the start-up probe record was not published');
      runs.push(run);
    }
    const how = `${enabled ? 'with the SDK' : 'probe app without the SDK'}; ${src ? 'sources' : 'built package'}, fresh process, probe preloaded`;
    const row = (name: string, value: (run: Run) => number, scale = 1_000): MicroRow => {
      const values = runs.map((r) => value(r) * scale).sort((a, b) => a - b);
      return {
        stage: 'start-up',
        case: `${name} (${how})`,
        medianUs: values[Math.floor(values.length / 2)]!,
        meanUs: values.reduce((a, b) => a + b, 0) / values.length,
        p99Us: values[values.length - 1]!,
        samples: values.length,
      };
    };
    if (enabled) rows.push(row('new APIToolkit(), synchronous', (r) => r.constructorMs));
    rows.push(
      row('longest event-loop block from process start', (r) => r.longestBlockMs),
      row(
        enabled
          ? 'longest event-loop block once the app serves: import, new APIToolkit(), first record published'
          : 'longest event-loop block once the app serves, until a second request is served',
        (r) => r.sdkBlockMs,
      ),
      row(enabled ? 'first record published after' : 'probe request served after', (r) => r.publishedMs),
      // A size in the table's µs columns: kB, and the case says so.
      row('RSS then, in kB (not µs)', (r) => r.rssMB, 1_024),
    );
  }
  return rows;
}
