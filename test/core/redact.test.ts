import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { jsonpath } from 'json-p3';
import { OptionsInvalidError, RedactPathInvalidError } from '../../src/core/errors.js';
import { REDACTED } from '../../src/core/record.js';
import {
  ALWAYS_REDACTED_HEADERS,
  compileRedactor,
  normalizeJsonPath,
  type BodyRedaction,
  type RedactOptions,
} from '../../src/core/redact/index.js';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';
const MARKER_BODY = JSON.stringify(REDACTED);

function requestJson(
  paths: string[],
  body: unknown,
  contentType: string | undefined = JSON_TYPE,
): { value: unknown; result: BodyRedaction } {
  const result = compileRedactor({ redactRequestBody: paths }).requestBody(Buffer.from(JSON.stringify(body)), contentType);
  return { value: JSON.parse(result.body.toString('utf8')), result };
}

function redactedJson(paths: string[], body: unknown): unknown {
  return requestJson(paths, body).value;
}

function expectThrows(
  options: RedactOptions,
  expected: { ctor: abstract new (...args: never[]) => Error; code: string; option: string; mentions: string[] },
): void {
  assert.throws(
    () => compileRedactor(options),
    (error: unknown) => {
      assert.ok(error instanceof expected.ctor, `expected ${expected.ctor.name}, got ${String(error)}`);
      const e = error as Error & { code: string; option: string };
      assert.equal(e.code, expected.code);
      assert.equal(e.option, expected.option);
      for (const text of expected.mentions) assert.ok(e.message.includes(text), `message ${JSON.stringify(e.message)} lacks ${text}`);
      return true;
    },
  );
}

describe('normalizeJsonPath', () => {
  const table: [string, string][] = [
    ['$.credit-card.cvv', "$['credit-card'].cvv"],
    ['user.books[*].author', '$.user.books[*].author'],
    ['.user.x', '$.user.x'],
    ['..token', '$..token'],
    ["['a b'].c", "$['a b'].c"],
    ['$..token', '$..token'],
    ['$..credit-card', "$..['credit-card']"],
    ['$.items[*].card', '$.items[*].card'],
    ['$.a[0].b', '$.a[0].b'],
    ["$['quoted name']", "$['quoted name']"],
    ['$["x.y"]', '$["x.y"]'],
    ['$["x.y"].credit-card', `$["x.y"]['credit-card']`],
    ['$.*', '$.*'],
    ['$.a[*]', '$.a[*]'],
    ['$', '$'],
    ['$.a[?@.x == 1]', '$.a[?@.x == 1]'],
    ["$.a[?@['k-1'] == 'x].y'].b-c", "$.a[?@['k-1'] == 'x].y']['b-c']"],
    ['$.a[?@.b[0] == "]"].c', '$.a[?@.b[0] == "]"].c'],
    ['$.a.0', "$.a['0']"],
    ['$.a.12.b', "$.a['12'].b"],
    ['$.a.0x', "$.a['0x']"],
    ['$.a1._b', '$.a1._b'],
    ['$.名前', '$.名前'],
    ['$.café-au-lait', "$['café-au-lait']"],
    ["$.it's", "$['it\\'s']"],
    ['$.back\\slash', "$['back\\\\slash']"],
    ['$."x.y".z', '$["x.y"].z'],
    ['$.a .b', '$.a .b'],
    ['  $.a  ', '$.a'],
    ['$.user.password', '$.user.password'],
  ];
  for (const [input, expected] of table) {
    it(`${input} -> ${expected}`, () => {
      assert.equal(normalizeJsonPath(input), expected);
    });
  }

  it('produces paths json-p3 compiles in strict RFC 9535 mode', () => {
    for (const [input] of table) {
      assert.doesNotThrow(() => jsonpath.compile(normalizeJsonPath(input)), input);
    }
  });

  it('leaves an empty path empty so it cannot turn into "$" (the whole body)', () => {
    assert.equal(normalizeJsonPath(''), '');
    assert.equal(normalizeJsonPath('   '), '');
  });

  it('trims only the blanks RFC 9535 knows: U+00A0, U+FEFF and U+2028 are name characters', () => {
    assert.equal(normalizeJsonPath(' \t\r\n$.a\n '), '$.a');
    assert.equal(normalizeJsonPath('\u00a0.password'), '$.\u00a0.password');
    assert.equal(normalizeJsonPath('\ufeff.password'), '$.\ufeff.password');
    assert.equal(normalizeJsonPath('$.a\u2028'), '$.a\u2028');
  });
});

describe('a name with a no-break space is that name, not a blank', () => {
  it('"\u00a0.password" hides the password under the member named U+00A0, not the top-level one', () => {
    const body = { password: 'top', '\u00a0': { password: 'under-nbsp' } };
    const { value, result } = requestJson(['\u00a0.password'], body);
    assert.deepEqual(value, { password: 'top', '\u00a0': { password: REDACTED } });
    assert.equal(result.redactions, 1);
  });

  it('a rule of only a no-break space names that member; it is not an empty path', () => {
    assert.deepEqual(redactedJson(['\u00a0'], { '\u00a0': 1, a: 2 }), { '\u00a0': REDACTED, a: 2 });
  });
});

describe('control characters escaped as RFC 9535 allows (\\u0000-\\u001f)', () => {
  // json-p3 2.3.1 refuses these escapes; the SDK compiles them (see rules.ts controlEscapesAside).
  const body = {
    'a\tb': 'tab',
    'x\u0001y': 'soh',
    n: { '\u001f': 'us', keep: 'k1' },
    '\u0000': 'nul',
    list: [
      { k: 'v\u0002', s: 'filtered' },
      { k: 'v', s: 'k2' },
    ],
    '\ue001': 'k3',
    '\u0001': 'k4',
  };
  const rules = ["$['a\\u0009b']", '$["x\\u0001y"]', "$..['\\u001F']", "$['\\u0000']", "$.list[?@.k == 'v\\u0002'].s"];

  it('in names and filter strings: each selects the member it escapes, nothing else', () => {
    const { value, result } = requestJson(rules, body);
    assert.deepEqual(value, {
      'a\tb': REDACTED,
      'x\u0001y': REDACTED,
      n: { '\u001f': REDACTED, keep: 'k1' },
      '\u0000': REDACTED,
      list: [
        { k: 'v\u0002', s: REDACTED },
        { k: 'v', s: 'k2' },
      ],
      '\ue001': 'k3',
      '\u0001': 'k4',
    });
    assert.equal(result.redactions, 5);
  });

  it('a path that also holds the private-use characters the SDK stands in with keeps them apart', () => {
    assert.deepEqual(redactedJson(["$['\\ue001']", "$['\\u0001']"], { '\ue001': 1, '\u0001': 2, '\ue021': 3 }), {
      '\ue001': REDACTED,
      '\u0001': REDACTED,
      '\ue021': 3,
    });
    assert.deepEqual(redactedJson(["$['\ue001\\u0001']"], { '\ue001\u0001': 1, '\ue001\ue001': 2 }), {
      '\ue001\u0001': REDACTED,
      '\ue001\ue001': 2,
    });
  });

  it('an escaped backslash before u is not an escape', () => {
    assert.deepEqual(redactedJson(["$['\\\\u0001']"], { '\\u0001': 1, '\u0001': 2 }), { '\\u0001': REDACTED, '\u0001': 2 });
  });

  it('a raw control character in dot notation is escaped, then compiled the same way', () => {
    assert.deepEqual(redactedJson(['$.ctl\u0001'], { 'ctl\u0001': 1, ctl: 2 }), { 'ctl\u0001': REDACTED, ctl: 2 });
  });
});

describe('body redaction by path form', () => {
  it('$.credit-card.cvv redacts the dashed member', () => {
    const body = { 'credit-card': { cvv: '123', number: '4111' }, credit: { card: 'keep' } };
    assert.deepEqual(redactedJson(['$.credit-card.cvv'], body), {
      'credit-card': { cvv: REDACTED, number: '4111' },
      credit: { card: 'keep' },
    });
  });

  it('user.books[*].author (no leading $) redacts every author', () => {
    const body = {
      user: {
        books: [
          { author: 'A', title: 'T1' },
          { author: 'B', title: 'T2' },
        ],
      },
    };
    assert.deepEqual(redactedJson(['user.books[*].author'], body), {
      user: {
        books: [
          { author: REDACTED, title: 'T1' },
          { author: REDACTED, title: 'T2' },
        ],
      },
    });
  });

  it('.user.password (leading dot) is anchored at the root', () => {
    assert.deepEqual(redactedJson(['.user.password'], { user: { password: 'p', name: 'n' } }), { user: { password: REDACTED, name: 'n' } });
  });

  it('$..token redacts at every depth, inside arrays too', () => {
    const body = { token: 't0', a: { token: 't1', b: { c: { token: 't3' } } }, list: [{ token: 't2' }, { other: 1 }], tokens: 'keep' };
    const { value, result } = requestJson(['$..token'], body);
    assert.deepEqual(value, {
      token: REDACTED,
      a: { token: REDACTED, b: { c: { token: REDACTED } } },
      list: [{ token: REDACTED }, { other: 1 }],
      tokens: 'keep',
    });
    assert.equal(result.redactions, 4);
  });

  it('$..token nested in a token is counted once (the parent hides it)', () => {
    const { value, result } = requestJson(['$..token'], { token: { token: 'inner' } });
    assert.deepEqual(value, { token: REDACTED });
    assert.equal(result.redactions, 1);
  });

  it("$..token works deeper than json-p3's default recursion limit of 50", () => {
    let body: unknown = { token: 'deep-secret' };
    for (let i = 0; i < 80; i += 1) body = { n: body };
    const { result } = requestJson(['$..token'], body);
    assert.equal(result.redactions, 1);
    assert.equal(result.unparsable, false);
    assert.ok(!result.body.includes('deep-secret'));
  });

  it('$.items[*].card and $.a[0].b', () => {
    const body = { items: [{ card: 1 }, { card: 2 }], a: [{ b: 'x' }, { b: 'y' }] };
    assert.deepEqual(redactedJson(['$.items[*].card', '$.a[0].b'], body), {
      items: [{ card: REDACTED }, { card: REDACTED }],
      a: [{ b: REDACTED }, { b: 'y' }],
    });
  });

  it('$[\'quoted name\'] and $["x.y"] select literal names (dots in quotes are not separators)', () => {
    const body = { 'quoted name': 1, 'x.y': 2, x: { y: 3 } };
    assert.deepEqual(redactedJson(["$['quoted name']", '$["x.y"]'], body), { 'quoted name': REDACTED, 'x.y': REDACTED, x: { y: 3 } });
  });

  it('$.* redacts every top-level member', () => {
    assert.deepEqual(redactedJson(['$.*'], { a: 1, b: { c: 2 } }), { a: REDACTED, b: REDACTED });
  });

  it('filter expressions select by content', () => {
    const body = {
      users: [
        { role: 'admin', password: 'p1' },
        { role: 'user', password: 'p2' },
      ],
    };
    assert.deepEqual(redactedJson(["$.users[?@.role == 'admin'].password"], body), {
      users: [
        { role: 'admin', password: REDACTED },
        { role: 'user', password: 'p2' },
      ],
    });
  });

  it('$.a.0 means the member named "0", not array index 0', () => {
    assert.deepEqual(redactedJson(['$.a.0'], { a: { 0: 'x', 1: 'y' } }), { a: { 0: REDACTED, 1: 'y' } });
    assert.deepEqual(redactedJson(['$.a.0'], { a: ['x', 'y'] }), { a: ['x', 'y'] });
  });

  it('replaces objects, arrays, numbers, booleans and null whole', () => {
    const body = { o: { deep: { secret: 's' } }, arr: [1, [2, 3]], n: 42, b: false, z: null };
    const { value, result } = requestJson(['$.o', '$.arr', '$.n', '$.b', '$.z'], body);
    assert.deepEqual(value, { o: REDACTED, arr: REDACTED, n: REDACTED, b: REDACTED, z: REDACTED });
    assert.equal(result.redactions, 5);
  });

  it('a match on the root replaces the whole body with the JSON string marker', () => {
    const { result } = requestJson(['$'], { secret: 's' });
    assert.equal(result.body.toString(), MARKER_BODY);
    assert.equal(result.redactions, 1);
    assert.equal(result.unparsable, false);
  });

  it('a parent and a child rule: the parent is hidden whole and counted once', () => {
    const { value, result } = requestJson(['$.a', '$.a.b'], { a: { b: 1 }, c: 2 });
    assert.deepEqual(value, { a: REDACTED, c: 2 });
    assert.equal(result.redactions, 1);
  });

  it('the same value matched by two rules is counted once; duplicate rules too', () => {
    assert.equal(requestJson(['$.a', '$.*', '$.a'], { a: 1 }).result.redactions, 1);
  });

  it('a top-level array body', () => {
    assert.deepEqual(redactedJson(['$[*].pin'], [{ pin: 1 }, { pin: 2 }]), [{ pin: REDACTED }, { pin: REDACTED }]);
  });

  it('no match leaves the content equal and the count at 0', () => {
    const { value, result } = requestJson(['$.missing', '$..nope'], { a: 1 });
    assert.deepEqual(value, { a: 1 });
    assert.equal(result.redactions, 0);
  });

  it('unicode keys, in shorthand and bracket form', () => {
    const body = { 名前: 'n', 'café-au-lait': 'c', ключ: 'k', '😀': 'e', keep: 1 };
    assert.deepEqual(redactedJson(['$.名前', '$.café-au-lait', "$['ключ']", '$.😀'], body), {
      名前: REDACTED,
      'café-au-lait': REDACTED,
      ключ: REDACTED,
      '😀': REDACTED,
      keep: 1,
    });
  });

  it('names with quotes and backslashes are escaped, not injected', () => {
    const body = { "it's": 1, 'back\\slash': 2, other: 3 };
    assert.deepEqual(redactedJson(["$.it's", '$.back\\slash'], body), { "it's": REDACTED, 'back\\slash': REDACTED, other: 3 });
  });
});

describe('__proto__ keys', () => {
  it('a JSON member named __proto__ is redacted and Object.prototype is untouched', () => {
    const raw = '{"__proto__":{"polluted":"secret-proto"},"a":1}';
    const result = compileRedactor({ redactRequestBody: ['$.__proto__'] }).requestBody(Buffer.from(raw), JSON_TYPE);
    assert.equal(result.body.toString(), `{"__proto__":"${REDACTED}","a":1}`);
    assert.equal(result.redactions, 1);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  });

  it('a member inside __proto__ is reachable and redacted in place', () => {
    const raw = '{"__proto__":{"polluted":"secret-proto","keep":1}}';
    const result = compileRedactor({ redactRequestBody: ["$['__proto__'].polluted"] }).requestBody(Buffer.from(raw), JSON_TYPE);
    assert.equal(result.body.toString(), `{"__proto__":{"polluted":"${REDACTED}","keep":1}}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a form field named __proto__ becomes a member, not a prototype', () => {
    const redactor = compileRedactor({ redactRequestBody: ['$.__proto__'] });
    const result = redactor.requestBody(Buffer.from('__proto__=secret-proto&a=1'), FORM_TYPE);
    assert.equal(result.body.toString(), `{"__proto__":"${REDACTED}","a":"1"}`);
    const plain = compileRedactor({}).requestBody(Buffer.from('__proto__=x&__proto__=y'), FORM_TYPE);
    assert.equal(plain.body.toString(), '{"__proto__":["x","y"]}');
  });

  it('a header named __proto__ stays a plain member of the copy', () => {
    const input = JSON.parse('{"__proto__":["v"],"host":["h"]}') as Record<string, string[]>;
    const { headers } = compileRedactor({ redactHeaders: ['__proto__'] }).headers(input);
    assert.ok(Object.hasOwn(headers, '__proto__'));
    assert.deepEqual(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, [REDACTED]);
    assert.equal(Object.getPrototypeOf(headers), Object.prototype);
  });
});

describe('request and response rules are separate', () => {
  const redactor = compileRedactor({ redactRequestBody: ['$.password'], redactResponseBody: ['$.token'] });
  const body = Buffer.from(JSON.stringify({ password: 'pw-secret', token: 'tok-secret' }));

  it('request rules apply to the request body only', () => {
    const value = JSON.parse(redactor.requestBody(body, JSON_TYPE).body.toString());
    assert.deepEqual(value, { password: REDACTED, token: 'tok-secret' });
  });

  it('response rules apply to the response body only', () => {
    const value = JSON.parse(redactor.responseBody(body, JSON_TYPE).body.toString());
    assert.deepEqual(value, { password: 'pw-secret', token: REDACTED });
  });

  it('a side without rules is not parsed: the very same Buffer comes back', () => {
    const requestOnly = compileRedactor({ redactRequestBody: ['$.password'] });
    assert.equal(requestOnly.hasRequestBodyRules, true);
    assert.equal(requestOnly.hasResponseBodyRules, false);
    const result = requestOnly.responseBody(body, JSON_TYPE);
    assert.equal(result.body, body);
    assert.equal(result.redactions, 0);
    const broken = Buffer.from('{"password": "x"');
    assert.equal(requestOnly.responseBody(broken, JSON_TYPE).body, broken);
  });

  it('reports which sides have rules', () => {
    const none = compileRedactor({});
    assert.equal(none.hasRequestBodyRules, false);
    assert.equal(none.hasResponseBodyRules, false);
    assert.equal(compileRedactor({ redactResponseBody: ['$.a'] }).hasResponseBodyRules, true);
  });
});

describe('form bodies', () => {
  it('are redacted by the same JSONPath rules', () => {
    const redactor = compileRedactor({ redactRequestBody: ['$.password', '$.card-number'] });
    const result = redactor.requestBody(Buffer.from('user=alice&password=hunter2&card-number=4111'), FORM_TYPE);
    assert.deepEqual(JSON.parse(result.body.toString()), { user: 'alice', password: REDACTED, 'card-number': REDACTED });
    assert.equal(result.redactions, 2);
    assert.ok(!result.body.includes('hunter2'));
  });

  it('a repeated key becomes an array of its values, in order', () => {
    const result = compileRedactor({}).requestBody(Buffer.from('tag=a&x=1&tag=b&tag=c'), FORM_TYPE);
    assert.equal(result.body.toString(), '{"tag":["a","b","c"],"x":"1"}');
  });

  it('rules can address one element of a repeated key', () => {
    const redactor = compileRedactor({ redactRequestBody: ['$.pin[1]'] });
    const result = redactor.requestBody(Buffer.from('pin=1&pin=2'), FORM_TYPE);
    assert.deepEqual(JSON.parse(result.body.toString()), { pin: ['1', REDACTED] });
  });

  it('are converted to a JSON object even without rules, with percent-decoding', () => {
    const result = compileRedactor({}).requestBody(
      Buffer.from('name=J%C3%B6rg+M&empty=&flag'),
      'Application/X-WWW-Form-Urlencoded; charset=UTF-8',
    );
    assert.deepEqual(JSON.parse(result.body.toString()), { name: 'Jörg M', empty: '', flag: '' });
    assert.equal(result.redactions, 0);
  });

  it('response form bodies use the response rules', () => {
    const redactor = compileRedactor({ redactRequestBody: ['$.a'], redactResponseBody: ['$.b'] });
    const result = redactor.responseBody(Buffer.from('a=1&b=2'), FORM_TYPE);
    assert.deepEqual(JSON.parse(result.body.toString()), { a: '1', b: REDACTED });
  });
});

describe('unparsable and truncated JSON', () => {
  const redactor = compileRedactor({ redactRequestBody: ['$.password'] });

  for (const [name, raw] of [
    ['invalid JSON', 'not json password=secret-value'],
    ['truncated JSON', '{"user":"a","password":"secret-value","more":'],
  ] as const) {
    it(`${name} with rules becomes the marker and is flagged`, () => {
      const result = redactor.requestBody(Buffer.from(raw), JSON_TYPE);
      assert.equal(result.body.toString(), MARKER_BODY);
      assert.equal(result.unparsable, true);
      assert.equal(result.redactions, 1);
      assert.ok(!result.body.includes('secret-value'));
    });
  }

  it('unparsable JSON without rules is returned unchanged', () => {
    const raw = Buffer.from('{"password":"secret-value"');
    const result = compileRedactor({}).requestBody(raw, JSON_TYPE);
    assert.equal(result.body, raw);
    assert.equal(result.unparsable, false);
    assert.equal(result.redactions, 0);
  });

  it('a body too deep to evaluate is withheld rather than leaked', () => {
    const depth = 20_000;
    const raw = Buffer.from(`${'{"a":'.repeat(depth)}{"password":"secret-value"}${'}'.repeat(depth)}`);
    const result = compileRedactor({ redactRequestBody: ['$..password'] }).requestBody(raw, JSON_TYPE);
    assert.equal(result.body.toString(), MARKER_BODY);
    assert.equal(result.unparsable, true);
  });

  it("a body that cannot contain a rule's member name is left byte for byte as it was, unread", () => {
    const raw = Buffer.from('{ "user" : { "name": "ada" },\n  "big": 12345678901234567890 }');
    const result = compileRedactor({ redactRequestBody: ['$..password', '$.user.token'] }).requestBody(raw, JSON_TYPE);
    assert.equal(result.body, raw, 'the same bytes: formatting and big integers kept');
    assert.equal(result.redactions, 0);
  });

  it('a member name written with \\u escapes is still found and redacted', () => {
    const raw = Buffer.from('{"pass\\u0077ord":"hunter2","other":1}');
    const result = compileRedactor({ redactRequestBody: ['$.password'] }).requestBody(raw, JSON_TYPE);
    assert.equal(result.body.toString(), `{"password":"${REDACTED}","other":1}`);
    assert.ok(!result.body.toString().includes('hunter2'));
  });

  it('a body that matches no rule keeps its bytes; one that matches keeps its formatting around the markers', () => {
    const r = compileRedactor({ redactResponseBody: ['$.token'] });
    const untouched = Buffer.from('{"token_type": "bearer",  "n": 1.50}');
    assert.equal(r.responseBody(untouched, JSON_TYPE).body, untouched);
    assert.equal(
      r.responseBody(Buffer.from('{"token": "t",  "n": 1.50}'), JSON_TYPE).body.toString(),
      `{"token": "${REDACTED}",  "n": 1.50}`,
    );
  });

  it('a member name with several JSON spellings (here `/`, written `\\/`) is always evaluated', () => {
    const raw = Buffer.from('{"a\\/b":"secret-slash"}');
    const result = compileRedactor({ redactRequestBody: ["$['a/b']"] }).requestBody(raw, JSON_TYPE);
    assert.equal(result.body.toString(), `{"a/b":"${REDACTED}"}`);
  });

  it("a malformed JSON body is withheld even when no rule's member name appears in it", () => {
    const result = compileRedactor({ redactRequestBody: ['$.password'] }).requestBody(Buffer.from('{"user": "ada"'), JSON_TYPE);
    assert.equal(result.body.toString(), MARKER_BODY);
    assert.equal(result.unparsable, true);
  });

  it('a UTF-8 byte order mark does not make JSON unparsable', () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"password":"p","a":1}')]);
    const result = redactor.requestBody(raw, JSON_TYPE);
    assert.equal(result.body.toString(), `{"password":"${REDACTED}","a":1}`);
    assert.equal(result.unparsable, false);
  });

  it('an empty body stays empty whatever the content type', () => {
    const empty = Buffer.alloc(0);
    for (const type of [JSON_TYPE, FORM_TYPE, undefined]) {
      const result = redactor.requestBody(empty, type);
      assert.equal(result.body.length, 0);
      assert.equal(result.unparsable, false);
    }
  });
});

describe('content types', () => {
  const redactor = compileRedactor({ redactRequestBody: ['$.secret'], redactResponseBody: ['$.secret'] });
  const raw = Buffer.from('{"secret":"s3cr3t","ok":true}');
  const redactedText = `{"secret":"${REDACTED}","ok":true}`;

  for (const type of [
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    ' Application/Json ;charset=UTF-8',
    'application/problem+json',
    'application/vnd.api+json',
    'application/merge-patch+json; charset=utf-8',
    'text/json',
    'application/x-json',
    'text/x-json; charset=utf-8',
  ]) {
    it(`${JSON.stringify(type)} is JSON`, () => {
      assert.equal(redactor.requestBody(raw, type).body.toString(), redactedText);
      assert.equal(redactor.responseBody(raw, type).body.toString(), redactedText);
    });
  }

  it('text/plain that holds JSON is JSON (an app may parse it as such)', () => {
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'TEXT/PLAIN']) {
      assert.equal(redactor.requestBody(raw, type).body.toString(), redactedText, type);
      assert.equal(redactor.responseBody(raw, type).body.toString(), redactedText, type);
    }
    const text = Buffer.from('hello {"secret": 1}');
    assert.equal(redactor.requestBody(text, 'text/plain').body, text, 'text that does not start like JSON is text');
  });

  for (const type of ['text/html', 'application/octet-stream', 'application/xml', 'image/png']) {
    it(`${JSON.stringify(type)} is left as it is`, () => {
      const result = redactor.requestBody(raw, type);
      assert.equal(result.body, raw);
      assert.equal(result.redactions, 0);
    });
  }

  it('JSON sequences and lines (application/jsonl, json-seq, x-ndjson) are not one document: withheld under rules', () => {
    const lines = Buffer.from('{"secret":"a"}\n{"secret":"b"}\n');
    for (const type of ['application/jsonl', 'application/json-seq', 'application/x-ndjson']) {
      const result = redactor.responseBody(lines, type);
      assert.equal(result.body.toString(), MARKER_BODY, type);
      assert.equal(result.unparsable, true);
      assert.equal(compileRedactor({}).responseBody(lines, type).body, lines, 'without rules: as it is');
    }
  });

  it('no content type: a body that looks like JSON and parses is redacted', () => {
    assert.equal(redactor.requestBody(Buffer.from(' \n{"secret":"s3cr3t","ok":true}'), undefined).body.toString(), ` \n${redactedText}`);
    assert.equal(redactor.requestBody(raw, '').body.toString(), redactedText);
    const array = compileRedactor({ redactRequestBody: ['$[0].secret'] }).requestBody(Buffer.from('[{"secret":"x"}]'), undefined);
    assert.equal(array.body.toString(), `[{"secret":"${REDACTED}"}]`);
  });

  it('no content type, with a byte order mark: still JSON, and redacted', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), raw]);
    for (const type of [undefined, '', 'text/plain']) {
      const result = redactor.requestBody(bom, type);
      assert.ok(!result.body.toString().includes('s3cr3t'), `${type}: ${result.body.toString()}`);
      assert.equal(result.redactions, 1);
    }
  });

  it('no content type: a body that starts like JSON but does not parse (cut, or not JSON after all) is withheld', () => {
    for (const text of ['{"secret": "s3cr3t"', '{"secret": "s3cr3t", "pad": "xxxxx', '[{"secret": 1}', '{not json at all}']) {
      for (const type of [undefined, 'text/plain']) {
        const result = redactor.requestBody(Buffer.from(text), type);
        assert.equal(result.body.toString(), MARKER_BODY, text);
        assert.equal(result.unparsable, true);
      }
    }
  });

  it('no content type: anything else is left as it is', () => {
    for (const text of ['"secret"', '42', 'secret=s3cr3t', 'plain text']) {
      const body = Buffer.from(text);
      const result = redactor.requestBody(body, undefined);
      assert.equal(result.body, body, text);
      assert.equal(result.unparsable, false);
    }
  });

  it('no content type, gzip by its magic bytes: decoded and redacted; withheld when it cannot be decoded', () => {
    const gz = gzipSync(raw);
    assert.equal(redactor.requestBody(gz, undefined).body.toString(), redactedText);
    assert.equal(redactor.responseBody(gz, 'text/plain').body.toString(), redactedText);
    // Cut (as at maxBodyBytes), corrupt, or past the limit: withheld.
    for (const bad of [gz.subarray(0, gz.length - 6), Buffer.concat([gz.subarray(0, 12), Buffer.alloc(20, 7)])]) {
      const result = redactor.requestBody(bad, undefined);
      assert.equal(result.body.toString(), MARKER_BODY);
      assert.equal(result.unparsable, true);
    }
    const big = gzipSync(Buffer.from(JSON.stringify({ secret: 'x'.repeat(5000) })));
    const small = compileRedactor({ redactRequestBody: ['$.secret'], maxBodyBytes: 1000 });
    assert.equal(small.requestBody(big, undefined).body.toString(), MARKER_BODY);
    assert.equal(small.requestBody(gzipSync(gz), undefined).body.toString(), MARKER_BODY, 'gzip in gzip');
    const text = gzipSync('just text');
    assert.equal(redactor.requestBody(text, undefined).body.toString(), 'just text', 'decoded text is recorded decoded');
    assert.equal(compileRedactor({}).requestBody(gz, undefined).body, gz, 'without rules: as it came');
  });

  it('a multipart body the SDK cannot read is withheld under rules (no boundary, or no delimiter in it)', () => {
    for (const type of [
      'multipart/form-data; boundary=x',
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary="unterminated',
    ]) {
      const result = redactor.requestBody(raw, type);
      assert.equal(result.body.toString(), MARKER_BODY, type);
      assert.equal(compileRedactor({}).requestBody(raw, type).body, raw, 'without rules: as it is');
    }
  });
});

describe('headers', () => {
  it('ALWAYS_REDACTED_HEADERS lists the credential headers and cannot be changed', () => {
    assert.deepEqual([...ALWAYS_REDACTED_HEADERS], ['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);
    assert.ok(Object.isFrozen(ALWAYS_REDACTED_HEADERS));
  });

  it('defaults are redacted without any option, under any casing', () => {
    const input = {
      Authorization: ['Bearer secret-token'],
      COOKIE: ['sid=secret-cookie'],
      'set-cookie': ['a=secret-1', 'b=secret-2'],
      'Proxy-Authorization': ['Basic secret-proxy'],
      'content-type': ['application/json'],
    };
    const { headers, redactions } = compileRedactor({}).headers(input);
    assert.deepEqual(headers, {
      authorization: [REDACTED],
      cookie: [REDACTED],
      'set-cookie': [REDACTED],
      'proxy-authorization': [REDACTED],
      'content-type': ['application/json'],
    });
    assert.equal(redactions, 5);
    assert.ok(!JSON.stringify(headers).includes('secret'));
  });

  it('user names are added to the defaults and matched case-insensitively', () => {
    const redactor = compileRedactor({ redactHeaders: ['X-API-Key', 'x-secret'] });
    for (const name of ['x-api-key', 'X-API-KEY', 'X-Api-Key', 'x-API-kEy']) {
      const { headers, redactions } = redactor.headers({ [name]: ['k1', 'k2', 'k3'], 'X-SECRET': ['s'], authorization: ['a'] });
      assert.deepEqual(headers, { 'x-api-key': [REDACTED], 'x-secret': [REDACTED], authorization: [REDACTED] });
      assert.equal(redactions, 5);
    }
  });

  it('returns a new object, leaves the input alone and copies unmatched arrays', () => {
    const input = { authorization: ['secret'], accept: ['a', 'b'] };
    const { headers } = compileRedactor({}).headers(input);
    assert.notEqual(headers, input);
    assert.deepEqual(input, { authorization: ['secret'], accept: ['a', 'b'] });
    assert.notEqual(headers.accept, input.accept);
    input.accept.push('late');
    assert.deepEqual(headers.accept, ['a', 'b']);
  });

  it("takes node's header shapes (strings, numbers, arrays, undefined) to the wire format's arrays", () => {
    const { headers } = compileRedactor({}).headers({ 'Content-Length': 42, etag: 'W/"x"', vary: ['a', 'b'], gone: undefined });
    assert.deepEqual(headers, { 'content-length': ['42'], etag: ['W/"x"'], vary: ['a', 'b'] });
  });

  it('a matched header with no values stays empty and is not counted', () => {
    const { headers, redactions } = compileRedactor({}).headers({ cookie: [] });
    assert.deepEqual(headers, { cookie: [] });
    assert.equal(redactions, 0);
  });

  it('header names are trimmed', () => {
    const { headers } = compileRedactor({ redactHeaders: [' X-Token '] }).headers({ 'x-token': ['t'] });
    assert.deepEqual(headers, { 'x-token': [REDACTED] });
  });
});

describe('invalid configuration', () => {
  const OPTIONS = 'APITOOLKIT_ERR_OPTIONS_INVALID';
  const PATH = 'APITOOLKIT_ERR_REDACT_PATH_INVALID';

  it('a JSONPath that cannot compile names the option index and the path', () => {
    expectThrows(
      { redactRequestBody: ['$.ok', '$.a[?'] },
      { ctor: RedactPathInvalidError, code: PATH, option: 'redactRequestBody[1]', mentions: ['redactRequestBody[1]', '"$.a[?"'] },
    );
    expectThrows(
      { redactResponseBody: ['$[', '$.ok'] },
      { ctor: RedactPathInvalidError, code: PATH, option: 'redactResponseBody[0]', mentions: ['redactResponseBody[0]', '"$["'] },
    );
    expectThrows(
      { redactRequestBody: ['$.a..'] },
      { ctor: RedactPathInvalidError, code: PATH, option: 'redactRequestBody[0]', mentions: ['"$.a.."'] },
    );
    expectThrows(
      { redactRequestBody: ['$.a[?nope(@)]'] },
      { ctor: RedactPathInvalidError, code: PATH, option: 'redactRequestBody[0]', mentions: ['"$.a[?nope(@)]"'] },
    );
  });

  it('the error keeps the original path and the json-p3 error as cause', () => {
    try {
      compileRedactor({ redactRequestBody: ['$.a[?'] });
      assert.fail('expected a throw');
    } catch (error) {
      assert.ok(error instanceof RedactPathInvalidError);
      assert.equal(error.path, '$.a[?');
      assert.ok(error.cause instanceof Error);
    }
  });

  it('an empty or blank path is rejected', () => {
    expectThrows(
      { redactRequestBody: [''] },
      { ctor: RedactPathInvalidError, code: PATH, option: 'redactRequestBody[0]', mentions: ['redactRequestBody[0]', 'empty'] },
    );
    expectThrows(
      { redactResponseBody: ['$.a', '  '] },
      { ctor: RedactPathInvalidError, code: PATH, option: 'redactResponseBody[1]', mentions: ['redactResponseBody[1]'] },
    );
  });

  it('a non-string entry names the index', () => {
    expectThrows(
      { redactHeaders: ['a', 'b', 3 as unknown as string] },
      { ctor: OptionsInvalidError, code: OPTIONS, option: 'redactHeaders[2]', mentions: ['redactHeaders[2]', 'number 3'] },
    );
    expectThrows(
      { redactRequestBody: [null as unknown as string] },
      { ctor: OptionsInvalidError, code: OPTIONS, option: 'redactRequestBody[0]', mentions: ['redactRequestBody[0]'] },
    );
    expectThrows(
      { redactResponseBody: ['$.a', {} as unknown as string] },
      { ctor: OptionsInvalidError, code: OPTIONS, option: 'redactResponseBody[1]', mentions: ['redactResponseBody[1]'] },
    );
  });

  it('a list that is not an array names the option', () => {
    expectThrows(
      { redactHeaders: 'authorization' as unknown as string[] },
      { ctor: OptionsInvalidError, code: OPTIONS, option: 'redactHeaders', mentions: ['redactHeaders', 'array'] },
    );
    expectThrows(
      { redactRequestBody: '$.a' as unknown as string[] },
      { ctor: OptionsInvalidError, code: OPTIONS, option: 'redactRequestBody', mentions: ['redactRequestBody'] },
    );
    expectThrows(
      { redactResponseBody: null as unknown as string[] },
      { ctor: OptionsInvalidError, code: OPTIONS, option: 'redactResponseBody', mentions: ['redactResponseBody', 'null'] },
    );
  });

  it('an empty header name is rejected', () => {
    expectThrows(
      { redactHeaders: ['x', ' '] },
      { ctor: OptionsInvalidError, code: OPTIONS, option: 'redactHeaders[1]', mentions: ['redactHeaders[1]'] },
    );
  });

  it('options that are not an object are rejected', () => {
    expectThrows(null as unknown as RedactOptions, { ctor: OptionsInvalidError, code: OPTIONS, option: 'options', mentions: ['null'] });
  });
});

describe('secrets never reach the output bytes', () => {
  const SECRET = 'SUPER-SECRET-9f3c';
  const redactor = compileRedactor({
    redactHeaders: ['x-secret'],
    redactRequestBody: ['$.credit-card.cvv', 'user.password', '$..token', '$.list[*]', '$.__proto__'],
    redactResponseBody: ['$..token', '$["a.b"]'],
  });

  const requestBodies: [string, string | undefined][] = [
    [
      JSON.stringify({
        'credit-card': { cvv: SECRET },
        user: { password: SECRET },
        deep: [{ x: { token: SECRET } }],
        list: [SECRET, { v: SECRET }],
      }),
      JSON_TYPE,
    ],
    [`{"__proto__":{"v":"${SECRET}"}}`, 'application/vnd.api+json'],
    [JSON.stringify({ user: { password: SECRET } }), undefined],
    [`token=${SECRET}&token=${SECRET}&user=bob`, FORM_TYPE],
    [`{"token":"${SECRET}"`, JSON_TYPE],
  ];

  for (const [i, [text, type]] of requestBodies.entries()) {
    it(`request body #${i} (${type ?? 'no content type'})`, () => {
      const result = redactor.requestBody(Buffer.from(text), type);
      assert.ok(result.redactions > 0);
      assert.equal(result.body.includes(SECRET), false, result.body.toString());
    });
  }

  it('response body', () => {
    const result = redactor.responseBody(Buffer.from(JSON.stringify({ 'a.b': SECRET, n: [{ token: SECRET }] })), JSON_TYPE);
    assert.equal(result.redactions, 2);
    assert.equal(result.body.includes(SECRET), false);
  });

  it('headers', () => {
    const { headers } = redactor.headers({ 'X-Secret': [SECRET], Cookie: [SECRET, SECRET], 'Set-Cookie': [SECRET] });
    assert.equal(JSON.stringify(headers).includes(SECRET), false);
  });
});
