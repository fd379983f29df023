/**
 * Outgoing capture for `node:http` / `node:https` client requests through diagnostics channels:
 * `http.client.request.start` (published by `ClientRequest#_finish`, i.e. once the request has
 * been ended and flushed) and `http.client.response.finish` (published before the app's 'response'
 * listener runs). Where Node also publishes `http.client.request.created` (nodejs/node#55586,
 * Node 22.12 / 23.2; not Node 20), the call starts there and the request body is teed as it is
 * written. Events of the request and the response are observed by intercepting `emit` on those two
 * objects, as capture.ts does for incoming requests: nothing is consumed, added or reordered.
 */
import dc from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { HeaderInput } from '../core/record.js';
import { BodyTee, beginCall, finishCall, tee, type OutgoingCall, type OutgoingEnv } from './call.js';

const CREATED = 'http.client.request.created';
const START = 'http.client.request.start';
const RESPONSE = 'http.client.response.finish';

/**
 * Subscribes to node:http's client channels. `enabled` false still serves requests an axios call
 * owns. Returns the unsubscribe function.
 */
export function installHttp(env: OutgoingEnv, enabled: boolean): () => void {
  const calls = new WeakMap<ClientRequest, OutgoingCall>();
  const { limits } = env;

  const begin = (req: ClientRequest, early: boolean): void => {
    const call = beginCall(env, 'JsHttpOutgoing', enabled);
    if (call === undefined) return;
    calls.set(req, call);
    describeRequest(req, call);
    if (limits.captureRequestBody && early) {
      call.requestTee = new BodyTee(limits.maxBodyBytes);
      teeWrites(req, call.requestTee);
    }
    if (limits.captureResponseBody) call.responseTee = new BodyTee(limits.maxBodyBytes);
    watchRequest(env, req, call);
  };

  const onCreated = (message: unknown): void => {
    const req = (message as { request?: ClientRequest }).request;
    if (req === undefined || calls.has(req)) return;
    try {
      begin(req, true);
    } catch (error) {
      env.fault(error);
    }
  };

  const onStart = (message: unknown): void => {
    const req = (message as { request?: ClientRequest }).request;
    if (req === undefined) return;
    try {
      const call = calls.get(req);
      // Begun at `created`: the headers are final only now (they went out with the first write).
      if (call === undefined) begin(req, false);
      else describeRequest(req, call);
    } catch (error) {
      env.fault(error);
    }
  };

  const onResponse = (message: unknown): void => {
    const { request: req, response: res } = message as { request?: ClientRequest; response?: IncomingMessage };
    if (req === undefined || res === undefined) return;
    const call = calls.get(req);
    if (call === undefined || call.done) return;
    try {
      call.statusCode = res.statusCode ?? 0;
      call.protoMajor = res.httpVersionMajor ?? 1;
      call.protoMinor = res.httpVersionMinor ?? 1;
      // headersDistinct keeps repeated headers apart, as the wire format wants.
      call.responseHeaders = (res.headersDistinct ?? res.headers) as HeaderInput;
      watchResponse(env, res, call);
    } catch (error) {
      env.fault(error);
    }
  };

  dc.subscribe(CREATED, onCreated);
  dc.subscribe(START, onStart);
  dc.subscribe(RESPONSE, onResponse);
  return () => {
    dc.unsubscribe(CREATED, onCreated);
    dc.unsubscribe(START, onStart);
    dc.unsubscribe(RESPONSE, onResponse);
  };
}

function describeRequest(req: ClientRequest, call: OutgoingCall): void {
  const hostHeader = req.getHeader('host');
  const host = typeof hostHeader === 'string' ? hostHeader : Array.isArray(hostHeader) ? String(hostHeader[0]) : req.host;
  call.method = (req.method ?? 'GET').toUpperCase();
  call.host = host;
  call.target = req.path;
  call.url = `${req.protocol ?? 'http:'}//${host}${req.path}`;
  call.requestHeaders = req.getHeaders() as HeaderInput;
}

/** Until a response arrives, the request's 'error' and 'close' end the call. */
function watchRequest(env: OutgoingEnv, req: ClientRequest, call: OutgoingCall): void {
  const emit = req.emit;
  req.emit = function apitoolkitRequestEmit(this: ClientRequest, event: string | symbol, arg?: unknown): boolean {
    // Before the app's listeners: an 'error' nobody listens for throws out of emit().
    if ((event === 'error' || event === 'close') && !call.done && call.statusCode === 0) {
      try {
        if (event === 'error') call.addError(arg);
        else if (!call.hasErrors) call.addError(new Error('the request was closed before a response arrived'), 'RequestClosed');
        finishCall(env, call);
      } catch (error) {
        env.fault(error);
      }
    }
    return emit.apply(this, arguments as unknown as Parameters<typeof emit>);
  } as typeof req.emit;
}

/**
 * Tees 'data' as the app reads it (or as node dumps it when nobody listens); 'end' completes the
 * call, 'close' before 'end' is a response cut short (by the peer, a timeout or the app itself).
 */
function watchResponse(env: OutgoingEnv, res: IncomingMessage, call: OutgoingCall): void {
  const emit = res.emit;
  res.emit = function apitoolkitResponseEmit(this: IncomingMessage, event: string | symbol, arg?: unknown): boolean {
    if (!call.done) {
      try {
        if (event === 'data') tee(call.responseTee, arg);
        else if (event === 'end') finishCall(env, call);
        else if (event === 'error') call.addError(arg);
        else if (event === 'close') {
          if (!call.hasErrors) call.addError(new Error('the response was closed before its end'), 'ResponseAborted');
          finishCall(env, call);
        }
      } catch (error) {
        env.fault(error);
      }
    }
    return emit.apply(this, arguments as unknown as Parameters<typeof emit>);
  } as typeof res.emit;
}

/** Tees what the app writes into the request (only where the call started at `created`). */
function teeWrites(req: ClientRequest, target: BodyTee): void {
  const write = req.write;
  const end = req.end;
  req.write = function apitoolkitWrite(this: ClientRequest, chunk: unknown, encoding?: unknown): boolean {
    if (!this.writableEnded) tee(target, chunk, encoding);
    return write.apply(this, arguments as unknown as Parameters<typeof write>);
  } as typeof req.write;
  req.end = function apitoolkitEnd(this: ClientRequest, chunk?: unknown, encoding?: unknown): ClientRequest {
    if (!this.writableEnded && chunk !== undefined && chunk !== null && typeof chunk !== 'function') tee(target, chunk, encoding);
    return end.apply(this, arguments as unknown as Parameters<typeof end>);
  } as typeof req.end;
}
