/**
 * The APIToolkit client: owns the options, the redactor, the queue and the transport, and runs
 * the pipeline capture -> redact -> encode -> queue -> transport for every finished request.
 * Runtime-neutral: what differs between Node and the Web runtimes (HTTP for delivery, async
 * context, node:http capture, outgoing calls) comes from a {@link Platform}; apitoolkit.ts gives it
 * Node's, web/index.ts the Web build's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBatcher, type Batcher } from './core/batcher.js';
import type { CaptureAdapter, Exchange, NodeCapture } from './core/capture.js';
import { errorRecord, type RecordInput, type RequestContext, type RouteMatch } from './core/capture-core.js';
import { observeWeb, type WebCaptureAdapter, type WebCaptureEnv, type WebHandler } from './core/capture-web.js';
import { encodeRecord, prepareDirect, writeDirect } from './core/encode.js';
import { ApiKeyRefusedError, OptionsInvalidError, QueueFullError, RecordDroppedError, WARNINGS, type WarningCode } from './core/errors.js';
import { resolveOptions, type APIToolkitOptions, type DropReason, type ResolvedOptions } from './core/options.js';
import type { Platform } from './core/platform.js';
import { REDACTED, type ApiRecord } from './core/record.js';
import { ALWAYS_REDACTED_HEADERS, compileRedactor, type Redactor } from './core/redact/index.js';
import { NoContextStore, type ContextStore } from './core/context.js';
import { kCurrentRequest, kEnter, kObserve, kObserveWeb, kRecordError, kSubmit, kUseNode } from './core/symbols.js';
import { within } from './core/within.js';
import { describeLocation } from './leaks/format.js';
import { redactFindings } from './leaks/redact.js';
import { endpointOf, scanRecord, suggestRule } from './leaks/scan.js';
import type { OutgoingCapture } from './outgoing/index.js';
import { makePubSubTransport } from './transport/pubsub.js';
import type { Transport, TransportInfo } from './transport/types.js';

/** Counters returned by `stats()`. All counts are records unless the name says otherwise. */
export interface APIToolkitStats {
  /**
   * `starting` until client metadata arrived; `refused` after a 401; `failed` when a custom
   * transport's start() rejected; `shut_down` after shutdown(); `disabled` with `enabled: false`.
   */
  state: 'disabled' | 'starting' | 'ready' | 'refused' | 'failed' | 'shut_down';
  /** Requests observed to the end (ignored and sampled-out ones excluded). */
  captured: number;
  /** Requests not recorded because of `ignorePaths` / `ignoreMethods`. */
  ignored: number;
  /** Requests not recorded because of `sampleRate` / `sampleRoutes`. */
  sampledOut: number;
  /** Records the endpoint acknowledged. */
  published: number;
  /** Records waiting in the queue (including a batch being sent). */
  queued: number;
  /** Encoded bytes waiting in the queue. */
  queuedBytes: number;
  /** Records captured before start-up finished, waiting for the project id. */
  pending: number;
  /** Records given up on, by reason. */
  dropped: Record<DropReason, number>;
  /** Send attempts that failed (each retry counts once). */
  failed: number;
  /** Values replaced by `[CLIENT_REDACTED]` (header values and body nodes). */
  redactions: number;
  /** Bodies that claimed to be JSON but could not be parsed while rules applied: replaced whole. */
  unparsableBodies: number;
  /** Bodies cut at `maxBodyBytes`. */
  truncatedBodies: number;
  /**
   * Each redaction rule you gave (`redactHeaders`, `redactRequestBody`, `redactResponseBody`) and
   * how many values it has matched. A rule stuck at 0 is usually a typo, and redacts nothing.
   */
  redactionRules: { option: string; rule: string; matches: number }[];
  /**
   * With `detectLeaks`: values the leak finder flagged (medium or high confidence) that no rule had
   * redacted; with `'redact'` they are also counted in `redactions`. 0 without `detectLeaks`.
   */
  leaksFound: number;
}

/** What `shutdown()` reports. */
export interface ShutdownResult {
  /** True when everything captured was delivered. */
  flushed: boolean;
  /** Records dropped because time ran out or delivery was impossible. */
  dropped: number;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000; // 5 s
// Warnings (printed without debug) repeat at most this often per code.
const WARN_INTERVAL_MS = 10 * 60_000; // 10 min
/** How long work handed to a platform's `waitUntil` may take to deliver a request's record. */
export const WAIT_UNTIL_FLUSH_MS = 10_000; // 10 s
// Debug mode checks the redaction rules after this many records, and again after each as many more.
const RULE_CHECK_EVERY = 100;
// detectLeaks warns once per endpoint, field and detector; beyond this many it stops remembering.
const MAX_LEAK_WARNINGS = 1_000;
// Headers, URLs and the fixed fields of a record held before start-up: a generous estimate.
const PENDING_RECORD_OVERHEAD_BYTES = 2_048;
// Finished node:http exchanges are turned into records together, this many at a time (or this many
// body bytes, or after this long): redaction and encoding then run with their code and data hot
// instead of cold between two of the app's requests. At saturation, one core: node:http 40 -> 33 µs,
// Fastify 41 -> 36 µs added per request (bench/results/INSITU.md). Small: one batch is built in one go.
const HOLD_RECORDS = 32;
const HOLD_BYTES = 512 * 1024;
const HOLD_MS = 5;

function emptyDrops(): Record<DropReason, number> {
  return {
    queue_overflow: 0,
    pending_overflow: 0,
    api_key_refused: 0,
    send_failed: 0,
    encode_error: 0,
    before_send: 0,
    hook_error: 0,
    shutdown: 0,
    start_failed: 0,
  };
}

/**
 * Observes your API's traffic and reports it to APIToolkit. Create one per process and hand it
 * to a framework adapter. The constructor validates options and returns at once: client metadata
 * is fetched in the background and records captured meanwhile are kept (bounded).
 *
 * @example
 * import express from 'express';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { expressMiddleware, expressErrorHandler } from 'apitoolkit-node/express';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY, redactRequestBody: ['$.password'] });
 * const app = express();
 * app.use(express.json());
 * app.use(expressMiddleware(apitoolkit));
 * app.post('/login', (req, res) => res.json({ ok: true }));
 * app.use(expressErrorHandler(apitoolkit));
 */
export class APIToolkit {
  readonly #options: ResolvedOptions;
  readonly #redactor: Redactor;
  // Outgoing calls are redacted by their own lists (credential headers always).
  readonly #outgoingRedactor: Redactor;
  readonly #outgoing: OutgoingCapture | undefined;
  readonly #platform: Platform;
  // The platform's node:http capture, or one a Node adapter handed over (kUseNode).
  #node: Platform['node'];
  readonly #context: ContextStore<RequestContext>;
  // node:http capture: made on first use, and only where the platform has it.
  #capture: NodeCapture | undefined;
  readonly #web: WebCaptureEnv;
  readonly #abort = new AbortController();
  readonly #transport: Transport | undefined;
  readonly #batcher: Batcher | undefined;
  // Made by #begin(): in the constructor on Node, on first use where I/O must wait for a request.
  #started: Promise<TransportInfo> | undefined;
  #info: TransportInfo | undefined;
  #pending: ApiRecord[] = [];
  #pendingBytes = 0; // estimated: the bodies dominate a record's size
  // Finished node:http exchanges not yet made into records (see HOLD_RECORDS), and their body bytes.
  #held: RecordInput[] = [];
  #heldBytes = 0;
  #heldTimer: ReturnType<typeof setTimeout> | undefined;
  #state: APIToolkitStats['state'];
  #shutdown: Promise<ShutdownResult> | undefined;
  readonly #warned = new Set<string>();
  readonly #warnedAt = new Map<WarningCode, number>();
  readonly #leakWarned = new Set<string>();
  // Some sampleRoutes key is a route template: a request no exact path decides waits for its route.
  readonly #sampleLater: boolean;
  readonly #stats = {
    captured: 0,
    ignored: 0,
    sampledOut: 0,
    published: 0,
    failed: 0,
    redactions: 0,
    unparsableBodies: 0,
    truncatedBodies: 0,
    leaksFound: 0,
    dropped: emptyDrops(),
  };

  /** @param platform - the runtime's parts (internal: the entry point you import passes it). */
  constructor(options: APIToolkitOptions | undefined, platform: Platform) {
    this.#options = resolveOptions(options);
    const o = this.#options;
    this.#platform = platform;
    this.#node = platform.node;
    this.#redactor = compileRedactor(o);
    if (o.captureOutgoing !== undefined && platform.outgoing === undefined) {
      throw new OptionsInvalidError('captureOutgoing', `outgoing calls are captured on Node and Bun only; this is the ${platform.name}`);
    }
    const outgoingRules = platform.outgoing?.compile(o);
    this.#outgoingRedactor = outgoingRules?.redactor ?? this.#redactor;
    // asyncContext: false: nothing is followed across await, and AsyncLocalStorage is never enabled.
    this.#context = o.asyncContext ? platform.context<RequestContext>() : new NoContextStore<RequestContext>();
    this.#web = {
      limits: o,
      context: this.#context,
      decompress: platform.decompress,
      onDone: (input) => this.#complete(input),
      onFault: (error) => this.#fault(toError(error), 'capture'),
    };
    this.#sampleLater = [...o.sampleRoutes.keys()].some((route) => /[:*{[(]/.test(route));
    if (!o.enabled) {
      this.#state = 'disabled';
      this.#started = Promise.resolve({ projectId: '' });
      return;
    }
    this.#state = 'starting';
    this.#debug(
      `starting: ${o.transport ? 'custom transport' : `metadata from ${o.rootURL}, publishing to ${o.pubsubEndpoint ?? 'Google Pub/Sub'}`}; ` +
        `redacting headers [${[...ALWAYS_REDACTED_HEADERS, ...o.redactHeaders.map((h) => h.toLowerCase())].join(', ')}], ` +
        `request body [${o.redactRequestBody.join(', ')}], response body [${o.redactResponseBody.join(', ')}]; ` +
        `maxBodyBytes ${o.maxBodyBytes}, queue ${o.maxQueueSize} records / ${o.maxQueueBytes} bytes`,
    );
    // First: it may throw (axios: true without axios), and must then leave nothing behind.
    this.#outgoing =
      outgoingRules && platform.outgoing?.install(this, o, outgoingRules, (error) => this.#fault(toError(error), 'outgoing'));
    if (this.#outgoing !== undefined) {
      const c = o.captureOutgoing!;
      this.#debug(
        `capturing outgoing calls: ${[c.fetch && 'fetch', c.http && 'node:http', c.axios !== false && 'axios'].filter(Boolean).join(', ')}`,
      );
    }
    if (options?.publishThread !== undefined)
      this.#debug('publishThread is deprecated and ignored: delivery has no worker thread any more');
    this.#transport =
      o.transport ??
      makePubSubTransport({
        apiKey: o.apiKey!,
        rootURL: o.rootURL,
        pubsubEndpoint: o.pubsubEndpoint,
        metadataTimeoutMs: o.metadataTimeoutMs,
        http: platform.http(),
        onDebug: o.debug ? (line) => this.#debug(line) : undefined,
        onMetadataRetry: (reason) =>
          this.#warn(
            WARNINGS.metadataUnreachable,
            `cannot fetch client metadata from ${o.rootURL}/api/client_metadata (${reason}); retrying in the background, ` +
              'records are kept meanwhile (up to maxQueueSize). Check rootURL and that this host can reach it (HTTPS_PROXY if you need a proxy)',
          ),
      });
    const transport = this.#transport;
    this.#batcher = createBatcher({
      maxQueueSize: o.maxQueueSize,
      maxQueueBytes: o.maxQueueBytes,
      maxBatchSize: o.maxBatchSize,
      maxBatchBytes: o.maxBatchBytes,
      flushIntervalMs: o.flushIntervalMs,
      exportTimeoutMs: o.exportTimeoutMs,
      send: (messages, timeoutMs, signal) => this.#ownIo(() => transport.send(messages, timeoutMs, signal)),
      // The Pub/Sub transport copies each batch into its request before its send settles; a transport
      // of yours may keep the Buffers it was given, so theirs are never written again.
      reuseBuffers: o.transport === undefined,
      // The Pub/Sub transport takes two publishes at once (one connection each): a batch goes out
      // while the one before waits for its answer. A transport of yours gets one batch at a time.
      maxSendsInFlight: o.transport === undefined ? 2 : 1,
      onPublished: (count) => {
        this.#stats.published += count;
        this.#debug(`published ${count} record(s)`);
      },
      onDropped: (reason, count, error) => this.#drop(reason, count, error),
      onRetry: (error, attempt, delayMs) => {
        this.#stats.failed += 1;
        this.#fault(error, 'send_retry', `send failed (attempt ${attempt}), retrying in ${delayMs} ms: ${error.message}`);
        this.#warn(
          WARNINGS.publishRetrying,
          `publishing failed (${errorText(error)}); retrying, records are kept meanwhile (up to maxQueueSize)`,
        );
      },
    });
    if (!platform.lazyStart) this.#begin();
  }

  /**
   * Starts delivery (client metadata) once: at construction on Node; on first use where the
   * platform forbids I/O outside a request (Cloudflare Workers refuse fetch and timers at the top
   * level of a module, where a client is made).
   */
  #begin(): Promise<TransportInfo> {
    if (this.#started === undefined) {
      this.#started = this.#start(this.#transport!);
      // ready() is optional: a refused key must not become an unhandled rejection in the host app.
      this.#started.catch(() => {});
    }
    return this.#started;
  }

  async #start(transport: Transport): Promise<TransportInfo> {
    // Start on the next tick: the constructor must return before any I/O or user code runs.
    await Promise.resolve();
    let info: TransportInfo;
    try {
      info = await this.#ownIo(() => transport.start(this.#abort.signal));
    } catch (error) {
      const err = toError(error);
      // The Pub/Sub transport retries everything but a refused key itself; any rejection is final.
      if (err instanceof ApiKeyRefusedError) {
        this.#warn(
          WARNINGS.apiKeyRefused,
          `the API key was refused (401) by ${this.#options.rootURL}: nothing will be recorded. Check APITOOLKIT_KEY / apiKey against your project's API keys`,
        );
      }
      if (this.#state === 'starting') {
        this.#state = err instanceof ApiKeyRefusedError ? 'refused' : 'failed';
        this.#drop(err instanceof ApiKeyRefusedError ? 'api_key_refused' : 'start_failed', this.#takePending().length, err);
      }
      this.#fault(err, 'start');
      throw err;
    }
    if (this.#state !== 'starting') return info;
    this.#info = info;
    this.#state = 'ready';
    this.#debug(`ready: project ${info.projectId}; ${this.#pending.length} record(s) captured during start-up`);
    for (const record of this.#takePending()) this.#enqueue(record);
    return info;
  }

  /**
   * Resolves once client metadata has been fetched and records can be sent. Rejects with
   * `ApiKeyRefusedError` (code `APITOOLKIT_ERR_API_KEY_REFUSED`) when the key is refused.
   * Optional: records captured before it resolves are kept and sent afterwards.
   * @example
   * await apitoolkit.ready(); // e.g. in a health check or at start-up
   */
  ready(): Promise<void> {
    return this.#begin().then(() => undefined);
  }

  /**
   * Attaches an error to the record of the request being served (found through async context).
   * Returns false when called outside a request. Never throws.
   * @example
   * try { await charge(card) } catch (err) { apitoolkit.reportError(err); res.status(402).end() }
   */
  reportError(error: unknown): boolean {
    const exchange = this.#context.getStore();
    if (exchange === undefined || exchange.done || exchange.sampledOut === true) {
      if (exchange?.sampledOut !== true)
        this.#debug(`reportError called outside a request: ignored${this.#options.asyncContext ? '' : ' (asyncContext is false)'}`);
      return false;
    }
    exchange.errors.push(errorRecord(error));
    return true;
  }

  /**
   * The `msg_id` of the record of the request being served (found through async context, across
   * `await`), to put on your log lines so that each one leads to its request in APIToolkit;
   * `undefined` outside a request. Never throws.
   * @example
   * // pino: every line logged while serving a request carries its msg_id
   * const logger = pino({ mixin: () => ({ msg_id: apitoolkit.currentMsgId() }) });
   */
  currentMsgId(): string | undefined {
    const exchange = this.#context.getStore();
    return exchange === undefined || exchange.done || exchange.sampledOut === true ? undefined : exchange.msgId;
  }

  /** A snapshot of the SDK's counters. */
  stats(): APIToolkitStats {
    // Counters describe every request finished so far.
    this.#buildHeld();
    const s = this.#stats;
    return {
      state: this.#state,
      captured: s.captured,
      ignored: s.ignored,
      sampledOut: s.sampledOut,
      published: s.published,
      queued: this.#batcher?.size ?? 0,
      queuedBytes: this.#batcher?.bytes ?? 0,
      pending: this.#pending.length,
      dropped: { ...s.dropped },
      failed: s.failed,
      redactions: s.redactions,
      unparsableBodies: s.unparsableBodies,
      truncatedBodies: s.truncatedBodies,
      redactionRules: this.#redactor.ruleMatches(),
      leaksFound: s.leaksFound,
    };
  }

  /**
   * Sends everything queued. Resolves true when the queue is empty, false when `timeoutMs` ran out.
   * Never rejects.
   */
  async flush(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS): Promise<boolean> {
    this.#buildHeld();
    if (this.#batcher === undefined) return true;
    const deadline = Date.now() + timeoutMs;
    // Records captured during start-up can only go once it is over.
    if (this.#state === 'starting')
      await within(
        this.#begin().catch(() => undefined),
        timeoutMs,
      );
    if (this.#pending.length > 0) return false;
    return this.#batcher.flush(Math.max(0, deadline - Date.now()));
  }

  /**
   * Stops capturing, sends everything queued (waiting at most `timeoutMs`, default 5 s), then
   * closes the connection. Safe to call twice; never rejects; never installs signal handlers.
   * @example
   * process.on('SIGTERM', async () => { await apitoolkit.shutdown(); process.exit(0) });
   */
  shutdown(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS): Promise<ShutdownResult> {
    this.#shutdown ??= this.#close(timeoutMs);
    return this.#shutdown;
  }

  async #close(timeoutMs: number): Promise<ShutdownResult> {
    this.#outgoing?.uninstall();
    this.#buildHeld();
    const deadline = Date.now() + timeoutMs;
    const before = this.#totalDropped();
    if (this.#transport === undefined || this.#batcher === undefined) {
      this.#state = 'shut_down';
      this.#release();
      return { flushed: true, dropped: 0 };
    }
    if (this.#state === 'starting') {
      // Give start-up the time we have, so records captured before metadata arrived still go out.
      // Never started (a lazy platform that served nothing): nothing was captured, nothing to fetch.
      if (this.#started !== undefined)
        await within(
          this.#started.catch(() => undefined),
          timeoutMs,
        );
      if (this.#state === 'starting') {
        this.#abort.abort();
        this.#drop('shutdown', this.#takePending().length);
      }
    }
    // Exchanges that finished while start-up was awaited.
    this.#buildHeld();
    const previous = this.#state;
    this.#state = 'shut_down';
    if (previous === 'ready') await this.#batcher.close(Math.max(0, deadline - Date.now()));
    else await this.#batcher.close(0);
    this.#abort.abort();
    await within(
      this.#ownIo(() => this.#transport!.shutdown()).catch((error: unknown) => this.#fault(toError(error), 'shutdown')),
      2_000,
    );
    this.#release();
    const dropped = this.#totalDropped() - before;
    this.#debug(`shut down: ${dropped} record(s) dropped`);
    return { flushed: dropped === 0 && this.#batcher.size === 0, dropped };
  }

  /**
   * Gives back what the process lends a running client: an enabled AsyncLocalStorage makes every
   * async operation of the process pay for it (in Node 20, per storage), so a process that made
   * and shut down 2 000 clients ran its async code ~265x slower. Requests still in flight lose
   * their context: reportError() then returns false for them. The response hooks put on a
   * framework's prototype (Express's) come off it.
   */
  #release(): void {
    this.#context.disable();
    try {
      this.#capture?.release();
    } catch (error) {
      this.#fault(toError(error), 'capture');
    }
  }

  /** The SDK's own I/O: with outgoing capture on, marked so that none of it is recorded. */
  #ownIo<T>(fn: () => T): T {
    return this.#outgoing === undefined ? fn() : this.#outgoing.ownIo(fn);
  }

  #takePending(): ApiRecord[] {
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return pending;
  }

  #totalDropped(): number {
    return Object.values(this.#stats.dropped).reduce((a, b) => a + b, 0);
  }

  /**
   * Adapters only: begin observing a node:http request, then run `next` inside its async context
   * and return what it returns. `state` is handed back to the adapter's `route`/`parsedBody`.
   */
  [kObserve]<T>(req: IncomingMessage, res: ServerResponse, adapter: CaptureAdapter<unknown>, next: () => T, state?: unknown): T {
    const capture = this.#nodeCapture();
    if (capture === undefined) return next();
    let exchange = capture.exchangeOf(req);
    // Observed already (the same middleware mounted twice, or Nest's app.use() plus its module):
    // one record, the first observer's, and its context.
    if (exchange !== undefined && !exchange.done) return this.#state === 'shut_down' ? next() : this.#context.run(exchange, next);
    exchange = undefined;
    let admission: Admission = 'skip';
    try {
      const rawUrl = this.#node!.receivedUrl(req);
      admission = this.#admit(req.method, rawUrl);
      if (admission === 'observe') exchange = capture.start(req, res, adapter, state, rawUrl);
    } catch (error) {
      this.#fault(toError(error), 'capture');
    }
    if (exchange !== undefined) return this.#context.run(exchange, next);
    return this.#unobserved(admission, next);
  }

  /**
   * Zero-code start only (`apitoolkit-node/register`): observe a request from node's
   * `http.server.request.start` channel, which runs just before the server's 'request' listeners,
   * and make it the async context of what follows (they are not called by us, so `run()` cannot
   * wrap them). A request not observed gets no context, so it never inherits one.
   */
  [kEnter](req: IncomingMessage, res: ServerResponse, adapter: CaptureAdapter<unknown>): void {
    const capture = this.#nodeCapture();
    if (capture === undefined) return;
    let context: RequestContext | undefined;
    try {
      const rawUrl = this.#node!.receivedUrl(req);
      const admission = this.#admit(req.method, rawUrl);
      if (admission === 'observe') context = capture.start(req, res, adapter, undefined, rawUrl);
      else if (admission === 'unsampled' && this.#outgoing !== undefined) context = UNSAMPLED;
    } catch (error) {
      this.#fault(toError(error), 'capture');
    }
    if (context !== undefined || this.#context.getStore() !== undefined) this.#context.enterWith(context as RequestContext);
  }

  /**
   * Adapters only: node:http capture for a client whose platform has none (the Web build under
   * Deno, which runs Express and the other Node frameworks all the same). Kept once.
   */
  [kUseNode](node: NonNullable<Platform['node']>): void {
    this.#node ??= node;
  }

  /** The node:http capture, made on first use; undefined (said once) where the platform has none. */
  #nodeCapture(): NodeCapture | undefined {
    const node = this.#node;
    if (node === undefined) {
      if (!this.#warned.has('node')) {
        this.#warned.add('node');
        this.#fault(
          new OptionsInvalidError(
            'adapter',
            `node:http requests cannot be observed by the ${this.#platform.name}; they are served unrecorded`,
          ),
          'capture',
        );
      }
      return undefined;
    }
    this.#capture ??= node.createNodeCapture(this.#options, (exchange, aborted) => this.#completeNode(exchange, aborted));
    this.#wake();
    return this.#capture;
  }

  /** A request is being served: delivery starts now where it waited for one (lazyStart). */
  #wake(): void {
    if (this.#started === undefined && this.#state === 'starting') void this.#begin();
  }

  /**
   * Adapters only: observe a Web `Request` served by `handler` (fetchHandler, Hono off Node, Next.js
   * App Router). Returns the handler's response with its body teed; errors the handler throws are
   * recorded and rethrown unchanged. `waitUntil` (Workers' `ctx.waitUntil`, Vercel's): handed, at
   * once, a promise that settles when the request's record was delivered (or
   * {@link WAIT_UNTIL_FLUSH_MS} ran out), so that a platform that freezes or tears the isolate down
   * after the response keeps it until then.
   */
  [kObserveWeb](
    request: Request,
    adapter: WebCaptureAdapter,
    handler: WebHandler,
    waitUntil?: (promise: Promise<unknown>) => void,
  ): Promise<Response> {
    let url: URL | undefined;
    try {
      url = new URL(request.url);
    } catch {
      // Not observable: serve it anyway.
    }
    const admission = url === undefined ? 'skip' : this.#admit(request.method, url.pathname + url.search);
    if (url === undefined || admission !== 'observe') {
      return Promise.resolve().then(() => this.#unobserved(admission, () => handler(ignore)));
    }
    let env = this.#web;
    this.#wake();
    if (waitUntil !== undefined) {
      let release!: () => void;
      const delivered = new Promise<void>((resolve) => {
        release = resolve;
      });
      try {
        waitUntil(delivered);
        env = {
          ...env,
          onDone: (input) => {
            this.#complete(input);
            void this.flush(WAIT_UNTIL_FLUSH_MS).then(release);
          },
        };
      } catch (error) {
        this.#fault(toError(error), 'wait_until');
      }
    }
    return observeWeb(request, url, adapter, env, handler);
  }

  /** Outgoing capture only: the request being served in this async context, if any. */
  [kCurrentRequest](): RequestContext | undefined {
    const context = this.#context.getStore();
    return context === undefined || context.done ? undefined : context;
  }

  /** Outgoing capture only: redact, encode and queue a finished exchange. Never throws. */
  [kSubmit](input: RecordInput): void {
    this.#complete(input);
  }

  /** Adapters only: attach an error to the record of `req`. */
  [kRecordError](req: IncomingMessage, error: unknown): void {
    try {
      const exchange = this.#capture?.exchangeOf(req);
      if (exchange !== undefined && !exchange.done) exchange.errors.push(errorRecord(error));
    } catch (err) {
      this.#fault(toError(err), 'capture');
    }
  }

  /** Whether to observe a request, by state, `ignore*` and sampling (an exact path's rate, or `sampleRate`). */
  #admit(method: string | undefined, url = ''): Admission {
    const state = this.#state;
    if (state !== 'starting' && state !== 'ready') return 'skip';
    const o = this.#options;
    if (o.ignoreMethods.has(method ?? '')) {
      this.#stats.ignored += 1;
      return 'skip';
    }
    if (o.ignorePaths.length === 0 && o.sampleRoutes.size === 0 && o.sampleRate === 1) return 'observe';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (o.ignorePaths.length > 0 && this.#ignored(path)) {
      this.#stats.ignored += 1;
      return 'skip';
    }
    const own = o.sampleRoutes.get(path);
    // A template rate, when one might apply, is decided once the route is known (#buildRecord).
    if (own === undefined && this.#sampleLater) return 'observe';
    if (sampled(own ?? o.sampleRate)) return 'observe';
    this.#stats.sampledOut += 1;
    return 'unsampled';
  }

  /**
   * Runs a request that is not observed. A sampled-out one runs in a context that says so when
   * outgoing calls are captured, so that the calls it makes are not recorded either.
   */
  #unobserved<T>(admission: Admission, next: () => T): T {
    return admission === 'unsampled' && this.#outgoing !== undefined ? this.#context.run(UNSAMPLED, next) : next();
  }

  #ignored(path: string, template?: string): boolean {
    for (const rule of this.#options.ignorePaths) {
      if (typeof rule === 'string' ? rule === path || rule === template : rule.test(path)) return true;
    }
    return false;
  }

  #completeNode(exchange: Exchange, aborted: boolean): void {
    let route: RouteMatch;
    try {
      route = exchange.adapter.route(exchange.req, exchange.state);
    } catch (error) {
      this.#fault(toError(error), 'route');
      route = { template: '', params: {} };
    }
    let input: RecordInput;
    try {
      input = this.#node!.nodeRecordInput(exchange, aborted, route, this.#options);
    } catch (error) {
      this.#fault(toError(error), 'capture');
      return;
    }
    this.#hold(input);
  }

  /**
   * Keeps a finished node:http exchange for {@link #buildHeld}, which turns it into a record with
   * the ones that finished around it. Debug mode, and a client neither starting nor ready (its
   * records are dropped), build at once.
   */
  #hold(input: RecordInput): void {
    if (this.#options.debug || (this.#state !== 'ready' && this.#state !== 'starting')) {
      this.#complete(input);
      return;
    }
    this.#held.push(input);
    this.#heldBytes += (input.requestBody?.bytes.length ?? 0) + (input.responseBody?.bytes.length ?? 0);
    if (this.#held.length >= HOLD_RECORDS || this.#heldBytes >= HOLD_BYTES) this.#buildHeld();
    else if (this.#heldTimer === undefined) {
      try {
        const timer = setTimeout(() => this.#buildHeld(), HOLD_MS);
        (timer as { unref?: () => void }).unref?.();
        this.#heldTimer = timer;
      } catch (error) {
        // No timer here: build now rather than hold with nothing to end the wait.
        this.#fault(toError(error), 'capture');
        this.#buildHeld();
      }
    }
  }

  /** Makes records of the held exchanges, in the order they finished. Never throws. */
  #buildHeld(): void {
    if (this.#heldTimer !== undefined) {
      clearTimeout(this.#heldTimer);
      this.#heldTimer = undefined;
    }
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const input of held) this.#complete(input);
  }

  #complete(input: RecordInput): void {
    try {
      const record = this.#buildRecord(input);
      if (record === undefined) return;
      this.#stats.captured += 1;
      if (this.#options.debug && this.#stats.captured % RULE_CHECK_EVERY === 0) this.#checkRules();
      if (this.#state === 'ready') this.#enqueue(record);
      else if (this.#state === 'starting') {
        // The same bounds as the queue these records will join once start-up is over.
        const bytes = PENDING_RECORD_OVERHEAD_BYTES + record.request_body.length + record.response_body.length;
        if (this.#pending.length >= this.#options.maxQueueSize || this.#pendingBytes + bytes > this.#options.maxQueueBytes) {
          this.#drop('pending_overflow', 1);
        } else {
          this.#pending.push(record);
          this.#pendingBytes += bytes;
        }
      } else this.#drop(this.#state === 'refused' ? 'api_key_refused' : this.#state === 'failed' ? 'start_failed' : 'shutdown', 1);
    } catch (error) {
      this.#fault(toError(error), 'capture');
    }
  }

  #buildRecord(input: RecordInput): ApiRecord | undefined {
    const o = this.#options;
    const route = input.route;
    const q = input.rawUrl.indexOf('?');
    if (!input.outgoing && (o.ignorePaths.length > 0 || this.#sampleLater)) {
      const path = q === -1 ? input.rawUrl : input.rawUrl.slice(0, q);
      if (o.ignorePaths.length > 0 && this.#ignored(path, route.template)) {
        this.#stats.ignored += 1;
        return undefined;
      }
      // Requests an exact path decided were decided when they started.
      if (this.#sampleLater && !o.sampleRoutes.has(path) && !sampled(o.sampleRoutes.get(route.template) ?? o.sampleRate)) {
        this.#stats.sampledOut += 1;
        return undefined;
      }
    }

    const redactor = input.outgoing ? this.#outgoingRedactor : this.#redactor;
    const reqHeaders = redactor.headers(input.requestHeaders);
    const resHeaders = redactor.headers(input.responseHeaders);
    const query = redactor.query(input.rawUrl);
    let redactions = reqHeaders.redactions + resHeaders.redactions + query.redactions;

    let requestBodyB64 = '';
    const rawRequest = input.requestBody;
    if (rawRequest !== undefined && rawRequest.bytes.length > 0) {
      const result = redactor.requestBody(rawRequest.bytes, rawRequest.contentType, rawRequest.parsed);
      redactions += result.redactions;
      if (result.unparsable) this.#stats.unparsableBodies += 1;
      requestBodyB64 = this.#cap(result.body, rawRequest.truncated).toString('base64');
    }
    let responseBodyB64 = '';
    const rawResponse = input.responseBody;
    if (rawResponse !== undefined && rawResponse.bytes.length > 0) {
      const result = redactor.responseBody(rawResponse.bytes, rawResponse.contentType, rawResponse.parsed);
      redactions += result.redactions;
      if (result.unparsable) this.#stats.unparsableBodies += 1;
      responseBodyB64 = this.#cap(result.body, rawResponse.truncated).toString('base64');
    }
    this.#stats.redactions += redactions;

    const errors = input.errors;
    if (input.aborted) {
      errors.push({
        ...errorRecord(new Error('the client closed the connection before the response was complete')),
        error_type: 'RequestAborted',
        root_error_type: 'RequestAborted',
      });
    }
    // `referer` and `host` repeat a header's value: hidden whenever the header is (the referer
    // is taken from the redacted headers, its query included).
    const referer = reqHeaders.headers.referer?.[0] ?? '';
    let record: ApiRecord | null | undefined = {
      timestamp: input.timestamp,
      duration: input.durationNs,
      project_id: this.#info?.projectId ?? '',
      sdk_type: input.sdkType,
      method: input.method,
      host: input.host !== '' && redactor.hidesHeader('host') ? REDACTED : input.host,
      url_path: route.template,
      raw_url: query.url,
      path_params: route.params,
      query_params: query.params,
      request_headers: reqHeaders.headers,
      response_headers: resHeaders.headers,
      request_body: requestBodyB64,
      response_body: responseBodyB64,
      status_code: input.statusCode,
      proto_major: input.protoMajor,
      proto_minor: input.protoMinor,
      referer,
      errors,
      service_version: o.serviceVersion,
      tags: [...o.tags],
      msg_id: input.msgId,
      parent_id: input.parentId,
    };
    if (o.detectLeaks !== false) record = this.#detectLeaks(record);
    if (o.beforeSend !== undefined) {
      try {
        record = o.beforeSend(record);
      } catch (error) {
        this.#drop('hook_error', 1, toError(error));
        return undefined;
      }
      if (record === null || record === undefined) {
        this.#drop('before_send', 1);
        return undefined;
      }
    }
    return record;
  }

  /**
   * `detectLeaks`: flags what the rules missed, warns once per endpoint, field and detector (never
   * printing the value) and, with `'redact'`, hides it. A failing scan leaves the record as the
   * rules made it.
   */
  #detectLeaks(record: ApiRecord): ApiRecord {
    let findings: ReturnType<typeof scanRecord>;
    try {
      findings = scanRecord(record, { minConfidence: 'medium' });
    } catch (error) {
      this.#fault(toError(error), 'detect_leaks');
      return record;
    }
    if (findings.length === 0) return record;
    const redact = this.#options.detectLeaks === 'redact';
    this.#stats.leaksFound += findings.length;
    const endpoint = endpointOf(record);
    for (const finding of findings) {
      const key = `${endpoint.key} ${finding.location.part} ${finding.location.field} ${finding.detector}`;
      if (this.#leakWarned.has(key) || this.#leakWarned.size >= MAX_LEAK_WARNINGS) continue;
      this.#leakWarned.add(key);
      const { rule, advice } = suggestRule(finding.location, endpoint.outgoing);
      this.#options.logger(
        `apitoolkit: possible leak in ${describeLocation(finding.location)} of ${endpoint.key}: ${finding.description} ` +
          `[${finding.detector}, ${finding.confidence} confidence]; ${redact ? 'redacted by detectLeaks' : "sent as it is (detectLeaks: 'warn')"}; ` +
          `${rule === null ? advice : `to hide it by rule, add ${rule.text}`}`,
      );
    }
    if (!redact) return record;
    const redacted = redactFindings(record, findings);
    this.#stats.redactions += redacted.redactions;
    return redacted.record;
  }

  /** Cuts a body to maxBodyBytes (redaction may have grown it) and counts truncation once. */
  #cap(body: Buffer, alreadyTruncated: boolean): Buffer {
    const max = this.#options.maxBodyBytes;
    if (body.length > max) {
      this.#stats.truncatedBodies += 1;
      return body.subarray(0, max);
    }
    if (alreadyTruncated) this.#stats.truncatedBodies += 1;
    return body;
  }

  #enqueue(record: ApiRecord): void {
    record.project_id = this.#info!.projectId;
    // Without a beforeSend hook the bodies are still the base64 strings #buildRecord made: the
    // record is written straight into the queue's memory (no buffer of its own to copy and collect).
    if (this.#options.beforeSend === undefined && !this.#options.debug) {
      try {
        const d = prepareDirect(record);
        if (d !== undefined) {
          this.#batcher!.addWritten(d.size, (target, offset) => writeDirect(d, target, offset));
          return;
        }
      } catch (error) {
        this.#drop('encode_error', 1, toError(error));
        return;
      }
    }
    const encoded = encodeRecord(record, { bodiesAreBase64: this.#options.beforeSend === undefined });
    if (!encoded.ok) {
      this.#drop('encode_error', 1, encoded.error);
      return;
    }
    if (this.#options.debug) this.#debug(`sending ${encoded.message.toString('utf8')}`);
    this.#batcher!.add(encoded.message);
  }

  /** Debug mode: warns once about each redaction rule that has matched nothing so far. */
  #checkRules(): void {
    for (const { option, rule, matches } of this.#redactor.ruleMatches()) {
      if (matches > 0 || this.#warned.has(`rule ${option}`)) continue;
      this.#warned.add(`rule ${option}`);
      this.#debug(
        `warning: redaction rule ${option} ${JSON.stringify(rule)} has matched nothing in ${this.#stats.captured} records; ` +
          'check it for a typo (a rule that never matches redacts nothing)',
      );
    }
  }

  #drop(reason: DropReason, count: number, error?: Error): void {
    if (count <= 0) return;
    this.#stats.dropped[reason] += count;
    // Your own hook's decision, and a refused key (warned of at start-up), need no warning here.
    if (reason !== 'before_send' && reason !== 'api_key_refused') {
      this.#warn(
        WARNINGS.recordsDropped,
        `${count} record(s) dropped (${reason}${error === undefined ? '' : `: ${errorText(error)}`}); stats().dropped counts them by reason`,
      );
    }
    // Once per reason: a full queue under load must not flood the logs or onError.
    if (!this.#warned.has(reason)) {
      this.#warned.add(reason);
      const fallback =
        reason === 'queue_overflow'
          ? new QueueFullError(
              `the queue is full (maxQueueSize ${this.#options.maxQueueSize}, maxQueueBytes ${this.#options.maxQueueBytes}); dropping records, counted in stats().dropped`,
            )
          : new RecordDroppedError(reason, count);
      this.#fault(error ?? fallback, reason);
    }
  }

  #fault(error: Error, reason: string, message?: string): void {
    this.#debug(message ?? `${reason}: ${error.message}`);
    const onError = this.#options.onError;
    if (onError === undefined) return;
    try {
      onError(error, { reason });
    } catch {
      // A throwing onError must not reach the host app either.
    }
  }

  /**
   * A failure the app's owner must act on: printed through `logger` even without `debug`, at most
   * once per code every WARN_INTERVAL_MS (debug mode prints the events themselves as they happen).
   */
  #warn(code: WarningCode, message: string): void {
    const now = Date.now();
    const last = this.#warnedAt.get(code);
    if (last !== undefined && now - last < WARN_INTERVAL_MS) return;
    this.#warnedAt.set(code, now);
    try {
      this.#options.logger(`apitoolkit: warning ${code}: ${message}`);
    } catch {
      // A throwing logger must not reach the host app.
    }
  }

  #debug(line: string): void {
    if (this.#options.debug) this.#options.logger(`apitoolkit: ${line}`);
  }
}

/** How a request is handled at its start: observed, passed through, or passed through as sampled out. */
type Admission = 'observe' | 'skip' | 'unsampled';

/** The context of a request sampled out: outgoing calls made under it are not recorded. */
const UNSAMPLED: RequestContext = Object.freeze({ msgId: '', errors: [], done: false, sampledOut: true });

/** recordError of a request that is not observed. */
const ignore = (): void => {};

/** True with probability `rate` (0 to 1). */
function sampled(rate: number): boolean {
  return rate >= 1 || (rate > 0 && Math.random() < rate);
}

/** An error's message without the package prefix, for a warning line. */
function errorText(error: Error): string {
  return error.message.replace(/^apitoolkit-node: /, '');
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
