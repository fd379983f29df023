/**
 * `apitoolkit-node doctor --scan <records.jsonl>`: the leak finder over a records file (the
 * collector's, or one your tests wrote), with the dismissals made in the inspector, for CI.
 */

import { resolve } from 'node:path';
import type { LeakConfidence } from '../leaks/types.js';
import { formatLeakReport, scanRecords, type LeakReport } from '../leaks/index.js';
import { dismissalsPath, readDismissals, readJsonl } from './store.js';

/** Options of {@link scanRecordsFile}. */
export interface ScanFileOptions {
  /** A dismissals file. Default: `<file>.dismissed.json`, the one the inspector writes, if present. */
  dismissedPath?: string;
  /** Open findings below this confidence do not fail the scan. Default `'medium'`. */
  failOn?: LeakConfidence;
}

/** What {@link scanRecordsFile} returns: the report and the text to print. */
export interface ScanFileResult {
  report: LeakReport;
  text: string;
  /** Lines of the file that were not JSON records (skipped). */
  skippedLines: number;
}

/**
 * Scans a JSONL records file. Rejects when the file (or a dismissals file named explicitly) cannot
 * be read.
 *
 * @example
 * const { report, text } = await scanRecordsFile('apitoolkit-records.jsonl');
 * process.stdout.write(text);
 * process.exitCode = report.ok ? 0 : 1;
 */
export async function scanRecordsFile(file: string, options: ScanFileOptions = {}): Promise<ScanFileResult> {
  const path = resolve(file);
  const loaded = await readJsonl(path, { mustExist: true });
  const dismissed = await readDismissals(options.dismissedPath ?? dismissalsPath(path));
  const report = scanRecords(
    loaded.records.map((r) => r.record),
    { dismissed, failOn: options.failOn ?? 'medium' },
  );
  const skippedLines = loaded.lines - loaded.records.length;
  let text = formatLeakReport(report, { source: file });
  if (skippedLines > 0)
    text += `(${skippedLines} line${skippedLines === 1 ? '' : 's'} of ${file} were not JSON records and were skipped)\n`;
  return { report, text, skippedLines };
}
