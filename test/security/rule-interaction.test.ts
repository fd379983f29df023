/**
 * Rules are evaluated together, on the body as received: each rule of a list selects its nodes in
 * the original body, and the union is redacted once, so the order of the rules never matters. A
 * rule whose filter reads a value another rule redacts must still select what it selects alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REDACTED } from '../../src/core/record.js';
import { compileRedactor } from '../../src/core/redact/index.js';
import { objectOf, type Json } from '../helpers/redaction-cases.js';

const RUNS = Number(process.env.RULE_INTERACTION_RUNS ?? 2_000);

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

function redact(rules: string[], body: string, contentType: string, onRequest = true): { text: string; redactions: number } {
  const redactor = compileRedactor(onRequest ? { redactRequestBody: rules } : { redactResponseBody: rules });
  const result = onRequest ? redactor.requestBody(Buffer.from(body), contentType) : redactor.responseBody(Buffer.from(body), contentType);
  return { text: result.body.toString('utf8'), redactions: result.redactions };
}

describe('rules are evaluated together, on the body as received', () => {
  const users = JSON.stringify({
    users: [
      { name: 'ann', role: 'admin', password: 'hunter2SECRET' },
      { name: 'bob', role: 'user', password: 'bobpass' },
    ],
  });
  const payments = JSON.stringify({
    payment_methods: [
      { type: 'card', number: '4111111111111111' },
      { type: 'iban', number: 'DE00PUBLIC' },
    ],
  });
  const cases: { name: string; rules: string[]; body: string; secret: string; kept: string[] }[] = [
    {
      name: "the admin's password when the roles are redacted too",
      rules: ['$.users[*].role', "$.users[?@.role=='admin'].password"],
      body: users,
      secret: 'hunter2SECRET',
      kept: ['bobpass', 'ann'],
    },
    {
      name: 'the card number when every type is redacted too',
      rules: ['$..type', "$.payment_methods[?@.type=='card'].number"],
      body: payments,
      secret: '4111111111111111',
      kept: ['DE00PUBLIC'],
    },
  ];
  for (const { name, rules, body, secret, kept } of cases) {
    for (const order of [rules, [...rules].reverse()]) {
      for (const onRequest of [true, false]) {
        it(`${name}: ${JSON.stringify(order)} on the ${onRequest ? 'request' : 'response'}`, () => {
          const { text } = redact(order, body, JSON_TYPE, onRequest);
          assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
          for (const value of kept) assert.ok(text.includes(value), `${value} lost: ${text}`);
        });
      }
    }
  }

  it('the same output and count in either order, whatever the engine', () => {
    const body = JSON.stringify({ a: { b: { c: 1 }, d: 2 }, e: [{ b: 3 }] });
    for (const rules of [
      ['$.a', '$.a.b'],
      ['$..b', '$.a'],
      ['$.a.b', '$..c'],
      ['$..b', '$..c'],
    ]) {
      const one = redact(rules, body, JSON_TYPE);
      const other = redact([...rules].reverse(), body, JSON_TYPE);
      assert.deepEqual(one, other, JSON.stringify(rules));
    }
  });

  it('form bodies too', () => {
    const form = 'users[0][role]=admin&users[0][password]=hunter2SECRET&users[1][role]=user&users[1][password]=bobpass';
    for (const rules of [
      ['$.users[*].role', "$.users[?@.role=='admin'].password"],
      ["$.users[?@.role=='admin'].password", '$..role'],
    ]) {
      const { text } = redact(rules, form, FORM_TYPE);
      assert.ok(!text.includes('hunter2SECRET'), `leaked under ${JSON.stringify(rules)}: ${text}`);
      assert.ok(text.includes('bobpass'));
      assert.ok(text.includes(JSON.stringify(REDACTED)));
    }
  });

  it('a child rule still counts its match when a parent rule hides it (selection is on the original)', () => {
    const redactor = compileRedactor({ redactRequestBody: ['$.a', '$.a.b'] });
    redactor.requestBody(Buffer.from('{"a":{"b":1},"c":2}'), JSON_TYPE);
    assert.deepEqual(
      redactor.ruleMatches().map((m) => m.matches),
      [1, 1],
    );
  });
});

/*
 * The property: a document of records (`users`, `payment_methods`, at the root and one level down),
 * a rule whose filter reads a member (`[?@.role=='admin']`) and a rule that redacts that member (or
 * an object around it), in both orders, with sometimes a third rule. An oracle that shares no code
 * with the SDK selects each rule's nodes in the document as received; the output must be exactly
 * the document with the union of them replaced by the marker, outermost first.
 */

type Step =
  | { kind: 'name'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'index'; index: number }
  | { kind: 'filter'; key: string; op: '==' | '!='; value: string };
/** A rule: its steps, each a child segment or (`descendant`) a descendant segment. */
type Rule = { descendant: boolean; step: Step }[];
type Location = (string | number)[];

const ARRAYS = ['users', 'payment_methods'];
const READ = ['role', 'type'];
const TARGETS = ['password', 'number', 'token'];
const VALUES = ['admin', 'user', 'card'];

/** A record: mostly a member filters read, with one of the values they compare with, and a target member. */
const recordArb: fc.Arbitrary<Json> = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom(...READ), fc.constantFrom(...VALUES)), { minLength: 1, maxLength: 2 }),
    fc.array(fc.tuple(fc.constantFrom(...TARGETS, 'name'), fc.constant('PUB')), { maxLength: 3 }),
  )
  .map(([read, other]) => objectOf([...read, ...other] as [string, Json][]));
const recordsArb = fc.array(recordArb, { minLength: 1, maxLength: 4 });
const documentArb: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom(...ARRAYS), recordsArb, fc.option(fc.tuple(fc.constantFrom(...ARRAYS), recordsArb), { nil: undefined }))
  .map(([name, records, nested]) =>
    objectOf([
      [name, records],
      ['org', nested === undefined ? 'PUB' : objectOf([[nested[0], nested[1]]])],
      ['note', 'PUB'],
    ]),
  );

/** Unique public strings for 'PUB', so a lost or leaked value is visible. */
function label(doc: Json): Json {
  let n = 0;
  const walk = (node: Json): Json => {
    if (node === 'PUB') return `pub${n++}z`;
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return objectOf(Object.keys(node).map((k) => [k, walk(node[k]!)]));
    return node;
  };
  return walk(doc);
}

const child = (step: Step): { descendant: boolean; step: Step } => ({ descendant: false, step });
const opArb = fc.constantFrom('==' as const, '==' as const, '!=' as const);

/** The records of `doc` (each array's name and its objects), to aim rules at. */
function recordsOf(doc: Json): { array: string; record: { [key: string]: Json } }[] {
  const out: { array: string; record: { [key: string]: Json } }[] = [];
  const walk = (node: Json): void => {
    if (!isObject(node)) return;
    for (const key of Object.keys(node)) {
      const value = node[key]!;
      if (Array.isArray(value)) for (const item of value) if (isObject(item)) out.push({ array: key, record: item });
      walk(value);
    }
  };
  walk(doc);
  return out;
}

/**
 * A rule whose filter reads a member: `$.users[?@.role=='admin'].password`, `$..[?@.type=='card']`...
 * Mostly aimed at a record of `doc` (its array, one of its read members and that member's value).
 */
function readerFor(doc: Json): fc.Arbitrary<Rule> {
  const records = recordsOf(doc);
  const aimed = fc.constantFrom(...records).chain(({ array, record }) => {
    const read = Object.keys(record).filter((k) => READ.includes(k));
    const targets = Object.keys(record).filter((k) => !READ.includes(k));
    const target = fc.option(fc.constantFrom(...(targets.length > 0 ? targets : TARGETS)), { nil: undefined, freq: 4 });
    return fc
      .tuple(fc.constant(array), fc.constantFrom(...read), fc.constant(record), opArb, target, fc.boolean())
      .map(([a, key, r, op, target, anywhere]) => ({
        array: a,
        filter: { kind: 'filter' as const, key, op, value: r[key] as string },
        target,
        anywhere,
      }));
  });
  const random = fc
    .tuple(
      fc.constantFrom(...ARRAYS),
      fc.constantFrom(...READ),
      opArb,
      fc.constantFrom(...VALUES),
      fc.option(fc.constantFrom(...TARGETS), { nil: undefined }),
      fc.boolean(),
    )
    .map(([array, key, op, value, target, anywhere]) => ({ array, filter: { kind: 'filter' as const, key, op, value }, target, anywhere }));
  return fc
    .oneof({ weight: 3, arbitrary: aimed }, { weight: 1, arbitrary: random })
    .map(
      ({ array, filter, target, anywhere }): Rule => [
        ...(anywhere ? [{ descendant: true, step: filter as Step }] : [child({ kind: 'name', name: array }), child(filter)]),
        ...(target === undefined ? [] : [child({ kind: 'name', name: target })]),
      ],
    );
}

/** A rule that redacts what a reader reads (the member, or the records around it). */
function writerFor(reader: Rule): fc.Arbitrary<Rule> {
  const filter = reader.find((s) => s.step.kind === 'filter')!.step as Step & { kind: 'filter' };
  const named = reader.find((s) => s.step.kind === 'name');
  const array = named !== undefined && named !== reader[reader.length - 1] ? (named.step as { name: string }).name : 'users';
  return fc
    .tuple(
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: 2 }),
      fc.constantFrom(filter.key, ...READ),
      opArb,
      fc.constantFrom(filter.value, ...VALUES),
    )
    .map(([shape, index, key, op, value]): Rule => {
      switch (shape) {
        case 0:
          return [child({ kind: 'name', name: array }), child({ kind: 'wildcard' }), child({ kind: 'name', name: key })];
        case 1:
          return [{ descendant: true, step: { kind: 'name', name: key } }];
        case 2:
          return [child({ kind: 'name', name: array }), child({ kind: 'index', index }), child({ kind: 'name', name: key })];
        case 3:
          return [child({ kind: 'name', name: array }), child({ kind: 'filter', key, op, value }), child({ kind: 'name', name: key })];
        case 4:
          return [child({ kind: 'name', name: array })];
        default:
          return [{ descendant: true, step: { kind: 'name', name: array } }];
      }
    });
}

/** A document, a reader aimed at it, a writer of what the reader reads, and sometimes a third rule. */
const caseArb = documentArb
  .map(label)
  .chain((doc) =>
    readerFor(doc).chain((reader) =>
      fc.tuple(
        fc.constant(doc),
        fc.constant(reader),
        writerFor(reader),
        fc.option(fc.oneof(readerFor(doc), writerFor(reader)), { nil: undefined }),
      ),
    ),
  );

function renderStep(step: Step): string {
  switch (step.kind) {
    case 'name':
      return `['${step.name}']`;
    case 'wildcard':
      return '[*]';
    case 'index':
      return `[${step.index}]`;
    case 'filter':
      return `[?@.${step.key} ${step.op} '${step.value}']`;
  }
}

function render(rule: Rule): string {
  return `$${rule.map(({ descendant, step }) => (descendant ? '..' : '') + renderStep(step)).join('')}`;
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The children `step` selects from one node (RFC 9535; a filter compares with `==` on a member that may be absent). */
function apply(step: Step, node: { value: Json; at: Location }): { value: Json; at: Location }[] {
  const { value, at } = node;
  const children: { value: Json; at: Location }[] = Array.isArray(value)
    ? value.map((v, i) => ({ value: v, at: [...at, i] }))
    : isObject(value)
      ? Object.keys(value).map((k) => ({ value: value[k]!, at: [...at, k] }))
      : [];
  switch (step.kind) {
    case 'name':
      return isObject(value) && Object.hasOwn(value, step.name) ? [{ value: value[step.name]!, at: [...at, step.name] }] : [];
    case 'wildcard':
      return children;
    case 'index':
      return Array.isArray(value) && step.index < value.length ? [children[step.index]!] : [];
    case 'filter':
      return children.filter((c) => {
        const equal = isObject(c.value) && Object.hasOwn(c.value, step.key) && c.value[step.key] === step.value;
        return step.op === '==' ? equal : !equal;
      });
  }
}

function selfAndDescendants(node: { value: Json; at: Location }): { value: Json; at: Location }[] {
  const out = [node];
  for (let i = 0; i < out.length; i += 1) out.push(...apply({ kind: 'wildcard' }, out[i]!));
  return out;
}

function select(doc: Json, rule: Rule): Location[] {
  let nodes = [{ value: doc, at: [] as Location }];
  for (const { descendant, step } of rule) nodes = (descendant ? nodes.flatMap(selfAndDescendants) : nodes).flatMap((n) => apply(step, n));
  return nodes.map((n) => n.at);
}

/** `doc` with each selected location (outermost first) replaced by the marker, and how many were. */
function expected(doc: Json, locations: Location[]): { doc: Json; redactions: number } {
  const copy = JSON.parse(JSON.stringify(doc)) as Json;
  let redactions = 0;
  for (const location of [...locations].sort((a, b) => a.length - b.length)) {
    let parent: Json = copy;
    let ok = true;
    for (const key of location.slice(0, -1)) {
      const next: Json | undefined = Array.isArray(parent) ? parent[key as number] : isObject(parent) ? parent[key as string] : undefined;
      if (next === undefined || next === REDACTED) {
        ok = false;
        break;
      }
      parent = next;
    }
    const last = location[location.length - 1]!;
    if (!ok) continue;
    const holder = parent as Record<string | number, Json>;
    if (holder[last] === REDACTED) continue;
    holder[last] = REDACTED;
    redactions += 1;
  }
  return { doc: copy, redactions };
}

/** `doc` as form fields with the names qs nests back into it. */
function formOf(doc: Json): string {
  const fields: string[] = [];
  const walk = (node: Json, name: string): void => {
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${name}[${i}]`));
    else if (isObject(node)) for (const key of Object.keys(node)) walk(node[key]!, name === '' ? key : `${name}[${key}]`);
    else fields.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(node))}`);
  };
  walk(doc, '');
  return fields.join('&');
}

describe('rule interaction property: a filter reads what another rule redacts', () => {
  it(`${RUNS} documents x rule pairs, both orders, request and response, JSON and form: exactly the union of the selections is hidden`, () => {
    let cases = 0;
    let readerHits = 0;
    let shadowed = 0;
    fc.assert(
      fc.property(caseArb, ([doc, reader, writer, third]) => {
        const rules = third === undefined ? [reader, writer] : [reader, writer, third];
        const want = expected(
          doc,
          rules.flatMap((rule) => select(doc, rule)),
        );
        const readerSelects = select(doc, reader).length > 0;
        readerHits += readerSelects ? 1 : 0;
        // The case the issue found: what the reader selects, but no longer would once the writer ran first.
        const after = expected(doc, select(doc, writer)).doc;
        if (select(doc, reader).some((at) => !select(after, reader).some((b) => JSON.stringify(b) === JSON.stringify(at)))) shadowed += 1;
        // The same document as a form: `users[0][role]=admin&...`, which the SDK reads nested as qs does.
        const bodies: [string, string][] = [
          [JSON.stringify(doc), JSON_TYPE],
          [formOf(doc), FORM_TYPE],
        ];
        for (const order of [rules, [...rules].reverse()]) {
          for (const onRequest of [true, false]) {
            for (const [body, type] of bodies) {
              const { text, redactions } = redact(order.map(render), body, type, onRequest);
              assert.deepEqual(JSON.parse(text), want.doc, `${JSON.stringify(order.map(render))} on ${body}`);
              assert.equal(redactions, want.redactions);
              cases += 1;
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
    console.log(
      `rule interaction property: ${RUNS} documents, ${cases} cases (orders x sides x JSON and form), ${readerHits} with the filter rule selecting, ${shadowed} where the other rule would have hidden its filter's input; 0 leaks`,
    );
    assert.ok(shadowed >= RUNS * 0.1, `only ${shadowed} of ${RUNS} documents exercised a shadowed filter`);
  });
});
