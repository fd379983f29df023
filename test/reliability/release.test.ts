/**
 * A client gives back everything it took once shut down: a process that built and shut down
 * 2 000 clients (a test suite that makes one per test, a serverless handler that makes one per cold
 * start) runs its async code as fast as a fresh one, and holds no extra handle, channel
 * subscription or interceptor. Each figure comes from a child process of its own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';

const FIXTURE = fileURLToPath(new URL('../fixtures/release/many-clients.ts', import.meta.url));

interface Report {
  loopMs: number;
  resourcesAfter: string[];
  subscribed: string[];
  axiosInterceptors: number;
}

async function run(clients: number): Promise<Report> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', FIXTURE, String(clients)], { timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;
}

test('2 000 clients created, used and shut down leave the process as fast as a fresh one', async () => {
  const fresh = await run(0);
  const used = await run(2_000);
  // Before the fix the ratio was ~265 (every discarded client kept its AsyncLocalStorage enabled);
  // a loose bound keeps machine noise out while catching any per-client cost left behind.
  const ratio = used.loopMs / fresh.loopMs;
  assert.ok(
    ratio < 2.5,
    `async loop ${used.loopMs.toFixed(0)} ms after 2 000 clients vs ${fresh.loopMs.toFixed(0)} ms fresh (x${ratio.toFixed(1)})`,
  );
  assert.deepEqual(used.resourcesAfter, fresh.resourcesAfter, 'no timer, socket or handle left behind');
  assert.deepEqual(used.subscribed, [], 'no diagnostics_channel subscription left behind');
  assert.equal(used.axiosInterceptors, 0, 'no axios interceptor left behind');
});
