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
import { port as wanted, printBanner, startLocalCollector, stopOnSignals } from '../local.js';

const here = dirname(fileURLToPath(import.meta.url));
const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next');

/** PORT, or any free port when it is 0 (`next dev` needs a number). */
async function choosePort(): Promise<number> {
  if (wanted !== 0) return wanted;
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// 1. The local collector stands in for APIToolkit: it serves client metadata and a Pub/Sub endpoint.
const collector = await startLocalCollector();

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
    printBanner(collector, port, {
      framework: 'Next.js, next dev',
      notes: ['The first request to each route waits for next dev to compile it.'],
      moreCommands: (base) => [`curl ${base}/api/hello?name=ada`],
    });
  }
});
void exited.then(async ([code]) => {
  if (stopping) return;
  console.error(`next dev exited (${code})`);
  await collector.close();
  process.exit(1);
});

// The app's client lives in the Next process: the summary counts what the collector received.
let stopping = false;
stopOnSignals({
  collector,
  close: async () => {
    stopping = true;
    // SIGTERM: the app's client flushes its queue (shutdownOnSignals in lib/apitoolkit.js), then Next exits.
    if (next.exitCode === null && next.signalCode === null) process.kill(-next.pid!, 'SIGTERM');
    await exited;
  },
});
