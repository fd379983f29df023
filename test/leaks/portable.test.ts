/**
 * The leak finder needs no Node module: bundled alone for a neutral platform (as for Workers) with
 * the build's plugin, it has no `node:` import and no `require`, and it runs in a bare V8 context
 * holding only ECMAScript and the Web APIs Bun, Deno and Workers all have (atob, btoa,
 * TextDecoder, TextEncoder, URLSearchParams): no `process`, no `Buffer`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';
import { leakPackages } from '../../scripts/esbuild-leak-packages.js';

test('bundles for a neutral platform and scans a record without Node', async () => {
  const result = await build({
    entryPoints: ['src/leaks/index.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'leaks',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    plugins: [leakPackages],
  });
  const code = result.outputFiles[0]!.text;
  assert.doesNotMatch(code, /["']node:[a-z_/]+["']/);
  assert.doesNotMatch(code, /\brequire\(/);
  const sandbox = createContext({ atob, btoa, TextDecoder, TextEncoder, URLSearchParams });
  runInContext(`${code}\nglobalThis.leaks = leaks;`, sandbox);
  assert.equal(runInContext('typeof process + typeof Buffer + typeof require', sandbox), 'undefinedundefinedundefined');
  const report = runInContext(
    `leaks.scanRecords([{
    method: 'POST', url_path: '/pay', sdk_type: 'JsExpress', msg_id: 'm',
    request_headers: { 'content-type': ['application/json'], 'x-token': ['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'] },
    response_headers: {}, query_params: {}, path_params: {}, errors: [],
    request_body: btoa(JSON.stringify({ card: '4111 1111 1111 1111', phone: '+14155552671', ssn: '078-05-1121' })), response_body: '',
  }], { failOn: 'low' })`,
    sandbox,
  ) as { groups: { id: string; detectors: { detector: string }[] }[] };
  // JSON across the context boundary: its objects have the sandbox's prototypes.
  const found = JSON.parse(
    JSON.stringify(Object.fromEntries(report.groups.map((g) => [g.id, g.detectors.map((d) => d.detector).sort()]))),
  ) as unknown;
  assert.deepEqual(found, {
    'POST /pay request_header x-token': ['credential-field', 'secretlint/github'],
    'POST /pay request_body $.card': ['payment-card'],
    'POST /pay request_body $.ssn': ['national-id/us-ssn'],
    'POST /pay request_body $.phone': ['phone'],
  });
  const redacted = runInContext(
    `(() => {
    const record = { method: 'GET', url_path: '/x', request_headers: { 'content-type': ['application/json'] }, response_headers: {}, query_params: {}, path_params: {}, errors: [],
      request_body: btoa(JSON.stringify({ card: '4111111111111111' })), response_body: '', raw_url: '/x', referer: '' };
    return atob(leaks.redactFindings(record, leaks.scanRecord(record)).record.request_body);
  })()`,
    sandbox,
  );
  assert.equal(redacted, '{"card":"[CLIENT_REDACTED]"}');
});
