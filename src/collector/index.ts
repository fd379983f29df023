/**
 * `apitoolkit-node/collector`: a local stand-in for APIToolkit (client metadata over HTTP plus
 * Pub/Sub's REST API for publishing) for development and tests, the printer and web inspector it uses,
 * and the `doctor` checks.
 *
 * @example
 * import { startCollector } from 'apitoolkit-node/collector';
 * const collector = await startCollector({ print: true });
 * // new APIToolkit({ apiKey: 'any', rootURL: collector.rootURL, pubsubEndpoint: collector.pubsubEndpoint })
 */

export {
  startCollector,
  COLLECTOR_DEFAULTS,
  type Collector,
  type CollectorOptions,
  type CollectedMessage,
  type CollectorStats,
  type PublishFault,
} from './server.js';
export type { InspectorOptions } from './inspector/server.js';
export { toCurl } from './inspector/curl.js';
export { toHar, type Har, type HarEntry } from './inspector/har.js';
export { inferShape, type BodyShape, type ShapeField, type JsonType } from './inspector/shape.js';
export {
  runDoctor,
  formatDoctorReport,
  type DoctorOptions,
  type DoctorReport,
  type DoctorCheck,
  type CheckStatus,
} from '../doctor/index.js';
export { formatRecord, formatInvalidMessage, shouldColor, MAX_BODY_DISPLAY_CHARS, type FormatOptions } from './print.js';
export { checkRecord } from './check.js';
export { scanRecordsFile, type ScanFileOptions, type ScanFileResult } from './scan.js';
