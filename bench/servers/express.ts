/**
 * The Express app the overhead benchmark drives: `bare` or `sdk` (full capture, 3 request and 2
 * response JSONPath rules, delivery over gRPC to the collector named by COLLECTOR_ROOT_URL and
 * COLLECTOR_ENDPOINT). Prints `listening PORT` when ready; prints stats on SIGTERM.
 */
import express from 'express';
import { APIToolkit } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';

const mode = process.argv[2];
const app = express();
// Counted in every mode, so CPU time per request compares like with like; the first requests (JIT
// warm-up, module loading) are left out.
const WARMUP_REQUESTS = 5_000;
let served = 0;
let cpuAtWarm = process.cpuUsage();
app.use((_req, _res, next) => {
  served += 1;
  if (served === WARMUP_REQUESTS) cpuAtWarm = process.cpuUsage();
  next();
});
app.use(express.json());
let apitoolkit: APIToolkit | undefined;
if (mode === 'sdk' || mode === 'sdk-noop') {
  apitoolkit = new APIToolkit({
    // sdk-noop: the same capture, redaction and encoding, delivered nowhere: isolates the Pub/Sub client's cost.
    ...(mode === 'sdk-noop'
      ? { transport: { start: async () => ({ projectId: 'p' }), send: async () => ({ ok: true as const }), shutdown: async () => {} } }
      : { apiKey: 'bench', rootURL: process.env.COLLECTOR_ROOT_URL, pubsubEndpoint: process.env.COLLECTOR_ENDPOINT }),
    redactRequestBody: ['$.password', '$.card.cvv', '$..secret'],
    redactResponseBody: ['$.token', '$.user.email'],
    // e.g. SDK_OPTIONS='{"captureResponseBody":false}' to see what one feature costs.
    ...(JSON.parse(process.env.SDK_OPTIONS ?? '{}') as object),
  });
  app.use(expressMiddleware(apitoolkit));
} else if (mode !== 'bare') {
  throw new Error(`usage: express.ts bare|sdk|sdk-noop, got ${mode}`);
}
app.post('/users/:id', (req, res) => {
  res.json({ id: req.params.id, token: 'tok', user: { email: 'a@b.c', name: req.body?.name }, padding: 'p'.repeat(900) });
});
const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', async () => {
  server.close();
  const cpu = process.cpuUsage(cpuAtWarm);
  const measured = served - WARMUP_REQUESTS;
  console.log(`cpu ${((cpu.user + cpu.system) / measured).toFixed(1)} us/request over ${measured} requests after warm-up`);
  if (apitoolkit) {
    await apitoolkit.shutdown(10_000);
    console.log(`stats ${JSON.stringify(apitoolkit.stats())}`);
  }
  process.exit(0);
});
