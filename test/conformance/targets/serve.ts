import { createServer, type RequestListener, type Server } from 'node:http';
import type { Collector } from '../../../src/collector/index.js';
import type { RecordSource } from '../spec.js';

/** Listens on 127.0.0.1:0; close() also drops kept-alive and hanging connections. */
export async function listen(handlerOrServer: RequestListener | Server): Promise<{ url: string; close(): Promise<void> }> {
  const server = typeof handlerOrServer === 'function' ? createServer(handlerOrServer) : handlerOrServer;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `setTimeout` as a promise, for the standard app's pauses. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An app in a process of its own, sending to `collector`: the target's running app, whose records
 * are read at the collector, and whose client is flushed through `{controlUrl}/apitoolkit-flush`.
 * Closing it stops the app, then the collector.
 */
export function remoteApp(
  app: { url: string; close(): Promise<void> },
  collector: Collector,
  controlUrl = app.url,
): { url: string; close(): Promise<void>; records: RecordSource } {
  return {
    url: app.url,
    close: async () => {
      await app.close();
      await collector.close();
    },
    records: {
      clear: () => collector.clear(),
      records: () => collector.records(),
      waitForRecords: (count) => collector.waitForRecords(count, 10_000),
      flush: async (timeoutMs) => {
        const response = await fetch(`${controlUrl}/apitoolkit-flush?timeoutMs=${timeoutMs}`, {
          signal: AbortSignal.timeout(timeoutMs + 2_000),
        });
        return ((await response.json()) as { flushed: boolean }).flushed;
      },
    },
  };
}
