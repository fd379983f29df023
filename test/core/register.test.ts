/**
 * Zero-code start: `node --import apitoolkit-node/register app.js`, configured from the environment,
 * records an app that imports nothing of the SDK (Express with its route templates, plain node:http
 * with ids templated), redacts by the environment's rules, and delivers on SIGTERM and when the
 * process ends by itself. Each app runs in a child process against an in-process local collector.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { until } from '../helpers/wait.js';

const APP = fileURLToPath(new URL('../fixtures/register/app.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../../src/register.ts', import.meta.url));

async function start(t: TestContext, collector: Collector, args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', REGISTER, APP, ...args], {
    env: {
      ...process.env,
      APITOOLKIT_KEY: 'zero-code-key',
      APITOOLKIT_ROOT_URL: collector.rootURL,
      APITOOLKIT_PUBSUB_ENDPOINT: collector.pubsubEndpoint,
      APITOOLKIT_TAGS: 'zero-code',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until(() => output.includes('"express"'), 'the app listening', 30_000);
  const urls = JSON.parse(output.split('\n').find((line) => line.includes('"express"'))!) as { express: string; plain: string };
  return { child, urls, output: () => output };
}

test('an app with no SDK code is recorded, from the environment, and flushed on SIGTERM', async (t) => {
  const collector = await startCollector({ inspector: false });
  t.after(() => collector.close());
  const { child, urls } = await start(t, collector);
  await (await fetch(`${urls.express}/users/42?x=1`)).text();
  await (
    await fetch(`${urls.express}/users/7`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
  ).text();
  await (await fetch(`${urls.plain}/orders/123/items/9f2c1e4a-5b6d-4c3e-8f7a-1b2c3d4e5f60`)).text();
  child.kill('SIGTERM');
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  // No SIGTERM listener of the app's: the signal is raised again once the records are out.
  assert.equal(signal ?? code, signal === null ? 143 : 'SIGTERM');
  const records = collector.records();
  assert.equal(records.length, 3);
  const get = records.find((r) => r.method === 'GET' && r.url_path === '/users/:id')!;
  assert.equal(get.sdk_type, 'JsExpress');
  assert.deepEqual(get.path_params, { id: '42' });
  assert.deepEqual(get.tags, ['zero-code']);
  assert.equal(Buffer.from(records.find((r) => r.method === 'POST')!.request_body, 'base64').toString(), '{"a":1}');
  const plain = records.find((r) => r.sdk_type === 'JsNode')!;
  assert.equal(plain.url_path, '/orders/:id/items/:id2');
  assert.deepEqual(plain.path_params, { id: '123', id2: '9f2c1e4a-5b6d-4c3e-8f7a-1b2c3d4e5f60' });
});

test('a process that ends by itself delivers what it captured first', async (t) => {
  const collector = await startCollector({ inspector: false });
  t.after(() => collector.close());
  const { child, urls } = await start(t, collector, ['exit']);
  await (await fetch(`${urls.express}/users/1`)).text();
  await (await fetch(`${urls.plain}/ping`)).text();
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.equal(collector.records().length, 2);
});

test('without a key: one warning, and the app runs untouched', async (t) => {
  const collector = await startCollector({ inspector: false });
  t.after(() => collector.close());
  const { child, urls, output } = await start(t, collector, ['exit'], { APITOOLKIT_KEY: '' });
  await (await fetch(`${urls.express}/users/1`)).text();
  await (await fetch(`${urls.plain}/ping`)).text();
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.match(output(), /no API key/);
  assert.equal(collector.records().length, 0);
});
