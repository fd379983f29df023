/**
 * Redaction: hides header values and JSONPath-selected body values before a record leaves the
 * process (wire-format §4). Everything that can fail is compiled and validated once by
 * `compileRedactor()`; the per-request methods only walk data that is already in memory.
 */
import { jsonpath, type JSONValue } from 'json-p3';
import { OptionsInvalidError, RedactPathInvalidError } from './errors.js';
import { compileSplice, spliceJson, type SplicePlan, type SpliceRule } from './json-splice.js';
import { setOwn } from './own.js';
import { REDACTED } from './record.js';

/** The redaction lists of `new APIToolkit()`; every list is optional. */
export interface RedactOptions {
  /** Header names (any casing) to redact, in addition to {@link ALWAYS_REDACTED_HEADERS}. */
  redactHeaders?: readonly string[];
  /** JSONPath expressions applied to request bodies only. */
  redactRequestBody?: readonly string[];
  /** JSONPath expressions applied to response bodies only. */
  redactResponseBody?: readonly string[];
}

/** Headers as node gives them: `req.headersDistinct`, `req.headers`, `res.getHeaders()`. */
export type HeaderInput = Record<string, string | readonly string[] | number | undefined>;

/** The outcome of redacting one body. */
export interface BodyRedaction {
  /** The bytes to record: the input itself when nothing had to change. */
  body: Buffer;
  /** How many values were replaced by the marker. */
  redactions: number;
  /**
   * `true` when the rules could not be applied (the body claimed to be JSON but did not parse, or
   * was too deep to evaluate), so the whole body was replaced by the JSON string `"[CLIENT_REDACTED]"`.
   */
  unparsable: boolean;
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
  /** Applies the `redactRequestBody` rules (never the response rules). */
  requestBody(body: Buffer, contentType: string | undefined): BodyRedaction;
  /** Applies the `redactResponseBody` rules (never the request rules). */
  responseBody(body: Buffer, contentType: string | undefined): BodyRedaction;
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
 * Headers that are redacted whatever the options say: they carry credentials.
 *
 * @example
 * ALWAYS_REDACTED_HEADERS.includes('cookie'); // true
 */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'cookie',
  'set-cookie',
  'proxy-authorization',
]);

// The default of json-p3 (50) is shallower than real payloads; past this depth the rules cannot be
// evaluated and the body is withheld. Much deeper and the evaluator would exhaust the call stack.
const MAX_RECURSION_DEPTH = 1024;

type Query = jsonpath.JSONPathQuery;
/**
 * A compiled rule; how it is applied ({@link Plan}); and, when it has them, its needles: the member
 * names of one of its name-only segments, one of which any JSON body it can match must contain as
 * a JSON string. A body without them skips the rule unread.
 */
interface Rule {
  readonly query: Query;
  readonly plan: Plan;
  readonly needles: readonly string[] | null;
  /** Mutable inside the frozen rule: counts what the rule matched, for {@link Redactor.ruleMatches}. */
  readonly stat: MatchStat;
}
/**
 * The rules of one option, one search for the needles of them all (null when none has any), and,
 * when every rule is a `members` or `descendant` plan, their byte-splicing form (see json-splice.ts).
 */
interface RuleSet {
  readonly rules: readonly Rule[];
  readonly scan: RegExp | null;
  readonly splice: SplicePlan | null;
}
/**
 * The two rule shapes users write most are applied by a direct walk of the parsed body, which
 * selects the same nodes in the same order as json-p3 (checked against it by a property test);
 * every other rule is evaluated by json-p3.
 * - `members`: `$.a.b` (names only), at most one node and no recursion;
 * - `descendant`: `$..a`, every member `a` at any depth, under json-p3's recursion limit;
 * - `query`: the rest (wildcards, indexes, filters, several selectors, `$` alone).
 */
type Plan =
  | { readonly kind: 'members'; readonly names: readonly string[] }
  | { readonly kind: 'descendant'; readonly name: string }
  | { readonly kind: 'query' };
interface MatchStat {
  readonly option: string;
  readonly rule: string;
  matches: number;
}
type Environment = jsonpath.JSONPathEnvironment;
type BodyKind = 'json' | 'form' | 'multipart' | 'unknown' | 'other';
type BodyOption = 'redactRequestBody' | 'redactResponseBody';
type FormFields = Record<string, string | string[]>;

// Sentinel for "JSON.parse failed": every JSON value, including null, is a valid parse result.
const NOT_JSON: unique symbol = Symbol('not-json');
// A parsed body and its text (for the needles), or NOT_JSON.
type ParsedJson = { readonly value: JSONValue; readonly text: string } | typeof NOT_JSON;
// The JSON text a value was parsed from, and the needle search of the rules applied to it.
interface JsonSource {
  readonly text: string;
  readonly scan: RegExp | null;
}

/**
 * Rewrites the JSONPath dialect found in older docs into strict RFC 9535, leaving valid parts as
 * they are: adds a missing leading `$`, and bracket-quotes dot-notation names that are not valid
 * member-name shorthand (`-`, leading digits, punctuation). Bracketed segments and filters are
 * copied untouched. The result still has to be compiled; this function never throws.
 *
 * @example
 * normalizeJsonPath('$.credit-card.cvv');     // "$['credit-card'].cvv"
 * normalizeJsonPath('user.books[*].author');  // "$.user.books[*].author"
 * normalizeJsonPath('$.a.0');                 // "$.a['0']"
 */
export function normalizeJsonPath(path: string): string {
  const source = withRoot(path.trim());
  if (source === '') return source; // nothing to anchor; the compiler rejects it
  let out = '$';
  let i = 1;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '[') {
      const end = bracketEnd(source, i);
      out += source.slice(i, end);
      i = end;
    } else if (ch === '.') {
      const [text, end] = dotSegment(source, i);
      out += text;
      i = end;
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}

function withRoot(path: string): string {
  if (path === '' || path[0] === '$') return path;
  // `.a` and `['a']` are relative to the root; a bare `a.b` is a member name.
  return path[0] === '.' || path[0] === '[' ? `$${path}` : `$.${path}`;
}

/** Returns the RFC 9535 form of the `.name` / `..name` segment at `dot`, and where it ends. */
function dotSegment(source: string, dot: number): [string, number] {
  const descendant = source[dot + 1] === '.';
  const start = dot + (descendant ? 2 : 1);
  const prefix = descendant ? '..' : '';
  const first = source[start];
  if (first === "'" || first === '"') {
    // `."x.y"`: the quotes protect the dot, as they would in brackets.
    const end = quoteEnd(source, start);
    return [`${prefix}[${source.slice(start, end)}]`, end];
  }
  const end = nameEnd(source, start);
  const name = source.slice(start, end);
  // Nothing to rewrite (`.*`, a valid name, or an empty name the compiler will report).
  if (name === '' || name === '*' || isMemberNameShorthand(name)) return [source.slice(dot, end), end];
  return [`${prefix}[${quoteName(name)}]`, end];
}

function nameEnd(source: string, start: number): number {
  let i = start;
  while (i < source.length && !isNameTerminator(source[i] as string)) i += 1;
  return i;
}

// Whitespace ends a name because RFC 9535 allows it between segments (`$.a .b`).
function isNameTerminator(ch: string): boolean {
  return ch === '.' || ch === '[' || ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

/** Index just past the `]` matching the `[` at `open`, skipping quoted strings and nested brackets. */
function bracketEnd(source: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < source.length) {
    const ch = source[i];
    if (ch === "'" || ch === '"') {
      i = quoteEnd(source, i);
      continue;
    }
    if (ch === '[') depth += 1;
    else if (ch === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  return source.length; // unterminated: let the compiler report it
}

/** Index just past the quote closing the string that starts at `open`, honouring `\` escapes. */
function quoteEnd(source: string, open: number): number {
  const quote = source[open];
  for (let i = open + 1; i < source.length; i += 1) {
    if (source[i] === '\\') i += 1;
    else if (source[i] === quote) return i + 1;
  }
  return source.length;
}

/** RFC 9535 member-name-shorthand: name-first (ALPHA / "_" / non-ASCII) then name-chars (+ DIGIT). */
function isMemberNameShorthand(name: string): boolean {
  for (let i = 0; i < name.length; i += 1) {
    const code = name.charCodeAt(i);
    const alpha = (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
    const digit = code >= 0x30 && code <= 0x39;
    if (!(alpha || code === 0x5f || code >= 0x80 || (digit && i > 0))) return false;
  }
  return name.length > 0;
}

/** A single-quoted RFC 9535 name selector for `name`. */
function quoteName(name: string): string {
  let out = "'";
  for (const ch of name) out += escapeNameChar(ch);
  return `${out}'`;
}

function escapeNameChar(ch: string): string {
  switch (ch) {
    case "'": return "\\'";
    case '\\': return '\\\\';
    case '\b': return '\\b';
    case '\f': return '\\f';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    default: {
      const code = ch.charCodeAt(0);
      return code < 0x20 ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
    }
  }
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
    throw new OptionsInvalidError('options', `expected an object, got ${describe(options)}`);
  }
  // One environment per redactor: it carries our recursion limit without touching json-p3's default.
  const environment = new jsonpath.JSONPathEnvironment({ maxRecursionDepth: MAX_RECURSION_DEPTH });
  const how = { walks: internal.walks ?? true, needles: internal.needles ?? true, splice: internal.splice ?? true };
  return new CompiledRedactor(
    headerNames(options.redactHeaders),
    compileRules('redactRequestBody', options.redactRequestBody, environment, how),
    compileRules('redactResponseBody', options.redactResponseBody, environment, how),
  );
}

/** Lower-cased names to redact, each with the match counter of the user's rule (null for a default). */
function headerNames(value: unknown): ReadonlyMap<string, MatchStat | null> {
  const names = new Map<string, MatchStat | null>(ALWAYS_REDACTED_HEADERS.map((name) => [name, null]));
  stringList('redactHeaders', value).forEach((name, i) => {
    const lower = name.trim().toLowerCase();
    if (lower === '') throw new OptionsInvalidError(`redactHeaders[${i}]`, 'expected a header name, got ""');
    if (!names.has(lower)) names.set(lower, { option: `redactHeaders[${i}]`, rule: name, matches: 0 });
  });
  return names;
}

function compileRules(option: BodyOption, value: unknown, environment: Environment, how: { walks: boolean; needles: boolean; splice: boolean }): RuleSet {
  const rules = new Map<string, Rule>();
  stringList(option, value).forEach((path, i) => {
    const name = `${option}[${i}]`;
    if (path.trim() === '') throw new RedactPathInvalidError(name, path, 'the path is empty');
    const normalized = normalizeJsonPath(path);
    // Identical rules would only re-walk the same body.
    if (rules.has(normalized)) return;
    const query = compilePath(environment, name, path, normalized);
    const plan = how.walks ? planOf(query) : QUERY_PLAN;
    // No needles for a member chain: walking it costs less than searching the text.
    const needles = plan.kind === 'members' || !how.needles ? null : needlesOf(query);
    rules.set(normalized, Object.freeze({ query, plan, needles, stat: { option: name, rule: path, matches: 0 } }));
  });
  const list = Object.freeze([...rules.values()]);
  return Object.freeze({ rules: list, scan: needleScan(list), splice: how.splice ? splicePlan(list) : null });
}

/** The byte-splicing form of `rules` when each one is a member chain or a descendant name, else null. */
function splicePlan(rules: readonly Rule[]): SplicePlan | null {
  const plans: SpliceRule[] = [];
  for (const { plan } of rules) {
    if (plan.kind === 'query') return null;
    plans.push(plan);
  }
  return compileSplice(plans, REDACTED, MAX_RECURSION_DEPTH);
}

/**
 * A rule can only select something under a member whose name one of its name-only segments lists
 * (`$.user.password` needs a "password" key, `$..token` a "token" key). Such a key appears in the
 * body's text as its JSON string, unless it was written with `\u` escapes (checked per body) or
 * holds characters JSON may write in more than one way (then: no needles, always evaluate). The
 * text is the body decoded: a name that holds U+FFFD also matches bytes that decode to it.
 */
function needlesOf(query: Query): readonly string[] | null {
  for (let i = query.segments.length - 1; i >= 0; i -= 1) {
    const names = query.segments[i]!.selectors.map(nameOf);
    if (names.length === 0 || !names.every((n): n is string => n !== undefined)) continue;
    if (!names.every(hasOneJsonSpelling)) return null;
    return Object.freeze(names);
  }
  return null;
}

/**
 * One regular expression that finds the needles of all `rules` in a JSON text in one pass, so the
 * cost does not grow with the number of rules: `"`, one of the names, then `"`. The closing quote
 * is looked at but not consumed, so it can open the next match (`{"a":"b"}` holds `"a"` and `":"`);
 * as no needle contains a quote, a match ends at the next quote and no occurrence is skipped.
 */
function needleScan(rules: readonly Rule[]): RegExp | null {
  const names = new Set<string>();
  for (const rule of rules) for (const name of rule.needles ?? []) names.add(name);
  if (names.size === 0) return null;
  const alternatives = [...names].map((name) => name.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));
  return new RegExp(`"(${alternatives.join('|')})(?=")`, 'g');
}

/** The needles present in `text`. */
function needlesFound(text: string, scan: RegExp): Set<string> {
  const found = new Set<string>();
  scan.lastIndex = 0;
  for (let match = scan.exec(text); match !== null; match = scan.exec(text)) found.add(match[1]!);
  return found;
}

/** The member name a selector selects, when it is a name selector (`.a`, `['a']`). */
function nameOf(selector: jsonpath.JSONPathSelector): string | undefined {
  return selector instanceof jsonpath.selectors.NameSelector ? selector.name : undefined;
}

const QUERY_PLAN: Plan = Object.freeze({ kind: 'query' });

/** How a compiled rule is applied: see {@link Plan}. */
function planOf(query: Query): Plan {
  const segments = query.segments;
  const names = segments.map((segment) => (segment.selectors.length === 1 ? nameOf(segment.selectors[0]!) : undefined));
  if (names.length === 0 || !names.every((n): n is string => n !== undefined)) return QUERY_PLAN;
  // One name per segment: child segments only make a singular query; a lone segment that does not
  // is the descendant segment (RFC 9535 has no third kind).
  if (query.singularQuery()) return Object.freeze({ kind: 'members', names: Object.freeze(names) });
  if (segments.length === 1 && segments[0]!.toString().startsWith('..')) return Object.freeze({ kind: 'descendant', name: names[0]! });
  return QUERY_PLAN;
}

function hasOneJsonSpelling(name: string): boolean {
  // `"`, `\`, `/` and control characters have several escaped spellings; lone surrogates none in UTF-8.
  return !/["\\/\u0000-\u001f\ud800-\udfff]/.test(name);
}

function compilePath(environment: Environment, name: string, path: string, normalized: string): Query {
  try {
    return environment.compile(normalized);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const reason = normalized === path ? message : `${message}; read as ${normalized}`;
    throw new RedactPathInvalidError(name, path, reason, { cause: error });
  }
}

function stringList(option: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new OptionsInvalidError(option, `expected an array of strings, got ${describe(value)}`);
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string') throw new OptionsInvalidError(`${option}[${i}]`, `expected a string, got ${describe(item)}`);
  });
  return value as readonly string[];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

class CompiledRedactor implements Redactor {
  readonly hasRequestBodyRules: boolean;
  readonly hasResponseBodyRules: boolean;
  readonly #headerNames: ReadonlyMap<string, MatchStat | null>;
  readonly #requestRules: RuleSet;
  readonly #responseRules: RuleSet;

  constructor(headerNames: ReadonlyMap<string, MatchStat | null>, requestRules: RuleSet, responseRules: RuleSet) {
    this.#headerNames = headerNames;
    this.#requestRules = requestRules;
    this.#responseRules = responseRules;
    this.hasRequestBodyRules = requestRules.rules.length > 0;
    this.hasResponseBodyRules = responseRules.rules.length > 0;
    Object.freeze(this);
  }

  headers(headers: HeaderInput): { headers: Record<string, string[]>; redactions: number } {
    const out: Record<string, string[]> = {};
    let redactions = 0;
    for (const key of Object.keys(headers)) {
      const value = headers[key];
      if (value === undefined) continue;
      const name = key.toLowerCase();
      // Always a fresh array: later changes to the caller's arrays cannot reach a queued record.
      const values = Array.isArray(value) ? value.map(String) : [String(value)];
      const hide = values.length > 0 && this.#headerNames.has(name);
      if (hide) {
        redactions += values.length;
        const stat = this.#headerNames.get(name);
        if (stat) stat.matches += values.length;
      }
      setOwn(out, name, hide ? [REDACTED] : values);
    }
    return { headers: out, redactions };
  }

  requestBody(body: Buffer, contentType: string | undefined): BodyRedaction {
    return redactBody(body, contentType, this.#requestRules);
  }

  responseBody(body: Buffer, contentType: string | undefined): BodyRedaction {
    return redactBody(body, contentType, this.#responseRules);
  }

  ruleMatches(): RuleMatches[] {
    const stats: MatchStat[] = [];
    for (const stat of this.#headerNames.values()) if (stat !== null) stats.push(stat);
    for (const rule of [...this.#requestRules.rules, ...this.#responseRules.rules]) stats.push(rule.stat);
    return stats.map(({ option, rule, matches }) => ({ option, rule, matches }));
  }
}

function redactBody(body: Buffer, contentType: string | undefined, { rules, scan, splice }: RuleSet): BodyRedaction {
  // An empty body has nothing to hide and is recorded as "" rather than as `{}` or a marker.
  if (body.length === 0) return unchanged(body);
  const kind = bodyKind(contentType);
  if (kind === 'form') {
    const fields = formFields(body);
    return serialise(redactValue(fields, rules, undefined));
  }
  if (kind === 'multipart') return redactMultipart(body, contentType!, rules);
  if (rules.length === 0 || kind === 'other') return unchanged(body);
  if (kind === 'unknown' && !startsLikeJson(body)) return unchanged(body);
  // Whether the scanner already read this body and gave up: the check below would give up too.
  let scannerGaveUp = false;
  if (splice !== null) {
    // The same selections and counts as below, on the bytes; null when the scanner was not sure
    // of something (invalid JSON included), and then the general path decides as it always did.
    const spliced = spliceJson(body, splice);
    scannerGaveUp = spliced === null;
    if (spliced !== null) {
      for (let i = 0; i < rules.length; i += 1) rules[i]!.stat.matches += spliced.matches[i]!;
      return { body: spliced.body, redactions: spliced.redactions, unparsable: false };
    }
  }
  // Parsed even when no rule can match: a body that claims JSON and is not gets withheld.
  const parsed = parseJson(body);
  // Only a body that claimed to be JSON is withheld; a sniffed one was never JSON to begin with.
  if (parsed === NOT_JSON) return kind === 'json' ? withheld() : unchanged(body);
  const result = redactValue(parsed.value, rules, { text: parsed.text, scan });
  // Nothing matched: the original bytes, exactly as sent (no re-serialisation, no lost precision),
  // when JSON.parse saw every value they hold. With a member name repeated in an object it kept only
  // the last one, and an earlier copy, which the rules never saw, could hold what they select
  // (`{"card":{"cvv":"123"},"card":"x"}` under `$.card.cvv`): the parsed value is recorded then.
  // The check is the splice scanner with no rule; it also gives up on member names written with
  // escapes or non-ASCII bytes (`"c\u0061rd"` repeats `"card"`), and those bodies are re-serialised too.
  // A body the splice scanner gave up on is not read twice.
  if (result.redactions === 0 && result.value !== WITHHELD && !scannerGaveUp && spliceJson(body, EVERY_MEMBER_SEEN) !== null) return unchanged(body);
  return serialise(result);
}

/** The scanner without rules: null unless the text is valid JSON with plain member names, none repeated in an object. */
const EVERY_MEMBER_SEEN: SplicePlan = compileSplice([], REDACTED, MAX_RECURSION_DEPTH)!;

// Sentinel for "the rules could not be evaluated": the body must be withheld.
const WITHHELD: unique symbol = Symbol('withheld');

function serialise(result: { value: JSONValue | typeof WITHHELD; redactions: number }): BodyRedaction {
  if (result.value === WITHHELD) return withheld();
  try {
    return { body: Buffer.from(JSON.stringify(result.value), 'utf8'), redactions: result.redactions, unparsable: false };
  } catch {
    // Too deep for JSON.stringify: fail closed rather than leak.
    return withheld();
  }
}

function bodyKind(contentType: string | undefined): BodyKind {
  if (contentType === undefined) return 'unknown';
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (type === '') return 'unknown';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'multipart/form-data') return 'multipart';
  return 'other';
}

function startsLikeJson(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b; // `{` or `[`
  }
  return false;
}

function parseJson(body: Buffer): ParsedJson {
  const text = body.toString('utf8');
  try {
    // A UTF-8 byte order mark is legal in the wild but not to JSON.parse.
    return { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as JSONValue, text };
  } catch {
    return NOT_JSON;
  }
}

/** The fields of a form body; a repeated key keeps all its values, in order. */
function formFields(body: Buffer): FormFields {
  const fields: FormFields = {};
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    const previous = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (previous === undefined) setOwn(fields, key, value);
    else if (Array.isArray(previous)) previous.push(value);
    else setOwn(fields, key, [previous, value]);
  }
  return fields;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** One part of a multipart body, as found in the bytes. */
interface Part {
  /** The raw header block (without the blank line that ends it). */
  readonly head: Buffer;
  readonly content: Buffer;
  /** The body ended before this part did (cut at maxBodyBytes). */
  readonly incomplete: boolean;
  readonly name: string | undefined;
  /** Set for a file: what the placeholder says it was. */
  readonly fileType: string | undefined;
}

/**
 * `multipart/form-data`: text fields are kept (and redacted by the same JSONPath rules as a form,
 * as a JSON object of their values), while each file part's bytes become a placeholder naming its
 * content type and size, `[FILE image/png 12345 bytes]`. The body is written back as multipart with
 * the same boundary and part headers (preamble and epilogue dropped). A part cut at maxBodyBytes is
 * kept as far as it goes (a file's placeholder then says `(cut)`); a part without a name or whose
 * headers were cut is replaced whole.
 */
function redactMultipart(body: Buffer, contentType: string, rules: readonly Rule[]): BodyRedaction {
  const boundary = boundaryOf(contentType);
  const parts = boundary === undefined ? undefined : multipartParts(body, boundary);
  // Not multipart at all (no boundary, or not one delimiter in the bytes): no form parser would
  // read fields or files from it either, so it is left as it is, like any other non-JSON body.
  if (boundary === undefined || parts === undefined) return unchanged(body);

  // Text values by field name, in order; a repeated name becomes an array, as in a form.
  const fields: FormFields = {};
  const texts: string[] = [];
  for (const part of parts) {
    if (part.fileType !== undefined || part.name === undefined) continue;
    const text = part.content.toString('utf8');
    texts.push(text);
    const previous = Object.hasOwn(fields, part.name) ? fields[part.name] : undefined;
    if (previous === undefined) setOwn(fields, part.name, text);
    else if (Array.isArray(previous)) previous.push(text);
    else setOwn(fields, part.name, [previous, text]);
  }
  let redacted: JSONValue = fields;
  let redactions = 0;
  if (rules.length > 0 && texts.length > 0) {
    const result = redactValue(fields, rules, undefined);
    if (result.value === WITHHELD) return withheld();
    redacted = result.value;
    redactions = result.redactions;
  }

  const seen = new Map<string, number>();
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const out: Buffer[] = [];
  for (const part of parts) {
    let content: Buffer;
    if (part.fileType !== undefined) {
      const size = `${part.content.length} bytes${part.incomplete ? ' (cut)' : ''}`;
      content = Buffer.from(`[FILE ${part.fileType} ${size}]`, 'utf8');
    } else if (part.name === undefined) {
      // A part that is not a form field (no name): nothing says what it holds, so keep nothing.
      content = Buffer.from(REDACTED, 'utf8');
    } else {
      const index = seen.get(part.name) ?? 0;
      seen.set(part.name, index + 1);
      content = Buffer.from(fieldValue(redacted, part.name, index) ?? REDACTED, 'utf8');
    }
    out.push(delimiter, CRLF);
    if (part.head.length > 0) out.push(part.head, CRLF);
    out.push(CRLF, content, CRLF);
  }
  out.push(delimiter, Buffer.from('--\r\n'));
  return { body: Buffer.concat(out), redactions, unparsable: false };
}

/** The text the rules left for the `index`-th field called `name`, or undefined when it was redacted away. */
function fieldValue(redacted: JSONValue, name: string, index: number): string | undefined {
  if (typeof redacted !== 'object' || redacted === null || Array.isArray(redacted) || !Object.hasOwn(redacted, name)) return undefined;
  const value = redacted[name];
  const item = Array.isArray(value) ? value[index] : index === 0 ? value : undefined;
  // A whole list replaced by the marker redacts every part of that name.
  if (!Array.isArray(value) && value === REDACTED) return REDACTED;
  return typeof item === 'string' ? item : undefined;
}

/** The `boundary` parameter of a multipart content type (RFC 2046: 1-70 characters). */
function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return match === null ? undefined : (match[1] ?? match[2]);
}

/**
 * Splits a multipart body into its parts (RFC 2046 §5.1.1; preamble and epilogue are dropped).
 * Returns undefined when not even the first delimiter is there. A body cut short yields its last
 * part as `incomplete`.
 */
function multipartParts(body: Buffer, boundary: string): Part[] | undefined {
  const first = Buffer.from(`--${boundary}`, 'latin1');
  const next = Buffer.from(`\r\n--${boundary}`, 'latin1');
  let at = body.subarray(0, first.length).equals(first) ? 0 : body.indexOf(next);
  if (at === -1) return undefined;
  if (at > 0) at += 2; // past the CRLF that belongs to the delimiter
  const parts: Part[] = [];
  for (;;) {
    let cursor = at + first.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) break; // "--": the close delimiter
    // The rest of the delimiter line (transport padding) up to its CRLF.
    const lineEnd = body.indexOf(CRLF, cursor);
    if (lineEnd === -1) break; // cut inside a delimiter line: no part follows
    cursor = lineEnd + 2;
    const headEnd = body.indexOf(HEADER_END, cursor - 2);
    const end = body.indexOf(next, cursor);
    if (headEnd === -1 || (end !== -1 && headEnd > end)) {
      // Cut inside the headers (or a part with none): what there is says nothing safe to keep.
      const head = body.subarray(cursor, end === -1 ? body.length : end);
      parts.push({ head: Buffer.alloc(0), content: head, incomplete: end === -1, name: undefined, fileType: 'application/octet-stream' });
      if (end === -1) break;
      at = end + 2;
      continue;
    }
    const head = headEnd < cursor ? Buffer.alloc(0) : body.subarray(cursor, headEnd);
    const contentStart = headEnd + 4;
    const content = body.subarray(contentStart, end === -1 ? body.length : end);
    parts.push({ head, content, incomplete: end === -1, ...describePart(head.toString('utf8')) });
    if (end === -1) break;
    at = end + 2;
  }
  return parts;
}

/** The field name of a part and, when it is a file, its type. */
function describePart(head: string): { name: string | undefined; fileType: string | undefined } {
  let disposition = '';
  let type: string | undefined;
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-disposition') disposition = value;
    else if (key === 'content-type') type = value;
  }
  const params = new Map<string, string>();
  for (const m of disposition.matchAll(/;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim());
  }
  const mediaType = type?.split(';')[0]!.trim().toLowerCase();
  // A file: it says so (filename), or it carries something other than text (RFC 7578 §4.4: text/plain is the default).
  const isFile = params.has('filename') || params.has('filename*') || (mediaType !== undefined && mediaType !== '' && mediaType !== 'text/plain');
  const fileType = isFile ? (type === undefined || type === '' ? 'application/octet-stream' : type.replace(/[\s\]]+/g, ' ').trim()) : undefined;
  return { name: params.get('name'), fileType };
}

/**
 * Applies every rule in turn to `root` (in place) and counts the replacements. `source` is the
 * JSON body `root` was parsed from: a rule whose needles it lacks cannot match and is skipped unread.
 */
function redactValue(root: JSONValue, rules: readonly Rule[], source: JsonSource | undefined): { value: JSONValue | typeof WITHHELD; redactions: number } {
  let current = root;
  let redactions = 0;
  // The needles in the text, searched once, when a rule first needs them; null when the text spells
  // some string with `\u` escapes (a name may then be there without its needle).
  let found: ReadonlySet<string> | null | undefined;
  try {
    for (const rule of rules) {
      const plan = rule.plan;
      if (plan.kind === 'members') {
        redactions += redactMembers(current, plan.names, rule.stat);
        continue;
      }
      if (source !== undefined && source.scan !== null && rule.needles !== null) {
        found ??= source.text.includes('\\u') ? null : needlesFound(source.text, source.scan);
        if (found !== null && !rule.needles.some((needle) => found!.has(needle))) continue;
      }
      if (plan.kind === 'descendant') {
        redactions += redactDescendants(current, plan.name, rule.stat);
        continue;
      }
      // query() collects every node before we mutate; a lazy iterator would see our changes mid-walk.
      const nodes = rule.query.query(current);
      rule.stat.matches += nodes.length;
      for (const node of nodes) {
        if (node.location.length === 0) {
          if (current !== REDACTED) redactions += 1;
          current = REDACTED;
        } else if (replaceAt(current, node.location)) {
          redactions += 1;
        }
      }
    }
    return { value: current, redactions };
  } catch {
    // Too deep for the evaluator: fail closed rather than leak.
    return { value: WITHHELD, redactions: 0 };
  }
}

/**
 * `$.a.b`: replaces the one value the member chain leads to, as json-p3 would select it (own
 * members of objects only, never array elements or inherited members); counts it as a match even
 * when it already holds the marker. Returns the number of replacements (0 or 1).
 */
function redactMembers(root: JSONValue, names: readonly string[], stat: MatchStat): number {
  let parent = root;
  const last = names.length - 1;
  for (let i = 0; i < last; i += 1) {
    const child = ownMember(parent, names[i]!);
    if (child === undefined) return 0;
    parent = child;
  }
  const value = ownMember(parent, names[last]!);
  if (value === undefined) return 0;
  stat.matches += 1;
  if (value === REDACTED) return 0;
  setOwn(parent as object, names[last]!, REDACTED);
  return 1;
}

/** The own member `name` of an object (not an array), or undefined. */
function ownMember(value: JSONValue, name: string): JSONValue | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
  return value[name];
}

/** What one `$..name` walk has found so far; added to the rule's stat only if the walk completes. */
interface DescendantWalk {
  readonly name: string;
  matches: number;
  redactions: number;
}

/**
 * `$..name`: replaces every own member `name` at any depth in one walk, with json-p3's results.
 * json-p3 first lists the matches (a member when its object is visited, before the object's
 * children; objects and arrays in document order) and then replaces them in that order, so a
 * match inside a value already replaced is counted but not replaced: here the original value is
 * walked "detached". json-p3 throws when any node (scalars too) lies {@link MAX_RECURSION_DEPTH}
 * levels down; so does this walk, before anything is counted. Returns the replacements.
 */
function redactDescendants(root: JSONValue, name: string, stat: MatchStat): number {
  const walk: DescendantWalk = { name, matches: 0, redactions: 0 };
  visit(root, 1, true, walk);
  stat.matches += walk.matches;
  return walk.redactions;
}

/** One node of {@link redactDescendants} at `depth` (the root is 1); `attached`: reachable from the root. */
function visit(value: JSONValue, depth: number, attached: boolean, walk: DescendantWalk): void {
  if (depth >= MAX_RECURSION_DEPTH) throw new RangeError(`redaction: nesting deeper than ${MAX_RECURSION_DEPTH - 1} levels`);
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) visit(value[i]!, depth + 1, attached, walk);
    return;
  }
  const name = walk.name;
  let replaced: JSONValue | typeof NOTHING = NOTHING;
  if (Object.hasOwn(value, name)) {
    walk.matches += 1;
    const original = value[name]!;
    if (attached && original !== REDACTED) {
      setOwn(value, name, REDACTED);
      walk.redactions += 1;
      replaced = original;
    }
  }
  for (const key of Object.keys(value)) {
    if (replaced !== NOTHING && key === name) visit(replaced, depth + 1, false, walk);
    else visit(value[key]!, depth + 1, attached, walk);
  }
}

// Sentinel for "no member was replaced here" (any JSON value, null included, can be replaced).
const NOTHING: unique symbol = Symbol('nothing');

/**
 * Replaces the value at `location` by the marker. Returns false when the location no longer
 * resolves (an ancestor was replaced by an earlier match) or already holds the marker, so a value
 * matched by two rules is counted once.
 */
function replaceAt(root: JSONValue, location: readonly (string | number)[]): boolean {
  let parent: JSONValue = root;
  for (let i = 0; i < location.length - 1; i += 1) {
    const child = memberOf(parent, location[i] as string | number);
    if (child === undefined) return false;
    parent = child;
  }
  const key = location[location.length - 1] as string | number;
  const value = memberOf(parent, key);
  if (value === undefined || value === REDACTED) return false;
  if (Array.isArray(parent)) parent[key as number] = REDACTED;
  else setOwn(parent as object, key as string, REDACTED);
  return true;
}

/** The own member `key` of a container, or undefined; never reads through the prototype chain. */
function memberOf(container: JSONValue, key: string | number): JSONValue | undefined {
  if (typeof container !== 'object' || container === null) return undefined;
  if (Array.isArray(container)) {
    return typeof key === 'number' && key >= 0 && key < container.length ? container[key] : undefined;
  }
  return typeof key === 'string' && Object.hasOwn(container, key) ? container[key] : undefined;
}


function unchanged(body: Buffer): BodyRedaction {
  return { body, redactions: 0, unparsable: false };
}

function withheld(): BodyRedaction {
  // A fresh Buffer each time: Buffers are mutable and must not be shared between records.
  return { body: Buffer.from(JSON.stringify(REDACTED), 'utf8'), redactions: 1, unparsable: true };
}
