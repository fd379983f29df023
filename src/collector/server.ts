/**
 * A local stand-in for APIToolkit: the client-metadata HTTP endpoint plus a Pub/Sub `Publisher`
 * gRPC service, so the SDK (or the official `@google-cloud/pubsub` client) can run end to end on a
 * laptop or in a test without Google or APIToolkit. Everything published is decoded, kept in
 * memory, optionally printed and appended to a JSONL file, and shown live by the web inspector.
 */

import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { OptionsInvalidError } from '../core/errors.js';
import type { ApiRecord } from '../core/record.js';
import { startInspector, type InspectorOptions, type InspectorServer } from './inspector/server.js';
import { formatInvalidMessage, formatRecord, shouldColor } from './print.js';
import { loadIamPolicyService, loadPublisherService } from './protos.js';
import { DEFAULT_MAX_STORED_BYTES, DEFAULT_MAX_STORED_RECORDS, openRecordStore, type RecordStore } from './store.js';
import { packageVersion } from './version.js';

/** Options of `startCollector()`. Every field is optional. */
export interface CollectorOptions {
  /** Interface both servers bind to. Default `'127.0.0.1'` (captured traffic stays on this machine). */
  host?: string;
  /** Port of the HTTP (client metadata) server. Default `0`: an ephemeral port, see `rootURL`. */
  httpPort?: number;
  /** Port of the gRPC (Pub/Sub) server. Default `0`: an ephemeral port, see `pubsubEndpoint`. */
  grpcPort?: number;
  /** `project_id` answered by the metadata endpoint. Default `'00000000-0000-4000-8000-000000000000'`. */
  projectId?: string;
  /** `topic_id` answered by the metadata endpoint. Default `'apitoolkit-local'`. */
  topicId?: string;
  /** `pubsub_project_id` answered by the metadata endpoint. Default `'apitoolkit-local'`. */
  pubsubProjectId?: string;
  /**
   * Append each decoded record as one JSON line to this file; `null` writes no file. Default `null`.
   * The file is also the inspector's history: read back on start, and rewritten with only the
   * newest records once it holds half again as many as `maxStoredRecords` / `maxStoredBytes`.
   */
  jsonlPath?: string | null;
  /** Pretty-print each record: `true` prints to `process.stdout`, or give a stream. Default `false`. */
  print?: boolean | NodeJS.WritableStream;
  /** API keys the metadata endpoint refuses with 401, to test a refused key. Default `[]`. */
  rejectKeys?: string[];
  /**
   * Messages (and records) kept in memory for `records()`/`messages()`; the oldest are forgotten
   * beyond it, so a long-running collector stays bounded. Default unlimited (tests want them all).
   */
  maxKeptRecords?: number;
  /** The web inspector (see `inspectorURL`): `false` turns it off. Default on, on `127.0.0.1`, any free port. */
  inspector?: boolean | InspectorOptions;
  /** Records kept for the inspector and in the JSONL file, reloaded ones included. Default 10 000. */
  maxStoredRecords?: number;
  /** Bytes of record JSON kept for the inspector and in the JSONL file. Default 64 MiB. */
  maxStoredBytes?: number;
}

/** One Pub/Sub message as received, whether or not its data is a valid record. */
export interface CollectedMessage {
  data: Buffer;
  attributes: Record<string, string>;
  messageId: string;
  /** Full topic name, `projects/{project}/topics/{topic}`. */
  topic: string;
}

/** Counters since start (or the last `clear()`). */
export interface CollectorStats {
  /** `Publish` calls received, including those answered with an injected fault. */
  publishRequests: number;
  /** Messages accepted (valid records or not). */
  messages: number;
  /** `GET /api/client_metadata` requests, including refused ones. */
  metadataRequests: number;
}

/**
 * What `setPublishFault()` accepts: a gRPC status code to answer every `Publish` with (e.g. `14`
 * UNAVAILABLE, `7` PERMISSION_DENIED, `5` NOT_FOUND), `'hang'` to never answer, or `null` for normal.
 */
export type PublishFault = number | 'hang' | null;

/** A running collector; see `startCollector()`. */
export interface Collector {
  /** Base URL of the metadata endpoint, e.g. `'http://127.0.0.1:8788'`: the SDK's `rootURL`. */
  readonly rootURL: string;
  /** `host:port` of the plaintext gRPC Pub/Sub endpoint: the SDK's `pubsubEndpoint` / `PUBSUB_EMULATOR_HOST`. */
  readonly pubsubEndpoint: string;
  /** Absolute path of the JSONL file records are appended to, or `null` when there is none. */
  readonly jsonlPath: string | null;
  /** URL of the web inspector, e.g. `'http://127.0.0.1:8790/'`, or `null` when it is off. */
  readonly inspectorURL: string | null;
  /**
   * What the inspector shows: the newest records including those reloaded from the JSONL file,
   * oldest first, bounded by `maxStoredRecords` / `maxStoredBytes` (a new array each call).
   * Unlike `records()`, `clear()` does not empty it.
   */
  storedRecords(): ApiRecord[];
  /** Decoded records in arrival order (a new array each call). */
  records(): ApiRecord[];
  /** Every message received, raw, including ones that are not valid records (a new array each call). */
  messages(): CollectedMessage[];
  /**
   * Resolves with the records once at least `count` have arrived; rejects after `timeoutMs`
   * (default 5000) with a message saying what did arrive, or when the collector closes.
   */
  waitForRecords(count: number, timeoutMs?: number): Promise<ApiRecord[]>;
  /** Forgets all records and messages and zeroes the stats. The fault setting is kept. */
  clear(): void;
  /**
   * Makes every `Publish` fail until reset: a gRPC status code (1-16), `'hang'` (never answer;
   * released by `close()` or the client's deadline), or `null` (normal). Messages of a failed
   * call are not stored.
   */
  setPublishFault(fault: PublishFault): void;
  /** Counters since start or the last `clear()`. */
  stats(): CollectorStats;
  /** Stops the servers, answers hung calls, closes the JSONL file. Idempotent. */
  close(): Promise<void>;
}

/** Defaults of `CollectorOptions`. */
export const COLLECTOR_DEFAULTS = {
  host: '127.0.0.1',
  httpPort: 0,
  grpcPort: 0,
  projectId: '00000000-0000-4000-8000-000000000000',
  topicId: 'apitoolkit-local',
  pubsubProjectId: 'apitoolkit-local',
} as const;

const DEFAULT_WAIT_MS = 5_000; // 5 s
const SHUTDOWN_GRACE_MS = 1_000; // 1 s, then in-flight calls are cut

/**
 * HTTP/2 flow-control window granted to each publisher connection and stream. Node's default is
 * 64 KiB for both the stream and the whole connection: a client may have only 64 KiB in flight
 * before it must wait a round trip for WINDOW_UPDATE, and all concurrent Publish streams share the
 * one connection window. A 1 MB batch then takes ~16 round trips and a busy publisher stalls.
 * grpc-js 1.14 honours `grpc-node.flow_control_window` on the client only, so the server sessions
 * are widened by hand (see `widenFlowControl`).
 */
const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024; // 16 MiB

/** gRPC receive limit: above Google's 10 MiB so an oversized request gets Google's answer, not ours. */
const MAX_RECEIVE_MESSAGE_BYTES = 32 * 1024 * 1024; // 32 MiB

/** Limits the real Pub/Sub enforces on Publish (https://cloud.google.com/pubsub/quotas#resource_limits). */
const PUBSUB_MAX_REQUEST_BYTES = 10 * 1024 * 1024; // 10 MiB
const PUBSUB_MAX_MESSAGES_PER_REQUEST = 1_000;

const TOPIC_NAME = /^projects\/[^/]+\/topics\/[^/]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface PublishRequest {
  topic: string;
  messages: { data: Buffer; attributes: Record<string, string>; orderingKey: string }[];
}

interface Waiter {
  count: number;
  resolve(records: ApiRecord[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Starts a local collector that impersonates APIToolkit: `GET {rootURL}/api/client_metadata` and
 * the Pub/Sub `Publisher` gRPC service (CreateTopic, GetTopic, Publish, and IAMPolicy's
 * TestIamPermissions; the rest UNIMPLEMENTED), plus the web inspector on its own port.
 * All bind to `127.0.0.1` on ephemeral ports unless told otherwise.
 *
 * @example
 * const collector = await startCollector();
 * // emulatorMode: plaintext, no auth; universeDomain: skips google-auth's ADC / GCE metadata probe.
 * const pubsub = new PubSub({
 *   projectId: 'apitoolkit-local', apiEndpoint: collector.pubsubEndpoint, emulatorMode: true, universeDomain: 'googleapis.com',
 * });
 * await pubsub.topic('apitoolkit-local').publishMessage({ json: record });
 * const [got] = await collector.waitForRecords(1);
 * await collector.close();
 */
export async function startCollector(options: CollectorOptions = {}): Promise<Collector> {
  const host = stringOption(options, 'host');
  const httpPort = portOption(options, 'httpPort');
  const grpcPort = portOption(options, 'grpcPort');
  const projectId = stringOption(options, 'projectId');
  const topicId = stringOption(options, 'topicId');
  const pubsubProjectId = stringOption(options, 'pubsubProjectId');
  const jsonlPath = jsonlOption(options.jsonlPath);
  const inspectorOptions = inspectorOption(options.inspector);
  const maxStoredRecords = countOption(options, 'maxStoredRecords', DEFAULT_MAX_STORED_RECORDS);
  const maxStoredBytes = countOption(options, 'maxStoredBytes', DEFAULT_MAX_STORED_BYTES);
  const rejectKeys = new Set(options.rejectKeys ?? []);
  const maxKept = options.maxKeptRecords ?? Number.POSITIVE_INFINITY;
  const printTo = options.print === true ? process.stdout : options.print === false || options.print === undefined ? null : options.print;
  const color = printTo !== null && shouldColor(printTo);
  const service = loadPublisherService();
  const iamService = loadIamPolicyService();
  const metadataBody = JSON.stringify({
    project_id: projectId,
    pubsub_project_id: pubsubProjectId,
    topic_id: topicId,
    pubsub_push_service_account: fakeServiceAccount(pubsubProjectId),
  });

  let records: ApiRecord[] = [];
  let messages: CollectedMessage[] = [];
  let stats: CollectorStats = { publishRequests: 0, messages: 0, metadataRequests: 0 };
  let fault: PublishFault = null;
  let nextMessageId = 1;
  let closing: Promise<void> | null = null;
  const topics = new Set([`projects/${pubsubProjectId}/topics/${topicId}`]);
  const waiters = new Set<Waiter>();
  const hungCalls = new Set<() => void>();

  let store: RecordStore | null = null;
  let createdFile = false;
  let inspector: InspectorServer | null = null;
  let httpServer: HttpServer | null = null;
  let grpcServer: grpc.Server | null = null;

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    // Not `new URL()`: it throws on some request-targets Node's parser lets through.
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/api/client_metadata') return sendJson(res, 404, { error: `not found: ${path}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `method not allowed: ${req.method}` });
    }
    stats.metadataRequests++;
    const key = bearerToken(req.headers.authorization);
    res.setHeader('www-authenticate', 'Bearer');
    if (key === null) return sendJson(res, 401, { error: 'missing API key: send "Authorization: Bearer <key>"' });
    if (rejectKeys.has(key)) return sendJson(res, 401, { error: 'invalid API key' });
    res.removeHeader('www-authenticate');
    sendJson(res, 200, metadataBody);
  }

  function accept(topic: string, message: PublishRequest['messages'][number]): string {
    const messageId = String(nextMessageId++);
    const collected: CollectedMessage = { data: message.data, attributes: { ...message.attributes }, messageId, topic };
    messages.push(collected);
    stats.messages++;
    const decoded = decodeRecord(message.data);
    if (messages.length > maxKept) messages.splice(0, messages.length - maxKept);
    if ('record' in decoded) {
      records.push(decoded.record);
      if (records.length > maxKept) records.splice(0, records.length - maxKept);
      store?.add(decoded.record, message.data.length);
      printTo?.write(`${formatRecord(decoded.record, { color })}\n\n`);
    } else {
      printTo?.write(`${formatInvalidMessage(collected, decoded.error, { color })}\n\n`);
    }
    return messageId;
  }

  function settleWaiters(): void {
    for (const waiter of waiters) {
      if (records.length >= waiter.count) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(records.slice());
      }
    }
  }

  const publisher: grpc.UntypedServiceImplementation = {
    CreateTopic(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const { name } = call.request;
      if (!TOPIC_NAME.test(name)) return callback(invalidTopic(name));
      if (topics.has(name)) return callback({ code: grpc.status.ALREADY_EXISTS, details: 'Topic already exists' });
      topics.add(name);
      callback(null, { name });
    },
    GetTopic(call: grpc.ServerUnaryCall<{ topic: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const { topic } = call.request;
      if (!TOPIC_NAME.test(topic)) return callback(invalidTopic(topic));
      // Every well-formed topic exists implicitly: the SDK never creates topics in production.
      topics.add(topic);
      callback(null, { name: topic });
    },
    Publish(call: grpc.ServerUnaryCall<PublishRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      stats.publishRequests++;
      if (fault === 'hang') {
        const release = (): void => callback({ code: grpc.status.UNAVAILABLE, details: 'apitoolkit-node collector closed' });
        hungCalls.add(release);
        call.once('cancelled', () => hungCalls.delete(release));
        return;
      }
      if (fault !== null) {
        return callback({ code: fault, details: `apitoolkit-node collector: injected fault ${grpc.status[fault] ?? fault}` });
      }
      const { topic, messages: batch } = call.request;
      const invalid = checkPublish(topic, batch);
      if (invalid !== null) return callback({ code: grpc.status.INVALID_ARGUMENT, details: invalid });
      topics.add(topic);
      const messageIds = batch.map((message) => accept(topic, message));
      settleWaiters();
      callback(null, { messageIds });
    },
  };

  // What `topic.iam.testPermissions()` asks. The collector grants every permission, except under an
  // injected fault: PERMISSION_DENIED is answered as Google answers a caller without the
  // permission (an empty list, not an error); other faults fail the call as they fail Publish.
  const iamPolicy: grpc.UntypedServiceImplementation = {
    TestIamPermissions(call: grpc.ServerUnaryCall<{ resource: string; permissions: string[] }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const { resource, permissions } = call.request;
      if (!TOPIC_NAME.test(resource)) return callback(invalidTopic(resource));
      if (fault === 'hang') {
        const release = (): void => callback({ code: grpc.status.UNAVAILABLE, details: 'apitoolkit-node collector closed' });
        hungCalls.add(release);
        call.once('cancelled', () => hungCalls.delete(release));
        return;
      }
      if (fault === grpc.status.PERMISSION_DENIED) return callback(null, { permissions: [] });
      if (fault !== null) return callback({ code: fault, details: `apitoolkit-node collector: injected fault ${grpc.status[fault] ?? fault}` });
      callback(null, { permissions });
    },
  };

  async function close(): Promise<void> {
    closing ??= (async () => {
      for (const release of hungCalls) release();
      hungCalls.clear();
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`apitoolkit-node collector: closed while waiting for ${waiter.count} records (got ${records.length})`));
      }
      waiters.clear();
      await Promise.all([closeHttp(httpServer), closeGrpc(grpcServer), inspector?.close(), store?.close()]);
    })();
    return closing;
  }

  try {
    httpServer = createServer(handleHttp);
    const httpAddress = await listenHttp(httpServer, host, httpPort);
    grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
      // `grpc-node.max_session_memory` is deliberately left alone: grpc-js defaults it to
      // unlimited, while Node's own default (10 MB) is below the 16 MiB window granted here and Node
      // refuses new streams on a session past that limit.
    });
    grpcServer.addService(service, publisher);
    grpcServer.addService(iamService, iamPolicy);
    const grpcAddress = await bindGrpc(grpcServer, host, grpcPort);
    const rootURL = `http://${hostPort(advertisedHost(host), httpAddress.port)}`;
    const pubsubEndpoint = hostPort(advertisedHost(host), grpcAddress);
    // Opened after the ports, so a port that is taken leaves no empty file behind (see the catch).
    createdFile = jsonlPath !== null && !existsSync(jsonlPath);
    store = await openRecordStore({ path: jsonlPath, maxRecords: maxStoredRecords, maxBytes: maxStoredBytes });
    if (inspectorOptions !== null) {
      inspector = await startInspector(store, inspectorOptions, () => ({
        version: packageVersion(),
        rootURL,
        pubsubEndpoint,
        jsonlPath,
        projectId,
      }));
      if (inspectorOptions.announce !== false) printTo?.write(`apitoolkit-node inspector: ${inspector.url}\n\n`);
    }
    if (!widenFlowControl(grpcServer)) {
      process.emitWarning('apitoolkit-node collector: could not widen HTTP/2 flow-control windows (grpc-js internals changed); large publishes will be slower', {
        code: 'APITOOLKIT_WARN_COLLECTOR_FLOW_CONTROL',
      });
    }
    const kept = store;
    return {
      rootURL,
      pubsubEndpoint,
      jsonlPath,
      inspectorURL: inspector?.url ?? null,
      storedRecords: () => kept.list().map((entry) => entry.record),
      records: () => records.slice(),
      messages: () => messages.slice(),
      waitForRecords(count: number, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ApiRecord[]> {
        if (records.length >= count) return Promise.resolve(records.slice());
        if (closing !== null) return Promise.reject(new Error('apitoolkit-node collector: closed'));
        return new Promise((resolve, reject) => {
          const waiter: Waiter = {
            count,
            resolve,
            reject,
            timer: setTimeout(() => {
              waiters.delete(waiter);
              reject(new Error(
                `apitoolkit-node collector: timed out after ${timeoutMs} ms waiting for ${count} records; ` +
                  `got ${records.length} records from ${messages.length} messages in ${stats.publishRequests} Publish calls` +
                  (fault === null ? '' : ` (publish fault ${String(fault)} is set)`),
              ));
            }, timeoutMs),
          };
          waiters.add(waiter);
        });
      },
      clear(): void {
        records = [];
        messages = [];
        stats = { publishRequests: 0, messages: 0, metadataRequests: 0 };
      },
      setPublishFault(next: PublishFault): void {
        if (next !== null && next !== 'hang' && !(Number.isInteger(next) && next >= 1 && next <= 16)) {
          throw new TypeError(`apitoolkit-node collector: publish fault must be a gRPC status code 1-16, 'hang' or null; got ${String(next)}`);
        }
        fault = next;
      },
      stats: () => ({ ...stats }),
      close,
    };
  } catch (error) {
    await close();
    if (createdFile && jsonlPath !== null) await removeIfEmpty(jsonlPath);
    throw error;
  }
}

async function removeIfEmpty(path: string): Promise<void> {
  try {
    if ((await stat(path)).size === 0) await unlink(path);
  } catch {
    // already gone, or not ours to remove
  }
}

/** Reads a string option, falling back to its default; a wrong type is a programmer error. */
function stringOption(options: CollectorOptions, name: 'host' | 'projectId' | 'topicId' | 'pubsubProjectId'): string {
  const value = options[name] ?? COLLECTOR_DEFAULTS[name];
  if (typeof value !== 'string' || value === '') throw new OptionsInvalidError(name, `expected a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function portOption(options: CollectorOptions, name: 'httpPort' | 'grpcPort'): number {
  const value = options[name] ?? COLLECTOR_DEFAULTS[name];
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new OptionsInvalidError(name, `expected an integer port 0-65535, got ${String(value)}`);
  return value;
}

function countOption(options: CollectorOptions, name: 'maxStoredRecords' | 'maxStoredBytes', fallback: number): number {
  const value = options[name] ?? fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new OptionsInvalidError(name, `expected a positive integer, got ${String(value)}`);
  return value;
}

function inspectorOption(value: unknown): InspectorOptions | null {
  if (value === false) return null;
  if (value === undefined || value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionsInvalidError('inspector', `expected a boolean or an object, got ${JSON.stringify(value)}`);
  }
  const options = value as InspectorOptions;
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) {
    throw new OptionsInvalidError('inspector.host', `expected a non-empty string, got ${JSON.stringify(options.host)}`);
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)) {
    throw new OptionsInvalidError('inspector.port', `expected an integer port 0-65535, got ${String(options.port)}`);
  }
  if (options.allowedHosts !== undefined && (!Array.isArray(options.allowedHosts) || !options.allowedHosts.every((h) => typeof h === 'string' && h !== ''))) {
    throw new OptionsInvalidError('inspector.allowedHosts', 'expected an array of host names');
  }
  return options;
}

function jsonlOption(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '') throw new OptionsInvalidError('jsonlPath', `expected a file path or null, got ${JSON.stringify(value)}`);
  return resolvePath(value);
}

/** Why Google would refuse this Publish request, or `null` if it would accept it. */
function checkPublish(topic: string, batch: PublishRequest['messages']): string | null {
  if (!TOPIC_NAME.test(topic)) return invalidTopic(topic).details;
  if (batch.length === 0) return 'The value for messages is too small. You passed 0 in the request, but the minimum value is 1.';
  if (batch.length > PUBSUB_MAX_MESSAGES_PER_REQUEST) {
    return `The value for message_count is too large. You passed ${batch.length} in the request, but the maximum value is ${PUBSUB_MAX_MESSAGES_PER_REQUEST}.`;
  }
  let bytes = 0;
  for (const message of batch) {
    const attributes = Object.entries(message.attributes);
    if (message.data.length === 0 && attributes.length === 0) {
      return 'Some messages in the publish request are empty. Each message must contain a non-empty data field, or at least one attribute.';
    }
    bytes += message.data.length + message.orderingKey.length;
    for (const [k, v] of attributes) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (bytes > PUBSUB_MAX_REQUEST_BYTES) return `Request payload size exceeds the limit: ${PUBSUB_MAX_REQUEST_BYTES} bytes.`;
  return null;
}

function invalidTopic(name: string): { code: grpc.status; details: string } {
  return { code: grpc.status.INVALID_ARGUMENT, details: `Invalid [topics] name: (name=${name})` };
}

/** UTF-8 JSON of an object, or why not. */
function decodeRecord(data: Buffer): { record: ApiRecord } | { error: string } {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { error: 'data is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `data is not JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: `data is JSON but not an object (${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})` };
  }
  return { record: value as ApiRecord };
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match === null ? null : (match[1] as string);
}

function sendJson(res: ServerResponse, status: number, body: object | string): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/**
 * A Google service-account key that parses like a real one but grants nothing: the SDK stores it
 * and hands it to the Pub/Sub client, which never uses it against an emulator endpoint.
 */
function fakeServiceAccount(projectId: string): Record<string, string> {
  const email = `apitoolkit-local@${projectId}.iam.gserviceaccount.com`;
  const body = Buffer.from('apitoolkit-node local collector: this is not a private key. '.repeat(8)).toString('base64');
  const pem = `-----BEGIN PRIVATE KEY-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: pem,
    client_email: email,
    client_id: String(randomInt(1, 2 ** 47)).padStart(21, '1'),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
    universe_domain: 'googleapis.com',
  };
}

/**
 * Grants each incoming HTTP/2 session a 16 MiB connection window and initial stream window (see
 * FLOW_CONTROL_WINDOW_BYTES). grpc-js exposes no server option for this and no public hook on its
 * HTTP/2 servers, so this reaches its `http2Servers` map; returns `false` if that shape is gone.
 */
function widenFlowControl(server: grpc.Server): boolean {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map) || http2Servers.size === 0) return false;
  for (const http2Server of http2Servers.keys() as IterableIterator<Http2Server>) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
        session.settings({ initialWindowSize: FLOW_CONTROL_WINDOW_BYTES });
      } catch {
        // The session was destroyed before we got to it; nothing to tune.
      }
    });
  }
  return true;
}

async function listenHttp(server: HttpServer, host: string, port: number): Promise<AddressInfo> {
  server.listen(port, host);
  await once(server, 'listening');
  return server.address() as AddressInfo;
}

function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(hostPort(host, port), grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error !== null) reject(new Error(`apitoolkit-node collector: cannot listen for gRPC on ${hostPort(host, port)}: ${error.message}`, { cause: error }));
      else resolve(bound);
    });
  });
}

function closeHttp(server: HttpServer | null): Promise<void> {
  if (server === null || !server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets (fetch, the SDK) would hold close() open indefinitely.
    server.closeAllConnections();
  });
}

function closeGrpc(server: grpc.Server | null): Promise<void> {
  if (server === null) return Promise.resolve();
  return new Promise((resolve) => {
    // A client that keeps its channel open must not stall close(): wait briefly, then cut.
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Where clients should connect: a wildcard bind is reachable on loopback. */
function advertisedHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

function hostPort(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}
