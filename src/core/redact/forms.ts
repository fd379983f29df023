/**
 * Form fields (`application/x-www-form-urlencoded` bodies, multipart text fields): redacted by the
 * same JSONPath rules as JSON, in every way an app may read them.
 *
 * An app reads `user[password]=x&tags[]=a` flat (`querystring`, `URLSearchParams`, Express 5's
 * default `express.urlencoded()`: `{"user[password]": "x", "tags[]": "a"}`) or nested (`qs`, Express
 * 4's default and `extended: true`, multer: `{"user": {"password": "x"}, "tags": ["a"]}`). A rule
 * written for either view must hold, so every rule is evaluated on both, and a rule naming a
 * bracketed key (`$['user[password]']`) also on the nested view under its nested name
 * (`$.user.password`: its twin, see rules.ts). What any of them selects is hidden. The record is the
 * nested view, as JSON.
 *
 * The nested view is the one qs builds with Express's options, for the field names whose nesting
 * every parser agrees on (see {@link keyPath}): a name, then at most five `[...]` groups, an array
 * index (0-19, indexes dense) or a member name in each, `[]` (append) last. For any other field
 * (`a[b]c`, `[a]`, `a[01]`, `a[][b]`, 6 levels, a field sent both as a value and as an object...)
 * the parsers disagree on where it lands: its value is hidden whenever the body has rules (it is
 * recorded under its name as sent, at the top level), together with every field sharing its
 * top-level name.
 */
import type { JSONValue } from 'json-p3';
import { setOwn } from '../own.js';
import { serialise, withheld, WITHHELD, type BodyRedaction } from './body.js';
import type { RuleSet } from './rules.js';
import { replaceNodes, selectNodes, type Location } from './walk.js';

/** One field: its name and value as a flat parser reads them, and whether the nested parsers may read its name otherwise. */
export interface Field {
  readonly key: string;
  readonly value: string;
  /** qs decodes the name differently (malformed percent-escapes, `]=` in the name): hidden whenever rules apply. */
  readonly odd?: boolean;
}

/** Appends a value to a field name: `[]` as the last group of a name. */
export const PUSH: unique symbol = Symbol('push');
/** One step of a nested field name: a member name, an array index, or append. */
export type KeyStep = string | number | typeof PUSH;

// qs (default options) nests at most 5 groups, and reads an index of 20 or more as a member name.
const MAX_GROUPS = 5;
const MAX_INDEX = 19;

/**
 * Where the nesting parsers (qs as Express runs it and with its own defaults, multer's append-field)
 * all put a field name: its top-level name, then one step per `[...]` group. Null when they may
 * disagree: no name before the first `[`, text after a `]` other than the next `[`, a `[` or `]`
 * inside a group, `[]` before the last group, more than {@link MAX_GROUPS} groups, an index with a
 * leading zero or above {@link MAX_INDEX}, or `__proto__` (which qs drops).
 *
 * @example
 * keyPath('user[password]'); // ['user', 'password']
 * keyPath('items[0][card]'); // ['items', 0, 'card']
 * keyPath('tags[]');         // ['tags', PUSH]
 * keyPath('a[b]c');          // null
 */
export function keyPath(key: string): KeyStep[] | null {
  const open = key.indexOf('[');
  const name = open === -1 ? key : key.slice(0, open);
  if (name === '' || name === '__proto__') return null;
  const steps: KeyStep[] = [name];
  let at = open;
  while (at !== -1 && at < key.length) {
    if (key[at] !== '[' || steps.length > MAX_GROUPS) return null;
    const close = key.indexOf(']', at + 1);
    if (close === -1) return null;
    const group = key.slice(at + 1, close);
    if (group.includes('[')) return null;
    if (group === '') {
      if (close + 1 !== key.length) return null;
      steps.push(PUSH);
    } else if (/^\d+$/.test(group)) {
      const index = Number(group);
      if (String(index) !== group || index > MAX_INDEX) return null;
      steps.push(index);
    } else {
      if (group === '__proto__') return null;
      steps.push(group);
    }
    at = close + 1;
  }
  return steps;
}

/**
 * The top-level name qs gives a field name (the text before the first `[`, or the first group when
 * there is none): fields that share it may be merged by a nested parser, so an odd one makes them
 * all odd.
 */
function topName(key: string): string {
  const open = key.indexOf('[');
  if (open > 0) return key.slice(0, open);
  if (open === -1) return key;
  const close = key.indexOf(']', open);
  return close === -1 ? key : key.slice(open + 1, close);
}

/**
 * The fields of a form body: pairs split and decoded as `URLSearchParams` does; each one marked
 * `odd` when qs would read another name from it (it first turns `%5B`/`%5D` into brackets, splits at
 * `]=` when there is one, and keeps a name whose percent-escapes do not decode as it was).
 */
function formBodyFields(body: Buffer): Field[] {
  const text = body.toString('utf8');
  const fields: Field[] = [];
  const parts = text.split('&');
  let i = 0;
  for (const [key, value] of new URLSearchParams(text)) {
    // URLSearchParams skips empty sequences; so does this walk, to stay aligned with it.
    while (parts[i] === '') i += 1;
    const part = parts[i++] ?? '';
    fields.push(qsName(part) === key ? { key, value } : { key, value, odd: true });
  }
  return fields;
}

/** The field name qs reads from one `&`-separated part of a form body. */
function qsName(part: string): string {
  const clean = part.replace(/%5B/gi, '[').replace(/%5D/gi, ']');
  const bracketEquals = clean.indexOf(']=');
  const end = bracketEquals === -1 ? clean.indexOf('=') : bracketEquals + 1;
  const raw = (end === -1 ? clean : clean.slice(0, end)).replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The fields of what a body parser made of a form (qs's nested objects, or a flat parser's object
 * of strings and arrays of strings), named so that nesting them again gives back the same object:
 * `{"user": {"password": "x"}, "tags": ["a"]}` -> `user[password]=x`, `tags[]=a`. A flat parser's
 * name that holds a `[` (`"tags[]": ["a", "b"]`) is repeated as it is. Null when the value is not an
 * object.
 */
function parsedFormFields(value: JSONValue): Field[] | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const fields: Field[] = [];
  for (const key of Object.keys(value)) {
    const item = value[key]!;
    if (Array.isArray(item) && key.includes('[') && item.every(isScalar)) {
      for (const element of item) fields.push({ key, value: scalarText(element) });
    } else {
      flatten(item, key, fields);
    }
  }
  return fields;
}

function flatten(value: JSONValue, name: string, fields: Field[]): void {
  if (isScalar(value)) {
    fields.push({ key: name, value: scalarText(value) });
  } else if (Array.isArray(value)) {
    if (value.every(isScalar)) for (const element of value) fields.push({ key: `${name}[]`, value: scalarText(element) });
    else value.forEach((element, i) => flatten(element, `${name}[${i}]`, fields));
  } else if (value !== undefined) {
    for (const key of Object.keys(value)) flatten(value[key]!, `${name}[${key}]`, fields);
  }
}

function isScalar(value: JSONValue): value is string | number | boolean | null | undefined {
  return value === null || typeof value !== 'object';
}

function scalarText(value: string | number | boolean | null | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}

/** A form read both ways, and where each field's value is in each. */
export interface FormView {
  readonly fields: readonly Field[];
  /** What a flat parser makes: name -> value, or the list of values of a repeated name. */
  readonly flat: JSONValue;
  readonly flatAt: readonly Location[];
  /** What qs makes, with each odd field under its name as sent at the top level. */
  readonly nested: JSONValue;
  readonly nestedAt: readonly Location[];
  /** Fields whose place the nesting parsers may disagree on. */
  readonly odd: readonly boolean[];
}

/** A node of the nested view while it is built. */
interface Slot {
  /** Fields whose value this is: one (a string), or several (a list). */
  values: number[];
  /** A name ends here as it is (`a`), or with `[]` (`a[]`): qs and multer order a mix of both differently. */
  plain: boolean;
  push: boolean;
  members: Map<string, Slot> | null;
  items: Map<number, Slot> | null;
}

function newSlot(): Slot {
  return { values: [], plain: false, push: false, members: null, items: null };
}

function child<K>(children: Map<K, Slot>, key: K): Slot {
  let slot = children.get(key);
  if (slot === undefined) {
    slot = newSlot();
    children.set(key, slot);
  }
  return slot;
}

/** Reads `fields` both ways; see {@link FormView}. */
export function formView(fields: readonly Field[]): FormView {
  // Flat: by name, in order.
  const byName = new Map<string, number[]>();
  for (let i = 0; i < fields.length; i += 1) {
    const list = byName.get(fields[i]!.key);
    if (list === undefined) byName.set(fields[i]!.key, [i]);
    else list.push(i);
  }
  const flat: Record<string, JSONValue> = {};
  const flatAt: Location[] = new Array<Location>(fields.length);
  for (const [key, list] of byName) {
    setOwn(flat, key, list.length === 1 ? fields[list[0]!]!.value : list.map((i) => fields[i]!.value));
    list.forEach((i, n) => (flatAt[i] = list.length === 1 ? [key] : [key, n]));
  }

  // Nested: the odd fields and every field sharing a top-level name with one stay flat.
  const paths = fields.map((field) => (field.odd === true ? null : keyPath(field.key)));
  const oddTops = new Set<string>();
  fields.forEach((field, i) => {
    if (paths[i] === null) oddTops.add(topName(field.key));
  });
  const root = new Map<string, Slot>();
  const order: (string | { literal: string })[] = [];
  for (const [key, list] of byName) {
    const path = paths[list[0]!]!;
    if (path === null || oddTops.has(topName(key))) {
      order.push({ literal: key });
      continue;
    }
    let top = root.get(path[0] as string);
    if (top === undefined) {
      top = newSlot();
      root.set(path[0] as string, top);
      order.push(path[0] as string);
    }
    let slot: Slot = top;
    let push = false;
    for (let s = 1; s < path.length; s += 1) {
      const step = path[s]!;
      if (step === PUSH) {
        push = true;
        break;
      }
      slot = typeof step === 'number' ? child((slot.items ??= new Map()), step) : child((slot.members ??= new Map()), step);
    }
    if (push) slot.push = true;
    else slot.plain = true;
    slot.values.push(...list);
  }

  const nested: Record<string, JSONValue> = {};
  const nestedAt: Location[] = new Array<Location>(fields.length);
  const odd: boolean[] = fields.map(() => false);
  const literal = (key: string): void => {
    const list = byName.get(key)!;
    setOwn(nested, key, list.length === 1 ? fields[list[0]!]!.value : list.map((i) => fields[i]!.value));
    list.forEach((i, n) => {
      nestedAt[i] = list.length === 1 ? [key] : [key, n];
      odd[i] = true;
    });
  };
  for (const entry of order) {
    if (typeof entry !== 'string') {
      literal(entry.literal);
      continue;
    }
    const built = build(root.get(entry)!, [entry], fields, nestedAt);
    if (built !== CONFLICT) {
      setOwn(nested, entry, built);
      continue;
    }
    // Shapes the parsers merge differently: every field under this name stays flat.
    for (const [key] of byName) if (paths[byName.get(key)![0]!]?.[0] === entry && !oddTops.has(topName(key))) literal(key);
  }
  return { fields, flat, flatAt, nested, nestedAt, odd };
}

// Returned by build() for a slot the nesting parsers would shape differently.
const CONFLICT: unique symbol = Symbol('conflict');

/**
 * The value of one slot, each field's location recorded in `at`; CONFLICT when two of a value, a
 * `[]` list, members and indexes meet, or indexes are not 0..n-1.
 */
function build(slot: Slot, path: (string | number)[], fields: readonly Field[], at: Location[]): JSONValue | typeof CONFLICT {
  const kinds = Number(slot.plain) + Number(slot.push) + Number(slot.members !== null) + Number(slot.items !== null);
  if (kinds !== 1) return CONFLICT;
  if (slot.push || slot.values.length > 1) {
    slot.values.forEach((i, n) => (at[i] = [...path, n]));
    return slot.values.map((i) => fields[i]!.value);
  }
  if (slot.values.length === 1) {
    at[slot.values[0]!] = [...path];
    return fields[slot.values[0]!]!.value;
  }
  if (slot.members !== null) {
    const out: Record<string, JSONValue> = {};
    for (const [name, child] of slot.members) {
      const value = build(child, [...path, name], fields, at);
      if (value === CONFLICT) return CONFLICT;
      setOwn(out, name, value);
    }
    return out;
  }
  const items = slot.items!;
  const out: JSONValue[] = [];
  for (let index = 0; index < items.size; index += 1) {
    const child = items.get(index);
    if (child === undefined) return CONFLICT;
    const value = build(child, [...path, index], fields, at);
    if (value === CONFLICT) return CONFLICT;
    out.push(value);
  }
  return out;
}

/** What the rules select in a form: the nested view with it hidden, and which fields it covers. */
export interface FormSelection {
  readonly value: JSONValue;
  readonly redactions: number;
  /** Per field: whether its value is hidden. */
  readonly hidden: readonly boolean[];
}

/**
 * Applies `rules` to both views of a form (and the twins of its bracketed names to the nested
 * one); WITHHELD when they cannot be evaluated. A rule's match count is what it selected in the view
 * where it selected more.
 */
export function selectInForm(view: FormView, { rules, twins }: RuleSet): FormSelection | typeof WITHHELD {
  const hidden = view.fields.map(() => false);
  if (rules.length === 0) return { value: view.nested, redactions: 0, hidden };
  const inNested = rules.map(() => 0);
  const inFlat = rules.map(() => 0);
  const byTwin = twins.map(() => 0);
  const nested = selectNodes(view.nested, rules, undefined, inNested);
  const twinned =
    twins.length === 0
      ? []
      : selectNodes(
          view.nested,
          twins.map((t) => t.twin),
          undefined,
          byTwin,
        );
  const flat = selectNodes(view.flat, rules, undefined, inFlat);
  if (nested === WITHHELD || twinned === WITHHELD || flat === WITHHELD) return WITHHELD;
  // A twin's matches count for the rule it was made from.
  twins.forEach((t, n) => (inNested[t.rule]! += byTwin[n]!));
  rules.forEach((rule, i) => (rule.stat.matches += Math.max(inNested[i]!, inFlat[i]!)));

  const selected = [...nested, ...twinned];
  mark(hidden, selected, view.nestedAt);
  const flatHidden = view.fields.map(() => false);
  mark(flatHidden, flat, view.flatAt);
  view.fields.forEach((_, i) => {
    // Fields found in the flat view, and those whose place is in doubt, are hidden where they are nested.
    if (flatHidden[i] || view.odd[i]) {
      hidden[i] = true;
      selected.push(view.nestedAt[i]!);
    }
  });
  // replaceNodes changes the value in place: the view is built for one body and not reused.
  const { value, redactions } = replaceNodes(view.nested, selected);
  return { value, redactions, hidden };
}

/** Sets hidden[i] for each field whose location lies at or under a selected one. */
function mark(hidden: boolean[], selected: readonly Location[], at: readonly Location[]): void {
  if (selected.length === 0) return;
  const keys = new Set(selected.map((location) => JSON.stringify(location)));
  at.forEach((location, i) => {
    for (let depth = 0; depth <= location.length && !hidden[i]; depth += 1) {
      if (keys.has(JSON.stringify(location.slice(0, depth)))) hidden[i] = true;
    }
  });
}

/**
 * A form body (or, `parsed`, the JSON of what a body parser made of one) as the JSON of its nested
 * view, redacted. A parsed value that is not an object is left to the caller (null).
 */
export function redactForm(body: Buffer, parsed: boolean, rules: RuleSet): BodyRedaction | null {
  let fields: Field[] | null;
  if (parsed) {
    let value: JSONValue;
    try {
      value = JSON.parse(body.toString('utf8')) as JSONValue;
    } catch {
      // Cut at maxBodyBytes, or not JSON at all: nothing says what it holds.
      return rules.rules.length > 0 ? withheld() : { body, redactions: 0, unparsable: false };
    }
    fields = parsedFormFields(value);
    if (fields === null) return null;
  } else {
    fields = formBodyFields(body);
  }
  const selection = selectInForm(formView(fields), rules);
  if (selection === WITHHELD) return withheld();
  return serialise(selection);
}
