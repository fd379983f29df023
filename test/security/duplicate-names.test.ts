/**
 * Repeated member names cannot smuggle a secret out. JSON.parse keeps the last of two members with
 * the same name, so the rules never see an earlier copy; the bytes as sent still hold it. A body is
 * recorded as sent only when the rules saw every value in it: here secrets are planted where the
 * rules select them, and then every object may get a later copy of each of its members holding 0,
 * which hides the secrets from JSON.parse (and so from the rules). No secret may reach the record,
 * whichever path the body takes (the byte splice or parse-and-walk) and whatever its content type.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileRedactor } from '../../src/core/redact/index.js';
import {
  documentArb,
  labelPublic,
  plantSecrets,
  renderRule,
  ruleArb,
  rulesAimedAt,
  select,
  type Json,
  type RuleCase,
} from '../helpers/redaction-cases.js';

const RUNS = Number(process.env.DUPLICATE_NAMES_RUNS ?? 2_000);
const TYPES = ['application/json', undefined] as const;

/** JSON text of `doc` in which each object listed in `shadowed` (by visit order) repeats every member name with the value 0. */
function withShadows(doc: Json, shadowed: (index: number) => boolean): string {
  let index = 0;
  const write = (value: Json): string => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
    const shadow = shadowed(index++);
    const keys = Object.keys(value);
    const members = keys.map((key) => `${JSON.stringify(key)}:${write(value[key]!)}`);
    if (shadow) members.push(...keys.map((key) => `${JSON.stringify(key)}:0`));
    return `{${members.join(',')}}`;
  };
  return write(doc);
}

describe('repeated member names', () => {
  test('a secret in an earlier copy of a member never reaches the record', () => {
    let run = 0;
    const casesArb = documentArb
      .filter((doc) => doc !== null && typeof doc === 'object')
      .chain((doc) =>
        fc.tuple(
          fc.constant(labelPublic(doc).doc),
          fc.array(fc.oneof({ weight: 3, arbitrary: rulesAimedAt(labelPublic(doc).doc) }, { weight: 1, arbitrary: ruleArb }), {
            minLength: 1,
            maxLength: 3,
          }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        ),
      );
    fc.assert(
      fc.property(casesArb, ([doc, rules, shadows]: [Json, RuleCase[], boolean[]]) => {
        let n = 0;
        const secretOf = () => `S3CR3T${run}X${n++}Q`;
        run += 1;
        let planted = doc;
        const secrets: string[] = [];
        for (const rule of rules) {
          const result = plantSecrets(planted, select(planted, rule.segments), secretOf);
          planted = result.doc;
          secrets.push(...result.secrets);
        }
        const text = withShadows(planted, (i) => shadows[i % shadows.length]!);
        const paths = rules.map(renderRule);
        for (const splice of [true, false]) {
          const redactor = compileRedactor({ redactRequestBody: paths }, { splice });
          for (const type of TYPES) {
            const out = redactor.requestBody(Buffer.from(text), type).body.toString('utf8');
            for (const secret of secrets) {
              assert.ok(
                !out.includes(secret),
                `leaked ${secret} (splice ${splice}, ${String(type)}): rules ${paths.join(' ')}\nbody ${text}\nrecorded ${out}`,
              );
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  const cases: [string[], string, string][] = [
    [['$.card.cvv'], '{"card":{"cvv":"123"},"card":"x"}', '{"card":"x"}'],
    [['$..secret'], '{"a":{"secret":"s3"},"a":1}', '{"a":1}'],
    [['$.items[*].card'], '{"items":[{"card":"4111"}],"items":[]}', '{"items":[]}'],
    // An escaped name repeats a plain one: JSON.parse decodes it first.
    [['$.card.cvv'], '{"card":{"cvv":"123"},"c\\u0061rd":"x"}', '{"card":"x"}'],
    [['$.password'], '{"password":"s3cret","password":"x"}', '{"password":"[CLIENT_REDACTED]"}'],
  ];
  for (const [rules, body, recorded] of cases) {
    test(`${rules.join(' ')} over ${body}: recorded as ${recorded}`, () => {
      for (const splice of [true, false]) {
        const out = compileRedactor({ redactRequestBody: rules }, { splice }).requestBody(Buffer.from(body), 'application/json');
        assert.equal(out.body.toString('utf8'), recorded);
      }
    });
  }

  test('a body with no repeated name and no match keeps its bytes, formatting included', () => {
    const body = '{ "card" : { "number": 1.50 },\n "x": [1e5] }';
    for (const rules of [['$.card.cvv'], ['$.items[*].card']]) {
      assert.equal(
        compileRedactor({ redactRequestBody: rules }).requestBody(Buffer.from(body), 'application/json').body.toString('utf8'),
        body,
      );
    }
  });
});
