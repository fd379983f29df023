/**
 * In-situ cost of the SDK: what one framework's app spends per request on its own core, bare and in
 * variants that add the SDK one mechanism at a time, under the same load as `npm run bench`
 * (autocannon `-c 50`, `POST /users/42`, 1 KB JSON in and out; app pinned to the first core,
 * autocannon and the collector to the second). Variants alternate within each round (order
 * rotating), and each figure is a difference to bare taken within the round, so drift of a shared
 * machine cancels.
 *
 * Per variant: app CPU µs per request (/proc, the flush after each turn included), garbage collection
 * on the main thread per request by kind (v8.GCProfiler in the app), bytes promoted by scavenges per
 * request, RSS peak, the V8 heap's and array buffers' peaks, and records at the collector / requests
 * completed. `--rate N` loads every variant at the same fixed rate (open loop) instead of as fast as
 * it answers: at saturation a slower app also changes the load generator's wake-ups and so the
 * kernel time of the app's own writes. `--profile DIR` then takes a
 * CPU profile (and `--alloc DIR` an allocation profile; `--survivors DIR` one of only what outlived
 * the young generation) of one more turn of each variant
 * (`bench/insitu-profile.ts` reads them).
 *
 *   node --import tsx bench/insitu.ts --framework http --variants bare,meta,bodies,noop,full
 *   node --import tsx bench/insitu.ts --framework express --variants bare,full,'ab=sdk;BENCH_SDK_DIST=bench/.variants/ab'
 *
 * A variant is a name from VARIANTS or `name=mode;VAR=value;...`: the server's mode and the
 * environment of its process (BENCH_SDK_DIST=dir loads another build of the package: an A/B build
 * with one mechanism taken out; SDK_OPTIONS=json adds client options; BENCH_NOOP=1 delivers nowhere;
 * BENCH_NODE_ARGS='--min-semi-space-size=16' starts V8's young generation at its maximum, so that its
 * allocation-site pretenuring decides at once: the promotion mode is then certain, not a lottery).
 * BENCH_STDOUT_DIR=dir in insitu's own environment keeps each child's stdout there (what V8's
 * `--trace-*` flags in BENCH_V8_FLAGS print).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadResult } from './load.js';
import type { GcWindow, MemoryPeak } from './probe.js';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { CLOCK_TICKS, killAll, pinCores, procSample, spawnNode, type NodeChild } from './proc.js';
import { median } from './report.js';
import { REQUEST_BODY, REQUEST_PATH } from './servers/common.js';

const NO_RULES = '"redactRequestBody":[],"redactResponseBody":[]';

/** The ladder: each variant adds one part of the SDK to the one before. */
export const VARIANTS: Record<string, { mode: string; env: Record<string, string>; what: string }> = {
  bare: { mode: 'bare', env: {}, what: 'the app alone' },
  meta: {
    mode: 'sdk',
    env: { BENCH_NOOP: '1', SDK_OPTIONS: `{"captureRequestBody":false,"captureResponseBody":false,${NO_RULES}}` },
    what: 'observed, no bodies, no rules, a transport that sends nothing',
  },
  bodies: { mode: 'sdk', env: { BENCH_NOOP: '1', SDK_OPTIONS: `{${NO_RULES}}` }, what: '+ both bodies captured (no rules)' },
  noop: { mode: 'sdk', env: { BENCH_NOOP: '1' }, what: '+ the 5 body rules (and the default header rules)' },
  full: { mode: 'sdk', env: {}, what: '+ delivery over REST to the collector (as `npm run bench`)' },
};

interface Variant {
  name: string;
  mode: string;
  env: Record<string, string>;
}

function parseVariant(spec: string): Variant {
  const known = VARIANTS[spec];
  if (known !== undefined) return { name: spec, mode: known.mode, env: known.env };
  const [head, ...assignments] = spec.split(';');
  const eq = head!.indexOf('=');
  if (eq <= 0) throw new Error(`variant ${JSON.stringify(spec)}: a name of ${Object.keys(VARIANTS).join(', ')}, or name=mode;VAR=value...`);
  const env: Record<string, string> = {};
  for (const a of assignments) {
    const i = a.indexOf('=');
    if (i <= 0) throw new Error(`variant ${JSON.stringify(spec)}: ${JSON.stringify(a)} is not VAR=value`);
    env[a.slice(0, i)] = a.slice(i + 1);
  }
  return { name: head!.slice(0, eq), mode: head!.slice(eq + 1), env };
}

/** Kernel-side counters of a process: system ticks, minor faults, syscalls, context switches. */
interface Kernel {
  sysTicks: number;
  minorFaults: number;
  syscalls: number;
  switches: number;
}

function kernel(pid: number): Kernel {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let syscalls = Number.NaN;
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    syscalls = Number(/^syscr: (\d+)/m.exec(io)?.[1]) + Number(/^syscw: (\d+)/m.exec(io)?.[1]);
  } catch {
    // not readable here
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const switches =
    Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
  // After the command: state(0) ppid pgrp session tty tpgid flags minflt(7) cminflt majflt cmajflt utime(11) stime(12)
  return { sysTicks: Number(f[12]), minorFaults: Number(f[7]), syscalls, switches };
}

function kernelDiff(a: Kernel, b: Kernel): Kernel {
  return {
    sysTicks: b.sysTicks - a.sysTicks,
    minorFaults: b.minorFaults - a.minorFaults,
    syscalls: b.syscalls - a.syscalls,
    switches: b.switches - a.switches,
  };
}

interface Turn {
  round: number;
  cpuUs: number;
  kernel: Kernel;
  completed: number;
  rps: number;
  p99: number;
  gc: GcWindow | null;
  rssPeak: number;
  /** Peaks of the V8 heap, its young generation and array buffers in the app (sampled every 100 ms). */
  memory: MemoryPeak;
  delivered: number | null;
}

/** The environment of a variant's app: where the collector is, its id, and the variant's own variables. */
function appEnv(v: Variant, collector: NodeChild): Record<string, string | undefined> {
  const { rootURL, pubsubEndpoint, legacyEndpoint } = collector.ready as Record<string, string>;
  return {
    COLLECTOR_ROOT_URL: rootURL,
    COLLECTOR_ENDPOINT: pubsubEndpoint,
    COLLECTOR_LEGACY_ENDPOINT: legacyEndpoint,
    BENCH_APP_ID: v.name,
    ...v.env,
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      framework: { type: 'string', default: 'http' },
      variants: { type: 'string', default: 'bare,meta,bodies,noop,full' },
      rounds: { type: 'string', default: '6' },
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
      // A fixed rate (req/s, open loop) for every variant instead of as fast as the app goes.
      rate: { type: 'string' },
      profile: { type: 'string' },
      alloc: { type: 'string' },
      survivors: { type: 'string' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean' },
      callgrind: { type: 'string' },
      'callgrind-warmup': { type: 'string', default: '6000' },
      'callgrind-dir': { type: 'string', default: '/tmp/insitu-callgrind' },
    },
  });
  const variants = splitVariants(values.variants!).map(parseVariant);
  const framework = values.framework!;
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  const cores = values['no-pin'] === true ? null : pinCores();
  const [appCore, loadCore] = cores ?? [undefined, undefined];
  process.env.BENCH_SDK ??= 'dist';

  const collector = await spawnNode('collector', 'collector.ts', [], { core: loadCore });
  const loader = await spawnNode('autocannon', 'load.ts', [], { core: loadCore });
  if (values.callgrind !== undefined) {
    try {
      const table = await callgrind(framework, variants, {
        collector,
        loader,
        appCore,
        connections,
        rounds,
        measured: Number(values.callgrind),
        warmup: Number(values['callgrind-warmup']),
        dir: values['callgrind-dir']!,
      });
      process.stdout.write(`${table}\n`);
      if (values.out !== undefined) writeFileSync(values.out, `${table}\n`);
    } finally {
      await Promise.all([collector.stop(), loader.stop()]);
    }
    return;
  }
  const apps: { v: Variant; child: NodeChild; turns: Turn[] }[] = [];
  try {
    for (const v of variants) {
      const child = await spawnNode(v.name, `servers/${framework}.ts`, [v.mode], {
        core: appCore,
        env: appEnv(v, collector),
      });
      apps.push({ v, child, turns: [] });
    }
    const turn = async (
      app: (typeof apps)[number],
      seconds: number,
      round: number,
      probe?: { kind: 'cpu' | 'alloc' | 'survivors'; file: string },
    ): Promise<void> => {
      const before = (await collector.call<{ messages: number }>('count')).messages;
      const cpu0 = procSample(app.child.pid)!;
      const k0 = kernel(app.child.pid);
      let rssPeak = cpu0.rssBytes;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, procSample(app.child.pid)?.rssBytes ?? 0);
      }, 250);
      await app.child.call('gc-start');
      if (probe !== undefined) await app.child.call('profile-start', { kind: probe.kind });
      let load: LoadResult;
      try {
        load = await loader.call<LoadResult>(
          'run',
          {
            url: `http://127.0.0.1:${String(app.child.ready.port)}${REQUEST_PATH}`,
            method: 'POST',
            connections,
            duration: seconds,
            headers: { 'content-type': 'application/json' },
            body: REQUEST_BODY,
            rate,
          },
          (seconds + 60) * 1000,
        );
      } finally {
        clearInterval(sampler);
      }
      await app.child.call('flush');
      if (probe !== undefined) await app.child.call('profile-stop', { file: probe.file });
      const { gc, memory } = await app.child.call<{ gc: GcWindow | null; memory: MemoryPeak }>('gc-stop');
      const cpu1 = procSample(app.child.pid)!;
      const k1 = kernel(app.child.pid);
      const after = (await collector.call<{ messages: number }>('count')).messages;
      if (probe !== undefined)
        writeFileSync(`${probe.file}.json`, JSON.stringify({ completed: load.completed, cpuUs: cpu1.cpuUs - cpu0.cpuUs }));
      if (round < 1) return;
      app.turns.push({
        round,
        cpuUs: cpu1.cpuUs - cpu0.cpuUs,
        kernel: kernelDiff(k0, k1),
        completed: load.completed,
        rps: load.rps,
        p99: load.p99,
        gc,
        rssPeak,
        memory,
        delivered: app.v.mode === 'bare' || app.v.env.BENCH_NOOP === '1' ? null : after - before,
      });
    };
    log(`${framework}: ${variants.map((v) => v.name).join(', ')}; warm-up ${warmup} s each`);
    for (const app of apps) await turn(app, warmup, 0);
    for (let round = 1; round <= rounds; round++) {
      const shift = (round - 1) % apps.length;
      const order = [...apps.slice(shift), ...apps.slice(0, shift)];
      for (const app of order) await turn(app, duration, round);
      log(
        `round ${round}: ${order
          .map((a) => {
            const t = a.turns.at(-1)!;
            // Promoted bytes per request say which of V8's two promotion modes the process is in.
            return `${a.v.name} ${perReq(t).toFixed(0)} us ${((t.gc?.promotedBytes ?? Number.NaN) / t.completed).toFixed(0)} B`;
          })
          .join(', ')}`,
      );
    }
    for (const [dir, kind] of [
      [values.profile, 'cpu'],
      [values.alloc, 'alloc'],
      [values.survivors, 'survivors'],
    ] as const) {
      if (dir === undefined) continue;
      mkdirSync(dir, { recursive: true });
      for (const app of apps) {
        const file = resolve(dir, `${framework}-${app.v.name}.${kind === 'cpu' ? 'cpuprofile' : 'heapprofile'}`);
        await turn(app, duration, -1, { kind, file });
        log(`${kind} profile: ${file}`);
      }
    }
  } finally {
    await Promise.all([...apps.map((a) => a.child.stop()), collector.stop(), loader.stop()]);
  }
  const table = render(framework, apps, { rounds, duration, pinned: cores !== null });
  process.stdout.write(`${table}\n`);
  if (values.out !== undefined) writeFileSync(values.out, `${table}\n`);
}

/**
 * Instructions per request (valgrind's callgrind: counts, not time, so the same on a busy machine):
 * each variant in a process of its own under callgrind, `warmup` requests (the JIT settles), the
 * counters zeroed, `measured` requests and a flush, the counters dumped. Kernel time is not in it.
 */
async function callgrind(
  framework: string,
  variants: Variant[],
  o: {
    collector: NodeChild;
    loader: NodeChild;
    appCore: number | undefined;
    connections: number;
    rounds: number;
    measured: number;
    warmup: number;
    dir: string;
  },
): Promise<string> {
  mkdirSync(o.dir, { recursive: true });
  const results = new Map<string, { ir: number; completed: number; delivered: number | null }[]>();
  for (let round = 1; round <= o.rounds; round++) {
    for (const v of variants) {
      const prefix = resolve(o.dir, `${framework}-${v.name}-${round}`);
      const child = await spawnNode(v.name, `servers/${framework}.ts`, [v.mode], {
        core: o.appCore,
        // Uninstrumented (a few times slower than native, not fifty) until the warm-up is over.
        wrap: ['valgrind', '--tool=callgrind', '--smc-check=all', '--instr-atstart=no', `--callgrind-out-file=${prefix}.%p`],
        readyTimeoutMs: 600_000,
        env: appEnv(v, o.collector),
      });
      try {
        const run = (amount: number) =>
          o.loader.call<LoadResult>(
            'run',
            {
              url: `http://127.0.0.1:${String(child.ready.port)}${REQUEST_PATH}`,
              method: 'POST',
              connections: o.connections,
              amount,
              duration: 0,
              headers: { 'content-type': 'application/json' },
              body: REQUEST_BODY,
            },
            3_600_000,
          );
        await run(o.warmup);
        await child.call('flush', {}, 600_000);
        const before = (await o.collector.call<{ messages: number }>('count')).messages;
        control(['-i', 'on', String(child.pid)]);
        control(['-z', String(child.pid)]);
        const load = await run(o.measured);
        await child.call('flush', {}, 600_000);
        control(['-d', String(child.pid)]);
        const after = (await o.collector.call<{ messages: number }>('count')).messages;
        const ir = lastDumpTotal(o.dir, `${framework}-${v.name}-${round}.${child.pid}`);
        const list = results.get(v.name) ?? [];
        list.push({ ir, completed: load.completed, delivered: v.mode === 'bare' || v.env.BENCH_NOOP === '1' ? null : after - before });
        results.set(v.name, list);
        log(`callgrind ${v.name} round ${round}: ${(ir / load.completed).toFixed(0)} instructions/request over ${load.completed}`);
      } finally {
        await child.stop();
      }
    }
  }
  const per = (name: string) => (results.get(name) ?? []).map((r) => r.ir / r.completed);
  const bare = variants.find((v) => v.mode === 'bare');
  const lines = [
    `### ${framework}: instructions per request (callgrind, ${o.rounds} run(s) of ${o.measured} requests after ${o.warmup}, -c ${o.connections})`,
    '',
    '| variant | instructions/req, median (runs) | added vs bare | records / requests |',
    '|---|---:|---:|---|',
  ];
  for (const v of variants) {
    const list = per(v.name);
    const r = results.get(v.name) ?? [];
    const delivered = r.every((x) => x.delivered === null)
      ? '—'
      : `${r.reduce((a, x) => a + (x.delivered ?? 0), 0)} / ${r.reduce((a, x) => a + x.completed, 0)}`;
    lines.push(
      `| ${v.name} | ${fmt(median(list), 0)} (${list.map((x) => x.toFixed(0)).join(', ')}) | ${bare === undefined || v === bare ? '—' : fmt(median(list) - median(per(bare.name)), 0)} | ${delivered} |`,
    );
  }
  return lines.join('\n');
}

function control(args: string[]): void {
  const out = spawnSync('callgrind_control', args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${out.stderr || out.stdout}`);
}

/** The instruction total of the newest dump `prefix.N`. */
function lastDumpTotal(dir: string, prefix: string): number {
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`${prefix}.`) && /\.\d+$/.test(f));
  dumps.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  const last = dumps.at(-1);
  if (last === undefined) throw new Error(`no callgrind dump ${prefix}.N in ${dir}`);
  const text = readFileSync(resolve(dir, last), 'utf8');
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (m === null) throw new Error(`no total in ${last}`);
  return Number(m[1]);
}

/** Splits on commas outside a variant's JSON. */
function splitVariants(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of list) {
    if (c === '{' || c === '[') depth += 1;
    if (c === '}' || c === ']') depth -= 1;
    if (c === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += c;
  }
  if (current !== '') out.push(current);
  return out;
}

function perReq(t: Turn): number {
  return t.cpuUs / t.completed;
}

function gcPerReq(t: Turn, kinds?: string[]): number {
  if (t.gc === null) return Number.NaN;
  let us = 0;
  for (const [kind, cost] of Object.entries(t.gc.costUs)) if (kinds === undefined || kinds.includes(kind)) us += cost;
  return us / t.completed;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function render(
  framework: string,
  apps: { v: Variant; turns: Turn[] }[],
  s: { rounds: number; duration: number; pinned: boolean },
): string {
  const bare = apps.find((a) => a.v.mode === 'bare');
  const byRound = (a: { turns: Turn[] }, round: number) => a.turns.find((t) => t.round === round);
  const lines = [
    `### ${framework}: in-situ cost per request (${s.rounds} rounds of ${s.duration} s, variants alternating${s.pinned ? ', app pinned to one core' : ', unpinned'})`,
    '',
    '| variant | req/s | app CPU µs/req | added vs bare (same round), median (range) | of it system µs/req | GC µs/req (scavenge / mark) | added GC µs/req | promoted B/req | scavenges /1k req | syscalls /req | faults /req | switches /req | RSS peak MB | V8 heap peak MB (of it young) | array buffers peak MB | records / requests |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const a of apps) {
    const added: number[] = [];
    const addedGc: number[] = [];
    if (bare !== undefined && a !== bare) {
      for (const t of a.turns) {
        const b = byRound(bare, t.round);
        if (b === undefined) continue;
        added.push(perReq(t) - perReq(b));
        addedGc.push(gcPerReq(t) - gcPerReq(b));
      }
    }
    const m = (f: (t: Turn) => number) => median(a.turns.map(f));
    const delivered = a.turns.every((t) => t.delivered === null)
      ? '—'
      : `${a.turns.reduce((x, t) => x + (t.delivered ?? 0), 0)} / ${a.turns.reduce((x, t) => x + t.completed, 0)}`;
    lines.push(
      `| ${a.v.name} | ${fmt(
        m((t) => t.rps),
        0,
      )} | ${fmt(m(perReq))} | ${added.length === 0 ? '—' : `**${fmt(median(added))}** (${fmt(Math.min(...added))} to ${fmt(Math.max(...added))})`} | ` +
        `${fmt(m((t) => (t.kernel.sysTicks * 1e6) / CLOCK_TICKS / t.completed))} | ` +
        `${fmt(m((t) => gcPerReq(t)))} (${fmt(m((t) => gcPerReq(t, ['scavenge'])))} / ${fmt(m((t) => gcPerReq(t, ['mark-compact', 'incremental'])))}) | ` +
        `${addedGc.length === 0 ? '—' : fmt(median(addedGc))} | ${fmt(
          m((t) => (t.gc?.promotedBytes ?? Number.NaN) / t.completed),
          0,
        )} | ` +
        `${fmt(
          m((t) => ((t.gc?.count.scavenge ?? 0) * 1000) / t.completed),
          2,
        )} | ${fmt(
          m((t) => t.kernel.syscalls / t.completed),
          2,
        )} | ` +
        `${fmt(
          m((t) => t.kernel.minorFaults / t.completed),
          2,
        )} | ${fmt(
          m((t) => t.kernel.switches / t.completed),
          3,
        )} | ${fmt(
          m((t) => t.rssPeak / 1048576),
          0,
        )} | ${fmt(
          m((t) => t.memory.heapTotal / 1048576),
          0,
        )} (${fmt(
          m((t) => (t.memory.spaces.new_space ?? 0) / 1048576),
          0,
        )}) | ` +
        `${fmt(
          m((t) => t.memory.arrayBuffers / 1048576),
          0,
        )} | ${delivered} |`,
    );
  }
  return lines.join('\n');
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (error: unknown) => {
    log(`insitu: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    killAll();
    process.exit(1);
  },
);
