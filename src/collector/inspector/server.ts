/**
 * The inspector's HTTP server: one static page, its script and stylesheet, a small JSON API over
 * the record store, and a server-sent-events stream of new records. Captured traffic is sensitive
 * and attacker-controlled, so the server answers only requests addressed to a local name (DNS
 * rebinding), refuses cross-site API calls, and forbids inline script with a Content-Security-Policy.
 */

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiRecord } from '../../core/record.js';
import { scanRecord, summarize, type LeakFinding } from '../../leaks/index.js';
import type { RecordStore, StoredRecord } from '../store.js';
import { createCatalog } from './catalog.js';
import { toCurl } from './curl.js';
import { toHar } from './har.js';
import { inspectorAssets } from './assets.js';

/** Options of the inspector (`startCollector({ inspector })`). Every field is optional. */
export interface InspectorOptions {
  /** Interface to bind. Default `'127.0.0.1'`, whatever the collector's own `host` is. */
  host?: string;
  /** Port. Default `0`: an ephemeral port, see `Collector.inspectorURL`. */
  port?: number;
  /**
   * Host names accepted in the `Host` header besides `localhost`, `127.0.0.1`, `[::1]` and the
   * bound address, e.g. a tunnel's name. Default `[]`. Every other name is refused with 403.
   */
  allowedHosts?: string[];
  /** When the collector prints records, also print the inspector's URL once it listens. Default `true`. */
  announce?: boolean;
}

/** What the page shows about the collector it belongs to. */
export interface InspectorInfo {
  version: string;
  rootURL: string;
  pubsubEndpoint: string;
  jsonlPath: string | null;
  projectId: string;
}

/** A running inspector server. */
export interface InspectorServer {
  /** The page's URL, e.g. `'http://127.0.0.1:8790/'`. */
  readonly url: string;
  /** Ends every event stream and stops the server. Idempotent. */
  close(): Promise<void>;
}

/** The policy every answer carries: nothing but same-origin script, style and fetches; no framing. */
export const INSPECTOR_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': INSPECTOR_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // Another site can't even embed an API answer with <script src> or <img src>.
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Records the page loads at once; older ones stay in the store (and in HAR exports of the whole store). */
const DEFAULT_PAGE_RECORDS = 1_000;
const MAX_PAGE_RECORDS = 10_000;
const MAX_REQUEST_BODY_BYTES = 1024 * 1024; // 1 MiB of ids is ~100 000 records
const HEARTBEAT_MS = 15_000; // 15 s: below common idle timeouts of proxies and tabs
/** A stream whose client stopped reading is cut beyond this; EventSource reconnects and reloads. */
const MAX_STREAM_BUFFER_BYTES = 16 * 1024 * 1024; // 16 MiB

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Starts the inspector on `host:port`, serving the records of `store`.
 *
 * @example
 * const store = await openRecordStore({ path: null, maxRecords: 1_000, maxBytes: 64 << 20 });
 * const inspector = await startInspector(store, { port: 0 }, () => info);
 * console.log(`open ${inspector.url}`);
 */
export async function startInspector(store: RecordStore, options: InspectorOptions, info: () => InspectorInfo): Promise<InspectorServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const instance = randomUUID();
  // Read at start: a missing file fails startInspector(), not a request.
  const assets = inspectorAssets();
  const catalog = createCatalog();
  // Records never change once stored: each is scanned once.
  const leakCache = new WeakMap<ApiRecord, LeakFinding[]>();
  const leaksOf = (record: ApiRecord): LeakFinding[] => {
    let findings = leakCache.get(record);
    if (findings === undefined) {
      try {
        findings = scanRecord(record);
      } catch {
        findings = [];
      }
      leakCache.set(record, findings);
    }
    return findings;
  };
  const streams = new Set<ServerResponse>();
  const allowed = new Set([...LOOPBACK_NAMES, ...(options.allowedHosts ?? []).map((name) => name.toLowerCase())]);
  if (!isWildcard(host)) allowed.add(bracketed(host).toLowerCase());

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `inspector error: ${(error as Error).message}\n`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    const refused = refusal(req, path, allowed);
    if (refused !== null) {
      req.resume();
      return send(res, 403, 'text/plain; charset=utf-8', `403 Forbidden: ${refused}\n`);
    }
    const method = req.method ?? 'GET';
    if (path === '/api/har') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      return exportHar(req, res);
    }
    if (path === '/api/leaks/dismiss') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      return dismiss(req, res);
    }
    req.resume();
    if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET, HEAD');
    if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', assets.html);
    if (path === '/inspector.js') return send(res, 200, 'text/javascript; charset=utf-8', assets.script);
    if (path === '/inspector.css') return send(res, 200, 'text/css; charset=utf-8', assets.css);
    if (path === '/favicon.svg' || path === '/favicon.ico') return send(res, 200, 'image/svg+xml', assets.favicon);
    if (path === '/events') return openStream(req, res);
    if (path === '/api/info') return sendJson(res, 200, { instance, ...info() });
    if (path === '/api/records') {
      const limit = clampInt(
        new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('limit'),
        DEFAULT_PAGE_RECORDS,
        1,
        MAX_PAGE_RECORDS,
      );
      const entries = store.list().slice(-limit);
      return sendJson(res, 200, { instance, total: store.list().length, records: entries.map(wire) });
    }
    if (path === '/api/catalog') {
      return sendJson(res, 200, { endpoints: catalog.build(store.list().map((entry) => entry.record)) });
    }
    if (path === '/api/leaks') {
      const report = summarize(
        store.list().map((entry) => entry.record),
        leaksOf,
        { dismissed: store.dismissed() },
      );
      return sendJson(res, 200, { records: report.records, groups: report.groups });
    }
    const match = /^\/api\/records\/(\d{1,15})(\/curl|\/leaks)?$/.exec(path);
    if (match !== null) {
      const entry = store.get(Number(match[1]));
      if (entry === undefined) return sendJson(res, 404, { error: `no record ${match[1]} (it may have been dropped from the store)` });
      if (match[2] === '/curl') return send(res, 200, 'text/plain; charset=utf-8', `${toCurl(entry.record)}\n`);
      if (match[2] === '/leaks') return sendJson(res, 200, { findings: leaksOf(entry.record) });
      return sendJson(res, 200, wire(entry));
    }
    sendJson(res, 404, { error: `not found: ${path}` });
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // The first write flushes the headers, so the page knows at once that the stream is live.
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ instance, total: store.list().length, ...info() })}\n\n`);
    streams.add(res);
    res.on('close', () => streams.delete(res));
  }

  const unsubscribe = store.subscribe((entry) => {
    if (streams.size === 0) return;
    const event = `id: ${entry.seq}\nevent: record\ndata: ${JSON.stringify(wire(entry))}\n\n`;
    for (const res of streams) {
      if (res.writableLength > MAX_STREAM_BUFFER_BYTES) {
        streams.delete(res);
        res.destroy();
        continue;
      }
      res.write(event);
    }
  });

  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': ping\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  async function exportHar(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      return sendJson(res, 415, { error: 'send the record ids as application/json: {"seqs":[1,2,3]}' });
    }
    const text = await readBody(req, MAX_REQUEST_BODY_BYTES);
    if (text === null) return sendJson(res, 413, { error: `request body over ${MAX_REQUEST_BODY_BYTES} bytes` });
    let seqs: unknown;
    try {
      seqs = (JSON.parse(text) as { seqs?: unknown }).seqs;
    } catch {
      return sendJson(res, 400, { error: 'request body is not JSON' });
    }
    if (!Array.isArray(seqs) || !seqs.every((seq) => Number.isSafeInteger(seq))) {
      return sendJson(res, 400, { error: 'expected {"seqs": [integers]}' });
    }
    const records: ApiRecord[] = [];
    // Arrival order: records with equal timestamps keep it in the HAR.
    for (const seq of [...new Set(seqs as number[])].sort((a, b) => a - b)) {
      const entry = store.get(seq);
      if (entry !== undefined) records.push(entry.record);
    }
    const har = toHar(records, { name: 'apitoolkit-node inspector', version: info().version });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    send(res, 200, 'application/json; charset=utf-8', JSON.stringify(har, null, 2), {
      'content-disposition': `attachment; filename="apitoolkit-${stamp}.har"`,
    });
  }

  /** `{"id": "...", "dismissed": true}`: dismisses a finding (false: reopens it), kept in the store. */
  async function dismiss(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      return sendJson(res, 415, { error: 'send application/json: {"id":"<finding id>","dismissed":true}' });
    }
    const text = await readBody(req, MAX_REQUEST_BODY_BYTES);
    if (text === null) return sendJson(res, 413, { error: `request body over ${MAX_REQUEST_BODY_BYTES} bytes` });
    let body: { id?: unknown; dismissed?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return sendJson(res, 400, { error: 'request body is not JSON' });
    }
    if (
      typeof body !== 'object' ||
      body === null ||
      typeof body.id !== 'string' ||
      body.id === '' ||
      body.id.length > 4096 ||
      typeof body.dismissed !== 'boolean'
    ) {
      return sendJson(res, 400, { error: 'expected {"id": "<finding id>", "dismissed": true|false}' });
    }
    await store.setDismissed(body.id, body.dismissed);
    sendJson(res, 200, { id: body.id, dismissed: body.dismissed });
  }

  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const url = `http://${bracketed(isWildcard(host) ? '127.0.0.1' : host)}:${address.port}/`;

  let closing: Promise<void> | null = null;
  return {
    url,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        unsubscribe();
        clearInterval(heartbeat);
        for (const res of streams) res.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * Why a request must be refused, or `null`. The Host must be a local name (a DNS-rebinding page
 * reaches us under its own name); an Origin, when sent, must be this very origin; and the API and
 * the stream refuse what the browser labels as cross-site or same-site-but-cross-origin.
 */
function refusal(req: IncomingMessage, path: string, allowed: ReadonlySet<string>): string | null {
  const hostHeader = (req.headers.host ?? '').toLowerCase();
  if (hostHeader === '') return 'missing Host header';
  const hostname = hostHeader.replace(/:\d+$/, '');
  if (!allowed.has(hostname)) {
    return `Host ${JSON.stringify(hostHeader)} is not a local address; open the inspector at http://127.0.0.1 or http://localhost (or add the name to allowedHosts)`;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${hostHeader}`) {
    return `Origin ${JSON.stringify(origin)} is not this inspector`;
  }
  const site = req.headers['sec-fetch-site'];
  const sensitive = path.startsWith('/api/') || path === '/events';
  if (sensitive && site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `cross-origin request (Sec-Fetch-Site: ${site}) to ${path}`;
  }
  return null;
}

function wire(entry: StoredRecord): { seq: number; record: ApiRecord } {
  return { seq: entry.seq, record: entry.record };
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...extra, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function notAllowed(res: ServerResponse, allow: string): void {
  send(res, 405, 'text/plain; charset=utf-8', `405 Method Not Allowed (allowed: ${allow})\n`, { allow });
}

function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        resolve(null);
        req.resume();
        req.removeAllListeners('data');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function clampInt(value: string | null, fallback: number, min: number, max: number): number {
  if (value === null || !/^\d+$/.test(value)) return fallback;
  return Math.min(max, Math.max(min, Number(value)));
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
