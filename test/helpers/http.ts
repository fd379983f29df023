import type { Server } from 'node:http';
import { createServer, type RequestListener } from 'node:http';
import type { TestContext } from 'node:test';

/** Serves `handler` on 127.0.0.1:0 and closes it when the test ends. */
export async function serve(t: TestContext, handler: RequestListener): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

export const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
export const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
export const unb64json = (s: string): unknown => JSON.parse(unb64(s));
