/**
 * A loopback TCP proxy in front of an endpoint (the collector's Pub/Sub or HTTP port) that can be
 * taken down and brought back on the same port: while down nothing listens, so clients see a refused
 * connection, and every open connection is cut, exactly as when the endpoint's host goes away.
 *
 * It can also black-hole the path, as a NAT or load balancer that dropped it: connections stay open
 * and nothing gets through either way (bytes are read and discarded, nothing is closed or reset).
 * When the path comes back (`restore()`), new connections pass again but the ones that were silenced
 * stay silent: the middlebox forgot them, and only a fresh dial gets through.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `127.0.0.1:PORT`; the port stays the same across down()/up(). */
  readonly address: string;
  readonly port: number;
  /** True while listening. */
  readonly isUp: boolean;
  /** Connections accepted since the proxy started (silenced ones included). */
  readonly connections: number;
  /** Stops listening and cuts every open connection (clients then get ECONNREFUSED). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /**
   * The path goes silent: every open connection, and every one accepted until `restore()`, is kept
   * open but forwards nothing, either way, for good.
   */
  blackhole(): void;
  /** The path is back for new connections; the silenced ones stay silent. */
  restore(): void;
  close(): Promise<void>;
}

/** One client connection and its upstream; `silent` once the path dropped it. */
interface Pair {
  client: Socket;
  upstream: Socket;
  silent: boolean;
}

/**
 * Starts a proxy on an ephemeral loopback port forwarding to `target` (`host:port`). With
 * `startDown`, the port is allocated and released at once: nothing listens until `up()`.
 *
 * @example
 * const proxy = await startTcpProxy(collector.pubsubEndpoint);
 * await proxy.down(); ...; await proxy.up();
 * proxy.blackhole(); ...; proxy.restore();
 */
export async function startTcpProxy(target: string, { startDown = false } = {}): Promise<TcpProxy> {
  const colon = target.lastIndexOf(':');
  const targetHost = target.slice(0, colon).replace(/^\[|\]$/g, '');
  const targetPort = Number(target.slice(colon + 1));
  const pairs = new Set<Pair>();
  let server: Server | undefined;
  let port = 0;
  let blackholed = false;
  let connections = 0;

  /** Forwards `from`'s bytes to `to` while the pair is not silent; a silent pair's bytes are dropped. */
  function forward(pair: Pair, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (pair.silent) return;
      // Backpressure as pipe() would: pause the sender until the receiver drains.
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => {
      if (!pair.silent) to.end();
    });
  }

  async function listen(): Promise<void> {
    const s = createServer((client) => {
      connections += 1;
      const upstream = connect(targetPort, targetHost);
      const pair: Pair = { client, upstream, silent: blackholed };
      pairs.add(pair);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        pairs.delete(pair);
      };
      // A silenced connection is not closed when its upstream goes: the client must see nothing.
      client.on('error', drop).on('close', drop);
      upstream.on('error', () => (pair.silent ? undefined : drop())).on('close', () => (pair.silent ? undefined : drop()));
      forward(pair, client, upstream);
      forward(pair, upstream, client);
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
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    pairs.clear();
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
    get connections() {
      return connections;
    },
    down,
    async up() {
      if (server === undefined) await listen();
    },
    blackhole() {
      blackholed = true;
      for (const pair of pairs) pair.silent = true;
    },
    restore() {
      blackholed = false;
    },
    close: down,
  };
}
