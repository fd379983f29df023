/**
 * The peer SDKs' sink of the benchmark (bench/peer-sink.ts): it must count each peer's records in
 * the form that peer sends them (apitally: gzipped NDJSON files; moesif: a gzipped JSON array;
 * OpenTelemetry: OTLP/HTTP JSON, SERVER spans only), over real HTTP on loopback, and answer what
 * the peers ask for. And the harness must name a peer whose packages are absent (CI never installs
 * bench/peers/) rather than fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PEERS } from '../../bench/apps.js';
import { startPeerSink } from '../../bench/peer-sink.js';
import { peerMissing } from '../../bench/peers/index.js';

const span = (kind: number) => ({ traceId: 'a', spanId: 'b', name: 'x', kind });

test('the peer sink counts apitally log lines, moesif events and OTLP SERVER spans, per peer', async (t) => {
  const sink = await startPeerSink();
  t.after(() => sink.close());
  const post = async (path: string, body: Buffer | string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${sink.url}${path}`, { method: 'POST', body, headers });
    return { status: response.status, text: await response.text() };
  };

  // apitally: a gzipped file of 3 request logs (and a trailing newline); its sync carries none.
  const logs = gzipSync(`${['{"uuid":"1"}', '{"uuid":"2"}', '{"uuid":"3"}'].join('\n')}\n`);
  assert.equal((await post('/apitally/v2/00000000-0000-4000-8000-000000000000/bench/log?uuid=u1', logs)).status, 202);
  assert.equal((await post('/apitally/v2/00000000-0000-4000-8000-000000000000/bench/sync', '{"requests":[]}')).status, 202);

  // moesif: its configuration, then a gzipped batch of 2 events.
  const config = await fetch(`${sink.url}/moesif/v1/config`);
  assert.deepEqual(await config.json(), { sample_rate: 100 });
  const events = gzipSync(JSON.stringify([{ request: {} }, { request: {} }]));
  assert.equal((await post('/moesif/v1/events/batch', events, { 'content-encoding': 'gzip' })).status, 200);

  // OpenTelemetry: 2 SERVER spans (kind 2) among INTERNAL ones (kind 1) are 2 requests.
  const traces = { resourceSpans: [{ scopeSpans: [{ spans: [span(2), span(1), span(1)] }, { spans: [span(2)] }] }] };
  assert.equal((await post('/otel/v1/traces', JSON.stringify(traces), { 'content-type': 'application/json' })).status, 200);

  // Something unreadable is counted as such, and counts nothing.
  await post('/moesif/v1/events/batch', 'not json');
  assert.equal((await post('/elsewhere', '')).status, 404);

  assert.deepEqual(sink.counts(), { apitally: 3, moesif: 2, otel: 2, unreadable: 1 });
});

test('a peer whose packages are absent from bench/peers/node_modules is named with the command that installs it', () => {
  const absent = { ...PEERS[0]!, packages: ['no-such-package-apitoolkit-bench'] };
  const reason = peerMissing(absent);
  assert.ok(reason !== null);
  assert.match(reason, /no-such-package-apitoolkit-bench/);
  assert.match(reason, /npm run bench:peers:install/);
});
