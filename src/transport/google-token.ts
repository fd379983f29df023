/**
 * Access tokens for Pub/Sub from the service-account key that client metadata hands out: an
 * RS256-signed JWT exchanged at the key's `token_uri` (OAuth 2.0 JWT bearer grant, RFC 7523, as
 * Google documents for service accounts: developers.google.com/identity/protocols/oauth2/service-account).
 * The JWT is signed with WebCrypto (`crypto.subtle`, on Node 20 and every other runtime); no
 * `node:` import. The private key is imported once as a non-extractable key and never appears in a
 * message, a log line or an error.
 */
import { TransportError } from '../core/errors.js';
import { isLoopback } from '../core/options.js';
import { base64url, describeNetworkError, type HttpClient } from './http.js';

/** Google's token endpoint, when a key names none. */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
export const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';
/** Lifetime asked for in the JWT (Google's maximum). */
const JWT_LIFETIME_S = 3600;
/** A token is replaced this long before it expires (google-auth-library's default), or at half its life if shorter. */
const REFRESH_AHEAD_MS = 5 * 60_000; // 5 min
/** A token is not used in its last seconds (or last quarter, for a short-lived one). */
const EXPIRY_MARGIN_MS = 30_000; // 30 s
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;
const utf8 = new TextEncoder();
/** WebCrypto's key type, named without a DOM or `node:crypto` type import. */
type SigningKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** The fields of a service-account key the token needs. */
export interface ServiceAccount {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

/** Gives a valid access token, minting and caching as needed. */
export interface TokenSource {
  /**
   * A token valid for a while yet. Rejects with a `TransportError`: retryable for a network failure,
   * a timeout or a 5xx/429; not retryable when the token endpoint refuses the key (400, 401, 403);
   * or with `signal.reason` when `signal` aborts first.
   */
  token(signal: AbortSignal): Promise<string>;
  /** Pub/Sub refused `token` (401): the next `token()` mints a new one. */
  invalidate(token: string): void;
}

/**
 * Reads the service-account fields of a key, or says which is missing or wrong. Never quotes the key.
 *
 * @example
 * const account = serviceAccountOf(metadata.pubsub_push_service_account); // throws a readable message
 */
export function serviceAccountOf(key: Record<string, unknown>): ServiceAccount {
  const { client_email, private_key, private_key_id, token_uri } = key;
  if (typeof client_email !== 'string' || client_email === '' || typeof private_key !== 'string' || private_key === '') {
    throw new Error('`pubsub_push_service_account` lacks `client_email` or `private_key`');
  }
  const uri = token_uri === undefined || token_uri === '' ? GOOGLE_TOKEN_URI : token_uri;
  if (typeof uri !== 'string' || !isTokenUri(uri)) {
    throw new Error(
      `\`pubsub_push_service_account.token_uri\` must be an https URL, got ${typeof uri === 'string' ? JSON.stringify(uri.slice(0, 200)) : typeof uri}`,
    );
  }
  return {
    client_email,
    private_key,
    token_uri: uri,
    ...(typeof private_key_id === 'string' && private_key_id !== '' ? { private_key_id } : {}),
  };
}

function isTokenUri(value: string): boolean {
  try {
    const url = new URL(value);
    // The signed assertion goes there: https, or plain http to this machine.
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
  } catch {
    return false;
  }
}

/**
 * Imports the key's PKCS #8 PEM for RS256 signing (non-extractable). Rejects with a message naming
 * what is wrong, never the key.
 */
export async function importSigningKey(pem: string): Promise<SigningKey> {
  const body = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s\\n]+)-----END PRIVATE KEY-----/.exec(pem)?.[1];
  if (body === undefined) {
    throw new Error(
      '`pubsub_push_service_account.private_key` is not a PEM "PRIVATE KEY" (PKCS #8), as Google issues service-account keys',
    );
  }
  let der: Uint8Array;
  try {
    // Keys pasted through JSON sometimes keep their newlines as literal `\n`.
    der = Uint8Array.from(atob(body.replace(/\\n|\s/g, '')), (c) => c.charCodeAt(0));
  } catch {
    throw new Error('`pubsub_push_service_account.private_key` is not valid base64 between its PEM lines');
  }
  try {
    return await crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  } catch (error) {
    // The DOMException says nothing of the key's bytes; its name is enough.
    throw new Error(`\`pubsub_push_service_account.private_key\` is not an RSA key WebCrypto can sign with (${(error as Error).name})`);
  }
}

/**
 * The signed assertion of the JWT bearer grant: `{alg: RS256, typ: JWT, kid}` and
 * `{iss, scope, aud: token_uri, iat, exp}`.
 */
async function signAssertion(account: ServiceAccount, key: SigningKey, nowS: number): Promise<string> {
  const header = { alg: 'RS256', typ: 'JWT', ...(account.private_key_id === undefined ? {} : { kid: account.private_key_id }) };
  const claims = { iss: account.client_email, scope: PUBSUB_SCOPE, aud: account.token_uri, iat: nowS, exp: nowS + JWT_LIFETIME_S };
  const input = `${base64url(utf8.encode(JSON.stringify(header)))}.${base64url(utf8.encode(JSON.stringify(claims)))}`;
  const signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, utf8.encode(input)));
  return `${input}.${base64url(signature)}`;
}

/**
 * A {@link TokenSource} for `account`, over `http`, with the signing key already imported. Each
 * token request may take `timeoutMs`. Past its refresh time a token is still handed out while a new
 * one is minted in the background; a caller waits only when there is no valid token at all.
 *
 * @example
 * const tokens = makeTokenSource(account, await importSigningKey(account.private_key), http, 10_000);
 * const token = await tokens.token(AbortSignal.timeout(10_000));
 */
export function makeTokenSource(
  account: ServiceAccount,
  key: SigningKey,
  http: HttpClient,
  timeoutMs: number,
  now: () => number = Date.now,
): TokenSource {
  let cached: { token: string; refreshAt: number; expiresAt: number } | undefined;
  let minting: Promise<string> | undefined;

  async function mint(): Promise<string> {
    const issuedAt = now();
    const assertion = await signAssertion(account, key, Math.floor(issuedAt / 1000));
    const where = `the token endpoint ${account.token_uri}`;
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let body: string;
    try {
      ({ status, body } = await http.request({
        method: 'POST',
        url: account.token_uri,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&assertion=${assertion}`,
        signal,
        maxResponseBytes: MAX_TOKEN_ANSWER_BYTES,
      }));
    } catch (error) {
      http.reset();
      const why = signal.aborted ? `no answer within ${timeoutMs} ms` : describeNetworkError(error);
      throw new TransportError(`cannot get an access token from ${where}: ${why}`, true, { cause: error });
    }
    if (status !== 200) {
      // 400 invalid_grant (key revoked or deleted, clock off), 401 invalid_client, 403: asking again won't help.
      const refused = status === 400 || status === 401 || status === 403;
      throw new TransportError(
        `${where} ${refused ? 'refused the service-account key' : 'failed'}: HTTP ${status}${oauthError(body)}`,
        !refused,
      );
    }
    let answer: { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
    try {
      answer = JSON.parse(body) as typeof answer;
    } catch {
      throw new TransportError(`${where} answered 200 with a body that is not JSON`, true);
    }
    if (
      typeof answer?.access_token !== 'string' ||
      answer.access_token === '' ||
      (answer.token_type !== undefined && String(answer.token_type).toLowerCase() !== 'bearer')
    ) {
      throw new TransportError(`${where} answered 200 without a bearer \`access_token\``, true);
    }
    const lifetimeMs = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in * 1000 : JWT_LIFETIME_S * 1000;
    cached = {
      token: answer.access_token,
      refreshAt: issuedAt + Math.max(lifetimeMs - REFRESH_AHEAD_MS, lifetimeMs / 2),
      // A token is not handed out in its last seconds: it could expire on the way.
      expiresAt: issuedAt + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 4),
    };
    return answer.access_token;
  }

  /** One mint at a time, shared. */
  function minted(): Promise<string> {
    minting ??= mint().finally(() => {
      minting = undefined;
    });
    return minting;
  }

  return {
    token(signal) {
      const current = cached;
      const time = now();
      if (current !== undefined && time < current.expiresAt) {
        // Refresh in the background; a failure leaves the current token, and the next call tries again.
        if (time >= current.refreshAt) minted().catch(() => {});
        return Promise.resolve(current.token);
      }
      return abortable(minted(), signal);
    },
    invalidate(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}

/** `: invalid_grant: Invalid JWT Signature.` from an OAuth error answer, cut short; '' for anything else. */
function oauthError(body: string): string {
  try {
    const { error, error_description: description } = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const parts = [error, description].filter((p): p is string => typeof p === 'string' && p !== '').map((p) => p.slice(0, 200));
    return parts.length > 0 ? `: ${parts.join(': ')}` : '';
  } catch {
    return '';
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
