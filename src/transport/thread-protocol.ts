/** The messages between thread.ts (the app's thread) and pubsub-worker.ts (the publishing thread). */
import { APIToolkitError, ApiKeyRefusedError, MetadataError, TransportError } from '../core/errors.js';
import { errorMessage } from './pubsub.js';
import type { TransportInfo } from './types.js';

/** App thread -> publishing thread. */
export type ToThread =
  | { t: 'start' }
  | { t: 'abort-start'; reason: string }
  /** One batch: `lengths[i]` bytes per message, back to back from `offset` in `buffer` (transferred). */
  | { t: 'send'; id: number; buffer: ArrayBuffer; offset: number; lengths: number[]; timeoutMs: number }
  | { t: 'abort-send'; id: number; reason: string }
  | { t: 'shutdown' };

/** Publishing thread -> app thread. */
export type FromThread =
  | { t: 'started'; info: TransportInfo }
  | { t: 'start-failed'; error: WireError }
  | { t: 'sent'; id: number; ok: boolean; error?: WireError }
  | { t: 'debug'; line: string }
  /** start() waits (`true`) between two metadata attempts, or is back at work (`false`). */
  | { t: 'backoff'; waiting: boolean }
  | { t: 'shut-down' };

/** An error as it crosses the thread boundary; rebuilt as the same SDK error class on the other side. */
export interface WireError {
  name: string;
  /** Without the `apitoolkit-node: ` prefix, which the rebuilt error adds again. */
  message: string;
  retryable: boolean;
}

export function toWireError(error: unknown, retryable?: boolean): WireError {
  const ownRetryable = error instanceof TransportError ? error.retryable : undefined;
  return { name: error instanceof APIToolkitError ? error.name : 'Error', message: errorMessage(error), retryable: retryable ?? ownRetryable ?? true };
}

/** The error `toWireError` described: same class, same message (the cause stays behind in the other thread). */
export function fromWireError(wire: WireError, rootURL: string): Error {
  switch (wire.name) {
    case 'ApiKeyRefusedError':
      return new ApiKeyRefusedError(rootURL);
    case 'MetadataError':
      return new MetadataError(wire.message);
    default:
      return new TransportError(wire.message, wire.retryable);
  }
}
