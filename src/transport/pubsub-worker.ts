/**
 * The publishing thread's entry point (see thread.ts): runs the Pub/Sub transport of pubsub.ts in a
 * worker thread, so that loading the official client (~200 ms of module evaluation), building its
 * protos, and the CPU of every Publish (protobuf encoding, gRPC framing, HTTP/2) stay off the app's
 * event loop. It only answers the messages of thread.ts; it owns no queue and no retries.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nodeHttpClient } from './http-node.js';
import { makePubSubTransport, type PubSubTransportOptions } from './pubsub.js';
import { toWireError, type ToThread, type FromThread } from './thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('apitoolkit-node: pubsub-worker must run as a worker thread');

const post = (message: FromThread): void => port.postMessage(message);
const options = workerData as Omit<PubSubTransportOptions, 'onDebug' | 'onBackoff' | 'http'> & { debug: boolean };
const transport = makePubSubTransport({
  ...options,
  http: nodeHttpClient(),
  onDebug: options.debug ? (line) => post({ t: 'debug', line }) : undefined,
  onBackoff: (waiting) => post({ t: 'backoff', waiting }),
});
const startAbort = new AbortController();
const sends = new Map<number, AbortController>();

port.on('message', (message: ToThread) => {
  switch (message.t) {
    case 'start':
      transport.start(startAbort.signal).then(
        (info) => post({ t: 'started', info }),
        (error: unknown) => post({ t: 'start-failed', error: toWireError(error) }),
      );
      break;
    case 'abort-start':
      startAbort.abort(new Error(message.reason));
      break;
    case 'send': {
      const controller = new AbortController();
      sends.set(message.id, controller);
      // Views into the one transferred buffer: no copy per message.
      const messages: Buffer[] = [];
      let offset = message.offset;
      for (const length of message.lengths) {
        messages.push(Buffer.from(message.buffer, offset, length));
        offset += length;
      }
      transport.send(messages, message.timeoutMs, controller.signal).then(
        (result) => {
          sends.delete(message.id);
          post({ t: 'sent', id: message.id, ok: result.ok, error: result.ok ? undefined : toWireError(result.error, result.retryable) });
        },
        (error: unknown) => {
          sends.delete(message.id);
          post({ t: 'sent', id: message.id, ok: false, error: toWireError(error, true) });
        },
      );
      break;
    }
    case 'abort-send':
      sends.get(message.id)?.abort(new Error(message.reason));
      break;
    case 'shutdown':
      startAbort.abort(new Error('shutdown'));
      transport.shutdown().finally(() => post({ t: 'shut-down' }));
      break;
  }
});
