/**
 * Running an example (`node --import tsx examples/start.ts [framework]`, as `npm start` does) in a
 * child process with its embedded collector, sending it the requests its banner suggests, and
 * reading back what it printed and wrote to its JSONL file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ApiRecord } from '../../src/index.js';
import { until } from '../helpers/wait.js';

export const REDACTED = '[CLIENT_REDACTED]';

/** A line of the example's JSONL file: one record, as APIToolkit would receive it. */
export type Line = ApiRecord;

export interface RunningExample {
  /** `http://127.0.0.1:PORT`, from the banner's "listening on" line. */
  base: string;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** The records in the example's JSONL file so far. */
  records(): Line[];
  /** Sends SIGINT (Ctrl-C); resolves the exit code. */
  interrupt(): Promise<number | null>;
}

export interface StartOptions {
  /** How long to wait for "listening on". Default 30 s. */
  listenTimeoutMs?: number;
  /**
   * How to end the child if the test ends first: SIGKILL (default), or SIGINT and wait, for an
   * example whose children run in a process group of their own (Next) and would outlive a SIGKILL.
   */
  cleanup?: 'SIGKILL' | 'SIGINT';
}

/** Starts `examples/start.ts [framework]` on a free port, and waits for it to listen. */
export async function startExample(t: TestContext, framework: string | undefined, options: StartOptions = {}): Promise<RunningExample> {
  const jsonl = join(mkdtempSync(join(tmpdir(), `apitoolkit-start-${framework ?? 'default'}-`)), 'records.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/start.ts', ...(framework === undefined ? [] : [framework])], {
    env: { ...process.env, PORT: '0', APITOOLKIT_JSONL: jsonl, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (options.cleanup === 'SIGINT') {
      child.kill('SIGINT');
      await exited;
    } else {
      child.kill('SIGKILL');
    }
  });
  const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
  await until(() => listening.test(out), `the example to listen:\n${out}`, options.listenTimeoutMs ?? 30_000);
  return {
    base: listening.exec(out)![1]!,
    output: () => out,
    records: () =>
      readFileSync(jsonl, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line),
    interrupt: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

/** The curl commands every example's banner prints, after the "listening on" line. */
export function bannerCommands(base: string): string[] {
  return [
    'Try:',
    `  curl ${base}/users/42?expand=teams`,
    `  curl -X POST ${base}/login -H 'content-type: application/json' -H 'X-Api-Key: abc123' \\`,
    `       -d '{"username":"ada","password":"hunter2"}'`,
    `  curl -X POST ${base}/payments -H 'content-type: application/json' \\`,
    `       -d '{"amount":42,"credit-card":{"number":"4111111111111111","cvv":"123"}}'`,
    `  curl ${base}/orgs/acme/projects/apollo`,
    `  curl ${base}/fail`,
  ];
}

/**
 * Sends the requests of the banner's curl commands and checks the answers: the client gets the real
 * responses (the token unredacted), the app's own 201 and 500.
 */
export async function sendBannerRequests(base: string): Promise<void> {
  const user = await fetch(`${base}/users/42?expand=teams`);
  assert.equal(user.status, 200);
  assert.deepEqual(await user.json(), { id: '42', name: 'Ada Lovelace' });

  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'abc123' },
    body: JSON.stringify({ username: 'ada', password: 'hunter2' }),
  });
  assert.equal(login.status, 200);
  assert.equal(((await login.json()) as { token: string }).token, 'eyJhbGciOiJIUzI1NiJ9.secret', 'the client gets the real response');

  const payment = await fetch(`${base}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount: 42, 'credit-card': { number: '4111111111111111', cvv: '123' } }),
  });
  assert.equal(payment.status, 201);
  assert.deepEqual(await payment.json(), { amount: 42, status: 'accepted' });

  const project = await fetch(`${base}/orgs/acme/projects/apollo`);
  assert.equal(project.status, 200);
  assert.deepEqual(await project.json(), { org: 'acme', project: 'apollo' });

  const fail = await fetch(`${base}/fail`);
  assert.equal(fail.status, 500);
  await fail.arrayBuffer();
}

export interface ExpectedRecords {
  sdkType: string;
  /** The route templates the framework records for `/users/42` and `/orgs/acme/projects/apollo`. */
  templates: { user: string; project: string };
}

/** The line the collector prints first for each record of `sendBannerRequests()`. */
export function printedHeadlines({ templates }: ExpectedRecords): string[] {
  return [`GET ${templates.user} →`, 'POST /login →', 'POST /payments →', `GET ${templates.project} →`, 'GET /fail →'];
}

/**
 * Checks the five records of `sendBannerRequests()`: route templates and params, the example's
 * redaction rules applied (header, request and response bodies), the error's cause chain, and the
 * client's other options (service version, tags).
 */
export function assertBannerRecords(records: Line[], { sdkType, templates }: ExpectedRecords): void {
  const byPath = new Map(records.map((r) => [`${r.method} ${r.url_path}`, r]));
  const record = (key: string): Line => {
    const found = byPath.get(key);
    assert.ok(found, `a record for ${key} (have: ${[...byPath.keys()].join(', ')})`);
    return found;
  };
  for (const r of records) {
    assert.equal(r.sdk_type, sdkType);
    assert.equal(r.service_version, '1.4.0');
    assert.deepEqual(r.tags, ['example']);
  }

  const user = record(`GET ${templates.user}`);
  assert.equal(user.status_code, 200);
  assert.deepEqual(user.path_params, { id: '42' });
  assert.deepEqual(user.query_params, { expand: ['teams'] });

  const login = record('POST /login');
  assert.equal(login.status_code, 200);
  assert.deepEqual(decode(login.request_body), { username: 'ada', password: REDACTED });
  assert.deepEqual(decode(login.response_body), { user: 'ada', token: REDACTED });
  assert.deepEqual(login.request_headers['x-api-key'], [REDACTED]);

  const payment = record('POST /payments');
  assert.equal(payment.status_code, 201);
  assert.deepEqual(decode(payment.request_body), { amount: 42, 'credit-card': { number: REDACTED, cvv: REDACTED } });

  const project = record(`GET ${templates.project}`);
  assert.equal(project.status_code, 200);
  assert.deepEqual(project.path_params, { orgId: 'acme', projectId: 'apollo' });

  const fail = record('GET /fail');
  assert.equal(fail.status_code, 500);
  assert.equal(fail.errors[0]?.message, 'payment provider unavailable');
  assert.equal(fail.errors[0]?.root_error_message, 'connect ECONNREFUSED');
}

/**
 * The banner suggests curl commands with the very secrets the rules redact; what the example prints
 * after it (the records) must show the redactions and never the secrets.
 */
export function assertNoSecretPrinted(output: string): void {
  const printedRecords = output.slice(output.indexOf('Press Ctrl+C to stop.'));
  assert.ok(printedRecords.includes(REDACTED));
  for (const secret of ['hunter2', 'abc123', 'eyJhbGciOiJIUzI1NiJ9.secret']) {
    assert.ok(!printedRecords.includes(secret), `${secret} printed`);
  }
  // The card's cvv is redacted; its number is not a rule of the example, so it is printed.
  assert.ok(!/"cvv": "123"/.test(printedRecords), 'the cvv printed');
}

/** A base64 JSON body of a record, decoded. */
export function decode(body: string): unknown {
  return JSON.parse(Buffer.from(body, 'base64').toString());
}
