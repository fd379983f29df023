/**
 * A local stand-in for APIToolkit: the client-metadata HTTP endpoint plus the part of Pub/Sub's REST
 * API a publisher uses (publish, topics, testIamPermissions), so the SDK (or any Pub/Sub REST client)
 * can run end to end on a laptop or in a test without Google or APIToolkit. Everything published is
 * decoded, kept in memory, optionally printed and appended to a JSONL file, and shown live by the
 * web inspector.
 */

import { isAscii } from 'node:buffer';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { OptionsInvalidError } from '../core/errors.js';
import type { ApiRecord } from '../core/record.js';
import { startInspector, type InspectorOptions, type InspectorServer } from './inspector/server.js';
import { formatInvalidMessage, formatRecord, shouldColor } from './print.js';
import { DEFAULT_MAX_STORED_BYTES, DEFAULT_MAX_STORED_RECORDS, openRecordStore, type RecordStore } from './store.js';
import { packageVersion } from '../version.js';

/** Options of `startCollector()`. Every field is optional. */
export interface CollectorOptions {
  /** Interface both servers bind to. Default `'127.0.0.1'` (captured traffic stays on this machine). */
  host?: string;
  /** Port of the HTTP (client metadata) server. Default `0`: an ephemeral port, see `rootURL`. */
  httpPort?: number;
  /** Port of the Pub/Sub (REST) server. Default `0`: an ephemeral port, see `pubsubEndpoint`. */
  pubsubPort?: number;
  /** @deprecated The former name of `pubsubPort`, from when the collector served gRPC. */
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
  /** Publish requests received, including those answered with an injected fault. */
  publishRequests: number;
  /** Messages accepted (valid records or not). */
  messages: number;
  /** `GET /api/client_metadata` requests, including refused ones. */
  metadataRequests: number;
}

/**
 * What `setPublishFault()` accepts: a gRPC status code (google.rpc.Code) to answer every publish
 * with, as Google's REST API answers it (e.g. `14` UNAVAILABLE as HTTP 503, `7` PERMISSION_DENIED as
 * 403, `5` NOT_FOUND as 404), `'hang'` to never answer, or `null` for normal.
 */
export type PublishFault = number | 'hang' | null;

/** A running collector; see `startCollector()`. */
export interface Collector {
  /** Base URL of the metadata endpoint, e.g. `'http://127.0.0.1:8788'`: the SDK's `rootURL`. */
  readonly rootURL: string;
  /** `host:port` of the plaintext Pub/Sub REST endpoint: the SDK's `pubsubEndpoint` / `PUBSUB_EMULATOR_HOST`. */
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
   * Makes every publish fail until reset: a gRPC status code (1-16, answered as Google's REST API
   * does: HTTP status and `{"error":{"code","message","status"}}`), `'hang'` (never answer; released
   * by `close()` or when the client gives up), or `null` (normal). Messages of a failed request are
   * not stored.
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
  pubsubPort: 0,
  projectId: '00000000-0000-4000-8000-000000000000',
  topicId: 'apitoolkit-local',
  pubsubProjectId: 'apitoolkit-local',
} as const;

const DEFAULT_WAIT_MS = 5_000; // 5 s

/** Limits the real Pub/Sub enforces on publish (https://cloud.google.com/pubsub/quotas#resource_limits). */
const PUBSUB_MAX_REQUEST_BYTES = 10 * 1024 * 1024; // 10 MiB, decoded
const PUBSUB_MAX_MESSAGES_PER_REQUEST = 1_000;
/** Google's REST front end refuses request bodies over 10 MiB, base64 and JSON included. */
const REST_MAX_BODY_BYTES = 10 * 1024 * 1024; // 10 MiB

const TOPIC_NAME = /^projects\/[^/]+\/topics\/[^/]+$/;
/** `/v1/projects/P/topics/T`, `…:publish`, `…:testIamPermissions`. */
const REST_PATH = /^\/v1\/(projects\/[^/:]+\/topics\/[^/:]+)(?::([A-Za-z]+))?$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** google.rpc.Code: its name and the HTTP status Google's REST API answers it with. */
const RPC_CODES: Readonly<Record<number, [string, number]>> = {
  1: ['CANCELLED', 499],
  2: ['UNKNOWN', 500],
  3: ['INVALID_ARGUMENT', 400],
  4: ['DEADLINE_EXCEEDED', 504],
  5: ['NOT_FOUND', 404],
  6: ['ALREADY_EXISTS', 409],
  7: ['PERMISSION_DENIED', 403],
  8: ['RESOURCE_EXHAUSTED', 429],
  9: ['FAILED_PRECONDITION', 400],
  10: ['ABORTED', 409],
  11: ['OUT_OF_RANGE', 400],
  12: ['UNIMPLEMENTED', 501],
  13: ['INTERNAL', 500],
  14: ['UNAVAILABLE', 503],
  15: ['DATA_LOSS', 500],
  16: ['UNAUTHENTICATED', 401],
};

interface PublishRequest {
  topic: string;
  messages: { data: Buffer; attributes: Record<string, string>; orderingKey: string }[];
}

/** A refusal as Google's REST API words it. */
interface RestError {
  code: number;
  message: string;
}

interface Waiter {
  count: number;
  resolve(records: ApiRecord[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Starts a local collector that impersonates APIToolkit: `GET {rootURL}/api/client_metadata` and
 * the part of Pub/Sub's REST API a publisher uses (`POST /v1/projects/P/topics/T:publish`,
 * `PUT`/`GET` of a topic, `:testIamPermissions`; anything else is answered NOT_FOUND or
 * UNIMPLEMENTED as Google would), plus the web inspector on its own port. All bind to `127.0.0.1`
 * on ephemeral ports unless told otherwise.
 *
 * @example
 * const collector = await startCollector();
 * await fetch(`http://${collector.pubsubEndpoint}/v1/projects/apitoolkit-local/topics/apitoolkit-local:publish`, {
 *   method: 'POST', headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ messages: [{ data: Buffer.from(JSON.stringify(record)).toString('base64') }] }),
 * });
 * const [got] = await collector.waitForRecords(1);
 * await collector.close();
 */
export async function startCollector(options: CollectorOptions = {}): Promise<Collector> {
  const host = stringOption(options, 'host');
  const httpPort = portOption(options, 'httpPort');
  const pubsubPort = portOption(options, options.pubsubPort === undefined && options.grpcPort !== undefined ? 'grpcPort' : 'pubsubPort');
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
  const hungRequests = new Set<() => void>();

  let store: RecordStore | null = null;
  let createdFile = false;
  let inspector: InspectorServer | null = null;
  let httpServer: HttpServer | null = null;
  let pubsubServer: HttpServer | null = null;

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    // Not `new URL()`: it throws on some request-targets Node's parser lets through.
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/api/client_metadata') {
      sendJson(res, 404, { error: `not found: ${path}` });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: `method not allowed: ${req.method}` });
      return;
    }
    stats.metadataRequests++;
    const key = bearerToken(req.headers.authorization);
    res.setHeader('www-authenticate', 'Bearer');
    if (key === null) {
      sendJson(res, 401, { error: 'missing API key: send "Authorization: Bearer <key>"' });
      return;
    }
    if (rejectKeys.has(key)) {
      sendJson(res, 401, { error: 'invalid API key' });
      return;
    }
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

  /** Holds the request unanswered until the client gives up or the collector closes. */
  function hang(req: IncomingMessage, res: ServerResponse): void {
    const release = (): void => sendRestError(res, restError(14, 'apitoolkit-node collector closed'));
    hungRequests.add(release);
    res.once('close', () => hungRequests.delete(release));
    req.resume();
  }

  function publish(topic: string, body: unknown, res: ServerResponse): void {
    const request = parsePublish(topic, body);
    if ('code' in request) {
      sendRestError(res, request);
      return;
    }
    const invalid = checkPublish(request.topic, request.messages);
    if (invalid !== null) {
      sendRestError(res, { code: 3, message: invalid });
      return;
    }
    topics.add(topic);
    const messageIds = request.messages.map((message) => accept(topic, message));
    settleWaiters();
    sendJson(res, 200, { messageIds });
  }

  // What a publisher's permission check asks. The collector grants every permission, except under
  // an injected fault: PERMISSION_DENIED is answered as Google answers a caller without the
  // permission (no permissions, not an error); other faults fail the call as they fail publish.
  function testIamPermissions(body: unknown, res: ServerResponse): void {
    if (fault === 7) {
      sendJson(res, 200, {});
      return;
    }
    if (fault !== null) {
      sendRestError(
        res,
        restError(fault as number, `apitoolkit-node collector: injected fault ${RPC_CODES[fault as number]?.[0] ?? fault}`),
      );
      return;
    }
    const permissions = (body as { permissions?: unknown } | null)?.permissions;
    if (!Array.isArray(permissions) || !permissions.every((p) => typeof p === 'string')) {
      sendRestError(res, { code: 3, message: "Invalid value at 'permissions': expected a list of strings" });
      return;
    }
    sendJson(res, 200, permissions.length === 0 ? {} : { permissions });
  }

  function handlePubsub(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const match = REST_PATH.exec(path);
    let topic: string;
    try {
      topic = match === null ? '' : decodeURIComponent(match[1]!);
    } catch {
      topic = '';
    }
    const verb = match?.[2];
    if (match === null || topic === '' || (verb !== undefined && verb !== 'publish' && verb !== 'testIamPermissions')) {
      req.resume();
      sendRestError(res, { code: 5, message: `apitoolkit-node collector: no such method: ${req.method} ${path}` });
      return;
    }
    if (!TOPIC_NAME.test(topic)) {
      req.resume();
      sendRestError(res, invalidTopic(topic));
      return;
    }
    const method =
      verb === undefined ? (req.method === 'PUT' ? 'create' : req.method === 'GET' ? 'get' : null) : req.method === 'POST' ? verb : null;
    if (method === null) {
      req.resume();
      res.setHeader('allow', verb === undefined ? 'GET, PUT' : 'POST');
      sendRestError(res, { code: 12, message: `apitoolkit-node collector: ${req.method} is not allowed on ${path}` });
      return;
    }
    if (method === 'publish') stats.publishRequests++;
    if ((method === 'publish' || method === 'testIamPermissions') && fault === 'hang') {
      hang(req, res);
      return;
    }
    if (method === 'publish' && fault !== null) {
      req.resume();
      sendRestError(
        res,
        restError(fault as number, `apitoolkit-node collector: injected fault ${RPC_CODES[fault as number]?.[0] ?? fault}`),
      );
      return;
    }
    readJson(req, (error, body) => {
      if (error !== null) {
        sendRestError(res, error);
        return;
      }
      switch (method) {
        case 'publish':
          return publish(topic, body, res);
        case 'testIamPermissions':
          return testIamPermissions(body, res);
        case 'create':
          if (topics.has(topic)) {
            sendRestError(res, { code: 6, message: 'Topic already exists' });
            return;
          }
          topics.add(topic);
          sendJson(res, 200, { name: topic });
          return;
        default:
          // Every well-formed topic exists implicitly: the SDK never creates topics in production.
          topics.add(topic);
          sendJson(res, 200, { name: topic });
          return;
      }
    });
  }

  async function close(): Promise<void> {
    closing ??= (async () => {
      for (const release of hungRequests) release();
      hungRequests.clear();
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`apitoolkit-node collector: closed while waiting for ${waiter.count} records (got ${records.length})`));
      }
      waiters.clear();
      await Promise.all([closeHttp(httpServer), closeHttp(pubsubServer), inspector?.close(), store?.close()]);
    })();
    return closing;
  }

  try {
    httpServer = createServer(handleHttp);
    const httpAddress = await listenHttp(httpServer, host, httpPort);
    pubsubServer = createServer(handlePubsub);
    const pubsubAddress = await listenHttp(pubsubServer, host, pubsubPort);
    const rootURL = `http://${hostPort(advertisedHost(host), httpAddress.port)}`;
    const pubsubEndpoint = hostPort(advertisedHost(host), pubsubAddress.port);
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
              reject(
                new Error(
                  `apitoolkit-node collector: timed out after ${timeoutMs} ms waiting for ${count} records; ` +
                    `got ${records.length} records from ${messages.length} messages in ${stats.publishRequests} publish requests` +
                    (fault === null ? '' : ` (publish fault ${String(fault)} is set)`),
                ),
              );
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
          throw new OptionsInvalidError(
            'setPublishFault(fault)',
            `expected a gRPC status code 1-16 (google.rpc.Code), 'hang' or null, got ${String(next)}`,
          );
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
  if (typeof value !== 'string' || value === '')
    throw new OptionsInvalidError(name, `expected a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function portOption(options: CollectorOptions, name: 'httpPort' | 'pubsubPort' | 'grpcPort'): number {
  const value = options[name] ?? COLLECTOR_DEFAULTS[name === 'grpcPort' ? 'pubsubPort' : name];
  if (!Number.isInteger(value) || value < 0 || value > 65_535)
    throw new OptionsInvalidError(name, `expected an integer port 0-65535, got ${String(value)}`);
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
  if (
    options.allowedHosts !== undefined &&
    (!Array.isArray(options.allowedHosts) || !options.allowedHosts.every((h) => typeof h === 'string' && h !== ''))
  ) {
    throw new OptionsInvalidError('inspector.allowedHosts', 'expected an array of host names');
  }
  return options;
}

function jsonlOption(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '')
    throw new OptionsInvalidError('jsonlPath', `expected a file path or null, got ${JSON.stringify(value)}`);
  return resolvePath(value);
}

/** Why Google would refuse this Publish request, or `null` if it would accept it. */
function checkPublish(topic: string, batch: PublishRequest['messages']): string | null {
  if (!TOPIC_NAME.test(topic)) return invalidTopic(topic).message;
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

function invalidTopic(name: string): RestError {
  return { code: 3, message: `Invalid [topics] name: (name=${name})` };
}

/** The publish request a REST body describes, or why Google would refuse its shape. */
function parsePublish(topic: string, body: unknown): PublishRequest | RestError {
  const list = (body as { messages?: unknown } | null)?.messages;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || (list !== undefined && !Array.isArray(list))) {
    return { code: 3, message: 'Invalid JSON payload received. Expected an object with a "messages" list.' };
  }
  const messages: PublishRequest['messages'] = [];
  for (const [i, item] of ((list ?? []) as unknown[]).entries()) {
    const {
      data = '',
      attributes = {},
      orderingKey = '',
    } = (item ?? {}) as { data?: unknown; attributes?: unknown; orderingKey?: unknown };
    if (typeof data !== 'string' || !BASE64.test(data))
      return { code: 3, message: `Invalid value at 'messages[${i}].data' (TYPE_BYTES), Base64 decoding failed` };
    if (typeof attributes !== 'object' || attributes === null || !Object.values(attributes).every((v) => typeof v === 'string')) {
      return { code: 3, message: `Invalid value at 'messages[${i}].attributes': expected a map of strings` };
    }
    if (typeof orderingKey !== 'string') return { code: 3, message: `Invalid value at 'messages[${i}].ordering_key' (TYPE_STRING)` };
    messages.push({ data: Buffer.from(data, 'base64'), attributes: attributes as Record<string, string>, orderingKey });
  }
  return { topic, messages };
}

/** Reads a JSON body of at most REST_MAX_BODY_BYTES (an empty body is `{}`). */
function readJson(req: IncomingMessage, done: (error: RestError | null, body?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (total > REST_MAX_BODY_BYTES) over = true;
    else chunks.push(chunk);
  });
  req.on('error', () => {});
  req.on('end', () => {
    if (over) return done({ code: 3, message: `Request payload size exceeds the limit: ${REST_MAX_BODY_BYTES} bytes.` });
    const body = Buffer.concat(chunks, total);
    // A publish body is ASCII (base64 inside JSON): copied as latin1 it is the same text, where
    // UTF-8 decoding of a few MB took ~15 ms per batch, most of the collector's time.
    const text = isAscii(body) ? body.toString('latin1') : body.toString('utf8');
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done({ code: 3, message: 'Invalid JSON payload received.' });
    }
  });
}

/** google.rpc.Code `code` with `message`, as a RestError. */
function restError(code: number, message: string): RestError {
  return { code, message };
}

/** Answers as Google's REST API does: the code's HTTP status and `{"error":{"code","message","status"}}`. */
function sendRestError(res: ServerResponse, error: RestError): void {
  const [status, httpStatus] = RPC_CODES[error.code] ?? ['UNKNOWN', 500];
  sendJson(res, httpStatus, { error: { code: httpStatus, message: error.message, status } });
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
 * A Google service-account key that parses like a real one but grants nothing: the SDK reads it,
 * and never uses it against a plaintext (emulator) endpoint.
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

async function listenHttp(server: HttpServer, host: string, port: number): Promise<AddressInfo> {
  server.listen(port, host);
  await once(server, 'listening');
  return server.address() as AddressInfo;
}

function closeHttp(server: HttpServer | null): Promise<void> {
  if (server === null || !server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets (fetch, the SDK) would hold close() open indefinitely.
    server.closeAllConnections();
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
