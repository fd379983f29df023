/**
 * Capture for the Web Fetch API: a `Request` served by a handler that returns a `Response`
 * (Next.js App Router route handlers and other fetch-style servers). The response body is teed
 * through a pass-through stream that holds no chunk back; the request body through a clone read
 * alongside the app, cut at `maxBodyBytes`.
 */
import { randomUUID } from 'node:crypto';
import type { AsyncLocalStorage } from 'node:async_hooks';
import {
  BodyTee, decompress, errorRecord,
  type CaptureLimits, type CapturedBody, type RecordInput, type RequestContext, type RouteMatch,
} from './capture.js';
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
 * Serves `request` with `handler` inside the request's async context and reports the exchange
 * to `onDone` once the response body has been sent (or abandoned).
 */
export async function observeWeb(
  request: Request,
  url: URL,
  adapter: WebCaptureAdapter,
  limits: CaptureLimits,
  context: AsyncLocalStorage<RequestContext>,
  handler: () => Response | Promise<Response>,
  onDone: (input: RecordInput) => void,
  onFault: (error: unknown) => void,
): Promise<Response> {
  const ctx: RequestContext = { msgId: randomUUID(), errors: [], done: false };
  const startNs = process.hrtime.bigint();
  const timestamp = new Date().toISOString();
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

  const finish = async (status: number, headers: Headers | undefined, responseBody: CapturedBody | undefined, aborted: boolean) => {
    if (ctx.done) return;
    ctx.done = true;
    try {
      const durationNs = Number(process.hrtime.bigint() - startNs);
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
        responseBody,
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
    response = await context.run(ctx, handler);
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
    return teeResponse(response, limits, (body, aborted, error) => {
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
  done: (body: CapturedBody | undefined, aborted: boolean, error?: unknown) => void,
): Response {
  const contentType = response.headers.get('content-type') ?? undefined;
  if (response.body === null || !limits.captureResponseBody) {
    // Nothing to tee (or not asked to): the exchange is over once the handler answered.
    done(limits.captureResponseBody ? { bytes: Buffer.alloc(0), contentType, truncated: false } : undefined, false);
    return response;
  }
  const tee = new BodyTee(limits.maxBodyBytes);
  const body = (): CapturedBody => {
    let bytes = tee.bytes();
    const encoding = response.headers.get('content-encoding');
    if (encoding !== null && !tee.truncated) bytes = decompress(bytes, encoding.toLowerCase(), limits.maxBodyBytes);
    return { bytes, contentType, truncated: tee.truncated };
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
