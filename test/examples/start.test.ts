/**
 * The README's first command, `npm start`: the example API starts with its embedded collector, a
 * request to it is printed as a redacted record, and Ctrl-C stops both cleanly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from '../helpers/wait.js';

test('npm start: the example API records a request, redacted, and stops on SIGINT', async (t) => {
  const jsonl = join(mkdtempSync(join(tmpdir(), 'apitoolkit-start-')), 'records.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/express/server.ts'], {
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

  await until(() => out.includes('POST /login'), 'the record to be printed');
  await until(() => readFileSync(jsonl, 'utf8').includes('"url_path":"/login"'), 'the record in the JSONL file');
  const record = JSON.parse(readFileSync(jsonl, 'utf8').trim().split('\n').at(-1)!) as { request_body: string; response_body: string; request_headers: Record<string, string[]> };
  assert.deepEqual(JSON.parse(Buffer.from(record.request_body, 'base64').toString()), { username: 'ada', password: '[CLIENT_REDACTED]' });
  assert.deepEqual(JSON.parse(Buffer.from(record.response_body, 'base64').toString()), { user: 'ada', token: '[CLIENT_REDACTED]' });
  assert.deepEqual(record.request_headers['x-api-key'], ['[CLIENT_REDACTED]']);
  // The banner suggests curl commands with these very secrets; what follows it must not repeat them.
  const printedRecords = out.slice(out.indexOf('Press Ctrl+C to stop.'));
  assert.ok(printedRecords.includes('[CLIENT_REDACTED]'));
  assert.ok(!printedRecords.includes('hunter2') && !printedRecords.includes('abc123'), 'no secret printed');

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.match(out, /stopped: 1 record\(s\) delivered, 0 dropped/);
});
