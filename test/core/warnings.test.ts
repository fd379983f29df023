/**
 * Failures the app's owner must act on are not silent without `debug`: a refused key, an
 * unreachable rootURL, a failing publish and dropped records are each written once through
 * `logger`, with a code and what to do, and again at most every ten minutes.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { APIToolkit, type APIToolkitOptions } from '../../src/index.js';
import { startCollector } from '../../src/collector/index.js';
import { httpHandler } from '../../src/adapters/http/index.js';
import { serve } from '../helpers/http.js';
import { closedPort } from '../helpers/emulator.js';
import { until } from '../helpers/wait.js';

function client(t: TestContext, options: APIToolkitOptions) {
  const lines: string[] = [];
  const apitoolkit = new APIToolkit({ flushIntervalMs: 0, logger: (line) => lines.push(line), ...options });
  t.after(() => apitoolkit.shutdown(200));
  return {
    apitoolkit,
    lines,
    codes: () => lines.map((l) => /^apitoolkit: warning (APITOOLKIT_WARN_\w+): /.exec(l)?.[1] ?? `(other) ${l}`),
  };
}

test('a refused key: one warning naming the variable to check', async (t) => {
  const collector = await startCollector({ inspector: false, rejectKeys: ['bad-key'] });
  t.after(() => collector.close());
  const { apitoolkit, lines, codes } = client(t, {
    apiKey: 'bad-key',
    rootURL: collector.rootURL,
    pubsubEndpoint: collector.pubsubEndpoint,
  });
  await assert.rejects(apitoolkit.ready());
  assert.deepEqual(codes(), ['APITOOLKIT_WARN_API_KEY_REFUSED']);
  assert.match(lines[0]!, /refused \(401\).*APITOOLKIT_KEY/);
  assert.ok(!lines[0]!.includes('bad-key'), 'the key itself is never printed');
});

test('an unreachable rootURL: one warning across many retries', async (t) => {
  const port = await closedPort();
  const { apitoolkit, lines, codes } = client(t, { apiKey: 'k', rootURL: `http://127.0.0.1:${port}` });
  // The first retries come at 0.25-0.5 s, 0.5-1 s: wait for three failed attempts' worth.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  assert.equal(apitoolkit.stats().state, 'starting');
  assert.deepEqual(codes(), ['APITOOLKIT_WARN_METADATA_UNREACHABLE']);
  assert.match(lines[0]!, new RegExp(`127\\.0\\.0\\.1:${port}/api/client_metadata.*retrying in the background`));
});

test('a failing publish warns once while retrying; records Pub/Sub refuses are dropped with one warning', async (t) => {
  const collector = await startCollector({ inspector: false });
  t.after(() => collector.close());
  const { apitoolkit, codes } = client(t, {
    apiKey: 'k',
    rootURL: collector.rootURL,
    pubsubEndpoint: collector.pubsubEndpoint,
    exportTimeoutMs: 2_000,
  });
  await apitoolkit.ready();
  const url = await serve(
    t,
    httpHandler(apitoolkit, (_req, res) => res.end('ok')),
  );
  const requests = async (n: number) => {
    for (let i = 0; i < n; i++) await (await fetch(`${url}/x/${i}`)).text();
  };
  collector.setPublishFault(14); // UNAVAILABLE: retried
  await requests(3);
  await until(() => apitoolkit.stats().failed >= 3, 'three failed attempts', 20_000);
  assert.deepEqual(codes(), ['APITOOLKIT_WARN_PUBLISH_RETRYING']);
  collector.setPublishFault(7); // PERMISSION_DENIED: dropped
  await until(() => apitoolkit.stats().dropped.send_failed >= 3, 'dropped as send_failed', 20_000);
  await requests(3);
  await until(() => apitoolkit.stats().dropped.send_failed >= 6, 'dropped again', 20_000);
  assert.deepEqual(codes(), ['APITOOLKIT_WARN_PUBLISH_RETRYING', 'APITOOLKIT_WARN_RECORDS_DROPPED']);
});
