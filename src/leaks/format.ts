/**
 * The leak report as text, for `doctor --scan`, `assertNoLeaks()` and the runtime warning: what was
 * found where, masked, and the rules to add.
 */

import type { LeakGroup, LeakReport } from './scan.js';
import type { LeakFinding, LeakPart } from './types.js';

const PART_LABEL: Readonly<Record<LeakPart, string>> = {
  request_header: 'request header',
  response_header: 'response header',
  query: 'query parameter',
  request_body: 'request body',
  response_body: 'response body',
  url_path: 'path parameter',
  error: 'error',
};

/**
 * `request body $['credit-card'].number`, `request header x-api-key`, `response body (whole)`.
 *
 * @example
 * describeLocation({ part: 'query', field: 'token' }); // 'query parameter token'
 */
export function describeLocation(location: { part: LeakPart; field: string }): string {
  return `${PART_LABEL[location.part]} ${location.field === '' ? '(whole)' : location.field}`;
}

/** One line per finding of one record, masked; for logs. */
export function describeFinding(finding: LeakFinding): string {
  return `${finding.description} (${finding.detector}, ${finding.confidence}) in ${describeLocation(finding.location)}: ${finding.preview}`;
}

/** Options of {@link formatLeakReport}. */
export interface FormatLeakOptions {
  /** Where the records came from, for the heading. */
  source?: string;
  /** ANSI colours. Default `false`. */
  color?: boolean;
}

/**
 * The report as text: each open finding with its detectors and the rule that hides it, then every
 * rule to add in one block; dismissed and below-threshold findings are counted, not listed.
 *
 * @example
 * process.stdout.write(formatLeakReport(scanRecords(transport.records())));
 */
export function formatLeakReport(report: LeakReport, options: FormatLeakOptions = {}): string {
  const c = (code: string, text: string): string => (options.color === true ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  const dismissed = report.groups.filter((g) => g.dismissed).length;
  const below = report.groups.length - report.open.length - dismissed;
  const from = options.source === undefined ? '' : ` of ${options.source}`;
  lines.push(
    `Leak scan${from}: ${report.records} record${report.records === 1 ? '' : 's'}, ${report.open.length} open finding${report.open.length === 1 ? '' : 's'}` +
      `${dismissed > 0 ? `, ${dismissed} dismissed` : ''}${below > 0 ? `, ${below} below the threshold` : ''}`,
  );
  lines.push('');
  for (const group of report.open) lines.push(...groupLines(group, c), '');
  const options2 = Object.entries(report.rules);
  if (options2.length > 0) {
    lines.push('Add these rules to new APIToolkit({ ... }):');
    for (const [option, values] of options2) lines.push(`  ${option}: [${values.map((v) => JSON.stringify(v)).join(', ')}],`);
    lines.push('');
  }
  const unreachable = report.open.filter((g) => g.rule === null);
  if (unreachable.length > 0)
    lines.push(`${unreachable.length} finding${unreachable.length === 1 ? '' : 's'} no rule can reach: see the advice above.`, '');
  if (report.ok) lines.push(c('32', 'No open leak.'), '');
  return `${lines.join('\n')}`;
}

function groupLines(group: LeakGroup, c: (code: string, text: string) => string): string[] {
  const colour = group.confidence === 'high' ? '31' : group.confidence === 'medium' ? '33' : '2';
  const detectors = group.detectors.map((d) => `${d.description} [${d.detector}]`).join('; ');
  return [
    `  ${c(colour, group.confidence.padEnd(6))} ${group.endpoint}  ${describeLocation(group.location)}  (${group.records} record${group.records === 1 ? '' : 's'}, e.g. ${group.preview})`,
    `         ${detectors}`,
    `         ${group.rule === null ? `no rule: ${group.advice}` : `add ${c('1', group.rule.text)}`}`,
  ];
}
