/**
 * `apitoolkit-node doctor --scan <records.jsonl>` as CI runs it: records written by a real app's
 * tests (MemoryTransport) or by the collector, exit 1 with the rules to add while a finding is open,
 * 0 once the rules are in or the findings are dismissed (in the inspector's dismissals file).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import express from 'express';
import { APIToolkit, MemoryTransport, type APIToolkitOptions, type ApiRecord } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { dismissalsPath, openRecordStore } from '../../src/collector/store.js';
import { serve } from '../helpers/http.js';
import { runCli } from '../helpers/cli.js';

/** The records of one login through an instrumented Express app. */
async function records(t: TestContext, options: APIToolkitOptions = {}): Promise<ApiRecord[]> {
  const transport = new MemoryTransport();
  const client = new APIToolkit({ transport, flushIntervalMs: 0, redactRequestBody: ['$.password'], ...options });
  t.after(() => client.shutdown(1_000));
  const web = express();
  web.use(express.json());
  web.use(expressMiddleware(client));
  web.post('/login', (req, res) => res.json({ user: req.body.username, contact: 'ada@example.com' }));
  const url = await serve(t, web as never);
  await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ada', password: 'hunter2', 'credit-card': { number: '4111111111111111', cvv: '123' } }),
  });
  return transport.waitForRecords(1);
}

describe('apitoolkit-node doctor --scan', () => {
  test('exits 1 with the rules to add, 0 once the rules are in; reads the dismissals the inspector keeps', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'apitoolkit-scan-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'records.jsonl');
    await writeFile(file, `${(await records(t)).map((r) => JSON.stringify(r)).join('\n')}\nnot json\n`);

    const open = await runCli(['doctor', '--scan', file]);
    assert.equal(open.code, 1, open.stderr);
    assert.match(open.stdout, /2 open findings/);
    assert.match(open.stdout, /high +POST \/login +request body \$\['credit-card'\]\.number/);
    assert.match(open.stdout, /add redactRequestBody: \["\$\['credit-card'\]\.number"\]/);
    assert.match(
      open.stdout,
      /Add these rules to new APIToolkit\(\{ \.\.\. \}\):\n {2}redactRequestBody: \["\$\['credit-card'\]\.cvv", "\$\['credit-card'\]\.number"\],/,
    );
    assert.match(open.stdout, /1 below the threshold/, 'the email is listed as low, not failing by default');
    assert.match(open.stdout, /1 line of .* were not JSON records/);
    assert.ok(!open.stdout.includes('4111111111111111'), 'the card number is never printed');

    const low = await runCli(['doctor', '--scan', file, '--fail-on', 'low']);
    assert.equal(low.code, 1);
    assert.match(low.stdout, /low +POST \/login +response body \$\.contact/);

    // Dismissed in the inspector: the store writes records.jsonl.dismissed.json, which the scan reads.
    const store = await openRecordStore({ path: file, maxRecords: 100, maxBytes: 1 << 20 });
    await store.setDismissed("POST /login request_body $['credit-card'].number", true);
    await store.setDismissed("POST /login request_body $['credit-card'].cvv", true);
    await store.close();
    const dismissed = await runCli(['doctor', '--scan', file]);
    assert.equal(dismissed.code, 0, dismissed.stdout);
    assert.match(dismissed.stdout, /0 open findings, 2 dismissed/);
    assert.match(dismissed.stdout, /No open leak\./);

    // An explicit dismissals file wins over the default one.
    const none = join(dir, 'none.json');
    await writeFile(none, '{"dismissed":[]}');
    assert.equal((await runCli(['doctor', '--scan', file, '--dismissed', none])).code, 1);

    // The rules the scan asked for, in the app: nothing left to report.
    const fixed = join(dir, 'fixed.jsonl');
    await writeFile(
      fixed,
      (await records(t, { redactRequestBody: ['$.password', "$['credit-card'].cvv", "$['credit-card'].number"] }))
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const clean = await runCli(['doctor', '--scan', fixed]);
    assert.equal(clean.code, 0, clean.stdout);
    assert.equal(dismissalsPath(fixed), `${fixed}.dismissed.json`);
  });

  test('a missing file exits 2; bad or misplaced options are usage errors', async () => {
    const missing = await runCli(['doctor', '--scan', '/nonexistent/records.jsonl']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot scan \/nonexistent\/records\.jsonl: ENOENT/);
    const level = await runCli(['doctor', '--scan', 'x.jsonl', '--fail-on', 'severe']);
    assert.equal(level.code, 2);
    assert.match(level.stderr, /--fail-on expects high, medium or low/);
    const network = await runCli(['doctor', '--scan', 'x.jsonl', '--api-key', 'k']);
    assert.equal(network.code, 2);
    assert.match(network.stderr, /--api-key does not apply to --scan/);
    const alone = await runCli(['doctor', '--fail-on', 'low']);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /go with --scan/);
  });
});
