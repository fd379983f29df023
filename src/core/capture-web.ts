/**
 * Capture for the Web Fetch API: a `Request` served by a handler that returns a `Response`
 * (`fetchHandler` on Bun, Deno, Workers and the edge; Hono off Node; Next.js App Router route
 * handlers). The response body is teed through a pass-through stream that holds no chunk back; the
 * request body through a clone read alongside the app, cut at `maxBodyBytes`. Runtime-neutral: no
 * `node:` import, nothing of Node's at the top level.
 */
import {
  BodyTee, errorRecord, isoNow,
  type CaptureLimits, type CapturedBody, type RecordInput, type RequestContext, type RouteMatch,
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

  let requestBody: Promise<CapturedBody> | undefined;
  try {
    if (limits.captureRequestBody && request.body !== null && !request.bodyUsed) {
      const tee = new BodyTee(limits.maxBodyBytes);
      const contentType = request.headers.get('content-type') ?? undefined;
      requestBody = readCapped(request.clone().body!, tee, limits.maxBodyBytes)
        .then(() => ({ bytes: tee.bytes(), contentType, truncated: tee.truncated }));
    }
  } catch (error) {
    onFault(error);
  }

  const finish = async (status: number, headers: Headers | undefined, responseBody: CapturedBody | Promise<CapturedBody> | undefined, aborted: boolean) => {
    if (ctx.done) return;
    ctx.done = true;
    try {
      const durationNs = Math.round((now() - startMs) * 1e6);
      let route: RouteMatch;
      try {
        route = await adapter.route(request, url);
      } catch (error) {
        onFault(error);
        route = { template: '', params: {} };
      }
      onDone({
        sdkType: adapter.sdkType,
        msgId: ctx.msgId,
        parentId: null,
        timestamp,
        durationNs,
        method: request.method.toUpperCase(),
        host: request.headers.get('host') ?? url.host,
        rawUrl,
        route,
        requestHeaders: webHeaders(request.headers),
        responseHeaders: headers === undefined ? {} : webHeaders(headers),
        requestBody: requestBody === undefined ? undefined : await requestBody,
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
  } catch (error) {
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
    return teeResponse(response, limits, env.decompress, (body, aborted, error) => {
      if (error !== undefined) ctx.errors.push(errorRecord(error));
      void finish(response.status, response.headers, body, aborted);
    });
  } catch (error) {
    onFault(error);
    void finish(response.status, response.headers, undefined, false);
    return response;
  }
}

/** The same response, its body flowing through a tee that reports once the body ended. */
function teeResponse(
  response: Response,
  limits: CaptureLimits,
  decompress: Decompress,
  done: (body: CapturedBody | Promise<CapturedBody> | undefined, aborted: boolean, error?: unknown) => void,
): Response {
  const contentType = response.headers.get('content-type') ?? undefined;
  if (response.body === null || !limits.captureResponseBody) {
    // Nothing to tee (or not asked to): the exchange is over once the handler answered.
    done(limits.captureResponseBody ? { bytes: Buffer.alloc(0), contentType, truncated: false } : undefined, false);
    return response;
  }
  const tee = new BodyTee(limits.maxBodyBytes);
  const body = (): CapturedBody | Promise<CapturedBody> => {
    const bytes = tee.bytes();
    const truncated = tee.truncated;
    const encoding = response.headers.get('content-encoding');
    if (encoding === null || truncated) return { bytes, contentType, truncated };
    const plain = decompress(bytes, encoding.toLowerCase(), limits.maxBodyBytes);
    return plain instanceof Promise ? plain.then((b) => ({ bytes: b, contentType, truncated })) : { bytes: plain, contentType, truncated };
  };
  const reader = response.body.getReader();
  // highWaterMark 0: a chunk is read from the app only when the server asks for one.
  const stream = new ReadableStream<Uint8Array>({
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
  }, { highWaterMark: 0 });
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
}
