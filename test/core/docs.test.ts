/**
 * The docs the code points to stay true to it: every option (and its environment variable) is on
 * docs/options.md, and every wire-format field and SDK type on docs/wire-format.md.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENVIRONMENT_VARIABLES, KNOWN_OPTIONS } from '../../src/core/options.js';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

test('docs/options.md lists every option and every environment variable', () => {
  const options = doc('options.md');
  const missing = [...KNOWN_OPTIONS].filter((name) => !options.includes(`\`${name}\``));
  assert.deepEqual(missing, [], 'options missing from docs/options.md');
  for (const [variable, option] of Object.entries(ENVIRONMENT_VARIABLES)) {
    assert.match(options, new RegExp(`\\| \`${variable}\` \\| \`${option}\``), `${variable} -> ${option}`);
  }
});

test('docs/wire-format.md describes every field of a record and every sdk_type', () => {
  const wire = doc('wire-format.md');
  const source = readFileSync(new URL('../../src/core/record.ts', import.meta.url), 'utf8');
  const fields = [...source.slice(source.indexOf('export interface ApiRecord')).matchAll(/^ {2}(\w+): /gm)].map((m) => m[1]!);
  assert.ok(fields.length >= 23, `found ${fields.length} fields`);
  for (const field of fields) assert.ok(wire.includes(`\`${field}\``), `${field} missing from docs/wire-format.md`);
  const types = [...source.matchAll(/'(Js\w+)'/g)].map((m) => m[1]!);
  for (const type of types) assert.ok(wire.includes(`\`${type}\``), `${type} missing from docs/wire-format.md`);
});
