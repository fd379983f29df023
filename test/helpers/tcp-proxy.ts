/**
 * A loopback TCP proxy in front of an endpoint (the collector's gRPC or HTTP port) that can be taken
 * down and brought back on the same port: while down nothing listens, so clients see a refused
 * connection, and every open connection is cut, exactly as when the endpoint's host goes away.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `127.0.0.1:PORT`; the port stays the same across down()/up(). */
  readonly address: string;
  readonly port: number;
  /** True while listening. */
  readonly isUp: boolean;
  /** Stops listening and cuts every open connection (clients then get ECONNREFUSED). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a proxy on an ephemeral loopback port forwarding to `target` (`host:port`). With
 * `startDown`, the port is allocated and released at once: nothing listens until `up()`.
 *
 * @example
 * const proxy = await startTcpProxy(collector.pubsubEndpoint);
 * await proxy.down(); ...; await proxy.up();
 */
export async function startTcpProxy(target: string, { startDown = false } = {}): Promise<TcpProxy> {
  const colon = target.lastIndexOf(':');
  const targetHost = target.slice(0, colon).replace(/^\[|\]$/g, '');
  const targetPort = Number(target.slice(colon + 1));
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  function track(socket: Socket): void {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  }

  async function listen(): Promise<void> {
    const s = createServer((client) => {
      track(client);
      const upstream = connect(targetPort, targetHost);
      track(upstream);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    port = (s.address() as { port: number }).port;
    server = s;
  }

  async function down(): Promise<void> {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  }

  await listen();
  if (startDown) await down();
  return {
    get address() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get isUp() {
      return server !== undefined;
    },
    down,
    async up() {
      if (server === undefined) await listen();
    },
    close: down,
  };
}
