/**
 * The Google Cloud Pub/Sub transport, over Pub/Sub's REST API
 * (`POST https://pubsub.googleapis.com/v1/projects/P/topics/T:publish`, body
 * `{"messages":[{"data":"<base64>"}]}`, an OAuth 2.0 bearer token). Runtime-neutral: HTTP comes from
 * an {@link HttpClient} (http-node.ts on Node, `fetch` elsewhere), tokens from google-token.ts
 * (WebCrypto); no `node:` import.
 *
 * The SDK's batcher owns queueing, batching and retries; this file turns one `send()` into one
 * publish request (more only past Pub/Sub's per-request limits, sent one after the other on the one
 * connection), with no retries of its own but two that cannot duplicate a message: a 401 mints a new
 * token and tries again once, and while no connection can be made at all it redials every 250 ms
 * until the send's deadline. A request that times out has its connection torn down, and the pool
 * with it, so that the next attempt dials afresh rather than trusting a connection that may have
 * gone silent.
 *
 * `pubsubEndpoint` (or `PUBSUB_EMULATOR_HOST`) `host:port` publishes in plaintext without
 * credentials, to the emulator (which serves this REST API on its gRPC port) or the local
 * collector; `https://host[:port]` publishes there with the service account's token (a regional or
 * private endpoint); otherwise `https://pubsub.googleapis.com`.
 */
import { ApiKeyRefusedError, MetadataError, TransportError } from '../core/errors.js';
import { DEFAULT_METADATA_TIMEOUT_MS, fetchClientMetadata, type ClientMetadata } from './metadata.js';
import { importSigningKey, makeTokenSource, serviceAccountOf, type TokenSource } from './google-token.js';
import { allocBytes, base64, bytesView, describeNetworkError, errorCodes, fetchHttpClient, writeAscii, type HttpClient } from './http.js';
import type { SendResult, Transport, TransportInfo } from './types.js';

/** First wait before retrying the metadata fetch; doubles up to `METADATA_RETRY_MAX_DELAY_MS`. */
const METADATA_RETRY_START_DELAY_MS = 500; // 0.5 s
const METADATA_RETRY_MAX_DELAY_MS = 30_000; // 30 s
/** Google's Pub/Sub endpoint. */
export const GOOGLE_PUBSUB_ENDPOINT = 'https://pubsub.googleapis.com';
/**
 * Pub/Sub accepts at most 1 000 messages per publish request, and over REST at most 10 MiB of
 * request body (`Request payload size exceeds the limit: 10485760 bytes`), base64 and JSON included;
 * the decoded request must stay under 10 MB. A send() above either is cut into several requests at
 * MAX_REQUEST_BODY_BYTES (10 MB: under both). One message alone in a request can hold
 * MAX_MESSAGE_DATA_BYTES (encode.ts refuses larger records).
 */
export const MAX_MESSAGES_PER_REQUEST = 1000;
export const MAX_REQUEST_BODY_BYTES = 10_000_000;
const BODY_HEAD = '{"messages":[';
const BODY_TAIL = ']}';
const MESSAGE_HEAD = '{"data":"';
const MESSAGE_TAIL = '"}';
/** JSON characters a message adds to a request beside its base64: `{"data":"…"}` and a comma. */
const MESSAGE_FRAMING = MESSAGE_HEAD.length + MESSAGE_TAIL.length + 1;
export const MAX_MESSAGE_DATA_BYTES =
  Math.floor((MAX_REQUEST_BODY_BYTES - BODY_HEAD.length - BODY_TAIL.length - MESSAGE_FRAMING + 1) / 4) * 3;
/**
 * Errors that say nothing reached the endpoint (no connection, no route): the request can be made
 * again without risk of a duplicate. A publish redials every REDIAL_MS while it gets one.
 */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const REDIAL_MS = 250;
/** A request body's memory kept for the next request up to this size (a batch at the default limits is ~2 MB). */
const MAX_KEPT_BODY_BYTES = 16 * 1024 * 1024;
/** Request body memory is allocated in multiples of this. */
const BODY_ROUNDING_BYTES = 256 * 1024;
/** The IAM permission a publish needs. */
export const PUBLISH_PERMISSION = 'pubsub.topics.publish';
/** Publish answers (message ids) and Google's error answers are small. */
const MAX_ANSWER_BYTES = 1024 * 1024; // 1 MiB
/** Longest part of an error answer quoted in a message. */
const MAX_QUOTED = 300;

/**
 * Transient statuses: the ones the official client retries for Publish (retry_codes
 * `cancelled_unknown_deadline_exceeded_resource_exhausted_aborted_internal_unavailable`). Everything
 * else (PERMISSION_DENIED, NOT_FOUND, UNAUTHENTICATED, INVALID_ARGUMENT …) will fail the same way again.
 */
const RETRYABLE_STATUSES: ReadonlySet<string> = new Set([
  'CANCELLED',
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'RESOURCE_EXHAUSTED',
  'ABORTED',
  'INTERNAL',
  'UNAVAILABLE',
]);

/** Options of {@link makePubSubTransport}. */
export interface PubSubTransportOptions {
  /** The APIToolkit API key (sent as `Authorization: Bearer …`; never logged). */
  apiKey: string;
  /** Where client metadata is fetched from, e.g. `https://app.apitoolkit.io`. */
  rootURL: string;
  /**
   * `host:port` of a Pub/Sub emulator or the local collector: plaintext, no credentials; or
   * `https://host[:port]`: that endpoint, with the service account's token. Default:
   * `PUBSUB_EMULATOR_HOST`; unset means Google's endpoint with the service account from the metadata.
   */
  pubsubEndpoint?: string;
  /** Timeout of one metadata request (and of one token request). Default 10 000 ms. */
  metadataTimeoutMs?: number;
  /** How requests go out. Default: the platform's `fetch` (the SDK passes http-node.ts on Node). */
  http?: HttpClient;
  /** Receives one line per notable event. Never receives the API key, the private key or a token. */
  onDebug?: (msg: string) => void;
  /** Told of each failed metadata attempt that will be retried (the client rate-limits its warning). */
  onMetadataRetry?: (reason: string) => void;
}

/** Where publish requests go, and whether they carry a token. */
interface Target {
  base: string;
  credentials: boolean;
}

function targetOf(endpoint: string | undefined): Target {
  if (endpoint === undefined) return { base: GOOGLE_PUBSUB_ENDPOINT, credentials: true };
  if (/^https:\/\//i.test(endpoint)) return { base: endpoint.replace(/\/+$/, ''), credentials: true };
  return { base: `http://${endpoint}`, credentials: false };
}

/**
 * Creates a {@link Transport} that publishes each encoded record as one Pub/Sub message to the topic
 * named by the client metadata.
 *
 * @example
 * const transport = makePubSubTransport({ apiKey: process.env.APITOOLKIT_KEY!, rootURL: 'https://app.apitoolkit.io' });
 * const { projectId } = await transport.start(AbortSignal.timeout(60_000));
 * await transport.send([Buffer.from('{"project_id":"…"}')], 10_000);
 * await transport.shutdown();
 */
export function makePubSubTransport(options: PubSubTransportOptions): Transport {
  const { apiKey, rootURL, onDebug } = options;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const target = targetOf(options.pubsubEndpoint || env?.PUBSUB_EMULATOR_HOST || undefined);
  const metadataTimeoutMs = options.metadataTimeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;
  const http = options.http ?? fetchHttpClient();

  let started = false;
  let closed = false;
  let ready = false;
  // The last request body's memory, for the next one (see publish()).
  let bodyMemory: Uint8Array | undefined;
  let topicName = '';
  let publishUrl = '';
  let tokens: TokenSource | undefined;
  let shutdownPromise: Promise<void> | undefined;

  const debug = (msg: string): void => {
    if (!onDebug) return;
    try {
      onDebug(`apitoolkit-node pubsub: ${msg}`);
    } catch {
      // A throwing debug hook must not break delivery.
    }
  };

  async function connect(metadata: ClientMetadata): Promise<void> {
    const projectId = metadata.pubsub_project_id;
    // Both go into a resource name ('projects/P/topics/T'): a '/' or blank would address something else.
    for (const [field, value] of [
      ['pubsub_project_id', projectId],
      ['topic_id', metadata.topic_id],
    ] as const) {
      if (/[\s/]/.test(value)) throw new MetadataError(`\`${field}\` is not a valid Pub/Sub id: ${JSON.stringify(value)}`);
    }
    if (target.credentials) {
      try {
        const account = serviceAccountOf(metadata.pubsub_push_service_account);
        tokens = makeTokenSource(account, await importSigningKey(account.private_key), http, metadataTimeoutMs);
      } catch (error) {
        throw new MetadataError((error as Error).message);
      }
    }
    if (closed) throw new TransportError('the transport was shut down during start()', false);
    topicName = `projects/${projectId}/topics/${metadata.topic_id}`;
    publishUrl = `${target.base}/v1/projects/${encodeURIComponent(projectId)}/topics/${encodeURIComponent(metadata.topic_id)}:publish`;
    ready = true;
  }

  async function start(signal: AbortSignal): Promise<TransportInfo> {
    if (started) throw new TransportError('start() was called twice', false);
    started = true;
    let delay = METADATA_RETRY_START_DELAY_MS;
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      if (closed) throw new TransportError('the transport was shut down during start()', false);
      try {
        const metadata = await fetchClientMetadata(rootURL, apiKey, { signal, timeoutMs: metadataTimeoutMs, http });
        await connect(metadata);
        debug(
          `client metadata fetched: APIToolkit project ${metadata.project_id}; publishing to ${topicName} at ${target.base}` +
            (target.credentials ? ' with the service-account credentials' : ' in plaintext (emulator mode, no credentials)') +
            ` over ${http.description}`,
        );
        return { projectId: metadata.project_id };
      } catch (err) {
        // A refused key won't become valid by asking again; a TransportError here is a local dead end.
        if (err instanceof ApiKeyRefusedError || err instanceof TransportError) {
          debug(errorMessage(err));
          throw err;
        }
        signal.throwIfAborted();
        // Jitter (50-100 % of the delay) so a fleet restarted together doesn't retry in step.
        const wait = Math.round(delay * (0.5 + Math.random() * 0.5));
        debug(`client metadata attempt ${attempt} failed (${errorMessage(err)}); retrying in ${wait} ms`);
        options.onMetadataRetry?.(errorMessage(err));
        await sleep(wait, signal);
        delay = Math.min(delay * 2, METADATA_RETRY_MAX_DELAY_MS);
      }
    }
  }

  /**
   * One publish request; resolves on 2xx, throws a TransportError otherwise. While the endpoint
   * cannot be reached at all (nothing sent yet) it redials every REDIAL_MS until `signal` aborts, so
   * that delivery resumes as soon as the endpoint is back rather than at the batcher's next retry.
   */
  async function publishRequest(body: Uint8Array, count: number, signal: AbortSignal, unreachable: { error?: unknown }): Promise<void> {
    let refreshed = false;
    for (;;) {
      const token = tokens === undefined ? undefined : await tokens.token(signal);
      let status: number;
      let answer: string;
      try {
        ({ status, body: answer } = await http.request({
          method: 'POST',
          url: publishUrl,
          headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
          body,
          signal,
          maxResponseBytes: MAX_ANSWER_BYTES,
        }));
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // The connection broke (reset, refused, TLS): the pool's other connections may be as stale.
        http.reset();
        if (errorCodes(error).some((code) => UNREACHABLE_CODES.has(code))) {
          unreachable.error = error;
          await sleep(REDIAL_MS, signal);
          continue;
        }
        throw new TransportError(`publish of ${count} message(s) to ${topicName} failed: ${describeNetworkError(error)}`, true, {
          cause: error,
        });
      }
      unreachable.error = undefined;
      if (status >= 200 && status < 300) return;
      // A token Pub/Sub no longer takes (revoked, expired early): a new one, once.
      if (status === 401 && token !== undefined && !refreshed) {
        refreshed = true;
        tokens!.invalidate(token);
        debug('Pub/Sub refused the access token (HTTP 401); minting a new one');
        continue;
      }
      throw httpError(status, answer, `publish of ${count} message(s) to ${topicName} failed`);
    }
  }

  function send(messages: Buffer[], timeoutMs: number, signal?: AbortSignal): Promise<SendResult> {
    if (closed) return Promise.resolve(failure(new TransportError('send() after shutdown()', false)));
    if (!ready) return Promise.resolve(failure(new TransportError('send() before start() resolved', true)));
    if (messages.length === 0) return Promise.resolve({ ok: true });
    // One pass: validate (a non-Buffer must fail the send before any part of it goes out) and cut the
    // batch into requests within the limits; nearly always there is one.
    const cuts: number[] = [];
    let count = 0;
    // The body so far, counting a comma before every message (the first has none).
    let bytes = BODY_HEAD.length + BODY_TAIL.length - 1;
    for (let i = 0; i < messages.length; i++) {
      const data = messages[i];
      if (!(data instanceof Uint8Array)) {
        return Promise.resolve(failure(new TransportError(`message ${i} is not a Buffer`, false)));
      }
      const size = Math.ceil(data.length / 3) * 4 + MESSAGE_FRAMING;
      if (count > 0 && (count >= MAX_MESSAGES_PER_REQUEST || bytes + size > MAX_REQUEST_BODY_BYTES)) {
        cuts.push(i);
        count = 0;
        bytes = BODY_HEAD.length + BODY_TAIL.length - 1;
      }
      count += 1;
      bytes += size;
    }
    cuts.push(messages.length);
    return publish(messages, cuts, timeoutMs, signal);
  }

  async function publish(messages: Buffer[], cuts: number[], timeoutMs: number, signal: AbortSignal | undefined): Promise<SendResult> {
    const count = messages.length;
    const deadlineMs = Number.isFinite(timeoutMs) && timeoutMs >= 1 ? Math.ceil(timeoutMs) : 1;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timed out'));
    }, deadlineMs);
    (timer as { unref?: () => void }).unref?.();
    const onAbort = (): void => controller.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const unreachable: { error?: unknown } = {};
    try {
      let from = 0;
      for (const to of cuts) {
        // The request body's memory is used again for the next one once this request has been
        // answered (so all of it was read): a new buffer of a few MB per batch was external memory
        // that only full garbage collections in the app give back. A request that failed may
        // still be writing: its buffer is left behind.
        const size = requestBodySize(messages, from, to);
        const memory =
          bodyMemory !== undefined && bodyMemory.byteLength >= size
            ? bodyMemory
            : allocBytes(Math.ceil(size / BODY_ROUNDING_BYTES) * BODY_ROUNDING_BYTES);
        bodyMemory = undefined;
        await publishRequest(requestBody(messages, from, to, memory), to - from, controller.signal, unreachable);
        if (memory.byteLength <= MAX_KEPT_BODY_BYTES) bodyMemory = memory;
        from = to;
      }
      return { ok: true };
    } catch (error) {
      let result: SendResult;
      if (signal?.aborted) {
        result = failure(
          new TransportError(`publish of ${count} message(s) to ${topicName} abandoned: ${errorMessage(signal.reason)}`, true),
        );
      } else if (timedOut && unreachable.error !== undefined) {
        result = failure(
          new TransportError(
            `publish of ${count} message(s) to ${topicName} failed: no connection to ${target.base} within ${deadlineMs} ms (${describeNetworkError(unreachable.error)})`,
            true,
          ),
        );
      } else if (timedOut) {
        // Its connection may be silent (a dropped path TCP cannot see): tear the pool down, dial afresh next time.
        http.reset();
        result = failure(
          new TransportError(
            `publish of ${count} message(s) to ${topicName} timed out after ${deadlineMs} ms; its connection is closed, the next attempt dials afresh`,
            true,
          ),
        );
      } else {
        result = failure(
          error instanceof TransportError
            ? error
            : new TransportError(`publish of ${count} message(s) to ${topicName} failed: ${errorMessage(error)}`, true, { cause: error }),
        );
      }
      if (!result.ok) debug(`${result.retryable ? 'retryable' : 'permanent'} failure: ${errorMessage(result.error)}`);
      return result;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  function shutdown(): Promise<void> {
    shutdownPromise ??= (async () => {
      closed = true;
      ready = false;
      http.close();
      debug('connections closed');
    })();
    return shutdownPromise;
  }

  return { start, send, shutdown };
}

/**
 * Asks Pub/Sub whether the credentials of `metadata` may publish to its topic
 * (`POST …/topics/T:testIamPermissions` with `pubsub.topics.publish`), as a publish would go: same
 * endpoint, same token. Sends no record. Resolves true or false; rejects with a TransportError (the
 * token refused, an HTTP error, a network failure) or an Error saying what is wrong with the key.
 *
 * @example
 * const allowed = await canPublish(metadata, { http: nodeHttpClient(), timeoutMs: 10_000 });
 */
export async function canPublish(
  metadata: ClientMetadata,
  options: { pubsubEndpoint?: string; http: HttpClient; timeoutMs: number },
): Promise<boolean> {
  const target = targetOf(options.pubsubEndpoint);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let token: string | undefined;
  if (target.credentials) {
    const account = serviceAccountOf(metadata.pubsub_push_service_account);
    token = await makeTokenSource(account, await importSigningKey(account.private_key), options.http, options.timeoutMs).token(signal);
  }
  const url = `${target.base}/v1/projects/${encodeURIComponent(metadata.pubsub_project_id)}/topics/${encodeURIComponent(metadata.topic_id)}:testIamPermissions`;
  let status: number;
  let body: string;
  try {
    ({ status, body } = await options.http.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ permissions: [PUBLISH_PERMISSION] }),
      signal,
      maxResponseBytes: MAX_ANSWER_BYTES,
    }));
  } catch (error) {
    if (signal.aborted) throw new TransportError(`testIamPermissions did not answer within ${options.timeoutMs} ms`, true);
    throw new TransportError(`testIamPermissions failed: ${describeNetworkError(error)}`, true, { cause: error });
  }
  if (status !== 200) throw httpError(status, body, 'testIamPermissions failed');
  try {
    const granted = (JSON.parse(body) as { permissions?: unknown }).permissions;
    return Array.isArray(granted) && granted.includes(PUBLISH_PERMISSION);
  } catch {
    throw new TransportError('testIamPermissions answered 200 with a body that is not JSON', true);
  }
}

/**
 * The JSON body of one publish request: messages[from, to) as `{"data":"<base64>"}`, nothing else
 * (no attributes, no ordering key), written into one buffer of the exact size (base64 needs no JSON
 * escaping).
 */
export function requestBody(messages: readonly Uint8Array[], from: number, to: number, memory?: Uint8Array): Uint8Array {
  const size = requestBodySize(messages, from, to);
  // Written into the first `size` bytes of `memory` when it is given (and large enough).
  const body =
    memory === undefined || memory.byteLength < size ? allocBytes(size) : memory.byteLength === size ? memory : bytesView(memory, size);
  let offset = writeAscii(body, 0, BODY_HEAD);
  for (let i = from; i < to; i++) {
    offset = writeAscii(body, offset, i === from ? MESSAGE_HEAD : `,${MESSAGE_HEAD}`);
    offset = writeAscii(body, offset, base64(messages[i]!));
    offset = writeAscii(body, offset, MESSAGE_TAIL);
  }
  writeAscii(body, offset, BODY_TAIL);
  return body;
}

/** Bytes of the request body {@link requestBody} writes for messages[from, to). */
export function requestBodySize(messages: readonly Uint8Array[], from: number, to: number): number {
  let size = BODY_HEAD.length + BODY_TAIL.length - 1;
  for (let i = from; i < to; i++) size += Math.ceil(messages[i]!.length / 3) * 4 + MESSAGE_FRAMING;
  return size;
}

/**
 * A TransportError for a non-2xx answer: Google's `{"error":{"code","message","status"}}` when it
 * is one (retryable by its status), else by the HTTP status (408, 429 and 5xx retryable).
 */
export function httpError(status: number, body: string, what: string): TransportError {
  let name: string | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { status?: unknown; message?: unknown } };
    if (typeof parsed?.error?.status === 'string') name = parsed.error.status;
    if (typeof parsed?.error?.message === 'string') message = parsed.error.message;
  } catch {
    // Not Google's JSON (a proxy's or a load balancer's page): the status alone says it.
  }
  const retryable = name !== undefined ? RETRYABLE_STATUSES.has(name) : status === 408 || status === 429 || status >= 500;
  const detail = `HTTP ${status}${name === undefined ? '' : ` ${name}`}${message === undefined ? '' : `: ${message.slice(0, MAX_QUOTED)}`}`;
  return new TransportError(`${what}: ${detail}`, retryable);
}

/** A failed send, retryable as its error says. */
export function failure(error: TransportError): SendResult {
  return { ok: false, retryable: error.retryable, error };
}

/** The message without our 'apitoolkit-node: ' prefix (debug lines carry their own). */
export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^apitoolkit-node: /, '');
}

/** An unref'd wait that rejects with `signal.reason` when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    (timer as { unref?: () => void }).unref?.();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
