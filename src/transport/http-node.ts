/**
 * The SDK's HTTP on Node: the only transport file that imports `node:` modules.
 *
 * Why not Node's global `fetch`: its first call loads undici, a synchronous ~40 ms block of the
 * app's event loop on a 2-core EPYC at Node 20 (the npm `undici` package: 85-100 ms), and it pools
 * connections in a dispatcher the SDK cannot tear down without the app's own. `node:https` is
 * already part of Node's start-up (~5 ms to first use) and its `Agent` is ours to reset.
 *
 * - Keep-alive, one pool per client; an idle connection is closed after IDLE_SOCKET_MS (or the
 *   server's `Keep-Alive: timeout` hint, less a second), well below the idle timeouts of NATs and
 *   load balancers, so a connection that sat idle long enough to be forgotten by one is never used.
 * - `reset()` destroys every connection of the pool: after a timed-out request, the next one dials
 *   afresh instead of waiting on a connection that may be silent.
 * - Proxies as Node developers expect from curl and undici: `https_proxy`/`HTTPS_PROXY` (else
 *   `http_proxy`/`HTTP_PROXY`) for https URLs, `http_proxy`/`HTTP_PROXY` for http URLs, except for
 *   hosts in `no_proxy`/`NO_PROXY`. https goes through a CONNECT tunnel, http as absolute-form
 *   requests; `user:password@` in the proxy URL becomes Basic `Proxy-Authorization`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { describeNetworkError, ResponseTooLargeError, type HttpClient, type HttpRequest, type HttpResponse } from './http.js';

/** An idle pooled connection is closed after this long. */
export const IDLE_SOCKET_MS = 15_000; // 15 s

/** Options of {@link nodeHttpClient}. */
export interface NodeHttpOptions {
  /** Where proxy settings are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Certificate authorities to trust instead of Node's (tests). Default: Node's, with NODE_EXTRA_CA_CERTS. */
  ca?: string | string[];
  /** How long an idle pooled connection is kept. Default IDLE_SOCKET_MS. */
  idleSocketMs?: number;
}

interface Proxy {
  url: URL;
  /** `Basic …` from the URL's user info, or undefined. Never logged. */
  authorization: string | undefined;
}

/**
 * Creates the Node {@link HttpClient}.
 *
 * @example
 * const client = nodeHttpClient();
 * const { status } = await client.request({ method: 'GET', url: 'https://example.com/', headers: {}, maxResponseBytes: 1_000_000 });
 * client.close();
 */
export function nodeHttpClient(options: NodeHttpOptions = {}): HttpClient {
  const env = options.env ?? process.env;
  const pick = (...names: string[]): string | undefined => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const httpProxy = parseProxy(pick('http_proxy', 'HTTP_PROXY'));
  const httpsProxy = parseProxy(pick('https_proxy', 'HTTPS_PROXY')) ?? httpProxy;
  const noProxy = parseNoProxy(pick('no_proxy', 'NO_PROXY'));
  const agentOptions = { ca: options.ca, idleMs: options.idleSocketMs ?? IDLE_SOCKET_MS };
  let agents = makeAgents(httpsProxy, agentOptions);

  function proxyFor(url: URL): Proxy | undefined {
    const proxy = url.protocol === 'https:' ? httpsProxy : httpProxy;
    if (proxy === undefined) return undefined;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return bypasses(noProxy, url.hostname, port) ? undefined : proxy;
  }

  function request(req: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const { signal } = req;
      if (signal?.aborted) return reject(signal.reason);
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return reject(new Error(`not a URL: ${req.url}`));
      }
      const secure = url.protocol === 'https:';
      const proxy = proxyFor(url);
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined)
        headers['content-length'] = String(typeof req.body === 'string' ? Buffer.byteLength(req.body) : req.body.byteLength);
      let outgoing: http.ClientRequest;
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      // Destroying the request destroys its connection: it is never reused.
      const onAbort = (): void => {
        fail(signal!.reason);
        outgoing.destroy();
      };
      const onResponse = (res: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > req.maxResponseBytes) {
            fail(new ResponseTooLargeError(req.maxResponseBytes));
            outgoing.destroy();
          } else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new Error('the connection closed before the answer was complete'));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          const location = res.headers.location;
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(location === undefined ? {} : { location }),
          });
        });
      };
      const base = { method: req.method, headers, ...(options.ca === undefined ? {} : { ca: options.ca }) };
      if (secure) {
        outgoing = https.request(url, { ...base, agent: proxy === undefined ? agents.https : agents.tunnel }, onResponse);
      } else if (proxy === undefined) {
        outgoing = http.request(url, { ...base, agent: agents.http }, onResponse);
      } else {
        // Absolute-form through the proxy: the request line names the whole URL.
        if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization;
        outgoing = (proxy.url.protocol === 'https:' ? https : http).request(
          {
            ...base,
            host: proxy.url.hostname.replace(/^\[|\]$/g, ''),
            port: proxyPort(proxy.url),
            path: url.href,
            headers: { ...headers, host: url.host },
            agent: proxy.url.protocol === 'https:' ? agents.https : agents.http,
          },
          onResponse,
        );
      }
      outgoing.on('error', fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.end(req.body);
    });
  }

  const via =
    httpsProxy === undefined && httpProxy === undefined
      ? 'node:https'
      : `node:https through ${[httpsProxy && `https proxy ${describeProxy(httpsProxy)}`, httpProxy && `http proxy ${describeProxy(httpProxy)}`].filter(Boolean).join(', ')}` +
        (noProxy.length > 0 ? ` (not for ${noProxy.map((e) => e.raw).join(', ')})` : '');
  return {
    description: via,
    request,
    reset() {
      const old = agents;
      agents = makeAgents(httpsProxy, agentOptions);
      destroyAgents(old);
    },
    close() {
      destroyAgents(agents);
    },
  };
}

interface Agents {
  http: http.Agent;
  https: https.Agent;
  /** https through `httpsProxy` (CONNECT); `https` when there is no proxy. */
  tunnel: https.Agent;
}

function makeAgents(httpsProxy: Proxy | undefined, { ca, idleMs }: { ca: NodeHttpOptions['ca']; idleMs: number }): Agents {
  const common = { keepAlive: true, timeout: idleMs, scheduling: 'lifo' as const, maxFreeSockets: 4 };
  const secure = new https.Agent({ ...common, ...(ca === undefined ? {} : { ca }) });
  return {
    http: new http.Agent(common),
    https: secure,
    tunnel: httpsProxy === undefined ? secure : new TunnelAgent(httpsProxy, { ...common, ...(ca === undefined ? {} : { ca }) }),
  };
}

function destroyAgents(agents: Agents): void {
  agents.http.destroy();
  agents.https.destroy();
  agents.tunnel.destroy();
}

/** https through a CONNECT tunnel: the proxy sees the host and port, never the request. */
class TunnelAgent extends https.Agent {
  readonly #proxy: Proxy;

  constructor(proxy: Proxy, options: https.AgentOptions) {
    super(options);
    this.#proxy = proxy;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const done = callback as (err: Error | null, stream?: Duplex) => void;
    const proxy = this.#proxy;
    const target = `${String(options.host).includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    const headers: Record<string, string> = { host: target };
    if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization;
    const connect = (proxy.url.protocol === 'https:' ? https : http).request({
      host: proxy.url.hostname.replace(/^\[|\]$/g, ''),
      port: proxyPort(proxy.url),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(new Error(`the proxy ${describeProxy(proxy)} answered CONNECT ${target} with HTTP ${res.statusCode}`));
        return;
      }
      const secure = tls.connect({ ...(options as tls.ConnectionOptions), socket, servername: options.servername ?? String(options.host) });
      done(null, secure);
    });
    connect.once('error', (error) =>
      done(new Error(`cannot reach the proxy ${describeProxy(proxy)}: ${describeNetworkError(error)}`, { cause: error })),
    );
    connect.end();
    return undefined;
  }
}

function parseProxy(value: string | undefined): Proxy | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    // `proxy:3128` without a scheme means http, as curl reads it.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const authorization =
    url.username === ''
      ? undefined
      : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  return { url, authorization };
}

function proxyPort(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

/** The proxy without its credentials: `http://proxy.corp:3128`. */
function describeProxy(proxy: Proxy): string {
  return `${proxy.url.protocol}//${proxy.url.host}`;
}

interface NoProxyEntry {
  raw: string;
  /** Lower case, without a leading `*` or `.`, brackets or trailing dot; `*` alone matches everything. */
  host: string;
  port: number | undefined;
}

function parseNoProxy(value: string | undefined): NoProxyEntry[] {
  if (value === undefined) return [];
  const entries: NoProxyEntry[] = [];
  for (const raw of value.split(/[\s,]+/)) {
    if (raw === '') continue;
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(raw);
    if (match === null) continue;
    const host = match[1]!
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
      .replace(/^\*?\.(?=.)/, '')
      .replace(/\.$/, '');
    entries.push({ raw, host, port: match[2] === undefined ? undefined : Number(match[2]) });
  }
  return entries;
}

/** Whether `NO_PROXY` exempts the host: `*`, the host itself or a parent domain, on any port or the one given. */
function bypasses(entries: readonly NoProxyEntry[], hostname: string, port: number): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  return entries.some((entry) => {
    if (entry.host === '*') return true;
    if (entry.port !== undefined && entry.port !== port) return false;
    return host === entry.host || host.endsWith(`.${entry.host}`);
  });
}
