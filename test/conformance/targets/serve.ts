import { createServer, type RequestListener, type Server } from 'node:http';

/** Listens on 127.0.0.1:0; close() also drops kept-alive and hanging connections. */
export async function listen(handlerOrServer: RequestListener | Server): Promise<{ url: string; close(): Promise<void> }> {
  const server = typeof handlerOrServer === 'function' ? createServer(handlerOrServer) : handlerOrServer;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** `setTimeout` as a promise, for the standard app's pauses. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
