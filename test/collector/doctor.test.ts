import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { startCollector, type Collector, type CollectorOptions } from '../../src/collector/index.js';
import { findFrameworks, formatDoctorReport, metadataFailure, runDoctor, type DoctorReport } from '../../src/doctor/index.js';
import { closedPort } from '../helpers/emulator.js';
import { REPO_ROOT, runCli as runCliFrom } from '../helpers/cli.js';

const require = createRequire(import.meta.url);
const KEY = 'dev-key-0000-abcd';

async function start(t: TestContext, options: CollectorOptions = {}): Promise<Collector> {
  const collector = await startCollector({ inspector: false, ...options });
  t.after(() => collector.close());
  return collector;
}

function statuses(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
}

function detail(report: DoctorReport, id: string): string {
  return report.checks.find((check) => check.id === id)?.detail ?? '(no such check)';
}

describe('doctor', () => {
  test('a working set-up: key accepted, project and topic found, publish authorised without sending a record', async (t) => {
    const collector = await start(t, { projectId: '11111111-2222-4333-8444-555555555555' });
    const report = await runDoctor({
      apiKey: KEY,
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      redactHeaders: ['X-Api-Key'],
      redactRequestBody: ['$.password', '$.credit-card.cvv'],
      redactResponseBody: ['$..token'],
      cwd: REPO_ROOT,
      env: {},
    });
    assert.equal(report.ok, true, formatDoctorReport(report));
    assert.deepEqual(statuses(report), {
      runtime: 'ok',
      frameworks: 'ok',
      redaction: 'ok',
      'api-key': 'ok',
      project: 'ok',
      topic: 'ok',
      publish: 'ok',
    });
    assert.match(
      detail(report, 'runtime'),
      new RegExp(
        `^apitoolkit-node ${require('../../package.json').version.replace(/\./g, '\\.')} · Node ${process.version.replace(/\./g, '\\.')} · `,
      ),
    );
    assert.match(detail(report, 'frameworks'), new RegExp(`express ${require('express/package.json').version.replace(/\./g, '\\.')}`));
    assert.match(detail(report, 'frameworks'), /fastify \d+\.\d+\.\d+ · koa \d.* · hono \d.* · @nestjs\/core \d.* · next \d/);
    assert.equal(
      detail(report, 'redaction'),
      'headers: authorization, cookie, set-cookie, proxy-authorization (always) + x-api-key; request body: $.password, $.credit-card.cvv; response body: $..token',
    );
    assert.match(
      detail(report, 'api-key'),
      new RegExp(`^key …abcd accepted by ${collector.rootURL} \\(GET /api/client_metadata: 200 in \\d+ ms\\)$`),
    );
    assert.equal(detail(report, 'project'), 'APIToolkit project 11111111-2222-4333-8444-555555555555');
    assert.equal(
      detail(report, 'topic'),
      `projects/apitoolkit-local/topics/apitoolkit-local via the plaintext endpoint ${collector.pubsubEndpoint} (emulator mode, no credentials)`,
    );
    assert.match(
      detail(report, 'publish'),
      /^authorised: pubsub\.topics\.publish granted on projects\/apitoolkit-local\/topics\/apitoolkit-local/,
    );
    assert.deepEqual(collector.stats(), { publishRequests: 0, messages: 0, metadataRequests: 1 }, 'nothing was published');

    const text = formatDoctorReport(report);
    assert.match(text, /^apitoolkit-node doctor\n\n {2}✓ runtime/);
    assert.match(text, /\nAll checks passed\.\n$/);
    assert.ok(!text.includes(KEY), 'the key is never printed whole');
  });

  test('a refused key fails with HTTP 401 and a hint; the later checks are skipped', async (t) => {
    const collector = await start(t, { rejectKeys: [KEY] });
    const report = await runDoctor({
      apiKey: KEY,
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      cwd: REPO_ROOT,
      env: {},
    });
    assert.equal(report.ok, false);
    assert.deepEqual(statuses(report), {
      runtime: 'ok',
      frameworks: 'ok',
      redaction: 'ok',
      'api-key': 'fail',
      project: 'skip',
      topic: 'skip',
      publish: 'skip',
    });
    assert.equal(detail(report, 'api-key'), `key …abcd refused by ${collector.rootURL} (HTTP 401)`);
    const text = formatDoctorReport(report);
    assert.match(text, /✗ API key +key …abcd refused .*\n +→ copy the key again/);
    assert.match(text, /\n1 check failed\.\n$/);
  });

  test('an unreachable metadata endpoint is a network failure naming the cause', async () => {
    const port = await closedPort();
    const report = await runDoctor({ apiKey: KEY, rootURL: `http://127.0.0.1:${port}`, cwd: REPO_ROOT, env: {} });
    assert.equal(report.ok, false);
    assert.equal(
      detail(report, 'api-key'),
      `cannot reach http://127.0.0.1:${port}: connection refused: nothing is listening there (ECONNREFUSED)`,
    );
    assert.equal(statuses(report).publish, 'skip');
  });

  test('a TLS failure (https to a plain-HTTP server) is named as one', async (t) => {
    const collector = await start(t);
    const rootURL = collector.rootURL.replace('http:', 'https:');
    const report = await runDoctor({ apiKey: KEY, rootURL, cwd: REPO_ROOT, env: {} });
    assert.equal(report.ok, false);
    // fetch names it ERR_SSL_WRONG_VERSION_NUMBER; node:https, failing while it writes the request, EPROTO.
    assert.match(
      detail(report, 'api-key'),
      new RegExp(`^TLS failure talking to ${rootURL.replace(/[.:/]/g, '\\$&')} \\((ERR_SSL_[A-Z_]+|EPROTO: wrong version number)\\)`),
    );
    assert.match(report.checks.find((c) => c.id === 'api-key')!.hint!, /scheme/);
  });

  test('other TLS errors are recognised by their code anywhere in the cause chain', () => {
    const nested = new Error('fetch failed', {
      cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
    assert.match(metadataFailure(nested, 'https://x', KEY).detail, /^TLS failure talking to https:\/\/x \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    const expired = new Error('outer', {
      cause: new Error('middle', { cause: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }) }),
    });
    assert.match(metadataFailure(expired, 'https://x', KEY).detail, /\(CERT_HAS_EXPIRED\)/);
    assert.match(
      metadataFailure(Object.assign(new Error('dns'), { code: 'ENOTFOUND' }), 'https://x', KEY).detail,
      /does not resolve \(ENOTFOUND\)/,
    );
  });

  test('a publish that would be refused is reported without sending anything', async (t) => {
    const collector = await start(t);
    collector.setPublishFault(7);
    const report = await runDoctor({
      apiKey: KEY,
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      cwd: REPO_ROOT,
      env: {},
    });
    assert.equal(report.ok, false);
    assert.equal(statuses(report).publish, 'fail');
    assert.equal(
      detail(report, 'publish'),
      'not authorised: pubsub.topics.publish is not granted on projects/apitoolkit-local/topics/apitoolkit-local',
    );
    assert.equal(collector.stats().publishRequests, 0);
  });

  test('an unreachable Pub/Sub endpoint fails the publish check, naming the network error', async (t) => {
    const collector = await start(t);
    const endpoint = `127.0.0.1:${await closedPort()}`;
    const report = await runDoctor({
      apiKey: KEY,
      rootURL: collector.rootURL,
      pubsubEndpoint: endpoint,
      cwd: REPO_ROOT,
      env: {},
      timeoutMs: 5_000,
    });
    assert.equal(report.ok, false);
    assert.match(
      detail(report, 'publish'),
      new RegExp(`^could not ask ${endpoint}: testIamPermissions failed: connect ECONNREFUSED ${endpoint}`),
    );
    assert.match(report.checks.find((c) => c.id === 'publish')!.hint!, /collector or emulator running/);
  });

  test('redaction rules are compiled as new APIToolkit() compiles them: a bad path fails, naming the option', async () => {
    const report = await runDoctor({
      apiKey: KEY,
      rootURL: 'http://127.0.0.1:9',
      redactRequestBody: ['$.ok', '$.broken['],
      cwd: REPO_ROOT,
      env: {},
    });
    assert.equal(report.ok, false);
    assert.equal(statuses(report).redaction, 'fail');
    assert.match(detail(report, 'redaction'), /invalid JSONPath in `redactRequestBody\[1\]`: "\$\.broken\["/);
    assert.deepEqual(
      [statuses(report)['api-key'], statuses(report).publish],
      ['skip', 'skip'],
      'no network check with options the SDK would refuse',
    );
    const badRoot = await runDoctor({ apiKey: KEY, rootURL: 'ftp://example.com', cwd: REPO_ROOT, env: {} });
    assert.match(detail(badRoot, 'redaction'), /invalid option `rootURL`: expected an http or https URL/);
  });

  test('the key comes from APITOOLKIT_KEY when not given; without one the key check fails with a hint', async (t) => {
    const collector = await start(t);
    const fromEnv = await runDoctor({
      rootURL: collector.rootURL,
      cwd: REPO_ROOT,
      env: { APITOOLKIT_KEY: KEY, PUBSUB_EMULATOR_HOST: collector.pubsubEndpoint },
    });
    assert.equal(fromEnv.ok, true, formatDoctorReport(fromEnv));
    assert.match(detail(fromEnv, 'topic'), new RegExp(`plaintext endpoint ${collector.pubsubEndpoint}`));
    const none = await runDoctor({ rootURL: collector.rootURL, cwd: REPO_ROOT, env: {} });
    assert.equal(none.ok, false);
    assert.deepEqual(
      none.checks.find((c) => c.id === 'api-key'),
      { id: 'api-key', label: 'API key', status: 'fail', detail: 'no API key given', hint: 'pass --api-key KEY or set APITOOLKIT_KEY' },
    );
  });

  test('framework versions are looked up from the app directory upwards; an unsupported Express is a warning', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'apitoolkit-doctor-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const app = join(dir, 'packages', 'api');
    await mkdir(app, { recursive: true });
    assert.deepEqual(await findFrameworks(app), []);
    for (const [name, version] of [
      ['express', '3.21.2'],
      ['@nestjs/core', '10.4.0'],
    ] as const) {
      await mkdir(join(dir, 'node_modules', name), { recursive: true });
      await writeFile(join(dir, 'node_modules', name, 'package.json'), JSON.stringify({ name, version }));
    }
    assert.deepEqual(
      (await findFrameworks(app)).map((f) => `${f.name}@${f.version}`),
      ['express@3.21.2', '@nestjs/core@10.4.0'],
    );
    const report = await runDoctor({ cwd: app, env: {}, rootURL: 'http://127.0.0.1:9' });
    const frameworks = report.checks.find((c) => c.id === 'frameworks')!;
    assert.equal(frameworks.status, 'warn');
    assert.equal(frameworks.detail, 'express 3.21.2 · @nestjs/core 10.4.0');
    assert.match(frameworks.hint!, /supports Express 4 and 5/);
  });
});

describe('apitoolkit-node doctor (CLI)', () => {
  const runCli = (args: string[]) => runCliFrom(args, { APITOOLKIT_KEY: '', PUBSUB_EMULATOR_HOST: '' });

  test('exits 0 when every check passes and 1 when one fails', async (t) => {
    const collector = await start(t, { rejectKeys: ['revoked-9999'] });
    const ok = await runCli([
      'doctor',
      '--api-key',
      KEY,
      '--root-url',
      collector.rootURL,
      '--pubsub-endpoint',
      collector.pubsubEndpoint,
      '--redact-header',
      'X-Api-Key',
      '--redact-request-body',
      '$.password',
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /✓ publish +authorised/);
    assert.match(ok.stdout, /\+ x-api-key; request body: \$\.password;/);
    assert.match(ok.stdout, /All checks passed/);

    const refused = await runCli([
      'doctor',
      '--api-key',
      'revoked-9999',
      '--root-url',
      collector.rootURL,
      '--pubsub-endpoint',
      collector.pubsubEndpoint,
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /✗ API key +key …9999 refused/);

    const port = await closedPort();
    const unreachable = await runCli(['doctor', '--api-key', KEY, '--root-url', `http://127.0.0.1:${port}`, '--timeout', '3000']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stdout, /ECONNREFUSED/);
  });

  test('options of another command, or a bad timeout, are usage errors (exit 2)', async () => {
    const wrong = await runCli(['doctor', '--jsonl', 'x.jsonl']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--jsonl is not an option of doctor/);
    const timeout = await runCli(['doctor', '--timeout', 'soon']);
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /--timeout expects a positive whole number/);
  });
});
