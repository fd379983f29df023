/**
 * The response is never changed: for each scenario, the raw bytes the client receives (status line,
 * every header in order, chunk framing, body) from an app with the SDK equal those from the same
 * app without any SDK, Date aside. SSE events are not buffered: the server sends event N+1 only
 * after the client has received event N (a gate), so buffering would stall the test. Express 4 and 5.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test, type TestContext } from 'node:test';
import compression from 'compression';
import { APIToolkit, MemoryTransport } from '../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../src/adapters/express/index.js';
import { expressVersions } from '../helpers/express.js';
import { serve } from '../helpers/http.js';

type Express = (typeof expressVersions)[number]['express'];

const FILE_BYTES = 10 * 1024 * 1024; // 10 MB
let file: string;
before(() => {
  const dir = mkdtempSync(join(tmpdir(), 'apitoolkit-unchanged-'));
  file = join(dir, 'big.bin');
  const bytes = Buffer.alloc(FILE_BYTES);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(file, bytes);
});

/** A server-side gate per SSE stream: the server awaits `opened(n)` before sending event n + 1. */
class Gates {
  #waiters = new Map<number, () => void>();
  #open = new Set<number>();
  wait(n: number): Promise<void> {
    return this.#open.has(n) ? Promise.resolve() : new Promise((resolve) => this.#waiters.set(n, resolve));
  }
  open(n: number): void {
    this.#open.add(n);
    this.#waiters.get(n)?.();
  }
}

const SSE_EVENTS = 3;
const SSE_HOLD_MS = 700; // the stream stays open between events: seconds in all

function buildApp(express: Express, apitoolkit: APIToolkit | undefined, gates: Map<string, Gates>) {
  const app = express();
  // Compression mounted BEFORE the SDK, for the /pre routes.
  app.use('/pre', compression({ threshold: 0 }));
  if (apitoolkit) app.use(expressMiddleware(apitoolkit));
  app.use(express.json());
  const payload = { id: 42, token: 'a-secret-token', items: Array.from({ length: 40 }, (_, i) => ({ i, name: `item ${i}` })) };
  app.get('/json', (_req, res) => res.json(payload));
  app.post('/echo', (req, res) => res.status(201).json({ got: req.body }));
  app.get('/stream', (_req, res) => {
    res.type('text/plain');
    res.write('first ');
    setTimeout(() => {
      res.write(Buffer.from('second '));
      setTimeout(() => res.end('last'), 5);
    }, 5);
  });
  app.get('/chunked', (_req, res) => {
    res.setHeader('Content-Type', 'application/octet-stream');
    res.write(Buffer.from([0, 1, 2]));
    res.write('text chunk', 'utf8');
    res.write(Buffer.alloc(0));
    res.end(Buffer.from([255]));
  });
  app.get('/piped', (_req, res) => {
    res.type('text/plain');
    Readable.from(['alpha ', 'beta ', 'gamma']).pipe(res);
  });
  app.get('/gzip', compression({ threshold: 0 }), (_req, res) => res.json(payload));
  app.get('/pre/gzip', (_req, res) => res.json(payload));
  app.get('/file', (_req, res) => res.sendFile(file));
  app.get('/empty', (_req, res) => res.status(204).end());
  app.use('/guarded', (_req, res) => {
    // A middleware that ends the response early (auth), before any route.
    res.status(401).setHeader('WWW-Authenticate', 'Bearer').end('unauthorised');
  });
  app.get('/sse/:id', async (req, res) => {
    const gate = gates.get(req.params.id)!;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.flushHeaders();
    for (let n = 1; n <= SSE_EVENTS; n++) {
      res.write(`id: ${n}\ndata: {"event":${n}}\n\n`);
      await gate.wait(n);
      await new Promise((r) => setTimeout(r, SSE_HOLD_MS));
    }
    res.end();
  });
  app.get('/boom', () => {
    throw new Error('boom');
  });
  if (apitoolkit) app.use(expressErrorHandler(apitoolkit));
  app.post('/dev/echo', (req, res) => res.json({ got: req.body }));
  app.use((err: Error, req: { path: string }, res: { status(n: number): { json(v: unknown): void } }, next: (err: Error) => void) => {
    // /dev: Express's own error page, which in development prints the error's stack.
    if (req.path.startsWith('/dev/')) return next(err);
    res.status(500).json({ error: err.message });
  });
  return app;
}

/**
 * One raw HTTP/1.1 exchange on its own connection; `onData` sees the bytes as they arrive and may
 * return true when the response is complete (for a server that keeps the connection open).
 */
function exchange(url: string, head: string, body?: Buffer, onData?: (soFar: string) => boolean): Promise<Buffer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(head);
      if (body) socket.write(body);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (onData?.(Buffer.concat(chunks).toString('latin1'))) {
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

function request(method: string, path: string, headers: Record<string, string> = {}, body?: string): [string, Buffer | undefined] {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return [`${lines.join('\r\n')}\r\n\r\n`, body === undefined ? undefined : Buffer.from(body)];
}

/** The response without its Date header (the only part allowed to differ). */
function withoutDate(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw
    .subarray(0, end)
    .toString('latin1')
    .split('\r\n')
    .filter((l) => !/^date:/i.test(l))
    .join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), raw.subarray(end)]);
}

function describeRaw(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  return `${raw.subarray(0, end).toString('latin1')}\n[${raw.length - end - 4} body bytes, sha256 ${createHash('sha256').update(raw.subarray(end)).digest('hex').slice(0, 16)}]`;
}

for (const { name, version, express } of expressVersions) {
  describe(`${name} (${version}): the response is byte-for-byte the same with and without the SDK`, () => {
    let transport: MemoryTransport;
    let apitoolkit: APIToolkit;
    const gates = new Map<string, Gates>();
    let withSdk: string;
    let without: string;
    let sdkRequests = 0;

    before(() => {
      transport = new MemoryTransport();
      apitoolkit = new APIToolkit({
        transport,
        flushIntervalMs: 0,
        redactResponseBody: ['$.token', '$..name'],
        redactRequestBody: ['$.password'],
      });
    });
    after(() => apitoolkit.shutdown(2_000));

    async function both(t: TestContext, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
      withSdk ??= await serve(t, buildApp(express, apitoolkit, gates));
      without ??= await serve(t, buildApp(express, undefined, gates));
      const [head, payload] = request(method, path, headers, body);
      const [a, b] = await Promise.all([exchange(withSdk, head, payload), exchange(without, head, payload)]);
      sdkRequests += 1;
      return { a, b };
    }

    async function assertSame(
      t: TestContext,
      method: string,
      path: string,
      headers: Record<string, string> = {},
      body?: string,
    ): Promise<Buffer> {
      const { a, b } = await both(t, method, path, headers, body);
      assert.ok(b.length > 0, 'the baseline answered');
      const [x, y] = [withoutDate(a), withoutDate(b)];
      assert.ok(x.equals(y), `${method} ${path} differs:\nwith the SDK:\n${describeRaw(x)}\nwithout:\n${describeRaw(y)}`);
      return b;
    }

    // Fresh servers per test: serve() closes them when the test ends.
    const reset = () => {
      withSdk = undefined as unknown as string;
      without = undefined as unknown as string;
    };

    test('JSON, POST with a body, 404, a thrown error', async (t) => {
      reset();
      const json = await assertSame(t, 'GET', '/json');
      assert.match(json.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(json.includes('a-secret-token'), 'the client gets the real, unredacted body');
      await assertSame(t, 'POST', '/echo', { 'Content-Type': 'application/json' }, JSON.stringify({ password: 'hunter2', n: 1 }));
      await assertSame(t, 'GET', '/missing');
      await assertSame(t, 'GET', '/boom');
    });

    test("Express's development error page for a body its parser refused: the stack has no SDK frame", async (t) => {
      reset();
      assert.notEqual(process.env.NODE_ENV, 'production');
      for (const body of ['{"password":hunter2}', `{"n":${'1'.repeat(60)}`]) {
        const page = await assertSame(t, 'POST', '/dev/echo', { 'Content-Type': 'application/json' }, body);
        assert.match(page.toString('latin1'), /^HTTP\/1\.1 400 [\s\S]*<pre>SyntaxError: [\s\S]*node_modules/, 'the stack is on the page');
      }
    });

    test('res.write streaming, chunked with binary and empty chunks, a piped stream', async (t) => {
      reset();
      const stream = await assertSame(t, 'GET', '/stream');
      assert.match(stream.toString('latin1'), /Transfer-Encoding: chunked/);
      await assertSame(t, 'GET', '/chunked');
      await assertSame(t, 'GET', '/piped');
    });

    test('gzip through the compression middleware, mounted after and before the SDK', async (t) => {
      reset();
      for (const path of ['/gzip', '/pre/gzip']) {
        const raw = await assertSame(t, 'GET', path, { 'Accept-Encoding': 'gzip' });
        assert.match(raw.toString('latin1'), /Content-Encoding: gzip/i, path);
      }
    });

    test('a 10 MB file through res.sendFile', async (t) => {
      reset();
      const raw = await assertSame(t, 'GET', '/file');
      assert.equal(raw.length - raw.indexOf('\r\n\r\n') - 4, FILE_BYTES);
      // And a range of it.
      const range = await assertSame(t, 'GET', '/file', { Range: 'bytes=100-199' });
      assert.match(range.toString('latin1'), /^HTTP\/1\.1 206 /);
    });

    test('HEAD, 204, 304 with ETag, and a middleware that ends the response early', async (t) => {
      reset();
      const head = await assertSame(t, 'HEAD', '/json');
      assert.ok(head.toString('latin1').endsWith('\r\n\r\n'), 'no body');
      await assertSame(t, 'GET', '/empty');
      const etag = /ETag: (.+)\r\n/i.exec((await assertSame(t, 'GET', '/json')).toString('latin1'))![1]!;
      const notModified = await assertSame(t, 'GET', '/json', { 'If-None-Match': etag });
      assert.match(notModified.toString('latin1'), /^HTTP\/1\.1 304 /);
      const early = await assertSame(t, 'GET', '/guarded/anything');
      assert.match(early.toString('latin1'), /^HTTP\/1\.1 401 /);
    });

    test('SSE held open for seconds: each event reaches the client before the server sends the next', { timeout: 30_000 }, async (t) => {
      reset();
      withSdk = await serve(t, buildApp(express, apitoolkit, gates));
      without = await serve(t, buildApp(express, undefined, gates));
      const run = async (url: string, id: string) => {
        const gate = new Gates();
        gates.set(id, gate);
        const arrivals: number[] = [];
        const [head] = request('GET', `/sse/${id}`, { Accept: 'text/event-stream' });
        const started = Date.now();
        const raw = await exchange(url, head, undefined, (soFar) => {
          for (let n = 1; n <= SSE_EVENTS; n++) {
            // Opening gate n lets the server send event n + 1: it arrives only if n was not held back.
            if (!arrivals.includes(n) && soFar.includes(`data: {"event":${n}}`)) {
              arrivals.push(n);
              gate.open(n);
            }
          }
          // The last chunk of a chunked body; the server keeps the connection (Connection: keep-alive).
          return soFar.endsWith('\r\n0\r\n\r\n');
        });
        return { raw, arrivals, ms: Date.now() - started };
      };
      const [a, b] = await Promise.all([run(withSdk, `sdk-${version}`), run(without, `bare-${version}`)]);
      sdkRequests += 1;
      assert.deepEqual(a.arrivals, [1, 2, 3], 'every event arrived, in order, each before the next was sent');
      assert.deepEqual(b.arrivals, [1, 2, 3]);
      assert.ok(a.ms >= SSE_EVENTS * SSE_HOLD_MS, 'the stream was held open');
      assert.ok(
        withoutDate(a.raw).equals(withoutDate(b.raw)),
        `SSE bytes differ:\n${a.raw.toString('latin1')}\n---\n${b.raw.toString('latin1')}`,
      );
    });

    test('the SDK was really there: one record per request it served', async () => {
      const records = await transport.waitForRecords(sdkRequests, 10_000);
      assert.equal(records.length, sdkRequests);
      const sse = records.find((r) => r.url_path === '/sse/:id')!;
      assert.equal(Buffer.from(sse.response_body, 'base64').toString().split('data: ').length - 1, SSE_EVENTS);
      const json = records.find((r) => r.raw_url === '/json' && r.status_code === 200)!;
      assert.ok(!Buffer.from(json.response_body, 'base64').toString().includes('a-secret-token'));
    });
  });
}
