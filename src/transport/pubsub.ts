/**
 * The Google Cloud Pub/Sub transport: the only file that imports `@google-cloud/pubsub`.
 *
 * The SDK's batcher owns queueing, batching and retries; this file turns one `send()` into one Publish
 * RPC (more only past Pub/Sub's per-request limits) with no retries of its own, and reports how it went.
 *
 * It publishes through the package's generated GAPIC client (`v1.PublisherClient`), one call per
 * batch, not through `Topic.publishMessage()`, whose extra work goes into features we switch off: a
 * message object, callback and tracing hooks per message, its own batching (which also waited for a
 * 1 ms timer before each RPC), and, in `PubSub.request()`, a deep copy of the whole request (`extend`)
 * plus a walk over it (`replaceProjectIdToken`). In bench/micro/publish.ts that took this process' CPU
 * per message from ~9.5 to ~7.5-8.5 µs in 500-message batches and from ~33 to ~25-29 µs in 50-message
 * ones; the rest is gRPC's (protobuf encoding, framing, HTTP/2).
 *
 * `PubSub` still builds the client's options (emulator endpoint and plaintext credentials, gRPC
 * defaults, scopes, library headers), and `PubSub.getClientConfig()` hands over exactly the object the
 * Topic publisher would have constructed its own `PublisherClient` with (`PubSub.getClientAsync_`):
 * same channel settings, same auth, same call path from `PublisherClient.publish()` on, and the same
 * bytes on the wire (test/transport/pubsub.test.ts compares them).
 */

import { createRequire } from 'node:module';
import type { CallOptions, PubSub, v1, protos } from '@google-cloud/pubsub';
import type { Interceptor } from '@grpc/grpc-js';
import { ApiKeyRefusedError, MetadataError, TransportError } from '../core/errors.js';
import { DEFAULT_METADATA_TIMEOUT_MS, fetchClientMetadata, type ClientMetadata } from './metadata.js';
import type { SendResult, Transport, TransportInfo } from './types.js';

/** First wait before retrying the metadata fetch; doubles up to `METADATA_RETRY_MAX_DELAY_MS`. */
const METADATA_RETRY_START_DELAY_MS = 500; // 0.5 s
const METADATA_RETRY_MAX_DELAY_MS = 30_000; // 30 s
/** send() gives up this long after the gRPC deadline (the batcher allows 100 ms). */
const STATUS_GRACE_MS = 50;
/** `shutdown()` waits at most this long for the client to close its channels. */
const SHUTDOWN_TIMEOUT_MS = 5_000; // 5 s
/**
 * Pub/Sub accepts at most 1000 messages and 10 MB per Publish request. A send() above either is cut
 * into several requests, at the limits the high-level client cuts its batches at (`BATCH_LIMITS =
 * { maxBytes: 9 MiB, maxMessages: 1000 }`, publisher/index.js; 9 MiB of data leaves room for the
 * request's framing). The batcher never hands over more (options.ts MAX_MAX_BATCH_SIZE and
 * MAX_MAX_BATCH_BYTES) except a single record larger than maxBatchBytes, which then goes alone.
 */
const MAX_MESSAGES_PER_RPC = 1000;
/**
 * gRPC channel settings (google-gax grpc.js createStub() passes every `grpc.*` client option to the
 * channel). After a connection fails, grpc-js waits before it dials again, starting at 1 s (gax's
 * default) and growing x1.6 up to 120 s: after a one-minute outage the channel sat in that backoff
 * for ~20 s after the endpoint was back (test/soak/outage.soak.ts), failing every publish at once.
 * Capped low, the channel redials within RECONNECT_MAX_BACKOFF_MS of the endpoint's return. A
 * refused or reset dial costs next to nothing, and only happens while the endpoint is unreachable.
 */
const RECONNECT_INITIAL_BACKOFF_MS = 100;
const RECONNECT_MAX_BACKOFF_MS = 500;
const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': RECONNECT_INITIAL_BACKOFF_MS,
  'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_BACKOFF_MS,
} as const;
const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';
const MAX_BYTES_PER_RPC = 9 * 1024 * 1024; // 9 MiB

type PublisherClient = v1.PublisherClient;
type PubsubMessage = protos.google.pubsub.v1.IPubsubMessage;

/** gRPC status codes (grpc/doc/statuscodes.md), as named in error messages. */
const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = {
  0: 'OK', 1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 10: 'ABORTED',
  11: 'OUT_OF_RANGE', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 15: 'DATA_LOSS', 16: 'UNAUTHENTICATED',
};
/**
 * Transient codes: the ones the client itself would have retried for Publish (retry_codes
 * `cancelled_unknown_deadline_exceeded_resource_exhausted_aborted_internal_unavailable` in
 * @google-cloud/pubsub-api publisher_client_config.json). Everything else (PERMISSION_DENIED,
 * NOT_FOUND, UNAUTHENTICATED, INVALID_ARGUMENT …) will fail the same way again.
 */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([1, 2, 4, 8, 10, 13, 14]);

/** Options of {@link makePubSubTransport}. */
export interface PubSubTransportOptions {
  /** The APIToolkit API key (sent as `Authorization: Bearer …`; never logged). */
  apiKey: string;
  /** Where client metadata is fetched from, e.g. `https://app.apitoolkit.io`. */
  rootURL: string;
  /**
   * `host:port` of a Pub/Sub emulator (or any plaintext Pub/Sub endpoint): connect without TLS and
   * without credentials. Default: `process.env.PUBSUB_EMULATOR_HOST`; unset means Google with the
   * service account from the metadata.
   */
  pubsubEndpoint?: string;
  /** Timeout of one metadata request. Default 10 000 ms. */
  metadataTimeoutMs?: number;
  /** Receives one line per notable event. Never receives the API key or the private key. */
  onDebug?: (msg: string) => void;
  /**
   * Told when start() begins (`true`) and ends (`false`) a wait between two metadata attempts: the
   * publishing thread (thread.ts) stops holding the process open meanwhile, as an unref'd timer here would not.
   */
  onBackoff?: (waiting: boolean) => void;
}

/**
 * Creates a {@link Transport} that publishes each encoded record as one Pub/Sub message to the topic
 * named by the client metadata. `@google-cloud/pubsub` is loaded on `start()`, not on import.
 *
 * @example
 * const transport = makePubSubTransport({ apiKey: process.env.APITOOLKIT_KEY!, rootURL: 'https://app.apitoolkit.io' });
 * const { projectId } = await transport.start(AbortSignal.timeout(60_000));
 * await transport.send([Buffer.from('{"project_id":"…"}')], 10_000);
 * await transport.shutdown();
 */
export function makePubSubTransport(options: PubSubTransportOptions): Transport {
  const { apiKey, rootURL, onDebug } = options;
  const endpoint = options.pubsubEndpoint || process.env.PUBSUB_EMULATOR_HOST || undefined;
  const metadataTimeoutMs = options.metadataTimeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;

  let started = false;
  let closed = false;
  let publisher: PublisherClient | undefined;
  let topicName = '';
  let shutdownPromise: Promise<void> | undefined;
  let makeInterceptor: ((onStart: () => void) => Interceptor) | undefined;

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
    for (const [field, value] of [['pubsub_project_id', projectId], ['topic_id', metadata.topic_id]] as const) {
      if (/[\s/]/.test(value)) throw new MetadataError(`\`${field}\` is not a valid Pub/Sub id: ${JSON.stringify(value)}`);
    }
    const { PubSub, v1: gapic } = await loadPubSub();
    makeInterceptor = await loadWaitForReady();
    let pubsub: PubSub;
    if (endpoint) {
      // Emulator mode as the client does it (pubsub.js determineBaseUrl_): `apiEndpoint` 'host:port' is
      // split into servicePath/port, and emulatorMode sets `sslCreds = grpc.credentials.createInsecure()`,
      // which google-gax grpc.js `_getCredentials` returns as is: no TLS, no Google auth at all.
      // `emulatorMode: true` forces that even for a host name the heuristic would take for Google's.
      // `universeDomain`: google-gax grpc.js createStub() calls auth.getUniverseDomain(), which without
      // it runs the whole ADC search (key files, then the GCE metadata server over the network, which
      // prints a MetadataLookupWarning off GCP). Stating the default skips that search.
      pubsub = new PubSub({ projectId, apiEndpoint: endpoint, emulatorMode: true, universeDomain: 'googleapis.com', ...CHANNEL_OPTIONS });
    } else {
      const { client_email, private_key } = metadata.pubsub_push_service_account;
      if (typeof client_email !== 'string' || typeof private_key !== 'string' || !client_email || !private_key) {
        throw new MetadataError('`pubsub_push_service_account` lacks `client_email` or `private_key`');
      }
      // An explicit JWT client: GoogleAuth never looks at GOOGLE_APPLICATION_CREDENTIALS or the metadata
      // server, and, unlike the deprecated `credentials` option, prints no warning into the host app's log.
      const { JWT } = await import('google-auth-library');
      const authClient = new JWT({ email: client_email, key: private_key, scopes: [PUBSUB_SCOPE] });
      pubsub = new PubSub({ projectId, authClient, universeDomain: 'googleapis.com', ...CHANNEL_OPTIONS });
    }
    // The options the Topic publisher would create its PublisherClient with; with projectId given, no
    // lookup. The client only loads its protos here: the channel (and, for Google, the credentials
    // check) is set up on the first publish, as before.
    const config = (await pubsub.getClientConfig()) as ConstructorParameters<typeof gapic.PublisherClient>[0];
    const client = new gapic.PublisherClient(config);
    if (closed) {
      // shutdown() ran while we were fetching metadata: don't leave a client behind.
      await closeQuietly(client);
      throw new TransportError('the transport was shut down during start()', false);
    }
    topicName = `projects/${projectId}/topics/${metadata.topic_id}`;
    publisher = client;
  }

  async function start(signal: AbortSignal): Promise<TransportInfo> {
    if (started) throw new TransportError('start() was called twice', false);
    started = true;
    let delay = METADATA_RETRY_START_DELAY_MS;
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      if (closed) throw new TransportError('the transport was shut down during start()', false);
      try {
        const metadata = await fetchClientMetadata(rootURL, apiKey, { signal, timeoutMs: metadataTimeoutMs });
        await connect(metadata);
        debug(
          `client metadata fetched: APIToolkit project ${metadata.project_id}; publishing to ${topicName}` +
            (endpoint ? ` via plaintext endpoint ${endpoint} (emulator mode, no credentials)` : ' with the service-account credentials'),
        );
        return { projectId: metadata.project_id };
      } catch (err) {
        // A refused key won't become valid by asking again; a TransportError here is a local dead end
        // (the client library can't load, or shutdown() ran).
        if (err instanceof ApiKeyRefusedError || err instanceof TransportError) {
          debug(errorMessage(err));
          throw err;
        }
        signal.throwIfAborted();
        // Jitter (50-100 % of the delay) so a fleet restarted together doesn't retry in step.
        const wait = Math.round(delay * (0.5 + Math.random() * 0.5));
        debug(`client metadata attempt ${attempt} failed (${errorMessage(err)}); retrying in ${wait} ms`);
        options.onBackoff?.(true);
        try {
          await sleep(wait, signal);
        } finally {
          options.onBackoff?.(false);
        }
        delay = Math.min(delay * 2, METADATA_RETRY_MAX_DELAY_MS);
      }
    }
  }

  function send(messages: Buffer[], timeoutMs: number, signal?: AbortSignal): Promise<SendResult> {
    if (closed) return Promise.resolve(failure(new TransportError('send() after shutdown()', false)));
    if (!publisher) return Promise.resolve(failure(new TransportError('send() before start() resolved', true)));
    if (messages.length === 0) return Promise.resolve({ ok: true });
    // One pass: validate (a non-Buffer must fail the send before any part of it goes out) and cut the
    // batch into requests within the Publish limits; nearly always there is one.
    const requests: PubsubMessage[][] = [];
    let chunk: PubsubMessage[] = [];
    let chunkBytes = 0;
    for (let i = 0; i < messages.length; i++) {
      const data = messages[i];
      if (!(data instanceof Uint8Array)) {
        return Promise.resolve(failure(new TransportError(`message ${i} is not a Buffer`, false)));
      }
      if (chunk.length > 0 && (chunk.length >= MAX_MESSAGES_PER_RPC || chunkBytes + data.length > MAX_BYTES_PER_RPC)) {
        requests.push(chunk);
        chunk = [];
        chunkBytes = 0;
      }
      // The PubsubMessage the request carries: data only, no attributes, no ordering key.
      chunk.push({ data });
      chunkBytes += data.length;
    }
    requests.push(chunk);
    const deadlineMs = Number.isFinite(timeoutMs) && timeoutMs >= 1 ? Math.ceil(timeoutMs) : 1;
    const client = publisher;
    const topic = topicName;
    const count = messages.length;
    const controller = new AbortController();

    return new Promise<SendResult>((resolve) => {
      let pending = requests.length;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          finish(failure(new TransportError(`publish of ${count} message(s) to ${topic} timed out after ${deadlineMs} ms`, true)));
        }, deadlineMs + STATUS_GRACE_MS);
        timer.unref();
      };
      const onAbort = (): void => {
        finish(failure(new TransportError(`publish of ${count} message(s) to ${topic} abandoned: ${errorMessage(signal?.reason)}`, true)));
      };
      const finish = (result: SendResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (!result.ok) {
          // Cancels the RPCs still running (or not started): google-gax createApiCall.js listens to
          // `signal` and calls `ongoingCall.cancel()`.
          controller.abort();
          debug(`${result.retryable ? 'retryable' : 'permanent'} failure: ${errorMessage(result.error)}`);
        }
        resolve(result);
      };
      // Our own deadline too: the gRPC deadline only starts once the stub exists (auth, channel set-up),
      // and a hung server or a stuck credentials plugin must not hang send(). Re-armed when a call
      // starts, so that it ends a little after the gRPC deadline and the call's own status (which
      // says why) wins the race; the batcher's own timeout still bounds the whole.
      arm();
      // The batcher gives the batch up (shutdown's time is up): settle now, cancelling the RPC.
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });

      // The first error settles the send (the batcher retries the whole batch); success needs every request.
      const onPublished = (err: Error | null | undefined): void => {
        if (err) {
          finish(failure(toTransportError(err, count, topic)));
        } else if (--pending === 0) {
          finish({ ok: true });
        }
      };
      const onStart = (): void => {
        if (!settled) arm();
      };
      try {
        for (const part of requests) {
          const interceptors = makeInterceptor ? [makeInterceptor(onStart)] : [];
          client.publish({ topic, messages: part }, callOptions(deadlineMs, interceptors, controller.signal), onPublished);
        }
      } catch (err) {
        finish(failure(new TransportError(`publish to ${topic} threw: ${errorMessage(err)}`, false, { cause: err })));
      }
    });
  }

  function shutdown(): Promise<void> {
    shutdownPromise ??= (async () => {
      closed = true;
      const client = publisher;
      publisher = undefined;
      if (!client) return;
      const outcome = await closeQuietly(client);
      debug(outcome === 'closed' ? 'client closed' : `client close: ${outcome}`);
    })();
    return shutdownPromise;
  }

  return { start, send, shutdown };
}

/**
 * The call options of one Publish: a single attempt with our deadline. The generated client would
 * otherwise retry each Publish on seven codes for up to 600 s total with 60 s per attempt
 * (publisher_client_config.json, retry_params `693222d3…`), all while our batcher believes the send is
 * still one attempt. A new object per call: `PublisherClient.publish()` adds its routing header to
 * `otherArgs` and gax sets `otherArgs.options.deadline`.
 */
function callOptions(timeoutMs: number, interceptors: Interceptor[], signal: AbortSignal): CallOptions {
  return {
    // No client-side retry: gax.js CallSettings.merge takes `retry` from the call options, and
    // mergeRetryOptions(retry, null) returns null, so createApiCall.js skips `retryable()` and makes a
    // single attempt via addTimeoutArg(). The batcher decides about retrying.
    retry: null,
    // The gRPC deadline of that single attempt (addTimeoutArg sets options.deadline = now + timeout).
    timeout: timeoutMs,
    // Cancels the call when send() gives up first (createApiCall.js `signal` handling).
    signal,
    // The high-level client's default, stated so a future default can't turn gax bundling on.
    isBundling: false,
    // gRPC call options (normalCalls/timeout.js addTimeoutArg passes `otherArgs.options` to the stub).
    otherArgs: { options: { interceptors } },
  };
}

function toTransportError(err: Error, count: number, topicName: string): TransportError {
  const code = (err as { code?: unknown }).code;
  let retryable: boolean;
  let status: string;
  if (typeof code === 'number') {
    // Code 0 (OK) never comes with an error from gRPC itself; it is not in RETRYABLE_CODES.
    retryable = RETRYABLE_CODES.has(code);
    status = `${GRPC_STATUS_NAMES[code] ?? 'code'} (${code})`;
  } else {
    // No gRPC status: a failure before the RPC (credentials, channel); assume it is transient.
    retryable = true;
    status = 'no gRPC status';
  }
  return new TransportError(`publish of ${count} message(s) to ${topicName} failed: ${status}: ${err.message}`, retryable, { cause: err });
}

/** A failed send, retryable as its error says. Also used by thread.ts. */
export function failure(error: TransportError): SendResult {
  return { ok: false, retryable: error.retryable, error };
}

/** The message without our 'apitoolkit-node: ' prefix (debug lines carry their own). Also used by thread.ts. */
export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^apitoolkit-node: /, '');
}

/**
 * Makes each Publish call wait for the channel to connect (gRPC "wait for ready") instead of failing
 * at once while it is down. During an outage a send then waits, up to its deadline, for the channel's
 * next successful dial, and goes out the moment the endpoint is back (RECONNECT_MAX_BACKOFF_MS later
 * at most) rather than at the batcher's next retry, a second later. A call that reached the server
 * still fails as fast as the server answers. `onStart` runs when the call actually starts.
 */
async function loadWaitForReady(): Promise<(onStart: () => void) => Interceptor> {
  // The interceptor only calls methods of the objects google-gax's copy of grpc-js hands it, so a
  // second copy of the package would do as well.
  const { InterceptingCall } = await import('@grpc/grpc-js');
  return (onStart) => (options, nextCall) => new InterceptingCall(nextCall(options), {
    start(metadata, _listener, next) {
      onStart();
      metadata.setOptions({ ...metadata.getOptions(), waitForReady: true });
      next(metadata, {
        onReceiveStatus(status, nextStatus) {
          // A deadline reached before any connection was ready (grpc-js load-balancing-call.js
          // getDeadlineInfo: "Waiting for LB pick") is the endpoint being unreachable: say so.
          const unreachable = status.code === 4 && typeof status.details === 'string' && status.details.includes('Waiting for LB pick');
          nextStatus(unreachable ? { ...status, code: 14, details: `no connection to the endpoint before the deadline (${status.details})` } : status);
        },
      });
    },
  });
}

type PubSubModule = typeof import('@google-cloud/pubsub');

/**
 * The official client's heaviest dependencies, in the order it would load them; each is a chain of
 * packages, each resolved from the one before it (the first from @google-cloud/pubsub), so that
 * exactly the copies the client itself requires are loaded. Loading @google-cloud/pubsub in one go
 * is ~200 ms of synchronous module evaluation on a 2-core EPYC: the app serves nothing meanwhile.
 * One package per event-loop turn, the longest block is google-gax's own (~50 ms there).
 */
const PRELOAD: readonly (readonly string[])[] = [
  ['google-gax', 'protobufjs'],
  ['@grpc/grpc-js'],
  ['google-auth-library'],
  ['google-gax', '@grpc/proto-loader'],
  ['google-gax', 'proto3-json-serializer'],
  ['google-gax', '@opentelemetry/api'],
  ['google-gax', 'duplexify'],
  ['google-gax'],
  ['@opentelemetry/core'],
  ['@google-cloud/pubsub-api'],
];

/**
 * Loads PRELOAD one package per event-loop turn. Never throws: the import that follows reports real
 * problems. Exported for test/transport/preload.test.ts only.
 */
export async function preloadDependencies(): Promise<void> {
  let fromPubSub: NodeJS.Require;
  try {
    fromPubSub = createRequire(createRequire(import.meta.url).resolve('@google-cloud/pubsub'));
  } catch {
    return; // not resolvable from here (a bundle, say): the import alone
  }
  for (const chain of PRELOAD) {
    try {
      let from = fromPubSub;
      for (const name of chain.slice(0, -1)) from = createRequire(from.resolve(name));
      from(chain[chain.length - 1]!);
    } catch {
      // A package moved or gone in some version: the client loads it itself.
    }
    // Lets the app's pending I/O run between two packages (a timer: an immediate queued from the
    // check phase would run before the next poll).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

async function loadPubSub(): Promise<PubSubModule> {
  try {
    await preloadDependencies();
    const mod = (await import('@google-cloud/pubsub')) as PubSubModule & { default?: PubSubModule };
    // Node's CJS interop exposes named exports; some bundlers only give `default`.
    return typeof mod.PubSub === 'function' ? mod : (mod.default as PubSubModule);
  } catch (err) {
    throw new TransportError(`cannot load @google-cloud/pubsub: ${errorMessage(err)}`, false, { cause: err });
  }
}

/** Closes the client (its gRPC channel), waiting at most SHUTDOWN_TIMEOUT_MS; never rejects. */
async function closeQuietly(client: PublisherClient): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`gave up waiting after ${SHUTDOWN_TIMEOUT_MS} ms`), SHUTDOWN_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([client.close().then(() => 'closed', (err: unknown) => `failed: ${errorMessage(err)}`), timedOut]);
  } finally {
    clearTimeout(timer);
  }
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
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
