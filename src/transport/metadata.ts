/**
 * Client metadata: `GET {rootURL}/api/client_metadata` tells the SDK which APIToolkit project the key
 * belongs to and where (and as whom) to publish. See docs/wire-format.md §1.
 */

import { ApiKeyRefusedError, MetadataError } from '../core/errors.js';

/** How long one metadata request may take before it counts as failed. */
export const DEFAULT_METADATA_TIMEOUT_MS = 10_000; // 10 s

/** The metadata body is a few KB; anything far larger is not a metadata answer. */
const MAX_METADATA_BYTES = 1024 * 1024; // 1 MiB

/** The Google service-account key the backend hands out for publishing. Treat it as a secret. */
export interface ServiceAccountKey {
  client_email?: string;
  private_key?: string;
  [field: string]: unknown;
}

/** The validated 200 body of `GET /api/client_metadata`. */
export interface ClientMetadata {
  /** APIToolkit project id, copied into every record. */
  project_id: string;
  /** The GCP project that owns the topic. */
  pubsub_project_id: string;
  /** The topic id (not the full name) inside `pubsub_project_id`. */
  topic_id: string;
  /** Publisher credentials (contains a private key: never log it). */
  pubsub_push_service_account: ServiceAccountKey;
}

/** Options of {@link fetchClientMetadata}. */
export interface FetchClientMetadataOptions {
  /** Aborts the request; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
}

/**
 * Fetches and validates the client metadata with the global (undici) `fetch`, so it never blocks the
 * event loop.
 *
 * @throws {ApiKeyRefusedError} on HTTP 401.
 * @throws {MetadataError} on any other status, a network error, a timeout or a malformed body. Its
 *   message never contains the API key or the service-account key.
 * @throws `signal.reason` when `signal` aborts.
 *
 * @example
 * const metadata = await fetchClientMetadata('https://app.apitoolkit.io', key, { timeoutMs: 5_000 });
 */
export async function fetchClientMetadata(
  rootURL: string,
  apiKey: string,
  { signal, timeoutMs = DEFAULT_METADATA_TIMEOUT_MS }: FetchClientMetadataOptions = {},
): Promise<ClientMetadata> {
  const url = `${rootURL.replace(/\/+$/, '')}/api/client_metadata`;
  signal?.throwIfAborted();

  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  // The timeout covers headers AND body: a server that trickles the body must not hang start-up.
  const failure = (err: unknown): Error => {
    if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : new MetadataError(`GET ${url} was aborted`, { cause: signal.reason });
    if (timeout.aborted) return new MetadataError(`GET ${url} timed out after ${timeoutMs} ms`, { cause: err });
    return new MetadataError(`GET ${url} failed: ${describeNetworkError(err)}`, { cause: err });
  };

  let response: Response;
  try {
    response = await fetch(url, {
      method: 'GET',
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
      signal: combined,
      redirect: 'follow',
    });
  } catch (err) {
    throw failure(err);
  }

  if (response.status === 401) {
    await discard(response);
    throw new ApiKeyRefusedError(rootURL);
  }
  if (response.status !== 200) {
    await discard(response);
    throw new MetadataError(`GET ${url} answered HTTP ${response.status}`);
  }

  let text: string;
  try {
    text = await readCapped(response, MAX_METADATA_BYTES, url);
  } catch (err) {
    if (err instanceof MetadataError) throw err;
    throw failure(err);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Never quote the body: it may hold the service-account key.
    throw new MetadataError(`GET ${url} answered 200 with a body that is not JSON (${text.length} characters)`);
  }
  return validate(body, url);
}

function validate(body: unknown, url: string): ClientMetadata {
  const bad = (what: string): MetadataError => new MetadataError(`GET ${url} answered 200 with a malformed body: ${what}`);
  if (!isObject(body)) throw bad(`expected a JSON object, got ${typeName(body)}`);
  for (const field of ['project_id', 'pubsub_project_id', 'topic_id'] as const) {
    const value = body[field];
    if (typeof value !== 'string') throw bad(`\`${field}\` should be a string, got ${typeName(value)}`);
    if (value === '') throw bad(`\`${field}\` is empty`);
  }
  const account = body.pubsub_push_service_account;
  if (!isObject(account)) throw bad(`\`pubsub_push_service_account\` should be an object, got ${typeName(account)}`);
  for (const field of ['client_email', 'private_key'] as const) {
    if (field in account && typeof account[field] !== 'string') {
      throw bad(`\`pubsub_push_service_account.${field}\` should be a string, got ${typeName(account[field])}`);
    }
  }
  return {
    project_id: body.project_id as string,
    pubsub_project_id: body.pubsub_project_id as string,
    topic_id: body.topic_id as string,
    pubsub_push_service_account: account as ServiceAccountKey,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** undici reports `TypeError: fetch failed` and hides the useful part (ECONNREFUSED …) in `cause`. */
function describeNetworkError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}

async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new MetadataError(`GET ${url} answered 200 with a body over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Releases the connection of a response whose body we don't want. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}
