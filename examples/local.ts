/**
 * What the examples share and your app would not have: the embedded local collector standing in
 * for APIToolkit, the settings that point a client at it, the banner of curl commands, and stopping
 * everything on Ctrl-C. Each examples/<framework>/server.ts keeps its own framework code and its own
 * `new APIToolkit({...})`; only this plumbing lives here.
 */
import type { AddressInfo } from 'node:net';
import { startCollector, type Collector } from '../src/collector/index.js';
import type { APIToolkit, APIToolkitOptions } from '../src/index.js';

/** The port the example API listens on: `PORT`, default 3000 (0: any free port). */
export const port = Number(process.env.PORT ?? 3000);

/**
 * Starts the local collector on ephemeral ports: it serves client metadata and a Pub/Sub endpoint,
 * prints every record it receives (and its inspector's URL, first), and appends the records to
 * `APITOOLKIT_JSONL` (default `apitoolkit-records.jsonl`).
 */
export function startLocalCollector(): Promise<Collector> {
  return startCollector({ print: true, jsonlPath: process.env.APITOOLKIT_JSONL ?? 'apitoolkit-records.jsonl' });
}

/**
 * The client options that point it at `collector` (leave `rootURL` and `pubsubEndpoint` out in your
 * app), a short flush interval so records print as they happen, and `APITOOLKIT_DEBUG=1` for debug.
 */
export function collectorSettings(collector: Collector) {
  return {
    rootURL: collector.rootURL,
    pubsubEndpoint: collector.pubsubEndpoint,
    flushIntervalMs: 100,
    debug: process.env.APITOOLKIT_DEBUG === '1',
  } satisfies Partial<APIToolkitOptions>;
}

export interface BannerOptions {
  /** Shown after "Example API", in parentheses: `Fastify` gives "Example API (Fastify) listening on ...". */
  framework?: string;
  /** Lines printed between the "listening on" line and "Try:". */
  notes?: string[];
  /** Commands printed after the common ones (each as is, indented like them). */
  moreCommands?: (base: string) => string[];
}

/**
 * Prints the start-up banner: where the API listens (`port`, or what `server.address()` returns),
 * where the records go, and curl commands for every route of the example API.
 */
export function printBanner(collector: Collector, address: number | AddressInfo | string | null, options: BannerOptions = {}): void {
  const base = `http://127.0.0.1:${portOf(address)}`;
  const name = options.framework === undefined ? 'Example API' : `Example API (${options.framework})`;
  console.log(
    [
      '',
      `${name} listening on ${base} (records print below and go to ${collector.jsonlPath ?? 'memory'})`,
      ...(options.notes ?? []),
      'Try:',
      `  curl ${base}/users/42?expand=teams`,
      `  curl -X POST ${base}/login -H 'content-type: application/json' -H 'X-Api-Key: abc123' \\`,
      `       -d '{"username":"ada","password":"hunter2"}'`,
      `  curl -X POST ${base}/payments -H 'content-type: application/json' \\`,
      `       -d '{"amount":42,"credit-card":{"number":"4111111111111111","cvv":"123"}}'`,
      `  curl ${base}/orgs/acme/projects/apollo`,
      `  curl ${base}/fail`,
      ...(options.moreCommands?.(base) ?? []).map((command) => `  ${command}`),
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
}

function portOf(address: number | AddressInfo | string | null): number {
  if (typeof address === 'number') return address;
  if (address !== null && typeof address === 'object') return address.port;
  throw new Error(`the example API is not listening on a TCP port (${String(address)})`);
}

export interface StopOptions {
  collector: Collector;
  /** Stops the app (its server stops accepting requests). Runs first. */
  close: () => unknown;
  /** The app's client, shut down (flushing its queue) after `close`. Absent when the app runs in another process. */
  client?: APIToolkit;
}

/**
 * On SIGINT (Ctrl-C) or SIGTERM: stops the app, shuts its client down (3 s at most), closes the
 * collector, prints what was delivered ("stopped: N record(s) delivered, M dropped"; without a
 * client, what the collector received: "stopped: N record(s) received"), and exits 0.
 */
export function stopOnSignals({ collector, close, client }: StopOptions): void {
  async function stop(): Promise<void> {
    await close();
    let summary: string;
    if (client === undefined) {
      summary = `${collector.stats().messages} record(s) received`;
    } else {
      const result = await client.shutdown(3_000);
      summary = `${client.stats().published} record(s) delivered, ${result.dropped} dropped`;
    }
    await collector.close();
    console.log(`\nstopped: ${summary}`);
    process.exit(0);
  }
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
