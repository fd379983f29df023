/**
 * The production path, offline, over TLS on loopback: client metadata over HTTPS hands out a freshly
 * generated service-account key whose `token_uri` is a local HTTPS token endpoint; that endpoint
 * verifies the RS256 JWT (signature with the key's public half, issuer, scope, audience, lifetime)
 * before issuing a token; a local HTTPS Pub/Sub endpoint accepts a publish only with such a token,
 * on the right topic, with a well-formed body (test/helpers/google.ts). Nothing is mocked on the
 * SDK's side: the transport, its token minting (WebCrypto) and node:https are the real ones.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkRecord, startCollector, type Collector } from '../../src/collector/index.js';
import { TransportError } from '../../src/core/errors.js';
import { nodeHttpClient } from '../../src/transport/http-node.js';
import { makePubSubTransport } from '../../src/transport/pubsub.js';
import type { Transport } from '../../src/transport/types.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startChildApp } from '../helpers/child-app.js';
import { makePki, serveMetadataTls, serviceAccountKey, startFakeGoogle, type FakeGoogle, type Pki } from '../helpers/google.js';

const API_KEY = 'ak_prod_5f1c0e2a9b';
const PROJECT = 'apitoolkit-prod';
const TOPIC = 'apitoolkit-records';
const TOPIC_NAME = `projects/${PROJECT}/topics/${TOPIC}`;
const APITOOLKIT_PROJECT = '00000000-0000-4000-8000-00000000abcd';

let pki: Pki;
before(() => {
  pki = makePki();
});
after(() => pki.cleanup());

/** A fake Google plus the metadata endpoint handing out a key it trusts; closed after the test. */
async function production(options: { tokenTls?: Pki['server']; pubsubTls?: Pki['server']; metadataTls?: Pki['server'] } = {}) {
  const google = await startFakeGoogle({ tls: pki.server, topic: TOPIC_NAME, ...options });
  const { key, publicKey } = serviceAccountKey(google.tokenUri, PROJECT);
  google.trust(key.client_email!, publicKey);
  const metadata = await serveMetadataTls(options.metadataTls ?? pki.server, API_KEY, {
    project_id: APITOOLKIT_PROJECT,
    pubsub_project_id: PROJECT,
    topic_id: TOPIC,
    pubsub_push_service_account: key,
  });
  const secrets = [API_KEY, key.private_key_id!, ...key.private_key!.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))];
  return { google, metadata, key, secrets, close: () => Promise.all([google.close(), metadata.close()]) };
}

/** The SDK's transport as APIToolkit builds it on Node, trusting the test CA. */
function transport(rootURL: string, pubsubEndpoint: string, lines: string[], ca: string | undefined = pki.caCert): Transport {
  return makePubSubTransport({
    apiKey: API_KEY,
    rootURL,
    pubsubEndpoint,
    http: nodeHttpClient(ca === undefined ? {} : { ca }),
    onDebug: (l) => lines.push(l),
  });
}

/** A fake Google, and the SDK's transport started against it; all closed after the test. */
async function started(t: TestContext, options: Parameters<typeof production>[0] = {}) {
  const p = await production(options);
  t.after(() => p.close());
  const lines: string[] = [];
  const prod = transport(p.metadata.rootURL, p.google.pubsubEndpoint, lines);
  t.after(() => prod.shutdown());
  assert.deepEqual(await prod.start(AbortSignal.timeout(10_000)), { projectId: APITOOLKIT_PROJECT });
  return { p, prod, lines };
}

function assertNoSecrets(text: string, secrets: string[], google: FakeGoogle): void {
  for (const s of [...secrets, ...google.tokens, 'PRIVATE KEY'])
    assert.ok(!text.includes(s), `${s.slice(0, 12)}… leaked: ${text.slice(0, 300)}`);
}

const batch = [
  Buffer.from('{"msg_id":"a","text":"héllo ✓"}'),
  Buffer.from([0, 0xff, 0xfe, 0x80, 0x7f]),
  Buffer.alloc(70_000, 0x7a),
  Buffer.from('x'),
];

describe('the production path over TLS (metadata, token endpoint, Pub/Sub)', () => {
  test('a send mints one token with a verified JWT and delivers the bytes exactly as the emulator path does', async (t) => {
    const { p, prod, lines } = await started(t);
    const collector: Collector = await startCollector({ inspector: false, pubsubProjectId: PROJECT, topicId: TOPIC });
    t.after(() => collector.close());
    for (let i = 0; i < 3; i++) assert.deepEqual(await prod.send(batch, 10_000), { ok: true });
    assert.equal(p.google.tokens.length, 1, 'one token, reused');
    assert.deepEqual(p.google.refusedAssertions, []);
    assert.equal(p.google.published.length, 3);
    assert.ok(p.google.published.every((pub) => pub.topic === TOPIC_NAME && pub.token === p.google.tokens[0]));

    // The emulator path (plaintext, no credentials) receives the same bytes.
    const emulator = makePubSubTransport({
      apiKey: API_KEY,
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      http: nodeHttpClient(),
    });
    t.after(() => emulator.shutdown());
    await emulator.start(AbortSignal.timeout(10_000));
    assert.deepEqual(await emulator.send(batch, 10_000), { ok: true });
    const viaEmulator = collector.messages().map((m) => m.data);
    assert.equal(viaEmulator.length, batch.length);
    for (const [i, data] of batch.entries()) {
      assert.ok(p.google.published[0]!.messages[i]!.equals(data), `message ${i} via the production path`);
      assert.ok(viaEmulator[i]!.equals(data), `message ${i} via the emulator path`);
    }
    assert.match(
      lines.join('\n'),
      new RegExp(`publishing to ${TOPIC_NAME} at ${p.google.pubsubEndpoint} with the service-account credentials`),
    );
    assertNoSecrets(lines.join('\n'), p.secrets, p.google);
  });

  test('the token endpoint really verifies: an assertion signed by another key is refused', async (t) => {
    // The test double's own check, so that "a verified JWT" above means something.
    const p = await production();
    t.after(() => p.close());
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Math.floor(Date.now() / 1000);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: p.key.client_email, scope: 'https://www.googleapis.com/auth/pubsub', aud: p.google.tokenUri, iat: now, exp: now + 3600 })}`;
    const assertion = `${input}.${sign('RSA-SHA256', Buffer.from(input), privateKey).toString('base64url')}`;
    const http = nodeHttpClient({ ca: pki.caCert });
    t.after(() => http.close());
    const answer = await http.request({
      method: 'POST',
      url: p.google.tokenUri,
      maxResponseBytes: 65_536,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&assertion=${assertion}`,
    });
    assert.equal(answer.status, 400);
    assert.deepEqual(p.google.refusedAssertions, ['Invalid JWT Signature.']);
  });

  test('a token is refreshed before it expires, in the background; sends never see a 401', async (t) => {
    const { p, prod, lines } = await started(t);
    p.google.tokenLifetimeS = 2;
    // Lifetime 2 s: used alone for 1 s, then refreshed while still used, never used in its last 0.5 s.
    const deadline = Date.now() + 4_500;
    let sends = 0;
    while (Date.now() < deadline) {
      assert.deepEqual(await prod.send([Buffer.from(`{"n":${sends}}`)], 5_000), { ok: true });
      sends += 1;
      await sleep(100);
    }
    assert.ok(p.google.tokens.length >= 3, `${p.google.tokens.length} tokens over 4.5 s`);
    assert.ok(
      p.google.publishStatuses.every((s) => s === 200),
      `statuses ${p.google.publishStatuses.join(',')}`,
    );
    assert.equal(p.google.published.length, sends);
    assertNoSecrets(lines.join('\n'), p.secrets, p.google);
  });

  test('a token Pub/Sub no longer takes (401): a new one is minted and the publish goes through, once', async (t) => {
    const { p, prod, lines } = await started(t);
    assert.deepEqual(await prod.send(batch, 10_000), { ok: true });
    p.google.revokeTokens();
    assert.deepEqual(await prod.send(batch, 10_000), { ok: true });
    assert.deepEqual(p.google.publishStatuses, [200, 401, 200]);
    assert.equal(p.google.tokens.length, 2);
    assert.equal(p.google.published[1]!.token, p.google.tokens[1]);
    assert.ok(lines.some((l) => /refused the access token \(HTTP 401\); minting a new one/.test(l)));

    // A 401 again after the new token: not retried a second time, and not retryable. (Pub/Sub
    // refuses every token here: a token with a 1 ms lifetime was sometimes still valid when used.)
    p.google.refuseAllTokens = true;
    const result = await prod.send(batch, 10_000);
    assert.ok(!result.ok && !result.retryable, JSON.stringify(result));
    assert.match(result.error.message, /HTTP 401 UNAUTHENTICATED/);
    assert.deepEqual(p.google.publishStatuses.slice(3), [401, 401]);
    assertNoSecrets(lines.join('\n') + result.error.message, p.secrets, p.google);
  });

  test('a revoked key: the token endpoint refuses it (400 invalid_grant), or Pub/Sub refuses the account (403): not retryable', async (t) => {
    const { p, prod, lines } = await started(t);
    p.google.keyRevoked = true;
    const refused = await prod.send(batch, 10_000);
    assert.ok(!refused.ok && !refused.retryable, JSON.stringify(refused));
    assert.ok(refused.error instanceof TransportError);
    assert.match(refused.error.message, /refused the service-account key: HTTP 400: invalid_grant: Invalid JWT Signature\./);
    assert.equal(p.google.published.length, 0);

    p.google.keyRevoked = false;
    p.google.publishDenied = true;
    const denied = await prod.send(batch, 10_000);
    assert.ok(!denied.ok && !denied.retryable, JSON.stringify(denied));
    assert.match(denied.error.message, /HTTP 403 PERMISSION_DENIED/);
    assertNoSecrets(lines.join('\n') + refused.error.message + denied.error.message, p.secrets, p.google);
  });

  test('TLS failures: nothing is sent to an endpoint whose certificate fails, and the failure says why', async (t) => {
    // Pub/Sub with a certificate from a CA nobody trusts; the token endpoint with one for another name.
    const { p, prod, lines } = await started(t, { pubsubTls: pki.untrusted });
    const untrusted = await prod.send(batch, 10_000);
    assert.ok(!untrusted.ok && untrusted.retryable, JSON.stringify(untrusted));
    assert.match(untrusted.error.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate/);
    assert.equal(p.google.published.length, 0);
    assert.equal(p.google.tokens.length, 1, 'the token was minted (the token endpoint is fine)…');
    const requestsAfterToken = p.google.requests;

    const q = await production({ tokenTls: pki.localhostOnly });
    t.after(() => q.close());
    const other = transport(q.metadata.rootURL, q.google.pubsubEndpoint, lines);
    t.after(() => other.shutdown());
    await other.start(AbortSignal.timeout(10_000));
    const mismatch = await other.send(batch, 10_000);
    assert.ok(!mismatch.ok && mismatch.retryable, JSON.stringify(mismatch));
    assert.match(mismatch.error.message, /cannot get an access token from the token endpoint .*ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.equal(q.google.requests, 0, 'the signed assertion never left: the handshake failed first');

    // The metadata endpoint itself: the API key is never sent over a connection that failed verification.
    const r = await production({ metadataTls: pki.untrusted });
    t.after(() => r.close());
    const third = transport(r.metadata.rootURL, r.google.pubsubEndpoint, lines);
    t.after(() => third.shutdown());
    await assert.rejects(third.start(AbortSignal.timeout(1_500)), { name: 'TimeoutError' });
    assert.equal(r.metadata.requests, 0);
    assert.ok(
      lines.some((l) =>
        /client metadata attempt 1 failed \(GET https:\/\/127\.0\.0\.1:\d+\/api\/client_metadata failed: .*UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(
          l,
        ),
      ),
      lines.join('\n'),
    );
    assert.equal(p.google.requests, requestsAfterToken, '…and the publish never reached the untrusted endpoint');
    assertNoSecrets(lines.join('\n'), [...p.secrets, ...q.secrets, ...r.secrets], p.google);
  });

  test('a key that is not a PKCS #8 RSA key: start-up names the problem (never the key) and keeps asking', async (t) => {
    const p = await production();
    t.after(() => p.close());
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const metadata = await serveMetadataTls(pki.server, API_KEY, {
      project_id: APITOOLKIT_PROJECT,
      pubsub_project_id: PROJECT,
      topic_id: TOPIC,
      pubsub_push_service_account: { ...p.key, private_key: pem },
    });
    t.after(() => metadata.close());
    const lines: string[] = [];
    const prod = transport(metadata.rootURL, p.google.pubsubEndpoint, lines);
    t.after(() => prod.shutdown());
    await assert.rejects(prod.start(AbortSignal.timeout(1_200)), { name: 'TimeoutError' });
    assert.ok(
      lines.some((l) => /`pubsub_push_service_account\.private_key` is not an RSA key WebCrypto can sign with \(DataError\)/.test(l)),
      lines.join('\n'),
    );
    assert.ok(metadata.requests >= 2, 'retried like any malformed metadata');
    const body = pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    assertNoSecrets(lines.join('\n'), [...p.secrets, ...body], p.google);
  });

  test('end to end in an app process: NODE_EXTRA_CA_CERTS, a record arrives well-formed; a revoked account drops as send_failed', async (t) => {
    const p = await production();
    t.after(() => p.close());
    const child = await startChildApp({
      sdk: { apiKey: API_KEY, rootURL: p.metadata.rootURL, pubsubEndpoint: p.google.pubsubEndpoint, flushIntervalMs: 10 },
      env: { NODE_EXTRA_CA_CERTS: pki.caFile },
      debugToStdout: true,
    });
    t.after(() => child.kill());
    assert.equal((await fetch(`${child.url}/work/1?x=1`)).status, 200);
    const ready = await child.waitFor((s) => s.stats.published === 1, 'the first record published', 15_000);
    assert.equal(p.google.published.length, 1);
    const record = JSON.parse(p.google.published[0]!.messages[0]!.toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(checkRecord(record), []);
    assert.equal(record.project_id, APITOOLKIT_PROJECT);
    assert.equal(record.raw_url, '/work/1?x=1');
    assert.equal(ready.stats.failed, 0);

    p.google.publishDenied = true;
    assert.equal((await fetch(`${child.url}/work/2`)).status, 200);
    const denied = await child.waitFor((s) => s.stats.dropped.send_failed === 1, 'the second record dropped as send_failed', 15_000);
    assert.equal(denied.stats.published, 1);
    assert.deepEqual(await child.shutdown(2_000), { flushed: true, dropped: 0 });
    assertNoSecrets(child.stdout() + child.stderr(), p.secrets, p.google);
    assert.match(
      child.stdout(),
      /publishing to projects\/apitoolkit-prod\/topics\/apitoolkit-records .* with the service-account credentials over node:https/,
    );
  });

  test('doctor checks the publish permission over TLS with the token a publish would use, and names a denial', async (t) => {
    const p = await production();
    t.after(() => p.close());
    const doctor = () =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', 'doctor', '--root-url', p.metadata.rootURL, '--pubsub-endpoint', p.google.pubsubEndpoint],
        {
          cwd: new URL('../../', import.meta.url).pathname,
          env: { ...process.env, APITOOLKIT_KEY: API_KEY, NODE_EXTRA_CA_CERTS: pki.caFile, NO_COLOR: '1', PUBSUB_EMULATOR_HOST: '' },
        },
      ).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    const granted = await doctor();
    assert.equal(granted.code, 0, granted.out);
    assert.match(granted.out, new RegExp(`✓ topic +${TOPIC_NAME} as ${p.key.client_email} at ${p.google.pubsubEndpoint}`));
    assert.match(granted.out, new RegExp(`✓ publish +authorised: pubsub\\.topics\\.publish granted on ${TOPIC_NAME}`));
    assert.equal(p.google.tokens.length, 1, 'a token minted from the key, as a publish would');
    assert.equal(p.google.published.length, 0, 'no record sent');
    p.google.publishDenied = true;
    const denied = await doctor();
    assert.equal(denied.code, 1);
    assert.match(denied.out, /✗ publish +not authorised: pubsub\.topics\.publish is not granted/);
    assertNoSecrets(granted.out + denied.out, p.secrets, p.google);
  });
});
