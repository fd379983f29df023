/**
 * apitoolkit-node: observe every request your Node.js API serves and report it, redacted, to
 * APIToolkit. Framework adapters live in subpaths (`apitoolkit-node/express`); this entry point
 * imports no framework.
 */
export { APIToolkit } from './apitoolkit.js';
export type { APIToolkitStats, ShutdownResult } from './apitoolkit.js';
export type { APIToolkitOptions, AxiosInstanceLike, CaptureOutgoingOptions, DropReason } from './core/options.js';
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
} from './core/errors.js';
export { REDACTED } from './core/record.js';
export type { ApiRecord, ErrorRecord, SdkType } from './core/record.js';
export { MemoryTransport } from './transport/memory.js';
export { shutdownOnSignals, type ShutdownOnSignalsOptions } from './signals.js';
export { withFlush, type WithFlushOptions } from './serverless.js';
export type { SendResult, Transport, TransportInfo } from './transport/types.js';
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
} from './leaks/index.js';
