/**
 * apitoolkit-node, the Web build: what `import 'apitoolkit-node'` resolves to under the `workerd`
 * (Cloudflare Workers), `edge-light` (Vercel and Next.js edge) and `deno` export conditions. The
 * same API as the Node build, on the Fetch API alone: no `node:` import. Adapters for it:
 * `apitoolkit-node/fetch`, `apitoolkit-node/hono`, `apitoolkit-node/next` (route handlers).
 */
import type { APIToolkitOptions } from '../core/options.js';
import { APIToolkit as Client } from '../client.js';
import { OptionsInvalidError } from '../core/errors.js';
import type { ShutdownOnSignalsOptions } from '../signals.js';
import { WEB } from './platform.js';

export type { APIToolkitStats, ShutdownResult } from '../client.js';
export type { APIToolkitOptions, AxiosInstanceLike, CaptureOutgoingOptions, DropReason } from '../core/options.js';
export {
  APIToolkitError,
  ApiKeyRefusedError,
  MetadataError,
  OptionsInvalidError,
  QueueFullError,
  LeakFoundError,
  RecordDroppedError,
  RedactPathInvalidError,
  TransportError,
} from '../core/errors.js';
export { REDACTED } from '../core/record.js';
export type { ApiRecord, ErrorRecord, SdkType } from '../core/record.js';
export { MemoryTransport } from '../transport/memory.js';
export type { SendResult, Transport, TransportInfo } from '../transport/types.js';
export { withFlush, type WithFlushOptions } from '../serverless.js';
export {
  assertNoLeaks,
  scanRecord,
  scanRecords,
  formatLeakReport,
  type LeakConfidence,
  type LeakFinding,
  type LeakGroup,
  type LeakKind,
  type LeakLocation,
  type LeakPart,
  type LeakReport,
  type ScanOptions,
  type ScanRecordsOptions,
  type SuggestedRule,
} from '../leaks/index.js';
export type { ShutdownOnSignalsOptions };

/**
 * Observes your API's traffic and reports it to APIToolkit. Create one per isolate (at the top of
 * your module) and hand it to `fetchHandler` or the Hono middleware. Delivery starts with the first
 * request, since Workers allow no I/O outside one.
 *
 * @example
 * // A Cloudflare Worker
 * import { env } from 'cloudflare:workers';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { fetchHandler } from 'apitoolkit-node/fetch';
 *
 * const apitoolkit = new APIToolkit({ apiKey: env.APITOOLKIT_KEY });
 * export default { fetch: fetchHandler(apitoolkit, (request) => Response.json({ ok: true })) };
 */
export class APIToolkit extends Client {
  constructor(options?: APIToolkitOptions) {
    super(options, WEB);
  }
}

/**
 * Process signals belong to Node and Bun (the Node build). Here: throws OptionsInvalidError. On
 * Workers and the edge there is no process to stop; `waitUntil` delivers each request's record.
 */
export function shutdownOnSignals(_client: APIToolkit, _options?: ShutdownOnSignalsOptions): () => void {
  throw new OptionsInvalidError(
    'shutdownOnSignals',
    'process signals are handled by the Node build (Node, Bun) only; this is the Web build',
  );
}
