// Starts a publishing thread written in TypeScript (src/transport/pubsub-worker.ts, or a test's
// variant of it) when the SDK runs from its sources, as this repository's tests and examples do
// through tsx: on Node 20 the `--import tsx` hooks of the app's thread do not reach a worker thread.
// The built package never uses this file (dist/transport/pubsub-worker.js is JavaScript).
import { register } from 'tsx/esm/api';

register();
await import(process.argv[process.argv.length - 1]);
