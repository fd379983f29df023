import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { until } from '../helpers/wait.js';
import { makeRecord } from '../inspector/helpers.js';
import { startCli, type RunningCli } from '../helpers/cli.js';

function runCli(t: TestContext, args: string[]): RunningCli {
  const cli = startCli(args);
  t.after(() => cli.child.kill('SIGKILL'));
  return cli;
}

describe('apitoolkit-node collector: the inspector', () => {
  test('prints the inspector URL, serves it, and reloads the JSONL history', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'apitoolkit-cli-inspector-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const jsonl = join(dir, 'history.jsonl');
    const earlier = [makeRecord({ raw_url: '/earlier/1' }), makeRecord({ raw_url: '/earlier/2' })];
    await writeFile(jsonl, earlier.map((r) => `${JSON.stringify(r)}\n`).join(''));

    const cli = runCli(t, ['collector', '--http-port', '0', '--pubsub-port', '0', '--inspector-port', '0', '--jsonl', jsonl, '--no-print']);
    await until(() => cli.stdout().includes('Press Ctrl-C to stop'), 'the banner', 15_000);
    assert.ok(cli.stdout().includes(`appended to ${jsonl} (2 reloaded)`), cli.stdout());
    const url = /\n {2}inspector +(http:\/\/127\.0\.0\.1:\d+\/) {2}\(open it in a browser\)\n/.exec(cli.stdout())?.[1];
    assert.ok(url && !url.endsWith(':0/'), cli.stdout());
    // The metadata URL stays the first URL of the banner (scripts read the addresses from it).
    assert.equal(/(http:\/\/127\.0\.0\.1:\d+)/.exec(cli.stdout())?.[1], /rootURL: +'(http:\/\/127\.0\.0\.1:\d+)'/.exec(cli.stdout())?.[1]);

    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>apitoolkit-node inspector<\/title>/);
    const records = (await (await fetch(`${url}api/records`)).json()) as { records: { record: { raw_url: string } }[] };
    assert.deepEqual(
      records.records.map((e) => e.record.raw_url),
      ['/earlier/1', '/earlier/2'],
    );

    cli.child.kill('SIGTERM');
    assert.deepEqual(await cli.exited, [0, null]);
  });

  test('--no-inspector serves none; conflicting or bad flags are usage errors', async (t) => {
    const off = runCli(t, ['collector', '--http-port', '0', '--pubsub-port', '0', '--no-inspector', '--no-jsonl', '--no-print']);
    await until(() => off.stdout().includes('Press Ctrl-C to stop'), 'the banner', 15_000);
    assert.match(off.stdout(), /\n {2}inspector +off\n/);
    off.child.kill('SIGTERM');
    assert.deepEqual(await off.exited, [0, null]);

    for (const [args, message] of [
      [['--no-inspector', '--inspector-port', '0'], /--no-inspector conflicts with --inspector-port/],
      [['--max-stored', '0'], /--max-stored expects a positive whole number/],
      [['--inspector-port', 'x'], /--inspector-port expects a port number/],
      [['--api-key', 'k'], /--api-key is not an option of collector/],
    ] as const) {
      const cli = runCli(t, ['collector', ...args]);
      assert.deepEqual(await cli.exited, [2, null], args.join(' '));
      assert.match(cli.stderr(), message);
    }
  });
});
