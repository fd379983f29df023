/**
 * Header redaction: the credential headers always hidden, the names users add, and the copy of a
 * header set in the wire format's shape with each matched header's values replaced by one marker.
 */
import { OptionsInvalidError } from '../errors.js';
import { setOwn } from '../own.js';
import { REDACTED, type HeaderInput } from '../record.js';

export type { HeaderInput } from '../record.js';
import { redactQuery, type QueryNames } from './query.js';
import { stringList, type MatchStat } from './rules.js';

/**
 * Headers that are redacted whatever the options say: they carry credentials.
 *
 * @example
 * ALWAYS_REDACTED_HEADERS.includes('cookie'); // true
 */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = Object.freeze(['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);

/** Headers whose value is a URL: the `redactQueryParams` rules apply to its query string. */
const URL_HEADERS: ReadonlySet<string> = new Set(['referer', 'location', 'content-location']);

/** Lower-cased names to redact, each with the match counter of the user's rule (null for a default). */
export function headerNames(value: unknown): ReadonlyMap<string, MatchStat | null> {
  const names = new Map<string, MatchStat | null>(ALWAYS_REDACTED_HEADERS.map((name) => [name, null]));
  stringList('redactHeaders', value).forEach((name, i) => {
    const lower = name.trim().toLowerCase();
    if (lower === '') throw new OptionsInvalidError(`redactHeaders[${i}]`, 'expected a header name, got ""');
    if (!names.has(lower)) names.set(lower, { option: `redactHeaders[${i}]`, rule: name, matches: 0 });
  });
  return names;
}

/**
 * Returns a NEW object with the wire format's shape (lower-case names, every value an array of
 * strings) from node's header shapes; each matched header's values become one marker.
 * `redactions` counts the header values that were replaced.
 */
export function redactHeaders(
  names: ReadonlyMap<string, MatchStat | null>,
  queryNames: QueryNames,
  headers: HeaderInput,
): { headers: Record<string, string[]>; redactions: number } {
  const out: Record<string, string[]> = {};
  let redactions = 0;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (value === undefined) continue;
    const name = key.toLowerCase();
    // Always a fresh array: later changes to the caller's arrays cannot reach a queued record.
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    const hide = values.length > 0 && names.has(name);
    if (hide) {
      redactions += values.length;
      const stat = names.get(name);
      if (stat) stat.matches += values.length;
    } else if (queryNames.size > 0 && URL_HEADERS.has(name)) {
      for (let i = 0; i < values.length; i += 1) {
        const query = redactQuery(queryNames, values[i]!);
        values[i] = query.url;
        redactions += query.redactions;
      }
    }
    setOwn(out, name, hide ? [REDACTED] : values);
  }
  return { headers: out, redactions };
}
