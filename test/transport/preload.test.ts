/**
 * The official client's dependencies are loaded one package per event-loop turn before the client
 * itself (src/transport/pubsub.ts preloadDependencies), so loading it does not stop the app for
 * ~200 ms in one block. Checked in a fresh process (an empty module cache): the packages are the
 * copies @google-cloud/pubsub resolves, the client itself is not loaded yet, and timers ran between
 * the packages. The block lengths are measured in `npm run bench`, not here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const CHILD = `
import { createRequire } from 'node:module';
const { preloadDependencies } = await import('./src/transport/pubsub.ts');
const fromPubSub = createRequire(createRequire(import.meta.url).resolve('@google-cloud/pubsub'));
const fromGax = createRequire(fromPubSub.resolve('google-gax'));
const cache = createRequire(import.meta.url).cache;
const loaded = (path) => cache[path] !== undefined;
const before = { gax: loaded(fromPubSub.resolve('google-gax')), grpc: loaded(fromPubSub.resolve('@grpc/grpc-js')) };
let turns = 0;
const timer = setInterval(() => { turns += 1; }, 0);
await preloadDependencies();
clearInterval(timer);
console.log(JSON.stringify({
  before,
  after: {
    gax: loaded(fromPubSub.resolve('google-gax')),
    grpc: loaded(fromPubSub.resolve('@grpc/grpc-js')),
    auth: loaded(fromPubSub.resolve('google-auth-library')),
    protobuf: loaded(fromGax.resolve('protobufjs')),
    api: loaded(fromPubSub.resolve('@google-cloud/pubsub-api')),
    pubsub: loaded(createRequire(import.meta.url).resolve('@google-cloud/pubsub')),
  },
  turns,
}));
`;

test("the client's dependencies are preloaded from its own location, one package per event-loop turn", { timeout: 60_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: ROOT });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { before: Record<string, boolean>; after: Record<string, boolean>; turns: number };
  assert.deepEqual(result.before, { gax: false, grpc: false });
  assert.deepEqual(result.after, { gax: true, grpc: true, auth: true, protobuf: true, api: true, pubsub: false });
  // One turn per package at least (10 packages): the app's timers and I/O ran in between.
  assert.ok(result.turns >= 10, `only ${result.turns} timer turns during the preload`);
});
