/**
 * Bad configuration of every option: `new APIToolkit()` throws a coded error that names the option
 * and the value it got (never the API key's value), and `rootURL` must be https except for loopback
 * unless `allowInsecureRootURL: true`. A test fails when an option is added without a case here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APIToolkit, MemoryTransport, OptionsInvalidError, RedactPathInvalidError, shutdownOnSignals } from '../../src/index.js';
import { KNOWN_OPTIONS, resolveOptions } from '../../src/core/options.js';

const transport = new MemoryTransport();

/** Per option: bad values, the option name the error must give, and what the message must show. */
const BAD: Record<string, { value: unknown; option?: string; shows: string | RegExp; base?: Record<string, unknown> }[]> = {
  apiKey: [
    { value: 42, shows: 'number', base: {} },
    { value: '', shows: 'empty string', base: {} },
    { value: '   ', shows: 'non-empty string', base: {} },
  ],
  rootURL: [
    { value: 'not a url', shows: '"not a url"' },
    { value: 'ftp://example.com', shows: '"ftp://example.com"' },
    { value: 12, shows: 'number 12' },
    { value: 'http://app.apitoolkit.io', shows: '"http://app.apitoolkit.io"' },
    { value: 'http://10.0.0.7:8080', shows: 'allowInsecureRootURL' },
    { value: 'http://128.0.0.1', shows: 'https' },
    { value: 'http://localhost.example.com', shows: 'https' },
  ],
  allowInsecureRootURL: [
    { value: 'yes', shows: '"yes"' },
    { value: 1, shows: 'number 1' },
  ],
  pubsubEndpoint: [
    { value: 'http://x:1', shows: '"http://x:1"' },
    { value: 'localhost', shows: '"localhost"' },
    { value: 8085, shows: 'number 8085' },
  ],
  transport: [
    { value: { send() {} }, shows: 'an object' },
    { value: 'memory', shows: '"memory"', base: { apiKey: 'k' } },
  ],
  enabled: [{ value: 'false', shows: '"false"' }],
  publishThread: [{ value: 'yes', shows: '"yes"' }],
  debug: [
    { value: 'yes', shows: '"yes"' },
    { value: 1, shows: 'number 1' },
  ],
  logger: [
    { value: 'stderr', shows: '"stderr"' },
    { value: {}, shows: 'an object' },
  ],
  redactHeaders: [
    { value: 'x-api-key', shows: '"x-api-key"' },
    { value: ['a', 7], option: 'redactHeaders[1]', shows: 'number 7' },
    { value: [''], option: 'redactHeaders[0]', shows: '""' },
  ],
  sampleRate: [
    { value: 1.5, shows: 'number 1.5' },
    { value: '0.1', shows: '"0.1"' },
    { value: Number.NaN, shows: 'NaN' },
  ],
  sampleRoutes: [
    { value: ['/health'], shows: 'an array' },
    { value: { '/health': 2 }, option: 'sampleRoutes["/health"]', shows: 'number 2' },
    { value: { '': 0 }, shows: '""' },
  ],
  redactQueryParams: [
    { value: 'token', shows: '"token"' },
    { value: ['token', 7], option: 'redactQueryParams[1]', shows: 'number 7' },
    { value: ['  '], option: 'redactQueryParams[0]', shows: '"  "' },
  ],
  redactRequestBody: [
    { value: '$.password', shows: '"$.password"' },
    { value: ['$.ok', null], option: 'redactRequestBody[1]', shows: 'null' },
    { value: ['$.a[?'], option: 'redactRequestBody[0]', shows: '$.a[?' },
  ],
  redactResponseBody: [
    { value: {}, shows: 'an object' },
    { value: ['$..'], option: 'redactResponseBody[0]', shows: '$..' },
  ],
  serviceVersion: [
    { value: 1.4, shows: '1.4' },
    { value: ['1'], shows: 'an array' },
  ],
  tags: [
    { value: 'prod', shows: '"prod"' },
    { value: ['ok', 3], option: 'tags[1]', shows: 'number 3' },
  ],
  ignorePaths: [
    { value: '/health', shows: '"/health"' },
    { value: [5], option: 'ignorePaths[0]', shows: 'number 5' },
  ],
  ignoreMethods: [
    { value: 'OPTIONS', shows: '"OPTIONS"' },
    { value: [true], option: 'ignoreMethods[0]', shows: 'boolean true' },
  ],
  captureRequestBody: [{ value: 'no', shows: '"no"' }],
  asyncContext: [
    { value: 'off', shows: '"off"' },
    { value: 0, shows: 'number 0' },
  ],
  captureResponseBody: [{ value: 0, shows: 'number 0' }],
  maxBodyBytes: [
    { value: -1, shows: '-1' },
    { value: 50 * 1024 * 1024, shows: '52428800' },
    { value: '1mb', shows: '"1mb"' },
  ],
  maxQueueSize: [
    { value: 0, shows: 'number 0' },
    { value: 1.5, shows: '1.5' },
    { value: Number.NaN, shows: 'NaN' },
  ],
  maxQueueBytes: [
    { value: 100, shows: 'number 100' },
    { value: Infinity, shows: 'Infinity' },
  ],
  maxBatchSize: [
    { value: 5000, shows: '5000' },
    { value: 0, shows: 'number 0' },
  ],
  maxBatchBytes: [
    { value: 10 * 1024 * 1024, shows: '10485760' },
    { value: 10, shows: 'number 10' },
  ],
  flushIntervalMs: [
    { value: '100', shows: '"100"' },
    { value: -5, shows: '-5' },
  ],
  exportTimeoutMs: [
    { value: 0, shows: 'number 0' },
    { value: 2 ** 40, shows: String(2 ** 40) },
  ],
  metadataTimeoutMs: [{ value: null, shows: 'null' }],
  beforeSend: [{ value: 'drop', shows: '"drop"' }],
  onError: [{ value: true, shows: 'boolean true' }],
  captureOutgoing: [
    { value: 'fetch', shows: '"fetch"' },
    { value: { fetch: 'yes' }, option: 'captureOutgoing.fetch', shows: '"yes"' },
    { value: { grpc: true }, option: 'captureOutgoing.grpc', shows: 'unknown' },
    { value: { axios: 'default' }, option: 'captureOutgoing.axios', shows: '"default"' },
  ],
  redactOutgoingHeaders: [{ value: [42], option: 'redactOutgoingHeaders[0]', shows: 'number 42' }],
  redactOutgoingRequestBody: [{ value: 'x', shows: '"x"' }],
  redactOutgoingResponseBody: [{ value: [''], option: 'redactOutgoingResponseBody[0]', shows: '""' }],
  outgoingUrlPatterns: [{ value: [3], option: 'outgoingUrlPatterns[0]', shows: 'number 3' }],
  detectLeaks: [
    { value: true, shows: 'boolean true' },
    { value: 'block', shows: '"block"' },
  ],
};

describe('bad configuration of every option', () => {
  test('every option has bad-value cases here (add them with the option)', () => {
    assert.deepEqual(
      [...KNOWN_OPTIONS].filter((o) => !Object.hasOwn(BAD, o)),
      [],
    );
    assert.deepEqual(
      Object.keys(BAD).filter((o) => !KNOWN_OPTIONS.has(o)),
      [],
    );
  });

  for (const [name, cases] of Object.entries(BAD)) {
    for (const { value, option = name, shows, base = { transport } } of cases) {
      test(`${name}: ${typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value))}`, () => {
        assert.throws(
          () => new APIToolkit({ ...base, [name]: value } as never),
          (error: unknown) => {
            assert.ok(
              error instanceof OptionsInvalidError || error instanceof RedactPathInvalidError,
              `a coded error, got ${String(error)}`,
            );
            assert.match(error.code, /^APITOOLKIT_ERR_(OPTIONS_INVALID|REDACT_PATH_INVALID)$/);
            assert.equal(error.option, option);
            assert.ok(error.message.includes(`\`${option}\``), `the message names ${option}: ${error.message}`);
            if (typeof shows === 'string') assert.ok(error.message.includes(shows), `the message shows ${shows}: ${error.message}`);
            else assert.match(error.message, shows);
            if (name === 'apiKey' && typeof value === 'string' && value.trim() !== '') assert.ok(!error.message.includes(value));
            return true;
          },
        );
      });
    }
  }

  test('the options object itself', () => {
    for (const value of ['key', null, [], 5]) {
      assert.throws(
        () => new APIToolkit(value as never),
        (e: unknown) => e instanceof OptionsInvalidError && e.option === 'options',
      );
    }
  });

  test('PUBSUB_EMULATOR_HOST from the environment is validated too, and named as such', () => {
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    process.env.PUBSUB_EMULATOR_HOST = 'not a host';
    try {
      assert.throws(
        () => new APIToolkit({ apiKey: 'k' }),
        (e: unknown) =>
          e instanceof OptionsInvalidError && e.option === 'PUBSUB_EMULATOR_HOST (environment)' && e.message.includes('"not a host"'),
      );
    } finally {
      if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
      else process.env.PUBSUB_EMULATOR_HOST = saved;
    }
  });

  test('environment variables fill the options the code leaves out; a bad one is named as such', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        APITOOLKIT_KEY: 'env-key',
        APITOOLKIT_ROOT_URL: 'http://127.0.0.1:1/',
        APITOOLKIT_PUBSUB_ENDPOINT: '127.0.0.1:2',
        APITOOLKIT_DEBUG: 'yes',
        APITOOLKIT_ENABLED: '1',
        APITOOLKIT_SERVICE_VERSION: ' 2.0.1 ',
        APITOOLKIT_TAGS: 'eu, canary,,',
      });
      const resolved = resolveOptions({ logger: () => {} });
      assert.equal(resolved.apiKey, 'env-key');
      assert.equal(resolved.rootURL, 'http://127.0.0.1:1');
      assert.equal(resolved.pubsubEndpoint, '127.0.0.1:2');
      assert.equal(resolved.debug, true);
      assert.equal(resolved.enabled, true);
      assert.equal(resolved.serviceVersion, '2.0.1');
      assert.deepEqual(resolved.tags, ['eu', 'canary']);
      // The code's own value wins.
      const own = resolveOptions({ apiKey: 'code-key', debug: false, tags: [], logger: () => {} });
      assert.deepEqual([own.apiKey, own.debug, own.tags], ['code-key', false, []]);
      for (const [variable, value, shows] of [
        ['APITOOLKIT_DEBUG', 'maybe', '"maybe"'],
        ['APITOOLKIT_ENABLED', 'nope', '"nope"'],
        ['APITOOLKIT_ROOT_URL', 'http://10.0.0.7', 'https'],
        ['APITOOLKIT_PUBSUB_ENDPOINT', 'http://x', '"http://x"'],
      ] as const) {
        process.env[variable] = value;
        assert.throws(
          () => resolveOptions({}),
          (e: unknown) => e instanceof OptionsInvalidError && e.option === `${variable} (environment)` && e.message.includes(shows),
          variable,
        );
        process.env[variable] =
          variable === 'APITOOLKIT_DEBUG' || variable === 'APITOOLKIT_ENABLED'
            ? 'true'
            : variable === 'APITOOLKIT_ROOT_URL'
              ? 'http://127.0.0.1:1'
              : '127.0.0.1:2';
      }
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  test('no API key anywhere: one warning through the logger, and the client passes requests through', () => {
    const saved = process.env.APITOOLKIT_KEY;
    delete process.env.APITOOLKIT_KEY;
    try {
      const lines: string[] = [];
      const client = new APIToolkit({ logger: (line) => lines.push(line) });
      assert.equal(client.stats().state, 'disabled');
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /no API key \(set APITOOLKIT_KEY or pass apiKey/);
    } finally {
      if (saved !== undefined) process.env.APITOOLKIT_KEY = saved;
    }
  });

  test('a recoverable inconsistency is clamped with one warning, not refused', () => {
    const lines: string[] = [];
    assert.equal(resolveOptions({ transport, maxQueueSize: 10, maxBatchSize: 50, logger: (l) => lines.push(l) }).maxBatchSize, 10);
    assert.equal(lines.length, 1);
  });

  test('shutdownOnSignals: bad arguments are coded errors naming the argument', () => {
    const client = new APIToolkit({ transport });
    const cases: [unknown, unknown, string, string][] = [
      [{}, undefined, 'shutdownOnSignals(client)', 'APIToolkit instance'],
      [client, 'SIGTERM', 'shutdownOnSignals(options)', '"SIGTERM"'],
      [client, { signals: [] }, 'signals', 'an empty array'],
      [client, { signals: ['SIGTREM'] }, 'signals[0]', '"SIGTREM"'],
      [client, { signals: ['SIGKILL'] }, 'signals[0]', '"SIGKILL"'],
      [client, { timeoutMs: -1 }, 'timeoutMs', '-1'],
      [client, { onShutdown: 'exit' }, 'onShutdown', '"exit"'],
    ];
    for (const [c, options, option, shows] of cases) {
      assert.throws(
        () => shutdownOnSignals(c as APIToolkit, options as never),
        (e: unknown) => {
          assert.ok(e instanceof OptionsInvalidError, String(e));
          assert.equal(e.option, option);
          assert.ok(e.message.includes(shows), e.message);
          return true;
        },
      );
    }
    assert.equal(process.listenerCount('SIGTERM'), 0, 'nothing was installed by a failed call');
  });
});

describe('rootURL must be https, except on this machine', () => {
  const accepted = [
    'https://app.apitoolkit.io',
    'https://10.0.0.7:8443/',
    'http://127.0.0.1:8788',
    'http://127.1.2.3',
    'http://localhost:3000',
    'http://LOCALHOST',
    'http://[::1]:8788',
    'http://localhost.',
  ];
  for (const url of accepted) {
    test(`${url} is accepted`, () => {
      assert.equal(resolveOptions({ apiKey: 'k', rootURL: url }).rootURL, url.replace(/\/+$/, ''));
    });
  }

  test('plain http elsewhere: OptionsInvalidError naming rootURL, the value and the way out', () => {
    for (const url of [
      'http://app.apitoolkit.io',
      'http://10.0.0.7:8080',
      'http://[::2]:80',
      'http://127.0.0.1.nip.io',
      'http://0.0.0.0:8788',
    ]) {
      assert.throws(
        () => resolveOptions({ apiKey: 'k', rootURL: url }),
        (e: unknown) => {
          assert.ok(e instanceof OptionsInvalidError);
          assert.equal(e.option, 'rootURL');
          assert.ok(e.message.includes(JSON.stringify(url)) && e.message.includes('allowInsecureRootURL'), e.message);
          return true;
        },
      );
    }
  });

  test('allowInsecureRootURL: true lets a plain http rootURL through; false is the default', () => {
    assert.equal(
      resolveOptions({ apiKey: 'k', rootURL: 'http://apitoolkit.internal', allowInsecureRootURL: true }).rootURL,
      'http://apitoolkit.internal',
    );
    assert.equal(resolveOptions({ apiKey: 'k' }).allowInsecureRootURL, false);
    assert.throws(
      () => resolveOptions({ apiKey: 'k', rootURL: 'http://apitoolkit.internal', allowInsecureRootURL: false }),
      OptionsInvalidError,
    );
  });
});
