/**
 * Capture for the Web Fetch API: a `Request` served by a handler that returns a `Response`
 * (`fetchHandler` on Bun, Deno, Workers and the edge; Hono off Node; Next.js App Router route
 * handlers). The response body is teed through a pass-through stream that holds no chunk back; the
 * request body through a clone read alongside the app, cut at `maxBodyBytes`. Runtime-neutral: no
 * `node:` import, nothing of Node's at the top level.
 */
import {
  BodyTee,
  errorRecord,
  isoNow,
  teeListener,
  teeRequest,
  type BodySource,
  type CaptureLimits,
  type CapturedBody,
  type RecordInput,
  type RequestContext,
  type RouteMatch,
} from './capture-core.js';
import type { ContextStore } from './context.js';
import type { SdkType } from './record.js';

/** What a fetch-style adapter tells capture about the framework. */
export interface WebCaptureAdapter {
  readonly sdkType: SdkType;
  /** Route template and path params, read once the handler returned (it may await the framework). */
  route(request: Request, url: URL): RouteMatch | Promise<RouteMatch>;
  /**
   * A thrown value the framework answers as an ordinary response (Next's `redirect()`,
   * `notFound()`): the status it answers with, recorded without an error. Undefined: a failure (500).
   */
  thrown?(error: unknown): number | undefined;
}

/** Web headers -> node's shape, `set-cookie` kept apart as the wire format wants. */
export function webHeaders(headers: Headers): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  headers.forEach((value, key) => {
    if (key !== 'set-cookie') out[key] = [value];
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/** Reads a body stream into a tee, cut at the tee's limit; never throws. */
async function readCapped(stream: ReadableStream<Uint8Array>, tee: BodyTee, limit: number): Promise<boolean> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      tee.add(value);
      if (tee.seen > limit) {
        // Enough: stop pulling so the app's side is not made to buffer the rest for us.
        await reader.cancel().catch(() => {});
        return false;
      }
    }
  } catch {
    return false;
  }
}

/**
 * A body as it went out -> its plain bytes, by its Content-Encoding (lower case); the bytes
 * unchanged when that fails, is unknown or would exceed `maxBytes`.
 */
export type Decompress = (bytes: Buffer, encoding: string, maxBytes: number) => Buffer | Promise<Buffer>;

/** What observing a Web exchange needs of the client, the same for every request. */
export interface WebCaptureEnv {
  readonly limits: CaptureLimits;
  readonly context: ContextStore<RequestContext>;
  readonly decompress: Decompress;
  /** The finished exchange, once the response body was sent or abandoned. */
  onDone(input: RecordInput): void;
  onFault(error: unknown): void;
}

/**
 * Decompresses gzip and deflate with the runtime's `DecompressionStream` (Workers, Deno, Bun, the
 * edge); other encodings (br) and a runtime without it (Next's edge sandbox) keep the bytes as sent.
 */
export async function webDecompress(bytes: Buffer, encoding: string, maxBytes: number): Promise<Buffer> {
  let format: 'gzip' | 'deflate';
  // A compression middleware mounted before ours hands us the plain bytes: check the gzip magic.
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
    format = 'gzip';
  } else if (encoding === 'deflate') {
    format = 'deflate';
  } else {
    return bytes;
  }
  try {
    const tee = new BodyTee(maxBytes);
    const plain = new Response(bytes).body!.pipeThrough(new DecompressionStream(format));
    const whole = await readCapped(plain, tee, maxBytes);
    // Larger than the cap, or not compressed after all: keep the bytes as they went out.
    return whole && !tee.truncated ? tee.bytes() : bytes;
  } catch {
    return bytes;
  }
}

/** Monotonic milliseconds (Workers advance it only across I/O). */
const now = (): number => performance.now();

/**
 * Serves the request. `recordError` attaches an error to its record without async context (which
 * a runtime may lack: see context.ts); a no-op once the exchange is over.
 */
export type WebHandler = (recordError: (error: unknown) => void) => Response | Promise<Response>;

/**
 * Serves `request` with `handler` inside the request's async context and reports the exchange
 * to `env.onDone` once the response body has been sent (or abandoned).
 */
export async function observeWeb(
  request: Request,
  url: URL,
  adapter: WebCaptureAdapter,
  env: WebCaptureEnv,
  handler: WebHandler,
): Promise<Response> {
  const { limits, context, onDone, onFault } = env;
  const ctx: RequestContext = { msgId: crypto.randomUUID(), errors: [], done: false };
  const startMs = now();
  const timestamp = isoNow();
  const rawUrl = url.pathname + url.search;
  // Read now: Deno lets a request's headers go once its response is sent, which may come first.
  const method = request.method.toUpperCase();
  let requestHeaders: Record<string, string[]> = {};
  let host = url.host;
  try {
    requestHeaders = webHeaders(request.headers);
    host = request.headers.get('host') ?? url.host;
  } catch (error) {
    onFault(error);
  }

  // A promise of the body, or (node:http under @hono/node-server) a function called once the
  // response is complete that gives one.
  let requestBody: Promise<CapturedBody> | (() => Promise<CapturedBody>) | undefined;
  try {
    const incoming = limits.captureRequestBody ? serverIncoming(request) : undefined;
    if (incoming !== undefined) {
      if (method !== 'GET' && method !== 'HEAD') {
        requestBody = incomingBody(incoming, limits.maxBodyBytes, request.headers.get('content-type') ?? undefined);
      }
    } else if (limits.captureRequestBody && request.body !== null && !request.bodyUsed) {
      const tee = new BodyTee(limits.maxBodyBytes);
      const contentType = request.headers.get('content-type') ?? undefined;
      requestBody = readCapped(request.clone().body!, tee, limits.maxBodyBytes).then(() => ({
        bytes: tee.bytes(),
        contentType,
        truncated: tee.truncated,
      }));
    }
  } catch (error) {
    onFault(error);
  }

  // Asked as soon as the handler is done (and before the request is let go of), awaited at the end.
  let route: Promise<RouteMatch> | undefined;
  const routeOf = (): Promise<RouteMatch> => {
    route ??= (async () => {
      try {
        return await adapter.route(request, url);
      } catch (error) {
        onFault(error);
        return { template: '', params: {} };
      }
    })();
    return route;
  };

  const finish = async (
    status: number,
    headers: Headers | undefined,
    responseBody: CapturedBody | Promise<CapturedBody> | undefined,
    aborted: boolean,
  ) => {
    if (ctx.done) return;
    ctx.done = true;
    let requestBodyNow: Promise<CapturedBody> | undefined;
    try {
      requestBodyNow = typeof requestBody === 'function' ? requestBody() : requestBody;
    } catch (error) {
      onFault(error);
    }
    try {
      const durationNs = Math.round((now() - startMs) * 1e6);
      const matched = await routeOf();
      onDone({
        sdkType: adapter.sdkType,
        msgId: ctx.msgId,
        parentId: null,
        timestamp,
        durationNs,
        method,
        host,
        rawUrl,
        route: matched,
        requestHeaders,
        responseHeaders: headers === undefined ? {} : webHeaders(headers),
        requestBody: requestBodyNow === undefined ? undefined : await requestBodyNow,
        responseBody: responseBody === undefined ? undefined : await responseBody,
        statusCode: status,
        protoMajor: 1,
        protoMinor: 1,
        errors: ctx.errors,
        aborted,
      });
    } catch (error) {
      onFault(error);
    }
  };

  let response: Response;
  try {
    const recordError = (error: unknown): void => {
      if (!ctx.done) ctx.errors.push(errorRecord(error));
    };
    response = await context.run(ctx, () => handler(recordError));
    void routeOf();
  } catch (error) {
    void routeOf();
    // The framework answers a thrown error with a 500 (control flow such as a redirect with its own
    // status); the error itself goes on unchanged.
    let status: number | undefined;
    try {
      status = adapter.thrown?.(error);
    } catch (fault) {
      onFault(fault);
    }
    if (status === undefined) ctx.errors.push(errorRecord(error));
    void finish(status ?? 500, undefined, undefined, false);
    throw error;
  }
  try {
    const cache = serverCache(response);
    const lite = cache === undefined ? undefined : cachedResponse(cache);
    if (lite !== undefined) {
      void finish(lite.status, lite.headers, limits.captureResponseBody ? cachedBody(lite, limits, env.decompress) : undefined, false);
      return response;
    }
    return teeResponse(
      response,
      request,
      limits,
      env.decompress,
      (body, aborted, error) => {
        if (error !== undefined) ctx.errors.push(errorRecord(error));
        void finish(response.status, response.headers, body, aborted);
      },
      cache,
    );
  } catch (error) {
    onFault(error);
    void finish(response.status, response.headers, undefined, false);
    return response;
  }
}

/** The parts of node's IncomingMessage read here (this module has no node: import). */
interface NodeIncoming extends BodySource {
  listeners(event: string): unknown[];
  readonly readableEnded: boolean;
  readonly readableDidRead: boolean;
  readonly destroyed: boolean;
}

/**
 * The node:http request under @hono/node-server's own Request (which it puts in place of the global
 * one), when none of its body was read yet. Reading `body` or `clone()` of that Request makes it a
 * standard one (an AbortSignal, web streams, a tee: ~240 µs per request on Node 20 in the bench),
 * so the body is seen on the node:http request instead. Undefined for anything else.
 */
function serverIncoming(request: Request): NodeIncoming | undefined {
  try {
    for (const symbol of Object.getOwnPropertySymbols(request)) {
      if (symbol.description !== 'incomingKey') continue;
      const incoming = (request as unknown as Record<symbol, unknown>)[symbol] as (Partial<NodeIncoming> & { rawBody?: unknown }) | null;
      const usable =
        typeof incoming === 'object' &&
        incoming !== null &&
        typeof incoming.on === 'function' &&
        typeof incoming.removeListener === 'function' &&
        typeof incoming.listenerCount === 'function' &&
        typeof incoming.listeners === 'function' &&
        incoming.readableDidRead === false &&
        incoming.readableEnded === false &&
        incoming.destroyed === false &&
        // Cloud Functions' request carries its body already read, which the server hands over as is.
        !('rawBody' in incoming);
      return usable ? (incoming as NodeIncoming) : undefined;
    }
  } catch {
    // Not that server's request.
  }
  return undefined;
}

/**
 * Sees the body of `incoming` as the app reads it (the node:http capture's {@link teeRequest}). The
 * function it returns is called once the response is complete: a body the app never read is read
 * then (node would discard it), and the promise resolves once it ended.
 */
function incomingBody(incoming: NodeIncoming, max: number, contentType: string | undefined): () => Promise<CapturedBody> {
  const tee = new BodyTee(max);
  const result = (): CapturedBody => ({ bytes: tee.bytes(), contentType, truncated: tee.truncated });
  const waiting = teeRequest(incoming, tee);
  return () => {
    const unread = waiting !== undefined && incoming.listeners('newListener').includes(waiting);
    if (unread) incoming.removeListener('newListener', waiting);
    if (!unread || incoming.readableEnded || incoming.destroyed) return Promise.resolve(result());
    return new Promise((resolve) => {
      const onData = teeListener(tee);
      const settle = (): void => {
        incoming.removeListener('end', settle);
        incoming.removeListener('close', settle);
        incoming.removeListener('error', settle);
        incoming.removeListener('data', onData);
        resolve(result());
      };
      incoming.on('end', settle);
      incoming.on('close', settle);
      incoming.on('error', settle);
      incoming.on('data', onData);
    });
  };
}

/** A response whose body a server keeps as it was given (see {@link cachedResponse}). */
interface CachedResponse {
  readonly status: number;
  readonly body: string | Uint8Array | null;
  /** A copy: the response's own headers are left as they are. */
  readonly headers: Headers;
}

/** What @hono/node-server writes when a response is given no content type. */
const NODE_SERVER_DEFAULT_TYPE = 'text/plain; charset=UTF-8';

/**
 * @hono/node-server puts a Response of its own in place of the global one (so every handler it
 * serves makes one): a body given as a string or bytes is kept in a cache (`[status, body,
 * headers]` under a symbol described 'cache'), which the server writes from directly, with
 * Content-Length. Reading `body` or `headers` turns that response into a standard one (`headers`
 * changes the order of the header lines, a pass-through in its place makes the body go out
 * chunked), so the record is made from the cache and the app's response is returned untouched: the
 * same bytes, and no stream. Undefined for anything else (a stream body, any other Response class),
 * which goes through {@link teeResponse}.
 */
function cachedResponse(cache: ServerCache): CachedResponse | undefined {
  try {
    const [status, body, init] = cache;
    if (typeof status !== 'number' || !(body === null || typeof body === 'string' || body instanceof Uint8Array)) return undefined;
    const headers = new Headers(
      (init ?? (body === null ? undefined : { 'content-type': NODE_SERVER_DEFAULT_TYPE })) as ConstructorParameters<typeof Headers>[0],
    );
    return { status, body, headers };
  } catch {
    return undefined;
  }
}

/** @hono/node-server's `[status, body, headers]` of a response of its own, read without touching the response. */
type ServerCache = readonly [unknown, unknown, unknown];

function serverCache(response: Response): ServerCache | undefined {
  try {
    for (const symbol of Object.getOwnPropertySymbols(response)) {
      if (symbol.description !== 'cache') continue;
      const cache: unknown = (response as unknown as Record<symbol, unknown>)[symbol];
      return Array.isArray(cache) && cache.length === 3 ? (cache as unknown as ServerCache) : undefined;
    }
  } catch {
    // Not a response of that server.
  }
  return undefined;
}

/** The body of a {@link cachedResponse}, as {@link teeResponse} records one. */
function cachedBody(response: CachedResponse, limits: CaptureLimits, decompress: Decompress): CapturedBody | Promise<CapturedBody> {
  const tee = new BodyTee(limits.maxBodyBytes);
  if (response.body !== null) tee.add(response.body);
  return teedBody(tee, response.headers, response.headers.get('content-type') ?? undefined, limits.maxBodyBytes, decompress);
}

/** What a response body's tee saw, decompressed by its Content-Encoding when it was kept whole. */
function teedBody(
  tee: BodyTee,
  headers: Headers,
  contentType: string | undefined,
  maxBodyBytes: number,
  decompress: Decompress,
): CapturedBody | Promise<CapturedBody> {
  const bytes = tee.bytes();
  const truncated = tee.truncated;
  const encoding = headers.get('content-encoding');
  if (encoding === null || truncated) return { bytes, contentType, truncated };
  const plain = decompress(bytes, encoding.toLowerCase(), maxBodyBytes);
  return plain instanceof Promise ? plain.then((b) => ({ bytes: b, contentType, truncated })) : { bytes: plain, contentType, truncated };
}

/**
 * Bun, Deno and workerd send a body they know the length of (a string, bytes) with
 * `Content-Length`, and one that is a stream as chunked: a response whose body went through a
 * pass-through stream would go out framed differently than the app made it. There the app's own
 * Response is returned and the SDK reads a clone of it (cut at the cap: the clone's branch is
 * cancelled there, so the other buffers at most that much). A client that goes away is seen there
 * only on Bun; elsewhere the record is made when the app's body ends, and an app's stream goes on
 * until it ends or the cap is reached (event streams excepted, see below). On Node, Next.js frames
 * both alike, and @hono/node-server's own Response with a string or bytes body never gets here
 * ({@link cachedResponse}): there the pass-through keeps the exact moment the body was sent, and
 * sees a client that went away. (@hono/node-server with `overrideGlobalObjects: false` still sends
 * a standard Response's short body with Content-Length, which the pass-through turns chunked.)
 */
const KEEPS_LENGTH = /^(Bun\/|Deno\/|Cloudflare-Workers)/.test(
  ((globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent as string) ?? '',
);
/** Bun aborts `request.signal` when the client goes away, and only then (Deno also after a response). */
const SIGNAL_MEANS_GONE = /^Bun\//.test(((globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent as string) ?? '');

/** The same response, its body flowing through a tee (or read from a clone) that reports once the body ended. */
function teeResponse(
  response: Response,
  request: Request,
  limits: CaptureLimits,
  decompress: Decompress,
  done: (body: CapturedBody | Promise<CapturedBody> | undefined, aborted: boolean, error?: unknown) => void,
  cache?: ServerCache,
): Response {
  // The headers as the app gave them to @hono/node-server's Response (read before `headers` turns
  // them into a Headers object), so the pass-through's header lines are written as the app's would be.
  const given = cache?.[2];
  const contentType = response.headers.get('content-type') ?? undefined;
  const empty = (): Response => {
    // Nothing to tee (or not asked to): the exchange is over once the handler answered.
    done(limits.captureResponseBody ? { bytes: Buffer.alloc(0), contentType, truncated: false } : undefined, false);
    return response;
  };
  if (!limits.captureResponseBody) return empty();
  const tee = new BodyTee(limits.maxBodyBytes);
  const body = (): CapturedBody | Promise<CapturedBody> => teedBody(tee, response.headers, contentType, limits.maxBodyBytes, decompress);
  // An event stream is a stream whatever the runtime, and may never end: through the pass-through,
  // which passes a client's leaving on to the app at once (a clone's branch would keep it writing).
  if (KEEPS_LENGTH && !contentType?.toLowerCase().startsWith('text/event-stream')) {
    let copy: Response | undefined;
    try {
      // Not a look at response.body first: on Deno that alone turns a body of known length into a stream.
      copy = response.clone();
    } catch {
      // A body already used or locked: the pass-through below still works.
    }
    if (copy !== undefined) {
      if (copy.body === null) return empty();
      readClone(copy.body, tee, limits.maxBodyBytes, SIGNAL_MEANS_GONE ? request.signal : undefined, (aborted, error) =>
        done(body(), aborted, error),
      );
      return response;
    }
  }
  if (response.body === null) return empty();
  const reader = response.body.getReader();
  // highWaterMark 0: a chunk is read from the app only when the server asks for one.
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          done(body(), true, error);
          controller.error(error);
          return;
        }
        if (chunk.done) {
          controller.close();
          done(body(), false);
          return;
        }
        try {
          tee.add(chunk.value);
        } catch {
          // Never let capture break the response.
        }
        controller.enqueue(chunk.value);
      },
      cancel(reason) {
        done(body(), true);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const headers = cache === undefined ? response.headers : (given as ConstructorParameters<typeof Headers>[0]);
  return new Response(stream, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Reads a clone of the response body into `tee` up to its limit (then cancels the clone's branch),
 * and reports once the body ended, failed, or `gone` said the client went away.
 */
function readClone(
  stream: ReadableStream<Uint8Array>,
  tee: BodyTee,
  limit: number,
  gone: AbortSignal | undefined,
  done: (aborted: boolean, error?: unknown) => void,
): void {
  const reader = stream.getReader();
  let over = false;
  const onGone = (): void => {
    if (over) return;
    over = true;
    reader.cancel().catch(() => {});
    done(true);
  };
  if (gone?.aborted) {
    onGone();
    return;
  }
  gone?.addEventListener('abort', onGone, { once: true });
  void (async () => {
    try {
      for (;;) {
        const { done: ended, value } = await reader.read();
        if (ended || over) break;
        tee.add(value);
        if (tee.seen > limit) {
          await reader.cancel().catch(() => {});
          break;
        }
      }
      if (!over) done(false);
    } catch (error) {
      if (!over) done(true, error);
    } finally {
      over = true;
      gone?.removeEventListener('abort', onGone);
    }
  })();
}
