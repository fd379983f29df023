/**
 * Google's side of the production path, on loopback over TLS, for the offline tests: a certificate
 * authority and server certificates made with openssl, a freshly generated service-account key, an
 * OAuth 2.0 token endpoint that verifies the JWT bearer grant as Google does (RS256 signature with
 * the key's public half, issuer, scope, audience, lifetime) before it issues a token, and a Pub/Sub
 * REST endpoint that accepts a publish (and answers testIamPermissions) only with a token it issued,
 * on the right topic, with a well-formed body.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';

/** A test CA and certificates it signed, as PEM, plus the CA's file for NODE_EXTRA_CA_CERTS. */
export interface Pki {
  caCert: string;
  caFile: string;
  /** Valid for 127.0.0.1, ::1 and localhost. */
  server: { key: string; cert: string };
  /** Valid for `localhost` only: a request to 127.0.0.1 fails hostname verification. */
  localhostOnly: { key: string; cert: string };
  /** Self-signed by another CA nobody trusts, for 127.0.0.1. */
  untrusted: { key: string; cert: string };
  cleanup(): void;
}

/**
 * Makes a CA and three server certificates with the openssl command line (in a temporary directory).
 *
 * @example
 * const pki = makePki();
 * after(() => pki.cleanup());
 */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'apitoolkit-pki-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ca = (name: string) => {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  };
  const leaf = (name: string, issuer: string, san: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`);
    writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${issuer}.pem`),
      '-CAkey',
      file(`${issuer}.key`),
      '-CAcreateserial',
      '-out',
      file(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
    );
    return { key: readFileSync(file(`${name}.key`), 'utf8'), cert: readFileSync(file(`${name}.pem`), 'utf8') };
  };
  ca('test-ca');
  ca('other-ca');
  return {
    caCert: readFileSync(file('test-ca.pem'), 'utf8'),
    caFile: file('test-ca.pem'),
    server: leaf('server', 'test-ca', 'IP:127.0.0.1,IP:::1,DNS:localhost'),
    localhostOnly: leaf('localhost-only', 'test-ca', 'DNS:localhost'),
    untrusted: leaf('untrusted', 'other-ca', 'IP:127.0.0.1'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A service-account key as Google issues it (JSON), and the public half to verify its signatures. */
export function serviceAccountKey(tokenUri: string, projectId = 'apitoolkit-prod'): { key: Record<string, string>; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = `publisher@${projectId}.iam.gserviceaccount.com`;
  return {
    publicKey,
    key: {
      type: 'service_account',
      project_id: projectId,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '1234567890',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
      universe_domain: 'googleapis.com',
    },
  };
}

/** One publish the fake Pub/Sub accepted. */
export interface Published {
  topic: string;
  token: string;
  messages: Buffer[];
}

/** What the fake token endpoint and Pub/Sub saw, and knobs to make them fail. */
export interface FakeGoogle {
  /** `https://127.0.0.1:PORT/token`. */
  readonly tokenUri: string;
  /** `https://127.0.0.1:PORT`, for `pubsubEndpoint`. */
  readonly pubsubEndpoint: string;
  /** Tokens issued, in order (each after a verified assertion). */
  readonly tokens: string[];
  /** Token requests refused, with the reason given. */
  readonly refusedAssertions: string[];
  /** Publishes accepted. */
  readonly published: Published[];
  /** Status of every publish answered, in order. */
  readonly publishStatuses: number[];
  /** HTTP requests received by either server (a TLS failure before the request counts none). */
  readonly requests: number;
  /** Lifetime (`expires_in`) of the tokens issued from now on. Default 3600 s. */
  tokenLifetimeS: number;
  /** The signing key was deleted: every token request is refused with 400 invalid_grant. */
  keyRevoked: boolean;
  /** The service account lost `pubsub.topics.publish`: every publish is refused with 403. */
  publishDenied: boolean;
  /** Forgets every token issued so far (Pub/Sub answers 401 to them). */
  revokeTokens(): void;
  /** Pub/Sub answers 401 to every token, those issued from now on included. */
  refuseAllTokens: boolean;
  close(): Promise<void>;
}

interface IssuedToken {
  expiresAt: number;
}

/**
 * Starts the token endpoint and the Pub/Sub endpoint, two HTTPS servers with the certificates given
 * (`tls` for both unless `tokenTls` / `pubsubTls` say otherwise), publishing to `topic`
 * (`projects/P/topics/T`). `trust()` names the key whose assertions the token endpoint accepts.
 */
export async function startFakeGoogle(options: {
  tls: { key: string; cert: string };
  tokenTls?: { key: string; cert: string };
  pubsubTls?: { key: string; cert: string };
  topic: string;
}): Promise<FakeGoogle & { trust(clientEmail: string, publicKey: KeyObject): void }> {
  let trusted: { email: string; publicKey: KeyObject } | undefined;
  const issued = new Map<string, IssuedToken>();
  const state = {
    requests: 0,
    tokens: [] as string[],
    refusedAssertions: [] as string[],
    published: [] as Published[],
    publishStatuses: [] as number[],
    tokenLifetimeS: 3600,
    keyRevoked: false,
    publishDenied: false,
    refuseAllTokens: false,
  };
  let tokenUri = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
  };
  const googleError = (res: ServerResponse, code: number, status: string, message: string) => {
    state.publishStatuses.push(code);
    json(res, code, { error: { code, message, status } });
  };
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  /** Why Google would refuse this assertion, or null. */
  function checkAssertion(assertion: string): string | null {
    const parts = assertion.split('.');
    if (parts.length !== 3) return 'not a JWT';
    const [h, c, s] = parts as [string, string, string];
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    } catch {
      return 'undecodable JWT';
    }
    if (header.alg !== 'RS256' || header.typ !== 'JWT') return `bad header ${JSON.stringify(header)}`;
    if (trusted === undefined || claims.iss !== trusted.email) return `unknown issuer ${String(claims.iss)}`;
    if (!verify('RSA-SHA256', Buffer.from(`${h}.${c}`), trusted.publicKey, Buffer.from(s, 'base64url'))) return 'Invalid JWT Signature.';
    if (claims.aud !== tokenUri) return `bad audience ${String(claims.aud)}`;
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(PUBSUB_SCOPE)) return `bad scope ${String(claims.scope)}`;
    const now = Date.now() / 1000;
    if (typeof claims.iat !== 'number' || Math.abs(claims.iat - now) > 60) return `bad iat ${String(claims.iat)}`;
    if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp - claims.iat > 3600) return `bad exp ${String(claims.exp)}`;
    return null;
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await read(req));
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
      return json(res, 400, { error: 'invalid_request', error_description: 'bad content type' });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return json(res, 400, { error: 'unsupported_grant_type' });
    const why = state.keyRevoked ? 'Invalid JWT Signature.' : checkAssertion(form.get('assertion') ?? '');
    if (why !== null) {
      state.refusedAssertions.push(why);
      return json(res, 400, { error: 'invalid_grant', error_description: why });
    }
    const accessToken = `ya29.${randomBytes(24).toString('base64url')}`;
    issued.set(accessToken, { expiresAt: Date.now() + state.tokenLifetimeS * 1000 });
    state.tokens.push(accessToken);
    json(res, 200, { access_token: accessToken, expires_in: state.tokenLifetimeS, token_type: 'Bearer' });
  }

  async function publish(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await read(req);
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = bearer === undefined ? undefined : issued.get(bearer);
    if (grant === undefined || grant.expiresAt <= Date.now() || state.refuseAllTokens) {
      return googleError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
    }
    if (path === `/v1/${options.topic}:testIamPermissions`) {
      // What a caller holds of what it asks: nothing once publishing is denied.
      const asked = (JSON.parse(body) as { permissions?: string[] }).permissions ?? [];
      return json(res, 200, state.publishDenied ? {} : { permissions: asked.filter((p) => p === 'pubsub.topics.publish') });
    }
    if (state.publishDenied) return googleError(res, 403, 'PERMISSION_DENIED', `User not authorized to perform this action.`);
    if (path !== `/v1/${options.topic}:publish`) return googleError(res, 404, 'NOT_FOUND', `Resource not found (resource=${path}).`);
    if (req.headers['content-type'] !== 'application/json') return googleError(res, 400, 'INVALID_ARGUMENT', 'bad content type');
    if (Buffer.byteLength(body) > 10 * 1024 * 1024)
      return googleError(res, 400, 'INVALID_ARGUMENT', 'Request payload size exceeds the limit: 10485760 bytes.');
    let parsed: { messages?: { data?: unknown }[] };
    try {
      parsed = JSON.parse(body);
    } catch {
      return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    const list = parsed.messages;
    if (!Array.isArray(list) || list.length === 0 || list.length > 1000) return googleError(res, 400, 'INVALID_ARGUMENT', 'bad messages');
    const messages: Buffer[] = [];
    for (const m of list) {
      if (typeof m?.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(m.data) || Object.keys(m).length !== 1) {
        return googleError(res, 400, 'INVALID_ARGUMENT', 'bad message');
      }
      messages.push(Buffer.from(m.data, 'base64'));
    }
    state.published.push({ topic: options.topic, token: bearer!, messages });
    state.publishStatuses.push(200);
    json(res, 200, { messageIds: messages.map((_, i) => String(state.published.length * 10_000 + i)) });
  }

  const listen = async (
    tls: { key: string; cert: string },
    handle: (req: IncomingMessage, res: ServerResponse, path: string) => boolean,
  ): Promise<Server> => {
    const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      state.requests += 1;
      const path = (req.url ?? '/').split('?')[0]!;
      if (handle(req, res, path)) return;
      req.resume();
      json(res, 404, { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } });
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };
  const tokenServer = await listen(options.tokenTls ?? options.tls, (req, res, path) => {
    if (req.method !== 'POST' || path !== '/token') return false;
    void token(req, res);
    return true;
  });
  const pubsubServer = await listen(options.pubsubTls ?? options.tls, (req, res, path) => {
    if (req.method !== 'POST' || !path.startsWith('/v1/')) return false;
    void publish(req, res, path);
    return true;
  });
  tokenUri = `https://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return Object.assign(state, {
    tokenUri,
    pubsubEndpoint: `https://127.0.0.1:${(pubsubServer.address() as AddressInfo).port}`,
    trust(email: string, publicKey: KeyObject) {
      trusted = { email, publicKey };
    },
    revokeTokens() {
      issued.clear();
    },
    close: async () => {
      await Promise.all([close(tokenServer), close(pubsubServer)]);
    },
  });
}

/**
 * An HTTPS metadata endpoint (`GET /api/client_metadata`) handing out `metadata` to `apiKey`.
 *
 * @example
 * const backend = await serveMetadataTls(pki.server, 'key', { project_id, pubsub_project_id, topic_id, pubsub_push_service_account });
 */
export async function serveMetadataTls(
  tls: { key: string; cert: string },
  apiKey: string,
  metadata: object,
): Promise<{ rootURL: string; requests: number; close(): Promise<void> }> {
  let requests = 0;
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    requests += 1;
    req.resume();
    if (req.url !== '/api/client_metadata') return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${apiKey}`) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    rootURL: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
