/**
 * The leak finder: detectors over every value of a record (cards, tokens, keys, passwords,
 * personal data) that report what the redaction rules missed, with the rule that would hide it.
 * Pure functions over records, with no Node-only API: used by the client (`detectLeaks`), the
 * collector's inspector, `doctor --scan`, and your tests (`scanRecords`, `assertNoLeaks`).
 */

import { LeakFoundError } from '../core/errors.js';
import type { ApiRecord } from '../core/record.js';
import { formatLeakReport } from './format.js';
import { scanRecords, type LeakReport, type ScanRecordsOptions } from './scan.js';

export {
  scanRecord,
  scanRecords,
  summarize,
  suggestRule,
  rulesOf,
  endpointOf,
  type ScanOptions,
  type ScanRecordsOptions,
  type LeakGroup,
  type LeakReport,
  type SuggestedRule,
} from './scan.js';
export { redactFindings } from './redact.js';
export { formatLeakReport, describeFinding, describeLocation, type FormatLeakOptions } from './format.js';
export {
  atLeast,
  maskValue,
  CONFIDENCE_ORDER,
  type LeakConfidence,
  type LeakFinding,
  type LeakKind,
  type LeakLocation,
  type LeakPart,
} from './types.js';
export { secretlintRuleIds } from './secretlint.js';

/**
 * Scans `records` (e.g. `transport.records()` of a `MemoryTransport` after your integration tests)
 * and throws `LeakFoundError` listing every open finding and the rules to add; returns the report
 * when there is none.
 *
 * @example
 * import { assertNoLeaks } from 'apitoolkit-node';
 * after(() => assertNoLeaks(transport.records()));
 */
export function assertNoLeaks(records: Iterable<ApiRecord>, options: ScanRecordsOptions = {}): LeakReport {
  const report = scanRecords(records, options);
  if (!report.ok)
    throw new LeakFoundError(`the redaction rules miss ${report.open.length} field(s)\n\n${formatLeakReport(report)}`, report);
  return report;
}
