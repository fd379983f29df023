/// <reference path="./types/autocannon.d.ts" />
/**
 * The load generator in a process of its own (pinned to the other core), driven over IPC: `run`
 * takes autocannon options and answers with the figures the harness reports.
 */
import autocannon from 'autocannon';
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

try {
  serveIpc({
    async run(message): Promise<LoadResult> {
      const { url, connections, duration, body, headers, method } = message as {
        url: string; connections: number; duration: number; body?: string; headers?: Record<string, string>; method?: string;
      };
      const result = await autocannon({ url, connections, duration, method: method ?? 'GET', body, headers });
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
