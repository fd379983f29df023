/**
 * Delivery tests against the genuine Google Pub/Sub emulator (Java). Not matched by the unit-test glob
 * (`test/*\/*.test.ts`); run it with `npm run test:emulator` (scripts/test-emulator.sh), which skips
 * it when gcloud is not installed. Run directly, it fails loudly without the emulator.
 */

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { TransportError } from '../../src/core/errors.js';
import { makePubSubTransport } from '../../src/transport/pubsub.js';
import type { Transport } from '../../src/transport/types.js';
import { assertReadmeRecord, runReadmeExample } from '../helpers/readme-example.js';
import { emulatorAvailable, serveMetadata, startEmulator, type MetadataServer, type RunningEmulator } from '../helpers/emulator.js';

const PROJECT = 'apitoolkit-emulator';
const API_KEY = 'emulator-api-key-71c0';

/**
 * A plaintext HTTP/2 pass-through in front of the emulator that counts gRPC calls by method path, so
 * a test can see how many Publish RPCs one send() made.
 */
async function countingProxy(target: string): Promise<{ host: string; calls: string[]; close(): Promise<void> }> {
  const upstream = http2.connect(`http://${target}`);
  upstream.on('error', () => {});
  const calls: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    calls.push(path);
    const forwarded: http2.OutgoingHttpHeaders = { ':method': headers[':method'], ':path': path };
    for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':')) forwarded[name] = value;
    const request = upstream.request(forwarded);
    let trailers: http2.IncomingHttpHeaders = {};
    request.on('response', (responseHeaders) => {
      const out: http2.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(responseHeaders)) if (!name.startsWith(':') || name === ':status') out[name] = value;
      stream.respond(out, { waitForTrailers: true });
      request.pipe(stream);
    });
    request.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('wantTrailers', () => {
      const out: http2.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(trailers)) if (!name.startsWith(':')) out[name] = value;
      stream.sendTrailers(out);
    });
    request.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('error', () => request.close(http2.constants.NGHTTP2_CANCEL));
    stream.pipe(request);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        upstream.close();
        server.close(() => resolve());
      }),
  };
}

if (!emulatorAvailable()) {
  throw new Error('Pub/Sub emulator not found (gcloud and java must be on PATH): run these tests via scripts/test-emulator.sh');
}

describe('Pub/Sub transport against the emulator', () => {
  let emulator: RunningEmulator;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let admin: PubSub;
  let subscriber: v1.SubscriberClient;
  let backend: MetadataServer;
  let transport: Transport;
  const subscription = `projects/${PROJECT}/subscriptions/apitoolkit-sub`;

  before(async () => {
    const t0 = Date.now();
    emulator = await startEmulator(PROJECT);
    console.log(`emulator ready on ${emulator.host} in ${Date.now() - t0} ms`);
    proxy = await countingProxy(emulator.host);
    admin = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true, universeDomain: 'googleapis.com' });
    // The emulator drops messages published to a topic with no subscription: create both first.
    const [topic] = await admin.createTopic('apitoolkit-topic');
    await topic.createSubscription('apitoolkit-sub');
    // getClientConfig() is documented as 'suitable for passing into a GAPIC v1 class constructor'.
    subscriber = new v1.SubscriberClient((await admin.getClientConfig()) as ConstructorParameters<typeof v1.SubscriberClient>[0]);
    backend = await serveMetadata([
      {
        status: 200,
        body: {
          project_id: '00000000-0000-4000-8000-0000000000aa',
          pubsub_project_id: PROJECT,
          topic_id: 'apitoolkit-topic',
          pubsub_push_service_account: { type: 'service_account', client_email: 'x@example.com', private_key: 'unused-in-emulator-mode' },
        },
      },
    ]);
    transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: proxy.host });
    assert.deepEqual(await transport.start(AbortSignal.timeout(10_000)), { projectId: '00000000-0000-4000-8000-0000000000aa' });
  });

  after(async () => {
    await transport?.shutdown();
    await subscriber?.close();
    await admin?.close();
    await backend?.close();
    await proxy?.close();
    await emulator?.stop();
  });

  /** Pulls (and acks) until `count` messages arrived or 10 s passed; then checks nothing more arrives. */
  async function pull(count: number): Promise<Array<{ data: Buffer; attributes: Record<string, string> }>> {
    const received: Array<{ data: Buffer; attributes: Record<string, string> }> = [];
    const deadline = Date.now() + 10_000;
    while (received.length < count && Date.now() < deadline) {
      const [response] = await subscriber.pull({ subscription, maxMessages: 1000 }, { timeout: 5_000 });
      const messages = response.receivedMessages ?? [];
      for (const m of messages) {
        received.push({ data: Buffer.from(m.message?.data ?? new Uint8Array()), attributes: { ...(m.message?.attributes ?? {}) } });
      }
      if (messages.length > 0) await subscriber.acknowledge({ subscription, ackIds: messages.map((m) => m.ackId ?? '') });
    }
    // returnImmediately is deprecated; a short timeout shows the subscription is empty.
    const extra = await subscriber.pull({ subscription, maxMessages: 10 }, { timeout: 500 }).then(
      ([r]) => r.receivedMessages?.length ?? 0,
      () => 0,
    );
    assert.equal(extra, 0, 'more messages than were sent');
    return received;
  }

  const publishCalls = (): number => proxy.calls.filter((p) => p === '/google.pubsub.v1.Publisher/Publish').length;

  it('send() of one message: delivered byte for byte, no attributes, one Publish RPC', async () => {
    const before = publishCalls();
    const data = Buffer.from(JSON.stringify({ msg_id: 'one', text: 'héllo ✓' }));
    assert.deepEqual(await transport.send([data], 5_000), { ok: true });
    assert.equal(publishCalls() - before, 1);
    const received = await pull(1);
    assert.equal(received.length, 1);
    assert.ok(received[0]?.data.equals(data));
    assert.deepEqual(received[0]?.attributes, {});
  });

  it('send() of 500 messages: all delivered exactly, in one Publish RPC', async () => {
    const before = publishCalls();
    const sent = Array.from({ length: 500 }, (_, i) =>
      Buffer.concat([Buffer.from(JSON.stringify({ msg_id: `m-${i}`, pad: 'x'.repeat(i % 97) })), Buffer.from([0xe2, 0x9c, 0x93])]),
    );
    const t0 = Date.now();
    assert.deepEqual(await transport.send(sent, 10_000), { ok: true });
    console.log(`500 messages acknowledged in ${Date.now() - t0} ms`);
    assert.equal(publishCalls() - before, 1, `Publish RPCs: ${publishCalls() - before}`);
    const received = await pull(500);
    const key = (b: Buffer): string => b.toString('base64');
    assert.deepEqual(received.map((m) => key(m.data)).sort(), sent.map(key).sort());
    assert.ok(received.every((m) => Object.keys(m.attributes).length === 0));
  });

  it('a topic that does not exist -> NOT_FOUND, not retryable', async () => {
    const missing = await serveMetadata([
      { status: 200, body: { project_id: 'p', pubsub_project_id: PROJECT, topic_id: 'no-such-topic', pubsub_push_service_account: {} } },
    ]);
    const lines: string[] = [];
    const other = makePubSubTransport({ apiKey: API_KEY, rootURL: missing.rootURL, pubsubEndpoint: emulator.host, onDebug: (l) => lines.push(l) });
    try {
      await other.start(AbortSignal.timeout(5_000));
      const result = await other.send([Buffer.from('x')], 5_000);
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.retryable === false && result.error instanceof TransportError);
      assert.match(!result.ok ? result.error.message : '', /NOT_FOUND \(5\)/);
      assert.ok(lines.some((l) => /permanent failure/.test(l)));
    } finally {
      await other.shutdown();
      await missing.close();
    }
  });

  it('after shutdown(), send() fails without retry and shutdown() stays idempotent', async () => {
    const other = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: emulator.host });
    await other.start(AbortSignal.timeout(5_000));
    assert.deepEqual(await other.send([Buffer.from('{"last":true}')], 5_000), { ok: true });
    await Promise.all([other.shutdown(), other.shutdown()]);
    const result = await other.send([Buffer.from('x')], 1_000);
    assert.ok(!result.ok && !result.retryable);
    await pull(1);
  });

  it("the README's example request, through the SDK and Express, arrives as exactly the wire-format record", async (t) => {
    const { apitoolkit, url } = await runReadmeExample(t, { apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: emulator.host });
    assert.equal(await apitoolkit.flush(10_000), true);
    const [message] = await pull(1);
    assertReadmeRecord(message!.data, url, '00000000-0000-4000-8000-0000000000aa');
    assert.deepEqual(message!.attributes, {});
  });
});
