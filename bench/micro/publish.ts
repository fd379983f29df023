/**
 * Publish side: the Pub/Sub transport's `send()` of one batch to the local collector in another
 * process (Pub/Sub's REST API over node:http, as the SDK publishes on Node), divided per message.
 * Reported twice: the wall time of a send (it includes the collector's work and the round trip) and
 * the CPU time this process spent (what the app pays).
 */
import { encodeRecord } from '../../src/core/encode.js';
import { nodeHttpClient } from '../../src/transport/http-node.js';
import { makePubSubTransport } from '../../src/transport/pubsub.js';
import { REQUEST_1K, RESPONSE_1K, kb, newBench, rowOf, sampleRecord, type MicroOptions, type MicroRow } from './fixtures.js';

export async function publishBench(options: MicroOptions & { rootURL: string; pubsubEndpoint: string }): Promise<MicroRow[]> {
  const transport = makePubSubTransport({
    apiKey: 'bench',
    rootURL: options.rootURL,
    pubsubEndpoint: options.pubsubEndpoint,
    http: nodeHttpClient(),
  });
  await transport.start(AbortSignal.timeout(30_000));
  try {
    const encoded = encodeRecord(sampleRecord(REQUEST_1K, RESPONSE_1K));
    if (!encoded.ok) throw encoded.error;
    const rows: MicroRow[] = [];
    for (const size of [500, 50]) {
      const batch = Array.from({ length: size }, () => encoded.message);
      const first = await transport.send(batch, 30_000); // connects; must succeed for the figures to mean anything
      if (!first.ok) throw first.error;
      const bench = newBench(options);
      let cpu = process.cpuUsage();
      let runs = 0;
      const name = `send() of a batch of ${size} × ${kb(encoded.message)}`;
      bench.add(
        name,
        async () => {
          const result = await transport.send(batch, 30_000);
          if (!result.ok) throw result.error;
          runs += 1;
        },
        {
          beforeAll(mode) {
            if (mode === 'run') {
              cpu = process.cpuUsage();
              runs = 0;
            }
          },
          afterAll(mode) {
            if (mode === 'run') cpu = process.cpuUsage(cpu);
          },
        },
      );
      await bench.run();
      const wall = rowOf(bench.tasks[0]!, 'publish', `${name}, wall time per message`, size);
      rows.push(wall, {
        stage: 'publish',
        case: `${name}, this process' CPU per message`,
        medianUs: Number.NaN,
        meanUs: (cpu.user + cpu.system) / (runs * size),
        p99Us: Number.NaN,
        samples: runs,
      });
    }
    return rows;
  } finally {
    await transport.shutdown();
  }
}
