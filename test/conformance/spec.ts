/**
 * The conformance suite's contract: one standard app, implemented once per adapter (a "target"),
 * and one table of scenarios run against every target and every supported major version.
 *
 * THE STANDARD APP. Each target serves these routes, written the framework's usual way, with the
 * SDK mounted the way its README quick start says (or without the SDK at all, the baseline the
 * response bytes are compared with). Templates are given in `:param` form; a target whose
 * framework writes them otherwise (Next's `[id]`) converts them with `template()`.
 *
 * | route | behaviour |
 * |---|---|
 * | `GET /users/:id` | 200 JSON `{"id":<id>,"token":"secret-token"}`, header `Set-Cookie: session=abc`; HEAD answered by the framework's own GET->HEAD handling |
 * | `POST /users/:id` | reads the body the framework's usual way (JSON parsed); 201 JSON `{"id":<id>,"token":"tok-123","name":<parsed JSON body's name, else null>}` |
 * | `POST /upload` | consumes the body whatever its type (binary, multipart); 200 JSON `{"ok":true}` |
 * | `GET /orgs/:orgId/projects/:projectId` | mounted through the framework's nesting (Express router mount, Fastify `register` prefix, Koa nested router, Hono `route()`, Nest controller path, Next folders); 200 JSON `{"orgId":…,"projectId":…}` |
 * | `GET /boom` | throws `new Error('outer failure', { cause: new TypeError('inner cause') })`; the framework's (or the app's own) error handling answers 500 |
 * | `GET /report` | awaits a tick, calls `apitoolkit.reportError(new RangeError('handled but worth knowing'))`, 202 text `accepted` |
 * | `GET /stream` | `text/plain`, written as three chunks `part one, ` / `part two, ` / `end` with ~10 ms between them |
 * | `GET /sse` | `text/event-stream`, events `data: 1\n\n`, `data: 2\n\n`, `data: 3\n\n` ~10 ms apart, then ends |
 * | `GET /gzip` | `application/json` compressed by the app itself: `Content-Encoding: gzip` of `{"compressed":true,"token":"secret-token"}` |
 * | `GET /big` | 200 `text/plain`, 2 000 000 bytes of `x` |
 * | `GET /empty` | 204, no body |
 * | `GET /slow` | 200 `text/plain`, writes `first,` then never ends (the client aborts) |
 * | anything else | the framework's 404 |
 */
import type { APIToolkit, APIToolkitOptions } from '../../src/index.js';
import type { ApiRecord } from '../../src/core/record.js';

/** One adapter at one framework version. */
export interface Target {
  /** e.g. `express 5.3.0`. */
  readonly name: string;
  readonly sdkType: ApiRecord['sdk_type'];
  /** `/users/:id` -> the framework's own spelling of the template. */
  template(pattern: string): string;
  /**
   * Serves the standard app on 127.0.0.1 (any free port): with the SDK when a client is given,
   * without any SDK code otherwise. Resolves to its base URL and a close function, plus `records`
   * when the app's records do not reach the given client's transport (an app in another process).
   */
  start(apitoolkit: APIToolkit | undefined): Promise<{ url: string; close(): Promise<void>; records?: RecordSource }>;
  /**
   * Scenario name -> what this target records instead, and why (a limit of the framework, listed
   * in the README). Replaces the scenario's expectations field by field.
   */
  readonly exceptions?: Readonly<Record<string, Partial<Expectation> & { why: string }>>;
}

/**
 * Where a target's records arrive when they are not the suite's client's: an app that runs in a
 * process of its own (Next) has its own client, with CONFORMANCE_OPTIONS, sending elsewhere.
 */
export interface RecordSource {
  clear(): void;
  records(): ApiRecord[];
  waitForRecords(count: number): Promise<ApiRecord[]>;
  /** Resolves true once everything the app captured so far has arrived. */
  flush(timeoutMs: number): Promise<boolean>;
}

/** The SDK options every target runs with. */
export const CONFORMANCE_OPTIONS: APIToolkitOptions = {
  redactHeaders: ['X-Api-Key'],
  redactRequestBody: ['$.password', '$.card.cvv', '$.items[*].secret'],
  redactResponseBody: ['$.token'],
  maxBodyBytes: 64 * 1024,
  flushIntervalMs: 0,
};

export interface RequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | FormData | URLSearchParams;
  /** Abort once this many response bytes arrived. */
  abortAfterBytes?: number;
}

/** What the record must hold. Body expectations compare the base64-decoded bytes. */
export interface Expectation {
  method: string;
  template: string | ((t: Target) => string);
  params: Record<string, string>;
  query: Record<string, string[]>;
  status: number;
  /** JSON value the decoded request body must equal. */
  requestJson: unknown;
  /** Exact decoded request body bytes. */
  requestBytes: Uint8Array | string;
  responseJson: unknown;
  responseBytes: Uint8Array | string;
  /** Checks on the record not covered above. */
  check: (record: ApiRecord, t: Target) => void;
  /** False: the exchange must leave no record at all (default true). */
  recorded: boolean;
}

export interface Scenario {
  readonly name: string;
  readonly request: RequestSpec;
  /** Compare status, headers and body bytes with the no-SDK app (default true). */
  readonly compareResponse?: boolean;
  readonly expect: Partial<Expectation>;
}
