/**
 * Generators for the redaction property tests: random JSON documents, random redaction rules in
 * the JSONPath forms users write, and an oracle, independent of the SDK and of json-p3, that says
 * which values each rule selects. Secrets are planted exactly there; everything else is a unique
 * public string whose survival can be checked.
 */
import fc from 'fast-check';

/** One step of a rule: how users spell it is decided separately, by {@link renderRule}. */
export type Segment =
  | { kind: 'name'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'descendant'; name: string };

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Member names that break naive JSONPath handling: `-`, `.`, quotes, `__proto__`, unicode, blanks. */
export const TRICKY_KEYS = [
  'a',
  'b',
  'user',
  'password',
  'token',
  'credit-card',
  'cvv',
  'odd.name',
  "it's",
  'say "hi"',
  '__proto__',
  'constructor',
  'ключ',
  '名前',
  '🔑',
  'with space',
  '0lead',
  '-dash',
  'a-b-c',
  'x_y',
  '$dollar',
  'back\\slash',
  '',
  '*',
  '[x]',
  'tab\there',
  'ctl\u0001',
  'a,b',
  '@at',
  '?q',
  'ümlaut',
  'é',
  '\u00a0',
];

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TRICKY_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 5, unit: 'grapheme' }) },
);

/** An object whose members are own properties, `__proto__` included (as JSON.parse makes them). */
export function objectOf(entries: [string, Json][]): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  return out;
}

/**
 * A JSON document whose string leaves are unique public markers `pub<n>z` (numbers, booleans and
 * null in between). Unique markers are assigned after generation by {@link labelPublic}.
 */
export const documentArb: fc.Arbitrary<Json> = fc
  .letrec<{ node: Json; leaf: Json }>((tie) => ({
    leaf: fc.oneof(
      { weight: 5, arbitrary: fc.constant('PUBLIC') },
      { weight: 1, arbitrary: fc.integer() },
      { weight: 1, arbitrary: fc.boolean() },
      { weight: 1, arbitrary: fc.constant(null) },
    ),
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 3, arbitrary: tie('leaf') },
      { weight: 2, arbitrary: fc.array(fc.tuple(keyArb, tie('node')), { maxLength: 5 }).map(objectOf) },
      { weight: 1, arbitrary: fc.array(tie('node'), { maxLength: 4 }) },
    ),
  }))
  .node.map((doc) =>
    objectOf([
      ['user', { password: 'PUBLIC', items: [{ card: 'PUBLIC' }] } as Json],
      ['data', doc],
    ]),
  );

/** Replaces every 'PUBLIC' leaf by a unique public marker; returns the markers. */
export function labelPublic(doc: Json): { doc: Json; publics: string[] } {
  const publics: string[] = [];
  const walk = (node: Json): Json => {
    if (node === 'PUBLIC') {
      const label = `pub${publics.length}z`;
      publics.push(label);
      return label;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return objectOf(Object.keys(node).map((k) => [k, walk(node[k]!)]));
    return node;
  };
  return { doc: walk(doc), publics };
}

export const segmentArb: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 5, arbitrary: keyArb.map((name): Segment => ({ kind: 'name', name })) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 2, -1).map((index): Segment => ({ kind: 'index', index })) },
  { weight: 2, arbitrary: fc.constant<Segment>({ kind: 'wildcard' }) },
  { weight: 2, arbitrary: keyArb.map((name): Segment => ({ kind: 'descendant', name })) },
);

/** How a rule is spelled: every choice is one users make. */
export interface Spelling {
  /** Write the leading `$` (it is optional when the rule starts with a name). */
  dollar: boolean;
  /** Per segment: prefer dot notation where the name allows it. */
  dots: boolean[];
  /** Per segment: quote bracketed names with `"` instead of `'`. */
  doubleQuotes: boolean[];
  /** Per wildcard: `.*` instead of `[*]`. */
  dotStar: boolean[];
}

export const ruleArb = fc.record({
  segments: fc.array(segmentArb, { minLength: 1, maxLength: 4 }),
  spelling: fc.record({
    dollar: fc.boolean(),
    dots: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    doubleQuotes: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    dotStar: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  }),
});

export type RuleCase = { segments: Segment[]; spelling: Spelling };

// What the SDK documents as usable in dot notation: anything up to the next `.`, `[` or blank that
// is not a wildcard, a quote or empty (`$.credit-card.cvv`, `$.0lead`).
function dottable(name: string): boolean {
  return name !== '' && name !== '*' && !/[.[\]\s'"]/.test(name) && !/[\u0000-\u001f\ud800-\udfff]/.test(name);
}

const SHORT_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\b': '\\b', '\f': '\\f' };

function quote(name: string, double: boolean): string {
  const q = double ? '"' : "'";
  let out = q;
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    // Control characters: the short escapes users write (`\t`) in single quotes, the `\u0009` form
    // RFC 9535 also allows in double quotes (json-p3 2.3.1 refuses that form; the SDK works around it).
    else if (SHORT_ESCAPES[ch] !== undefined && !double) out += SHORT_ESCAPES[ch];
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}${q}`;
}

/** The rule as a user would write it. */
export function renderRule({ segments, spelling }: RuleCase): string {
  let out = '';
  segments.forEach((segment, i) => {
    const dot = spelling.dots[i] ?? false;
    const dq = spelling.doubleQuotes[i] ?? false;
    switch (segment.kind) {
      case 'name':
        out += dot && dottable(segment.name) ? `.${segment.name}` : `[${quote(segment.name, dq)}]`;
        break;
      case 'descendant':
        out += dot && dottable(segment.name) ? `..${segment.name}` : `..[${quote(segment.name, dq)}]`;
        break;
      case 'index':
        out += `[${segment.index}]`;
        break;
      case 'wildcard':
        out += spelling.dotStar[i] ? '.*' : '[*]';
        break;
    }
  });
  // Without `$`, a leading `.name` is written bare (`user.password`), as the README shows; a bare
  // name that itself starts with `$` would read as the root, so it keeps its `$.`.
  const first = segments[0]!;
  if (spelling.dollar || (first.kind === 'name' && first.name.startsWith('$'))) return `$${out}`;
  return out.startsWith('.') && !out.startsWith('..') ? out.slice(1) : out;
}

type Location = (string | number)[];

/** Every location the rule selects in `doc`, per RFC 9535, by a walk that shares no code with the SDK. */
export function select(doc: Json, segments: Segment[]): Location[] {
  let current: { value: Json; at: Location }[] = [{ value: doc, at: [] }];
  for (const segment of segments) {
    const next: { value: Json; at: Location }[] = [];
    for (const node of current) {
      if (segment.kind === 'descendant') {
        for (const inner of selfAndDescendants(node)) {
          if (isObject(inner.value) && Object.hasOwn(inner.value, segment.name)) {
            next.push({ value: inner.value[segment.name]!, at: [...inner.at, segment.name] });
          }
        }
      } else {
        next.push(...children(node, segment));
      }
    }
    current = next;
  }
  return current.map((n) => n.at);
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function children(node: { value: Json; at: Location }, segment: Segment): { value: Json; at: Location }[] {
  const { value, at } = node;
  if (segment.kind === 'name')
    return isObject(value) && Object.hasOwn(value, segment.name) ? [{ value: value[segment.name]!, at: [...at, segment.name] }] : [];
  if (segment.kind === 'index') {
    if (!Array.isArray(value)) return [];
    const i = segment.index < 0 ? value.length + segment.index : segment.index;
    return i >= 0 && i < value.length ? [{ value: value[i]!, at: [...at, i] }] : [];
  }
  if (segment.kind === 'wildcard') {
    if (Array.isArray(value)) return value.map((v, i) => ({ value: v, at: [...at, i] }));
    if (isObject(value)) return Object.keys(value).map((k) => ({ value: value[k]!, at: [...at, k] }));
  }
  return [];
}

function selfAndDescendants(node: { value: Json; at: Location }): { value: Json; at: Location }[] {
  const out = [node];
  for (let i = 0; i < out.length; i++) out.push(...children(out[i]!, { kind: 'wildcard' }));
  return out;
}

/** Replaces the value at each location (outermost first) by a fresh secret; returns the secrets. */
export function plantSecrets(doc: Json, locations: Location[], nextSecret: () => string): { doc: Json; secrets: string[] } {
  const secrets: string[] = [];
  // Outermost first: a location inside one already replaced no longer exists.
  const sorted = [...locations].sort((a, b) => a.length - b.length);
  let root = doc;
  for (const location of sorted) {
    if (location.length === 0) {
      root = nextSecret();
      secrets.push(root);
      continue;
    }
    let parent: Json = root;
    let ok = true;
    for (const key of location.slice(0, -1)) {
      const child: Json | undefined = Array.isArray(parent)
        ? parent[key as number]
        : isObject(parent) && Object.hasOwn(parent, key as string)
          ? parent[key as string]
          : undefined;
      if (child === undefined || typeof child !== 'object' || child === null) {
        ok = false;
        break;
      }
      parent = child;
    }
    const last = location[location.length - 1]!;
    if (!ok) continue;
    if (Array.isArray(parent) && typeof last === 'number' && last < parent.length) {
      const secret = nextSecret();
      parent[last] = secret;
      secrets.push(secret);
    } else if (isObject(parent) && typeof last === 'string' && Object.hasOwn(parent, last)) {
      const secret = nextSecret();
      Object.defineProperty(parent, last, { value: secret, writable: true, enumerable: true, configurable: true });
      secrets.push(secret);
    }
  }
  return { doc: root, secrets };
}

/** Every string leaf of `doc`. */
export function stringLeaves(doc: Json): string[] {
  if (typeof doc === 'string') return [doc];
  if (Array.isArray(doc)) return doc.flatMap(stringLeaves);
  if (isObject(doc)) return Object.keys(doc).flatMap((k) => stringLeaves(doc[k]!));
  return [];
}

/**
 * The forms a secret could take in a message: as itself and base64-encoded at each of the three
 * alignments (the middle of its base64, which does not depend on the neighbouring bytes).
 */
export function secretForms(secret: string): string[] {
  const forms = [secret];
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.from(`${'\0'.repeat(shift)}${secret}`).toString('base64');
    const start = Math.ceil(shift / 3) * 4 + 4;
    forms.push(b64.slice(start, b64.length - 8));
  }
  return forms.filter((f) => f.length >= 8);
}

type Step = { key: string } | { index: number; length: number };

/** Every path from the root to a node of `doc`, with array lengths (for negative indexes). */
function pathsOf(doc: Json): Step[][] {
  const out: Step[][] = [];
  const walk = (node: Json, path: Step[]): void => {
    if (path.length > 0) out.push(path);
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, [...path, { index: i, length: node.length }]));
    else if (isObject(node)) for (const k of Object.keys(node)) walk(node[k]!, [...path, { key: k }]);
  };
  walk(doc, []);
  return out;
}

/**
 * Rules aimed at `doc`: the path to one of its nodes, each step then written as users generalise
 * it (a name, `..name`, `*`, an index from either end). Random rules alone would rarely match.
 */
export function rulesAimedAt(doc: Json): fc.Arbitrary<RuleCase> {
  const paths = pathsOf(doc);
  if (paths.length === 0) return ruleArb;
  return fc
    .record({
      path: fc.constantFrom(...paths),
      prefix: fc.integer({ min: 1, max: 6 }),
      picks: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 6, maxLength: 6 }),
      spelling: ruleArb.map((r) => r.spelling),
    })
    .map(({ path, prefix, picks, spelling }) => {
      const segments = path.slice(0, Math.min(prefix, path.length)).map((step, i): Segment => {
        const pick = picks[i] ?? 0;
        if ('key' in step) {
          if (pick < 6) return { kind: 'name', name: step.key };
          return pick < 8 ? { kind: 'descendant', name: step.key } : { kind: 'wildcard' };
        }
        if (pick < 5) return { kind: 'index', index: step.index };
        return pick < 7 ? { kind: 'index', index: step.index - step.length } : { kind: 'wildcard' };
      });
      return { segments, spelling };
    });
}
