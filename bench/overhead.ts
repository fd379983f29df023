/**
 * First overhead figures: bare Express vs Express + this SDK, alternating rounds so drift cancels,
 * POST /users/42 with a 1 KB JSON body and a 1 KB JSON response, autocannon -c 50. The app is
 * pinned to core 0 and the load generator to core 1 when taskset exists.
 *
 *   npm run bench:overhead        # ROUNDS=3 SECONDS=5 by default
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 5);
const pin = (core: number, args: string[]) => (process.platform === 'linux' ? ['taskset', ['-c', String(core), ...args]] as const : [args[0]!, args.slice(1)] as const);

async function collectorAddresses(child: ChildProcess): Promise<{ rootURL: string; endpoint: string }> {
  let rootURL = '';
  let endpoint = '';
  for await (const line of createInterface({ input: child.stdout! })) {
    rootURL ||= /rootURL:\s+'(http:\/\/127\.0\.0\.1:\d+)'/.exec(line)?.[1] ?? '';
    endpoint ||= /PUBSUB_EMULATOR_HOST=(127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
    if (rootURL && endpoint) return { rootURL, endpoint };
  }
  throw new Error('the collector ended before printing its addresses');
}

async function startApp(mode: string, env: NodeJS.ProcessEnv): Promise<{ url: string; stop(): Promise<string> }> {
  const [cmd, args] = pin(0, [process.execPath, '--import', 'tsx', 'bench/servers/express.ts', mode]);
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const iterator = lines[Symbol.asyncIterator]();
  let port = '';
  while (!port) {
    const { value, done } = await iterator.next();
    if (done) throw new Error(`${mode} app exited`);
    port = /^listening (\d+)/.exec(value)?.[1] ?? '';
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      let stats = '';
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) break;
        if (value.startsWith('stats ')) stats = value.slice(6);
        if (value.startsWith('cpu ')) console.log(`${mode}: ${value}`);
      }
      return stats;
    },
  };
}

const body = JSON.stringify({ name: 'Ada', password: 'hunter2', card: { number: '4111', cvv: '123' }, bio: 'b'.repeat(900) });

async function load(url: string, seconds: number) {
  const result = await autocannon({ url: `${url}/users/42`, method: 'POST', connections: 50, duration: seconds, headers: { 'content-type': 'application/json' }, body });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, errors: result.errors + result.non2xx };
}

// With two cores the collector has to share one: COLLECTOR_CORE=0|1 pins it, unset leaves it to the OS.
const collectorArgs = [process.execPath, '--import', 'tsx', 'src/cli.ts', 'collector', '--http-port', '0', '--grpc-port', '0', '--no-print', '--no-jsonl'];
const [ccmd, cargs] = process.env.COLLECTOR_CORE === undefined ? [collectorArgs[0]!, collectorArgs.slice(1)] as const : pin(Number(process.env.COLLECTOR_CORE), collectorArgs);
const collector = spawn(ccmd, cargs, { stdio: ['ignore', 'pipe', 'inherit'] });
const { rootURL, endpoint } = await collectorAddresses(collector);

const bare = await startApp('bare', {});
const sdk = await startApp(process.env.SDK_MODE ?? 'sdk', { COLLECTOR_ROOT_URL: rootURL, COLLECTOR_ENDPOINT: endpoint });
await load(bare.url, 2); // warm-up
await load(sdk.url, 2);
const ratios: number[] = [];
const rows: string[] = [];
let sdkRequests = 0;
for (let round = 1; round <= ROUNDS; round++) {
  const a = await load(bare.url, SECONDS);
  const b = await load(sdk.url, SECONDS);
  sdkRequests += b.total;
  ratios.push(b.rps / a.rps);
  rows.push(`| ${round} | ${Math.round(a.rps)} | ${Math.round(b.rps)} | ${(b.rps / a.rps).toFixed(2)} | ${a.p50}/${a.p99} | ${b.p50}/${b.p99} | ${a.errors + b.errors} |`);
}
await bare.stop();
const stats = JSON.parse((await sdk.stop()) || '{}') as { captured?: number; published?: number };
collector.kill('SIGTERM');
ratios.sort((x, y) => x - y);
console.log(`
Node ${process.version}, autocannon -c 50, ${SECONDS} s rounds, app on core 0, load on core 1 (taskset)

| round | bare req/s | sdk req/s | ratio | bare p50/p99 ms | sdk p50/p99 ms | errors |
|---|---|---|---|---|---|---|
${rows.join('\n')}

median ratio ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)} (range ${ratios[0]!.toFixed(2)}-${ratios[ratios.length - 1]!.toFixed(2)}); SDK records captured ${stats.captured}, published ${stats.published} (warm-up and measured requests: ${sdkRequests}+)
`);
process.exit(0);
