/**
 * Capture: turns a node:http request/response pair into the raw material of one record. Every
 * adapter goes through here. The response is observed by a bounded tee on `write`/`end`; the
 * request body by a tee on the stream's `data` events, so the app's own parser still reads it.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { boundedJson } from './bounded-json.js';
import { setOwn } from './own.js';
import { REDACTED, type ErrorRecord, type HeaderInput, type SdkType } from './record.js';

/** A route template (`""` when nothing matched) and its path params. */
export interface RouteMatch {
  template: string;
  params: Record<string, string>;
}

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
}

/**
 * A finished exchange, whatever produced it (a node:http pair, a Web Request/Response, an
 * outgoing call): everything a record is built from, before redaction.
 */
export interface RecordInput {
  readonly sdkType: SdkType;
  readonly msgId: string;
  readonly parentId: string | null;
  readonly timestamp: string;
  readonly durationNs: number;
  readonly method: string;
  readonly host: string;
  readonly rawUrl: string;
  readonly route: RouteMatch;
  readonly requestHeaders: HeaderInput;
  readonly responseHeaders: HeaderInput;
  /** Undefined when body capture is off. */
  readonly requestBody: CapturedBody | undefined;
  readonly responseBody: CapturedBody | undefined;
  readonly statusCode: number;
  readonly protoMajor: number;
  readonly protoMinor: number;
  readonly errors: ErrorRecord[];
  /** The connection closed before the response was complete. */
  readonly aborted: boolean;
  /** An outgoing call: redacted with the outgoing rules. */
  readonly outgoing?: boolean;
}

/** The per-request state the SDK keeps in async context: what reportError and outgoing calls see. */
export interface RequestContext {
  readonly msgId: string;
  readonly errors: ErrorRecord[];
  done: boolean;
  /** A request that sampling left out: nothing under it is recorded. */
  readonly sampledOut?: boolean;
}

export interface CaptureLimits {
  readonly maxBodyBytes: number;
  readonly captureRequestBody: boolean;
  readonly captureResponseBody: boolean;
}

/** Keeps the first `limit` bytes that stream past and counts the rest. */
export class BodyTee {
  readonly #limit: number;
  // Most bodies are one chunk: the array is only made for a second one.
  #first: Buffer | undefined = undefined;
  #rest: Buffer[] | undefined = undefined;
  #kept = 0;
  /** Bytes seen in total, kept or not. */
  seen = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get truncated(): boolean {
    return this.seen > this.#kept;
  }

  add(chunk: unknown, encoding?: unknown): void {
    let length: number;
    let take: Buffer | undefined;
    const room = this.#limit - this.#kept;
    if (typeof chunk === 'string') {
      const enc = typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8';
      if (chunk.length * 3 <= room && (enc === 'utf8' || enc === 'utf-8')) {
        // UTF-8 makes at most 3 bytes of one UTF-16 unit: all of it fits, so encode it once (and
        // its length is exactly what byteLength would count).
        take = Buffer.from(chunk, enc);
        length = take.length;
      } else {
        length = Buffer.byteLength(chunk, enc);
        // Encode at most `room` characters: one character is at least one byte, so that is enough.
        if (room > 0) take = room >= length ? Buffer.from(chunk, enc) : Buffer.from(chunk.slice(0, room), enc).subarray(0, room);
      }
    } else if (chunk instanceof Uint8Array) {
      length = chunk.byteLength;
      // Copy: the app may reuse its buffer once write() returns.
      if (room > 0) take = Buffer.from(room >= length ? chunk : chunk.subarray(0, room));
    } else {
      return;
    }
    this.seen += length;
    if (take !== undefined && take.length > 0) {
      if (this.#first === undefined) this.#first = take;
      else (this.#rest ??= [this.#first]).push(take);
      this.#kept += take.length;
    }
  }

  bytes(): Buffer {
    if (this.#rest !== undefined) return Buffer.concat(this.#rest, this.#kept);
    return this.#first ?? Buffer.alloc(0);
  }
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

  constructor(req: IncomingMessage, res: ServerResponse, adapter: CaptureAdapter, state: unknown, rawUrl: string) {
    this.req = req;
    this.res = res;
    this.adapter = adapter;
    this.state = state;
    this.rawUrl = rawUrl;
  }
}

// The ISO string of the current millisecond: under load many requests start within the same one,
// and all of a second share everything up to the milliseconds, so toISOString() runs once a second.
// A pure function of the clock, so sharing it between clients is safe.
let isoMs = Number.NaN;
let isoString = '';
let isoSecond = Number.NaN;
let isoPrefix = '';
const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** `new Date().toISOString()`, formatted at most once per second. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms === isoMs) return isoString;
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const iso = new Date(ms).toISOString();
    // 'YYYY-MM-DDTHH:mm:ss.' (also for the extended years toISOString writes as ±YYYYYY)
    isoPrefix = iso.slice(0, -4);
    isoSecond = second;
  }
  isoString = isoPrefix + MILLIS[ms - second * 1000]! + 'Z';
  isoMs = ms;
  return isoString;
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
}

/**
 * The capture of one client. What it costs per request is mostly the properties it adds to req/res:
 * Express gives every req/res an object shape of its own (`setPrototypeOf` per request), so each
 * property added copies that shape, a microsecond or two apiece. So it adds one to `req` (its
 * exchange: a WeakMap costs far more, in garbage collection) and only the hooks a response needs.
 */
export function createNodeCapture(limits: CaptureLimits, onDone: (exchange: Exchange, aborted: boolean) => void): NodeCapture {
  // One per client: two clients observing one request each find their own exchange.
  const kExchange = Symbol('apitoolkit.exchange');
  return {
    // Never throws: adapters may hand over anything.
    exchangeOf: (req) => (req as unknown as Record<symbol, Exchange | undefined> | null | undefined)?.[kExchange],
    start(req, res, adapter, state, rawUrl = receivedUrl(req)) {
      const exchange = new Exchange(req, res, adapter, state, rawUrl);
      (req as unknown as Record<symbol, Exchange>)[kExchange] = exchange;
      if (limits.captureRequestBody && !req.readableEnded && mayHaveBody(req.headers)) {
        teeRequest(req, (exchange.requestTee = new BodyTee(limits.maxBodyBytes)));
      }
      if (limits.captureResponseBody) teeResponse(res, exchange, limits.maxBodyBytes);
      // Once a header is set, writeHead() always keeps its headers in getHeaders(): its fast path
      // (below) is only taken while none is. Express has set X-Powered-By by now.
      if (res.getHeaderNames().length === 0) watchWriteHead(res, exchange);
      // A ServerResponse emits 'close' once, on the tick after 'finish' or when the connection
      // drops first (node's resOnFinish / abortIncoming). Responses without a real socket
      // (light-my-request: Fastify's inject()) emit 'finish' themselves and never become
      // writableFinished, hence the 'finish' listener. (`on`, not `once`: no wrapper per listener.)
      res.on('finish', () => {
        exchange.finished = true;
      });
      res.on('close', () => {
        if (exchange.done) return;
        exchange.done = true;
        onDone(exchange, !exchange.finished && !res.writableFinished);
      });
      return exchange;
    },
  };
}

// The hooks below are anonymous on purpose: tsx/esbuild's keepNames would wrap a named function
// expression in a `__name()` call (a defineProperty) for every request.

/**
 * Sees every chunk the app reads, as a 'data' listener of our own added just before the app's
 * first reader: adding one earlier would start the stream flowing before the app asked, and a
 * wrapper around `emit` or `push` would put an SDK frame into the stack of every error the app's
 * parser makes (Express's development error page prints it). 'data' is emitted for each chunk the
 * app takes, by `pipe()`, a 'data' listener, `read()` after 'readable', or async iteration alike;
 * a reader already there when the SDK starts is joined at once.
 */
function teeRequest(req: IncomingMessage, tee: BodyTee): void {
  const onData = (chunk: unknown): void => {
    try {
      tee.add(chunk);
    } catch {
      // Never let capture break the app's read.
    }
  };
  if (req.listenerCount('data') > 0 || req.listenerCount('readable') > 0) {
    req.on('data', onData);
    return;
  }
  const onNewListener = (event: string | symbol): void => {
    if (event !== 'data' && event !== 'readable') return;
    req.removeListener('newListener', onNewListener);
    // Ours goes first, so it sees each chunk before the app's reader does.
    req.on('data', onData);
  };
  req.on('newListener', onNewListener);
}

function teeResponse(res: ServerResponse, exchange: Exchange, maxBodyBytes: number): void {
  const write = res.write;
  const end = res.end;
  // A response class whose end() calls this.write() (light-my-request, i.e. Fastify's inject())
  // must not have end()'s chunk counted twice.
  let ending = false;
  res.write = function (this: ServerResponse, chunk: unknown, encoding?: unknown): boolean {
    try {
      // A write after end() fails and sends nothing: it is not part of the body.
      if (!this.writableEnded && !ending && sendsBody(this)) (exchange.responseTee ??= new BodyTee(maxBodyBytes)).add(chunk, encoding);
    } catch {
      // Never let capture break the response.
    }
    return write.apply(this, arguments as unknown as Parameters<typeof write>);
  } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, encoding?: unknown): ServerResponse {
    // end() after end() writes nothing; counting it would duplicate the tail.
    if (!this.writableEnded && chunk !== undefined && typeof chunk !== 'function' && sendsBody(this)) {
      try {
        (exchange.responseTee ??= new BodyTee(maxBodyBytes)).add(chunk, encoding);
      } catch {
        // Never let capture break the response.
      }
    }
    ending = true;
    try {
      return end.apply(this, arguments as unknown as Parameters<typeof end>);
    } finally {
      ending = false;
    }
  } as typeof res.end;
}

// writeHead(status, headers) with no setHeader() before it (Fastify, @hono/node-server) takes
// node's fast path: the headers go out but getHeaders() stays empty. Keep a copy of them.
function watchWriteHead(res: ServerResponse, exchange: Exchange): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, _status: unknown, reason?: unknown, headers?: unknown): ServerResponse {
    const result = writeHead.apply(this, arguments as unknown as Parameters<typeof writeHead>);
    try {
      const given = typeof reason === 'string' ? headers : reason;
      if (given !== null && typeof given === 'object' && this.getHeaderNames().length === 0) exchange.sentHeaders = headerRecord(given);
    } catch {
      // Never let capture break the response.
    }
    return result;
  } as typeof res.writeHead;
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

/** A body to record: its bytes, the content type to read them as, and whether they were cut. */
export interface CapturedBody {
  bytes: Buffer;
  contentType: string | undefined;
  truncated: boolean;
  /**
   * The bytes are the JSON of what the app's body parser made of the body (the SDK was mounted
   * after it), not the bytes received; `contentType` is still the request's, so that a parsed form
   * is redacted as a form.
   */
  parsed?: boolean;
}

const NO_BODY = (contentType: string | undefined): CapturedBody => ({ bytes: Buffer.alloc(0), contentType, truncated: false });

/**
 * The request body to record: the bytes seen (decompressed by their Content-Encoding), or what the
 * app's body parser produced when the SDK came after it and saw no byte, or when the bytes were cut
 * at maxBodyBytes but the parser's value fits (it is serialised no further than maxBodyBytes: a
 * 50 MB upload costs one MiB of work). Otherwise the bytes, cut; the redactor withholds what it
 * cannot read whole.
 */
export function requestBody(exchange: Exchange, headers: IncomingHttpHeaders = exchange.req.headers, maxBodyBytes = Number.MAX_SAFE_INTEGER): CapturedBody {
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
function fromParser(exchange: Exchange, headers: IncomingHttpHeaders, contentType: string | undefined, max: number): CapturedBody | undefined {
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

const MAX_CAUSE_DEPTH = 32;

/** Any thrown value -> the wire format's error object, with the innermost `cause` as root. */
export function errorRecord(error: unknown, when = new Date()): ErrorRecord {
  const own = describeError(error);
  let root = own;
  let current: unknown = error;
  const seen = new Set<unknown>([error]);
  for (let depth = 0; depth < MAX_CAUSE_DEPTH; depth += 1) {
    const cause = current !== null && typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
    if (cause === undefined || seen.has(cause)) break;
    seen.add(cause);
    root = describeError(cause);
    current = cause;
  }
  return {
    when: when.toISOString(),
    error_type: own.type,
    message: own.message,
    root_error_type: root.type,
    root_error_message: root.message,
    stack_trace: own.stack,
  };
}

function describeError(error: unknown): { type: string; message: string; stack: string } {
  try {
    if (error instanceof Error) {
      return withoutExcerpts(error.constructor?.name || error.name || 'Error', String(error.message), String(error.stack ?? ''));
    }
    if (error !== null && typeof error === 'object') {
      const e = error as { name?: unknown; message?: unknown; stack?: unknown };
      return withoutExcerpts(
        typeof e.name === 'string' ? e.name : (error.constructor?.name ?? 'Object'),
        typeof e.message === 'string' ? e.message : safeJson(error),
        typeof e.stack === 'string' ? e.stack : '',
      );
    }
    return withoutExcerpts(typeof error, String(error), '');
  } catch {
    return { type: 'unknown', message: 'an error that could not be described', stack: '' };
  }
}

/**
 * The JSON parsers every framework uses (V8's JSON.parse behind body-parser, co-body, Fastify,
 * Hono, Next; JavaScriptCore's on Bun) quote the text they failed on in the error message, and so
 * in its stack: `Unexpected token 'h', ..."password":hunter2SEC"... is not valid JSON`. That text
 * is the request body, which the rules withheld or redacted: the quoted part never goes out.
 */
// V8 quotes the whole text when it is short, else ~10 characters either side of the fault (the
// bound leaves room for escapes and body-parser's rewrite); JSC quotes the token it stopped at.
const JSON_EXCERPT = /(?:Unexpected token '[\s\S]{1,2}', )?(?:\.\.\.)?"[\s\S]{0,96}"(?:\.\.\.)? is not valid JSON|(JSON Parse error: [^"\n]{0,96})"[^\n]{0,256}"/g;
const EXCERPT_REPLACEMENT = (_match: string, jsc: string | undefined): string =>
  jsc !== undefined ? `${jsc}"${REDACTED}"` : `Unexpected token, "${REDACTED}" is not valid JSON`;

function withoutExcerpts(type: string, message: string, stack: string): { type: string; message: string; stack: string } {
  if (!message.includes('JSON')) return { type, message, stack };
  const scrubbed = message.replace(JSON_EXCERPT, EXCERPT_REPLACEMENT);
  if (scrubbed === message) return { type, message, stack };
  // The stack starts with the message as it was made (body-parser rewrites the message afterwards).
  return { type, message: scrubbed, stack: stack.replace(JSON_EXCERPT, EXCERPT_REPLACEMENT) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
