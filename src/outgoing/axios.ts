/**
 * Outgoing capture for axios, through a request and a response interceptor on the instances it is
 * given (axios's own extension point; nothing global is replaced).
 *
 * One call, one record: on Node axios sends through node:http (or fetch, when configured), which the
 * other two modules also observe. The request interceptor wraps that call's adapter so that it runs
 * in an async-context scope naming the axios call; the node:http / fetch request made inside it is
 * then handed to the axios call instead of becoming a record of its own, and lends it what axios
 * does not show: the exact headers sent, the raw response bytes, the status of the last hop. When
 * that link is missing (an adapter the SDK cannot resolve), the record is built from axios's config
 * and response alone.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { errorRecord, type CapturedBody, type RecordInput } from '../core/capture.js';
import { OptionsInvalidError } from '../core/errors.js';
import type { AxiosInstanceLike } from '../core/options.js';
import type { HeaderInput } from '../core/record.js';
import type { ErrorRecord } from '../core/record.js';
import { kCurrentRequest, kSubmit } from '../core/symbols.js';
import { headerValue, pathOf, teedBody, type CallOwner, type OutgoingCall, type OutgoingEnv } from './call.js';

/** The package name, held in a variable: see installAxios(). */
const AXIOS: string = 'axios';

type Adapter = (config: unknown) => Promise<unknown>;
type GetAdapter = (adapters: unknown, config?: unknown) => Adapter;

/** The default export of the axios package: an instance that also carries `getAdapter`. */
interface AxiosModule extends AxiosInstanceLike {
  getAdapter?: GetAdapter;
}

// axios's own default: xhr is unsupported on Node, so http is what it picks.
const DEFAULT_ADAPTERS = ['xhr', 'http', 'fetch'];
const kCall = Symbol('apitoolkit.axiosCall');
const kOriginalAdapter = Symbol('apitoolkit.originalAdapter');

type AxiosConfig = Record<string | symbol, unknown> & {
  method?: unknown;
  url?: unknown;
  headers?: unknown;
  data?: unknown;
  adapter?: unknown;
};

class AxiosCall implements CallOwner {
  readonly startNs = process.hrtime.bigint();
  readonly #startMs = Date.now();
  /** The last node:http / fetch request made for this call (the last hop after redirects). */
  low: OutgoingCall | undefined;
  #outcome: { response?: AxiosResponse; error?: unknown } | undefined;
  #submitted = false;

  constructor(
    readonly env: OutgoingEnv,
    readonly instance: AxiosInstanceLike,
    readonly parentId: string | null,
    public config: AxiosConfig,
  ) {}

  attach(call: OutgoingCall): void {
    this.low = call;
  }

  completed(call: OutgoingCall): void {
    if (call === this.low && this.#outcome !== undefined) this.#submit();
  }

  /** axios settled; the record goes once the request it made has ended too (streamed bodies end later). */
  settle(outcome: { response?: AxiosResponse; error?: unknown }): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    if (outcome.response?.config !== undefined) this.config = outcome.response.config as AxiosConfig;
    if (this.low === undefined || this.low.done) this.#submit();
  }

  #submit(): void {
    if (this.#submitted) return;
    this.#submitted = true;
    try {
      this.env.client[kSubmit](this.#input());
    } catch (error) {
      this.env.fault(error);
    }
  }

  #input(): RecordInput {
    const { env, config, low } = this;
    const { limits } = env;
    const { response, error } = this.#outcome!;
    const answered = low !== undefined && low.statusCode > 0;
    let method: string;
    let url: string;
    let host: string;
    let target: string;
    if (low !== undefined && low.url !== '') {
      ({ method, url, host, target } = low);
    } else {
      method = String(config.method ?? 'get').toUpperCase();
      url = fullUrl(this.instance, config);
      ({ host, target } = splitUrl(url));
    }
    const requestHeaders = low !== undefined && low.url !== '' ? low.requestHeaders : plainHeaders(config.headers);
    const responseHeaders = answered ? low.responseHeaders : plainHeaders(response?.headers);
    const lowRequestBody = teedBody(low?.requestTee, requestHeaders, limits.maxBodyBytes);
    return {
      sdkType: 'JsAxiosOutgoing',
      msgId: randomUUID(),
      parentId: this.parentId,
      timestamp: new Date(this.#startMs).toISOString(),
      durationNs: Number(process.hrtime.bigint() - this.startNs),
      method,
      host,
      rawUrl: url,
      route: env.templates.match(host, pathOf(target)),
      requestHeaders,
      responseHeaders,
      requestBody: !limits.captureRequestBody
        ? undefined
        : lowRequestBody !== undefined && lowRequestBody.bytes.length > 0
          ? lowRequestBody
          : valueBody(config.data, headerValue(requestHeaders, 'content-type'), limits.maxBodyBytes),
      responseBody: !limits.captureResponseBody
        ? undefined
        : answered
          ? teedBody(low.responseTee, responseHeaders, limits.maxBodyBytes)
          : valueBody(response?.data, headerValue(responseHeaders, 'content-type'), limits.maxBodyBytes),
      statusCode: answered ? low.statusCode : typeof response?.status === 'number' ? response.status : 0,
      protoMajor: low?.protoMajor ?? 1,
      protoMinor: low?.protoMinor ?? 1,
      errors: mergeErrors(error, low),
      aborted: false,
      outgoing: true,
    };
  }
}

interface AxiosResponse {
  status?: unknown;
  headers?: unknown;
  data?: unknown;
  config?: unknown;
}

/** What the app saw first (axios's error, with its cause chain), then what the wire saw that it does not already say. */
function mergeErrors(error: unknown, low: OutgoingCall | undefined): ErrorRecord[] {
  const out: ErrorRecord[] = [];
  const chain = new Set<unknown>();
  if (error !== undefined) {
    out.push(errorRecord(error));
    for (
      let e: unknown = error;
      e !== null && typeof e === 'object' && !chain.has(e) && chain.size < 32;
      e = (e as { cause?: unknown }).cause
    )
      chain.add(e);
  }
  if (low !== undefined) {
    low.errorValues.forEach((value, i) => {
      if (!chain.has(value)) out.push(low.errors[i]!);
    });
  }
  return out;
}

function fullUrl(instance: AxiosInstanceLike, config: AxiosConfig): string {
  try {
    if (typeof instance.getUri === 'function') return instance.getUri(config);
  } catch {
    // fall through to the bare url
  }
  return String(config.url ?? '');
}

function splitUrl(url: string): { host: string; target: string } {
  try {
    const parsed = new URL(url);
    return { host: parsed.host, target: parsed.pathname + parsed.search };
  } catch {
    return { host: '', target: url };
  }
}

/** AxiosHeaders (or a plain object) -> a plain name -> value(s) object. */
function plainHeaders(headers: unknown): HeaderInput {
  if (headers === null || typeof headers !== 'object') return {};
  const source = typeof (headers as { toJSON?: unknown }).toJSON === 'function' ? (headers as { toJSON(): unknown }).toJSON() : headers;
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
    if (value === undefined || value === null || value === false) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/** A body axios holds as a value (config.data after transformRequest, response.data) -> bytes, cut at `max`. */
function valueBody(value: unknown, contentType: string | undefined, max: number): CapturedBody | undefined {
  let bytes: Buffer | undefined;
  if (value === undefined || value === null) bytes = Buffer.alloc(0);
  else if (typeof value === 'string') bytes = Buffer.from(value);
  else if (value instanceof ArrayBuffer) bytes = Buffer.from(value);
  else if (ArrayBuffer.isView(value)) bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  else if (value instanceof URLSearchParams) bytes = Buffer.from(value.toString());
  else if (
    typeof value === 'object' &&
    typeof (value as { pipe?: unknown }).pipe !== 'function' &&
    typeof (value as { getReader?: unknown }).getReader !== 'function'
  ) {
    try {
      // A parsed JSON answer (or a plain object): its JSON, the closest thing to the bytes.
      bytes = Buffer.from(JSON.stringify(value) ?? '');
    } catch {
      bytes = undefined;
    }
  }
  if (bytes === undefined) return undefined; // a stream: not read here
  return bytes.length > max ? { bytes: bytes.subarray(0, max), contentType, truncated: true } : { bytes, contentType, truncated: false };
}

/** Finds the `getAdapter` of the axios copy an instance comes from (a created instance lacks it). */
class AdapterResolver {
  readonly #modules: AxiosModule[] = [];
  /** Set while the ESM copy is being imported; settles (never rejects) once it is known. */
  pending: Promise<void> | undefined;

  add(module: AxiosModule): void {
    if (!this.#modules.includes(module)) this.#modules.push(module);
  }

  for(instance: AxiosInstanceLike): GetAdapter | undefined {
    const own = (instance as AxiosModule).getAdapter;
    if (typeof own === 'function') return own;
    // Instances of one copy share its InterceptorManager class; two copies (ESM + CJS) do not.
    const manager = Object.getPrototypeOf(instance.interceptors.request);
    const module = this.#modules.find((m) => Object.getPrototypeOf(m.interceptors.request) === manager);
    return module?.getAdapter;
  }
}

function defaultExport(module: unknown): AxiosModule | undefined {
  const candidate = (module as { default?: unknown } | undefined)?.default ?? module;
  const interceptors = (candidate as AxiosInstanceLike | undefined)?.interceptors;
  return typeof interceptors?.request?.use === 'function' ? (candidate as AxiosModule) : undefined;
}

/**
 * Adds the interceptors to `setting` (`true`: the default instance of the axios package, both its
 * CommonJS and its ESM copy when they differ). Throws `OptionsInvalidError` when `true` is asked
 * and axios cannot be loaded. Returns the function that ejects every interceptor added.
 */
export function installAxios(env: OutgoingEnv, setting: true | readonly AxiosInstanceLike[]): () => void {
  const resolver = new AdapterResolver();
  const hooked = new Map<AxiosInstanceLike, [number, number]>();
  let closed = false;

  const hook = (instance: AxiosInstanceLike): void => {
    if (closed || hooked.has(instance)) return;
    const request = instance.interceptors.request.use(function apitoolkitAxiosRequest(config: AxiosConfig) {
      let call: AxiosCall | undefined;
      try {
        if (config !== null && typeof config === 'object' && !env.scope.getStore()?.ownIo) {
          const parent = env.client[kCurrentRequest]();
          call = new AxiosCall(env, instance, parent?.msgId ?? null, config);
          config[kCall] = call;
        }
      } catch (error) {
        env.fault(error);
      }
      if (call === undefined) return config;
      const prepare = (): AxiosConfig => {
        try {
          wrapAdapter(env, config, call, resolver.for(instance));
        } catch (error) {
          env.fault(error);
        }
        return config;
      };
      // A created instance of the ESM copy finds its adapters once that copy is imported, a few
      // ticks after construction: a call made before then waits for it rather than lose the link.
      const pending = resolver.pending;
      return pending !== undefined && resolver.for(instance) === undefined ? pending.then(prepare) : prepare();
    });
    const response = instance.interceptors.response.use(
      function apitoolkitAxiosResponse(res: AxiosResponse) {
        settle(env, (res?.config as AxiosConfig | undefined)?.[kCall], { response: res });
        return res;
      },
      function apitoolkitAxiosError(error: unknown) {
        const e = error as { config?: AxiosConfig; response?: AxiosResponse } | null;
        settle(env, e?.config?.[kCall], { error, response: e?.response });
        // The very same error, so the app sees exactly what it would without us.
        return Promise.reject(error);
      },
    );
    hooked.set(instance, [request, response]);
  };

  const require = createRequire(import.meta.url);
  let required: AxiosModule | undefined;
  try {
    // axios is an optional peer: a bundler (Next's webpack and Turbopack) must not try to resolve
    // it in an app that does not have it. Node resolves it from here at run time.
    required = defaultExport(require(/* webpackIgnore: true */ /* turbopackIgnore: true */ AXIOS));
  } catch (error) {
    if (setting === true) {
      throw new OptionsInvalidError(
        'captureOutgoing.axios',
        `true, but the axios package could not be loaded (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
  }
  if (required !== undefined) resolver.add(required);
  if (setting === true) hook(required!);
  else setting.forEach(hook);
  // The ESM copy (a different object from the CommonJS one) resolves asynchronously; instances an
  // ESM app created find their getAdapter through it.
  resolver.pending = import(/* webpackIgnore: true */ /* turbopackIgnore: true */ AXIOS)
    .then(
      (m: unknown) => {
        const module = defaultExport(m);
        if (module === undefined || closed) return;
        resolver.add(module);
        if (setting === true) hook(module);
      },
      () => {},
    )
    .finally(() => {
      resolver.pending = undefined;
    });

  return () => {
    closed = true;
    for (const [instance, [request, response]] of hooked) {
      instance.interceptors.request.eject(request);
      instance.interceptors.response.eject(response);
    }
    hooked.clear();
  };
}

function settle(env: OutgoingEnv, call: unknown, outcome: { response?: AxiosResponse; error?: unknown }): void {
  if (!(call instanceof AxiosCall)) return;
  try {
    call.settle(outcome);
  } catch (error) {
    env.fault(error);
  }
}

/**
 * Runs this call's adapter in a scope naming the call, so the node:http / fetch request it makes is
 * attributed to it. A config reused for a retry carries our previous wrapper: unwrap it first.
 */
function wrapAdapter(env: OutgoingEnv, config: AxiosConfig, call: AxiosCall, getAdapter: GetAdapter | undefined): void {
  let original = config.adapter;
  if (typeof original === 'function' && kOriginalAdapter in original)
    original = (original as unknown as Record<symbol, unknown>)[kOriginalAdapter];
  if (typeof original !== 'function' && getAdapter === undefined) return;
  const scope = { owner: call };
  const wrapper = function apitoolkitAxiosAdapter(this: unknown, cfg: unknown): Promise<unknown> {
    const adapter = typeof original === 'function' ? (original as Adapter) : getAdapter!(original ?? DEFAULT_ADAPTERS, cfg);
    return env.scope.run(scope, () => adapter.call(this, cfg));
  };
  Object.defineProperty(wrapper, kOriginalAdapter, { value: original });
  config.adapter = wrapper;
}
