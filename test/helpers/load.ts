/**
 * A paced HTTP load generator: a fixed request rate per target, over keep-alive connections,
 * recording every request's latency, status and error. Pacing follows the clock (requests due so
 * far minus requests sent), so a slow tick is caught up rather than lost.
 */
import { Agent, request } from 'node:http';

export interface LoadTarget {
  name: string;
  /** Base URL, e.g. `http://127.0.0.1:1234`. */
  url: string;
}

export interface LoadResult {
  sent: number;
  /** Responses with status < 500. */
  ok: number;
  /** Transport errors and 5xx, first 20 kept verbatim. */
  errors: number;
  errorSamples: string[];
  /** Milliseconds, one per finished request (ok or not). */
  latencies: number[];
  /** When each of those requests started, in ms since the load began (same order as `latencies`). */
  startedAt: number[];
  /** In flight when stopped. */
  inFlight: number;
}

export interface Load {
  /** Results so far (live objects). */
  readonly results: ReadonlyMap<string, LoadResult>;
  /** Stops sending, waits for requests in flight (at most `drainMs`), returns the results. */
  stop(drainMs?: number): Promise<ReadonlyMap<string, LoadResult>>;
}

const TICK_MS = 10;
const REQUEST_TIMEOUT_MS = 15_000; // 15 s: far above any "gross breakage" bound the tests assert

/**
 * @example
 * const load = startLoad([{ name: 'sdk', url }], { ratePerSecond: 100, path: (i) => `/work/${i}` });
 * ...; const results = await load.stop();
 */
export function startLoad(targets: LoadTarget[], { ratePerSecond, path }: { ratePerSecond: number; path: (i: number) => string }): Load {
  const results = new Map<string, LoadResult>();
  const agents = new Map<string, Agent>();
  for (const target of targets) {
    results.set(target.name, { sent: 0, ok: 0, errors: 0, errorSamples: [], latencies: [], startedAt: [], inFlight: 0 });
    agents.set(target.name, new Agent({ keepAlive: true, maxSockets: 256 }));
  }
  const started = performance.now();
  let stopped = false;

  function fire(target: LoadTarget, i: number): void {
    const result = results.get(target.name)!;
    result.sent += 1;
    result.inFlight += 1;
    const t0 = performance.now();
    let settled = false;
    const done = (error?: string): void => {
      if (settled) return;
      settled = true;
      result.inFlight -= 1;
      result.latencies.push(performance.now() - t0);
      result.startedAt.push(t0 - started);
      if (error === undefined) result.ok += 1;
      else {
        result.errors += 1;
        if (result.errorSamples.length < 20) result.errorSamples.push(error);
      }
    };
    const req = request(`${target.url}${path(i)}`, { agent: agents.get(target.name), timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.on('data', () => {});
      res.on('end', () => done(res.statusCode! >= 500 ? `HTTP ${res.statusCode}` : undefined));
      res.on('error', (e) => done(e.message));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (e) => done(e.message));
    req.end();
  }

  const timer = setInterval(() => {
    if (stopped) return;
    const due = Math.floor(((performance.now() - started) / 1000) * ratePerSecond);
    for (const target of targets) {
      const result = results.get(target.name)!;
      while (result.sent < due) fire(target, result.sent);
    }
  }, TICK_MS);

  return {
    results,
    async stop(drainMs = REQUEST_TIMEOUT_MS) {
      stopped = true;
      clearInterval(timer);
      const deadline = Date.now() + drainMs;
      while ([...results.values()].some((r) => r.inFlight > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const agent of agents.values()) agent.destroy();
      return results;
    },
  };
}

/** The q-quantile (0..1) of `values`, in their unit. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The slowest request of each `bucketMs` window, by start time: where the slow ones were. */
export function slowestPerWindow(result: LoadResult, bucketMs = 5_000): string {
  const buckets: number[] = [];
  result.startedAt.forEach((at, i) => {
    const b = Math.floor(at / bucketMs);
    buckets[b] = Math.max(buckets[b] ?? 0, result.latencies[i]!);
  });
  return [...buckets].map((ms) => (ms === undefined ? '-' : ms.toFixed(0))).join(' ');
}

/** "p50 1.2 ms, p99 5.3 ms, max 20.1 ms" */
export function describeLatency(values: readonly number[]): string {
  const f = (n: number) => `${n.toFixed(1)} ms`;
  return `p50 ${f(quantile(values, 0.5))}, p99 ${f(quantile(values, 0.99))}, max ${f(Math.max(...values))}`;
}
