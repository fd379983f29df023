/**
 * `npm start -- http`: the node:http example API starts with its embedded collector, requests to
 * it are printed as redacted records with the templates of its `route` option, and Ctrl-C stops
 * both cleanly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from '../helpers/wait.js';

interface Line { url_path: string; sdk_type: string; request_body: string; response_body: string; request_headers: Record<string, string[]>; errors: { root_error_message: string }[] }

test('npm start -- http: the node:http example records requests, redacted, and stops on SIGINT', async (t) => {
  const jsonl = join(mkdtempSync(join(tmpdir(), 'apitoolkit-start-http-')), 'records.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/start.ts', 'http'], {
    env: { ...process.env, PORT: '0', APITOOLKIT_JSONL: jsonl, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  await until(() => /listening on http:\/\/127\.0\.0\.1:\d+/.test(out), 'the example to listen', 30_000);
  const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;

  const res = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'abc123' },
    body: JSON.stringify({ username: 'ada', password: 'hunter2' }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json() as { token: string }).token, 'eyJhbGciOiJIUzI1NiJ9.secret', 'the client gets the real response');
  assert.equal((await fetch(`${base}/orgs/acme/projects/apollo`)).status, 200);
  assert.equal((await fetch(`${base}/fail`)).status, 500);

  const lines = (): Line[] => readFileSync(jsonl, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  await until(() => out.includes('GET /fail'), 'the records to be printed');
  await until(() => lines().length === 3, 'three records in the JSONL file');
  const [fail, login, nested] = lines().sort((a, b) => a.url_path.localeCompare(b.url_path));
  assert.equal(fail!.url_path, '/fail');
  assert.equal(fail!.errors[0]?.root_error_message, 'connect ECONNREFUSED');
  assert.equal(login!.url_path, '/login');
  assert.equal(login!.sdk_type, 'JsNode');
  assert.deepEqual(JSON.parse(Buffer.from(login!.request_body, 'base64').toString()), { username: 'ada', password: '[CLIENT_REDACTED]' });
  assert.deepEqual(JSON.parse(Buffer.from(login!.response_body, 'base64').toString()), { user: 'ada', token: '[CLIENT_REDACTED]' });
  assert.deepEqual(login!.request_headers['x-api-key'], ['[CLIENT_REDACTED]']);
  assert.equal(nested!.url_path, '/orgs/:orgId/projects/:projectId');
  const printedRecords = out.slice(out.indexOf('Press Ctrl+C to stop.'));
  assert.ok(printedRecords.includes('[CLIENT_REDACTED]'));
  assert.ok(!printedRecords.includes('hunter2') && !printedRecords.includes('abc123'), 'no secret printed');

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.match(out, /stopped: 3 record\(s\) delivered, 0 dropped/);
});
