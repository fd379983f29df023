/**
 * What every capture shares, whatever the runtime: the raw material of a record, the bounded body
 * tee, timestamps and error descriptions. Runtime-neutral (no `node:` import): the node:http
 * capture (capture.ts) and the Web Request/Response capture (capture-web.ts) build on it.
 */
import { REDACTED, type ErrorRecord, type HeaderInput, type SdkType } from './record.js';

/** A route template (`""` when nothing matched) and its path params. */
export interface RouteMatch {
  template: string;
  params: Record<string, string>;
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

/** The parts of a node:http request (a Readable) the body tee uses; no node: import needed. */
export interface BodySource {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  listenerCount(event: string): number;
}

/** A 'data' listener that adds each chunk to `tee`, and never throws into the app's read. */
export function teeListener(tee: BodyTee): (chunk: unknown) => void {
  return (chunk) => {
    try {
      tee.add(chunk);
    } catch {
      // Never let capture break the app's read.
    }
  };
}

/**
 * Sees every chunk the app reads, as a 'data' listener of our own added just before the app's
 * first reader: adding one earlier would start the stream flowing before the app asked, and a
 * wrapper around `emit` or `push` would put an SDK frame into the stack of every error the app's
 * parser raises while it reads (Express's development error page prints it); an adapter whose
 * framework never shows that stack takes teePush() (capture.ts) instead. 'data' is emitted for
 * each chunk the app takes, by `pipe()`, a 'data' listener, `read()` after 'readable', or async
 * iteration alike; a reader already there when the SDK starts is joined at once. Returns the
 * 'newListener' listener while it waits for the app's first reader (undefined when joined at once).
 */
export function teeRequest(req: BodySource, tee: BodyTee): ((event: string | symbol) => void) | undefined {
  const onData = teeListener(tee);
  if (req.listenerCount('data') > 0 || req.listenerCount('readable') > 0) {
    req.on('data', onData);
    return undefined;
  }
  const onNewListener = (event: string | symbol): void => {
    if (event !== 'data' && event !== 'readable') return;
    req.removeListener('newListener', onNewListener);
    // Ours goes first, so it sees each chunk before the app's reader does.
    req.on('data', onData);
  };
  req.on('newListener', onNewListener);
  return onNewListener;
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
  isoString = `${isoPrefix}${MILLIS[ms - second * 1000]!}Z`;
  isoMs = ms;
  return isoString;
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
const JSON_EXCERPT =
  /(?:Unexpected token '[\s\S]{1,2}', )?(?:\.\.\.)?"[\s\S]{0,96}"(?:\.\.\.)? is not valid JSON|(JSON Parse error: [^"\n]{0,96})"[^\n]{0,256}"/g;
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
