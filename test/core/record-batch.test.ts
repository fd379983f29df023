/**
 * Finished node:http exchanges are made into records a few at a time (client.ts, HOLD_RECORDS):
 * what a user sees must not change. Records arrive without flush(), in the order the exchanges
 * finished; stats() counts every finished request; flush() and shutdown() deliver every one;
 * nothing is left running after shutdown().
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type TestContext, test } from 'node:test';
import { httpHandler } from '../../src/adapters/http/index.js';
import type { APIToolkit, ApiRecord } from '../../src/index.js';
import { memoryClient } from '../helpers/client.js';
import { serve } from '../helpers/http.js';

/**
 * An app whose responses tell the test when the SDK has seen them finish: the SDK's own 'close'
 * listener was added when the request arrived, before the app's.
 */
function app(closed: (res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    res.on('close', () => closed(res));
    req
      .on('data', () => undefined)
      .on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ url: req.url }));
      });
  };
}

/** The app observed on loopback, and a wait until the SDK has seen `count` responses finish. */
async function observed(t: TestContext, apitoolkit: APIToolkit): Promise<{ url: string; finished(count: number): Promise<void> }> {
  let closed = 0;
  const url = await serve(
    t,
    httpHandler(
      apitoolkit,
      app(() => (closed += 1)),
    ),
  );
  return {
    url,
    finished: async (count) => {
      while (closed < count) await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

async function post(url: string, body: string): Promise<void> {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  await response.text();
}

test('records arrive without flush(), one per request, in the order the requests finished', async (t) => {
  const { transport, apitoolkit } = memoryClient(t);
  const { url } = await observed(t, apitoolkit);
  // More than one batch of held exchanges, and a remainder that only the timer sends.
  const count = 75;
  for (let i = 0; i < count; i++) await post(`${url}/r/${i}`, `{"i":${i}}`);
  const records = await transport.waitForRecords(count, 5_000);
  assert.deepEqual(
    records.map((r) => r.raw_url),
    Array.from({ length: count }, (_, i) => `/r/${i}`),
  );
  assert.equal(new Set(records.map((r) => r.msg_id)).size, count, 'one record per request');
});

test('stats() counts every request that finished, at once', async (t) => {
  const built: ApiRecord[] = [];
  const { apitoolkit } = memoryClient(t, {
    beforeSend: (record) => {
      built.push(record);
      return record;
    },
  });
  const { url, finished } = await observed(t, apitoolkit);
  for (let i = 0; i < 5; i++) await post(`${url}/s/${i}`, '{}');
  await finished(5);
  // No wait for a timer: stats() itself makes records of what finished.
  const stats = apitoolkit.stats();
  assert.equal(stats.captured, 5);
  assert.equal(built.length, 5, 'every finished exchange was made into a record');
  assert.equal(stats.queued + stats.published, 5);
});

test('shutdown() right after the responses delivers every record and leaves no timer behind', async (t) => {
  const { transport, apitoolkit } = memoryClient(t);
  const { url, finished } = await observed(t, apitoolkit);
  for (let i = 0; i < 3; i++) await post(`${url}/d/${i}`, '{"x":1}');
  await finished(3);
  const result = await apitoolkit.shutdown(2_000);
  assert.deepEqual(result, { flushed: true, dropped: 0 });
  assert.deepEqual(
    transport.records().map((r) => r.raw_url),
    ['/d/0', '/d/1', '/d/2'],
  );
  const stats = apitoolkit.stats();
  assert.equal(stats.captured, 3);
  assert.equal(stats.published, 3);
  // What the SDK left on the event loop: none of its timers.
  const timers = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout');
  assert.equal(timers.length, 0, `timers still active after shutdown(): ${timers.length}`);
});

test('flush() delivers what finished just before it', async (t) => {
  const { transport, apitoolkit } = memoryClient(t, { flushIntervalMs: 60_000 });
  const { url, finished } = await observed(t, apitoolkit);
  await post(`${url}/f`, '{}');
  await finished(1);
  assert.equal(await apitoolkit.flush(2_000), true);
  assert.deepEqual(
    transport.records().map((r) => r.raw_url),
    ['/f'],
  );
});

test('large bodies are not held: past 512 KiB of held bodies, records are made at once', async (t) => {
  const built: string[] = [];
  const { apitoolkit } = memoryClient(t, {
    maxBodyBytes: 1024 * 1024,
    beforeSend: (record) => {
      built.push(record.raw_url);
      return record;
    },
  });
  const { url, finished } = await observed(t, apitoolkit);
  await post(`${url}/small`, '{}');
  const big = JSON.stringify({ pad: 'x'.repeat(600 * 1024) });
  await post(`${url}/big`, big);
  await finished(2);
  // Its body alone is past the bound: it was made into a record when it finished (with anything
  // held before it, in order), not by the timer.
  assert.deepEqual(built, ['/small', '/big']);
});
