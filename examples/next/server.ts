/**
 * The quick-start example on Next.js: the same API as examples/express, written as App Router route
 * handlers (app/) plus one Pages Router API route (pages/api/hello), instrumented by
 * apitoolkit-node, run by `next dev`, sending to the embedded local collector, which prints every
 * record it receives. This file starts both; the app's client is in lib/apitoolkit.js.
 *
 *   npm start -- next    # then, in another terminal, run the curl commands it prints
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../src/collector/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next');

/** PORT, or any free port when it is 0 (`next dev` needs a number). */
async function choosePort(): Promise<number> {
  const wanted = Number(process.env.PORT ?? 3000);
  if (wanted !== 0) return wanted;
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// 1. The local collector stands in for APIToolkit: it serves client metadata and a Pub/Sub endpoint.
const collector = await startCollector({ print: true, jsonlPath: process.env.APITOOLKIT_JSONL ?? 'apitoolkit-records.jsonl' });

// 2. The Next app, as `next dev` runs it, with the two settings that point its client at the collector.
const port = await choosePort();
const next = spawn(process.execPath, [nextBin, 'dev', here, '--port', String(port), '--hostname', '127.0.0.1'], {
  env: {
    ...process.env,
    APITOOLKIT_ROOT_URL: collector.rootURL,
    APITOOLKIT_PUBSUB_ENDPOINT: collector.pubsubEndpoint,
    NEXT_TELEMETRY_DISABLED: '1',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
  // A process group of its own: Ctrl-C reaches this process, which stops Next and then the collector.
  detached: true,
});
const exited = once(next, 'exit');
let ready = false;
next.stdout!.on('data', (chunk: Buffer) => {
  const text = chunk.toString();
  // Next's own lines (compiling, errors) go through; the banner below replaces its start-up lines.
  if (ready) process.stdout.write(text);
  else if (/Ready in/.test(text)) {
    ready = true;
    const base = `http://127.0.0.1:${port}`;
    console.log(`
Example API (Next.js, next dev) listening on ${base} (records print below and go to ${collector.jsonlPath ?? 'memory'})
The first request to each route waits for next dev to compile it.
Try:
  curl ${base}/users/42?expand=teams
  curl -X POST ${base}/login -H 'content-type: application/json' -H 'X-Api-Key: abc123' \\
       -d '{"username":"ada","password":"hunter2"}'
  curl -X POST ${base}/payments -H 'content-type: application/json' \\
       -d '{"amount":42,"credit-card":{"number":"4111111111111111","cvv":"123"}}'
  curl ${base}/orgs/acme/projects/apollo
  curl ${base}/fail
  curl ${base}/api/hello?name=ada
Press Ctrl+C to stop.
`);
  }
});
void exited.then(async ([code]) => {
  if (stopping) return;
  console.error(`next dev exited (${code})`);
  await collector.close();
  process.exit(1);
});

let stopping = false;
async function stop(): Promise<void> {
  stopping = true;
  // SIGTERM: the app's client flushes its queue (shutdownOnSignals in lib/apitoolkit.js), then Next exits.
  if (next.exitCode === null && next.signalCode === null) process.kill(-next.pid!, 'SIGTERM');
  await exited;
  const received = collector.stats().messages;
  await collector.close();
  console.log(`\nstopped: ${received} record(s) received`);
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
