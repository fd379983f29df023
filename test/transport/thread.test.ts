/**
 * The publishing thread (src/transport/thread.ts): the Pub/Sub transport run in a worker thread,
 * delivering to the local collector over gRPC, with its fallbacks to the app's thread.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { ApiKeyRefusedError, TransportError } from '../../src/core/errors.js';
import { makeThreadTransport } from '../../src/transport/thread.js';
import { closedPort, serveMetadata } from '../helpers/emulator.js';

const API_KEY = 'test-api-key-thread-81c2';
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/thread/${name}`, import.meta.url));

describe('makeThreadTransport', () => {
  let collector: Collector;
  before(async () => {
    collector = await startCollector({ inspector: false });
  });
  after(() => collector.close());

  const options = (lines: string[]) => ({ apiKey: API_KEY, rootURL: collector.rootURL, pubsubEndpoint: collector.pubsubEndpoint, onDebug: (l: string) => lines.push(l) });
  const batch = (tag: string, n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify({ tag, i, pad: 'x'.repeat(i * 7) })));
  const received = (tag: string): unknown[] =>
    collector.messages().map((m) => JSON.parse(m.data.toString('utf8')) as { tag: string }).filter((m) => m.tag === tag);

  it('publishes each batch from the worker thread: every message delivered intact, debug lines forwarded', async () => {
    const lines: string[] = [];
    const transport = makeThreadTransport(options(lines));
    try {
      const info = await transport.start(AbortSignal.timeout(20_000));
      assert.ok(typeof info.projectId === 'string' && info.projectId.length > 0, String(info.projectId));
      // Buffers from Node's shared pool and ones of their own, of several sizes, in two sends.
      const first = batch('a', 300);
      const second = [Buffer.from('{"tag":"a","i":300}'), ...batch('b', 5)];
      assert.deepEqual(await transport.send(first, 10_000), { ok: true });
      assert.deepEqual(await transport.send(second, 10_000), { ok: true });
      const all = collector.messages().map((m) => m.data);
      for (const data of [...first, ...second]) assert.ok(all.some((d) => d.equals(data)), `missing ${data.toString().slice(0, 40)}`);
      assert.ok(lines.some((l) => l.includes('client metadata fetched')), lines.join('\n'));
      assert.ok(!lines.join('\n').includes(API_KEY));
      // The sent buffers are still the caller's: only a copy crossed to the thread.
      assert.equal(JSON.parse(first[0]!.toString()).tag, 'a');
    } finally {
      await transport.shutdown();
    }
    assert.deepEqual(await transport.send(batch('c', 1), 1_000).then((r) => r.ok), false);
  });

  // As a file; as `node --input-type=module -e …`, whose --input-type a worker fails on; with the V8
  // and process-wide flags a worker refuses (ERR_WORKER_INVALID_EXEC_ARGV), `--title` with its value apart.
  for (const how of ['file', 'eval', 'V8 flags'] as const) {
    it(`a script (${how}) that awaits ready() and flush() runs to its end and exits by itself, publishing from the thread`, async () => {
      const script = fixture('ready-then-exit.ts');
      const args = how === 'file' ? ['--import', 'tsx', script]
        : how === 'eval' ? ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(script).href)})`]
        : ['--max-old-space-size=512', '--expose-gc', '--stack-size=2000', '--title', 'thread-test', '--enable-source-maps', '--import', 'tsx', script];
      const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
        execFile(process.execPath, args, {
          env: { ...process.env, ROOT_URL: collector.rootURL, PUBSUB_ENDPOINT: collector.pubsubEndpoint },
          timeout: 30_000,
        }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve({ stdout })));
      });
      assert.match(stdout, /^ready$/m);
      assert.match(stdout, /flushed true published 1/);
      assert.doesNotMatch(stdout, /publishing thread (failed|stopped)|publishing from the app's thread/);
      // The official client and gRPC's protobuf stack load in the publishing thread only.
      assert.match(stdout, /^client modules in the app's thread: 0$/m);
    });
  }

  it('while the metadata endpoint is unreachable, a script with nothing else to do ends by itself', async () => {
    const port = await closedPort();
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', fixture('idle-exit.ts')], {
        env: { ...process.env, ROOT_URL: `http://127.0.0.1:${port}` },
        timeout: 30_000,
      }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve({ stdout })));
    });
    assert.match(stdout, /^constructed$/m);
    // It did try, from the thread, before the process ended.
    assert.match(stdout, /client metadata attempt 1 failed/);
  });

  it('a thread that dies during a send: that send fails as retryable, the next one starts a new thread and delivers', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'apitoolkit-thread-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    process.env.CRASH_MARKER = join(dir, 'crashed');
    const lines: string[] = [];
    const transport = makeThreadTransport(options(lines), fixture('crash-once-worker.ts'));
    try {
      await transport.start(AbortSignal.timeout(20_000));
      delete process.env.CRASH_MARKER;
      const result = await transport.send(batch('crash-1', 3), 10_000);
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.retryable && result.error instanceof TransportError, String(!result.ok && result.error));
      assert.match(!result.ok ? result.error.message : '', /publishing thread stopped \(exit code 3\)/);
      assert.equal(received('crash-1').length, 0);
      assert.deepEqual(await transport.send(batch('crash-2', 3), 10_000), { ok: true });
      assert.equal(received('crash-2').length, 3);
    } finally {
      delete process.env.CRASH_MARKER;
      await transport.shutdown();
    }
  });

  // The worker's file fails to load, or there is none (the SDK bundled into one file): the app's
  // thread publishes instead, and the debug lines say why.
  for (const [name, entry, why] of [
    ['a worker that cannot load', fixture('broken-worker.ts'), /this worker cannot load/],
    ['no worker file', null, /not next to the SDK/],
  ] as const) {
    it(`${name}: publishes from the app thread instead, and says why`, async () => {
      const lines: string[] = [];
      const transport = makeThreadTransport(options(lines), entry);
      const tag = name.replaceAll(' ', '-');
      try {
        await transport.start(AbortSignal.timeout(20_000));
        assert.ok(lines.some((l) => why.test(l)), lines.join('\n'));
        assert.ok(lines.some((l) => l.includes("publishing from the app's thread")), lines.join('\n'));
        assert.deepEqual(await transport.send(batch(tag, 3), 10_000), { ok: true });
        assert.equal(received(tag).length, 3);
      } finally {
        await transport.shutdown();
      }
    });
  }

  it('a refused key rejects start() with ApiKeyRefusedError, as in the app thread', async () => {
    const backend = await serveMetadata([{ status: 401, body: 'no' }]);
    const transport = makeThreadTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: collector.pubsubEndpoint });
    try {
      await assert.rejects(transport.start(AbortSignal.timeout(20_000)), (error: unknown) => error instanceof ApiKeyRefusedError && error.message.includes(backend.rootURL));
    } finally {
      await transport.shutdown();
      await backend.close();
    }
  });

  it('a send whose signal aborts settles at once as a retryable failure; a non-Buffer fails the send', async () => {
    const transport = makeThreadTransport(options([]));
    try {
      await transport.start(AbortSignal.timeout(20_000));
      const aborted = await transport.send(batch('abort', 1), 10_000, AbortSignal.abort(new Error('time is up')));
      assert.ok(!aborted.ok && aborted.retryable && /abandoned: Error: time is up/.test(aborted.error.message), String(!aborted.ok && aborted.error));
      const bad = await transport.send([Buffer.from('{}'), 'x' as unknown as Buffer], 10_000);
      assert.ok(!bad.ok && !bad.retryable && /message 1 is not a Buffer/.test(bad.error.message));
    } finally {
      await transport.shutdown();
    }
  });
});
