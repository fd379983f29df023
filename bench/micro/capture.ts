/**
 * Capture: `createNodeCapture().start()` on a real node:http `IncomingMessage` / `ServerResponse` pair (no
 * server, the socket a stream that discards what is written), the 1 KB request body emitted as
 * the parser would, the 1 KB response written with `end()`, and `nodeRecordInput()` once the
 * response closes. The same pair without the SDK is measured too; the difference is capture.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { createNodeCapture, nodeRecordInput, type CaptureAdapter, type CaptureLimits, type RecordInput } from '../../src/core/capture.js';
import { DEFAULT_MAX_BODY_BYTES } from '../../src/core/options.js';
import { REQUEST_1K, RESPONSE_1K, newBench, rowOf, task, type MicroOptions, type MicroRow } from './fixtures.js';

const adapter: CaptureAdapter = { sdkType: 'JsExpress', route: () => ({ template: '/users/:id', params: { id: '42' } }) };
const limits: CaptureLimits = { maxBodyBytes: DEFAULT_MAX_BODY_BYTES, captureRequestBody: true, captureResponseBody: true };
const RAW_HEADERS = [
  'Host',
  '127.0.0.1:3000',
  'Content-Type',
  'application/json',
  'Content-Length',
  String(REQUEST_1K.length),
  'User-Agent',
  'autocannon',
  'Accept',
  '*/*',
  'Connection',
  'keep-alive',
];
const RESPONSE_TEXT = RESPONSE_1K.toString();
// One capture, as one client has. The adapter state of each exchange is the promise's resolver.
const nodeCapture = createNodeCapture(limits, (ex, aborted) => {
  (ex.state as (input: RecordInput) => void)(nodeRecordInput(ex, aborted, adapter.route(ex.req, undefined), limits));
});

function pair(): { req: IncomingMessage; res: ServerResponse } {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const req = new IncomingMessage(socket as never);
  req.method = 'POST';
  req.url = '/users/42';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  // What node's HTTP parser calls (parserOnHeadersComplete); headers and headersDistinct are then
  // built from the raw list on first use, as in a server.
  (req as unknown as { _addHeaderLines(headers: string[], n: number): void })._addHeaderLines(RAW_HEADERS, RAW_HEADERS.length);
  const res = new ServerResponse(req);
  res.assignSocket(socket as never);
  // A server emits 'close' on the tick after 'finish' (resOnFinish); nothing else would here.
  res.once('finish', () => process.nextTick(() => res.emit('close')));
  return { req, res };
}

/** Serves one request on a fresh pair; with `capture`, observed as the SDK does. */
function exchange(capture: boolean): Promise<RecordInput | undefined> {
  return new Promise((resolve) => {
    const { req, res } = pair();
    if (capture) {
      nodeCapture.start(req, res, adapter, resolve);
    } else {
      res.once('close', () => resolve(undefined));
    }
    // The app's body parser: the SDK tees what a reader takes, so there must be one.
    req.on('data', () => {});
    req.emit('data', REQUEST_1K);
    req.emit('end');
    void req.headers; // what any framework reads
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', RESPONSE_1K.length);
    res.end(RESPONSE_TEXT);
  });
}

export async function captureBench(options: MicroOptions): Promise<MicroRow[]> {
  const check = await exchange(true);
  if (check?.requestBody?.bytes.length !== REQUEST_1K.length || check.responseBody?.bytes.length !== RESPONSE_1K.length || check.aborted) {
    throw new Error('capture harness: the exchange was not captured whole');
  }
  const bench = newBench(options);
  bench.add('pair only', () => exchange(false));
  bench.add('pair + capture', () => exchange(true));
  await bench.run();
  const bare = rowOf(task(bench, 'pair only'), 'capture', 'req/res pair, 1 KB in and out, no SDK (harness)');
  const captured = rowOf(task(bench, 'pair + capture'), 'capture', 'same + capture start + nodeRecordInput');
  return [
    bare,
    captured,
    {
      stage: 'capture',
      case: '**capture cost** (difference of the two rows above)',
      medianUs: captured.medianUs - bare.medianUs,
      meanUs: captured.meanUs - bare.meanUs,
      p99Us: Number.NaN,
      samples: Math.min(bare.samples, captured.samples),
    },
  ];
}
