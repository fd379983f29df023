/**
 * The Express app of the benchmark, in five modes (the same app and route in each):
 *
 * - `bare`: Express 5 alone;
 * - `sdk`: + this SDK (full capture, 3 request and 2 response JSONPath rules, delivery over Pub/Sub's
 *   REST API to the collector named by COLLECTOR_ROOT_URL / COLLECTOR_ENDPOINT);
 * - `sdk-noop`: + this SDK delivering nowhere (capture, redaction and encoding only);
 * - `legacy`: + the published Pub/Sub-era SDK `apitoolkit-express@2.4.6`, its client metadata from
 *   the collector (`rootURL`) and its Pub/Sub client pointed at the collector's gRPC bridge
 *   (COLLECTOR_LEGACY_ENDPOINT, bench/legacy-grpc.ts) through `PUBSUB_EMULATOR_HOST`, which its
 *   @google-cloud/pubsub 4.x honours;
 * - `apitally`, `moesif`, `otel`: + a peer SDK (bench/peers/express.ts, installed in bench/peers/)
 *   delivering to the bench's peer sink (PEER_SINK_URL, bench/peer-sink.ts).
 *
 * Express is required (not imported) after a peer is prepared: OpenTelemetry instruments it by
 * patching `require`. The same module in every mode.
 *
 *   node --import tsx bench/servers/express.ts bare      # prints `listening PORT`; on SIGTERM, CPU per request
 */
import { createRequire } from 'node:module';
import type { RequestHandler } from 'express';
import { preparePeer, type PreparedPeer } from '../peers/express.js';
import {
  REDACT_REQUEST_BODY,
  REDACT_RESPONSE_BODY,
  ROUTE_PATH,
  benchClient,
  closing,
  loadAdapter,
  responseBody,
  sdkControl,
  serveHarness,
  standaloneCounter,
  startApp,
  usage,
  type AppEnv,
  type Control,
} from './common.js';

const MODES = ['bare', 'sdk', 'sdk-noop', 'legacy', 'apitally', 'moesif', 'otel'] as const;
const PEER_MODES: readonly string[] = ['apitally', 'moesif', 'otel'];

startApp(async (mode, env) => {
  if (!(MODES as readonly string[]).includes(mode)) throw usage('express.ts', MODES, mode);
  const peer: PreparedPeer | undefined = PEER_MODES.includes(mode) ? preparePeer(mode, process.env.PEER_SINK_URL) : undefined;
  const express = createRequire(import.meta.url)('express') as typeof import('express');
  const app = express();
  const count = standaloneCounter();
  if (count !== undefined) {
    app.use((_req, _res, next) => {
      count();
      next();
    });
  }
  app.use(express.json());
  let control: Control = {};
  if (mode === 'sdk' || mode === 'sdk-noop') {
    const expressMiddleware = await loadAdapter<(client: unknown) => RequestHandler>('express', 'expressMiddleware');
    const client = await benchClient(env, { noop: mode === 'sdk-noop' });
    app.use(expressMiddleware(client));
    control = sdkControl(client);
  } else if (mode === 'legacy') {
    const legacy = legacyClient(env);
    app.use(legacy.middleware);
    control = legacy.control;
  } else if (peer !== undefined) {
    peer.mount(app);
    control = peer.control;
  }
  app.post(ROUTE_PATH, (req, res) => {
    res.json(responseBody(req.params.id as string, (req.body as { name?: unknown } | undefined)?.name));
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  serveHarness(
    (server.address() as { port: number }).port,
    closing(control, () => server.close()),
  );
});

interface LegacyTopic {
  publishMessage(message: unknown, callback?: (error: Error | null, id?: string) => void): unknown;
  flush(): Promise<void>;
}

/**
 * apitoolkit-express@2.4.6 set up as its README says (`APIToolkit.NewClient`, then its
 * `expressMiddleware` after the body parser). Its client publishes fire-and-forget and offers no
 * flush short of `close()`, so the harness watches its Pub/Sub client from outside: the Topic's
 * `publishMessage` is wrapped to count messages handed over and acknowledged (or failed), and
 * `flush` flushes every topic used and waits for the acknowledgements. The wrapper costs one
 * closure per request and changes nothing the SDK does.
 */
function legacyClient(env: AppEnv): { middleware: RequestHandler; control: Control } {
  if (env.rootURL === undefined || env.legacyEndpoint === undefined) {
    throw new Error('COLLECTOR_ROOT_URL and COLLECTOR_LEGACY_ENDPOINT must name the collector (bench/run.ts sets them)');
  }
  // Its own copy of the official client (4.x): the one the SDK requires.
  const requireFromLegacy = createRequire(createRequire(import.meta.url).resolve('apitoolkit-express'));
  process.env.PUBSUB_EMULATOR_HOST = env.legacyEndpoint;
  const pubsub = requireFromLegacy('@google-cloud/pubsub') as { Topic: { prototype: LegacyTopic } };
  const topics = new Set<LegacyTopic>();
  const counts = { handed: 0, acked: 0, failed: 0, firstError: '' };
  const publishMessage = pubsub.Topic.prototype.publishMessage;
  pubsub.Topic.prototype.publishMessage = function countedPublish(this: LegacyTopic, message, callback) {
    topics.add(this);
    counts.handed += 1;
    return publishMessage.call(this, message, (error, id) => {
      if (error) {
        counts.failed += 1;
        counts.firstError ||= error.message;
      } else counts.acked += 1;
      callback?.(error, id);
    });
  };

  const { APIToolkit } = requireFromLegacy('apitoolkit-express') as typeof import('apitoolkit-express');
  const client = APIToolkit.NewClient({
    apiKey: 'bench',
    rootURL: env.rootURL,
    redactRequestBody: REDACT_REQUEST_BODY,
    redactResponseBody: REDACT_RESPONSE_BODY,
    serviceVersion: env.appId,
  });
  if (client.getConfig().project_id === undefined) throw new Error('apitoolkit-express did not get its client metadata from the collector');
  return {
    middleware: client.expressMiddleware as unknown as RequestHandler,
    control: {
      async flush(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        await Promise.all([...topics].map((topic) => topic.flush()));
        while (counts.acked + counts.failed < counts.handed && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return counts.acked + counts.failed === counts.handed && counts.failed === 0;
      },
      stats: () => ({ ...counts }),
      close: () => client.close(),
    },
  };
}
