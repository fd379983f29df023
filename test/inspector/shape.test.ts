import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDACTED } from '../../src/core/record.js';
import { compileRedactor } from '../../src/core/redact/index.js';
import { createShapeBuilder, inferShape, jsonType, observe, SHAPE_LIMITS, type BodyShape } from '../../src/collector/inspector/shape.js';

/** `path: type|type` per field, plus ` (redacted n/seen)` when redacted: compact to compare. */
function lines(shape: BodyShape): string[] {
  return shape.fields.map((f) => `${f.path}: ${f.types.join('|')}${f.redacted > 0 ? ` (redacted ${f.redacted}/${f.seen})` : ''}`);
}

describe('shape inference', () => {
  test('a flat object lists each member with its JSON type', () => {
    const shape = inferShape([{ id: 42, name: 'Ann', ratio: 0.5, active: true, deleted_at: null }]);
    assert.deepEqual(lines(shape), [
      '$: object',
      '$.active: boolean',
      '$.deleted_at: null',
      '$.id: number',
      '$.name: string',
      '$.ratio: number',
    ]);
    assert.equal(shape.bodies, 1);
    assert.equal(shape.truncated, false);
  });

  test('nested objects and arrays of objects use JSONPath with [*]', () => {
    const shape = inferShape([
      {
        user: { address: { city: 'Paris' } },
        items: [
          { sku: 'a', qty: 1 },
          { sku: 'b', qty: 2, note: 'gift' },
        ],
      },
    ]);
    assert.deepEqual(lines(shape), [
      '$: object',
      '$.items: array',
      '$.items[*]: object',
      '$.items[*].note: string',
      '$.items[*].qty: number',
      '$.items[*].sku: string',
      '$.user: object',
      '$.user.address: object',
      '$.user.address.city: string',
    ]);
    // `note` occurred in one body (in one of its items): counted per body, not per item.
    assert.equal(shape.fields.find((f) => f.path === '$.items[*].note')?.seen, 1);
  });

  test('top-level arrays, arrays of scalars, nested arrays and empty containers', () => {
    assert.deepEqual(lines(inferShape([[1, 'two', null]])), ['$: array', '$[*]: string|number|null']);
    assert.deepEqual(lines(inferShape([{ matrix: [[1, 2], [3]] }])), [
      '$: object',
      '$.matrix: array',
      '$.matrix[*]: array',
      '$.matrix[*][*]: number',
    ]);
    assert.deepEqual(lines(inferShape([{ tags: [], meta: {} }])), ['$: object', '$.meta: object', '$.tags: array']);
  });

  test('scalar bodies (a bare string or number) have only the root', () => {
    assert.deepEqual(lines(inferShape(['hello'])), ['$: string']);
    assert.deepEqual(lines(inferShape([7])), ['$: number']);
  });

  test('member names that are not shorthand are bracket-quoted, so they can be pasted into a redact rule', () => {
    const shape = inferShape([{ 'credit-card': { cvv: '1' }, '2fa': true, "it's": 1, 'a.b': 2, naïve: 3 }]);
    assert.deepEqual(lines(shape), [
      '$: object',
      '$.naïve: number',
      "$['2fa']: boolean",
      "$['a.b']: number",
      "$['credit-card']: object",
      "$['credit-card'].cvv: string",
      "$['it\\'s']: number",
    ]);
  });

  test('every inferred path is a redaction rule the SDK accepts, and it redacts that very field', () => {
    const body = { 'credit-card': { cvv: '123' }, "it's": 'q', 'a.b': 'dot', items: [{ secret: 's1' }, { secret: 's2' }] };
    for (const field of inferShape([body]).fields) {
      if (field.path === '$' || field.types.includes('object') || field.types.includes('array')) continue;
      const redactor = compileRedactor({ redactRequestBody: [field.path] });
      const out = redactor.requestBody(Buffer.from(JSON.stringify(body)), 'application/json');
      assert.ok(out.redactions >= 1, `${field.path} redacted nothing`);
      assert.ok(inferShape([JSON.parse(out.body.toString())]).fields.find((f) => f.path === field.path)!.redacted === 1, field.path);
    }
  });

  test('merging bodies unions the types and counts in how many bodies each path occurred', () => {
    const shape = inferShape([{ id: 1, name: 'a' }, { id: 'x-2' }, { id: null, extra: [true] }]);
    assert.deepEqual(lines(shape), ['$: object', '$.extra: array', '$.extra[*]: boolean', '$.id: string|number|null', '$.name: string']);
    assert.deepEqual(
      shape.fields.map((f) => [f.path, f.seen]),
      [
        ['$', 3],
        ['$.extra', 1],
        ['$.extra[*]', 1],
        ['$.id', 3],
        ['$.name', 1],
      ],
    );
  });

  test('redacted values are flagged and add no type; partly redacted paths keep the types seen elsewhere', () => {
    const shape = inferShape([
      { username: 'ada', password: REDACTED, card: REDACTED },
      { username: 'bob', password: REDACTED, card: { number: '4111' } },
    ]);
    assert.deepEqual(lines(shape), [
      '$: object',
      '$.card: object (redacted 1/2)',
      '$.card.number: string',
      '$.password:  (redacted 2/2)',
      '$.username: string',
    ]);
  });

  test('a body withheld whole by the SDK (the JSON string marker) is a redacted root', () => {
    assert.deepEqual(lines(inferShape([REDACTED])), ['$:  (redacted 1/1)']);
  });

  test('kinds of bodies are counted, including ones with no JSON shape', () => {
    const builder = createShapeBuilder();
    builder.add('json', observe({ a: 1 }));
    builder.add('empty');
    builder.add('empty');
    builder.add('binary');
    builder.add('form', observe({ q: 'x', tags: ['a', 'b'] }));
    const shape = builder.result();
    assert.deepEqual(shape.kinds, { json: 1, empty: 2, binary: 1, form: 1 });
    assert.equal(shape.bodies, 5);
    assert.deepEqual(lines(shape), ['$: object', '$.a: number', '$.q: string', '$.tags: array', '$.tags[*]: string']);
  });

  test('limits: deep nesting, huge arrays and many fields are cut and reported as truncated', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < SHAPE_LIMITS.maxDepth + 10; i++) deep = { d: deep };
    const deepShape = inferShape([deep]);
    assert.equal(deepShape.truncated, true);
    assert.ok(deepShape.fields.length <= SHAPE_LIMITS.maxDepth + 1);
    assert.ok(!deepShape.fields.some((f) => f.types.includes('string')), 'the leaf below the limit is not reached');

    const many = Object.fromEntries(Array.from({ length: SHAPE_LIMITS.maxFields + 50 }, (_, i) => [`f${i}`, i]));
    const wide = inferShape([many]);
    assert.equal(wide.truncated, true);
    assert.equal(wide.fields.length, SHAPE_LIMITS.maxFields);

    const items = Array.from({ length: SHAPE_LIMITS.maxArrayItems + 1 }, (_, i) =>
      i === SHAPE_LIMITS.maxArrayItems ? { late: 1 } : { early: 1 },
    );
    const long = inferShape([items]);
    assert.equal(long.truncated, true);
    assert.ok(!long.fields.some((f) => f.path === '$[*].late'), 'items past the limit are not walked');
  });

  test('jsonType names every value JSON.parse can produce', () => {
    assert.deepEqual([{}, [], 's', 1, true, null].map(jsonType), ['object', 'array', 'string', 'number', 'boolean', 'null']);
  });

  test('a __proto__ member is an ordinary field, not a prototype', () => {
    const shape = inferShape([JSON.parse('{"__proto__": {"polluted": true}}')]);
    assert.deepEqual(lines(shape), ['$: object', '$.__proto__: object', '$.__proto__.polluted: boolean']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
