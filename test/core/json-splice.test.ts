/**
 * JSON bodies under `$.a.b` / `$..a` rules are redacted by splicing their bytes (src/core/json-splice.ts)
 * instead of parse, walk and JSON.stringify. The splice must be the parse-and-walk path in all but
 * formatting: compared here with it (`compileRedactor(…, { splice: false })`) over thousands of
 * generated documents, written out with varied whitespace, escapes, number spellings, byte order
 * marks, duplicate and escaped member names; over invalid mutations of them; and for leaks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileSplice, spliceJson } from '../../src/core/redact/json-splice.js';
import { REDACTED } from '../../src/core/record.js';
import { compileRedactor, type BodyRedaction, type Redactor } from '../../src/core/redact/index.js';

const RUNS = Number(process.env.JSON_SPLICE_RUNS ?? 4_000);
const JSON_TYPE = 'application/json';
const MARKER = JSON.stringify(REDACTED);

/** Rule names, prefixes and extensions of them, and names no plain key can spell (the scanner gives up on those keys). */
const NAMES = ['secret', 'password', 'card', 'cvv', 'token', 'user', 'a', 'b', 'secre', 'secrets', '0', '__proto__', '', 'x y'];
const ODD_NAMES = ['ключ', 'q"t', 'back\\slash'];
const nameArb = fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_NAMES) });
const wsArb = fc.constantFrom('', '', '', '', ' ', '\n', '\t', '\r\n  ', '  ');

/** A document as written: every node keeps the whitespace around it, so it can be written again with some values replaced. */
type Node =
  | { kind: 'object'; pre: string; post: string; inner: string; entries: Entry[] }
  | { kind: 'array'; pre: string; post: string; inner: string; items: Node[] }
  | { kind: 'leaf'; pre: string; post: string; text: Buffer }
  | { kind: 'secret'; pre: string; post: string; id: number };
interface Entry {
  name: string;
  escapedName: boolean;
  kpre: string;
  kpost: string;
  value: Node;
}

const NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '1.0',
  '1.50',
  '1e5',
  '1E5',
  '1e+5',
  '1e-5',
  '-0.0e-0',
  '123456789012345678901234567890',
  '1e400',
  '-1e400',
  '0.1',
  '3.14159',
];

/** A JSON string spelling of `value`: raw, all `\u` escapes, or some of each; `\/` sometimes. */
function spell(value: string, mode: number, seed: number): string {
  let out = '"';
  for (let k = 0; k < value.length; k += 1) {
    const ch = value[k]!;
    const code = value.charCodeAt(k);
    const escaped = mode === 1 || (mode === 2 && ((seed >>> (k % 31)) & 1) === 1);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '/' && escaped) out += '\\/';
    else if (code < 0x20 || escaped)
      out += `\\u${code
        .toString(16)
        .padStart(4, mode === 2 ? '0' : '0')
        .toUpperCase()}`;
    else out += ch;
  }
  return `${out}"`;
}

const stringLeafArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 8, unit: 'grapheme' }), fc.integer({ min: 0, max: 2 }), fc.integer())
      .map(([s, m, seed]) => Buffer.from(spell(s, m, seed))),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 6, unit: 'binary' }), fc.integer({ min: 0, max: 2 }), fc.integer())
      .map(([s, m, seed]) => Buffer.from(spell(s, m, seed))),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('"\\ud800"', '"x\\uDC00y"', '"\\ud83d\\ude00"', '"a\\/b"', '"\\b\\f\\n\\r\\t"', '"\u007f"')
      .map((s) => Buffer.from(s)),
  },
  // Invalid UTF-8 inside a string: JSON.parse reads U+FFFD there.
  {
    weight: 1,
    arbitrary: fc
      .constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80, 0x80])
      .map((bytes) => Buffer.concat([Buffer.from('"x'), Buffer.from(bytes), Buffer.from('y"')])),
  },
  { weight: 2, arbitrary: fc.constantFrom(MARKER, '"[CLIENT\\u005fREDACTED]"', '"\\u005BCLIENT_REDACTED]"').map((s) => Buffer.from(s)) },
);

const leafArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: stringLeafArb },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(...NUMBERS),
        fc.integer().map(String),
        fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      )
      .map((s) => Buffer.from(s)),
  },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null').map((s) => Buffer.from(s)) },
);

const nodeArb: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: fc.tuple(wsArb, wsArb, leafArb).map(([pre, post, text]): Node => ({ kind: 'leaf', pre, post, text })) },
    { weight: 2, arbitrary: fc.tuple(wsArb, wsArb).map(([pre, post]): Node => ({ kind: 'secret', pre, post, id: 0 })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          wsArb,
          wsArb,
          wsArb,
          fc.array(fc.tuple(nameArb, fc.integer({ min: 0, max: 99 }), wsArb, wsArb, tie('node')), { maxLength: 6 }),
          fc.integer({ min: 0, max: 29 }),
        )
        .map(([pre, post, inner, list, keepDuplicates]): Node => {
          const seen = new Set<string>();
          const entries: Entry[] = [];
          for (const [name, escapeCode, kpre, kpost, value] of list) {
            // Mostly distinct names, as the splice wants them; sometimes JSON.parse's last-one-wins.
            if (keepDuplicates !== 0 && seen.has(name)) continue;
            seen.add(name);
            entries.push({ name, escapedName: escapeCode === 0 && name !== '', kpre, kpost, value });
          }
          return { kind: 'object', pre, post, inner, entries };
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(wsArb, wsArb, wsArb, fc.array(tie('node'), { maxLength: 4 }))
        .map(([pre, post, inner, items]): Node => ({ kind: 'array', pre, post, inner, items })),
    },
  ),
})).node;

/** A document whose root is an object most of the time (member chains start there), secrets numbered. */
const documentArb = fc
  .tuple(
    fc.oneof({ weight: 5, arbitrary: nodeArb.filter((n) => n.kind === 'object') }, { weight: 1, arbitrary: nodeArb }),
    fc.integer({ min: 0, max: 19 }),
  )
  .map(([root, bom]) => {
    let id = 0;
    const number = (node: Node): void => {
      if (node.kind === 'secret') node.id = id += 1;
      else if (node.kind === 'object') for (const e of node.entries) number(e.value);
      else if (node.kind === 'array') for (const item of node.items) number(item);
    };
    number(root);
    return { root, bom: bom === 0 };
  });

const secretText = (id: number): string => `S3CR3T${id}Z`;

/** The bytes of `node`, with every node in `replaced` written as the marker (keeping the whitespace around it). */
function write(node: Node, replaced: ReadonlySet<Node>, out: Buffer[]): void {
  out.push(Buffer.from(node.pre));
  if (replaced.has(node)) out.push(Buffer.from(MARKER));
  else if (node.kind === 'leaf') out.push(node.text);
  else if (node.kind === 'secret') out.push(Buffer.from(`"${secretText(node.id)}"`));
  else if (node.kind === 'array') {
    out.push(Buffer.from('['));
    if (node.items.length === 0) out.push(Buffer.from(node.inner));
    node.items.forEach((item, i) => {
      if (i > 0) out.push(Buffer.from(','));
      write(item, replaced, out);
    });
    out.push(Buffer.from(']'));
  } else {
    out.push(Buffer.from('{'));
    if (node.entries.length === 0) out.push(Buffer.from(node.inner));
    node.entries.forEach((e, i) => {
      const name = e.escapedName
        ? `"\\u${e.name.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(e.name).slice(2)}`
        : JSON.stringify(e.name);
      out.push(Buffer.from(`${i > 0 ? ',' : ''}${e.kpre}${name}${e.kpost}:`));
      write(e.value, replaced, out);
    });
    out.push(Buffer.from('}'));
  }
  out.push(Buffer.from(node.post));
}

function bytesOf(doc: { root: Node; bom: boolean }, replaced: ReadonlySet<Node> = new Set()): Buffer {
  const out: Buffer[] = doc.bom && replaced.size === 0 ? [Buffer.from([0xef, 0xbb, 0xbf])] : [];
  write(doc.root, replaced, out);
  return Buffer.concat(out);
}

/** Whether the splice must give up on this document: a repeated name, or one it cannot read as plain ASCII. */
function giveUp(node: Node): boolean {
  if (node.kind === 'array') return node.items.some(giveUp);
  if (node.kind !== 'object') return false;
  const names = node.entries.map((e) => e.name);
  if (new Set(names).size !== names.length) return true;
  return node.entries.some((e) => e.escapedName || ODD_NAMES.includes(e.name) || giveUp(e.value));
}

type Rule = { kind: 'members'; names: string[] } | { kind: 'descendant'; name: string };

const ruleArb: fc.Arbitrary<Rule> = fc.oneof(
  fc.array(nameArb, { minLength: 1, maxLength: 3 }).map((names): Rule => ({ kind: 'members', names })),
  nameArb.map((name): Rule => ({ kind: 'descendant', name })),
);

/** Member-name paths through the objects of a document (through arrays too: still worth a `$..name`). */
function namePaths(node: Node, path: string[] = [], out: string[][] = []): string[][] {
  if (path.length > 0) out.push(path);
  if (node.kind === 'object') for (const e of node.entries) namePaths(e.value, [...path, e.name], out);
  if (node.kind === 'array') for (const item of node.items) namePaths(item, path, out);
  return out;
}

/** Rules aimed at the document's own names most of the time (random rules rarely match), or random. */
function rulesFor(root: Node): fc.Arbitrary<Rule[]> {
  const paths = namePaths(root);
  if (paths.length === 0) return fc.array(ruleArb, { minLength: 1, maxLength: 4 });
  const aimed = fc
    .tuple(fc.constantFrom(...paths), fc.integer({ min: 1, max: 3 }), fc.boolean())
    .map(
      ([path, length, descendant]): Rule =>
        descendant ? { kind: 'descendant', name: path[path.length - 1]! } : { kind: 'members', names: path.slice(0, length) },
    );
  return fc.array(fc.oneof({ weight: 3, arbitrary: aimed }, { weight: 1, arbitrary: ruleArb }), { minLength: 1, maxLength: 4 });
}

function render(rule: Rule, dots: boolean): string {
  const segment = (name: string): string => (dots && /^[a-z_]+$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`);
  return rule.kind === 'members' ? `$${rule.names.map(segment).join('')}` : `$..${segment(rule.name).replace(/^\./, '')}`;
}

/** The nodes a rule selects in a document without repeated names (an oracle sharing no code with the SDK). */
function selected(root: Node, rule: Rule): Node[] {
  if (rule.kind === 'members') {
    let node: Node | undefined = root;
    for (const name of rule.names) node = node?.kind === 'object' ? node.entries.find((e) => e.name === name)?.value : undefined;
    return node === undefined ? [] : [node];
  }
  const out: Node[] = [];
  const walk = (node: Node): void => {
    if (node.kind === 'array') node.items.forEach(walk);
    if (node.kind !== 'object') return;
    for (const e of node.entries) {
      if (e.name === rule.name) out.push(e.value);
      walk(e.value);
    }
  };
  walk(root);
  return out;
}

function secretsIn(node: Node): number[] {
  if (node.kind === 'secret') return [node.id];
  if (node.kind === 'array') return node.items.flatMap(secretsIn);
  if (node.kind === 'object') return node.entries.flatMap((e) => secretsIn(e.value));
  return [];
}

/** The nodes the spliced output shows replaced: the marker where the document held something else. */
function replacedNodes(node: Node, parsed: unknown, out: Set<Node>): void {
  if (parsed === REDACTED) {
    const original = node.kind === 'leaf' ? (JSON.parse(node.text.toString('utf8')) as unknown) : undefined;
    if (original !== REDACTED) out.add(node);
    return;
  }
  if (node.kind === 'array') node.items.forEach((item, i) => replacedNodes(item, (parsed as unknown[])[i], out));
  if (node.kind === 'object') for (const e of node.entries) replacedNodes(e.value, (parsed as Record<string, unknown>)[e.name], out);
}

function pair(paths: string[]): { splice: Redactor; general: Redactor } {
  return {
    splice: compileRedactor({ redactRequestBody: paths }),
    general: compileRedactor({ redactRequestBody: paths }, { splice: false }),
  };
}

function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The splice agrees with the general path on `body`: the same decision (withheld, unchanged or
 * redacted), the same counts, and a redacted body that parses to what the general path wrote.
 * Returns whether the bytes differ from the general path's (so the splice really ran).
 */
function agree(splice: Redactor, general: Redactor, body: Buffer, contentType: string | undefined, what: string): boolean {
  const got: BodyRedaction = splice.requestBody(body, contentType);
  const want: BodyRedaction = general.requestBody(body, contentType);
  assert.equal(got.unparsable, want.unparsable, `withheld? ${what}`);
  assert.equal(got.redactions, want.redactions, `redactions: ${what}`);
  assert.deepEqual(splice.ruleMatches(), general.ruleMatches(), `matches: ${what}`);
  if (want.unparsable || want.body === body) {
    assert.equal(got.body.toString('latin1'), want.body.toString('latin1'), `withheld or unchanged: ${what}`);
    return false;
  }
  const normalised = JSON.stringify(JSON.parse(withoutBom(got.body.toString('utf8'))));
  assert.equal(normalised, want.body.toString('utf8'), `parsed splice vs general path: ${what}\n  splice: ${got.body.toString()}`);
  return !got.body.equals(want.body);
}

describe('JSON byte splice agrees with the parse-and-walk path', () => {
  it(`${RUNS} generated documents x rule sets: same decision, counts and parsed result; bytes outside the markers as sent; no leak`, () => {
    let spliced = 0;
    let redacted = 0;
    let fellBack = 0;
    let secretsChecked = 0;
    fc.assert(
      fc.property(
        documentArb.chain((doc) => fc.tuple(fc.constant(doc), rulesFor(doc.root))),
        fc.boolean(),
        fc.constantFrom(JSON_TYPE, 'application/vnd.api+json', undefined),
        ([doc, rules], dots, contentType) => {
          const paths = rules.map((rule) => render(rule, dots));
          const body = bytesOf(doc);
          const what = `rules ${JSON.stringify(paths)} on ${JSON.stringify(body.toString('latin1'))}`;
          const { splice, general } = pair(paths);
          // Twice: the match counts add up across bodies.
          for (let round = 0; round < 2; round += 1) if (agree(splice, general, body, contentType, what) && round === 0) spliced += 1;
          const result = splice.requestBody(body, contentType);
          if (result.redactions > 0) redacted += 1;
          if (giveUp(doc.root)) {
            fellBack += 1;
            return;
          }
          const text = result.body.toString('latin1');
          // Leaks: no secret under a selected value is left (a sniffed body that does not start like JSON is never redacted).
          const sniffedAway = contentType === undefined && !/^[ \t\r\n]*[{[]/.test(body.toString('latin1'));
          if (!sniffedAway) {
            for (const rule of rules) {
              for (const node of selected(doc.root, rule)) {
                for (const id of secretsIn(node)) {
                  secretsChecked += 1;
                  assert.ok(!text.includes(secretText(id)), `secret ${id} left by ${what}: ${text}`);
                }
              }
            }
          }
          // Every byte outside the replaced values is the input's.
          if (result.redactions > 0) {
            const replaced = new Set<Node>();
            replacedNodes(doc.root, JSON.parse(result.body.toString('utf8')), replaced);
            assert.equal(text, bytesOf(doc, replaced).toString('latin1'), `spliced bytes: ${what}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
    console.log(
      `json splice: ${RUNS} cases, ${redacted} redacted, ${spliced} spliced with formatting kept, ${fellBack} fell back (repeated or escaped names), ${secretsChecked} secrets checked`,
    );
    assert.ok(spliced >= RUNS * 0.2, `only ${spliced} of ${RUNS} cases were spliced`);
    assert.ok(fellBack >= RUNS * 0.02, `only ${fellBack} cases had repeated or escaped names`);
    assert.ok(secretsChecked >= RUNS * 0.3, `only ${secretsChecked} secrets checked`);
  });

  it(`${RUNS} mutated documents (truncated, stray, missing or changed bytes): the same withheld / unchanged / redacted decision`, () => {
    const strayArb = fc.constantFrom(
      ...[',', '}', ']', '{', '[', '"', '\\', ':', '0', '-', '.', 'e', 'x', ' ', '\u0000', '\u001f', '\u007f'].map((s) => s.charCodeAt(0)),
      0xff,
      0xc3,
      0xef,
    );
    const mutationArb = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: strayArb }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), byte: strayArb }),
    );
    let withheld = 0;
    fc.assert(
      fc.property(
        documentArb.chain((doc) => fc.tuple(fc.constant(doc), rulesFor(doc.root))),
        fc.array(mutationArb, { minLength: 1, maxLength: 2 }),
        fc.constantFrom(JSON_TYPE, undefined),
        ([doc, rules], mutations, contentType) => {
          let body = bytesOf(doc);
          for (const m of mutations) {
            const at = body.length === 0 ? 0 : m.at % body.length;
            if (m.kind === 'truncate') body = body.subarray(0, at);
            else if (m.kind === 'insert') body = Buffer.concat([body.subarray(0, at), Buffer.from([m.byte]), body.subarray(at)]);
            else if (m.kind === 'delete') body = Buffer.concat([body.subarray(0, at), body.subarray(at + 1)]);
            else if (body.length > 0) body = Buffer.concat([body.subarray(0, at), Buffer.from([m.byte]), body.subarray(at + 1)]);
          }
          const paths = rules.map((rule) => render(rule, true));
          const { splice, general } = pair(paths);
          agree(splice, general, body, contentType, `rules ${JSON.stringify(paths)} on ${JSON.stringify(body.toString('latin1'))}`);
          if (general.requestBody(body, contentType).unparsable) withheld += 1;
        },
      ),
      { numRuns: RUNS },
    );
    assert.ok(withheld >= RUNS * 0.2, `only ${withheld} of ${RUNS} mutations were invalid JSON`);
  });

  it('long strings (read natively past 16 bytes): a quote, backslash, escape or control byte at any offset decides as JSON.parse does', () => {
    // Plain bytes, with now and then one that a string cannot hold raw or that starts an escape,
    // at any offset of a long run (the 8-byte words of the control-character check included).
    const plain = fc.constantFrom(...'abcdefghij 0123456789-_.,:;{}[]'.split('').map((c) => c.charCodeAt(0)), 0xc3, 0xa9, 0xff, 0x7f, 0x20);
    const rare = fc.constantFrom(0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x22, 0x5c);
    const escapes = fc.constantFrom('\\n', '\\"', '\\\\', '\\u0041', '\\ud800', '\\x', '\\u12', '\\');
    const piece = fc.oneof(
      { weight: 30, arbitrary: plain.map((b) => Buffer.from([b])) },
      { weight: 1, arbitrary: rare.map((b) => Buffer.from([b])) },
      { weight: 1, arbitrary: escapes.map((e) => Buffer.from(e, 'latin1')) },
    );
    const longString = fc.array(piece, { minLength: 0, maxLength: 120, size: 'max' }).map((parts) => Buffer.concat(parts));
    const { splice, general } = pair(['$.secret', '$..token']);
    let long = 0;
    fc.assert(
      fc.property(longString, longString, fc.boolean(), (a, b, bare) => {
        const body = bare
          ? Buffer.concat([Buffer.from('"'), a, Buffer.from('"')])
          : Buffer.concat([Buffer.from('{"note":"'), a, Buffer.from('","secret":"'), b, Buffer.from('","token":"x"}')]);
        if (a.length > 16 || b.length > 16) long += 1;
        agree(splice, general, body, JSON_TYPE, JSON.stringify(body.toString('latin1')));
      }),
      { numRuns: RUNS },
    );
    assert.ok(long >= RUNS * 0.5, `only ${long} of ${RUNS} cases had a string longer than 16 bytes`);
  });

  it('hand-picked texts at the edge of JSON: the decision JSON.parse makes', () => {
    const texts = [
      '{"secret":01}',
      '{"secret":-}',
      '{"secret":1.}',
      '{"secret":.5}',
      '{"secret":1e}',
      '{"secret":+1}',
      '{"secret":1,}',
      '[1,]',
      '{"secret":[1,]}',
      '{,}',
      '{"secret":"\\x"}',
      '{"secret":"\\u12"}',
      '{"secret":"\\u12g4"}',
      '{"secret":"a\u0001"}',
      '{"secret":"a\tb"}',
      '{"secret":NaN}',
      '{"secret":Infinity}',
      "{'secret':1}",
      '{"secret":1/*c*/}',
      '{"secret" 1}',
      '{secret:1}',
      '{"secret":1}}',
      '{"secret":1} x',
      '',
      ' ',
      '\ufeff',
      '\ufeff\ufeff{"secret":1}',
      '\ufeff {"secret":1}',
      ' \ufeff{"secret":1}',
      '{"secret":tru}',
      '{"secret":nul}',
      '{"secret":falsey}',
      '{"secret":"\\ud800"}',
      '{"secret":"\\udc00\\ud800"}',
      '{"secret":"\u007f"}',
      '{"secret":-0}',
      '{"secret":0e0}',
      '{"secret":0.0E-00}',
      '{"secret":1e400}',
      '{"secret":"a"}\u0000',
      '{"secret":"a"}\u00a0',
      '\u00a0{"secret":"a"}',
      '{"secret" :\r\n\t"a" }',
      '{"":{"secret":{}}}',
      '{"secret":{"secret":{"secret":1}}}',
      '{"a":1,"a":{"secret":2}}',
      '{"secret":1,"secret":2}',
      '{"s\\u0065cret":1}',
      '{"secr\u00e9t":1}',
      '{"secret":"[CLIENT_REDACTED]"}',
      '{"secret":"[CLIENT\\u005fREDACTED]"}',
      '["secret",{"secret":[{"secret":null}]}]',
      '"secret"',
      '42',
      'null',
      '{"password":{"secret":1},"card":{"cvv":[1]}}',
    ];
    const rulesets = [
      ['$..secret'],
      ['$.password', '$.card.cvv', '$..secret'],
      ['$.secret.secret', '$..secret'],
      ['$..secret', '$.secret'],
      ['$.a.secret'],
    ];
    for (const paths of rulesets) {
      const { splice, general } = pair(paths);
      for (const text of texts) {
        const body = Buffer.from(text);
        for (const contentType of [JSON_TYPE, undefined])
          agree(splice, general, body, contentType, `${JSON.stringify(paths)} on ${JSON.stringify(text)}`);
      }
    }
  });

  it('a repeated member name on a selected path: every occurrence hidden (through the general path)', () => {
    const redactor = compileRedactor({ redactRequestBody: ['$.user.secret', '$..token'] });
    for (const text of [
      '{"user":{"secret":"first"},"user":{"secret":"second"}}',
      '{"user":{"secret":"first","secret":"second"}}',
      '{"x":[{"token":"first","token":"second"}]}',
    ]) {
      const out = redactor.requestBody(Buffer.from(text), JSON_TYPE).body.toString();
      assert.ok(!out.includes('first') && !out.includes('second'), `${text} -> ${out}`);
    }
  });

  it('nesting at the recursion limit: the scanner gives up and the general path decides', () => {
    const { splice, general } = pair(['$..a', '$.b.n']);
    for (const levels of [1019, 1020, 1021, 1022, 1023]) {
      for (const [open, close] of [
        ['{"n":', '}'],
        ['[', ']'],
      ] as const) {
        const body = Buffer.from(`{"a":"top-secret","b":${open.repeat(levels)}{"a":1}${close.repeat(levels)}}`);
        agree(splice, general, body, JSON_TYPE, `${levels} levels of ${open}`);
      }
    }
  });

  it('the scanner alone: spans, counts, giving up', () => {
    const plan = compileSplice(
      [
        { kind: 'members', names: ['a', 'b'] },
        { kind: 'descendant', name: 'b' },
      ],
      REDACTED,
      1024,
    )!;
    const result = spliceJson(Buffer.from('{"a":{"b":{"b":[1]}} , "c":[{"b" : 2}]}'), plan)!;
    assert.equal(result.body.toString(), `{"a":{"b":${MARKER}} , "c":[{"b" : ${MARKER}}]}`);
    // Both rules select in the body as received: `$.a.b` a.b; `$..b` a.b, the b inside it and c's.
    // Two values are replaced: a.b (with the b inside it) and c's.
    assert.deepEqual([result.redactions, result.matches], [2, [1, 3]]);
    assert.equal(spliceJson(Buffer.from('{"a":1,"a":2}'), plan), null);
    assert.equal(spliceJson(Buffer.from('{"a":1'), plan), null);
    assert.equal(spliceJson(Buffer.from('{"\\u0061":1}'), plan), null);
    const nothing = Buffer.from('{"x":1}');
    assert.equal(spliceJson(nothing, plan)!.body, nothing);
    assert.equal(
      compileSplice(
        Array.from({ length: 31 }, () => ({ kind: 'descendant' as const, name: 'x' })),
        REDACTED,
        1024,
      ),
      null,
    );
  });
});
