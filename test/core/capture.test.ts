/**
 * Capture's fast paths against the plain way of doing the same thing: the body tee over generated
 * chunk sequences (against a straightforward reference), the cached timestamp against toISOString(),
 * request headers against node's headersDistinct, and the hooks a response gets (writeHead only
 * while no header is set; finished or aborted: pipelined requests on one connection, inject()).
 */
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import {
  BodyTee,
  type CaptureAdapter,
  createNodeCapture,
  errorRecord,
  type Exchange,
  isoNow,
  requestHeaders,
} from '../../src/core/capture.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { fastifyPlugin } from '../../src/adapters/fastify/index.js';
import { httpHandler } from '../../src/adapters/http/index.js';
import { serve, unb64 } from '../helpers/http.js';
import { memoryClient } from '../helpers/client.js';
import { prng } from '../helpers/prng.js';

type AddHeaderLines = { _addHeaderLines(headers: string[], n: number): void };

/** The tee as first written: every chunk measured with byteLength, then cut and copied. */
class ReferenceTee {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  seen = 0;
  constructor(readonly limit: number) {}
  get truncated(): boolean {
    return this.seen > this.#kept;
  }
  add(chunk: unknown, encoding?: unknown): void {
    let length: number;
    let take: Buffer | undefined;
    const room = this.limit - this.#kept;
    if (typeof chunk === 'string') {
      const enc = typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8';
      length = Buffer.byteLength(chunk, enc);
      if (room > 0) take = Buffer.from(room >= length ? chunk : chunk.slice(0, room), enc).subarray(0, room);
    } else if (chunk instanceof Uint8Array) {
      length = chunk.byteLength;
      if (room > 0) take = Buffer.from(chunk.subarray(0, room));
    } else {
      return;
    }
    this.seen += length;
    if (take !== undefined && take.length > 0) {
      this.#chunks.push(take);
      this.#kept += take.length;
    }
  }
  bytes(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#kept);
  }
}

const PIECES = ['a', 'Z', '0', ' ', '{"k":1}', 'é', 'ß', '€', '中', '😀', '\ud800', '\udc00', '\n', 'ff', 'zz', '=='];
const ENCODINGS = [undefined, 'utf8', 'utf-8', 'UTF8', 'latin1', 'ascii', 'hex', 'base64', 'ucs2', 'utf16le', 'nonsense', 42];

function chunkOf(random: () => number): [unknown, unknown] {
  const kind = random();
  if (kind < 0.55) {
    let s = '';
    const n = Math.floor(random() * 40);
    for (let i = 0; i < n; i += 1) s += PIECES[Math.floor(random() * PIECES.length)];
    return [s, ENCODINGS[Math.floor(random() * ENCODINGS.length)]];
  }
  if (kind < 0.9) {
    const bytes = new Uint8Array(Math.floor(random() * 50));
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(random() * 256);
    return [random() < 0.5 ? Buffer.from(bytes) : bytes, undefined];
  }
  return [[undefined, null, 7, {}][Math.floor(random() * 4)], undefined];
}

test('BodyTee keeps, counts and flags exactly what the reference does, over 5 000 generated chunk sequences', () => {
  const random = prng(6);
  for (let run = 0; run < 5_000; run += 1) {
    const limit = Math.floor(random() * 120);
    const tee = new BodyTee(limit);
    const reference = new ReferenceTee(limit);
    const chunks: [unknown, unknown][] = [];
    const count = 1 + Math.floor(random() * 6);
    for (let i = 0; i < count; i += 1) {
      const [chunk, encoding] = chunkOf(random);
      chunks.push([chunk, encoding]);
      tee.add(chunk, encoding);
      reference.add(chunk, encoding);
    }
    const context = `run ${run}, limit ${limit}, chunks ${JSON.stringify(chunks.map(([c, e]) => [typeof c === 'string' ? c : c instanceof Uint8Array ? `<${c.length} bytes>` : String(c), e]))}`;
    assert.equal(tee.seen, reference.seen, context);
    assert.equal(tee.truncated, reference.truncated, context);
    assert.deepEqual(tee.bytes(), reference.bytes(), context);
    assert.ok(tee.bytes().length <= limit, context);
  }
});

test('BodyTee copies byte chunks: the app may reuse its buffer after write() returns', () => {
  const tee = new BodyTee(100);
  const first = Buffer.from('first');
  const second = new Uint8Array([1, 2, 3]);
  tee.add(first);
  tee.add(second);
  first.fill(0);
  second.fill(9);
  assert.deepEqual(tee.bytes(), Buffer.concat([Buffer.from('first'), Buffer.from([1, 2, 3])]));
  assert.deepEqual(new BodyTee(10).bytes(), Buffer.alloc(0), 'nothing seen: no bytes');
});

test('isoNow() is what toISOString() writes, over generated instants (second boundaries, before 1970, far years)', (t) => {
  const random = prng(7);
  let now = 0;
  t.mock.method(Date, 'now', () => now);
  const instants = [0, -1, 999, 1000, 1001, -1000, -1001, 8.64e15, -8.64e15, 253402300799999, 253402300800000, -62167219200001];
  for (let i = 0; i < 20_000; i += 1) {
    const base = instants[Math.floor(random() * instants.length)]!;
    const step = Math.floor(random() * 3_000) - 1_500;
    instants.push(Math.max(-8.64e15, Math.min(8.64e15, base + step)));
  }
  for (const instant of instants) {
    now = instant;
    assert.equal(isoNow(), new Date(instant).toISOString(), `at ${instant}`);
    assert.equal(isoNow(), new Date(instant).toISOString(), `again at ${instant}`);
  }
});

test('isoNow() is the ISO string of the current millisecond, also when reused within it', () => {
  for (let i = 0; i < 2_000; i += 1) {
    const before = new Date().toISOString();
    const now = isoNow();
    const after = new Date().toISOString();
    assert.match(now, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(before <= now && now <= after, `${before} <= ${now} <= ${after}`);
  }
});

const HEADER_NAMES = [
  'Host',
  'host',
  'X-A',
  'x-a',
  'X-a',
  'Set-Cookie',
  'Cookie',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '123',
  '0',
  'Content-Type',
  'ÿ',
];

test('requestHeaders() is what req.headersDistinct gives, over 3 000 generated header lists', () => {
  const random = prng(8);
  for (let run = 0; run < 3_000; run += 1) {
    const raw: string[] = [];
    const pairs = Math.floor(random() * 12);
    for (let i = 0; i < pairs; i += 1) raw.push(HEADER_NAMES[Math.floor(random() * HEADER_NAMES.length)]!, `v${Math.floor(random() * 4)}`);
    // node may keep fewer entries than it read (maxHeadersCount): the count it passes decides.
    const count = random() < 0.2 ? 2 * Math.floor(random() * (pairs + 1)) : raw.length;
    const ours = new IncomingMessage(null as never);
    const nodes = new IncomingMessage(null as never);
    (ours as unknown as AddHeaderLines)._addHeaderLines(raw, count);
    (nodes as unknown as AddHeaderLines)._addHeaderLines(raw, count);
    const built = requestHeaders(ours);
    assert.notEqual(built, ours.headersDistinct, "built, not node's object");
    assert.deepEqual(JSON.stringify(built), JSON.stringify(nodes.headersDistinct), `run ${run}: ${JSON.stringify(raw)} (${count})`);
    assert.deepEqual(Object.keys(built), Object.keys(nodes.headersDistinct), `run ${run}: key order`);
  }
});

test("requestHeaders() returns node's own object once the app read (and maybe changed) it", () => {
  const message = new IncomingMessage(null as never);
  (message as unknown as AddHeaderLines)._addHeaderLines(['X-A', '1', 'X-B', '2'], 4);
  const distinct = message.headersDistinct;
  delete distinct['x-b'];
  assert.equal(requestHeaders(message), distinct);
  assert.deepEqual({ ...requestHeaders(message) }, { 'x-a': ['1'] });
});

test('a server with maxHeadersCount: the headers node kept are recorded, as headersDistinct has them', async (t) => {
  const { transport, apitoolkit } = client(t);
  const server = createServer(httpHandler(apitoolkit, (_req, res) => res.end('ok')));
  server.maxHeadersCount = 3;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as { port: number }).port;
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.write('GET /m HTTP/1.1\r\nHost: x\r\nX-One: 1\r\nX-One: 2\r\nX-Two: 3\r\nX-Three: 4\r\n\r\n');
  const [record] = await transport.waitForRecords(1);
  assert.deepEqual(record!.request_headers, { host: ['x'], 'x-one': ['1', '2'] });
});

const client = memoryClient;

test('pipelined requests on one connection: each finished response is recorded whole, none as aborted', async (t) => {
  const { transport, apitoolkit } = client(t);
  const url = await serve(
    t,
    httpHandler(apitoolkit, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        // The first answers last: node queues the others until it finished.
        setTimeout(
          () => {
            res.setHeader('content-type', 'text/plain');
            res.write('got ');
            res.end(Buffer.concat(chunks));
          },
          req.url === '/p/0' ? 30 : 0,
        );
      });
    }),
  );
  const port = Number(new URL(url).port);
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let received = '';
  const answered = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      // Chunked: each response ends with an empty chunk.
      if ((received.match(/\r\n0\r\n\r\n/g) ?? []).length === 3) resolve();
    });
  });
  const requests = [0, 1, 2].map((i) => `POST /p/${i} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nbody${i}`).join('');
  socket.write(requests);
  await answered;
  assert.deepEqual(received.match(/body\d/g), ['body0', 'body1', 'body2'], 'answered in order');
  const records = await transport.waitForRecords(3);
  const byUrl = new Map(records.map((r) => [r.raw_url, r]));
  for (const i of [0, 1, 2]) {
    const record = byUrl.get(`/p/${i}`);
    assert.ok(record, `record of /p/${i}`);
    assert.equal(record.status_code, 200);
    assert.deepEqual(record.errors, [], 'not aborted');
    assert.equal(unb64(record.request_body), `body${i}`);
    assert.equal(unb64(record.response_body), `got body${i}`);
  }
});

test('writeHead(status, headers) after setHeader(): both kinds of header are recorded (no writeHead hook needed)', async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = express();
  app.use(expressMiddleware(apitoolkit));
  app.get('/h', (_req, res) => {
    res.setHeader('x-set', 'a');
    res.writeHead(201, { 'x-given': 'b', 'content-type': 'text/plain' });
    res.end('made');
  });
  const url = await serve(t, app);
  const response = await fetch(`${url}/h`);
  assert.equal(await response.text(), 'made');
  const [record] = await transport.waitForRecords(1);
  assert.equal(record!.status_code, 201);
  assert.deepEqual(record!.response_headers['x-set'], ['a']);
  assert.deepEqual(record!.response_headers['x-given'], ['b']);
  assert.deepEqual(record!.response_headers['x-powered-by'], ['Express']);
  assert.equal(unb64(record!.response_body), 'made');
});

test("writeHead(status, headers) with no header set before (node's fast path): the headers it sent are recorded", async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = express();
  app.disable('x-powered-by');
  app.use(expressMiddleware(apitoolkit));
  app.get('/h', (_req, res) => {
    res.writeHead(200, [
      ['x-pair', '1'],
      ['X-Pair', '2'],
      ['content-type', 'text/plain'],
    ]);
    res.end('fast');
  });
  const url = await serve(t, app);
  assert.equal(await (await fetch(`${url}/h`)).text(), 'fast');
  const [record] = await transport.waitForRecords(1);
  assert.deepEqual(record!.response_headers['x-pair'], ['1', '2']);
  assert.deepEqual(record!.response_headers['content-type'], ['text/plain']);
});

const LIMITS = { maxBodyBytes: 1 << 20, captureRequestBody: true, captureResponseBody: true };
const PLAIN: CaptureAdapter = { sdkType: 'JsNode', route: () => ({ template: '', params: {} }) };

test("a response's hooks are one set of functions for every response, not closures made per request", async (t) => {
  // A fresh writeHead wrapper on each response put Koa's process in V8's pretenuring mode
  // (bench/results/INSITU.md): the hooks must stay shared.
  const done: Exchange[] = [];
  const capture = createNodeCapture(LIMITS, (exchange) => done.push(exchange));
  const hooked: ServerResponse[] = [];
  const url = await serve(t, (req, res) => {
    capture.start(req, res, PLAIN, undefined);
    hooked.push(res);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('a');
    res.end('b');
  });
  for (let i = 0; i < 3; i += 1) assert.equal(await (await fetch(`${url}/${i}`)).text(), 'ab');
  await waitFor(() => done.length === 3);
  for (const name of ['write', 'end', 'writeHead'] as const) {
    assert.notEqual(hooked[0]![name], ServerResponse.prototype[name], name);
    assert.equal(hooked[1]![name], hooked[0]![name], name);
    assert.equal(hooked[2]![name], hooked[0]![name], name);
  }
  for (const [i, exchange] of done.entries()) {
    assert.equal(exchange.res, hooked[i]);
    assert.equal(exchange.responseTee?.bytes().toString(), 'ab');
    assert.deepEqual({ ...exchange.sentHeaders }, { 'content-type': 'text/plain' });
  }
});

test('a response observed twice by one capture: the second exchange gets every byte once, the hooks never call themselves', async (t) => {
  const done: Exchange[] = [];
  const capture = createNodeCapture(LIMITS, (exchange) => done.push(exchange));
  const url = await serve(t, (req, res) => {
    const first = capture.start(req, res, PLAIN, undefined);
    const second = capture.start(req, res, PLAIN, undefined);
    assert.notEqual(first, second);
    res.writeHead(202, { 'x-twice': '1' });
    res.write('one,');
    res.end('two');
  });
  const response = await fetch(`${url}/twice`);
  assert.equal(response.status, 202);
  assert.equal(response.headers.get('x-twice'), '1');
  assert.equal(await response.text(), 'one,two');
  await waitFor(() => done.length >= 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(done.length, 1);
  assert.equal(done[0]!.responseTee?.bytes().toString(), 'one,two');
  assert.deepEqual({ ...done[0]!.sentHeaders }, { 'x-twice': '1' });
});

test('the capture adds no property to a response but its hooks: the exchange is found through res.req', async (t) => {
  // Express gives each response a map of its own, where every property added costs a transition
  // made at run time (bench/results/INSITU.md).
  const done: Exchange[] = [];
  const capture = createNodeCapture(LIMITS, (exchange) => done.push(exchange));
  const added: (string | symbol)[][] = [];
  const url = await serve(t, (req, res) => {
    const before = new Set(Reflect.ownKeys(res));
    capture.start(req, res, PLAIN, undefined);
    added.push(Reflect.ownKeys(res).filter((k) => !before.has(k)));
    res.setHeader('x-set', '1');
    res.end('body');
  });
  assert.equal(await (await fetch(`${url}/a`)).text(), 'body');
  await waitFor(() => done.length === 1);
  // writeHead too: no header was set when the capture started (see the writeHead tests above).
  assert.deepEqual(added, [['write', 'end', 'writeHead']]);
  assert.equal(done[0]!.responseTee?.bytes().toString(), 'body');
});

test('a response started again for another request object: it carries the new exchange itself, the first is left', async (t) => {
  const done: Exchange[] = [];
  const capture = createNodeCapture(LIMITS, (exchange) => done.push(exchange));
  let second: Exchange | undefined;
  const url = await serve(t, (req, res) => {
    capture.start(req, res, PLAIN, undefined);
    res.write('one,');
    // Another request object for the same response (res.req stays the first): the hooks must now
    // find the second exchange, not the first through res.req.
    const other = Object.create(req) as IncomingMessage;
    second = capture.start(other, res, PLAIN, undefined);
    res.end('two');
  });
  assert.equal(await (await fetch(`${url}/other-req`)).text(), 'one,two');
  await waitFor(() => done.length >= 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(done.length, 1);
  assert.equal(done[0], second);
  assert.equal(done[0]!.responseTee?.bytes().toString(), 'two');
});

test("a hook called on a response it never hooked does what that response's own method does, and records nothing", async (t) => {
  const done: Exchange[] = [];
  const capture = createNodeCapture(LIMITS, (exchange) => done.push(exchange));
  let hook:
    | { write: (...args: unknown[]) => unknown; end: (...args: unknown[]) => unknown; writeHead: (...args: unknown[]) => unknown }
    | undefined;
  const url = await serve(t, (req, res) => {
    if (req.url === '/hooked') {
      capture.start(req, res, PLAIN, undefined);
      hook = {
        write: res.write as (...args: unknown[]) => unknown,
        end: res.end as (...args: unknown[]) => unknown,
        writeHead: res.writeHead as (...args: unknown[]) => unknown,
      };
      res.end('hooked');
      return;
    }
    // Taken off the hooked response, called on this one (observed by nobody).
    hook!.writeHead.call(res, 200, { 'x-foreign': 'yes' });
    hook!.write.call(res, 'not ');
    hook!.end.call(res, 'observed');
  });
  assert.equal(await (await fetch(`${url}/hooked`)).text(), 'hooked');
  const response = await fetch(`${url}/other`);
  assert.equal(response.headers.get('x-foreign'), 'yes');
  assert.equal(await response.text(), 'not observed');
  await waitFor(() => done.length >= 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(done.length, 1);
  assert.equal(done[0]!.responseTee?.bytes().toString(), 'hooked');
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'timed out');
}

test('two clients observing one request each record it whole', async (t) => {
  const one = client(t);
  const two = client(t);
  const app = express();
  app.use(express.json());
  app.use(expressMiddleware(one.apitoolkit));
  app.use(expressMiddleware(two.apitoolkit));
  app.post('/both/:id', (req, res) => {
    one.apitoolkit.reportError(new Error('for one'));
    res.json({ id: req.params.id });
  });
  const url = await serve(t, app);
  await (await fetch(`${url}/both/7`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })).text();
  const [a] = await one.transport.waitForRecords(1);
  const [b] = await two.transport.waitForRecords(1);
  for (const record of [a!, b!]) {
    assert.equal(record.url_path, '/both/:id');
    assert.equal(unb64(record.request_body), '{"a":1}');
    assert.equal(unb64(record.response_body), '{"id":"7"}');
  }
  assert.deepEqual(
    a!.errors.map((e) => e.message),
    ['for one'],
  );
  assert.deepEqual(b!.errors, []);
});

test("Fastify inject() responses (no socket of node's server): finished, not aborted, body recorded", async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = Fastify();
  await app.register(fastifyPlugin, { client: apitoolkit });
  app.get('/i', async () => ({ injected: true }));
  t.after(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/i' });
  assert.equal(response.statusCode, 200);
  const [record] = await transport.waitForRecords(1);
  assert.equal(record!.status_code, 200);
  assert.deepEqual(record!.errors, []);
  assert.equal(unb64(record!.response_body), '{"injected":true}');
});

/** The error JSON.parse throws on `text`. */
function parseError(text: string): SyntaxError {
  try {
    JSON.parse(text);
  } catch (error) {
    return error as SyntaxError;
  }
  throw new Error(`${text} parsed`);
}

test('errorRecord() keeps no excerpt a JSON parser quoted, in the message, the stack or a cause', () => {
  const secret = 'hunter2-EXCERPT';
  const bodies = [
    `{"password":${secret}}`,
    `{"user":{"name":"ada","password":${secret},"note":"${'x'.repeat(200)}"}}`,
    `${secret}`,
    `{"a":"b","password":"${secret}"x}`,
    `{"p":\n${secret}\n    at fake (frame.js:1:1)}`,
  ];
  for (const body of bodies) {
    const error = parseError(body);
    // body-parser's strict mode rewrites the message after the stack was made: both must be clean.
    const rewritten = Object.assign(parseError(body), { message: `${error.message} (rewritten)` });
    for (const thrown of [error, rewritten, new Error('request failed', { cause: error })]) {
      const record = errorRecord(thrown);
      const text = JSON.stringify(record);
      assert.ok(!text.includes(secret.slice(0, 5)), `${body}: ${text}`);
      assert.match(record.root_error_message, /JSON/);
    }
  }
  // JavaScriptCore (Bun) names the token instead.
  assert.equal(
    errorRecord(new SyntaxError(`JSON Parse error: Unexpected identifier "${secret}"`)).message,
    'JSON Parse error: Unexpected identifier "[CLIENT_REDACTED]"',
  );
  // Messages that quote nothing are kept as they are.
  for (const message of [
    'Unexpected end of JSON input',
    'Unexpected non-whitespace character after JSON at position 10',
    'outer failure',
  ]) {
    assert.equal(errorRecord(new SyntaxError(message)).message, message);
  }
});
