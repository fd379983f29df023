/**
 * Redaction rules: the JSONPath dialect users write, normalised to RFC 9535 and compiled once with
 * json-p3; how each compiled rule is applied (a direct walk, json-p3, or the byte splice); and the
 * member names a body must contain for a rule to match at all (its needles).
 */
import { jsonpath } from 'json-p3';
import { describeValue } from '../describe.js';
import { OptionsInvalidError, RedactPathInvalidError } from '../errors.js';
import { REDACTED } from '../record.js';
import { keyPath, PUSH } from './forms.js';
import { compileSplice, type SplicePlan, type SpliceRule } from './json-splice.js';

// The default of json-p3 (50) is shallower than real payloads; past this depth the rules cannot be
// evaluated and the body is withheld. Much deeper and the evaluator would exhaust the call stack.
export const MAX_RECURSION_DEPTH = 1024;

export type Query = jsonpath.JSONPathQuery;
/**
 * A compiled rule; how it is applied ({@link Plan}); and, when it has them, its needles: the member
 * names of one of its name-only segments, one of which any JSON body it can match must contain as
 * a JSON string. A body without them skips the rule unread.
 */
export interface Rule {
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
export interface RuleSet {
  readonly rules: readonly Rule[];
  readonly scan: RegExp | null;
  readonly splice: SplicePlan | null;
  /** For form fields: each rule that names a bracketed field (`$['user[password]']`), and its twin on the nested view (`$.user.password`). */
  readonly twins: readonly { readonly rule: number; readonly twin: Rule }[];
}

/**
 * The two rule shapes users write most are applied by a direct walk of the parsed body, which
 * selects the same nodes in the same order as json-p3 (checked against it by a property test);
 * every other rule is evaluated by json-p3.
 * - `members`: `$.a.b` (names only), at most one node and no recursion;
 * - `descendant`: `$..a`, every member `a` at any depth, under json-p3's recursion limit;
 * - `query`: the rest (wildcards, indexes, filters, several selectors, `$` alone).
 */
export type Plan =
  | { readonly kind: 'members'; readonly names: readonly string[] }
  | { readonly kind: 'descendant'; readonly name: string }
  | { readonly kind: 'query' };
export interface MatchStat {
  readonly option: string;
  readonly rule: string;
  matches: number;
}

export type Environment = jsonpath.JSONPathEnvironment;
export type BodyOption = 'redactRequestBody' | 'redactResponseBody';
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
  const source = withRoot(trimBlanks(path));
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

/**
 * `path` without the blanks RFC 9535 knows (space, tab, LF, CR) around it. Not `trim()`: that also
 * takes away U+00A0, U+FEFF and the like, which are valid member-name characters.
 */
function trimBlanks(path: string): string {
  return path.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
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
    case "'":
      return "\\'";
    case '\\':
      return '\\\\';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default: {
      const code = ch.charCodeAt(0);
      return code < 0x20 ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
    }
  }
}

export function compileRules(
  option: BodyOption,
  value: unknown,
  environment: Environment,
  how: { walks: boolean; needles: boolean; splice: boolean },
): RuleSet {
  const rules = new Map<string, Rule>();
  stringList(option, value).forEach((path, i) => {
    const name = `${option}[${i}]`;
    if (trimBlanks(path) === '') throw new RedactPathInvalidError(name, path, 'the path is empty');
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
  const twins: { rule: number; twin: Rule }[] = [];
  list.forEach((rule, i) => {
    const twin = twinOf(rule.query);
    if (twin === null) return;
    const query = compilePath(environment, rule.stat.option, rule.stat.rule, twin);
    twins.push(
      Object.freeze({
        rule: i,
        twin: Object.freeze({ query, plan: how.walks ? planOf(query) : QUERY_PLAN, needles: null, stat: { ...rule.stat, matches: 0 } }),
      }),
    );
  });
  return Object.freeze({ rules: list, scan: needleScan(list), splice: how.splice ? splicePlan(list) : null, twins: Object.freeze(twins) });
}

/**
 * The twin of a rule that names a bracketed form field, for the nested view of forms: each segment
 * that selects one such name (`['user[password]']`, `..['items[0][card]']`, `['tags[]']`) written as
 * the steps the nesting parsers read from it (`['user']['password']`, `..['items'][0]['card']`,
 * `['tags']`). Null when no segment does. See forms.ts.
 */
function twinOf(query: Query): string | null {
  let changed = false;
  let out = '$';
  for (const segment of query.segments) {
    const only = segment.selectors.length === 1 ? nameOf(segment.selectors[0]!) : undefined;
    const steps = only === undefined || !only.includes('[') ? null : keyPath(only);
    if (steps === null) {
      out += segment.toString();
      continue;
    }
    changed = true;
    out += segment.toString().startsWith('..') ? '..' : '';
    for (const step of steps) {
      if (step === PUSH) break;
      out += typeof step === 'number' ? `[${step}]` : `[${quoteName(step)}]`;
    }
  }
  return changed ? out : null;
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
export function needlesFound(text: string, scan: RegExp): Set<string> {
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
  const { text, controls } = controlEscapesAside(normalized);
  try {
    const query = environment.compile(text);
    if (controls !== null) restoreControls(query, controls);
    return query;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const reason = normalized === path ? message : `${message}; read as ${normalized}`;
    throw new RedactPathInvalidError(name, path, reason, { cause: error });
  }
}

/**
 * json-p3 (2.3.1) refuses the `\u0000`-`\u001f` escapes RFC 9535 allows in string literals
 * (`$['a\u0001b']`, and `\u0009` for a tab): its unescaping rejects every code point below 0x20.
 * Each such escape is written instead as the escape of a private-use character that occurs nowhere
 * in the path, and the compiled names and string literals get the control characters back
 * ({@link restoreControls}). `controls` maps each stand-in to its control character; null when the
 * path has no such escape.
 */
function controlEscapesAside(path: string): { text: string; controls: Map<string, string> | null } {
  if (!/\\u00[01]/i.test(path)) return { text: path, controls: null };
  // 32 stand-ins from a private-use block none of whose characters the path holds, as itself or escaped.
  const held = new Set<number>();
  for (let i = 0; i < path.length; i += 1) held.add(path.charCodeAt(i));
  for (const m of path.matchAll(/\\u([0-9a-f]{4})/gi)) held.add(Number.parseInt(m[1]!, 16));
  let base = 0xe000;
  while (base < 0xf8e0 && [...held].some((code) => code >= base && code < base + 0x20)) base += 0x20;
  const controls = new Map<string, string>();
  let text = '';
  let quote: string | null = null;
  for (let i = 0; i < path.length; i += 1) {
    const ch = path[i]!;
    if (quote === null) {
      if (ch === "'" || ch === '"') quote = ch;
      text += ch;
      continue;
    }
    if (ch === quote) quote = null;
    if (ch !== '\\') {
      text += ch;
      continue;
    }
    const escaped = path.slice(i, i + 6);
    const code = /^\\u[0-9a-f]{4}$/i.test(escaped) ? Number.parseInt(escaped.slice(2), 16) : -1;
    if (code >= 0 && code < 0x20) {
      const standIn = String.fromCharCode(base + code);
      controls.set(standIn, String.fromCharCode(code));
      text += `\\u${(base + code).toString(16)}`;
      i += 5;
    } else {
      // Any other escape is copied whole, so an escaped quote does not end the string.
      text += path.slice(i, i + 2);
      i += 1;
    }
  }
  return { text, controls };
}

/** Puts the control characters back into every name selector and string literal of `query`. */
function restoreControls(query: Query, controls: ReadonlyMap<string, string>): void {
  const restore = (value: string): string => [...value].map((ch) => controls.get(ch) ?? ch).join('');
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (node instanceof jsonpath.selectors.NameSelector) (node as { name: string }).name = restore(node.name);
    else if (node instanceof jsonpath.expressions.StringLiteral) (node as { value: string }).value = restore(node.value);
    for (const [key, child] of Object.entries(node)) if (key !== 'environment' && key !== 'token') visit(child);
  };
  visit(query);
}

export function stringList(option: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new OptionsInvalidError(option, `expected an array of strings, got ${describeValue(value)}`);
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string') throw new OptionsInvalidError(`${option}[${i}]`, `expected a string, got ${describeValue(item)}`);
  });
  return value as readonly string[];
}
