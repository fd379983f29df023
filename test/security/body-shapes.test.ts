/**
 * A body that may hold JSON is redacted as JSON however it is labelled, and withheld when it cannot
 * be read whole: through real Express apps on loopback (the SDK before any parser, the app reading
 * the raw body), request and response side. Each case plants a secret a rule selects.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, test, type TestContext } from 'node:test';
import type { RequestHandler } from 'express';
import { APIToolkit, MemoryTransport, REDACTED, type ApiRecord } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { expressVersions } from '../helpers/express.js';
import { serve, unb64 } from '../helpers/http.js';

type Express = (typeof expressVersions)[number]['express'];

const SECRET = 'S3CR3T-body-shape';
const MAX = 2048;
const MARKER = JSON.stringify(REDACTED);
const big = (): string => JSON.stringify({ pad: 'p'.repeat(MAX), password: SECRET });
const small = (): string => JSON.stringify({ password: SECRET, keep: 'kept' });

/** One exchange: what the client sends (raw, no parser in the app) and what the app answers. */
interface Shape {
  name: string;
  request?: { body: Buffer; headers: Record<string, string> };
  response?: { body: Buffer; headers: Record<string, string> };
  /** What the record's body (request or response, whichever the case sets) must be. */
  expect: (recorded: string) => void;
}

const withheld = (recorded: string): void => assert.equal(recorded, MARKER);
const redacted = (recorded: string): void => {
  assert.deepEqual(JSON.parse(recorded), { password: REDACTED, keep: 'kept' });
};

const SHAPES: Shape[] = [
  { name: 'a JSON request with no content type, over maxBodyBytes', request: { body: Buffer.from(big()), headers: {} }, expect: withheld },
  {
    name: 'a JSON response with no content type, over maxBodyBytes',
    response: { body: Buffer.from(big()), headers: {} },
    expect: withheld,
  },
  {
    name: 'a JSON request as text/plain, over maxBodyBytes',
    request: { body: Buffer.from(big()), headers: { 'content-type': 'text/plain' } },
    expect: withheld,
  },
  {
    name: 'a gzip JSON response with no content type, over maxBodyBytes compressed',
    response: {
      body: gzipSync(Buffer.from(JSON.stringify({ pad: Array.from({ length: 600 }, (_, i) => `${i}-${i * 7919}`), password: SECRET }))),
      headers: { 'content-encoding': 'gzip' },
    },
    expect: withheld,
  },
  {
    name: 'a JSON request with a byte order mark and no content type',
    request: { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(small())]), headers: {} },
    expect: redacted,
  },
  {
    name: 'a gzip JSON request with no content type and no content encoding',
    request: { body: gzipSync(small()), headers: {} },
    expect: redacted,
  },
  {
    name: 'a gzip JSON request with Content-Encoding: gzip, read raw by the app',
    request: { body: gzipSync(small()), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
    expect: redacted,
  },
  { name: 'a cut gzip request with no content type', request: { body: gzipSync(big()).subarray(0, 60), headers: {} }, expect: withheld },
  {
    name: 'a response typed text/json',
    response: { body: Buffer.from(small()), headers: { 'content-type': 'text/json' } },
    expect: redacted,
  },
  {
    name: 'a response typed application/x-json',
    response: { body: Buffer.from(small()), headers: { 'content-type': 'application/x-json; charset=utf-8' } },
    expect: redacted,
  },
  {
    name: 'a response typed text/plain holding JSON',
    response: { body: Buffer.from(small()), headers: { 'content-type': 'text/plain' } },
    expect: redacted,
  },
];

async function exchange(t: TestContext, express: Express, shape: Shape): Promise<ApiRecord> {
  const transport = new MemoryTransport({ projectId: '11111111-2222-4333-8444-555555555555' });
  const apitoolkit = new APIToolkit({
    transport,
    flushIntervalMs: 0,
    maxBodyBytes: MAX,
    redactRequestBody: ['$.password'],
    redactResponseBody: ['$.password'],
  });
  t.after(() => apitoolkit.shutdown(1_000));
  const app = express();
  app.use(expressMiddleware(apitoolkit) as RequestHandler);
  app.post('/in', (req, res) => {
    // The app reads the raw body itself.
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => {
      if (shape.response === undefined) {
        res.json({ length });
        return;
      }
      // No content type unless the case sets one (express would add one for a Buffer).
      res.removeHeader('X-Powered-By');
      res.writeHead(200, shape.response.headers);
      res.end(shape.response.body);
    });
  });
  const url = await serve(t, app);
  const request = shape.request ?? { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } };
  const res = await fetch(`${url}/in`, { method: 'POST', headers: request.headers, body: request.body });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const [record] = await transport.waitForRecords(1);
  return record!;
}

for (const { name: version, express } of expressVersions) {
  describe(`${version}: bodies that may hold JSON, however labelled`, () => {
    for (const shape of SHAPES) {
      test(shape.name, async (t) => {
        const record = await exchange(t, express, shape);
        const recorded = unb64(shape.response === undefined ? record.request_body : record.response_body);
        assert.ok(!JSON.stringify(record).includes(SECRET) && !recorded.includes(SECRET), `leaked: ${recorded.slice(0, 200)}`);
        shape.expect(recorded);
      });
    }
  });
}
