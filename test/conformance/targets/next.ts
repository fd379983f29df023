/**
 * The standard app (spec.ts) on Next.js: App Router route handlers (test/fixtures/next-app), built
 * with `next build` and served by `next start` in a process of its own. The app has its own client
 * (with CONFORMANCE_OPTIONS), which sends to a local collector: the records are read there.
 */
import { startCollector } from '../../../src/collector/index.js';
import { buildNextApp, nextVersion, startNextApp } from '../../fixtures/next-app/harness.js';
import type { Target } from '../spec.js';
import { remoteApp } from './serve.js';

export const nextTargets: Target[] = [
  {
    name: `next ${nextVersion} (App Router route handlers)`,
    sdkType: 'JsNext',
    template: (pattern) => pattern.replace(/:(\w+)/g, '[$1]'),
    async start(apitoolkit) {
      const distDir = await buildNextApp();
      if (apitoolkit === undefined) return startNextApp(distDir, { APITOOLKIT_OFF: '1' });
      const collector = await startCollector({ inspector: false });
      const app = await startNextApp(distDir, {
        APITOOLKIT_ROOT_URL: collector.rootURL,
        APITOOLKIT_PUBSUB_ENDPOINT: collector.pubsubEndpoint,
      }).catch(async (error: unknown) => {
        await collector.close();
        throw error;
      });
      return remoteApp(app, collector);
    },
    exceptions: {
      '404 has an empty template': {
        recorded: false,
        why: 'the SDK wraps route handlers: a URL no route handler serves runs no SDK code, so it leaves no record',
      },
    },
  },
];
