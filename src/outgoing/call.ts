/**
 * What the outgoing clients share: the state of one call, the async-context scope that marks the
 * SDK's own I/O (never recorded) or the axios call a lower-level request is made for, and the step
 * from a finished call to the `RecordInput` the client redacts and queues.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import {
  BodyTee,
  decompress,
  errorRecord,
  type CaptureLimits,
  type CapturedBody,
  type RecordInput,
  type RequestContext,
} from '../core/capture.js';
import type { HeaderInput } from '../core/record.js';
import type { ErrorRecord, SdkType } from '../core/record.js';
import { kCurrentRequest, kSubmit } from '../core/symbols.js';
import type { UrlTemplater } from './template.js';

/** The two package-internal methods of `APIToolkit` that outgoing capture uses. */
export interface OutgoingClient {
  [kCurrentRequest](): RequestContext | undefined;
  [kSubmit](input: RecordInput): void;
}

/**
 * Claims the lower-level calls (node:http, fetch) made on its behalf, e.g. an axios call: their
 * records are not submitted, their data goes into the owner's record instead.
 */
export interface CallOwner {
  attach(call: OutgoingCall): void;
  completed(call: OutgoingCall): void;
}

/** What the SDK marks in async context: its own I/O, or an axios call whose adapter is running. */
export type OutgoingScope =
  | { readonly ownIo: true; readonly owner?: undefined }
  | { readonly ownIo?: undefined; readonly owner: CallOwner };

/** Everything a client module needs, built once by `installOutgoing()`. */
export interface OutgoingEnv {
  readonly client: OutgoingClient;
  readonly scope: AsyncLocalStorage<OutgoingScope>;
  readonly limits: CaptureLimits;
  readonly templates: UrlTemplater;
  /** Reports a fault of the SDK's own (never thrown into the app). */
  readonly fault: (error: unknown) => void;
}

/** One outgoing request being observed. */
export class OutgoingCall {
  readonly startNs = process.hrtime.bigint();
  // The request path only notes the time: the id and the ISO string are made when the record is.
  readonly #startMs = Date.now();
  #msgId: string | undefined;
  endNs: bigint | undefined;
  method = 'GET';
  /** The full URL with the query, e.g. `https://api.example.com/v1/users/42?expand=1`. */
  url = '';
  /** The target host, with the port when the URL has one. */
  host = '';
  /** Path and query. */
  target = '/';
  requestHeaders: HeaderInput = {};
  responseHeaders: HeaderInput = {};
  requestTee: BodyTee | undefined;
  responseTee: BodyTee | undefined;
  /** 0 until a response arrived (and for ever when none did). */
  statusCode = 0;
  protoMajor = 1;
  protoMinor = 1;
  readonly errors: ErrorRecord[] = [];
  /** The values behind `errors`, in the same order. */
  readonly errorValues: unknown[] = [];
  done = false;

  constructor(
    readonly sdkType: SdkType,
    readonly parentId: string | null,
    readonly owner: CallOwner | undefined,
  ) {}

  get msgId(): string {
    return (this.#msgId ??= randomUUID());
  }

  get timestamp(): string {
    return new Date(this.#startMs).toISOString();
  }

  /** Records an error once, however many paths report it (a channel and an 'error' event, say). */
  addError(error: unknown, type?: string): void {
    if (this.errorValues.includes(error)) return;
    this.errorValues.push(error);
    const record = errorRecord(error);
    if (type !== undefined) {
      record.error_type = type;
      if (record.root_error_message === record.message) record.root_error_type = type;
    }
    this.errors.push(record);
  }

  get hasErrors(): boolean {
    return this.errors.length > 0;
  }
}

/**
 * Starts a call unless it is the SDK's own I/O, or nobody asked for this client and no axios call
 * owns it. The parent is the request being served now (async context survives await and timers).
 */
export function beginCall(env: OutgoingEnv, sdkType: SdkType, enabled: boolean): OutgoingCall | undefined {
  const scope = env.scope.getStore();
  if (scope?.ownIo) return undefined;
  const owner = scope?.owner;
  if (owner === undefined && !enabled) return undefined;
  const parent = env.client[kCurrentRequest]();
  if (parent?.sampledOut === true) return undefined;
  const call = new OutgoingCall(sdkType, parent?.msgId ?? null, owner);
  owner?.attach(call);
  return call;
}

/** Ends a call once: hands it to its owner, or submits its record. Never throws. */
export function finishCall(env: OutgoingEnv, call: OutgoingCall): void {
  if (call.done) return;
  call.done = true;
  call.endNs = process.hrtime.bigint();
  try {
    if (call.owner !== undefined) call.owner.completed(call);
    else env.client[kSubmit](callInput(env, call));
  } catch (error) {
    env.fault(error);
  }
}

/** The first value of a header, whatever shape node or undici gave it in. */
export function headerValue(headers: HeaderInput, name: string): string | undefined {
  const value = headers[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** A teed body as a record wants it: decompressed when it went over the wire compressed. */
export function teedBody(tee: BodyTee | undefined, headers: HeaderInput, maxBodyBytes: number): CapturedBody | undefined {
  if (tee === undefined) return undefined;
  const contentType = headerValue(headers, 'content-type');
  if (tee.seen === 0) return { bytes: Buffer.alloc(0), contentType, truncated: false };
  let bytes = tee.bytes();
  const encoding = headerValue(headers, 'content-encoding');
  if (encoding !== undefined && !tee.truncated) bytes = decompress(bytes, encoding.toLowerCase(), maxBodyBytes);
  return { bytes, contentType, truncated: tee.truncated };
}

/** The path of a `path?query` target. */
export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/** The record input of a finished call. */
export function callInput(env: OutgoingEnv, call: OutgoingCall): RecordInput {
  const { limits } = env;
  return {
    sdkType: call.sdkType,
    msgId: call.msgId,
    parentId: call.parentId,
    timestamp: call.timestamp,
    durationNs: Number((call.endNs ?? process.hrtime.bigint()) - call.startNs),
    method: call.method,
    host: call.host,
    rawUrl: call.url,
    route: env.templates.match(call.host, pathOf(call.target)),
    requestHeaders: call.requestHeaders,
    responseHeaders: call.responseHeaders,
    requestBody: limits.captureRequestBody ? teedBody(call.requestTee, call.requestHeaders, limits.maxBodyBytes) : undefined,
    responseBody: limits.captureResponseBody ? teedBody(call.responseTee, call.responseHeaders, limits.maxBodyBytes) : undefined,
    statusCode: call.statusCode,
    protoMajor: call.protoMajor,
    protoMinor: call.protoMinor,
    errors: call.errors,
    aborted: false,
    outgoing: true,
  };
}

/** Adds a chunk to a tee; capture must never break the app's I/O. */
export function tee(target: BodyTee | undefined, chunk: unknown, encoding?: unknown): void {
  if (target === undefined) return;
  try {
    target.add(chunk, encoding);
  } catch {
    // Never let capture break the app's I/O.
  }
}

export { BodyTee };
