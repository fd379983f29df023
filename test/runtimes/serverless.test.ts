/**
 * Work after the response on platforms that freeze or end the process once it is sent:
 * - a Cloudflare Worker (workerd) whose isolate is torn down right after the response still
 *   delivers its record, through `ctx.waitUntil`; without it (the control) the record is lost;
 * - an AWS Lambda handler (`withFlush(handle(app))`) invoked 100 times in a process frozen
 *   (SIGSTOP) between invocations and killed while frozen loses nothing; unwrapped (the control),
 *   it does.
 * Records go to a local collector on loopback; redaction is checked on what arrives.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { bundleWorker, ensureBuilt, makeAppDir, repo, startWorkerd } from '../helpers/runtimes.js';

const R = '[CLIENT_REDACTED]';
const decode = (b64: string): unknown => JSON.parse(Buffer.from(b64, 'base64').toString());
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let collector: Collector;
before(async () => {
  collector = await startCollector({ inspector: false });
});
after(() => collector.close());

/** Client settings: batching that would hold a record 5 s, longer than any of these tests waits. */
const settings = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    rootURL: collector.rootURL,
    pubsubEndpoint: collector.pubsubEndpoint,
    redactResponseBody: ['$.token'],
    redactHeaders: ['X-Api-Key'],
    flushIntervalMs: 5_000,
    ...extra,
  });

describe('Cloudflare Worker (workerd): the isolate torn down right after the response', { timeout: 60_000 }, () => {
  let app: ReturnType<typeof makeAppDir>;
  before(async () => {
    await ensureBuilt();
    app = makeAppDir();
    await bundleWorker(app.dir, 'worker.mjs', 'worker.bundle.js');
  });
  after(() => app?.remove());

  /** One request, then the isolate is given `graceMs` before workerd is killed; the records that arrived. */
  async function oneRequest(waitUntil: 'on' | 'off', graceMs: number): Promise<number> {
    collector.clear();
    const server = await startWorkerd(
      app.dir,
      {
        bundle: 'worker.bundle.js',
        bindings: { APP: 'fetch', APITOOLKIT_TEST: settings(), WAIT_UNTIL: waitUntil },
        flags: ['nodejs_compat'],
      },
      `teardown-${waitUntil}`,
    );
    try {
      const response = await fetch(`${server.url}/users/7`, { headers: { 'x-api-key': 'secret-key' } });
      assert.deepEqual(await response.json(), { id: '7', token: 'secret-token' }, "the response is the app's");
      if (waitUntil === 'on') await collector.waitForRecords(1, graceMs);
      else await pause(graceMs);
    } finally {
      // The isolate goes: whatever it still held is lost.
      await server.close();
    }
    return collector.records().length;
  }

  test('with ctx.waitUntil (found by fetchHandler itself) the record is delivered before the teardown', async () => {
    assert.equal(await oneRequest('on', 10_000), 1);
    const [record] = collector.records();
    assert.equal(record!.url_path, '/users/:id');
    assert.deepEqual(record!.request_headers['x-api-key'], [R]);
    assert.deepEqual(decode(record!.response_body), { id: '7', token: R });
  });

  test('control: with waitUntil off, the same record is still queued when the isolate goes, and lost', async () => {
    assert.equal(await oneRequest('off', 1_500), 0);
  });
});

describe('AWS Lambda: a handler invoked 100 times, frozen between invocations, killed while frozen', { timeout: 120_000 }, () => {
  /** Runs `count` invocations of test/fixtures/runtimes/lambda.ts; resolves the records that arrived. */
  async function invocations(count: number, flush: 'on' | 'off'): Promise<number> {
    collector.clear();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/runtimes/lambda.ts'], {
      cwd: repo,
      env: { ...process.env, APITOOLKIT_TEST: settings(), FLUSH: flush },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const results = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    try {
      for (let i = 1; i <= count; i++) {
        if (i > 1) child.kill('SIGCONT');
        child.stdin!.write(`${JSON.stringify(apiGatewayEvent(i))}\n`);
        const { value } = await results.next();
        const result = JSON.parse(value as string) as { statusCode: number; body: string };
        assert.equal(result.statusCode, 200);
        assert.deepEqual(JSON.parse(result.body), { id: String(i), token: 'secret-token' });
        // Lambda freezes the process as soon as the handler returned.
        child.kill('SIGSTOP');
        await pause(2);
      }
      // Give anything still running (nothing should be: it is frozen) the time it would take.
      await pause(500);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    return collector.records().length;
  }

  test('withFlush: all 100 records arrive, redacted', async () => {
    assert.equal(await invocations(100, 'on'), 100);
    const records = collector.records();
    assert.deepEqual(new Set(records.map((r) => r.raw_url)).size, 100, 'one record per invocation');
    for (const record of records) {
      assert.equal(record.sdk_type, 'JsHono');
      assert.equal(record.url_path, '/items/:id');
      assert.deepEqual(record.request_headers['x-api-key'], [R]);
      assert.deepEqual((decode(record.response_body) as { token: string }).token, R);
    }
  });

  test('control: without withFlush the records of a frozen process are lost with it', async () => {
    assert.ok((await invocations(5, 'off')) < 5);
  });
});

/** An API Gateway HTTP API (payload 2.0) / function URL event for GET /items/:n. */
function apiGatewayEvent(n: number): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: `/items/${n}`,
    rawQueryString: `n=${n}`,
    headers: { host: 'abc123.lambda-url.eu-west-1.on.aws', 'x-api-key': 'secret-key', 'user-agent': 'test' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc123',
      http: { method: 'GET', path: `/items/${n}`, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: `request-${n}`,
      routeKey: '$default',
      stage: '$default',
      time: '02/Dec/2026:10:00:00 +0000',
      timeEpoch: 1_796_205_600_000,
    },
    isBase64Encoded: false,
  };
}
