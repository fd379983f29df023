/**
 * The macro benchmark of one framework group: its apps run side by side (each in its own process,
 * on the app core when pinned), and every round loads each of them in turn with autocannon from
 * the load-generator process, so slow drift of the machine hits them all alike. After each load
 * the app is flushed and the collector's message count (for a peer SDK, its count at the peer
 * sink) is read, so every app's records are counted against the requests it completed, and no app's delivery spills into another's turn.
 */
import type { AppSpec, FrameworkSpec } from './apps.js';
import { procSample, spawnNode, type NodeChild } from './proc.js';
import type { LoadResult } from './load.js';
import { REQUEST_BODY, REQUEST_PATH } from './servers/common.js';

export interface MacroSettings {
  rounds: number;
  /** Seconds of load per app per round. */
  durationS: number;
  /** Seconds of load per app before the first round (not reported). */
  warmupS: number;
  connections: number;
  /** Requests per second in all (autocannon overallRate): a fixed rate below saturation; undefined = as fast as possible. */
  rate?: number;
}

/** The harness's helper processes for one run. */
export interface MacroContext {
  collector: NodeChild;
  loader: NodeChild;
  /** Core the apps are pinned to; undefined when unpinned. */
  appCore: number | undefined;
  /** One line of progress. */
  log(line: string): void;
}

/** One app's figures in one round. */
export interface RoundSample {
  round: number;
  /** Position in the round (0 = first). */
  position: number;
  rps: number;
  p50: number;
  p99: number;
  completed: number;
  sent: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** App CPU time (user+system) per completed request, including the flush after the load; null if unknown. */
  cpuUsPerReq: number | null;
  /** Highest app RSS seen while loaded, bytes; null if unknown. */
  rssPeakBytes: number | null;
}

/** Records that reached the collector against requests the load generator completed and sent. */
export interface Delivery {
  delivered: number;
  completed: number;
  sent: number;
  /** Every flush reported everything sent. */
  allFlushed: boolean;
  /** The collector's last messages after this app's final turn: valid records, and whose. */
  check: { kept: number; valid: number; ownRecords: number } | null;
}

export interface AppRun {
  app: AppSpec;
  samples: RoundSample[];
  /** Null for apps that deliver nothing (bare, no-op transport). */
  delivery: Delivery | null;
  /** The SDK's own counters at the end, when it has any. */
  sdkStats: unknown;
  error?: string;
}

export interface GroupRun {
  framework: FrameworkSpec;
  pinned: boolean;
  rounds: number;
  apps: AppRun[];
  /** Why the group (or part of it) did not run. */
  error?: string;
}

const RSS_SAMPLE_MS = 250;

interface Running {
  app: AppSpec;
  child: NodeChild | null;
  run: AppRun;
}

/** Runs one framework group: warm-up, then `rounds` rounds of every app in turn (order rotating). */
export async function runGroup(framework: FrameworkSpec, apps: AppSpec[], ctx: MacroContext, settings: MacroSettings): Promise<GroupRun> {
  const group: GroupRun = { framework, pinned: ctx.appCore !== undefined, rounds: settings.rounds, apps: [] };
  const { rootURL, pubsubEndpoint, legacyEndpoint, peerSinkURL } = ctx.collector.ready as {
    rootURL: string;
    pubsubEndpoint: string;
    legacyEndpoint: string;
    peerSinkURL: string;
  };
  const running: Running[] = await Promise.all(
    apps.map(async (app): Promise<Running> => {
      const run: AppRun = {
        app,
        samples: [],
        sdkStats: null,
        delivery:
          app.sdk === 'this' || app.sdk === 'legacy' || app.sdk === 'peer'
            ? { delivered: 0, completed: 0, sent: 0, allFlushed: true, check: null }
            : null,
      };
      try {
        const child = await spawnNode(app.id, `servers/${framework.name}.ts`, [app.mode], {
          core: ctx.appCore,
          env: {
            COLLECTOR_ROOT_URL: rootURL,
            COLLECTOR_ENDPOINT: pubsubEndpoint,
            COLLECTOR_LEGACY_ENDPOINT: legacyEndpoint,
            PEER_SINK_URL: peerSinkURL,
            BENCH_APP_ID: app.id,
          },
        });
        return { app, child, run };
      } catch (error) {
        run.error = `did not start: ${(error as Error).message}`;
        ctx.log(`  ${app.id}: ${run.error}`);
        return { app, child: null, run };
      }
    }),
  );
  group.apps = running.map((r) => r.run);
  try {
    const bare = running.find((r) => r.app.sdk === 'none');
    if (bare === undefined || bare.child === null) {
      group.error =
        bare === undefined ? 'no bare app in the group: nothing to compare with' : `the bare app did not start: ${bare.run.error}`;
      return group;
    }
    const live = running.filter((r) => r.child !== null);
    ctx.log(`  warm-up: ${settings.warmupS} s per app`);
    for (const r of live) await turn(r, settings.warmupS, ctx, settings, -1, -1);
    for (let round = 1; round <= settings.rounds; round++) {
      const shift = (round - 1) % live.length;
      const order = [...live.slice(shift), ...live.slice(0, shift)];
      for (const [position, r] of order.entries()) {
        if (r.run.error !== undefined) continue;
        await turn(r, settings.durationS, ctx, settings, round, position);
      }
      ctx.log(`  round ${round}/${settings.rounds}: ${order.map((r) => `${r.app.id} ${fmtRps(r.run.samples.at(-1))}`).join(', ')}`);
    }
    for (const r of live) {
      if (r.app.sdk === 'none' || r.child === null) continue;
      try {
        r.run.sdkStats = (await r.child.call<{ stats: unknown }>('stats')).stats;
      } catch (error) {
        r.run.error ??= `stats: ${(error as Error).message}`;
      }
    }
  } finally {
    await Promise.all(running.map((r) => r.child?.stop()));
  }
  return group;
}

/** Loads one app for `seconds`, flushes it, and (for a measured round) records its figures. */
async function turn(
  r: Running,
  seconds: number,
  ctx: MacroContext,
  settings: MacroSettings,
  round: number,
  position: number,
): Promise<void> {
  const child = r.child!;
  try {
    const delivers = r.run.delivery !== null;
    const before = delivers ? delivered(r.app, await ctx.collector.call<CollectorCount>('count')) : null;
    const cpuBefore = await sample(child);
    let rssPeak = cpuBefore?.rssBytes ?? null;
    const sampler = setInterval(() => {
      const s = procSample(child.pid);
      if (s !== null) rssPeak = Math.max(rssPeak ?? 0, s.rssBytes);
    }, RSS_SAMPLE_MS);
    let load: LoadResult;
    try {
      load = await ctx.loader.call<LoadResult>(
        'run',
        {
          url: `http://127.0.0.1:${String(child.ready.port)}${REQUEST_PATH}`,
          method: 'POST',
          connections: settings.connections,
          duration: seconds,
          rate: settings.rate,
          headers: { 'content-type': 'application/json' },
          body: REQUEST_BODY,
        },
        (seconds + 60) * 1_000,
      );
    } finally {
      clearInterval(sampler);
    }
    const { flushed } = await child.call<{ flushed: boolean }>('flush');
    const cpuAfter = await sample(child);
    if (rssPeak === null && cpuAfter !== null) rssPeak = cpuAfter.rssBytes;
    if (r.run.delivery !== null && before !== null) {
      const after = delivered(r.app, await ctx.collector.call<CollectorCount>('count'));
      const d = r.run.delivery;
      d.delivered += after - before;
      d.completed += load.completed;
      d.sent += load.sent;
      d.allFlushed &&= flushed;
      if (round === settings.rounds && r.app.sdk !== 'peer') {
        const check = await ctx.collector.call<{ kept: number; valid: number; versions: Record<string, number> }>('check');
        const own = Object.entries(check.versions)
          .filter(([key]) => key.endsWith(`/${r.app.id}`))
          .reduce((a, [, n]) => a + n, 0);
        d.check = { kept: check.kept, valid: check.valid, ownRecords: own };
      }
    }
    if (round < 1) return;
    const cpuUs = cpuBefore !== null && cpuAfter !== null ? cpuAfter.cpuUs - cpuBefore.cpuUs : null;
    r.run.samples.push({
      round,
      position,
      rps: load.rps,
      p50: load.p50,
      p99: load.p99,
      completed: load.completed,
      sent: load.sent,
      errors: load.errors,
      timeouts: load.timeouts,
      non2xx: load.non2xx,
      cpuUsPerReq: cpuUs !== null && load.completed > 0 ? cpuUs / load.completed : null,
      rssPeakBytes: rssPeak,
    });
  } catch (error) {
    r.run.error = (error as Error).message;
    ctx.log(`  ${r.app.id}: ${r.run.error}`);
  }
}

/** The collector's `count` answer: Pub/Sub messages, and the peers' records at their sink. */
interface CollectorCount {
  messages: number;
  peers: Record<string, number>;
}

/** Records delivered so far for `app`: at the collector, or for a peer SDK at its sink. */
function delivered(app: AppSpec, count: CollectorCount): number {
  return app.peer === undefined ? count.messages : (count.peers[app.peer.name] ?? 0);
}

async function sample(child: NodeChild): Promise<{ rssBytes: number; cpuUs: number } | null> {
  const fromProc = procSample(child.pid);
  if (fromProc !== null) return fromProc;
  try {
    return await child.call<{ rssBytes: number; cpuUs: number }>('sample');
  } catch {
    return null;
  }
}

function fmtRps(s: RoundSample | undefined): string {
  return s === undefined ? '-' : `${Math.round(s.rps)} req/s`;
}
