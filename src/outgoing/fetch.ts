/**
 * Outgoing capture for Node's global `fetch` (and anything else built on undici) through the
 * `undici:request:*` diagnostics channels: nothing global is replaced.
 *
 * Bodies: undici 7 publishes `undici:request:bodyChunkSent` / `bodyChunkReceived`. The undici that
 * Node 20 and 22 bundle (6.x) publishes neither, so there the SDK wraps `onBodySent` / `onData` on
 * the one request object undici hands to `undici:request:create` subscribers (an own property of
 * that object: no prototype, no global, no other request is touched). Both paths are armed; a
 * chunk is kept once, whichever path reports it first.
 */
import dc from 'node:diagnostics_channel';
import type { HeaderInput } from '../core/record.js';
import { BodyTee, beginCall, finishCall, tee, type OutgoingCall, type OutgoingEnv } from './call.js';

/** What undici's channels hand out (undici 5–7), as far as we read it. */
interface UndiciRequest {
  origin?: unknown;
  method?: unknown;
  path?: unknown;
  headers?: unknown;
  body?: unknown;
  onBodySent?: (...args: unknown[]) => unknown;
  onData?: (...args: unknown[]) => unknown;
}

interface FetchState {
  readonly call: OutgoingCall;
  // The last chunk kept, whichever path (channel or hook) saw it first: the other one skips it.
  lastSent: unknown;
  lastReceived: unknown;
}

const CHANNELS = [
  'undici:request:create',
  'undici:request:bodyChunkSent',
  'undici:request:headers',
  'undici:request:bodyChunkReceived',
  'undici:request:trailers',
  'undici:request:error',
] as const;

/** undici 6 keeps request headers as `[name, value, …]` (values may be arrays); undici 5 as raw `name: value\r\n` text. */
export function undiciRequestHeaders(headers: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  const add = (name: unknown, value: unknown): void => {
    const key = String(name).toLowerCase();
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    (out[key] ??= []).push(...values);
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
  } else if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) add(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
  }
  return out;
}

/** Raw response headers, `[name, value, …]` as Buffers (or strings), -> name -> values. */
export function undiciResponseHeaders(headers: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  if (!Array.isArray(headers)) return out;
  const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v));
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const value = headers[i + 1];
    const key = text(headers[i]).toLowerCase();
    const values = Array.isArray(value) ? value.map(text) : [text(value)];
    (out[key] ??= []).push(...values);
  }
  return out;
}

/**
 * Subscribes to undici's channels. `enabled` false still serves calls an axios call owns (axios
 * configured with its fetch adapter). Returns the unsubscribe function.
 */
export function installFetch(env: OutgoingEnv, enabled: boolean): () => void {
  const calls = new WeakMap<object, FetchState>();
  const { limits } = env;

  const onCreate = (message: unknown): void => {
    const request = (message as { request?: UndiciRequest }).request;
    if (request === undefined || request === null || typeof request !== 'object') return;
    const call = beginCall(env, 'JsFetchOutgoing', enabled);
    if (call === undefined) return;
    try {
      const origin = String(request.origin ?? '').replace(/\/+$/, '');
      const target = typeof request.path === 'string' ? request.path : '/';
      call.method = String(request.method ?? 'GET').toUpperCase();
      call.url = origin + target;
      call.host = origin.slice(origin.indexOf('//') + 2);
      call.target = target;
      call.requestHeaders = undiciRequestHeaders(request.headers);
      const state: FetchState = { call, lastSent: undefined, lastReceived: undefined };
      calls.set(request, state);
      if (limits.captureRequestBody && request.body !== null && request.body !== undefined) {
        call.requestTee = new BodyTee(limits.maxBodyBytes);
        hookChunks(request, 'onBodySent', (chunk) => {
          if (chunk !== state.lastSent) tee(call.requestTee, chunk);
          state.lastSent = chunk;
        });
      }
      if (limits.captureResponseBody) {
        call.responseTee = new BodyTee(limits.maxBodyBytes);
        hookChunks(request, 'onData', (chunk) => {
          if (chunk !== state.lastReceived) tee(call.responseTee, chunk);
          state.lastReceived = chunk;
        });
      }
    } catch (error) {
      env.fault(error);
    }
  };

  const stateOf = (message: unknown): FetchState | undefined => {
    const request = (message as { request?: unknown }).request;
    return request !== null && typeof request === 'object' ? calls.get(request) : undefined;
  };

  const onChunkSent = (message: unknown): void => {
    const state = stateOf(message);
    if (state === undefined) return;
    const chunk = (message as { chunk?: unknown }).chunk;
    if (chunk !== state.lastSent) tee(state.call.requestTee, chunk);
    state.lastSent = chunk;
  };

  const onHeaders = (message: unknown): void => {
    const state = stateOf(message);
    if (state === undefined) return;
    const response = (message as { response?: { statusCode?: unknown; headers?: unknown } }).response;
    state.call.statusCode = typeof response?.statusCode === 'number' ? response.statusCode : 0;
    state.call.responseHeaders = undiciResponseHeaders(response?.headers) as HeaderInput;
  };

  const onChunkReceived = (message: unknown): void => {
    const state = stateOf(message);
    if (state === undefined) return;
    const chunk = (message as { chunk?: unknown }).chunk;
    if (chunk !== state.lastReceived) tee(state.call.responseTee, chunk);
    state.lastReceived = chunk;
  };

  const onTrailers = (message: unknown): void => {
    const state = stateOf(message);
    if (state === undefined) return;
    calls.delete((message as { request: object }).request);
    finishCall(env, state.call);
  };

  const onError = (message: unknown): void => {
    const state = stateOf(message);
    if (state === undefined) return;
    calls.delete((message as { request: object }).request);
    state.call.addError((message as { error?: unknown }).error);
    finishCall(env, state.call);
  };

  const handlers = [onCreate, onChunkSent, onHeaders, onChunkReceived, onTrailers, onError];
  CHANNELS.forEach((name, i) => dc.subscribe(name, handlers[i]!));
  return () => CHANNELS.forEach((name, i) => dc.unsubscribe(name, handlers[i]!));
}

/**
 * Wraps one method of one undici request so that `observe` sees each chunk after undici handled it
 * (so a channel publishing from inside the method has already reported it). The method's result
 * and any exception go back to undici untouched.
 */
function hookChunks(request: UndiciRequest, method: 'onBodySent' | 'onData', observe: (chunk: unknown) => void): void {
  const original = request[method];
  if (typeof original !== 'function') return;
  request[method] = function apitoolkitChunk(this: unknown, chunk: unknown) {
    const result = original.apply(this, arguments as unknown as unknown[]);
    observe(chunk);
    return result;
  };
}
