/**
 * The API key and the service-account key the metadata endpoint hands out never appear in a log
 * line, an error (message, stack, cause chain), `stats()` or the client object, debug mode
 * included, over runs that go through start-up, refused keys, malformed metadata, send failures of
 * every kind and shutdown: in this process (every onError error inspected in depth) and in a
 * child process (everything it writes to stdout and stderr).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, test, type TestContext } from 'node:test';
import express from 'express';
import { APIToolkit, MetadataError, ApiKeyRefusedError } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { startCollector } from '../../src/collector/index.js';
import { startChildApp } from '../helpers/child-app.js';
import { fetchClientMetadata } from '../../src/transport/metadata.js';
import { closedPort, serveMetadata } from '../helpers/emulator.js';
import { serve } from '../helpers/http.js';
import { until } from '../helpers/wait.js';

const secret = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

/** The service-account key the collector hands out, and the fragments of it that must never show. */
async function serviceAccountSecrets(rootURL: string): Promise<string[]> {
  const res = await fetch(`${rootURL}/api/client_metadata`, { headers: { authorization: 'Bearer any' } });
  const account = ((await res.json()) as { pubsub_push_service_account: { private_key: string; private_key_id: string } })
    .pubsub_push_service_account;
  const pemLines = account.private_key.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
  assert.ok(pemLines.length > 0);
  return [account.private_key_id, ...pemLines, 'PRIVATE KEY'];
}

/** Everything an error can show: message, stack, every cause, every own property, in depth. */
function describeError(error: unknown): string {
  const parts = [String(error), inspect(error, { depth: 20, showHidden: true })];
  let current: unknown = error;
  for (let i = 0; i < 10 && current instanceof Error; i++) {
    parts.push(current.message, current.stack ?? '', JSON.stringify(Object.entries(current)));
    current = current.cause;
  }
  return parts.join('\n');
}

function assertAbsent(text: string, secrets: string[], where: string): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${JSON.stringify(s.slice(0, 12))}… found in ${where}`);
}

async function app(t: TestContext, apitoolkit: APIToolkit): Promise<string> {
  const a = express();
  a.use(express.json());
  a.use(expressMiddleware(apitoolkit));
  a.all('/items/:id', (req, res) => res.json({ id: req.params.id, body: req.body ?? null }));
  return serve(t, a);
}

describe('secrets never reach logs, errors or stats()', () => {
  test('in-process: start-up, refused key, malformed metadata, UNAVAILABLE, PERMISSION_DENIED, hang, shutdown, all in debug mode', async (t) => {
    const collector = await startCollector({ rejectKeys: ['refused-key-not-secret'] });
    t.after(() => collector.close());
    const apiKey = secret('ak_live_');
    const secrets = [apiKey, ...(await serviceAccountSecrets(collector.rootURL))];
    const lines: string[] = [];
    const errors: unknown[] = [];
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(describeError(w));
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const observe = { debug: true, logger: (line: string) => lines.push(line), onError: (e: Error) => errors.push(e) };

    // The main run: deliveries, then every kind of send failure, then shutdown.
    const apitoolkit = new APIToolkit({
      apiKey,
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      flushIntervalMs: 10,
      exportTimeoutMs: 300,
      ...observe,
    });
    await apitoolkit.ready();
    const url = await app(t, apitoolkit);
    const get = async (path: string) => (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } })).arrayBuffer();
    await get('/items/1');
    await collector.waitForRecords(1);
    for (const fault of [14, 7, 5, 'hang'] as const) {
      collector.setPublishFault(fault);
      const before = collector.stats().publishRequests;
      await get(`/items/fault-${fault}`);
      await until(() => collector.stats().publishRequests > before, `a publish attempt under fault ${fault}`, 5_000);
      await apitoolkit.flush(700);
    }
    collector.setPublishFault('hang');
    await get('/items/at-shutdown');
    const result = await apitoolkit.shutdown(500);
    assert.ok(result.dropped >= 1, 'shutdown reported what it dropped');

    // A refused key, and metadata answers that carry the key material in malformed bodies.
    const refused = new APIToolkit({
      apiKey: 'refused-key-not-secret',
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      ...observe,
    });
    await assert.rejects(refused.ready(), (e: unknown) => {
      errors.push(e);
      return e instanceof ApiKeyRefusedError;
    });
    await refused.shutdown(100);
    const leakyKey = secret('PEMBODY');
    const backend = await serveMetadata([
      { status: 200, body: `{"private_key": "${leakyKey}", "project_id": ` },
      { status: 200, body: { project_id: 7, pubsub_push_service_account: { private_key: leakyKey } } },
      {
        status: 200,
        body: {
          project_id: 'p',
          pubsub_project_id: 'p',
          topic_id: 't',
          pubsub_push_service_account: { private_key: 42, client_email: leakyKey },
        },
      },
      { status: 500, body: { error: 'boom', private_key: leakyKey } },
    ]);
    t.after(() => backend.close());
    const malformed = new APIToolkit({ apiKey, rootURL: backend.rootURL, pubsubEndpoint: collector.pubsubEndpoint, ...observe });
    await until(() => lines.filter((l) => /client metadata attempt \d+ failed/.test(l)).length >= 4, 'four metadata failures', 15_000);
    // The same answers straight from fetchClientMetadata: every error, cause chain included.
    for (let i = 0; i < 4; i++) {
      await assert.rejects(fetchClientMetadata(backend.rootURL, apiKey), (e: unknown) => {
        errors.push(e);
        return e instanceof MetadataError;
      });
    }
    await assert.rejects(fetchClientMetadata(`http://127.0.0.1:${await closedPort()}`, apiKey), (e: unknown) => {
      errors.push(e);
      return e instanceof MetadataError;
    });
    const stats = [apitoolkit.stats(), refused.stats(), malformed.stats()];
    await malformed.shutdown(100);

    assert.ok(errors.length >= 8, `errors were reported (${errors.length})`);
    for (const what of [
      /UNAVAILABLE/,
      /PERMISSION_DENIED/,
      /NOT_FOUND/,
      /timed out|DEADLINE_EXCEEDED/,
      /HTTP 401/,
      /not JSON/,
      /HTTP 500/,
    ]) {
      assert.ok(
        lines.some((l) => what.test(l)),
        `a debug line matching ${what}`,
      );
    }
    const all = [...secrets, leakyKey];
    assertAbsent(lines.join('\n'), all, 'a debug line');
    for (const e of errors) assertAbsent(describeError(e), all, `an onError error: ${String(e)}`);
    assertAbsent(warnings.join('\n'), all, 'a process warning');
    assertAbsent(JSON.stringify(stats), all, 'stats()');
    for (const client of [apitoolkit, refused, malformed])
      assertAbsent(inspect(client, { depth: 20, showHidden: true }) + JSON.stringify(client), all, 'the client object');
  });

  test('child process: nothing the app writes (stdout, stderr) contains the keys, over start, failures and shutdown', async (t) => {
    const collector = await startCollector();
    t.after(() => collector.close());
    const apiKey = secret('ak_child_');
    const secrets = [apiKey, ...(await serviceAccountSecrets(collector.rootURL))];
    const child = await startChildApp({
      sdk: { apiKey, rootURL: collector.rootURL, pubsubEndpoint: collector.pubsubEndpoint, flushIntervalMs: 10, exportTimeoutMs: 300 },
      debugToStdout: true,
    });
    t.after(() => child.kill());
    await child.waitFor((s) => s.stats.state === 'ready', 'ready');
    for (const fault of [null, 14, 7, 'hang'] as const) {
      collector.setPublishFault(fault);
      await (await fetch(`${child.url}/work/${String(fault)}`, { headers: { authorization: `Bearer ${apiKey}` } })).arrayBuffer();
      await child.waitFor((s) => s.stats.published + s.stats.failed + s.stats.dropped.send_failed! > 0, 'an attempt');
    }
    const result = await child.shutdown(500);
    assert.equal(typeof result.dropped, 'number');
    const output = child.stdout() + child.stderr();
    assert.match(output, /apitoolkit: starting/);
    assert.match(output, /shut down/);
    assertAbsent(output, secrets, 'the child output');
  });
});
