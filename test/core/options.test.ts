import assert from 'node:assert/strict';
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

  test('publishThread (deprecated) is still accepted, ignored, and named in debug mode; a wrong type still fails', () => {
    for (const value of [true, false, 'auto'] as const) {
      const lines: string[] = [];
      const client = new APIToolkit({ transport, publishThread: value, debug: true, logger: (l) => lines.push(l) });
      assert.ok(
        lines.some((l) => /publishThread is deprecated and ignored/.test(l)),
        String(value),
      );
      void client.shutdown(0);
    }
    const quiet: string[] = [];
    void new APIToolkit({ transport, debug: true, logger: (l) => quiet.push(l) }).shutdown(0);
    assert.ok(!quiet.some((l) => /publishThread/.test(l)));
    assert.throws(
      () => resolveOptions({ apiKey: 'k', publishThread: 'on' as never }),
      /invalid option `publishThread`: expected true, false or 'auto' \(deprecated, ignored\), got "on"/,
    );
  });

  test('asyncContext: a boolean, true by default; false refuses captureOutgoing, naming it', () => {
    assert.equal(resolveOptions({ apiKey: 'k' }).asyncContext, true);
    assert.equal(resolveOptions({ apiKey: 'k', asyncContext: false }).asyncContext, false);
    assert.throws(
      () => resolveOptions({ apiKey: 'k', asyncContext: 'no' as never }),
      /invalid option `asyncContext`: expected a boolean, got "no"/,
    );
    assert.throws(
      () => resolveOptions({ apiKey: 'k', asyncContext: false, captureOutgoing: { fetch: true } }),
      (error: unknown) =>
        error instanceof OptionsInvalidError && /invalid option `captureOutgoing`: needs asyncContext: true/.test(error.message),
    );
    assert.equal(resolveOptions({ apiKey: 'k', captureOutgoing: { fetch: true } }).captureOutgoing?.fetch, true);
  });

  test('pubsubEndpoint: host:port (plaintext) or https://host[:port]; PUBSUB_EMULATOR_HOST only host:port', () => {
    assert.equal(resolveOptions({ apiKey: 'k', pubsubEndpoint: '127.0.0.1:8085' }).pubsubEndpoint, '127.0.0.1:8085');
    assert.equal(
      resolveOptions({ apiKey: 'k', pubsubEndpoint: 'https://europe-west1-pubsub.googleapis.com/' }).pubsubEndpoint,
      'https://europe-west1-pubsub.googleapis.com',
    );
    assert.equal(resolveOptions({ apiKey: 'k', pubsubEndpoint: 'https://127.0.0.1:8443' }).pubsubEndpoint, 'https://127.0.0.1:8443');
    for (const bad of ['https://host/v1', 'https://user:pw@host', 'https://host?x=1', 'http://host:1', 'https://']) {
      assert.throws(() => resolveOptions({ apiKey: 'k', pubsubEndpoint: bad }), /invalid option `pubsubEndpoint`/, bad);
    }
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    process.env.PUBSUB_EMULATOR_HOST = 'https://example.com';
    try {
      assert.throws(
        () => resolveOptions({ apiKey: 'k' }),
        /invalid option `PUBSUB_EMULATOR_HOST \(environment\)`: expected "host:port", got "https:\/\/example\.com"/,
      );
    } finally {
      if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
      else process.env.PUBSUB_EMULATOR_HOST = saved;
    }
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
      assert.throws(
        () => new APIToolkit(input as never),
        (error: unknown) => {
          assert.ok(error instanceof OptionsInvalidError, String(error));
          assert.equal(error.code, 'APITOOLKIT_ERR_OPTIONS_INVALID');
          assert.equal(error.option, option);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  test('an unparsable JSONPath refuses to start: never fail open', () => {
    assert.throws(
      () => new APIToolkit({ transport, redactResponseBody: ['$.ok', '$.a[?'] }),
      (error: unknown) => {
        assert.ok(error instanceof RedactPathInvalidError);
        assert.equal(error.code, 'APITOOLKIT_ERR_REDACT_PATH_INVALID');
        assert.equal(error.option, 'redactResponseBody[1]');
        assert.match(error.message, /\$\.a\[\?/);
        return true;
      },
    );
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
