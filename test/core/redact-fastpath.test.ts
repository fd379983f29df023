/**
 * The fast paths must be invisible: `$.a.b` and `$..a` rules are applied by direct walks of the
 * parsed body instead of json-p3, and records are encoded without JSON.stringify scanning their
 * base64 bodies. Each is compared here with the general path over thousands of generated cases:
 * the same bytes out, the same redaction counts, the same per-rule match counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonpath } from 'json-p3';
import { encodeRecord, MAX_MESSAGE_BYTES, prepareDirect, writeDirect } from '../../src/core/encode.js';
import { REDACTED, type ApiRecord, type ErrorRecord } from '../../src/core/record.js';
import { compileRedactor, type BodyRedaction, type Redactor } from '../../src/core/redact/index.js';
import {
  keyArb,
  objectOf,
  renderRule,
  ruleArb,
  rulesAimedAt,
  type Json,
  type RuleCase,
  type Segment,
  type Spelling,
} from '../helpers/redaction-cases.js';

const RUNS = Number(process.env.REDACTION_FASTPATH_RUNS ?? 5_000);
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** Few names, so that rules hit and the same name nests in itself; plus the tricky ones. */
const nameArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('a', 'b', 'token', '0', '1', '10', '__proto__', 'credit-card', 'odd.name', 'say "hi"', '名前', ''),
  },
  { weight: 2, arbitrary: keyArb },
);

const leafArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme' }) },
  { weight: 2, arbitrary: fc.constant(REDACTED) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** Any JSON value (the root may be an array or a scalar), objects built as JSON.parse builds them. */
const documentArb: fc.Arbitrary<Json> = fc.letrec<{ node: Json }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 2, arbitrary: leafArb },
    { weight: 3, arbitrary: fc.array(fc.tuple(nameArb, tie('node')), { maxLength: 5 }).map(objectOf) },
    { weight: 1, arbitrary: fc.array(tie('node'), { maxLength: 4 }) },
  ),
})).node;

const spellingArb: fc.Arbitrary<Spelling> = ruleArb.map((rule) => rule.spelling);

/** Member names along the object-only paths of `doc` (a rule needs names to walk). */
function namePaths(doc: Json): string[][] {
  const out: string[][] = [];
  const walk = (node: Json, path: string[]): void => {
    if (path.length > 0) out.push(path);
    if (node !== null && typeof node === 'object' && !Array.isArray(node))
      for (const key of Object.keys(node)) walk(node[key]!, [...path, key]);
    // Through arrays the names are still worth a `$..name` rule.
    if (Array.isArray(node)) for (const item of node) walk(item, path);
  };
  walk(doc, []);
  return out;
}

/** A `$.a.b` or `$..a` rule (the fast shapes), aimed at `doc` or random; sometimes any other rule. */
function rulesFor(doc: Json): fc.Arbitrary<RuleCase[]> {
  const paths = namePaths(doc);
  const path = paths.length > 0 ? fc.constantFrom(...paths) : fc.array(nameArb, { minLength: 1, maxLength: 3 });
  const members = fc
    .tuple(fc.oneof(path, fc.array(nameArb, { minLength: 1, maxLength: 4 })), fc.integer({ min: 1, max: 4 }), spellingArb)
    .map(
      ([names, length, spelling]): RuleCase => ({
        segments: names.slice(0, length).map((name): Segment => ({ kind: 'name', name })),
        spelling,
      }),
    );
  const descendant = fc
    .tuple(
      fc.oneof(
        path.map((p) => p[p.length - 1]!),
        nameArb,
      ),
      spellingArb,
    )
    .map(([name, spelling]): RuleCase => ({ segments: [{ kind: 'descendant', name }], spelling }));
  return fc.array(
    fc.oneof(
      { weight: 4, arbitrary: members },
      { weight: 4, arbitrary: descendant },
      { weight: 1, arbitrary: rulesAimedAt(doc) },
      { weight: 1, arbitrary: ruleArb },
    ),
    { minLength: 1, maxLength: 4 },
  );
}

interface Outcome {
  body: string;
  redactions: number;
  unparsable: boolean;
}

function outcome(result: BodyRedaction): Outcome {
  return { body: result.body.toString('latin1'), redactions: result.redactions, unparsable: result.unparsable };
}

/**
 * The same rules through the fast paths and through json-p3 alone, on every body (`needles: false`)
 * or, as the SDK did before the walks, on bodies that hold the rule's needles.
 */
function pair(paths: string[], onRequest: boolean, needles = false): { fast: Redactor; general: Redactor } {
  const options = onRequest ? { redactRequestBody: paths } : { redactResponseBody: paths };
  // The walks without the byte splice, which keeps formatting (compared with them in json-splice.test.ts).
  return { fast: compileRedactor(options, { splice: false }), general: compileRedactor(options, { walks: false, needles }) };
}

function apply(redactor: Redactor, onRequest: boolean, body: Buffer, contentType: string | undefined): Outcome {
  return outcome(onRequest ? redactor.requestBody(body, contentType) : redactor.responseBody(body, contentType));
}

describe('redaction fast paths agree with json-p3', () => {
  it(`${RUNS} generated documents x rule sets: same bytes, redactions and match counts`, () => {
    let redacted = 0;
    let hiddenMatches = 0;
    let fastRules = 0;
    fc.assert(
      fc.property(
        documentArb.chain((doc) => fc.tuple(fc.constant(doc), rulesFor(doc))),
        fc.constantFrom(JSON_TYPE, 'application/problem+json', undefined),
        fc.boolean(),
        fc.boolean(),
        ([doc, rules], contentType, onRequest, pretty) => {
          const paths = rules.map(renderRule);
          const body = Buffer.from(pretty ? JSON.stringify(doc, null, 1) : JSON.stringify(doc));
          const { fast, general } = pair(paths, onRequest);
          // Twice: the match counts add up across bodies.
          for (let round = 0; round < 2; round += 1) {
            const got = apply(fast, onRequest, body, contentType);
            const want = apply(general, onRequest, body, contentType);
            assert.deepEqual(got, want, `rules ${JSON.stringify(paths)} on ${body.toString()}`);
            if (round === 0 && want.redactions > 0) redacted += 1;
          }
          const matches = fast.ruleMatches();
          assert.deepEqual(matches, general.ruleMatches(), `match counts for ${JSON.stringify(paths)} on ${body.toString()}`);
          const total = matches.reduce((sum, m) => sum + m.matches, 0);
          if (total > 2 * apply(general, onRequest, body, contentType).redactions) hiddenMatches += 1;
          fastRules += rules.filter(
            (r) => r.segments.every((s) => s.kind === 'name') || (r.segments.length === 1 && r.segments[0]!.kind === 'descendant'),
          ).length;
        },
      ),
      { numRuns: RUNS },
    );
    console.log(
      `redaction fast paths: ${RUNS} cases (${fastRules} fast-path rules), ${redacted} redacted something, ${hiddenMatches} matched inside values already replaced or holding the marker`,
    );
    // Not vacuous: rules must often match, and nested or repeated matches must occur.
    assert.ok(redacted >= RUNS * 0.3, `only ${redacted} of ${RUNS} cases redacted anything`);
    assert.ok(hiddenMatches >= RUNS * 0.02, `only ${hiddenMatches} cases with matches that were not replacements`);
  });

  it('form and multipart fields: same bytes, redactions and match counts', () => {
    const fieldsArb = fc.array(fc.tuple(nameArb, fc.oneof(fc.string({ maxLength: 5 }), fc.constant(REDACTED))), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(
        fieldsArb,
        fc.array(fc.tuple(fc.boolean(), nameArb, nameArb, spellingArb), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (fields, specs, multipart) => {
          const rules = specs.map(
            ([descendant, a, b, spelling]): RuleCase => ({
              segments: descendant
                ? [{ kind: 'descendant', name: a }]
                : ([
                    { kind: 'name', name: a },
                    { kind: 'name', name: b },
                  ].slice(0, b === a ? 1 : 2) as Segment[]),
              spelling,
            }),
          );
          const paths = rules.map(renderRule);
          let body: Buffer;
          let contentType: string;
          if (multipart) {
            const parts = fields.map(
              ([name, value]) => `--XyZ\r\nContent-Disposition: form-data; name="${name.replace(/["\r\n]/g, '_')}"\r\n\r\n${value}\r\n`,
            );
            body = Buffer.from(`${parts.join('')}--XyZ--\r\n`);
            contentType = 'multipart/form-data; boundary=XyZ';
          } else {
            body = Buffer.from(new URLSearchParams(fields).toString());
            contentType = FORM_TYPE;
          }
          const { fast, general } = pair(paths, true);
          assert.deepEqual(apply(fast, true, body, contentType), apply(general, true, body, contentType), `rules ${JSON.stringify(paths)}`);
          assert.deepEqual(fast.ruleMatches(), general.ruleMatches());
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("at json-p3's recursion limit: the same nodes withheld, the same match counts kept", () => {
    // Root at depth 1; json-p3 refuses a node at depth 1024 (scalars included, in arrays or objects):
    // here the leaf sits at depth levels + 2, a member inside it one deeper.
    // (json-p3 takes a while this deep: the cases are few.)
    for (const levels of [1021, 1022]) {
      for (const [open, close] of [
        ['{"n":', '}'],
        ['[', ']'],
        ['{"a":{"n":1},"n":', '}'],
      ] as const) {
        for (const leaf of ['{"a":"deep-secret"}', '[]']) {
          const body = Buffer.from(`{"a":"top-secret","b":${open.repeat(levels)}${leaf}${close.repeat(levels)}}`);
          // With needles: `$..zz` is skipped unread (no "zz" in the body), not withheld.
          for (const paths of [
            ['$.a', '$..a'],
            ['$..a', '$.b.n'],
            ['$..n', '$..a'],
            ['$..zz', '$.a'],
          ]) {
            const { fast, general } = pair(paths, false, true);
            assert.deepEqual(
              apply(fast, false, body, JSON_TYPE),
              apply(general, false, body, JSON_TYPE),
              `${levels} levels of ${open}, ${paths}`,
            );
            assert.deepEqual(fast.ruleMatches(), general.ruleMatches(), `${levels} levels of ${open}, ${paths}`);
          }
        }
      }
    }
  });

  it('needles that share a quote are all found (the closing quote of one opens the next)', () => {
    // `","` is found from the quote closing "x" to the one opening "k": it must not hide `"k"`.
    const body = Buffer.from('{"a":"x","k":"secret","m":[","]}');
    const result = compileRedactor({ redactRequestBody: ["$..[',']", '$..k'] }).requestBody(body, JSON_TYPE);
    assert.equal(result.body.toString(), `{"a":"x","k":"${REDACTED}","m":[","]}`);
  });

  it('the withheld side of the limit really is reached', () => {
    const deep = (levels: number): Buffer => Buffer.from(`{"a":"s",${'"n":{'.repeat(levels)}"x":1${'}'.repeat(levels)}}`);
    const redactor = compileRedactor({ redactRequestBody: ['$..a'] });
    assert.equal(redactor.requestBody(deep(1021), JSON_TYPE).unparsable, false);
    assert.equal(redactor.requestBody(deep(1022), JSON_TYPE).unparsable, true);
    assert.deepEqual(
      redactor.ruleMatches().map((m) => m.matches),
      [1],
    );
  });

  it('$.a.b and $..a shapes are walked; every other rule goes to json-p3', (t) => {
    const query = t.mock.method(jsonpath.JSONPathQuery.prototype, 'query');
    const body = Buffer.from('{"a":{"b":1,"x.y":2},"credit-card":{"cvv":"1"},"__proto__":{"k":3},"0":{"1":4}}');
    const walked = [
      '$.a.b',
      'a.b',
      '.a.b',
      '$.credit-card.cvv',
      'credit-card.cvv',
      '$["x.y"]',
      "$['a']['x.y']",
      '$.__proto__.k',
      '$.0.1',
      '$..b',
      '$..["x.y"]',
      '..b',
    ];
    for (const path of walked) {
      compileRedactor({ redactRequestBody: [path] }).requestBody(body, JSON_TYPE);
      assert.equal(query.mock.callCount(), 0, `${path} went to json-p3`);
    }
    const evaluated = ['$.a[0]', '$.a.*', '$..a.b', '$.a..b', '$', '$.a["b","x.y"]', "$..['a','b']", '$[?@.b]'];
    for (const path of evaluated) {
      const before = query.mock.callCount();
      compileRedactor({ redactRequestBody: [path] }).requestBody(body, JSON_TYPE);
      assert.ok(query.mock.callCount() > before, `${path} did not go to json-p3`);
    }
  });

  it('__proto__ and numeric member names: redacted as own members, nothing polluted', () => {
    const raw = '{"__proto__":{"__proto__":"s1","10":"s2","2":"s3"},"b":[{"__proto__":"s4"}]}';
    const { fast, general } = pair(['$..__proto__', '$.__proto__.10'], true);
    const got = apply(fast, true, Buffer.from(raw), JSON_TYPE);
    assert.deepEqual(got, apply(general, true, Buffer.from(raw), JSON_TYPE));
    assert.equal(got.body, `{"__proto__":"${REDACTED}","b":[{"__proto__":"${REDACTED}"}]}`);
    // Both rules select in the body as received: `$.__proto__.10` too, inside what `$..__proto__` hides.
    assert.deepEqual(
      fast.ruleMatches().map((m) => m.matches),
      [3, 1],
    );
    assert.equal(({} as Record<string, unknown>)['10'], undefined);
  });
});

describe('encode fast path agrees with JSON.stringify', () => {
  // Strings with everything JSON.stringify escapes: quotes, backslashes, controls, lone surrogates.
  const text = fc.oneof(
    fc.string({ maxLength: 12, unit: 'binary' }),
    fc.string({ maxLength: 8, unit: 'grapheme' }),
    fc.constantFrom('"', '\\', '\u0000\n', '\ud800', '</script>'),
  );
  const number = fc.oneof(fc.integer(), fc.double(), fc.constant(-0));
  const headers = fc
    .array(fc.tuple(nameArb, fc.array(text, { maxLength: 3 })), { maxLength: 5 })
    .map((entries) => objectOf(entries) as Record<string, string[]>);
  const errorArb: fc.Arbitrary<ErrorRecord> = fc.record({
    when: text,
    error_type: text,
    message: text,
    root_error_type: text,
    root_error_message: text,
    stack_trace: text,
  });
  const base64 = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64'));
  const recordArb: fc.Arbitrary<ApiRecord> = fc.record({
    timestamp: text,
    duration: number,
    project_id: text,
    sdk_type: fc.constantFrom('JsExpress', 'JsFetchOutgoing'),
    method: text,
    host: text,
    url_path: text,
    raw_url: text,
    path_params: fc.array(fc.tuple(nameArb, text), { maxLength: 3 }).map((e) => objectOf(e) as Record<string, string>),
    query_params: headers,
    request_headers: headers,
    response_headers: headers,
    request_body: base64,
    response_body: base64,
    status_code: number,
    proto_major: number,
    proto_minor: number,
    referer: text,
    errors: fc.array(errorArb, { maxLength: 2 }),
    service_version: fc.option(text),
    tags: fc.array(text, { maxLength: 3 }),
    msg_id: text,
    parent_id: fc.option(text),
  }) as fc.Arbitrary<ApiRecord>;

  function sameAsStringify(record: ApiRecord, sdkShape = false): void {
    const encoded = encodeRecord(record, { bodiesAreBase64: true });
    assert.ok(encoded.ok);
    const expected = Buffer.from(JSON.stringify(record), 'utf8');
    assert.equal(encoded.message.toString('latin1'), expected.toString('latin1'));
    // Written in place (as into the queue's memory): the same bytes, not one more. A record of
    // another shape may have no direct form (the caller then stringifies it).
    const direct = prepareDirect(record);
    if (direct === undefined && !sdkShape) return;
    assert.ok(direct !== undefined);
    assert.equal(direct.size, expected.length);
    const target = Buffer.alloc(direct.size + 16, 0xaa);
    assert.equal(writeDirect(direct, target, 7), 7 + direct.size);
    assert.ok(target.subarray(7, 7 + direct.size).equals(expected));
    assert.ok(target.subarray(0, 7).every((b) => b === 0xaa) && target.subarray(7 + direct.size).every((b) => b === 0xaa));
  }

  it(`${RUNS} generated records: the same bytes`, () => {
    fc.assert(
      fc.property(recordArb, (record) => sameAsStringify(record, true)),
      { numRuns: RUNS },
    );
  });

  it('records whose members before or after the bodies are all left out: the same bytes', () => {
    const keys = Object.keys(fc.sample(recordArb, 1)[0]!);
    const record = (value: (key: string) => unknown) => Object.fromEntries(keys.map((k) => [k, value(k)])) as unknown as ApiRecord;
    const cases = [
      record((k) => (k.endsWith('_body') ? 'QUJD' : undefined)), // `{"request_body":...,"response_body":...}`
      record((k) => (k.endsWith('_body') ? '' : k === 'timestamp' ? 'é✓' : undefined)), // nothing after the bodies
      record((k) => (k.endsWith('_body') ? 'eA==' : k === 'msg_id' ? '😀"\\' : undefined)), // nothing before them
      record((k) => (k.endsWith('_body') ? 'eA==' : `${k} ü`)),
    ];
    for (const r of cases) sameAsStringify(r, true);
  });

  it("records that are not the SDK's shape fall back to JSON.stringify", () => {
    fc.assert(
      fc.property(recordArb, fc.integer({ min: 0, max: 22 }), fc.integer({ min: 0, max: 5 }), (record, at, how) => {
        const entries = Object.entries(record);
        const [key] = entries[at]!;
        switch (how) {
          case 0:
            entries.splice(at, 1);
            break; // a member missing
          case 1:
            entries.splice(at, 0, ['extra', 1]);
            break; // one more
          case 2:
            entries.push(entries.splice(at, 1)[0]!);
            break; // out of order
          case 3:
            entries[at] = [key, undefined];
            break; // left out by JSON.stringify
          case 4:
            entries[at] = [key, { toJSON: (k: string) => `to-json ${k}` }];
            break;
          case 5:
            entries.splice(
              entries.findIndex(([k]) => k === 'request_body'),
              1,
              ['request_body', 42],
            );
            break;
        }
        sameAsStringify(objectOf(entries as [string, Json][]) as unknown as ApiRecord);
      }),
      { numRuns: 1_000 },
    );
    // Inherited members are not the record's own: JSON.stringify skips them.
    const inherited = Object.create({ extra: 1 }) as ApiRecord;
    Object.assign(inherited, fc.sample(recordArb, { numRuns: 1, seed: 1 })[0]);
    sameAsStringify(inherited);
  });

  it('a record over the message limit is refused with the same error either way', () => {
    const record = fc.sample(recordArb, { numRuns: 1, seed: 2 })[0]!;
    record.request_body = 'A'.repeat(MAX_MESSAGE_BYTES);
    const direct = encodeRecord(record, { bodiesAreBase64: true });
    const general = encodeRecord(record);
    assert.ok(!direct.ok && !general.ok);
    assert.equal(direct.error.message, general.error.message);
    assert.ok(direct.error instanceof RangeError);
  });
});
