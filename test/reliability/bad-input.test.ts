/**
 * Bad input never hurts: malformed JSON, invalid UTF-8, binary labelled JSON, a 50 MB upload,
 * 10 000-deep nesting, huge header counts, multipart with files, a request aborted mid-body and a
 * client that never reads the response. For each: no crash, no stack overflow, no unbounded
 * buffering, the response as without the SDK, and the record marked (truncated / unparsable /
 * aborted) and counted, with nothing it should hide in it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { APIToolkit, MemoryTransport, REDACTED, type APIToolkitOptions } from '../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../src/adapters/express/index.js';
import { expressVersions } from '../helpers/express.js';
import { serve } from '../helpers/http.js';
import { until } from '../helpers/wait.js';

type Express = (typeof expressVersions)[number]['express'];
const MiB = 1024 * 1024;
/** Bytes the /drain route of each server (by base URL) has read of the request in progress. */
const drained = new Map<string, number>();

/** `gc()` without --expose-gc on the command line. */
function exposeGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Buffer memory after full collections. V8 frees ArrayBuffer backing stores on a background
 * thread after a collection, so a single reading on a loaded machine can still count buffers
 * that are already dead: take the lowest of a few readings a little apart. Memory really held
 * shows in every reading.
 */
async function settledArrayBuffers(gc: () => void): Promise<number> {
  let lowest = Infinity;
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 25));
    lowest = Math.min(lowest, process.memoryUsage().arrayBuffers);
  }
  return lowest;
}

const RULES = { redactRequestBody: ['$.password', '$..token'], redactResponseBody: ['$..token'] } satisfies APIToolkitOptions;

function client(t: TestContext, options: APIToolkitOptions = {}) {
  const transport = new MemoryTransport();
  const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, ...RULES, ...options });
  t.after(() => apitoolkit.shutdown(1_000));
  return { transport, apitoolkit };
}

/** The app under test; without a client, the same app with no SDK at all. */
function buildApp(express: Express, apitoolkit: APIToolkit | undefined) {
  const app = express();
  if (apitoolkit) app.use(expressMiddleware(apitoolkit));
  app.post('/json', express.json({ limit: '1mb' }), (req, res) => res.json({ keys: Object.keys(req.body ?? {}).length }));
  app.post('/drain', (req, res) => {
    let bytes = 0;
    const key = `http://127.0.0.1:${req.socket.localPort}`;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      drained.set(key, bytes);
    });
    req.on('end', () => res.json({ bytes }));
  });
  app.post('/deep', express.text({ type: '*/*', limit: '5mb' }), (req, res) => {
    // Echo the body back as JSON: the response is as deep as the request.
    res.type('application/json').send(req.body);
  });
  app.get('/headers', (_req, res) => {
    for (let i = 0; i < 1_000; i++) res.setHeader(`x-r-${i}`, `v${i}`);
    res.json({ ok: true });
  });
  app.get('/count-headers', (req, res) => res.json({ n: Object.keys(req.headers).length }));
  if (apitoolkit) app.use(expressErrorHandler(apitoolkit));
  app.use((err: Error & { status?: number }, _req: unknown, res: { status(n: number): { json(v: unknown): void } }, _next: unknown) => {
    res.status(err.status ?? 500).json({ error: err.message });
  });
  return app;
}

async function pair(t: TestContext, express: Express, apitoolkit: APIToolkit) {
  return { sdk: await serve(t, buildApp(express, apitoolkit)), bare: await serve(t, buildApp(express, undefined)) };
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

async function sameResponse(sdk: string, bare: string, path: string, body: Buffer | string, headers: Record<string, string>) {
  const [a, b] = await Promise.all([post(sdk + path, body, headers), post(bare + path, body, headers)]);
  assert.equal(a.status, b.status, `${path}: status`);
  assert.ok(a.body.equals(b.body), `${path}: body ${a.body.toString().slice(0, 200)} vs ${b.body.toString().slice(0, 200)}`);
  return a;
}

const unb64 = (s: string) => Buffer.from(s, 'base64');

for (const { name, version, express } of expressVersions) {
  describe(`${name} (${version}): bad input`, () => {
    test('malformed JSON, invalid UTF-8, binary labelled JSON: responses unchanged, bodies withheld or kept, counted', async (t) => {
      const { transport, apitoolkit } = client(t);
      const { sdk, bare } = await pair(t, express, apitoolkit);
      const json = { 'content-type': 'application/json' };
      const malformed = await sameResponse(sdk, bare, '/json', '{"password": "hunter2", "oops', json);
      assert.equal(malformed.status, 400);
      const invalidUtf8 = Buffer.concat([
        Buffer.from('{"password":"p\xff\xfe-secret","name":"'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('"}'),
      ]);
      await sameResponse(sdk, bare, '/json', invalidUtf8, json);
      const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
      binary.write('{"password":"bin-secret"', 100, 'latin1');
      await sameResponse(sdk, bare, '/drain', binary, json);

      const records = await transport.waitForRecords(3);
      const [r1, r2, r3] = records.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
      assert.equal(unb64(r1!.request_body).toString(), JSON.stringify(REDACTED), 'malformed JSON is withheld whole');
      assert.equal(r1!.status_code, 400);
      const second = unb64(r2!.request_body).toString('latin1');
      assert.ok(!second.includes('secret'), `invalid UTF-8: the password is redacted (${second})`);
      assert.equal(unb64(r3!.request_body).toString(), JSON.stringify(REDACTED), 'binary labelled JSON is withheld whole');
      assert.equal(apitoolkit.stats().unparsableBodies, 2);
    });

    test('a 50 MB upload streams through: the client gets the full count, the record keeps maxBodyBytes, memory stays flat', {
      timeout: 60_000,
    }, async (t) => {
      const { transport, apitoolkit } = client(t);
      const { sdk, bare } = await pair(t, express, apitoolkit);
      const size = 50 * MiB;
      const pauseAt = 40 * MiB;
      const first = Buffer.alloc(256 * 1024, 'a');
      first.write('{"token":"upload-secret","data":"', 0);
      const filler = Buffer.alloc(256 * 1024, 'a');
      /** Uploads `size` bytes; with `pause`, stops after `pauseAt` until it resolves. */
      const upload = (url: string, pause?: Promise<void>) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(
            `${url}/drain`,
            { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(size) } },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => {
                text += c.toString();
              });
              res.on('end', () => resolve({ status: res.statusCode!, body: text }));
            },
          );
          req.on('error', reject);
          Readable.from(
            (async function* () {
              for (let sent = 0; sent < size; sent += filler.length) {
                if (sent === pauseAt && pause) await pause;
                yield sent === 0 ? first : filler;
              }
            })(),
          ).pipe(req);
        });
      const bareResult = await upload(bare);
      // Measured mid-upload, after a full collection: what the SDK holds of a body that has passed
      // 40 MB. Buffering it would show as ~40 MB; the tee keeps maxBodyBytes (1 MiB).
      const gc = exposeGc();
      const base = await settledArrayBuffers(gc);
      let resume!: () => void;
      const paused = new Promise<void>((r) => {
        resume = r;
      });
      const sdkUpload = upload(sdk, paused);
      await until(() => drained.get(sdk)! >= pauseAt, 'the server to have read 40 MB');
      const held = (await settledArrayBuffers(gc)) - base;
      console.log(`50 MB upload (${name}): Buffer memory held with 40 MB read: ${(held / MiB).toFixed(2)} MiB`);
      resume();
      const sdkResult = await sdkUpload;
      assert.deepEqual(sdkResult, bareResult);
      assert.deepEqual(JSON.parse(sdkResult.body), { bytes: size });
      assert.ok(held < 8 * MiB, `Buffer memory held with 40 MB of the body read: ${(held / MiB).toFixed(1)} MiB`);
      const [record] = await transport.waitForRecords(1);
      // Cut at maxBodyBytes while a rule applies: withheld, never sent raw; marked both ways.
      assert.equal(unb64(record!.request_body).toString(), JSON.stringify(REDACTED));
      assert.equal(apitoolkit.stats().truncatedBodies, 1);
      assert.equal(apitoolkit.stats().unparsableBodies, 1);
    });

    test('10 000-deep nesting in the request and the response: no stack overflow, the deep secret is withheld', async (t) => {
      const { transport, apitoolkit } = client(t);
      const { sdk, bare } = await pair(t, express, apitoolkit);
      const depth = 10_000;
      const deep = `${'{"a":'.repeat(depth)}{"token":"deep-secret"}${'}'.repeat(depth)}`;
      const arrays = `${'['.repeat(depth)}"deep-array-secret-token"${']'.repeat(depth)}`;
      await sameResponse(sdk, bare, '/deep', deep, { 'content-type': 'application/json' });
      await sameResponse(sdk, bare, '/deep', arrays, { 'content-type': 'application/json' });
      const records = await transport.waitForRecords(2);
      for (const r of records) {
        const text = JSON.stringify(r);
        assert.ok(
          !text.includes('deep-secret') &&
            !unb64(r.request_body).includes('deep-secret') &&
            !unb64(r.response_body).includes('deep-secret'),
          'the deep secret never appears',
        );
      }
      assert.ok(apitoolkit.stats().unparsableBodies >= 2, `withheld bodies counted (${apitoolkit.stats().unparsableBodies})`);
      // The process is fine: the next request works.
      assert.equal((await post(`${sdk}/json`, '{"a":1}', { 'content-type': 'application/json' })).status, 200);
    });

    test('1 000 request headers and 1 000 response headers', async (t) => {
      const { transport, apitoolkit } = client(t, { redactHeaders: ['x-h-500'] });
      const { sdk, bare } = await pair(t, express, apitoolkit);
      const headers: Record<string, string> = {};
      for (let i = 0; i < 1_000; i++) headers[`x-h-${i}`] = `h${i}`;
      const [a, b] = await Promise.all([fetch(`${sdk}/count-headers`, { headers }), fetch(`${bare}/count-headers`, { headers })]);
      assert.equal(await a.text(), await b.text());
      const [c, d] = await Promise.all([fetch(`${sdk}/headers`), fetch(`${bare}/headers`)]);
      const strip = (h: Headers) => [...h].filter(([k]) => k !== 'date');
      assert.deepEqual(strip(c.headers), strip(d.headers));
      await c.arrayBuffer();
      await d.arrayBuffer();
      const records = await transport.waitForRecords(2);
      const inbound = records.find((r) => r.raw_url === '/count-headers')!;
      assert.ok(Object.keys(inbound.request_headers).length >= 1_000);
      assert.deepEqual(inbound.request_headers['x-h-500'], [REDACTED]);
      assert.ok(Object.keys(records.find((r) => r.raw_url === '/headers')!.response_headers).length >= 1_000);
    });

    test('multipart with files: text fields kept (and redacted by the rules), each file replaced by a placeholder', async (t) => {
      const { transport, apitoolkit } = client(t);
      const { sdk, bare } = await pair(t, express, apitoolkit);
      const png = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        Buffer.from('file-secret-bytes'),
        Buffer.alloc(12_337, 1),
      ]);
      const form = new FormData();
      form.append('user', 'ada');
      form.append('password', 'multipart-secret');
      form.append('avatar', new Blob([png], { type: 'image/png' }), 'me.png');
      form.append('notes', new Blob(['notes-file-secret'], { type: 'text/plain' }), 'notes.txt');
      form.append('tags', 'a');
      form.append('tags', 'b');
      const encoded = new Request('http://x/', { method: 'POST', body: form });
      const body = Buffer.from(await encoded.arrayBuffer());
      const headers = { 'content-type': encoded.headers.get('content-type')! };
      const res = await sameResponse(sdk, bare, '/drain', body, headers);
      assert.deepEqual(JSON.parse(res.body.toString()), { bytes: body.length });
      const [record] = await transport.waitForRecords(1);
      const sent = unb64(record!.request_body).toString('utf8');
      assert.ok(sent.includes('\r\n\r\nada\r\n'), 'a text field is kept');
      assert.ok(
        sent.includes(`\r\n\r\n${REDACTED}\r\n`) && !sent.includes('multipart-secret'),
        'a text field matched by $.password is redacted',
      );
      assert.ok(sent.includes(`[FILE image/png ${png.length} bytes]`), sent);
      assert.ok(sent.includes('[FILE text/plain 17 bytes]'), sent);
      assert.ok(!sent.includes('file-secret') && !sent.includes('PNG'), 'no file byte is recorded');
      assert.ok(sent.includes('filename="me.png"') && sent.includes('\r\n\r\na\r\n') && sent.includes('\r\n\r\nb\r\n'));
      assert.equal(apitoolkit.stats().redactions, 1);
    });

    test('a multipart upload cut at maxBodyBytes: the cut file is still a placeholder', async (t) => {
      const { transport, apitoolkit } = client(t, { maxBodyBytes: 4096 });
      const { sdk } = await pair(t, express, apitoolkit);
      const form = new FormData();
      form.append('password', 'cut-secret');
      form.append('video', new Blob([Buffer.alloc(100_000, 'v')], { type: 'video/mp4' }), 'v.mp4');
      const encoded = new Request('http://x/', { method: 'POST', body: form });
      await post(`${sdk}/drain`, Buffer.from(await encoded.arrayBuffer()), { 'content-type': encoded.headers.get('content-type')! });
      const [record] = await transport.waitForRecords(1);
      const sent = unb64(record!.request_body).toString('utf8');
      assert.match(sent, /\[FILE video\/mp4 \d+ bytes \(cut\)\]/);
      assert.ok(!sent.includes('vvvv') && !sent.includes('cut-secret'), sent);
      assert.equal(apitoolkit.stats().truncatedBodies, 1);
    });

    test('a request aborted mid-body: recorded as aborted, body withheld, the app keeps serving', async (t) => {
      const { transport, apitoolkit } = client(t);
      const { sdk } = await pair(t, express, apitoolkit);
      const { port } = new URL(sdk);
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write('POST /drain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
      socket.write(`{"password":"aborted-secret","pad":"${'p'.repeat(30_000)}`);
      await until(() => (drained.get(sdk) ?? 0) >= 30_000, 'the server to read the partial body');
      socket.destroy();
      const [record] = await transport.waitForRecords(1);
      assert.ok(
        record!.errors.some((e) => e.error_type === 'RequestAborted'),
        JSON.stringify(record!.errors),
      );
      assert.ok(!JSON.stringify(record).includes('aborted-secret'));
      assert.equal(unb64(record!.request_body).toString(), JSON.stringify(REDACTED));
      assert.equal(apitoolkit.stats().unparsableBodies, 1);
      assert.equal((await post(`${sdk}/json`, '{"a":1}', { 'content-type': 'application/json' })).status, 200);
    });
  });
}

describe('a client that never reads the response', () => {
  for (const { name, version, express } of expressVersions) {
    test(`${name} (${version}): backpressure reaches the app as without the SDK; the record keeps maxBodyBytes`, {
      timeout: 30_000,
    }, async (t) => {
      const { transport, apitoolkit } = client(t);
      const written = new Map<string, { bytes: number; sawBackpressure: boolean; done: boolean }>();
      const build = (sdk: APIToolkit | undefined, key: string) => {
        const app = express();
        if (sdk) app.use(expressMiddleware(sdk));
        app.get('/huge', async (_req, res) => {
          const state = { bytes: 0, sawBackpressure: false, done: false };
          written.set(key, state);
          res.type('application/octet-stream');
          const chunk = Buffer.alloc(64 * 1024, 'z');
          // One 'close' promise for the whole loop: a once() per wait would pile up listeners.
          const closed = once(res, 'close').then(() => {
            state.done = true;
          });
          // An app that honours backpressure: write until write() says stop, wait for 'drain'.
          while (!state.done && state.bytes < 256 * MiB) {
            state.bytes += chunk.length;
            if (!res.write(chunk)) {
              state.sawBackpressure = true;
              await Promise.race([new Promise((resolve) => res.once('drain', resolve)), closed]);
            }
          }
          if (!state.done) res.end();
        });
        return app;
      };
      const urls = { sdk: await serve(t, build(apitoolkit, 'sdk')), bare: await serve(t, build(undefined, 'bare')) };
      const sockets = await Promise.all(
        Object.values(urls).map(async (url) => {
          const socket = connect(Number(new URL(url).port), '127.0.0.1');
          await once(socket, 'connect');
          socket.pause(); // never reads
          socket.write('GET /huge HTTP/1.1\r\nHost: x\r\n\r\n');
          return socket;
        }),
      );
      await until(
        () => written.get('sdk')?.sawBackpressure === true && written.get('bare')?.sawBackpressure === true,
        'both apps to see backpressure',
      );
      // Stalled, not buffering: a little later neither app has written much more.
      const stalled = { sdk: written.get('sdk')!.bytes, bare: written.get('bare')!.bytes };
      await sleep(300);
      assert.ok(written.get('sdk')!.bytes - stalled.sdk <= 128 * 1024, 'the SDK app stays stalled');
      assert.ok(
        written.get('sdk')!.bytes < 64 * MiB && written.get('bare')!.bytes < 64 * MiB,
        `bytes written before the stall: ${JSON.stringify(stalled)}`,
      );
      for (const socket of sockets) socket.destroy();
      const [record] = await transport.waitForRecords(1);
      assert.ok(unb64(record!.response_body).length <= 1 * MiB);
      assert.ok(record!.errors.some((e) => e.error_type === 'RequestAborted'));
      assert.equal(apitoolkit.stats().truncatedBodies, 1);
      await until(() => written.get('sdk')!.done && written.get('bare')!.done, 'both handlers to finish');
    });
  }
});
