/// <reference path="./types/autocannon.d.ts" />
/**
 * The load generator in a process of its own (pinned to the other core), driven over IPC: `run`
 * takes autocannon options and answers with the figures the harness reports.
 */
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { announce, fatal, serveIpc } from './ipc-child.js';

/** What one autocannon run reports back. */
export interface LoadResult {
  /** Completed requests per second over the run. */
  rps: number;
  /** Latency percentiles, milliseconds. */
  p50: number;
  p99: number;
  /** Responses received. */
  completed: number;
  /** Requests written, answered or not. */
  sent: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  seconds: number;
}

/**
 * A fixed rate, open loop: request i is due at start + i / rate and its latency counts from then, so a
 * slow response delays no later request and queueing shows in the figures. (autocannon's overallRate
 * sends each connection's share of a second in one burst at the start of the second: p99 then measures
 * the burst, ~250 ms for bare Express at 1000 req/s.) At most `connections` keep-alive sockets.
 */
async function openLoop(o: {
  url: string;
  connections: number;
  duration: number;
  body?: string;
  headers?: Record<string, string>;
  method: string;
  rate: number;
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const total = Math.round(o.rate * o.duration);
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  let non2xx = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let settled = 0;
    const done = (): void => {
      settled += 1;
      if (settled === total) resolve();
    };
    const fire = (due: number): void => {
      sent += 1;
      const req = request(o.url, { agent, method: o.method, headers: o.headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300) non2xx += 1;
          latencies.push(performance.now() - due);
          done();
        });
      });
      req.on('error', () => {
        errors += 1;
        done();
      });
      req.end(o.body);
    };
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * o.rate) / 1000) + 1);
      while (sent < due) fire(start + (sent * 1000) / o.rate);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    completed: latencies.length,
    sent,
    errors,
    timeouts: 0,
    non2xx,
    seconds,
  };
}

try {
  serveIpc({
    async run(message): Promise<LoadResult> {
      const { url, connections, duration, body, headers, method, rate, amount } = message as {
        url: string;
        connections: number;
        duration: number;
        body?: string;
        headers?: Record<string, string>;
        method?: string;
        rate?: number;
        /** A number of requests instead of a duration (bench/insitu.ts under callgrind). */
        amount?: number;
      };
      if (rate !== undefined) return openLoop({ url, connections, duration, body, headers, method: method ?? 'GET', rate });
      const result = await autocannon({
        url,
        connections,
        method: method ?? 'GET',
        body,
        headers,
        ...(amount === undefined ? { duration } : { amount, timeout: 600 }),
      });
      const seconds = result.duration > 0 ? result.duration : duration;
      return {
        rps: result.requests.total / seconds,
        p50: result.latency.p50,
        p99: result.latency.p99,
        completed: result.requests.total,
        sent: result.requests.sent,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        seconds,
      };
    },
  });
  announce({});
} catch (error) {
  fatal(error);
}
