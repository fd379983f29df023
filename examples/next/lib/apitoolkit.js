// The app's one APIToolkit client (lib/apitoolkit.ts in a TypeScript app). Created once per process:
// globalThis survives `next dev` reloading this module and is shared by the app/ and pages/
// bundles. Off during `next build`, which loads route modules without serving requests.
import { APIToolkit, shutdownOnSignals } from '../../../src/index.js';

const shared = globalThis;

function createClient() {
  const apitoolkit = new APIToolkit({
    apiKey: process.env.APITOOLKIT_KEY ?? 'local-development-key',
    // examples/next/server.ts points these at its local collector; leave them out in your app.
    rootURL: process.env.APITOOLKIT_ROOT_URL,
    pubsubEndpoint: process.env.APITOOLKIT_PUBSUB_ENDPOINT,
    redactHeaders: ['X-Api-Key'],
    redactRequestBody: ['$.password', '$.credit-card.number', '$.credit-card.cvv'],
    redactResponseBody: ['$.token'],
    serviceVersion: '1.4.0',
    tags: ['example'],
    flushIntervalMs: 100,
    enabled: process.env.NEXT_PHASE !== 'phase-production-build',
  });
  // Flush what is queued when Next is told to stop.
  shutdownOnSignals(apitoolkit);
  return apitoolkit;
}

export const apitoolkit = (shared.apitoolkit ??= createClient());
