/**
 * The peer SDKs on the benchmark's Express app (modes `apitally`, `moesif`, `otel` of
 * bench/servers/express.ts), each set up as its README says, with bodies logged where it can, and
 * pointed at the bench's sink (bench/peer-sink.ts, `PEER_SINK_URL`) instead of its hosted service.
 * Loaded from bench/peers/node_modules with `require`; no type of theirs is imported, so that the
 * project typechecks without them.
 *
 * `preparePeer()` runs before Express is loaded (OpenTelemetry patches `require('express')` and
 * `http`); `mount(app)` then adds the middleware, and `control` is how the harness flushes it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Express, RequestHandler } from 'express';
import type { Control } from '../servers/common.js';

const peerRequire = createRequire(new URL('./package.json', import.meta.url));

export interface PreparedPeer {
  mount(app: Express): void;
  control: Control;
}

/** Sets up peer `name` delivering to `sinkURL`; call before Express is required. */
export function preparePeer(name: string, sinkURL: string | undefined): PreparedPeer {
  if (sinkURL === undefined || sinkURL === '') throw new Error('PEER_SINK_URL must name the peer sink (bench/run.ts sets it)');
  switch (name) {
    case 'apitally':
      return apitally(`${sinkURL}/apitally`);
    case 'moesif':
      return moesif(`${sinkURL}/moesif`);
    case 'otel':
      return otel(`${sinkURL}/otel/v1/traces`);
    default:
      throw new Error(`unknown peer ${JSON.stringify(name)}`);
  }
}

/** Masks the fields our SDK's 3 request and 2 response rules redact (apitally masks by field name). */
const MASKED_FIELDS = [/^password$/, /^cvv$/, /^secret$/, /^token$/, /^email$/];

interface ApitallyClientClass {
  getInstance(): {
    requestLogger: { writeToFile(): Promise<void>; files: unknown[]; pendingWrites: unknown[] };
    sendLogData(): Promise<void>;
    handleShutdown(): Promise<void>;
  };
}

/**
 * apitally: `useApitally(app, { clientId, env, requestLogging })` with request and response bodies.
 * Its hub URL is read from `APITALLY_HUB_BASE_URL`. It writes logs to a gzipped temp file once a
 * second, keeping at most 100 pending between writes, and posts files on its sync (every 10 s at
 * first); flushing = writing what is pending, then posting every file.
 */
function apitally(hubURL: string): PreparedPeer {
  process.env.APITALLY_HUB_BASE_URL = hubURL;
  const { useApitally } = peerRequire('apitally/express') as { useApitally(app: Express, config: object): void };
  // The client class its middleware uses (not exported: by path, which `exports` does not govern).
  const { ApitallyClient } = peerRequire(join(dirname(peerRequire.resolve('apitally/express')), '../common/client.cjs')) as {
    ApitallyClient: ApitallyClientClass;
  };
  return {
    mount(app) {
      useApitally(app, {
        clientId: '00000000-0000-4000-8000-000000000000',
        env: 'bench',
        requestLogging: {
          enabled: true,
          logRequestHeaders: true,
          logRequestBody: true,
          logResponseHeaders: true,
          logResponseBody: true,
          maskBodyFields: MASKED_FIELDS,
        },
      });
    },
    control: {
      async flush(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        const client = ApitallyClient.getInstance();
        await client.requestLogger.writeToFile();
        do await client.sendLogData();
        while (client.requestLogger.files.length > 0 && Date.now() < deadline);
        return client.requestLogger.files.length === 0;
      },
      close: () => ApitallyClient.getInstance().handleShutdown(),
    },
  };
}

/**
 * moesif-nodejs: `moesif({ applicationId, baseUri, logBody: true })` as Express middleware. It
 * batches 200 events or 2 s, and has no flush: the harness waits for its batch timer to fire and
 * every batch sent to be answered (its `callback` option reports each batch).
 */
function moesif(baseUri: string): PreparedPeer {
  const moesifMiddleware = peerRequire('moesif-nodejs') as (options: object) => RequestHandler;
  const BATCH_MAX_TIME_MS = 2_000;
  let lastBatchAt = Date.now();
  const counts = { batches: 0, events: 0, failedBatches: 0 };
  const middleware = moesifMiddleware({
    // It wants 50 characters or more (a real id is a long token); the sink ignores it.
    applicationId: 'bench-'.padEnd(64, '0'),
    baseUri,
    logBody: true,
    batchMaxTime: BATCH_MAX_TIME_MS,
    callback(error: unknown, events: unknown[]) {
      lastBatchAt = Date.now();
      counts.batches += 1;
      counts.events += events.length;
      if (error) counts.failedBatches += 1;
    },
  });
  return {
    mount: (app) => app.use(middleware),
    control: {
      async flush(timeoutMs) {
        const started = Date.now();
        // Its timer fires batchMaxTime after the first event of a batch; then the batch is posted.
        const quiet = BATCH_MAX_TIME_MS + 1_000;
        while (Date.now() - started < timeoutMs && (Date.now() - started < quiet || Date.now() - lastBatchAt < quiet)) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return counts.failedBatches === 0;
      },
      stats: () => ({ ...counts }),
    },
  };
}

/**
 * OpenTelemetry: a NodeTracerProvider with the default BatchSpanProcessor and the OTLP/HTTP (JSON)
 * trace exporter, http and express instrumentations. No bodies: neither instrumentation records them.
 */
function otel(tracesURL: string): PreparedPeer {
  const { NodeTracerProvider } = peerRequire('@opentelemetry/sdk-trace-node') as {
    NodeTracerProvider: new (config: object) => { register(): void; forceFlush(): Promise<void>; shutdown(): Promise<void> };
  };
  const { BatchSpanProcessor } = peerRequire('@opentelemetry/sdk-trace-base') as { BatchSpanProcessor: new (exporter: unknown) => unknown };
  const { OTLPTraceExporter } = peerRequire('@opentelemetry/exporter-trace-otlp-http') as {
    OTLPTraceExporter: new (config: object) => unknown;
  };
  const { registerInstrumentations } = peerRequire('@opentelemetry/instrumentation') as {
    registerInstrumentations(config: object): void;
  };
  const { HttpInstrumentation } = peerRequire('@opentelemetry/instrumentation-http') as { HttpInstrumentation: new () => unknown };
  const { ExpressInstrumentation } = peerRequire('@opentelemetry/instrumentation-express') as {
    ExpressInstrumentation: new () => unknown;
  };
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesURL }))],
  });
  provider.register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()] });
  return {
    mount() {},
    control: {
      async flush() {
        await provider.forceFlush();
        return true;
      },
      close: () => provider.shutdown(),
    },
  };
}
