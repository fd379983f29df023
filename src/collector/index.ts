/**
 * `apitoolkit-node/collector`: a local stand-in for APIToolkit (client metadata over HTTP plus a
 * Pub/Sub Publisher over gRPC) for development and tests, and the printer it uses.
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
export { formatRecord, formatInvalidMessage, shouldColor, MAX_BODY_DISPLAY_CHARS, type FormatOptions } from './print.js';
export { checkRecord } from './check.js';
