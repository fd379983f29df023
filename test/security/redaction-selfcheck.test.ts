/**
 * The redaction self-check: a rule with a typo matches nothing and so redacts nothing, the most
 * common way a secret leaks. In debug mode, after every 100 records, the SDK warns once about each
 * rule that has matched nothing so far, naming it; `stats().redactionRules` counts every rule's matches.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import express from 'express';
import { APIToolkit, MemoryTransport, type APIToolkitOptions } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { serve } from '../helpers/http.js';
import { until } from '../helpers/wait.js';

const RULES = {
  redactHeaders: ['X-Api-Kye', 'x-api-key'],
  redactRequestBody: ['$.password', '$.pasword', 'user.cards[*].cvv'],
  redactResponseBody: ['$..token', '$.sesion'],
} satisfies APIToolkitOptions;

async function setup(t: TestContext, debug: boolean) {
  const lines: string[] = [];
  const apitoolkit = new APIToolkit({
    transport: new MemoryTransport(),
    flushIntervalMs: 0,
    debug,
    logger: (l) => lines.push(l),
    ...RULES,
  });
  t.after(() => apitoolkit.shutdown(1_000));
  const app = express();
  app.use(express.json());
  app.use(expressMiddleware(apitoolkit));
  app.post('/login', (_req, res) => res.json({ session: { token: 't0k3n' } }));
  const url = await serve(t, app);
  let sent = 0;
  const send = async (n: number) => {
    for (let i = 0; i < n; i++, sent++) {
      await (
        await fetch(`${url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
          body: JSON.stringify({ password: 'p', user: { cards: [{ cvv: '1' }, { cvv: '2' }] } }),
        })
      ).arrayBuffer();
    }
    await until(() => apitoolkit.stats().captured === sent, `${sent} records`);
  };
  const warnings = () => lines.filter((l) => l.includes('has matched nothing'));
  return { apitoolkit, send, warnings, lines };
}

describe('redaction self-check', () => {
  test('debug mode: after 100 records, one warning per rule that never matched, naming it; never repeated', async (t) => {
    const { apitoolkit, send, warnings } = await setup(t, true);
    await send(99);
    assert.deepEqual(warnings(), [], 'no verdict before 100 records');
    await send(1);
    const first = warnings();
    assert.equal(first.length, 3, first.join('\n'));
    assert.ok(
      first.some((l) => l.includes('redactHeaders[0] "X-Api-Kye"')),
      first.join('\n'),
    );
    assert.ok(first.some((l) => l.includes('redactRequestBody[1] "$.pasword"')));
    assert.ok(first.some((l) => l.includes('redactResponseBody[1] "$.sesion"')));
    assert.ok(first.every((l) => l.includes('in 100 records') && l.includes('typo')));
    await send(100);
    assert.deepEqual(warnings(), first, 'each rule is named once');

    const rules = Object.fromEntries(apitoolkit.stats().redactionRules.map((r) => [`${r.option} ${r.rule}`, r.matches]));
    assert.deepEqual(rules, {
      'redactHeaders[0] X-Api-Kye': 0,
      'redactHeaders[1] x-api-key': 200,
      'redactRequestBody[0] $.password': 200,
      'redactRequestBody[1] $.pasword': 0,
      'redactRequestBody[2] user.cards[*].cvv': 400,
      'redactResponseBody[0] $..token': 200,
      'redactResponseBody[1] $.sesion': 0,
    });
  });

  test('a rule that matches late, before the check, is not reported', async (t) => {
    const lines: string[] = [];
    const apitoolkit = new APIToolkit({
      transport: new MemoryTransport(),
      flushIntervalMs: 0,
      debug: true,
      logger: (l) => lines.push(l),
      redactRequestBody: ['$.rare'],
    });
    t.after(() => apitoolkit.shutdown(1_000));
    const app = express();
    app.use(expressMiddleware(apitoolkit));
    app.post('/x', express.json(), (_req, res) => res.end());
    const url = await serve(t, app);
    for (let i = 0; i < 100; i++) {
      await (
        await fetch(`${url}/x`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(i === 42 ? { rare: 1 } : { common: 1 }),
        })
      ).arrayBuffer();
    }
    await until(() => apitoolkit.stats().captured === 100, '100 records');
    assert.equal(lines.filter((l) => l.includes('has matched nothing')).length, 0);
    assert.equal(apitoolkit.stats().redactionRules[0]!.matches, 1);
  });

  test('without debug mode nothing is printed, but the counts are in stats()', async (t) => {
    const { apitoolkit, send, lines } = await setup(t, false);
    await send(100);
    assert.deepEqual(lines, []);
    assert.equal(apitoolkit.stats().redactionRules.find((r) => r.rule === '$.pasword')!.matches, 0);
  });
});
