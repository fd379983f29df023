import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { APIToolkit, MemoryTransport, OptionsInvalidError, RedactPathInvalidError } from '../../src/index.js';
import { resolveOptions, DEFAULT_MAX_BODY_BYTES, DEFAULT_ROOT_URL } from '../../src/core/options.js';

const transport = new MemoryTransport();

describe('resolveOptions', () => {
  test('defaults', () => {
    const o = resolveOptions({ apiKey: 'k' });
    assert.equal(o.rootURL, DEFAULT_ROOT_URL);
    assert.equal(o.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
    assert.equal(o.debug, false);
    assert.equal(o.enabled, true);
    assert.equal(o.serviceVersion, null);
    assert.deepEqual(o.tags, []);
    assert.ok(Object.isFrozen(o));
  });

  test("publishThread: 'auto' (the default) is the worker thread exactly when two cores or more may run the process", () => {
    const twoOrMore = availableParallelism() >= 2;
    assert.equal(resolveOptions({ apiKey: 'k' }).publishThread, twoOrMore);
    assert.equal(resolveOptions({ apiKey: 'k', publishThread: 'auto' }).publishThread, twoOrMore);
    assert.equal(resolveOptions({ apiKey: 'k', publishThread: true }).publishThread, true);
    assert.equal(resolveOptions({ apiKey: 'k', publishThread: false }).publishThread, false);
    assert.throws(() => resolveOptions({ apiKey: 'k', publishThread: 'on' as never }), /invalid option `publishThread`: expected true, false or 'auto', got "on"/);
  });

  test("publishThread: 'auto' in a process pinned to one core (taskset) is the app's thread", (t) => {
    const module = new URL('../../src/core/options.ts', import.meta.url).href;
    const code = `const { resolveOptions } = await import(${JSON.stringify(module)}); console.log(resolveOptions({ apiKey: 'k' }).publishThread);`;
    let out: string;
    try {
      out = execFileSync('taskset', ['-c', '0', process.execPath, '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
    } catch (error) {
      // No taskset on this machine: the in-process case above still holds.
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOENT', String(error));
      t.diagnostic('taskset not found: pinned case not run');
      return;
    }
    assert.equal(out.trim(), 'false');
  });

  test('a trailing slash on rootURL is removed', () => {
    assert.equal(resolveOptions({ apiKey: 'k', rootURL: 'http://127.0.0.1:9/' }).rootURL, 'http://127.0.0.1:9');
  });

  test('maxBatchSize larger than maxQueueSize is clamped with one warning', () => {
    const lines: string[] = [];
    const o = resolveOptions({ transport, maxQueueSize: 10, maxBatchSize: 50, logger: (l) => lines.push(l) });
    assert.equal(o.maxBatchSize, 10);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /maxBatchSize \(50\)/);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['apiKey', { apiKey: 42 }, /apiKey.*number/],
    ['apiKey', { apiKey: '' }, /apiKey.*empty/],
    ['rootURL', { apiKey: 'k', rootURL: 'not a url' }, /rootURL.*"not a url"/],
    ['rootURL', { apiKey: 'k', rootURL: 'ftp://x' }, /rootURL.*"ftp:\/\/x"/],
    ['pubsubEndpoint', { apiKey: 'k', pubsubEndpoint: 'http://x:1' }, /pubsubEndpoint.*"http:\/\/x:1"/],
    ['transport', { transport: { send() {} } }, /transport.*start\(\)/],
    ['debug', { transport, debug: 'yes' }, /debug.*boolean.*"yes"/],
    ['redactHeaders', { transport, redactHeaders: 'x-api-key' }, /redactHeaders.*array/],
    ['redactHeaders[1]', { transport, redactHeaders: ['a', 7] }, /redactHeaders\[1\].*number 7/],
    ['tags[0]', { transport, tags: [''] }, /tags\[0\]/],
    ['serviceVersion', { transport, serviceVersion: 1.4 }, /serviceVersion.*1\.4/],
    ['maxBodyBytes', { transport, maxBodyBytes: -1 }, /maxBodyBytes.*-1/],
    ['maxBodyBytes', { transport, maxBodyBytes: 50 * 1024 * 1024 }, /maxBodyBytes.*3145728/],
    ['maxQueueSize', { transport, maxQueueSize: 1.5 }, /maxQueueSize.*1\.5/],
    ['maxBatchSize', { transport, maxBatchSize: 5000 }, /maxBatchSize.*1000/],
    ['flushIntervalMs', { transport, flushIntervalMs: '100' }, /flushIntervalMs.*"100"/],
    ['ignorePaths[0]', { transport, ignorePaths: [5] }, /ignorePaths\[0\]/],
    ['beforeSend', { transport, beforeSend: 'drop' }, /beforeSend.*function/],
    ['maxQueueSise', { transport, maxQueueSise: 10 }, /maxQueueSise.*unknown option/],
  ];
  for (const [option, input, message] of bad) {
    test(`bad ${option}: a coded error that names the option and the value`, () => {
      assert.throws(() => new APIToolkit(input as never), (error: unknown) => {
        assert.ok(error instanceof OptionsInvalidError, String(error));
        assert.equal(error.code, 'APITOOLKIT_ERR_OPTIONS_INVALID');
        assert.equal(error.option, option);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('an unparsable JSONPath refuses to start: never fail open', () => {
    assert.throws(() => new APIToolkit({ transport, redactResponseBody: ['$.ok', '$.a[?'] }), (error: unknown) => {
      assert.ok(error instanceof RedactPathInvalidError);
      assert.equal(error.code, 'APITOOLKIT_ERR_REDACT_PATH_INVALID');
      assert.equal(error.option, 'redactResponseBody[1]');
      assert.match(error.message, /\$\.a\[\?/);
      return true;
    });
  });

  test('the API key is never part of an error message', () => {
    try {
      new APIToolkit({ apiKey: 'super-secret-key', rootURL: 'bad' });
      assert.fail('should throw');
    } catch (error) {
      assert.ok(!String((error as Error).message).includes('super-secret-key'));
    }
  });

  test('the constructor returns before metadata is fetched (start-up runs in the background)', () => {
    const client = new APIToolkit({ apiKey: 'k', rootURL: 'http://127.0.0.1:9' });
    assert.equal(client.stats().state, 'starting');
    void client.shutdown(10);
  });
});
