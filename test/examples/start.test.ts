/**
 * `npm start [-- <framework>]`, the README's first command, for every example: the example API
 * starts with its embedded collector and prints its banner; the requests of the banner's curl
 * commands are answered as without the SDK and printed and stored as records with the framework's
 * route templates, redacted by the example's rules; Ctrl-C stops everything cleanly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { until } from '../helpers/wait.js';
import {
  assertBannerRecords,
  assertNoSecretPrinted,
  bannerCommands,
  printedHeadlines,
  sendBannerRequests,
  startExample,
  type ExpectedRecords,
  type StartOptions,
} from './helpers.js';

interface Example extends ExpectedRecords, StartOptions {
  /** The argument of `npm start --`; none for the default (Express). */
  framework: string | undefined;
  /** Its folder under examples/. */
  folder: string;
  /** For the test's name. */
  name: string;
  /** Between "Example API" and "listening on". */
  title: string;
  /** A request beyond the banner's common ones: its line in the banner, how to send and check it, its printed headline. */
  more?: { command: (base: string) => string; send: (base: string) => Promise<void>; headline: string };
  /** The last line printed on Ctrl-C, for the records sent. */
  stopped: (records: number) => RegExp;
}

const colon = { user: '/users/:id', project: '/orgs/:orgId/projects/:projectId' };
const delivered = (n: number) => new RegExp(`stopped: ${n} record\\(s\\) delivered, 0 dropped`);

const examples: Example[] = [
  {
    framework: undefined,
    folder: 'express',
    name: 'Express',
    title: 'Example API',
    sdkType: 'JsExpress',
    templates: colon,
    stopped: delivered,
  },
  {
    framework: 'fastify',
    folder: 'fastify',
    name: 'Fastify',
    title: 'Example API (Fastify)',
    sdkType: 'JsFastify',
    templates: colon,
    stopped: delivered,
  },
  { framework: 'hono', folder: 'hono', name: 'Hono', title: 'Example API (Hono)', sdkType: 'JsHono', templates: colon, stopped: delivered },
  {
    framework: 'http',
    folder: 'http',
    name: 'node:http',
    title: 'Example API (node:http)',
    sdkType: 'JsNode',
    templates: colon,
    stopped: delivered,
  },
  { framework: 'koa', folder: 'koa', name: 'Koa', title: 'Example API (Koa)', sdkType: 'JsKoa', templates: colon, stopped: delivered },
  {
    framework: 'nest',
    folder: 'nest',
    name: 'NestJS',
    title: 'Example API (NestJS)',
    sdkType: 'JsNest',
    templates: colon,
    stopped: delivered,
  },
  {
    // `next dev` in a process group of its own: SIGINT (not SIGKILL) lets the example stop it. The
    // app's client runs in Next's process and flushes there; the example counts what arrived.
    framework: 'next',
    folder: 'next',
    name: 'Next.js',
    title: 'Example API (Next.js, next dev)',
    sdkType: 'JsNext',
    templates: { user: '/users/[id]', project: '/orgs/[orgId]/projects/[projectId]' },
    listenTimeoutMs: 60_000,
    cleanup: 'SIGINT',
    more: {
      command: (base) => `  curl ${base}/api/hello?name=ada`,
      send: async (base) => {
        assert.deepEqual(await (await fetch(`${base}/api/hello?name=ada`)).json(), { hello: 'ada' });
      },
      headline: 'GET /api/hello →',
    },
    stopped: (n) => new RegExp(`stopped: ${n} record\\(s\\) received`),
  },
];

for (const example of examples) {
  const command = example.framework === undefined ? 'npm start' : `npm start -- ${example.framework}`;
  test(`${command}: the ${example.name} example records requests, redacted, and stops on SIGINT`, async (t) => {
    const app = await startExample(t, example.framework, example);
    const { base } = app;

    // The banner: what README's quick start promises, curl commands for every route.
    const banner = app.output().slice(app.output().indexOf(`${example.title} listening on ${base} (records print below and go to `));
    assert.ok(banner.length < app.output().length, `"${example.title} listening on" printed:\n${app.output()}`);
    const commands = [...bannerCommands(base), ...(example.more ? [example.more.command(base)] : []), 'Press Ctrl+C to stop.'];
    assert.ok(banner.includes(commands.join('\n')), `the banner lists the curl commands:\n${banner}`);

    await sendBannerRequests(base);
    await example.more?.send(base);

    const headlines = [...printedHeadlines(example), ...(example.more ? [example.more.headline] : [])];
    await until(() => headlines.every((h) => app.output().includes(h)), `the records to be printed: ${headlines.join(', ')}`);
    await until(() => app.records().length === headlines.length, `${headlines.length} records in the JSONL file`);
    const records = app.records();
    assertBannerRecords(
      records.filter((r) => r.url_path !== '/api/hello'),
      example,
    );
    if (example.more) assert.ok(records.some((r) => r.url_path === '/api/hello' && r.sdk_type === example.sdkType));
    assertNoSecretPrinted(app.output());

    assert.equal(await app.interrupt(), 0);
    assert.match(app.output(), example.stopped(headlines.length));
  });
}

test('npm start -- <unknown>: exits 2 and lists the examples, each of which this file tests', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/start.ts', 'no-such-framework'], { encoding: 'utf8' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Unknown example "no-such-framework"/);
  const listed = /Available: (.*)\./.exec(result.stderr)?.[1]?.split(', ');
  assert.deepEqual(listed?.sort(), examples.map((e) => e.folder).sort());
});
