/**
 * Form fields are redacted in every way an app may read them: flat (`querystring`, Express 5's
 * default `express.urlencoded()`) and nested (`qs`, Express 4's default and `extended: true`,
 * multer). Compared here with the real `qs` (Express's own dependency): the nested view the SDK
 * records is the object qs makes, and no value a rule selects in qs's object or in the flat one
 * is recorded, over generated forms with well-formed and odd field names.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonpath, type JSONValue } from 'json-p3';
import { REDACTED } from '../../src/core/record.js';
import { compileRedactor, normalizeJsonPath } from '../../src/core/redact/index.js';
import { keyPath, PUSH } from '../../src/core/redact/forms.js';
import { objectOf, renderRule, rulesAimedAt, type Json, type RuleCase } from '../helpers/redaction-cases.js';

const require = createRequire(import.meta.url);
const qs = require('qs') as typeof import('qs');

const RUNS = Number(process.env.FORM_VIEW_RUNS ?? 2_000);
const FORM = 'application/x-www-form-urlencoded';

/** qs as body-parser runs it for `extended: true` (Express 4 and 5). */
function qsExtended(body: string): unknown {
  const count = body.split('&').length;
  return qs.parse(body, { allowPrototypes: true, arrayLimit: Math.max(100, count), depth: 32, parameterLimit: 1000 });
}

/** What a flat parser makes: name -> value, or the list of a repeated name's values. */
function flatView(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(body)) {
    const previous = out[key];
    out[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return out;
}

function recorded(rules: string[], body: string): string {
  return compileRedactor({ redactRequestBody: rules }).requestBody(Buffer.from(body), FORM).body.toString('utf8');
}

describe('field names: where the nesting parsers agree', () => {
  const table: [string, ReturnType<typeof keyPath>][] = [
    ['password', ['password']],
    ['user[password]', ['user', 'password']],
    ['items[0][card]', ['items', 0, 'card']],
    ['tags[]', ['tags', PUSH]],
    ['a[b][c][d][e][f]', ['a', 'b', 'c', 'd', 'e', 'f']],
    ['a]', ['a]']],
    ['a b[c d]', ['a b', 'c d']],
    ['a[19]', ['a', 19]],
    // Where they may not:
    ['a[b][c][d][e][f][g]', null],
    ['a[20]', null],
    ['a[01]', null],
    ['a[][b]', null],
    ['a[b]c', null],
    ['a[b]x[c]', null],
    ['[a]', null],
    ['a[b', null],
    ['a[b[c]]', null],
    ['__proto__[x]', null],
    ['a[__proto__]', null],
    ['', null],
  ];
  for (const [key, path] of table) {
    it(`${JSON.stringify(key)} -> ${path === null ? 'in doubt' : JSON.stringify(path.map((s) => (s === PUSH ? '[]' : s)))}`, () => {
      assert.deepEqual(keyPath(key), path);
    });
  }
});

describe('the examples', () => {
  const body = 'user%5Bpassword%5D=s1&user[name]=ann&password[]=s2&password[]=s3&note=kept';
  it('user[password]= is hidden by $.user.password and by $..password; password[]= by $.password', () => {
    for (const rules of [['$.user.password', '$.password'], ['$..password']]) {
      const out = JSON.parse(recorded(rules, body)) as Record<string, unknown>;
      assert.deepEqual(out, { user: { password: REDACTED, name: 'ann' }, password: REDACTED, note: 'kept' }, JSON.stringify(rules));
    }
  });

  it("rules written for the flat view still hold: $['user[password]'], $['password[]'][1]", () => {
    const out = JSON.parse(recorded(["$['user[password]']", "$['password[]'][1]"], body)) as Record<string, unknown>;
    assert.deepEqual(out, { user: { password: REDACTED, name: 'ann' }, password: ['s2', REDACTED], note: 'kept' });
  });

  it('the record is the nested view qs makes', () => {
    assert.equal(recorded([], body), JSON.stringify(qsExtended(body)));
  });

  it('odd field names are hidden whenever rules apply, with every field sharing their top-level name', () => {
    const odd = 'a[b]c=s1&a[d]=s2&[x]=s3&b[c][d][e][f][g][h]=s4&c=kept&d[01]=s5&e=1&e[f]=s6&g[]=1&g[0]=s7&h[]=1&h=s8';
    const out = recorded(['$.nothing'], odd);
    for (const secret of ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8']) assert.ok(!out.includes(`"${secret}"`), `${secret} in ${out}`);
    assert.ok(out.includes('"kept"'));
    // Without rules nothing is hidden: the fields are recorded under their names as sent.
    const plain = JSON.parse(recorded([], odd)) as Record<string, unknown>;
    assert.equal(plain['a[b]c'], 's1');
    assert.equal(plain.c, 'kept');
  });

  it('a name qs reads differently from a flat parser (`]=` in it, broken percent-escapes) is hidden', () => {
    for (const form of ['a[b=c]=s1&x=kept', 'pass%E0%A4%A=s1&x=kept', 'a%5Bb=c%5D=s1&x=kept']) {
      const out = recorded(['$.nothing'], form);
      assert.ok(!out.includes('s1'), `${form} -> ${out}`);
      assert.ok(out.includes('kept'));
    }
  });
});

/** A nested value as forms can carry it: objects of strings, lists (dense), objects in lists. */
const valueArb: fc.Arbitrary<Json> = fc.letrec<{ node: Json }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { weight: 3, arbitrary: fc.constant<Json>('V') },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.tuple(fc.constantFrom('a', 'b', 'password', 'token', 'x y', 'é', 'n7'), tie('node')), { minLength: 1, maxLength: 3 })
        .map(objectOf),
    },
    { weight: 1, arbitrary: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) },
  ),
})).node;

/** Fields that nest (by qs) into `doc`, with unique values; lists of strings written with `[]` or with indexes. */
function fieldsOf(doc: Json, indexes: boolean): [string, string][] {
  const fields: [string, string][] = [];
  let n = 0;
  const walk = (node: Json, name: string): void => {
    if (typeof node === 'string') fields.push([name, `v${n++}z`]);
    else if (Array.isArray(node)) {
      const push = !indexes && node.every((item) => typeof item === 'string');
      node.forEach((item, i) => walk(item, push ? `${name}[]` : `${name}[${i}]`));
    } else if (node !== null && typeof node === 'object') for (const key of Object.keys(node)) walk(node[key]!, `${name}[${key}]`);
  };
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) for (const key of Object.keys(doc)) walk(doc[key]!, key);
  return fields;
}

const documentArb = fc
  .array(fc.tuple(fc.constantFrom('user', 'password', 'items', 'token', 'note', 'a', '5'), valueArb), { minLength: 1, maxLength: 4 })
  .map(objectOf);

describe('form views property', () => {
  it(`${RUNS} well-formed forms: recorded as exactly the object qs makes (Express's options and qs's defaults)`, () => {
    fc.assert(
      fc.property(documentArb, fc.boolean(), fc.boolean(), (doc, indexes, encodeBrackets) => {
        const fields = fieldsOf(doc, indexes);
        const body = fields.map(([k, v]) => `${encodeBrackets ? encodeURIComponent(k) : k.replace(/ /g, '+')}=${v}`).join('&');
        const out = recorded([], body);
        assert.equal(out, JSON.stringify(qsExtended(body)), body);
        assert.equal(out, JSON.stringify(qs.parse(body)), body);
      }),
      { numRuns: RUNS },
    );
  });

  // Names well-formed and odd: brackets in every place, indexes past 19, leading zeros, 6 levels.
  const segmentArb = fc.oneof(
    fc.constantFrom('a', 'b', 'password', '0', '1', '25', '01', '', '__proto__', 'x]', '[y'),
    fc.string({ maxLength: 3, unit: fc.constantFrom('a', '[', ']', '0', '=', '%') }),
  );
  const nameArb = fc
    .tuple(
      fc.constantFrom('user', 'password', 'a', '', '[a]', 'note'),
      fc.array(segmentArb, { maxLength: 6 }),
      fc.constantFrom('', '', '', 'x', ']'),
    )
    .map(([top, groups, tail]) => `${top}${groups.map((g) => `[${g}]`).join('')}${tail}`);
  const formArb = fc.array(nameArb, { minLength: 1, maxLength: 8 });

  it(`${RUNS} forms with any names: nothing a rule selects in qs's object or the flat one is recorded`, () => {
    let cases = 0;
    let selected = 0;
    fc.assert(
      fc.property(
        formArb.chain((names) => {
          const body = names.map((name, i) => `${encodeURIComponent(name)}=s${i}q`).join('&');
          const views = [qsExtended(body), qs.parse(body), flatView(body)] as Json[];
          return fc.tuple(
            fc.constant(body),
            fc.array(fc.oneof(...views.map((v) => rulesAimedAt(JSON.parse(JSON.stringify(v)) as Json))), { minLength: 1, maxLength: 3 }),
          );
        }),
        ([body, rules]: [string, RuleCase[]]) => {
          const paths = rules.map(renderRule);
          // The oracle: json-p3 on each view, with the rules in their strict RFC 9535 spelling. (Rules
          // naming control characters, which json-p3 cannot compile, select nothing in these forms.)
          const compiled = paths
            .map(normalizeJsonPath)
            .filter((p) => !/\\u00[01]/i.test(p))
            .map((p) => jsonpath.compile(p));
          const out = recorded(paths, body);
          const secrets = new Set<string>();
          for (const view of [qsExtended(body), qs.parse(body), flatView(body)]) {
            for (const query of compiled) {
              for (const node of query.query(view as JSONValue)) for (const leaf of leaves(node.value)) secrets.add(leaf);
            }
          }
          for (const secret of secrets) assert.ok(!out.includes(`"${secret}"`), `${secret} from ${JSON.stringify(paths)} recorded: ${out}`);
          cases += 1;
          selected += secrets.size;
        },
      ),
      { numRuns: RUNS },
    );
    console.log(`form views property: ${cases} forms with generated rules, ${selected} selected values checked; 0 leaks`);
    assert.equal(cases, RUNS);
    assert.ok(selected >= RUNS * 0.5, `only ${selected} selected values`);
  });
});

function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(leaves);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [];
}
