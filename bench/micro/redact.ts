/**
 * Redaction of one record's bodies (and headers) with the macro benchmark's rules (3 request, 2
 * response JSONPath rules), for 1 KB and 64 KB bodies; then the same bodies with 20 rules that
 * match nothing (`$.absentN.field` member chains, and `$..absentN`), to show that rules which
 * cannot match cost (almost) nothing whatever their number.
 *
 * Then the engines side by side, on the jobs where each runs: the byte splice (JSON under `$.a.b`
 * and `$..a` rules only), the direct walk of the parsed value (those rules when the splice gives up:
 * a member name it does not read plainly, a rule set with other shapes, form fields) and json-p3
 * alone (what the walk replaces). Each job's engines must give the same value.
 */
import { compileRedactor } from '../../src/core/redact/index.js';
import {
  JSON_TYPE,
  NON_MATCHING_RULES,
  REDACT_REQUEST_BODY,
  REDACT_RESPONSE_BODY,
  REQUEST_1K,
  REQUEST_64K,
  RESPONSE_1K,
  RESPONSE_64K,
  kb,
  newBench,
  rowOf,
  type MicroOptions,
  type MicroRow,
} from './fixtures.js';

const HEADERS = {
  host: ['127.0.0.1:3000'],
  'content-type': ['application/json'],
  'content-length': ['1024'],
  'user-agent': ['autocannon'],
  authorization: ['Bearer secret'],
  cookie: ['a=1'],
  accept: ['*/*'],
  connection: ['keep-alive'],
};

export async function redactBench(options: MicroOptions): Promise<MicroRow[]> {
  const rules = compileRedactor({ redactRequestBody: REDACT_REQUEST_BODY, redactResponseBody: REDACT_RESPONSE_BODY });
  const nonMatching = compileRedactor({ redactRequestBody: NON_MATCHING_RULES, redactResponseBody: NON_MATCHING_RULES });
  const descendants = NON_MATCHING_RULES.map((_, i) => `$..absent${i}`);
  const nonMatchingDescendants = compileRedactor({ redactRequestBody: descendants });
  const none = compileRedactor({});
  // The rules must really apply, or the figures mean nothing.
  for (const [body, redact, method, expected] of [
    [REQUEST_1K, rules, 'requestBody', 3],
    [REQUEST_64K, rules, 'requestBody', 3],
    [RESPONSE_1K, rules, 'responseBody', 2],
    [RESPONSE_64K, rules, 'responseBody', 2],
    [REQUEST_64K, nonMatching, 'requestBody', 0],
    [RESPONSE_64K, nonMatching, 'responseBody', 0],
    [REQUEST_64K, nonMatchingDescendants, 'requestBody', 0],
  ] as const) {
    const got = redact[method](body, JSON_TYPE).redactions;
    if (got !== expected) throw new Error(`redact harness: expected ${expected} redactions in a ${kb(body)} body, got ${got}`);
  }
  const cases: [string, () => unknown][] = [
    ['headers (8 request headers, 2 always-redacted)', () => rules.headers(HEADERS)],
    [`request body ${kb(REQUEST_1K)}, 3 rules`, () => rules.requestBody(REQUEST_1K, JSON_TYPE)],
    [`response body ${kb(RESPONSE_1K)}, 2 rules`, () => rules.responseBody(RESPONSE_1K, JSON_TYPE)],
    [`request body ${kb(REQUEST_64K)}, 3 rules`, () => rules.requestBody(REQUEST_64K, JSON_TYPE)],
    [`response body ${kb(RESPONSE_64K)}, 2 rules`, () => rules.responseBody(RESPONSE_64K, JSON_TYPE)],
    [`request body ${kb(REQUEST_1K)}, 20 non-matching rules`, () => nonMatching.requestBody(REQUEST_1K, JSON_TYPE)],
    [`response body ${kb(RESPONSE_1K)}, 20 non-matching rules`, () => nonMatching.responseBody(RESPONSE_1K, JSON_TYPE)],
    [`request body ${kb(REQUEST_64K)}, 20 non-matching rules`, () => nonMatching.requestBody(REQUEST_64K, JSON_TYPE)],
    [`response body ${kb(RESPONSE_64K)}, 20 non-matching rules`, () => nonMatching.responseBody(RESPONSE_64K, JSON_TYPE)],
    [`request body ${kb(REQUEST_1K)}, 20 non-matching $..name rules`, () => nonMatchingDescendants.requestBody(REQUEST_1K, JSON_TYPE)],
    [`request body ${kb(REQUEST_64K)}, 20 non-matching $..name rules`, () => nonMatchingDescendants.requestBody(REQUEST_64K, JSON_TYPE)],
    [`request body ${kb(REQUEST_64K)}, no rules`, () => none.requestBody(REQUEST_64K, JSON_TYPE)],
  ];
  cases.push(...engineCases());
  const bench = newBench(options);
  for (const [name, fn] of cases) bench.add(name, fn);
  await bench.run();
  return bench.tasks.map((t) => rowOf(t, 'redact', t.name));
}

/** The same rules through each engine that can take the job (see the file comment). */
function engineCases(): [string, () => unknown][] {
  // A member name the splice does not read plainly: it gives up, the parsed value is walked.
  const nonAscii = (body: Buffer): Buffer => Buffer.from(body.toString().replace('"password":', '"pässword":1,"password":'));
  const mixed = [...REDACT_REQUEST_BODY, '$.items[?@.id == 3].title'];
  const fields = Object.entries(JSON.parse(REQUEST_1K.toString()) as Record<string, unknown>).map(([k, v]): [string, string] => [
    k,
    typeof v === 'string' ? v : JSON.stringify(v),
  ]);
  const form = Buffer.from(new URLSearchParams(fields).toString());
  const jobs: [string, Buffer, string, readonly string[]][] = [
    [`JSON ${kb(REQUEST_1K)}`, REQUEST_1K, JSON_TYPE, REDACT_REQUEST_BODY],
    [`JSON ${kb(REQUEST_64K)}`, REQUEST_64K, JSON_TYPE, REDACT_REQUEST_BODY],
    [`JSON ${kb(REQUEST_64K)}, a non-ASCII member name`, nonAscii(REQUEST_64K), JSON_TYPE, REDACT_REQUEST_BODY],
    [`JSON ${kb(REQUEST_64K)}, + a filter rule`, REQUEST_64K, JSON_TYPE, mixed],
    [`form ${kb(form)}`, form, 'application/x-www-form-urlencoded', REDACT_REQUEST_BODY],
  ];
  const cases: [string, () => unknown][] = [];
  for (const [job, body, type, rules] of jobs) {
    const engines: [string, ReturnType<typeof compileRedactor>][] = [
      ['as shipped', compileRedactor({ redactRequestBody: rules })],
      ['walk, no splice', compileRedactor({ redactRequestBody: rules }, { splice: false })],
      ['json-p3 only', compileRedactor({ redactRequestBody: rules }, { splice: false, walks: false })],
    ];
    const values = engines.map(([, engine]) => JSON.stringify(JSON.parse(engine.requestBody(body, type).body.toString())));
    if (new Set(values).size !== 1) throw new Error(`redact harness: the engines disagree on ${job}`);
    for (const [name, engine] of engines) cases.push([`engine: ${job}, ${name}`, () => engine.requestBody(body, type)]);
  }
  return cases;
}
