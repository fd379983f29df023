/** The micro-benchmark table in markdown. */
import type { MicroRow } from './fixtures.js';

export function microTable(rows: readonly MicroRow[]): string {
  // NaN (no such figure) arrives as null once it has crossed IPC as JSON.
  const us = (n: number | null) =>
    n === null || !Number.isFinite(n) ? '-' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
  return [
    '| stage | case | median µs | mean µs | p99 µs | samples |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.stage} | ${r.case} | ${us(r.medianUs)} | ${us(r.meanUs)} | ${us(r.p99Us)} | ${r.samples} |`),
  ].join('\n');
}
