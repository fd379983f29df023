import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as errors from '../../src/core/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const source = readFileSync(new URL('../../src/core/errors.ts', import.meta.url), 'utf8');

test('every error code in the source is documented in docs/errors.md, and vice versa', () => {
  const inSource = new Set(source.match(/APITOOLKIT_ERR_[A-Z_]+/g));
  const inDoc = new Set(doc.match(/APITOOLKIT_ERR_[A-Z_]+/g));
  assert.ok(inSource.size >= 7);
  assert.deepEqual([...inSource].sort(), [...inDoc].sort());
});

test('every warning code is documented in docs/errors.md, and vice versa', () => {
  const inSource = Object.values(errors.WARNINGS);
  const inDoc = new Set(doc.match(/APITOOLKIT_WARN_[A-Z_]+/g));
  assert.ok(inSource.length >= 5);
  assert.deepEqual([...inSource].sort(), [...inDoc].sort());
});

test('every exported error class is documented and carries its code', () => {
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || name === 'APIToolkitError') continue;
    assert.ok(doc.includes(`\`${name}\``), `${name} missing from docs/errors.md`);
  }
  const e = new errors.OptionsInvalidError('maxQueueSize', 'bad');
  assert.equal(e.code, 'APITOOLKIT_ERR_OPTIONS_INVALID');
  assert.equal(e.option, 'maxQueueSize');
  assert.ok(e instanceof errors.APIToolkitError);
  assert.ok(e instanceof errors.OptionsInvalidError);
  assert.ok(!(e instanceof errors.ApiKeyRefusedError));
  assert.match(e.message, /^apitoolkit-node: invalid option `maxQueueSize`/);
});

test('instanceof APIToolkitError recognises an error from another copy of the package', () => {
  const foreign = Object.assign(new Error('x'), { [Symbol.for('apitoolkit-node.error')]: true });
  assert.ok(foreign instanceof errors.APIToolkitError);
  assert.ok(!(new Error('plain') instanceof errors.APIToolkitError));
});
