/**
 * Redaction: hides header values and JSONPath-selected body values before a record leaves the
 * process (wire-format §4). Everything that can fail is compiled and validated once by
 * `compileRedactor()`; the per-request methods only walk data that is already in memory.
 */
import { gunzipSync } from 'node:zlib';
import { jsonpath } from 'json-p3';
import { describeValue } from '../describe.js';
import { OptionsInvalidError } from '../errors.js';
import { DEFAULT_MAX_BODY_BYTES } from '../options.js';
import { unchanged, withheld, type BodyRedaction } from './body.js';
import { redactForm } from './forms.js';
import { headerNames, redactHeaders, type HeaderInput } from './headers.js';
import { redactJson, startsLikeJson } from './json.js';
import { redactMultipart } from './multipart.js';
import { queryNames, redactQuery, type QueryNames, type QueryRedaction } from './query.js';
import { compileRules, MAX_RECURSION_DEPTH, type MatchStat, type RuleSet } from './rules.js';

export type { BodyRedaction } from './body.js';
export type { QueryRedaction } from './query.js';
export { ALWAYS_REDACTED_HEADERS, type HeaderInput } from './headers.js';
export { normalizeJsonPath } from './rules.js';

/** The redaction lists of `new APIToolkit()`; every list is optional. */
export interface RedactOptions {
  /** Header names (any casing) to redact, in addition to {@link ALWAYS_REDACTED_HEADERS}. */
  redactHeaders?: readonly string[];
  /** JSONPath expressions applied to request bodies only. */
  redactRequestBody?: readonly string[];
  /** JSONPath expressions applied to response bodies only. */
  redactResponseBody?: readonly string[];
  /** Query parameter names (any casing) whose values are redacted in every URL of a record. */
  redactQueryParams?: readonly string[];
  /** The most a compressed body may decode to (a gzip body with no content type); default 1 MiB. */
  maxBodyBytes?: number;
}

/** A compiled set of redaction rules; build it once with {@link compileRedactor}. */
export interface Redactor {
  readonly hasRequestBodyRules: boolean;
  readonly hasResponseBodyRules: boolean;
  /**
   * Returns a NEW object with the wire format's shape (lower-case names, every value an array of
   * strings) from node's header shapes; each matched header's values become one marker.
   * `redactions` counts the header values that were replaced.
   */
  headers(headers: HeaderInput): { headers: Record<string, string[]>; redactions: number };
  /**
   * True when the header `name` (lower case) is redacted: a record field copied from it (`host`)
   * must be hidden too.
   */
  hidesHeader(name: string): boolean;
  /**
   * The query parameters of `url` (a path with its query, or a whole URL) in the wire format's
   * shape, and the URL itself, with the values of the `redactQueryParams` names redacted in both.
   */
  query(url: string): QueryRedaction;
  /**
   * Applies the `redactRequestBody` rules (never the response rules). `parsed`: `body` is the JSON
   * of what the app's body parser made of the body, not the bytes received (`contentType` is still
   * the one it came with, so a parsed form is read as a form).
   */
  requestBody(body: Buffer, contentType: string | undefined, parsed?: boolean): BodyRedaction;
  /** Applies the `redactResponseBody` rules (never the request rules). */
  responseBody(body: Buffer, contentType: string | undefined, parsed?: boolean): BodyRedaction;
  /**
   * How often each rule the user gave has matched so far, in option order (a repeated rule is
   * listed once). A rule that never matches is most often a typo: see the debug-mode self-check.
   */
  ruleMatches(): RuleMatches[];
}

/** One user-given redaction rule and how many values it has matched so far. */
export interface RuleMatches {
  /** Where the rule was given, e.g. `redactRequestBody[1]` or `redactHeaders[0]`. */
  readonly option: string;
  /** The rule as written: a JSONPath or a header name. */
  readonly rule: string;
  /** Values (body nodes, header occurrences) it has matched. */
  readonly matches: number;
}

/**
 * Validates and compiles the redaction options once. Throws `OptionsInvalidError` for a list that is
 * not an array of strings, and `RedactPathInvalidError` for a JSONPath that cannot be compiled even
 * after {@link normalizeJsonPath}, naming the offending entry (e.g. `redactRequestBody[1]`).
 *
 * @example
 * const redactor = compileRedactor({ redactHeaders: ['X-Api-Key'], redactRequestBody: ['$.credit-card.cvv'] });
 * redactor.requestBody(Buffer.from('{"credit-card":{"cvv":"123"}}'), 'application/json').body.toString();
 * // '{"credit-card":{"cvv":"[CLIENT_REDACTED]"}}'
 *
 * `internal` is for tests only: `walks: false` evaluates every rule with json-p3 (the reference the
 * direct walks of `$.a.b` and `$..a` rules are compared against), `needles: false` every rule on
 * every JSON body, `splice: false` parses every JSON body instead of splicing its bytes.
 */
export function compileRedactor(options: RedactOptions, internal: { walks?: boolean; needles?: boolean; splice?: boolean } = {}): Redactor {
  if (typeof options !== 'object' || options === null) {
    throw new OptionsInvalidError('options', `expected an object, got ${describeValue(options)}`);
  }
  // One environment per redactor: it carries our recursion limit without touching json-p3's default.
  const environment = new jsonpath.JSONPathEnvironment({ maxRecursionDepth: MAX_RECURSION_DEPTH });
  const how = { walks: internal.walks ?? true, needles: internal.needles ?? true, splice: internal.splice ?? true };
  const max = options.maxBodyBytes;
  return new CompiledRedactor(
    headerNames(options.redactHeaders),
    queryNames(options.redactQueryParams),
    compileRules('redactRequestBody', options.redactRequestBody, environment, how),
    compileRules('redactResponseBody', options.redactResponseBody, environment, how),
    typeof max === 'number' && Number.isInteger(max) && max >= 0 ? max : DEFAULT_MAX_BODY_BYTES,
  );
}

class CompiledRedactor implements Redactor {
  readonly hasRequestBodyRules: boolean;
  readonly hasResponseBodyRules: boolean;
  readonly #headerNames: ReadonlyMap<string, MatchStat | null>;
  readonly #queryNames: QueryNames;
  readonly #requestRules: RuleSet;
  readonly #responseRules: RuleSet;
  readonly #maxBodyBytes: number;

  constructor(
    headerNames: ReadonlyMap<string, MatchStat | null>,
    queryNames: QueryNames,
    requestRules: RuleSet,
    responseRules: RuleSet,
    maxBodyBytes: number,
  ) {
    this.#headerNames = headerNames;
    this.#queryNames = queryNames;
    this.#requestRules = requestRules;
    this.#responseRules = responseRules;
    this.#maxBodyBytes = maxBodyBytes;
    this.hasRequestBodyRules = requestRules.rules.length > 0;
    this.hasResponseBodyRules = responseRules.rules.length > 0;
    Object.freeze(this);
  }

  headers(headers: HeaderInput): { headers: Record<string, string[]>; redactions: number } {
    return redactHeaders(this.#headerNames, this.#queryNames, headers);
  }

  hidesHeader(name: string): boolean {
    return this.#headerNames.has(name);
  }

  query(url: string): QueryRedaction {
    return redactQuery(this.#queryNames, url);
  }

  requestBody(body: Buffer, contentType: string | undefined, parsed = false): BodyRedaction {
    return redactBody(body, contentType, this.#requestRules, parsed, this.#maxBodyBytes);
  }

  responseBody(body: Buffer, contentType: string | undefined, parsed = false): BodyRedaction {
    return redactBody(body, contentType, this.#responseRules, parsed, this.#maxBodyBytes);
  }

  ruleMatches(): RuleMatches[] {
    const stats: MatchStat[] = [];
    for (const stat of this.#headerNames.values()) if (stat !== null) stats.push(stat);
    for (const stat of this.#queryNames.values()) stats.push(stat);
    for (const rule of [...this.#requestRules.rules, ...this.#responseRules.rules]) stats.push(rule.stat);
    return stats.map(({ option, rule, matches }) => ({ option, rule, matches }));
  }
}

/**
 * One body, by what its content type says it is:
 * - JSON (any `json` subtype, `+json`, `text/json`, `application/x-json`, NDJSON...): redacted as
 *   JSON, withheld when it does not parse;
 * - a form, multipart: their fields (forms.ts, multipart.ts);
 * - no content type, `text/plain`: JSON when it starts like JSON (after a byte order mark), then
 *   withheld when it does not parse (cut at maxBodyBytes, or not JSON after all); decoded first when
 *   it is gzip (by its magic bytes), withheld when it cannot be;
 * - anything else (HTML, XML, images...): recorded as it is.
 * A body with no rules to apply is recorded as it came (a form still as its JSON object).
 */
function redactBody(body: Buffer, contentType: string | undefined, rules: RuleSet, parsed: boolean, maxBodyBytes: number): BodyRedaction {
  // An empty body has nothing to hide and is recorded as "" rather than as `{}` or a marker.
  if (body.length === 0) return unchanged(body);
  const kind = bodyKind(contentType);
  const none = rules.rules.length === 0;
  if (kind === 'form' || (kind === 'multipart' && parsed)) {
    // A parsed form that is not an object after all is JSON like any parsed body.
    const form = redactForm(body, parsed, rules);
    if (form !== null) return form;
    return none ? unchanged(body) : redactJson(body, rules);
  }
  if (kind === 'multipart') return redactMultipart(body, contentType!, rules);
  if (none) return unchanged(body);
  if (kind === 'json' || parsed) return redactJson(body, rules);
  if (kind === 'other') return unchanged(body);
  return redactSniffed(body, rules, maxBodyBytes, true);
}

/** A body that may be JSON (see {@link redactBody}); `gzip`: it may still be compressed. */
function redactSniffed(body: Buffer, rules: RuleSet, maxBodyBytes: number, gzip: boolean): BodyRedaction {
  if (startsLikeJson(body)) return redactJson(body, rules);
  if (!(body[0] === 0x1f && body[1] === 0x8b)) return unchanged(body);
  // Compressed twice, or past the limit, or not gzip after all: nothing says what it holds.
  if (!gzip) return withheld();
  let decoded: Buffer;
  try {
    decoded = gunzipSync(body, { maxOutputLength: Math.max(maxBodyBytes, 1) });
  } catch {
    return withheld();
  }
  return decoded.length === 0 ? unchanged(decoded) : redactSniffed(decoded, rules, maxBodyBytes, false);
}

type BodyKind = 'json' | 'form' | 'multipart' | 'sniff' | 'other';

function bodyKind(contentType: string | undefined): BodyKind {
  if (contentType === undefined) return 'sniff';
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (type === '' || type === 'text/plain') return 'sniff';
  const slash = type.indexOf('/');
  // application/json, text/json, application/x-json, */*+json, application/x-ndjson, application/json-seq...
  if (slash !== -1 && type.slice(slash + 1).includes('json')) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'multipart/form-data') return 'multipart';
  return 'other';
}
