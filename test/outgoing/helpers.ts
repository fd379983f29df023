/**
 * Shared pieces of the outgoing-call tests: a real upstream on loopback with every behaviour the
 * tests need (JSON echo, streamed body, 500, a socket closed mid-body, a request that never gets an
 * answer, a redirect, gzip), and the three clients as an app would use them, each returning what the
 * app saw in a comparable form.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import axios, { type AxiosInstance } from 'axios';

export interface Upstream {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** Requests seen, in arrival order. */
  readonly seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}

function delayOf(url: URL): number {
  return Math.max(0, Math.min(200, Number(url.searchParams.get('ms') ?? 0)));
}

/** The upstream every outgoing test calls. `close()` also cuts the requests it never answers. */
export async function startUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://upstream');
      const json = (status: number, value: unknown, headers: Record<string, string | string[]> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      const [, first, second] = url.pathname.split('/');
      if (first === 'users' || first === 'orgs') {
        let parsed: unknown = body;
        try {
          parsed = body === '' ? null : JSON.parse(body);
        } catch {
          // form or text: echoed as a string
        }
        json(
          200,
          { id: second, method: req.method, body: parsed, token: 'upstream-token', query: url.search },
          {
            'set-cookie': ['up-session=s3cr3t; HttpOnly', 'up-pref=dark'],
            'x-upstream-key': 'upstream-key-value',
          },
        );
      } else if (first === 'slow') {
        setTimeout(() => json(200, { n: second }), delayOf(url));
      } else if (first === 'stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const next = (): void => {
          if (i === 5) {
            res.end();
            return;
          }
          res.write(`chunk-${i++};`);
          setImmediate(next);
        };
        next();
      } else if (first === 'fail') {
        json(500, { error: 'upstream broke' });
      } else if (first === 'cut') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('partial', () => res.socket?.destroy());
      } else if (first === 'hang') {
        // Never answers: the client gives up (timeout or abort).
      } else if (first === 'redirect') {
        res.writeHead(302, { location: '/users/7?via=redirect' });
        res.end();
      } else if (first === 'gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify({ zipped: true, token: 'zipped-token' })));
      } else {
        json(404, { error: 'no such route' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts an upstream that is closed when the test ends. */
export async function upstream(t: TestContext): Promise<Upstream> {
  const u = await startUpstream();
  t.after(() => u.close());
  return u;
}

/** An error as the app sees it, in a form `deepEqual` can compare (type, message, code, causes). */
export interface SeenError {
  name: string;
  type: string;
  message: string;
  code: unknown;
  status: unknown;
  cause?: SeenError;
}

export function seenError(error: unknown, depth = 0): SeenError {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown; response?: { status?: unknown } };
  const out: SeenError = {
    name: String(e?.name),
    type: String((error as object | null)?.constructor?.name),
    message: String(e?.message),
    code: e?.code,
    status: e?.response?.status,
  };
  if (e?.cause !== undefined && depth < 4) out.cause = seenError(e.cause, depth + 1);
  return out;
}

/** What the app ends up with after one call: a status and the body it read, and/or the error it got. */
export interface Outcome {
  status?: number;
  body?: string;
  error?: SeenError;
}

/** One outgoing call as a handler would make it. */
export interface CallSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Client-side deadline in ms (fetch: AbortSignal.timeout; http: timeout + destroy; axios: timeout). */
  timeoutMs?: number;
}

export type ClientName = 'fetch' | 'http' | 'axios' | 'axiosInstance';

export async function viaFetch(spec: CallSpec): Promise<Outcome> {
  let status: number | undefined;
  try {
    const res = await fetch(spec.url, {
      method: spec.method ?? 'GET',
      headers: spec.headers,
      body: spec.body,
      signal: spec.timeoutMs === undefined ? undefined : AbortSignal.timeout(spec.timeoutMs),
    });
    status = res.status;
    return { status, body: await res.text() };
  } catch (error) {
    return { status, error: seenError(error) };
  }
}

export function viaHttp(spec: CallSpec): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpRequest(spec.url, { method: spec.method ?? 'GET', headers: spec.headers, timeout: spec.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => resolve({ status: res.statusCode, error: seenError(error) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${spec.timeoutMs} ms`)));
    req.on('error', (error) => resolve({ error: seenError(error) }));
    req.end(spec.body);
  });
}

export async function viaAxios(instance: AxiosInstance, spec: CallSpec): Promise<Outcome> {
  try {
    const res = await instance.request({
      url: spec.url,
      method: spec.method ?? 'GET',
      headers: spec.headers,
      data: spec.body,
      timeout: spec.timeoutMs,
      responseType: 'text',
      // The body exactly as received, not parsed: comparable with the other clients.
      transformResponse: [(data: unknown) => data],
    });
    return { status: res.status, body: String(res.data) };
  } catch (error) {
    return { error: seenError(error) };
  }
}

/** Calls `spec` with the named client; `instance` is the created axios instance for `axiosInstance`. */
export function call(client: ClientName, spec: CallSpec, instance: AxiosInstance): Promise<Outcome> {
  switch (client) {
    case 'fetch':
      return viaFetch(spec);
    case 'http':
      return viaHttp(spec);
    case 'axios':
      return viaAxios(axios, spec);
    case 'axiosInstance':
      return viaAxios(instance, spec);
  }
}

export const SDK_TYPES: Record<ClientName, string> = {
  fetch: 'JsFetchOutgoing',
  http: 'JsHttpOutgoing',
  axios: 'JsAxiosOutgoing',
  axiosInstance: 'JsAxiosOutgoing',
};

export const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
