/**
 * Options: one DEFAULTS table, validated and frozen once by `resolveOptions()` at construction.
 * The request path only ever reads the frozen result.
 */
import { OptionsInvalidError, WARNINGS } from './errors.js';
import { describeValue } from './describe.js';
import type { ApiRecord } from './record.js';
import type { Transport } from '../transport/types.js';

/** Why a record was not delivered; the keys of `stats().dropped`. */
export type DropReason =
  | 'queue_overflow' // the queue was full (maxQueueSize / maxQueueBytes)
  | 'pending_overflow' // captured before start-up finished and the start-up buffer was full
  | 'api_key_refused' // the API key was refused (401): nothing can be sent
  | 'start_failed' // a custom transport's start() rejected: nothing can be sent
  | 'send_failed' // the endpoint answered with a non-retryable error
  | 'encode_error' // the record could not be encoded (or was larger than a message may be)
  | 'before_send' // the user's beforeSend hook returned null
  | 'hook_error' // the user's beforeSend hook threw
  | 'shutdown'; // still queued when shutdown(timeoutMs) ran out of time

/**
 * What `captureOutgoing.axios` accepts besides `true`: an axios instance (`axios`, `axios.create()`),
 * described by the little the SDK uses so that core never imports axios.
 */
export interface AxiosInstanceLike {
  // biome-ignore-start lint/suspicious/noExplicitAny: any axios version's own types must be assignable here (its handler and config types differ by version).
  interceptors: {
    request: { use(onFulfilled?: any, onRejected?: any, options?: any): number; eject(id: number): void };
    response: { use(onFulfilled?: any, onRejected?: any, options?: any): number; eject(id: number): void };
  };
  getUri?(config?: any): string;
  // biome-ignore-end lint/suspicious/noExplicitAny: see above
}

/**
 * Which outgoing calls to record (each one becomes its own record, linked to the request being
 * served by `parent_id`). Nothing is subscribed or wrapped unless one of them is on.
 */
export interface CaptureOutgoingOptions {
  /** Node's global `fetch` (undici), through diagnostics_channel. Default `false`. */
  fetch?: boolean | undefined;
  /** `node:http` / `node:https` client requests, through diagnostics_channel. Default `false`. */
  http?: boolean | undefined;
  /**
   * axios: `true` for the default instance (`import axios from 'axios'`), or the instance(s) to
   * watch (`axios.create()` instances do not share the default one's interceptors). Default `false`.
   */
  axios?: boolean | AxiosInstanceLike | readonly AxiosInstanceLike[] | undefined;
}

/** `captureOutgoing` after validation; `undefined` in `ResolvedOptions` when nothing is on. */
export interface ResolvedCaptureOutgoing {
  readonly fetch: boolean;
  readonly http: boolean;
  /** `true` (the default instance) or the instances to watch; `false` when off. */
  readonly axios: boolean | readonly AxiosInstanceLike[];
}

/** Options of `new APIToolkit()`. Every field is optional except `apiKey` (unless `transport` is given). */
export interface APIToolkitOptions {
  /** Your APIToolkit API key. Required unless `transport` is given. */
  apiKey?: string | undefined;
  /** Base URL of APIToolkit; `{rootURL}/api/client_metadata` is asked for the topic. Default `https://app.apitoolkit.io`. */
  rootURL?: string | undefined;
  /**
   * Accept a plain `http:` `rootURL` that is not on this machine. The API key travels to `rootURL`
   * and the publisher's credentials come back from it, so by default only `https:` is accepted,
   * except for loopback (127.0.0.0/8, ::1, localhost). Default `false`.
   */
  allowInsecureRootURL?: boolean | undefined;
  /**
   * `host:port` of a Pub/Sub emulator or of the local collector: publish there in plaintext without
   * credentials. Default: `process.env.PUBSUB_EMULATOR_HOST`, as the official client does. Or
   * `https://host[:port]`: publish to that endpoint (a regional or private one) with the service
   * account's credentials instead of `https://pubsub.googleapis.com`.
   */
  pubsubEndpoint?: string | undefined;
  /** Deliver records here instead of APIToolkit's Pub/Sub topic, e.g. a `MemoryTransport` in tests. */
  transport?: Transport | undefined;
  /**
   * @deprecated Ignored since delivery moved to Pub/Sub's REST API: the worker thread it chose no
   * longer helped (measured), so there is none. Still accepted (`true`, `false` or `'auto'`) so that
   * existing configurations keep working; debug mode says it is ignored.
   */
  publishThread?: boolean | 'auto' | undefined;
  /** Turn capture off entirely (the middleware becomes a pass-through). Default `true`. */
  enabled?: boolean | undefined;
  /** Print what the SDK does and each record it sends (after redaction). Default `false`. */
  debug?: boolean | undefined;
  /** Where debug lines go. Default: standard error. */
  logger?: ((line: string) => void) | undefined;
  /** Header names to redact, case-insensitive, ADDED to Authorization, Cookie, Set-Cookie, Proxy-Authorization. */
  redactHeaders?: readonly string[] | undefined;
  /** JSONPath expressions redacted in request bodies (JSON and form-encoded), e.g. `$.password`. */
  redactRequestBody?: readonly string[] | undefined;
  /** JSONPath expressions redacted in response bodies, e.g. `$.token`. */
  redactResponseBody?: readonly string[] | undefined;
  /**
   * Query parameter names, case-insensitive, whose values are redacted wherever a URL lands in a
   * record (`raw_url`, `query_params`, `referer`, the Referer and Location headers), on incoming
   * and outgoing records alike, e.g. `['token', 'api_key']`. Default `[]`.
   */
  redactQueryParams?: readonly string[] | undefined;
  /** Your service's version, sent as `service_version`. Default `null`. */
  serviceVersion?: string | null | undefined;
  /** Free-form tags sent with every record. Default `[]`. */
  tags?: readonly string[] | undefined;
  /**
   * Requests not to record: a string matches the path or the route template exactly
   * (`'/health'`, `'/users/:id'`), a RegExp is tested against the path. Default `[]`.
   */
  ignorePaths?: readonly (string | RegExp)[] | undefined;
  /**
   * Fraction of requests recorded, from 0 to 1, decided per request at random. Default 1 (all).
   * Counted in `stats().sampledOut`.
   */
  sampleRate?: number | undefined;
  /**
   * Per-route sample rates, overriding `sampleRate`: an exact path (`'/health': 0`) is decided when
   * the request starts, at no cost; a route template (`'/users/:id': 0.1`) once the route is known.
   */
  sampleRoutes?: Readonly<Record<string, number>> | undefined;
  /** HTTP methods not to record, e.g. `['OPTIONS']`. Default `[]`. */
  ignoreMethods?: readonly string[] | undefined;
  /**
   * Follow each request across `await` (Node's AsyncLocalStorage), so that `reportError()`,
   * `currentMsgId()` and outgoing calls find the request they belong to. Default `true`. `false`
   * saves AsyncLocalStorage's cost on every promise of the process (Node 20); `reportError()` then
   * returns false and `currentMsgId()` undefined (errors your framework sees are recorded all the
   * same), and `captureOutgoing` is refused.
   */
  asyncContext?: boolean | undefined;
  /** Capture request bodies. Default `true`. */
  captureRequestBody?: boolean | undefined;
  /** Capture response bodies. Default `true`. */
  captureResponseBody?: boolean | undefined;
  /** Bytes kept of each body; the rest is cut off (never buffered). Default 1 MiB, at most 3 MiB. */
  maxBodyBytes?: number | undefined;
  /** Records held in memory waiting to be sent; more are dropped and counted. Default 10 000. */
  maxQueueSize?: number | undefined;
  /** Bytes (encoded) held in memory waiting to be sent. Default 64 MiB. */
  maxQueueBytes?: number | undefined;
  /** Records per publish request. Default 500 (Pub/Sub allows 1 000). */
  maxBatchSize?: number | undefined;
  /** Bytes per publish request. Default 5 MiB (Pub/Sub allows 10 MB). */
  maxBatchBytes?: number | undefined;
  /** Longest a record waits for a batch to fill, in milliseconds. Default 500. */
  flushIntervalMs?: number | undefined;
  /** Time allowed for one publish request before it counts as failed and is retried, in ms. Default 10 000. */
  exportTimeoutMs?: number | undefined;
  /** Time allowed for one client-metadata request, in ms. Default 10 000. */
  metadataTimeoutMs?: number | undefined;
  /** Last look at each record before it is queued (after redaction); return `null` to drop it. Must not throw. */
  beforeSend?: ((record: ApiRecord) => ApiRecord | null | undefined) | undefined;
  /** Called with every runtime fault (never thrown into your app). Default: a debug log line. */
  onError?: ((error: Error, context: { reason: string }) => void) | undefined;
  /**
   * Record outgoing calls made while serving a request, e.g. `{ fetch: true, http: true, axios: true }`.
   * Default: none.
   */
  captureOutgoing?: CaptureOutgoingOptions | undefined;
  /** Header names redacted in outgoing calls, ADDED to Authorization, Cookie, Set-Cookie, Proxy-Authorization. */
  redactOutgoingHeaders?: readonly string[] | undefined;
  /** JSONPath expressions redacted in the bodies your app sends in outgoing calls. */
  redactOutgoingRequestBody?: readonly string[] | undefined;
  /** JSONPath expressions redacted in the bodies outgoing calls receive. */
  redactOutgoingResponseBody?: readonly string[] | undefined;
  /**
   * URL templates for outgoing calls, tried in order before the default id rule:
   * `'/v1/customers/:customer'`, or with a host `'api.github.com/repos/:owner/:repo'`.
   */
  outgoingUrlPatterns?: readonly string[] | undefined;
  /**
   * Run the leak finder on every record, after your rules: `'warn'` logs each field that looks like
   * a secret or personal data (medium or high confidence) once, through `logger`, with the rule to
   * add; `'redact'` also replaces what it found with `[CLIENT_REDACTED]`. Costs tens of microseconds
   * per record (see README "Leak finder"). Default `false`.
   */
  detectLeaks?: 'warn' | 'redact' | false | undefined;
}

export const DEFAULT_ROOT_URL = 'https://app.apitoolkit.io';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024; // 1 MiB
// Two base64 bodies (x4/3) of this size plus headers still fit a 10 MB Pub/Sub message.
export const MAX_MAX_BODY_BYTES = 3 * 1024 * 1024; // 3 MiB
export const DEFAULT_MAX_QUEUE_SIZE = 10_000;
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024; // 64 MiB
export const DEFAULT_MAX_BATCH_SIZE = 500;
export const MAX_MAX_BATCH_SIZE = 1_000; // Pub/Sub's limit of messages per publish request
export const DEFAULT_MAX_BATCH_BYTES = 5 * 1024 * 1024; // 5 MiB
export const MAX_MAX_BATCH_BYTES = 9 * 1024 * 1024; // under Pub/Sub's 10 MB request limit
export const DEFAULT_FLUSH_INTERVAL_MS = 500;
export const DEFAULT_EXPORT_TIMEOUT_MS = 10_000; // 10 s
export const DEFAULT_METADATA_TIMEOUT_MS = 10_000; // 10 s

/** The validated, frozen options the rest of the SDK reads. */
export interface ResolvedOptions {
  readonly apiKey: string | undefined;
  readonly rootURL: string;
  readonly allowInsecureRootURL: boolean;
  readonly pubsubEndpoint: string | undefined;
  readonly transport: Transport | undefined;
  readonly enabled: boolean;
  readonly debug: boolean;
  readonly logger: (line: string) => void;
  readonly redactHeaders: readonly string[];
  readonly redactQueryParams: readonly string[];
  readonly redactRequestBody: readonly string[];
  readonly redactResponseBody: readonly string[];
  readonly serviceVersion: string | null;
  readonly tags: readonly string[];
  readonly ignorePaths: readonly (string | RegExp)[];
  readonly sampleRate: number;
  readonly sampleRoutes: ReadonlyMap<string, number>;
  readonly ignoreMethods: ReadonlySet<string>;
  readonly asyncContext: boolean;
  readonly captureRequestBody: boolean;
  readonly captureResponseBody: boolean;
  readonly maxBodyBytes: number;
  readonly maxQueueSize: number;
  readonly maxQueueBytes: number;
  readonly maxBatchSize: number;
  readonly maxBatchBytes: number;
  readonly flushIntervalMs: number;
  readonly exportTimeoutMs: number;
  readonly metadataTimeoutMs: number;
  readonly beforeSend: APIToolkitOptions['beforeSend'];
  readonly onError: APIToolkitOptions['onError'];
  readonly captureOutgoing: ResolvedCaptureOutgoing | undefined;
  readonly redactOutgoingHeaders: readonly string[];
  readonly redactOutgoingRequestBody: readonly string[];
  readonly redactOutgoingResponseBody: readonly string[];
  readonly outgoingUrlPatterns: readonly string[];
  readonly detectLeaks: 'warn' | 'redact' | false;
}

// `satisfies` makes the compiler fail when an option is added to the interface but not here.
// Exported for the test that checks every option's validation (test/security/options.test.ts).
export const KNOWN_OPTIONS: ReadonlySet<string> = new Set(
  Object.keys({
    apiKey: true,
    rootURL: true,
    allowInsecureRootURL: true,
    pubsubEndpoint: true,
    transport: true,
    publishThread: true,
    enabled: true,
    debug: true,
    logger: true,
    redactHeaders: true,
    redactRequestBody: true,
    redactResponseBody: true,
    redactQueryParams: true,
    serviceVersion: true,
    tags: true,
    ignorePaths: true,
    sampleRate: true,
    sampleRoutes: true,
    ignoreMethods: true,
    asyncContext: true,
    captureRequestBody: true,
    captureResponseBody: true,
    maxBodyBytes: true,
    maxQueueSize: true,
    maxQueueBytes: true,
    maxBatchSize: true,
    maxBatchBytes: true,
    flushIntervalMs: true,
    exportTimeoutMs: true,
    metadataTimeoutMs: true,
    beforeSend: true,
    onError: true,
    captureOutgoing: true,
    redactOutgoingHeaders: true,
    redactOutgoingRequestBody: true,
    redactOutgoingResponseBody: true,
    outgoingUrlPatterns: true,
    detectLeaks: true,
  } satisfies Record<keyof APIToolkitOptions, true>),
);

/** The deprecated `publishThread`: still checked, so that a typo is no more silent than before, then ignored. */
function publishThread(value: unknown): void {
  if (value !== undefined && value !== 'auto' && typeof value !== 'boolean') {
    throw new OptionsInvalidError('publishThread', `expected true, false or 'auto' (deprecated, ignored), got ${describeValue(value)}`);
  }
}

function bool(options: APIToolkitOptions, name: keyof APIToolkitOptions, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OptionsInvalidError(name, `expected a boolean, got ${describeValue(value)}`);
  return value;
}

function int(options: APIToolkitOptions, name: keyof APIToolkitOptions, fallback: number, min: number, max: number, unit: string): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionsInvalidError(name, `expected an integer number of ${unit} from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

function strings(options: APIToolkitOptions, name: keyof APIToolkitOptions): string[] {
  const value = options[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new OptionsInvalidError(name, `expected an array of strings, got ${describeValue(value)}`);
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.trim() === '') {
      throw new OptionsInvalidError(`${name}[${i}]`, `expected a non-empty string, got ${describeValue(item)}`);
    }
  });
  return [...(value as string[])];
}

function fn<T>(options: APIToolkitOptions, name: keyof APIToolkitOptions): T | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new OptionsInvalidError(name, `expected a function, got ${describeValue(value)}`);
  return value as T;
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function rootURL(value: unknown, allowInsecure: boolean, name: string): string {
  if (value === undefined) return DEFAULT_ROOT_URL;
  if (typeof value !== 'string') throw new OptionsInvalidError(name, `expected a URL string, got ${describeValue(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OptionsInvalidError(name, `expected an absolute http(s) URL, got ${describeValue(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OptionsInvalidError(name, `expected an http or https URL, got ${describeValue(value)}`);
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLoopback(url.hostname)) {
    throw new OptionsInvalidError(
      name,
      `expected an https URL (the API key is sent to it), got ${describeValue(value)}; plain http is accepted for loopback ` +
        '(127.0.0.0/8, ::1, localhost) only, unless you set allowInsecureRootURL: true',
    );
  }
  return value.replace(/\/+$/, '');
}

function endpoint(value: unknown, name: string, { https = true } = {}): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (https && typeof value === 'string' && /^https:\/\//i.test(value)) {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (
      url !== undefined &&
      url.username === '' &&
      url.password === '' &&
      (url.pathname === '/' || url.pathname === '') &&
      url.search === '' &&
      url.hash === ''
    )
      return url.origin;
    throw new OptionsInvalidError(name, `expected "https://host[:port]" with no path, query or credentials, got ${describeValue(value)}`);
  }
  if (typeof value !== 'string' || !/^[^\s/:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(value)) {
    throw new OptionsInvalidError(
      name,
      `expected "host:port"${https ? ' (plaintext, an emulator or the local collector) or "https://host[:port]"' : ''}, got ${describeValue(value)}`,
    );
  }
  return value;
}

function transport(value: unknown): Transport | undefined {
  if (value === undefined) return undefined;
  const t = value as Partial<Transport> | null;
  if (
    t === null ||
    typeof t !== 'object' ||
    typeof t.start !== 'function' ||
    typeof t.send !== 'function' ||
    typeof t.shutdown !== 'function'
  ) {
    throw new OptionsInvalidError('transport', `expected an object with start(), send() and shutdown(), got ${describeValue(value)}`);
  }
  return t as Transport;
}

function ignorePaths(value: unknown): (string | RegExp)[] {
  const list = value as (string | RegExp)[] | undefined;
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new OptionsInvalidError('ignorePaths', `expected an array of strings or RegExps, got ${describeValue(value)}`);
  value.forEach((item, i) => {
    if (!(item instanceof RegExp) && (typeof item !== 'string' || item === '')) {
      throw new OptionsInvalidError(`ignorePaths[${i}]`, `expected a non-empty string or a RegExp, got ${describeValue(item)}`);
    }
  });
  // A global/sticky RegExp keeps lastIndex between test() calls and would skip every other match.
  return list!.map((item) =>
    item instanceof RegExp && (item.global || item.sticky) ? new RegExp(item.source, item.flags.replace(/[gy]/g, '')) : item,
  );
}

function rate(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new OptionsInvalidError(name, `expected a number from 0 to 1, got ${describeValue(value)}`);
  return value;
}

function sampleRoutes(value: unknown): ReadonlyMap<string, number> {
  if (value === undefined) return new Map();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionsInvalidError(
      'sampleRoutes',
      `expected an object of route -> rate, such as { '/health': 0 }, got ${describeValue(value)}`,
    );
  }
  const routes = new Map<string, number>();
  for (const [route, r] of Object.entries(value)) {
    if (route === '') throw new OptionsInvalidError('sampleRoutes', 'expected a path or route template as key, got ""');
    routes.set(route, rate(r, `sampleRoutes[${JSON.stringify(route)}]`));
  }
  return routes;
}

function isAxiosLike(value: unknown): value is AxiosInstanceLike {
  if ((typeof value !== 'function' && typeof value !== 'object') || value === null) return false;
  const interceptors = (value as { interceptors?: { request?: { use?: unknown }; response?: { use?: unknown } } }).interceptors;
  return typeof interceptors?.request?.use === 'function' && typeof interceptors.response?.use === 'function';
}

const OUTGOING_CLIENTS: ReadonlySet<string> = new Set(['fetch', 'http', 'axios']);

function captureOutgoing(value: unknown): ResolvedCaptureOutgoing | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionsInvalidError(
      'captureOutgoing',
      `expected an object such as { fetch: true, http: true, axios: true }, got ${describeValue(value)}`,
    );
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!OUTGOING_CLIENTS.has(key))
      throw new OptionsInvalidError(`captureOutgoing.${key}`, 'unknown client (expected fetch, http or axios)');
  }
  for (const key of ['fetch', 'http'] as const) {
    if (input[key] !== undefined && typeof input[key] !== 'boolean') {
      throw new OptionsInvalidError(`captureOutgoing.${key}`, `expected a boolean, got ${describeValue(input[key])}`);
    }
  }
  let axios: ResolvedCaptureOutgoing['axios'] = false;
  const a = input.axios;
  if (typeof a === 'boolean') axios = a;
  else if (isAxiosLike(a)) axios = Object.freeze([a]);
  else if (Array.isArray(a) && a.length > 0 && a.every(isAxiosLike)) axios = Object.freeze([...new Set(a)]);
  else if (a !== undefined) {
    throw new OptionsInvalidError(
      'captureOutgoing.axios',
      `expected true, false, an axios instance or an array of them, got ${describeValue(a)}`,
    );
  }
  const fetch = input.fetch === true;
  const http = input.http === true;
  // All off is the same as not asking: nothing gets subscribed.
  if (!fetch && !http && axios === false) return undefined;
  return Object.freeze({ fetch, http, axios });
}

/** Outgoing calls find the request they belong to through async context: refused without it. */
function outgoingWithContext(outgoing: ResolvedCaptureOutgoing | undefined, asyncContext: boolean): ResolvedCaptureOutgoing | undefined {
  if (outgoing !== undefined && !asyncContext) {
    throw new OptionsInvalidError(
      'captureOutgoing',
      'needs asyncContext: true (an outgoing call finds the request it was made for through async context); remove asyncContext: false or captureOutgoing',
    );
  }
  return outgoing;
}

function detectLeaks(value: unknown): 'warn' | 'redact' | false {
  if (value === undefined || value === false) return false;
  if (value !== 'warn' && value !== 'redact')
    throw new OptionsInvalidError('detectLeaks', `expected 'warn', 'redact' or false, got ${describeValue(value)}`);
  return value;
}

/**
 * Environment variables read for an option the code leaves out (as Sentry reads SENTRY_DSN and
 * dd-trace DD_ENV): the code's value wins. Exported for the options test and docs/options.md.
 */
export const ENVIRONMENT_VARIABLES = Object.freeze({
  APITOOLKIT_KEY: 'apiKey',
  APITOOLKIT_ROOT_URL: 'rootURL',
  APITOOLKIT_PUBSUB_ENDPOINT: 'pubsubEndpoint',
  APITOOLKIT_ENABLED: 'enabled',
  APITOOLKIT_DEBUG: 'debug',
  APITOOLKIT_SERVICE_VERSION: 'serviceVersion',
  APITOOLKIT_TAGS: 'tags',
} as const satisfies Record<string, keyof APIToolkitOptions>);

/** `process.env` where the runtime has one (Workers and the edge runtime may not). */
function environment(): Record<string, string | undefined> {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env ?? {};
}

/**
 * `options` with each option it leaves out (undefined) taken from its environment variable, when
 * set and not empty. A bad value is refused with the variable's name: `APITOOLKIT_DEBUG (environment)`.
 */
function withEnvironment(options: APIToolkitOptions): { options: APIToolkitOptions; from: Map<string, string> } {
  const env = environment();
  const merged: Record<string, unknown> = { ...options };
  const from = new Map<string, string>();
  for (const [variable, option] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const raw = env[variable];
    if (merged[option] !== undefined || raw === undefined || raw.trim() === '') continue;
    const name = `${variable} (environment)`;
    from.set(option, name);
    if (option === 'enabled' || option === 'debug') merged[option] = envBoolean(name, raw);
    else if (option === 'tags')
      merged[option] = raw
        .split(',')
        .map((tag) => tag.trim())
        .filter((tag) => tag !== '');
    else merged[option] = raw.trim();
  }
  return { options: merged as APIToolkitOptions, from };
}

function envBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1' || value === 'yes' || value === 'on') return true;
  if (value === 'false' || value === '0' || value === 'no' || value === 'off') return false;
  throw new OptionsInvalidError(name, `expected true or false (or 1 / 0), got ${describeValue(raw)}`);
}

function defaultLogger(line: string): void {
  // Workers and the edge runtime have no process.stderr: their console is the log.
  const stderr = (globalThis as { process?: { stderr?: { write?: unknown } } }).process?.stderr;
  if (typeof stderr?.write === 'function') (stderr as { write(text: string): void }).write(`${line}\n`);
  else console.error(line);
}

/**
 * Validates every option once and returns a frozen copy with defaults filled in.
 * Throws `OptionsInvalidError` (code `APITOOLKIT_ERR_OPTIONS_INVALID`) naming the bad option and value.
 */
export function resolveOptions(input: APIToolkitOptions | undefined): ResolvedOptions {
  if (input === undefined) input = {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new OptionsInvalidError('options', `expected an object, got ${describeValue(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_OPTIONS.has(key)) throw new OptionsInvalidError(key, 'unknown option (check the spelling; see docs/options.md)');
  }
  const { options, from } = withEnvironment(input);
  const t = transport(options.transport);
  const apiKey = options.apiKey;
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.trim() === '')) {
    throw new OptionsInvalidError('apiKey', `expected a non-empty string, got ${apiKey === '' ? 'an empty string' : typeof apiKey}`);
  }
  const allowInsecureRootURL = bool(options, 'allowInsecureRootURL', false);
  const logger = fn<(line: string) => void>(options, 'logger') ?? defaultLogger;
  // No key anywhere: the app must still start (every snippet reads the key from the environment,
  // and a test run or a fresh clone may not have it). Say so once, and record nothing.
  const missingKey = apiKey === undefined && t === undefined && bool(options, 'enabled', true);
  if (missingKey) {
    logger(
      `apitoolkit: warning ${WARNINGS.noApiKey}: no API key (set APITOOLKIT_KEY or pass apiKey, or a transport such as MemoryTransport); ` +
        'requests are served as usual but not recorded',
    );
  }
  const enabled = !missingKey && bool(options, 'enabled', true);
  const serviceVersion = options.serviceVersion;
  if (serviceVersion !== undefined && serviceVersion !== null && typeof serviceVersion !== 'string') {
    throw new OptionsInvalidError('serviceVersion', `expected a string or null, got ${describeValue(serviceVersion)}`);
  }
  const asyncContext = bool(options, 'asyncContext', true);
  const maxQueueSize = int(options, 'maxQueueSize', DEFAULT_MAX_QUEUE_SIZE, 1, 10_000_000, 'records');
  const maxQueueBytes = int(options, 'maxQueueBytes', DEFAULT_MAX_QUEUE_BYTES, 1024, 2 ** 40, 'bytes');
  let maxBatchSize = int(options, 'maxBatchSize', DEFAULT_MAX_BATCH_SIZE, 1, MAX_MAX_BATCH_SIZE, 'records');
  const maxBatchBytes = int(options, 'maxBatchBytes', DEFAULT_MAX_BATCH_BYTES, 1024, MAX_MAX_BATCH_BYTES, 'bytes');
  if (maxBatchSize > maxQueueSize) {
    // A recoverable inconsistency: clamp and say so once rather than refuse to start.
    logger(`apitoolkit: maxBatchSize (${maxBatchSize}) is larger than maxQueueSize (${maxQueueSize}); using ${maxQueueSize}`);
    maxBatchSize = maxQueueSize;
  }
  const ignoreMethods = strings(options, 'ignoreMethods').map((m) => m.toUpperCase());
  publishThread(options.publishThread);
  return Object.freeze({
    apiKey,
    rootURL: rootURL(options.rootURL, allowInsecureRootURL, from.get('rootURL') ?? 'rootURL'),
    allowInsecureRootURL,
    pubsubEndpoint:
      endpoint(options.pubsubEndpoint, from.get('pubsubEndpoint') ?? 'pubsubEndpoint') ??
      endpoint(environment().PUBSUB_EMULATOR_HOST, 'PUBSUB_EMULATOR_HOST (environment)', { https: false }),
    transport: t,
    enabled,
    debug: bool(options, 'debug', false),
    logger,
    redactHeaders: Object.freeze(strings(options, 'redactHeaders')),
    redactQueryParams: Object.freeze(strings(options, 'redactQueryParams')),
    redactRequestBody: Object.freeze(strings(options, 'redactRequestBody')),
    redactResponseBody: Object.freeze(strings(options, 'redactResponseBody')),
    serviceVersion: serviceVersion ?? null,
    tags: Object.freeze(strings(options, 'tags')),
    ignorePaths: Object.freeze(ignorePaths(options.ignorePaths)),
    sampleRate: options.sampleRate === undefined ? 1 : rate(options.sampleRate, 'sampleRate'),
    sampleRoutes: sampleRoutes(options.sampleRoutes),
    ignoreMethods: new Set(ignoreMethods),
    asyncContext,
    captureRequestBody: bool(options, 'captureRequestBody', true),
    captureResponseBody: bool(options, 'captureResponseBody', true),
    maxBodyBytes: int(options, 'maxBodyBytes', DEFAULT_MAX_BODY_BYTES, 0, MAX_MAX_BODY_BYTES, 'bytes'),
    maxQueueSize,
    maxQueueBytes,
    maxBatchSize,
    maxBatchBytes,
    flushIntervalMs: int(options, 'flushIntervalMs', DEFAULT_FLUSH_INTERVAL_MS, 0, 3_600_000, 'milliseconds'),
    exportTimeoutMs: int(options, 'exportTimeoutMs', DEFAULT_EXPORT_TIMEOUT_MS, 1, 3_600_000, 'milliseconds'),
    metadataTimeoutMs: int(options, 'metadataTimeoutMs', DEFAULT_METADATA_TIMEOUT_MS, 1, 3_600_000, 'milliseconds'),
    beforeSend: fn<APIToolkitOptions['beforeSend']>(options, 'beforeSend'),
    onError: fn<APIToolkitOptions['onError']>(options, 'onError'),
    captureOutgoing: outgoingWithContext(captureOutgoing(options.captureOutgoing), asyncContext),
    redactOutgoingHeaders: Object.freeze(strings(options, 'redactOutgoingHeaders')),
    redactOutgoingRequestBody: Object.freeze(strings(options, 'redactOutgoingRequestBody')),
    redactOutgoingResponseBody: Object.freeze(strings(options, 'redactOutgoingResponseBody')),
    outgoingUrlPatterns: Object.freeze(strings(options, 'outgoingUrlPatterns')),
    detectLeaks: detectLeaks(options.detectLeaks),
  });
}
