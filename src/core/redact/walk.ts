/**
 * Rules applied to a parsed value (a JSON body, a form's fields): `$.a.b` and `$..a` by direct
 * walks, every other rule by json-p3.
 */
import type { JSONValue } from 'json-p3';
import { setOwn } from '../own.js';
import { REDACTED } from '../record.js';
import { WITHHELD } from './body.js';
import { MAX_RECURSION_DEPTH, needlesFound, type MatchStat, type Rule } from './rules.js';

// The JSON text a value was parsed from, and the needle search of the rules applied to it.
export interface JsonSource {
  readonly text: string;
  readonly scan: RegExp | null;
}

/**
 * Applies every rule in turn to `root` (in place) and counts the replacements. `source` is the
 * JSON body `root` was parsed from: a rule whose needles it lacks cannot match and is skipped unread.
 */
export function redactValue(root: JSONValue, rules: readonly Rule[], source: JsonSource | undefined): { value: JSONValue | typeof WITHHELD; redactions: number } {
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

