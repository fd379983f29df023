/**
 * Every error the SDK creates. Each class carries a stable `code` (APITOOLKIT_ERR_*) that is
 * documented in docs/errors.md; a test keeps the two in step.
 */

const kAPIToolkitError = Symbol.for('apitoolkit-node.error');

/** Base class of every error thrown or reported by apitoolkit-node. */
export class APIToolkitError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`apitoolkit-node: ${message}`, options);
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, kAPIToolkitError, { value: true });
  }

  // Two copies of the package (ESM + CJS) must still recognise each other's errors.
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about: a subclass keeps the ordinary check.
    if (this !== APIToolkitError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kAPIToolkitError] === true;
  }
}

/** An option has the wrong type or value; thrown by `new APIToolkit()`. */
export class OptionsInvalidError extends APIToolkitError {
  /** The name of the offending option, e.g. `redactRequestBody[1]`. */
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('APITOOLKIT_ERR_OPTIONS_INVALID', `invalid option \`${option}\`: ${message}`, options);
    this.option = option;
  }
}

/** A redaction JSONPath could not be parsed; thrown by `new APIToolkit()`. */
export class RedactPathInvalidError extends APIToolkitError {
  readonly option: string;
  readonly path: string;
  constructor(option: string, path: string, reason: string, options?: { cause?: unknown }) {
    super('APITOOLKIT_ERR_REDACT_PATH_INVALID', `invalid JSONPath in \`${option}\`: ${JSON.stringify(path)} (${reason})`, options);
    this.option = option;
    this.path = path;
  }
}

/** `GET {rootURL}/api/client_metadata` answered 401: the API key was refused. */
export class ApiKeyRefusedError extends APIToolkitError {
  constructor(rootURL: string) {
    super('APITOOLKIT_ERR_API_KEY_REFUSED', `the API key was refused by ${rootURL} (HTTP 401); check APITOOLKIT_KEY`);
  }
}

/** The client metadata could not be fetched or was malformed (retried in the background). */
export class MetadataError extends APIToolkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('APITOOLKIT_ERR_METADATA', message, options);
  }
}

/** A transport failed to deliver a batch. `retryable` says whether the SDK will try again. */
export class TransportError extends APIToolkitError {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super('APITOOLKIT_ERR_TRANSPORT', message, options);
    this.retryable = retryable;
  }
}

/** A record was dropped because the queue was full. Reported through `onError`, never thrown. */
export class QueueFullError extends APIToolkitError {
  constructor(message: string) {
    super('APITOOLKIT_ERR_QUEUE_FULL', message);
  }
}

/** Records were dropped for a reason other than a full queue; `reason` is the `stats().dropped` key. */
export class RecordDroppedError extends APIToolkitError {
  readonly reason: string;
  constructor(reason: string, count: number) {
    super(
      'APITOOLKIT_ERR_RECORD_DROPPED',
      `dropped ${count} record(s): ${reason} (further drops for this reason are only counted in stats())`,
    );
    this.reason = reason;
  }
}

/** `assertNoLeaks()` found open leaks in the records it scanned; `error.report` lists them. */
export class LeakFoundError extends APIToolkitError {
  /** The scan report (`report.open`, `report.rules`). */
  readonly report: unknown;
  constructor(message: string, report: unknown) {
    super('APITOOLKIT_ERR_LEAK_FOUND', message);
    this.report = report;
  }
}

/**
 * Warnings the SDK prints through `logger` even without `debug`, each at most once every ten
 * minutes: a failure the app's owner must act on, which would otherwise pass in silence (records
 * never arriving). Documented in docs/errors.md, with what to do.
 */
export const WARNINGS = Object.freeze({
  /** No API key anywhere: requests pass through unrecorded. */
  noApiKey: 'APITOOLKIT_WARN_NO_API_KEY',
  /** client_metadata answered 401: nothing will be sent. */
  apiKeyRefused: 'APITOOLKIT_WARN_API_KEY_REFUSED',
  /** client_metadata cannot be fetched (network, timeout, 5xx, malformed): retried in the background. */
  metadataUnreachable: 'APITOOLKIT_WARN_METADATA_UNREACHABLE',
  /** A publish failed and will be retried (the endpoint is down, slow or erroring). */
  publishRetrying: 'APITOOLKIT_WARN_PUBLISH_RETRYING',
  /** Records were dropped (queue full, refused by Pub/Sub, too large, shutdown...). */
  recordsDropped: 'APITOOLKIT_WARN_RECORDS_DROPPED',
} as const);

/** One of {@link WARNINGS}. */
export type WarningCode = (typeof WARNINGS)[keyof typeof WARNINGS];
