/**
 * Query-string redaction: the values of the query parameters named by `redactQueryParams`, in
 * every URL a record carries (`raw_url`, `query_params`, the `Referer` and `Location` headers and
 * the `referer` field). Names are matched case-insensitively after percent-decoding, as the app's
 * own parser reads them (`?Token=`, `?to%6Ben=` and `?token[]=` are all `token`).
 */
import { OptionsInvalidError } from '../errors.js';
import { setOwn } from '../own.js';
import { REDACTED } from '../record.js';
import { stringList, type MatchStat } from './rules.js';

/** Lower-cased parameter names to redact, each with the match counter of the user's rule. */
export type QueryNames = ReadonlyMap<string, MatchStat>;

/** The names of `redactQueryParams` (validated: strings, not blank). */
export function queryNames(value: unknown): QueryNames {
  const names = new Map<string, MatchStat>();
  stringList('redactQueryParams', value).forEach((name, i) => {
    const lower = name.trim().toLowerCase();
    if (lower === '') throw new OptionsInvalidError(`redactQueryParams[${i}]`, 'expected a query parameter name, got ""');
    if (!names.has(lower)) names.set(lower, { option: `redactQueryParams[${i}]`, rule: name, matches: 0 });
  });
  return names;
}

/** A URL (or a path with its query) and its query parameters, with the named values redacted. */
export interface QueryRedaction {
  url: string;
  params: Record<string, string[]>;
  redactions: number;
}

/**
 * `?a=1&a=2&b=3` -> `{ a: ['1', '2'], b: ['3'] }`, with every value of a named parameter replaced by
 * one marker (`{ token: ['[CLIENT_REDACTED]'] }`), and the URL with those values replaced in place:
 * the rest of it is kept byte for byte (order, spelling, encoding, a fragment).
 */
export function redactQuery(names: QueryNames, url: string): QueryRedaction {
  const q = url.indexOf('?');
  if (q === -1) return { url, params: {}, redactions: 0 };
  const hash = url.indexOf('#', q);
  const query = hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const params: Record<string, string[]> = {};
  if (names.size === 0) {
    for (const [key, value] of new URLSearchParams(query)) add(params, key, value);
    return { url, params, redactions: 0 };
  }
  // URLSearchParams skips empty pieces and keeps one entry per other piece, in order: entry i is
  // the i-th non-empty piece, so the URL can be rewritten piece by piece.
  const entries = [...new URLSearchParams(query)];
  const pieces = query.split('&');
  let redactions = 0;
  let entry = 0;
  for (let i = 0; i < pieces.length; i += 1) {
    const piece = pieces[i]!;
    if (piece === '') continue;
    const [key, value] = entries[entry]!;
    entry += 1;
    const stat = names.get(key.toLowerCase()) ?? (key.endsWith('[]') ? names.get(key.slice(0, -2).toLowerCase()) : undefined);
    if (stat === undefined) {
      add(params, key, value);
      continue;
    }
    stat.matches += 1;
    redactions += 1;
    const equals = piece.indexOf('=');
    pieces[i] = `${equals === -1 ? piece : piece.slice(0, equals)}=${REDACTED}`;
    setOwn(params, key, [REDACTED]);
  }
  if (redactions === 0) return { url, params, redactions };
  const rebuilt = `${url.slice(0, q + 1)}${pieces.join('&')}${hash === -1 ? '' : url.slice(hash)}`;
  return { url: rebuilt, params, redactions };
}

function add(params: Record<string, string[]>, key: string, value: string): void {
  const list = Object.hasOwn(params, key) ? params[key]! : setOwn(params, key, [] as string[]);
  list.push(value);
}
