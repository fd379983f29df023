/**
 * Capture: turns a node:http request/response pair into the raw material of one record. Every
 * adapter goes through here. The response is observed by a bounded tee on `write`/`end`; the
 * request body by a tee on the stream's `data` events, so the app's own parser still reads it.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, type IncomingHttpHeaders, ServerResponse } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { boundedJson } from './bounded-json.js';
import { setOwn } from './own.js';
import {
  BodyTee,
  isoNow,
  teeRequest,
  type CapturedBody,
  type CaptureLimits,
  type RecordInput,
  type RequestContext,
  type RouteMatch,
} from './capture-core.js';
import type { ErrorRecord, HeaderInput, SdkType } from './record.js';

export {
  BodyTee,
  errorRecord,
  isoNow,
  type CapturedBody,
  type CaptureLimits,
  type RecordInput,
  type RequestContext,
  type RouteMatch,
} from './capture-core.js';

/**
 * What an adapter tells capture about the framework. `state` is whatever the adapter handed to
 * `observe` for this request (Koa's `ctx`, Fastify's `request`...), so no per-request lookup is needed.
 */
export interface CaptureAdapter<State = unknown> {
  readonly sdkType: SdkType;
  /** The SDK type when it is only known once the response is done (zero-code start); else `sdkType`. */
  sdkTypeOf?(req: IncomingMessage, state: State): SdkType;
  /** Route template and path params, read once the response is done. */
  route(req: IncomingMessage, state: State): RouteMatch;
  /** What the app's body parser produced, for when the raw bytes went by before we were mounted. */
  parsedBody?(req: IncomingMessage, state: State): unknown;
  /**
   * `'push'`: see the request body as node hands it to the stream (a wrapper of the request's
   * `push`) instead of as a 'data' listener of our own. For a framework whose error responses never
   * show a stack (Fastify): the wrapper is a frame in the stack of an error the app's body reader
   * raises synchronously (a size limit), which a development error page would print (Express).
   */
  readonly requestTee?: 'push';
}

/**
 * One node:http request being observed, and its async context (what reportError and outgoing
 * calls see). A class, so that every exchange has the same shape from the start.
 */
export class Exchange implements RequestContext {
  readonly msgId: string = randomUUID();
  readonly errors: ErrorRecord[] = [];
  done = false;
  readonly startNs: bigint = process.hrtime.bigint();
  readonly timestamp: string = isoNow();
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly adapter: CaptureAdapter;
  readonly state: unknown;
  /** The URL as received, before any router rewrote `req.url`. */
  readonly rawUrl: string;
  /** Undefined when request body capture is off or no body is coming. */
  requestTee: BodyTee | undefined = undefined;
  /** Made on the first body chunk: undefined when nothing was written (or capture is off). */
  responseTee: BodyTee | undefined = undefined;
  /** Headers handed to `writeHead()` that node sent without keeping them in `getHeaders()`. */
  sentHeaders: HeaderInput | undefined = undefined;
  /** 'finish' was seen. */
  finished = false;
  /**
   * The response's own `write`, `end` and `writeHead` before the capture's hooks replaced them, and
   * whether `end()` is running (see {@link responseHooks}).
   */
  write: ServerResponse['write'] | undefined = undefined;
  end: ServerResponse['end'] | undefined = undefined;
  writeHead: ServerResponse['writeHead'] | undefined = undefined;
  ending = false;
  /** A later exchange of this capture observes the same response: the hooks no longer find this one. */
  superseded = false;
  /**
   * The response inherits the write/end hooks from its framework's prototype (see onPrototype):
   * `write` and `end` above are then the methods above that prototype.
   */
  viaPrototype = false;

  constructor(req: IncomingMessage, res: ServerResponse, adapter: CaptureAdapter, state: unknown, rawUrl: string) {
    this.req = req;
    this.res = res;
    this.adapter = adapter;
    this.state = state;
    this.rawUrl = rawUrl;
  }
}

/** Observes node:http exchanges for one client; see {@link createNodeCapture}. */
export interface NodeCapture {
  /**
   * Starts observing. `onDone` runs once, after the response finished (`aborted` false) or the
   * connection closed before it did (`aborted` true). Must be called before the app writes anything.
   * `rawUrl` is the URL as received, when the caller has read it already.
   */
  start(req: IncomingMessage, res: ServerResponse, adapter: CaptureAdapter, state: unknown, rawUrl?: string): Exchange;
  /** The exchange this capture started for `req`, if any (finished or not). */
  exchangeOf(req: IncomingMessage): Exchange | undefined;
  /** Takes the hooks off the framework prototypes it put them on (see {@link createNodeCapture}). */
  release(): void;
}

/**
 * The capture of one client. What it costs per request is mostly the properties it adds to req/res:
 * Express gives every req/res an object shape of its own (`setPrototypeOf` per request), so each
 * property added copies that shape, a microsecond or two apiece. So it adds one to `req` (the
 * exchange: a WeakMap costs far more, in garbage collection), and to `res` only the hooks it needs
 * (they find the exchange through `res.req`), none where they sit on the framework's own response
 * prototype (Express's; see onPrototype). The hooks are functions of the capture, not
 * closures made per request: with a fresh `writeHead` wrapper on each response, V8 settled Koa's process in its allocation-site
 * pretenuring mode (every request's objects promoted: ~6.6 KB and ~30 µs of GC per request; with
 * one wrapper for all responses 5 B; bench/results/INSITU.md).
 */
export function createNodeCapture(limits: CaptureLimits, onDone: (exchange: Exchange, aborted: boolean) => void): NodeCapture {
  // One per client: two clients observing one request each find their own exchange.
  const kExchange = Symbol('apitoolkit.exchange');
  const hooks = responseHooks(kExchange, limits.maxBodyBytes, onDone);
  return {
    // Never throws: adapters may hand over anything.
    exchangeOf: (req) => (req as unknown as Record<symbol, Exchange | undefined> | null | undefined)?.[kExchange],
    start(req, res, adapter, state, rawUrl = receivedUrl(req)) {
      const exchange = new Exchange(req, res, adapter, state, rawUrl);
      if (limits.captureRequestBody && !req.readableEnded && mayHaveBody(req.headers)) {
        const tee = (exchange.requestTee = new BodyTee(limits.maxBodyBytes));
        if (adapter.requestTee === 'push' && pushMayTee(req)) teePush(req, tee);
        else teeRequest(req, tee);
      }
      // A response observed again by this capture (its earlier exchange done) has our hooks already:
      // the new exchange takes over the earlier one's originals, so no hook ever calls itself.
      const earlier = hooks.exchangeOf(res);
      (req as unknown as Record<symbol, Exchange>)[kExchange] = exchange;
      // The hooks find the exchange through the request (`res.req`, which node sets): a property
      // added to a response costs Express a map of its own per request. Only a response whose `req`
      // is not this request (none in node; kept for other runtimes) carries the exchange itself.
      if (earlier !== undefined) earlier.superseded = true;
      if ((res as { req?: unknown }).req !== req || Object.hasOwn(res, kExchange)) {
        (res as unknown as Record<symbol, Exchange | undefined>)[kExchange] = exchange;
      }
      if (limits.captureResponseBody) {
        // On a framework's own response prototype (Express's) the hooks are put once: a response
        // that inherits both from there (nothing of its own in front of them) gets no property.
        const parent = hooks.onPrototype(res);
        if (parent !== undefined && res.write === hooks.protoWrite && res.end === hooks.protoEnd) {
          exchange.viaPrototype = true;
          exchange.write = parent.write;
          exchange.end = parent.end;
        } else {
          if (res.write === hooks.write) exchange.write = earlier?.write;
          else [exchange.write, res.write] = [res.write, hooks.write];
          if (res.end === hooks.end) exchange.end = earlier?.end;
          else [exchange.end, res.end] = [res.end, hooks.end];
        }
      }
      // Once a header is set, writeHead() always keeps its headers in getHeaders(): its fast path
      // (see hooks.writeHead) is only taken while none is. Express has set X-Powered-By by now.
      if (res.writeHead === hooks.writeHead) exchange.writeHead = earlier?.writeHead;
      else if (res.getHeaderNames().length === 0) [exchange.writeHead, res.writeHead] = [res.writeHead, hooks.writeHead];
      // A ServerResponse emits 'close' once, on the tick after 'finish' or when the connection
      // drops first (node's resOnFinish / abortIncoming). Responses without a real socket
      // (light-my-request: Fastify's inject()) emit 'finish' themselves and never become
      // writableFinished, hence the 'finish' listener. (`on`, not `once`: no wrapper per listener.)
      res.on('finish', hooks.onFinish);
      res.on('close', hooks.onClose);
      return exchange;
    },
    release: () => hooks.release(),
  };
}

/**
 * The response's hooks, one set per capture: each finds its exchange on the response it is called on
 * (`this`). The bounded tee on `write`/`end`; `writeHead`, whose fast path (`writeHead(status,
 * headers)` with no `setHeader()` before it: Fastify, @hono/node-server) sends the headers without
 * keeping them in getHeaders(), so a copy is kept; the 'finish' and 'close' listeners. Called on
 * anything but a response this capture hooked (a method taken off one and called on another), a
 * hook does what the method it replaced would have: the one `this` inherits.
 */
function responseHooks(kExchange: symbol, maxBodyBytes: number, onDone: (exchange: Exchange, aborted: boolean) => void) {
  // The exchange of the response's request when it is this response's (see start()); else the one
  // the response carries itself.
  const exchangeOf = (res: ServerResponse): Exchange | undefined => {
    const own = res as unknown as
      | ({ req?: Record<symbol, Exchange | undefined> } & Record<symbol, Exchange | undefined>)
      | null
      | undefined;
    const exchange = own?.req?.[kExchange];
    return exchange !== undefined && exchange.res === res && !exchange.superseded ? exchange : own?.[kExchange];
  };
  // Framework response prototypes given protoWrite/protoEnd (see onPrototype); false: left alone.
  const prototypes = new Map<object, boolean>();
  // The bounded tee of what write()/end() is handed. A write after end() fails and sends nothing:
  // it is not part of the body. A response class whose end() calls this.write() (light-my-request,
  // i.e. Fastify's inject()) must not have end()'s chunk counted twice.
  const teeWrite = (exchange: Exchange, res: ServerResponse, chunk: unknown, encoding: unknown): void => {
    try {
      if (!res.writableEnded && !exchange.ending && sendsBody(res))
        (exchange.responseTee ??= new BodyTee(maxBodyBytes)).add(chunk, encoding);
    } catch {
      // Never let capture break the response.
    }
  };
  // end() after end() writes nothing; counting it would duplicate the tail.
  const teeEnd = (exchange: Exchange, res: ServerResponse, chunk: unknown, encoding: unknown): void => {
    try {
      if (!res.writableEnded && chunk !== undefined && typeof chunk !== 'function' && sendsBody(res)) {
        (exchange.responseTee ??= new BodyTee(maxBodyBytes)).add(chunk, encoding);
      }
    } catch {
      // Never let capture break the response.
    }
  };
  const callEnd = (exchange: Exchange, res: ServerResponse, end: ServerResponse['end'], args: IArguments): ServerResponse => {
    exchange.ending = true;
    try {
      return end.apply(res, args as unknown as Parameters<typeof end>);
    } finally {
      exchange.ending = false;
    }
  };
  // The functions below are anonymous on purpose: tsx/esbuild's keepNames would wrap a named
  // function expression in a `__name()` call.
  const hooks = {
    exchangeOf,
    /**
     * Express sets a prototype of its own on every response (`app.response`, whose prototype is
     * Express's `response`, then node's ServerResponse.prototype), and in V8 that gives each response
     * a map of its own: every property added to one is a map transition made at run time, per
     * request. So protoWrite/protoEnd go once on the framework's prototype just above node's, when
     * it has no write/end of its own, and a response that inherits them needs no property. Returns
     * that prototype's own prototype (whose write/end the hooks call; read per request, so a patch
     * of node's methods made later is still called), or undefined for a response of node's own
     * class or a prototype left alone. Allocates nothing: it runs for every request.
     */
    onPrototype(res: ServerResponse): ServerResponse | undefined {
      const proto = frameworkPrototype(res);
      if (proto === undefined) return undefined;
      let hooked = prototypes.get(proto);
      if (hooked === undefined) {
        hooked = !Object.hasOwn(proto, 'write') && !Object.hasOwn(proto, 'end') && Object.isExtensible(proto);
        if (hooked) {
          for (const [name, value] of [
            ['write', hooks.protoWrite],
            ['end', hooks.protoEnd],
          ] as const) {
            Object.defineProperty(proto, name, { value, writable: true, enumerable: false, configurable: true });
          }
        }
        prototypes.set(proto, hooked);
      }
      return hooked ? (Object.getPrototypeOf(proto) as ServerResponse) : undefined;
    },
    /** Takes protoWrite/protoEnd off the prototypes they were put on, where they are still there. */
    release(): void {
      for (const [proto, hooked] of prototypes) {
        if (!hooked) continue;
        if (Object.getOwnPropertyDescriptor(proto, 'write')?.value === hooks.protoWrite) Reflect.deleteProperty(proto, 'write');
        if (Object.getOwnPropertyDescriptor(proto, 'end')?.value === hooks.protoEnd) Reflect.deleteProperty(proto, 'end');
      }
      prototypes.clear();
    },
    /**
     * write() on a framework's prototype: tees only for an exchange whose response inherits it
     * (`viaPrototype`), then calls the method above that prototype, never an exchange's own original:
     * what captured it before the capture started (compression mounted first keeps it as its
     * `_write`) may call it again under the response's own hooks.
     */
    protoWrite: function (this: ServerResponse, chunk: unknown, encoding?: unknown): boolean {
      const exchange = exchangeOf(this);
      const mine = exchange?.viaPrototype ? exchange : undefined;
      if (mine !== undefined) teeWrite(mine, this, chunk, encoding);
      const write = mine?.write ?? methodAbove(this, 'write', hooks.protoWrite);
      return write.apply(this, arguments as unknown as Parameters<typeof write>);
    } as ServerResponse['write'],
    protoEnd: function (this: ServerResponse, chunk?: unknown, encoding?: unknown): ServerResponse {
      const exchange = exchangeOf(this);
      const mine = exchange?.viaPrototype ? exchange : undefined;
      if (mine === undefined) {
        const end = methodAbove(this, 'end', hooks.protoEnd);
        return end.apply(this, arguments as unknown as Parameters<typeof end>);
      }
      teeEnd(mine, this, chunk, encoding);
      return callEnd(mine, this, mine.end ?? methodAbove(this, 'end', hooks.protoEnd), arguments);
    } as ServerResponse['end'],
    write: function (this: ServerResponse, chunk: unknown, encoding?: unknown): boolean {
      // An exchange whose response inherits the prototype hooks is theirs to tee.
      const exchange = exchangeOf(this);
      const mine = exchange?.viaPrototype === false ? exchange : undefined;
      if (mine !== undefined) teeWrite(mine, this, chunk, encoding);
      const write = mine?.write ?? inherited(this, 'write');
      return write.apply(this, arguments as unknown as Parameters<typeof write>);
    } as ServerResponse['write'],
    end: function (this: ServerResponse, chunk?: unknown, encoding?: unknown): ServerResponse {
      const exchange = exchangeOf(this);
      const mine = exchange?.viaPrototype === false ? exchange : undefined;
      if (mine === undefined) {
        const end = inherited(this, 'end');
        return end.apply(this, arguments as unknown as Parameters<typeof end>);
      }
      teeEnd(mine, this, chunk, encoding);
      return callEnd(mine, this, mine.end ?? inherited(this, 'end'), arguments);
    } as ServerResponse['end'],
    writeHead: function (this: ServerResponse, _status: unknown, reason?: unknown, headers?: unknown): ServerResponse {
      const exchange = exchangeOf(this);
      const writeHead = exchange?.writeHead ?? inherited(this, 'writeHead');
      const result = writeHead.apply(this, arguments as unknown as Parameters<typeof writeHead>);
      try {
        const given = typeof reason === 'string' ? headers : reason;
        if (exchange !== undefined && given !== null && typeof given === 'object' && this.getHeaderNames().length === 0) {
          exchange.sentHeaders = headerRecord(given);
        }
      } catch {
        // Never let capture break the response.
      }
      return result;
    } as ServerResponse['writeHead'],
    onFinish: function (this: ServerResponse): void {
      const exchange = exchangeOf(this);
      if (exchange !== undefined) exchange.finished = true;
    },
    onClose: function (this: ServerResponse): void {
      const exchange = exchangeOf(this);
      if (exchange === undefined || exchange.done) return;
      exchange.done = true;
      onDone(exchange, !exchange.finished && !this.writableFinished);
    },
  };
  return hooks;
}

/**
 * The prototype of a framework's own in `res`'s chain, just above node's ServerResponse.prototype
 * (Express's `response`); undefined for a response of node's own class, or a chain without it.
 */
function frameworkPrototype(res: ServerResponse): object | undefined {
  let proto: unknown = typeof res === 'object' && res !== null ? Object.getPrototypeOf(res) : null;
  if (proto === ServerResponse.prototype) return undefined;
  for (let depth = 0; depth < 8 && typeof proto === 'object' && proto !== null; depth += 1) {
    const above: unknown = Object.getPrototypeOf(proto);
    if (above === ServerResponse.prototype) return proto;
    proto = above;
  }
  return undefined;
}

/**
 * The method above the prototype in `target`'s chain that has `hook` as its own `name` (what that
 * prototype had before the hook was put on it); what `target` inherits when none has it.
 */
function methodAbove<K extends 'write' | 'end'>(target: ServerResponse, name: K, hook: ServerResponse[K]): ServerResponse[K] {
  let proto: unknown = typeof target === 'object' && target !== null ? Object.getPrototypeOf(target) : null;
  for (let depth = 0; depth < 16 && typeof proto === 'object' && proto !== null; depth += 1) {
    if (Object.getOwnPropertyDescriptor(proto, name)?.value === hook) {
      const method: unknown = Reflect.get(Object.getPrototypeOf(proto) ?? {}, name, target);
      if (typeof method === 'function' && method !== hook) return method as ServerResponse[K];
      break;
    }
    proto = Object.getPrototypeOf(proto);
  }
  const method = inherited(target, name);
  return method === hook ? ServerResponse.prototype[name] : method;
}

/**
 * The method `target` has from its prototype chain, for a hook called on what it did not hook
 * (node's own when `target` is no object: it then fails as it would have).
 */
function inherited<K extends 'write' | 'end' | 'writeHead'>(target: ServerResponse, name: K): ServerResponse[K] {
  const proto: unknown = typeof target === 'object' && target !== null ? Object.getPrototypeOf(target) : null;
  const method: unknown = proto !== null && typeof proto === 'object' ? Reflect.get(proto, name, target) : undefined;
  return (typeof method === 'function' ? method : ServerResponse.prototype[name]) as ServerResponse[K];
}

// The hooks below are anonymous on purpose: tsx/esbuild's keepNames would wrap a named function
// expression in a `__name()` call (a defineProperty) for every request.

/**
 * Whether every body chunk is still to come through `req.push`: nothing read or buffered yet, and
 * node's own stream (Bun's node:http feeds its stream another way).
 */
function pushMayTee(req: IncomingMessage): boolean {
  return (
    !ON_BUN &&
    req.readableFlowing === null &&
    req.readableLength === 0 &&
    req.listenerCount('data') === 0 &&
    req.listenerCount('readable') === 0
  );
}

const ON_BUN = typeof (process.versions as { bun?: unknown }).bun === 'string';

/**
 * Sees each body chunk as node's HTTP parser pushes it into the request stream, whether or not the
 * app reads it. The 'data' listener of teeRequest() is a second listener beside the framework's own,
 * and with it V8 settled Fastify's process in a mode where its allocation-site pretenuring tenured a
 * per-request site and every request's objects were promoted (at saturation ~4.3 KB and ~25 µs of GC
 * per request; with this wrapper 11 B and 4 µs: bench/results/INSITU.md).
 */
function teePush(req: IncomingMessage, tee: BodyTee): void {
  const push = req.push;
  req.push = function (this: IncomingMessage, chunk: unknown, encoding?: unknown): boolean {
    if (chunk !== null && chunk !== undefined) {
      try {
        tee.add(chunk, encoding);
      } catch {
        // Never let capture break the app's read.
      }
    }
    return push.apply(this, arguments as unknown as Parameters<typeof push>);
  } as typeof req.push;
}

/** The URL as received: Express keeps it in `originalUrl` when a router rewrites `url`. */
export function receivedUrl(req: IncomingMessage): string {
  return (req as { originalUrl?: string }).originalUrl ?? req.url ?? '';
}

function mayHaveBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
}

/**
 * Node silently drops what is written to the response of a HEAD request or with status 204/304
 * (`_hasBody`): a plain node:http app may write it, but it is not part of what was sent.
 */
function sendsBody(res: ServerResponse): boolean {
  return (res as { _hasBody?: boolean })._hasBody !== false && res.statusCode !== 204 && res.statusCode !== 304;
}

/** writeHead's headers (an object, `[name, value]` pairs or a flat `[name, value, ...]` list) -> one object. */
function headerRecord(headers: object): HeaderInput {
  const out: Record<string, string | string[]> = Object.create(null);
  const add = (name: unknown, value: unknown): void => {
    if (value === undefined || value === null) return;
    const key = String(name).toLowerCase();
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    const prev = out[key];
    out[key] = prev === undefined ? (values.length === 1 ? values[0]! : values) : [...(Array.isArray(prev) ? prev : [prev]), ...values];
  };
  if (!Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) add(name, value);
  } else if (Array.isArray(headers[0])) {
    for (const pair of headers as unknown[][]) add(pair[0], pair[1]);
  } else {
    for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
  }
  return out;
}

const NO_BODY = (contentType: string | undefined): CapturedBody => ({ bytes: Buffer.alloc(0), contentType, truncated: false });

/**
 * The request body to record: the bytes seen (decompressed by their Content-Encoding), or what the
 * app's body parser produced when the SDK came after it and saw no byte, or when the bytes were cut
 * at maxBodyBytes but the parser's value fits (it is serialised no further than maxBodyBytes: a
 * 50 MB upload costs one MiB of work). Otherwise the bytes, cut; the redactor withholds what it
 * cannot read whole.
 */
export function requestBody(
  exchange: Exchange,
  headers: IncomingHttpHeaders = exchange.req.headers,
  maxBodyBytes = Number.MAX_SAFE_INTEGER,
): CapturedBody {
  const contentType = headers['content-type'];
  const tee = exchange.requestTee;
  if (tee === undefined || tee.seen === 0) return fromParser(exchange, headers, contentType, maxBodyBytes) ?? NO_BODY(contentType);
  const bytes = tee.bytes();
  if (tee.truncated) {
    const whole = fromParser(exchange, headers, contentType, maxBodyBytes);
    return whole !== undefined && !whole.truncated ? whole : { bytes, contentType, truncated: true };
  }
  const encoding = headers['content-encoding'];
  if (encoding === undefined) return { bytes, contentType, truncated: false };
  const decoded = decompress(bytes, encoding.toLowerCase(), maxBodyBytes);
  if (decoded !== bytes) return { bytes: decoded, contentType, truncated: false };
  // Not decodable here: the parser may have decoded it; else the compressed bytes.
  return fromParser(exchange, headers, contentType, maxBodyBytes) ?? { bytes, contentType, truncated: false };
}

/** What the app's body parser made of the request body, cut at `max`; undefined when it made nothing to record. */
function fromParser(
  exchange: Exchange,
  headers: IncomingHttpHeaders,
  contentType: string | undefined,
  max: number,
): CapturedBody | undefined {
  const parsed = exchange.adapter.parsedBody?.(exchange.req, exchange.state);
  if (typeof parsed === 'string' || Buffer.isBuffer(parsed)) {
    // A string longer than `max` characters is longer than `max` bytes: only that much is encoded.
    const bytes = typeof parsed === 'string' ? Buffer.from(parsed.length > max ? parsed.slice(0, max + 1) : parsed) : parsed;
    return bytes.length > max ? { bytes: bytes.subarray(0, max), contentType, truncated: true } : { bytes, contentType, truncated: false };
  }
  if (parsed === null || typeof parsed !== 'object' || !(hasOwnKeys(parsed) || mayHaveBody(headers))) return undefined;
  const length = Number(headers['content-length']);
  let json: { text: string; cut: boolean } | undefined;
  if (length <= max) {
    // Known to be small: the native serialiser (its text is about as long as what was sent).
    try {
      const text = JSON.stringify(parsed) as string | undefined;
      json = text === undefined ? undefined : { text, cut: false };
    } catch {
      json = undefined; // cyclic or BigInt
    }
  } else {
    json = boundedJson(parsed, max);
  }
  if (json === undefined) return undefined;
  const bytes = Buffer.from(json.text);
  const cut = json.cut || bytes.length > max;
  return { bytes: cut ? bytes.subarray(0, max) : bytes, contentType, truncated: cut, parsed: true };
}

/** `Object.keys(value).length > 0` without making the array. */
function hasOwnKeys(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}

/** The response body to record, decompressed when the app (or a middleware inside ours) compressed it. */
export function responseBody(exchange: Exchange, maxBodyBytes: number, headers = responseHeaders(exchange)): CapturedBody {
  const header = headers['content-type'];
  const contentType = typeof header === 'string' ? header : undefined;
  const tee = exchange.responseTee;
  if (tee === undefined || tee.seen === 0) return NO_BODY(contentType);
  let bytes = tee.bytes();
  const encoding = headers['content-encoding'];
  if (typeof encoding === 'string' && !tee.truncated) bytes = decompress(bytes, encoding.toLowerCase(), maxBodyBytes);
  return { bytes, contentType, truncated: tee.truncated };
}

/** The response headers (lower-case names), also when they were handed to writeHead() directly. */
function responseHeaders(exchange: Exchange): HeaderInput {
  return exchange.sentHeaders ?? exchange.res.getHeaders();
}

// node keeps its count of the raw header entries it parsed (maxHeadersCount may cut the list) and
// the headersDistinct object under symbols of its own; found once, by name, on a blank message.
let kHeadersCount: symbol | null | undefined;
let kHeadersDistinct: symbol | null | undefined;

function findHeaderSymbols(): void {
  kHeadersCount = null;
  kHeadersDistinct = null;
  // Bun's node:http has the same symbols but leaves the count at 0: its own getter it is.
  if (ON_BUN) return;
  try {
    const probe = new IncomingMessage(null as never);
    void probe.headersDistinct;
    for (const symbol of Object.getOwnPropertySymbols(probe)) {
      if (symbol.description === 'kHeadersCount') kHeadersCount = symbol;
      if (symbol.description === 'kHeadersDistinct') kHeadersDistinct = symbol;
    }
  } catch {
    // Another node: req.headersDistinct it is.
  }
}

/**
 * `req.headersDistinct`, built without making node add it to `req`: on an Express request (an object
 * shape of its own) that one property costs more than building the object. Falls back to node's
 * getter when its internals are not as expected, or it already built (and the app may have changed) it.
 */
export function requestHeaders(req: IncomingMessage): HeaderInput {
  if (kHeadersCount === undefined) findHeaderSymbols();
  const internal = req as unknown as Record<symbol, unknown>;
  const count = kHeadersCount === null ? undefined : internal[kHeadersCount!];
  const raw = req.rawHeaders;
  if (typeof count !== 'number' || !Array.isArray(raw) || kHeadersDistinct === null || internal[kHeadersDistinct!]) {
    return req.headersDistinct ?? req.headers;
  }
  // What node's _addHeaderLineDistinct makes: lower-case names, every value in order, in a list.
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < count && i + 1 < raw.length; i += 2) {
    const field = raw[i];
    // Only the parser's strings: a list someone rewrote goes to node's own getter.
    if (typeof field !== 'string') return req.headersDistinct ?? req.headers;
    const name = field.toLowerCase();
    if (Object.hasOwn(out, name)) out[name]!.push(raw[i + 1]!);
    else setOwn(out, name, [raw[i + 1]!]);
  }
  return out;
}

/** The record input of a finished node:http exchange. */
export function nodeRecordInput(exchange: Exchange, aborted: boolean, route: RouteMatch, limits: CaptureLimits): RecordInput {
  const durationNs = Number(process.hrtime.bigint() - exchange.startNs);
  const { req, res } = exchange;
  const headers = req.headers;
  const sent = responseHeaders(exchange);
  return {
    sdkType: exchange.adapter.sdkTypeOf?.(req, exchange.state) ?? exchange.adapter.sdkType,
    msgId: exchange.msgId,
    parentId: null,
    timestamp: exchange.timestamp,
    durationNs,
    method: (req.method ?? 'GET').toUpperCase(),
    host: headers.host ?? '',
    rawUrl: exchange.rawUrl,
    route,
    // headersDistinct keeps repeated request headers apart, as the wire format wants.
    requestHeaders: requestHeaders(req),
    responseHeaders: sent,
    requestBody: limits.captureRequestBody ? requestBody(exchange, headers, limits.maxBodyBytes) : undefined,
    responseBody: limits.captureResponseBody ? responseBody(exchange, limits.maxBodyBytes, sent) : undefined,
    // 499 (nginx's "client closed request") when the client left before any status was sent.
    statusCode: aborted && !res.headersSent ? 499 : res.statusCode,
    protoMajor: req.httpVersionMajor ?? 1,
    protoMinor: req.httpVersionMinor ?? 1,
    errors: exchange.errors,
    aborted,
  };
}

/** Decompresses a whole body by its Content-Encoding; the bytes unchanged when that fails or is unknown. */
export function decompress(bytes: Buffer, encoding: string, maxBytes: number): Buffer {
  const options = { maxOutputLength: Math.max(maxBytes, 1) };
  try {
    // A compression middleware mounted before ours hands us the plain bytes: check the gzip magic.
    if (encoding === 'gzip' || encoding === 'x-gzip') return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes, options) : bytes;
    if (encoding === 'deflate') return inflateSync(bytes, options);
    if (encoding === 'br') return brotliDecompressSync(bytes, options);
  } catch {
    // Not compressed after all, or larger than the cap: keep the bytes as they went out.
  }
  return bytes;
}
