/**
 * The inspector's leak API over HTTP: findings per endpoint and field, per record, and dismissals
 * kept in the store (and its file); refused from other sites like the rest of the API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startInspector } from '../../src/collector/inspector/server.js';
import { dismissalsPath, openRecordStore } from '../../src/collector/store.js';
import { b64, makeRecord, rawRequest } from './helpers.js';

test('GET /api/leaks, GET /api/records/:seq/leaks, POST /api/leaks/dismiss', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'apitoolkit-leaks-api-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'records.jsonl');
  const store = await openRecordStore({ path: file, maxRecords: 100, maxBytes: 1 << 20 });
  const login = makeRecord({
    method: 'POST',
    url_path: '/login',
    raw_url: '/login',
    request_headers: { 'content-type': ['application/json'] },
    request_body: b64(JSON.stringify({ password: 'hunter2', card: '4111 1111 1111 1111' })),
  });
  const entry = store.add(login);
  store.add(makeRecord());
  const inspector = await startInspector(store, { port: 0 }, () => ({
    version: 't',
    rootURL: '',
    pubsubEndpoint: '',
    jsonlPath: file,
    projectId: '',
  }));
  t.after(async () => {
    await inspector.close();
    await store.close();
  });
  const api = (path: string): Promise<any> => fetch(new URL(path, inspector.url)).then((res) => res.json());

  const leaks = await api('/api/leaks');
  assert.equal(leaks.records, 2);
  assert.deepEqual(leaks.groups.map((g: { id: string }) => g.id).sort(), [
    'POST /login request_body $.card',
    'POST /login request_body $.password',
  ]);
  assert.deepEqual(leaks.groups.find((g: { id: string }) => g.id === 'POST /login request_body $.card').msgIds, [login.msg_id]);
  const findings = (await api(`/api/records/${entry.seq}/leaks`)).findings;
  assert.deepEqual(
    findings.map((f: { detector: string; match: string }) => [f.detector, f.match]),
    [
      ['password-field', 'hunter2'],
      ['payment-card', '4111 1111 1111 1111'],
    ],
  );

  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    rawRequest(new URL('/api/leaks/dismiss', inspector.url).href, {
      method: 'POST',
      headers: { host: new URL(inspector.url).host, ...headers },
      body,
    });
  assert.equal((await post('{"id":"x","dismissed":true}', { 'content-type': 'text/plain' })).status, 415);
  assert.equal((await post('{"id":1,"dismissed":true}')).status, 400);
  assert.equal((await post('{"id":"x"}')).status, 400);
  assert.equal((await post('not json')).status, 400);
  const crossSite = await post('{"id":"POST /login request_body $.card","dismissed":true}', {
    'content-type': 'application/json',
    origin: 'http://evil.example',
    'sec-fetch-site': 'cross-site',
  });
  assert.equal(crossSite.status, 403);
  assert.deepEqual(store.dismissed(), []);
  const get = await rawRequest(new URL('/api/leaks/dismiss', inspector.url).href);
  assert.equal(get.status, 405);

  const ok = await post('{"id":"POST /login request_body $.card","dismissed":true}');
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { id: 'POST /login request_body $.card', dismissed: true });
  assert.equal((await api('/api/leaks')).groups.find((g: { id: string }) => g.id === 'POST /login request_body $.card').dismissed, true);
  assert.deepEqual(JSON.parse(await readFile(dismissalsPath(file), 'utf8')), { dismissed: ['POST /login request_body $.card'] });

  // A store reopened on the same file remembers.
  await store.close();
  const reopened = await openRecordStore({ path: file, maxRecords: 100, maxBytes: 1 << 20 });
  assert.deepEqual(reopened.dismissed(), ['POST /login request_body $.card']);
  await reopened.setDismissed('POST /login request_body $.card', false);
  assert.deepEqual(JSON.parse(await readFile(dismissalsPath(file), 'utf8')), { dismissed: [] });
  await reopened.close();
});
