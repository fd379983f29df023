import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { publishRecord } from '../helpers/pubsub-rest.js';
import { startCollector } from '../../src/collector/index.js';
import { openRecordStore } from '../../src/collector/store.js';
import { until } from '../helpers/wait.js';
import { makeRecord } from './helpers.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'apitoolkit-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function fileUrls(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { raw_url: string }).raw_url);
}

describe('record store', () => {
  test('in memory: keeps the newest by count, then by bytes, always the newest one', async () => {
    const byCount = await openRecordStore({ path: null, maxRecords: 3, maxBytes: 1e9 });
    for (let i = 0; i < 5; i++) byCount.add(makeRecord({ raw_url: `/n/${i}` }));
    assert.deepEqual(
      byCount.list().map((e) => e.record.raw_url),
      ['/n/2', '/n/3', '/n/4'],
    );
    assert.deepEqual(
      byCount.list().map((e) => e.seq),
      [3, 4, 5],
    );
    assert.equal(byCount.get(1), undefined);
    assert.equal(byCount.get(5)?.record.raw_url, '/n/4');

    const byBytes = await openRecordStore({ path: null, maxRecords: 100, maxBytes: 2_500 });
    for (let i = 0; i < 5; i++) byBytes.add(makeRecord({ raw_url: `/b/${i}`, response_body: 'A'.repeat(800) }), 1_000);
    assert.deepEqual(
      byBytes.list().map((e) => e.record.raw_url),
      ['/b/3', '/b/4'],
    );
    byBytes.add(makeRecord({ raw_url: '/huge' }), 10_000);
    assert.deepEqual(
      byBytes.list().map((e) => e.record.raw_url),
      ['/huge'],
      'one record over the cap is still kept',
    );
    const churn = await openRecordStore({ path: null, maxRecords: 10, maxBytes: 1e9 });
    for (let i = 0; i < 5_000; i++) churn.add(makeRecord({ raw_url: `/c/${i}` }), 100);
    assert.deepEqual(
      churn.list().map((e) => e.seq),
      Array.from({ length: 10 }, (_, i) => 4_991 + i),
    );
    assert.equal(churn.get(4_991)?.record.raw_url, '/c/4990');
    assert.equal(churn.get(4_990), undefined);
    await Promise.all([byCount.close(), byBytes.close(), churn.close()]);
  });

  test('subscribers hear every add; a throwing subscriber does not stop the others', async () => {
    const store = await openRecordStore({ path: null, maxRecords: 10, maxBytes: 1e9 });
    const heard: number[] = [];
    store.subscribe(() => {
      throw new Error('broken subscriber');
    });
    const unsubscribe = store.subscribe((entry) => heard.push(entry.seq));
    store.add(makeRecord());
    store.add(makeRecord());
    unsubscribe();
    store.add(makeRecord());
    assert.deepEqual(heard, [1, 2]);
    await store.close();
  });

  test('with a file: appends, and a reopened store reloads the newest records, skipping broken lines', async (t) => {
    const path = join(await tempDir(t), 'records.jsonl');
    const first = await openRecordStore({ path, maxRecords: 100, maxBytes: 1e9 });
    assert.equal(first.reloaded, 0);
    for (let i = 0; i < 3; i++) first.add(makeRecord({ raw_url: `/first/${i}` }));
    await first.close();
    // A crash mid-write leaves half a line without a newline; someone else's line is not ours.
    await appendFile(path, '{"not":"ours"}\n[1,2]\n{"raw_url":"/cut-off", "meth');

    const second = await openRecordStore({ path, maxRecords: 100, maxBytes: 1e9 });
    assert.equal(second.reloaded, 4);
    assert.deepEqual(
      second.list().map((e) => e.record.raw_url),
      ['/first/0', '/first/1', '/first/2', undefined],
    );
    second.add(makeRecord({ raw_url: '/second/0' }));
    await second.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    assert.equal(lines.at(-2), JSON.stringify(second.list().at(-1)!.record), 'the new record is on a line of its own');
    assert.equal(lines.at(-1), '');

    const third = await openRecordStore({ path, maxRecords: 2, maxBytes: 1e9 });
    assert.deepEqual(
      third.list().map((e) => e.record.raw_url),
      [undefined, '/second/0'],
    );
    await third.close();
  });

  test('the file is rewritten with only the kept records once it outgrows the caps, never losing a new one', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'records.jsonl');
    const store = await openRecordStore({ path, maxRecords: 4, maxBytes: 1e9 });
    for (let i = 0; i < 25; i++) store.add(makeRecord({ raw_url: `/r/${i}` }));
    await store.close();
    const urls = await fileUrls(path);
    assert.ok(urls.length <= 6, `file holds ${urls.length} records, at most 1.5 x 4`);
    assert.deepEqual(urls.slice(-4), ['/r/21', '/r/22', '/r/23', '/r/24']);
    assert.deepEqual(
      urls,
      [...urls].sort((a, b) => Number(a.split('/')[2]) - Number(b.split('/')[2])),
      'in order',
    );
    assert.deepEqual(await readdir(dir), ['records.jsonl'], 'no temporary file left behind');

    const reopened = await openRecordStore({ path, maxRecords: 4, maxBytes: 1e9 });
    assert.deepEqual(
      reopened.list().map((e) => e.record.raw_url),
      ['/r/21', '/r/22', '/r/23', '/r/24'],
    );
    await reopened.close();
  });

  test('while running, appends that outgrow the caps trigger rewrites without waiting for close()', async (t) => {
    const path = join(await tempDir(t), 'records.jsonl');
    const store = await openRecordStore({ path, maxRecords: 4, maxBytes: 1e9 });
    t.after(() => store.close());
    for (let i = 0; i < 30; i++) {
      store.add(makeRecord({ raw_url: `/live/${i}` }));
      await new Promise(setImmediate); // one add per event-loop turn, as Publish calls arrive
    }
    let urls: string[] = [];
    await until(() => {
      try {
        urls = readFileSync(path, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { raw_url: string }).raw_url);
      } catch {
        return false; // mid-rename
      }
      return urls.length <= 6 && urls.at(-1) === '/live/29';
    }, 'the file to be compacted while the store stays open');
    assert.deepEqual(urls.slice(-4), ['/live/26', '/live/27', '/live/28', '/live/29']);
    assert.equal(new Set(urls).size, urls.length, 'no record written twice');
  });

  test('an oversized file from an earlier run is trimmed to the caps on open', async (t) => {
    const path = join(await tempDir(t), 'records.jsonl');
    await writeFile(path, Array.from({ length: 50 }, (_, i) => `${JSON.stringify(makeRecord({ raw_url: `/old/${i}` }))}\n`).join(''));
    const store = await openRecordStore({ path, maxRecords: 5, maxBytes: 1e9 });
    assert.equal(store.reloaded, 5);
    await store.close();
    assert.deepEqual(await fileUrls(path), ['/old/45', '/old/46', '/old/47', '/old/48', '/old/49']);
  });
});

describe('the collector and its store', () => {
  test('records of an earlier run are back in storedRecords() (not in records()), bounded by maxStoredRecords', async (t) => {
    const path = join(await tempDir(t), 'records.jsonl');
    const earlier = await startCollector({ jsonlPath: path, inspector: false });
    const sent = [0, 1, 2].map((i) => makeRecord({ raw_url: `/earlier/${i}` }));
    for (const record of sent) await publishRecord(earlier.pubsubEndpoint, record);
    await earlier.close();

    const later = await startCollector({ jsonlPath: path, maxStoredRecords: 2 });
    t.after(() => later.close());
    assert.deepEqual(later.records(), []);
    assert.deepEqual(later.storedRecords(), sent.slice(1));
    const page = (await (await fetch(`${later.inspectorURL}api/records`)).json()) as { records: { record: { raw_url: string } }[] };
    assert.deepEqual(
      page.records.map((e) => e.record.raw_url),
      ['/earlier/1', '/earlier/2'],
    );
  });

  test('a taken inspector port makes startCollector reject and leaves no empty JSONL file behind', async (t) => {
    const dir = await tempDir(t);
    const first = await startCollector();
    t.after(() => first.close());
    const port = Number(new URL(first.inspectorURL!).port);
    await assert.rejects(startCollector({ jsonlPath: join(dir, 'new.jsonl'), inspector: { port } }), { code: 'EADDRINUSE' });
    assert.deepEqual(await readdir(dir), []);
  });

  test('rejects bad store and inspector options, naming them', async () => {
    await assert.rejects(startCollector({ maxStoredRecords: 0 }), { code: 'APITOOLKIT_ERR_OPTIONS_INVALID', message: /maxStoredRecords/ });
    await assert.rejects(startCollector({ inspector: { port: 99_999 } }), {
      code: 'APITOOLKIT_ERR_OPTIONS_INVALID',
      message: /inspector\.port/,
    });
    await assert.rejects(startCollector({ inspector: 'yes' as never }), { code: 'APITOOLKIT_ERR_OPTIONS_INVALID', message: /inspector/ });
  });
});
