/**
 * `npm run bench`: what the SDK costs a web app, measured against the same app without it.
 *
 * Macro: every framework's bare app and the same app with this SDK (Express also with the published
 * apitoolkit-express@2.4.6) under autocannon, apps in turn each round, pinned (app on core 0, load
 * generator and collector on core 1) and, for Express, unpinned too; per app req/s, latency, CPU
 * per request, RSS, the same-round ratio to bare, and records delivered to the collector against
 * requests completed. Micro: the per-record cost of each pipeline stage (tinybench).
 * The report is printed and written to bench/results/LATEST.md (and .json).
 *
 *   npm run bench                       # full run: about 6 minutes on 2 cores with every adapter
 *   npm run bench -- --quick            # or BENCH_QUICK=1: about a minute, a smoke test
 *   npm run bench -- --help             # every option, and its environment variable
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FRAMEWORKS, MAIN_FRAMEWORK, allApps, type AppSpec, type FrameworkSpec } from './apps.js';
import { runGroup, type MacroContext, type MacroSettings } from './macro.js';
import type { MicroRow } from './micro/fixtures.js';
import { STAGES } from './micro/index.js';
import { peerMissing, peerVersion } from './peers/index.js';
import { killAll, pinCores, spawnNode, type NodeChild } from './proc.js';
import { deliveryVerdict, median, renderMarkdown, type BenchSummary, type RunReport, type Skipped } from './report.js';
import { REQUEST_BODY, adapterMissing, responseBody, sdkBuildMissing } from './servers/common.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const DEFAULT_OUT = resolve(BENCH_DIR, 'results/LATEST.md');
const MICRO_TIMEOUT_MS = 10 * 60_000;
/** The app (and micro-benchmark) core and the load-generator (and collector) core, when pinned: the first two allowed. */
let APP_CORE = 0;
let LOAD_CORE = 1;

const HELP = `Usage: npm run bench -- [options]      (each option also reads the environment variable shown)

  --quick                 BENCH_QUICK=1        about a minute: short rounds, a smoke test, not a measurement
  --apps IDS              BENCH_APPS           comma-separated app ids (the bare app of each group is added);
                                               default: every app marked byDefault in bench/apps.ts
  --rounds N              BENCH_ROUNDS         measured rounds of the ${MAIN_FRAMEWORK} group, pinned (default 4, quick 2)
  --adapter-rounds N      BENCH_ADAPTER_ROUNDS rounds of the other framework groups (default 3, quick 2)
  --unpinned-rounds N     BENCH_UNPINNED_ROUNDS rounds of the unpinned ${MAIN_FRAMEWORK} run (bare and this SDK), 0 = none (default 3, quick 2)
  --rate N                BENCH_RATE           requests/s of the fixed-rate (open-loop) ${MAIN_FRAMEWORK} run, pinned: the latency added below
                                               saturation (default 1000)
  --rate-rounds N         BENCH_RATE_ROUNDS    rounds of that run, 0 = none (default 2, quick 1)
  --duration S            BENCH_DURATION       seconds of load per app per round (default 5, quick 1.5)
  --warmup S              BENCH_WARMUP         seconds of warm-up load per app (default 3, quick 1)
  --connections N         BENCH_CONNECTIONS    autocannon connections (default 50)
  --no-pin                BENCH_PIN=0          do not pin with taskset
  --no-micro              BENCH_MICRO=0        skip the micro-benchmarks
  --micro-time MS         BENCH_MICRO_TIME     tinybench time per case (default 300, quick 100)
  --out FILE              BENCH_OUT            markdown report (default bench/results/LATEST.md; JSON beside it)
  --sdk dist|src          BENCH_SDK            the SDK build the apps load: dist, the built package as users run it
                                               (default; \`npm run bench\` builds it first), or src, the sources through tsx

App ids: ${allApps()
  .map((a) => a.id)
  .join(', ')}
`;

interface Options {
  quick: boolean;
  apps: string[] | null;
  rounds: number;
  adapterRounds: number;
  unpinnedRounds: number;
  rate: number;
  rateRounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  pin: boolean;
  micro: boolean;
  microTimeMs: number;
  out: string;
  sdk: 'dist' | 'src';
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      apps: { type: 'string' },
      rounds: { type: 'string' },
      'adapter-rounds': { type: 'string' },
      'unpinned-rounds': { type: 'string' },
      rate: { type: 'string' },
      'rate-rounds': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'no-pin': { type: 'boolean' },
      'no-micro': { type: 'boolean' },
      'micro-time': { type: 'string' },
      out: { type: 'string' },
      sdk: { type: 'string' },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const env = process.env;
  const quick = values.quick === true || env.BENCH_QUICK === '1';
  const num = (flag: string | undefined, name: string, full: number, short: number, min: number): number => {
    const raw = flag ?? env[name];
    if (raw === undefined || raw === '') return quick ? short : full;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name}: expected a number >= ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const appsRaw = values.apps ?? env.BENCH_APPS;
  const sdk = values.sdk ?? env.BENCH_SDK ?? 'dist';
  if (sdk !== 'dist' && sdk !== 'src') throw new Error(`BENCH_SDK: expected dist or src, got ${JSON.stringify(sdk)}`);
  return {
    quick,
    apps:
      appsRaw === undefined || appsRaw === ''
        ? null
        : appsRaw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    rounds: Math.round(num(values.rounds, 'BENCH_ROUNDS', 4, 2, 1)),
    adapterRounds: Math.round(num(values['adapter-rounds'], 'BENCH_ADAPTER_ROUNDS', 3, 2, 1)),
    unpinnedRounds: Math.round(num(values['unpinned-rounds'], 'BENCH_UNPINNED_ROUNDS', 3, 2, 0)),
    rate: num(values.rate, 'BENCH_RATE', 1000, 1000, 1),
    rateRounds: Math.round(num(values['rate-rounds'], 'BENCH_RATE_ROUNDS', 2, 1, 0)),
    durationS: num(values.duration, 'BENCH_DURATION', 5, 1.5, 0.5),
    warmupS: num(values.warmup, 'BENCH_WARMUP', 3, 1, 0.5),
    connections: Math.round(num(values.connections, 'BENCH_CONNECTIONS', 50, 50, 1)),
    pin: values['no-pin'] !== true && env.BENCH_PIN !== '0',
    micro: values['no-micro'] !== true && env.BENCH_MICRO !== '0',
    microTimeMs: num(values['micro-time'], 'BENCH_MICRO_TIME', 300, 100, 10),
    out: resolve(values.out ?? env.BENCH_OUT ?? DEFAULT_OUT),
    sdk,
  };
}

/** The apps to run, by framework, and the frameworks that cannot run (with why). */
async function plan(options: Options, notes: string[]): Promise<{ groups: [FrameworkSpec, AppSpec[]][]; skipped: Skipped[] }> {
  const every = allApps();
  let chosen: AppSpec[];
  if (options.apps === null) {
    chosen = every.filter((a) => a.byDefault);
  } else {
    const unknown = options.apps.filter((id) => !every.some((a) => a.id === id));
    if (unknown.length > 0) throw new Error(`unknown app id(s) ${unknown.join(', ')}; known: ${every.map((a) => a.id).join(', ')}`);
    chosen = every.filter((a) => options.apps!.includes(a.id));
    for (const app of chosen) {
      const bareId = `bare-${app.framework.name}`;
      if (app.sdk !== 'none' && !chosen.some((a) => a.id === bareId)) {
        chosen.push(every.find((a) => a.id === bareId)!);
        notes.push(`${bareId} added: ${app.id} is compared with it.`);
      }
    }
  }
  const groups: [FrameworkSpec, AppSpec[]][] = [];
  const skipped: Skipped[] = [];
  for (const framework of FRAMEWORKS) {
    const apps = every.filter((a) => a.framework === framework && chosen.includes(a));
    if (apps.length === 0) continue;
    const server = resolve(BENCH_DIR, `servers/${framework.name}.ts`);
    let reason: string | null = existsSync(server) ? null : `bench/servers/${framework.name}.ts does not exist`;
    if (reason === null && apps.some((a) => a.sdk === 'this' || a.sdk === 'noop'))
      reason = await adapterMissing(framework.name, framework.adapterExport);
    if (reason !== null) {
      skipped.push({ framework: framework.name, label: framework.label, reason });
      continue;
    }
    // A peer SDK not installed (bench/peers/node_modules, never in CI) is a row saying so.
    const runnable = apps.filter((app) => {
      const missing = app.peer === undefined ? null : peerMissing(app.peer);
      if (missing !== null) skipped.push({ framework: framework.name, label: app.label, reason: missing });
      return missing === null;
    });
    groups.push([framework, runnable]);
  }
  // A server nobody lists would never run: say so rather than ignore it.
  for (const file of readdirSync(resolve(BENCH_DIR, 'servers'))) {
    const name = file.replace(/\.ts$/, '');
    if (file.endsWith('.ts') && name !== 'common' && !FRAMEWORKS.some((f) => f.name === name)) {
      notes.push(`bench/servers/${file} is not listed in bench/apps.ts FRAMEWORKS, so it was not run.`);
    }
  }
  return { groups, skipped };
}

function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['express', 'autocannon', 'tinybench', 'apitoolkit-express']) {
    try {
      // Read directly: some packages' `exports` do not expose their package.json.
      out[name] = (
        JSON.parse(readFileSync(resolve(BENCH_DIR, '../node_modules', name, 'package.json'), 'utf8')) as { version: string }
      ).version;
    } catch {
      out[name] = '?';
    }
  }
  for (const name of ['apitally', 'moesif-nodejs', '@opentelemetry/sdk-trace-node', '@opentelemetry/instrumentation-express']) {
    const version = peerVersion(name);
    if (version !== null) out[name] = version;
  }
  return out;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One macro run: a collector and a load generator of its own, then each group in turn. */
async function macroRun(
  kind: RunReport['kind'],
  groups: [FrameworkSpec, AppSpec[]][],
  options: Options,
  roundsOf: (f: FrameworkSpec) => number,
  micro?: (collector: NodeChild) => Promise<void>,
  rate?: number,
): Promise<RunReport> {
  const pinned = kind !== 'unpinned';
  log(
    `\n== ${kind} run${rate === undefined ? '' : ` at ${rate} req/s`}${pinned ? ` (apps on core ${APP_CORE}; autocannon and collector on core ${LOAD_CORE})` : ''}`,
  );
  const collector = await spawnNode('collector', 'collector.ts', [], { core: pinned ? LOAD_CORE : undefined });
  const loader = await spawnNode('autocannon', 'load.ts', [], { core: pinned ? LOAD_CORE : undefined });
  const report: RunReport = { kind, groups: [], ...(rate === undefined ? {} : { rate }) };
  try {
    const ctx: MacroContext = { collector, loader, appCore: pinned ? APP_CORE : undefined, log };
    for (const [framework, apps] of groups) {
      const settings: MacroSettings = {
        rounds: roundsOf(framework),
        durationS: options.durationS,
        warmupS: options.warmupS,
        connections: options.connections,
        rate,
      };
      log(`-- ${framework.label}: ${apps.map((a) => a.id).join(', ')} (${settings.rounds} rounds of ${settings.durationS} s)`);
      const started = performance.now();
      report.groups.push(await runGroup(framework, apps, ctx, settings));
      log(`   took ${Math.round((performance.now() - started) / 1000)} s`);
    }
    await micro?.(collector);
  } finally {
    await Promise.all([collector.stop(), loader.stop()]);
  }
  return report;
}

async function runMicroChild(options: Options, collector: NodeChild, pinned: boolean): Promise<MicroRow[]> {
  log(`\n== micro-benchmarks (tinybench, ${options.microTimeMs} ms per case${pinned ? `, pinned to core ${APP_CORE}` : ''})`);
  const child = await spawnNode('micro', 'micro/index.ts', [], { core: pinned ? APP_CORE : undefined });
  try {
    const { rootURL, pubsubEndpoint } = collector.ready as { rootURL: string; pubsubEndpoint: string };
    const started = performance.now();
    const { rows } = await child.call<{ rows: MicroRow[] }>(
      'run',
      { timeMs: options.microTimeMs, stages: STAGES, rootURL, pubsubEndpoint },
      MICRO_TIMEOUT_MS,
    );
    log(`   took ${Math.round((performance.now() - started) / 1000)} s`);
    return rows;
  } finally {
    await child.stop();
  }
}

/** What deserves a sentence under the tables: failures, drops, load errors, attribution checks. */
function collectNotes(runs: RunReport[], notes: string[]): void {
  for (const run of runs) {
    for (const group of run.groups) {
      if (group.error !== undefined) notes.push(`${run.kind} ${group.framework.label}: ${group.error.split('\n')[0]}`);
      for (const app of group.apps) {
        const where = `${run.kind}, ${app.app.id}`;
        // A round far from the app's own median: something else had the CPU (the median ignores it; the range shows it).
        const typical = median(app.samples.map((x) => x.rps));
        for (const x of app.samples) {
          if (x.rps < typical * 0.6 || x.rps > typical / 0.6) {
            notes.push(
              `${where}: round ${x.round} ran at ${Math.round(x.rps)} req/s against a median of ${Math.round(typical)}: the machine was disturbed, so that round's ratios are off.`,
            );
          }
        }
        if (app.error !== undefined) notes.push(`${where}: ${app.error.split('\n')[0]}`);
        const loadErrors = app.samples.reduce((a, s) => a + s.errors + s.non2xx + s.timeouts, 0);
        if (loadErrors > 0) notes.push(`${where}: ${loadErrors} failed requests (errors, non-2xx or timeouts) in the measured rounds.`);
        const d = app.delivery;
        if (d !== null) {
          if (!d.allFlushed) notes.push(`${where}: a flush after a turn did not report everything delivered.`);
          if (d.check !== null && d.check.valid < d.check.kept)
            notes.push(
              `${where}: ${d.check.kept - d.check.valid} of the collector's last ${d.check.kept} messages were not valid records.`,
            );
          if (d.check !== null && d.check.ownRecords === 0)
            notes.push(`${where}: none of the collector's last ${d.check.kept} records carried service_version ${app.app.id}.`);
        }
        const stats = app.sdkStats as { dropped?: Record<string, number>; failed?: number; firstError?: string } | null;
        if (stats?.dropped !== undefined) {
          const dropped = Object.entries(stats.dropped).filter(([, n]) => n > 0);
          if (dropped.length > 0) notes.push(`${where}: the SDK dropped records: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}.`);
        }
        if (app.app.sdk === 'legacy' && stats !== null && (stats.failed ?? 0) > 0) {
          notes.push(`${where}: ${stats.failed} publishes failed (first: ${stats.firstError}).`);
        }
      }
    }
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  const options = parseOptions();
  // Read by bench/servers/common.ts, here and in every app process (they inherit the environment).
  process.env.BENCH_SDK = options.sdk;
  const missing = sdkBuildMissing();
  if (missing !== null) throw new Error(missing);
  const notes: string[] = [];
  const { groups, skipped } = await plan(options, notes);
  for (const s of skipped) log(`SKIPPED ${s.label}: ${s.reason}`);
  const cores = pinCores();
  if (cores !== null) [APP_CORE, LOAD_CORE] = cores;
  const pin = options.pin && cores !== null;
  const pinning = pin
    ? `taskset: apps on core ${APP_CORE}, autocannon (child process) and the collector on core ${LOAD_CORE}; micro-benchmarks on core ${APP_CORE}` +
      (options.unpinnedRounds > 0 ? `; the ${MAIN_FRAMEWORK} group again unpinned` : '')
    : `none (${!options.pin ? 'disabled' : process.platform !== 'linux' ? 'not Linux' : availableParallelism() < 2 ? 'one core' : 'taskset not found or fewer than two cores allowed'}): all processes share the cores`;
  if (!pin) notes.push(`Not pinned: ${pinning}.`);
  const roundsOf = (f: FrameworkSpec) => (f.name === MAIN_FRAMEWORK ? options.rounds : options.adapterRounds);
  let micro: MicroRow[] | null = null;
  const runMicro = options.micro
    ? async (collector: NodeChild) => {
        micro = await runMicroChild(options, collector, pin);
      }
    : undefined;
  const runs: RunReport[] = [];
  runs.push(await macroRun(pin ? 'pinned' : 'unpinned', groups, options, roundsOf, runMicro));
  const main = groups.filter(([f]) => f.name === MAIN_FRAMEWORK);
  if (pin && options.unpinnedRounds > 0 && main.length > 0) {
    // Bare and this SDK only: the peers are compared pinned and at the fixed rate (the bench stays
    // under 10 minutes).
    const ours = main.map(([f, apps]): [FrameworkSpec, AppSpec[]] => [f, apps.filter((a) => a.sdk === 'none' || a.sdk === 'this')]);
    runs.push(await macroRun('unpinned', ours, options, () => options.unpinnedRounds));
  }
  if (pin && options.rateRounds > 0 && main.length > 0) {
    // The latency each SDK adds when the app is not saturated.
    const latency = main.map(([f, apps]): [FrameworkSpec, AppSpec[]] => [f, apps.filter((a) => a.sdk !== 'noop')]);
    runs.push(await macroRun('fixed-rate', latency, options, () => options.rateRounds, undefined, options.rate));
  }
  collectNotes(runs, notes);
  const summary: BenchSummary = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: availableParallelism(),
    platform: `${process.platform} ${release()}`,
    settings: {
      connections: options.connections,
      warmupS: options.warmupS,
      durationS: options.durationS,
      rounds: options.rounds,
      adapterRounds: options.adapterRounds,
      unpinnedRounds: pin ? options.unpinnedRounds : 0,
      pinning,
      rate: pin && options.rateRounds > 0 ? options.rate : null,
      rateRounds: pin ? options.rateRounds : 0,
      microTimeMs: options.micro ? options.microTimeMs : null,
      quick: options.quick,
      sdk: options.sdk,
      apps: groups.flatMap(([, apps]) => apps.map((a) => a.id)),
      requestBytes: Buffer.byteLength(REQUEST_BODY),
      responseBytes: Buffer.byteLength(JSON.stringify(responseBody('42', 'Ada'))),
      versions: versions(),
    },
    runs,
    skipped,
    micro,
    notes,
    elapsedS: (performance.now() - started) / 1000,
  };
  const markdown = renderMarkdown(summary);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, markdown);
  writeFileSync(`${options.out.replace(/\.md$/, '')}.json`, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n${markdown}\nWritten to ${options.out}\n`);
  // This SDK losing records is a failure of the run, however fast it looked.
  const lost = runs
    .flatMap((r) => r.groups)
    .flatMap((g) => g.apps)
    .filter((a) => a.app.sdk === 'this' && deliveryVerdict(a)?.ok === false);
  if (lost.length > 0) {
    log(`\nbench: records missing at the collector for ${lost.map((a) => a.app.id).join(', ')}`);
    return 2;
  }
  return 0;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (error: unknown) => {
    log(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    killAll();
    process.exit(1);
  },
);
