/**
 * Probes a benchmark app answers over IPC (see servers/common.ts `serveHarness`), for
 * `bench/insitu.ts`: the garbage collections of a measured window (v8.GCProfiler: each collection's
 * kind, cost and heap before/after) and a CPU or allocation profile of a window (node:inspector, in
 * the app's own process, so nothing is attached from outside). Nothing runs until asked.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';

/** What one window's garbage collections cost, summed by kind. */
export interface GcWindow {
  /** Collections by kind (`scavenge`, `mark-compact`, `incremental`, `weak`, `other`). */
  count: Record<string, number>;
  /** Microseconds on the main thread by kind (V8's own measure of each pause). */
  costUs: Record<string, number>;
  /** Bytes by which old space grew across the scavenges: what they promoted (roughly). */
  promotedBytes: number;
  /** Length of the window, ms. */
  windowMs: number;
}

interface GcStat {
  gcType: string;
  cost: number;
  beforeGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
  afterGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
}

const KINDS: Record<string, string> = {
  Scavenge: 'scavenge',
  MinorMarkCompact: 'scavenge',
  MinorMarkSweep: 'scavenge',
  MarkSweepCompact: 'mark-compact',
  IncrementalMarking: 'incremental',
  ProcessWeakCallbacks: 'weak',
};

function used(stats: GcStat['beforeGC'], space: string): number {
  return stats.heapSpaceStatistics.find((s) => s.spaceName === space)?.spaceUsedSize ?? 0;
}

function summarise(stats: GcStat[], windowMs: number): GcWindow {
  const out: GcWindow = { count: {}, costUs: {}, promotedBytes: 0, windowMs };
  for (const s of stats) {
    const kind = KINDS[s.gcType] ?? 'other';
    out.count[kind] = (out.count[kind] ?? 0) + 1;
    out.costUs[kind] = (out.costUs[kind] ?? 0) + s.cost;
    if (kind === 'scavenge') {
      for (const space of ['old_space', 'code_space', 'large_object_space'])
        out.promotedBytes += Math.max(0, used(s.afterGC, space) - used(s.beforeGC, space));
    }
  }
  return out;
}

/** Peaks of process.memoryUsage() over a measured window, sampled every 100 ms (bytes). */
export interface MemoryPeak {
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Per V8 heap space, its largest size. */
  spaces: Record<string, number>;
}

/** The IPC handlers: `gc-start` / `gc-stop`, `profile-start` / `profile-stop` ({ file, kind: 'cpu' | 'alloc' | 'survivors' }). */
export function probeHandlers(): Record<string, (message: Record<string, unknown>) => object | Promise<object>> {
  let gc: { profiler: GCProfiler; started: number; memory: MemoryPeak; sampler: NodeJS.Timeout } | undefined;
  let session: Session | undefined;
  let kind: 'cpu' | 'alloc' | 'survivors' = 'cpu';
  const post = (method: string, params: object = {}): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result as Record<string, unknown>)));
    });
  return {
    'gc-start': () => {
      gc?.profiler.stop();
      if (gc !== undefined) clearInterval(gc.sampler);
      const memory: MemoryPeak = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0, spaces: {} };
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        memory.heapTotal = Math.max(memory.heapTotal, m.heapTotal);
        memory.heapUsed = Math.max(memory.heapUsed, m.heapUsed);
        memory.external = Math.max(memory.external, m.external);
        memory.arrayBuffers = Math.max(memory.arrayBuffers, m.arrayBuffers);
        for (const space of getHeapSpaceStatistics())
          memory.spaces[space.space_name] = Math.max(memory.spaces[space.space_name] ?? 0, space.space_size);
      }, 100);
      gc = { profiler: new GCProfiler(), started: performance.now(), memory, sampler };
      gc.profiler.start();
      return {};
    },
    'gc-stop': () => {
      if (gc === undefined) return { gc: null, memory: { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0, spaces: {} } };
      const result = gc.profiler.stop() as unknown as { statistics: GcStat[] } | undefined;
      const windowMs = performance.now() - gc.started;
      clearInterval(gc.sampler);
      const memory = gc.memory;
      gc = undefined;
      return { gc: summarise(result?.statistics ?? [], windowMs), memory };
    },
    'profile-start': async (message) => {
      kind = message.kind === 'alloc' || message.kind === 'survivors' ? message.kind : 'cpu';
      session = new Session();
      session.connect();
      if (kind === 'cpu') {
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: Number(message.intervalUs ?? 100) });
        await post('Profiler.start');
      } else {
        await post('HeapProfiler.enable');
        // Every allocation of 1 KiB on average is sampled. 'alloc': kept even once collected, so the
        // profile shows what was allocated. 'survivors': dropped when a scavenge collects it, so the
        // profile shows what outlived the young generation (promoted, or still young at the end).
        await post('HeapProfiler.startSampling', {
          samplingInterval: Number(message.intervalBytes ?? 1024),
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: kind === 'alloc',
        });
      }
      return {};
    },
    'profile-stop': async (message) => {
      if (session === undefined) return { written: null };
      const result = kind === 'cpu' ? await post('Profiler.stop') : await post('HeapProfiler.stopSampling');
      session.disconnect();
      session = undefined;
      const file = String(message.file);
      writeFileSync(file, JSON.stringify(result.profile));
      return { written: file };
    },
  };
}
