/**
 * Client metadata: `GET {rootURL}/api/client_metadata` tells the SDK which APIToolkit project the key
 * belongs to and where (and as whom) to publish. See docs/wire-format.md §1.
 */

import { ApiKeyRefusedError, MetadataError } from '../core/errors.js';
import { describeNetworkError, fetchHttpClient, ResponseTooLargeError, type HttpClient, type HttpResponse } from './http.js';

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
  /** How the request goes out. Default: the platform's `fetch`. */
  http?: HttpClient;
}

/** Redirects followed (the API key goes along only while the origin stays the same). */
const MAX_REDIRECTS = 5;

/**
 * Fetches and validates the client metadata, never blocking the event loop.
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
  { signal, timeoutMs = DEFAULT_METADATA_TIMEOUT_MS, http = fetchHttpClient() }: FetchClientMetadataOptions = {},
): Promise<ClientMetadata> {
  const url = `${rootURL.replace(/\/+$/, '')}/api/client_metadata`;
  signal?.throwIfAborted();

  // The timeout covers headers AND body: a server that trickles the body must not hang start-up.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new MetadataError(`GET ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
  (timer as { unref?: () => void }).unref?.();
  const onAbort = (): void => controller.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let response: HttpResponse;
  try {
    let target = url;
    for (let redirects = 0; ; redirects++) {
      const sameOrigin = new URL(target).origin === new URL(url).origin;
      try {
        response = await http.request({
          method: 'GET',
          url: target,
          headers: { ...(sameOrigin ? { authorization: `Bearer ${apiKey}` } : {}), accept: 'application/json' },
          signal: controller.signal,
          maxResponseBytes: MAX_METADATA_BYTES,
        });
      } catch (err) {
        if (signal?.aborted)
          throw signal.reason instanceof Error ? signal.reason : new MetadataError(`GET ${url} was aborted`, { cause: signal.reason });
        if (controller.signal.aborted) throw controller.signal.reason;
        if (err instanceof ResponseTooLargeError)
          throw new MetadataError(`GET ${url} answered with a body over ${MAX_METADATA_BYTES} bytes`);
        throw new MetadataError(`GET ${url} failed: ${describeNetworkError(err)}`, { cause: err });
      }
      if (![301, 302, 303, 307, 308].includes(response.status) || response.location === undefined || redirects >= MAX_REDIRECTS) break;
      try {
        target = new URL(response.location, target).href;
      } catch {
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }

  if (response.status === 401) throw new ApiKeyRefusedError(rootURL);
  if (response.status !== 200) throw new MetadataError(`GET ${url} answered HTTP ${response.status}`);
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    // Never quote the body: it may hold the service-account key.
    throw new MetadataError(`GET ${url} answered 200 with a body that is not JSON (${response.body.length} characters)`);
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
