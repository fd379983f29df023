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

/** Where a rule's matches are counted: its stat, or a slot of a caller's array. */
type Tally = MatchStat | { readonly index: number; readonly counts: number[] };

function count(tally: Tally, n: number): void {
  if ('matches' in tally) tally.matches += n;
  else tally.counts[tally.index]! += n;
}

/** Where a node is: the member names and array indexes from the root (json-p3's `location`). */
export type Location = readonly (string | number)[];

/**
 * Every node each rule selects in `root` as it is (no rule sees what another one hides), with each
 * rule's match count added to its stat (or, given `counts`, to counts[i] for rules[i]); WITHHELD
 * when the value is too deep to evaluate. `source` is the JSON text `root` was parsed from: a rule
 * whose needles it lacks cannot match and is skipped unread. `root` is not changed.
 */
export function selectNodes(
  root: JSONValue,
  rules: readonly Rule[],
  source: JsonSource | undefined,
  counts?: number[],
): Location[] | typeof WITHHELD {
  const selected: Location[] = [];
  // The needles in the text, searched once, when a rule first needs them; null when the text spells
  // some string with `\u` escapes (a name may then be there without its needle).
  let found: ReadonlySet<string> | null | undefined;
  try {
    for (let r = 0; r < rules.length; r += 1) {
      const rule = rules[r]!;
      const plan = rule.plan;
      const stat: Tally = counts === undefined ? rule.stat : { index: r, counts };
      if (plan.kind === 'members') {
        selectMembers(root, plan.names, stat, selected);
        continue;
      }
      if (source !== undefined && source.scan !== null && rule.needles !== null) {
        found ??= source.text.includes('\\u') ? null : needlesFound(source.text, source.scan);
        if (found !== null && !rule.needles.some((needle) => found!.has(needle))) continue;
      }
      if (plan.kind === 'descendant') {
        selectDescendants(root, plan.name, stat, selected);
        continue;
      }
      const nodes = rule.query.query(root);
      count(stat, nodes.length);
      for (const node of nodes) selected.push(node.location);
    }
    return selected;
  } catch {
    // Too deep for the evaluator: fail closed rather than leak.
    return WITHHELD;
  }
}

/**
 * Replaces every selected node by the marker, outermost first (a node inside one already replaced
 * is gone with it), in place; counts the values replaced (a node selected twice, or already holding
 * the marker, is not counted again). Returns the new root (the marker when the root was selected).
 */
export function replaceNodes(root: JSONValue, selected: readonly Location[]): { value: JSONValue; redactions: number } {
  if (selected.length === 0) return { value: root, redactions: 0 };
  // Outermost first: a stable sort by depth keeps document order within a level.
  const ordered = selected.length === 1 ? selected : [...selected].sort((a, b) => a.length - b.length);
  if (ordered[0]!.length === 0) return { value: REDACTED, redactions: root === REDACTED ? 0 : 1 };
  let redactions = 0;
  for (const location of ordered) if (replaceAt(root, location)) redactions += 1;
  return { value: root, redactions };
}

/**
 * Applies every rule to `root` (in place): the union of what each selects in the value as received
 * is replaced by the marker. See {@link selectNodes} and {@link replaceNodes}.
 */
export function redactValue(
  root: JSONValue,
  rules: readonly Rule[],
  source: JsonSource | undefined,
): { value: JSONValue | typeof WITHHELD; redactions: number } {
  const selected = selectNodes(root, rules, source);
  if (selected === WITHHELD) return { value: WITHHELD, redactions: 0 };
  return replaceNodes(root, selected);
}

/**
 * `$.a.b`: the one value the member chain leads to, as json-p3 selects it (own members of objects
 * only, never array elements or inherited members).
 */
function selectMembers(root: JSONValue, names: readonly string[], stat: Tally, selected: Location[]): void {
  let value = root;
  for (const name of names) {
    const child = ownMember(value, name);
    if (child === undefined) return;
    value = child;
  }
  count(stat, 1);
  selected.push(names);
}

/** The own member `name` of an object (not an array), or undefined. */
function ownMember(value: JSONValue, name: string): JSONValue | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
  return value[name];
}

/**
 * `$..name`: every own member `name` at any depth, in one walk, with json-p3's results: a member
 * when its object is visited, before the object's children; objects and arrays in document order.
 * json-p3 throws when any node (scalars too) lies {@link MAX_RECURSION_DEPTH} levels down; so does
 * this walk, before anything is counted or selected.
 */
function selectDescendants(root: JSONValue, name: string, stat: Tally, selected: Location[]): void {
  const found: Location[] = [];
  visit(root, [], name, found);
  count(stat, found.length);
  for (const location of found) selected.push(location);
}

/** One node of {@link selectDescendants}; `path` is its location (the root's is empty). */
function visit(value: JSONValue, path: (string | number)[], name: string, found: Location[]): void {
  if (path.length + 1 >= MAX_RECURSION_DEPTH) throw new RangeError(`redaction: nesting deeper than ${MAX_RECURSION_DEPTH - 1} levels`);
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      path.push(i);
      visit(value[i]!, path, name, found);
      path.pop();
    }
    return;
  }
  if (Object.hasOwn(value, name)) found.push([...path, name]);
  for (const key of Object.keys(value)) {
    path.push(key);
    visit(value[key]!, path, name, found);
    path.pop();
  }
}

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
