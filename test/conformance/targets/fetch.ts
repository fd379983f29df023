/**
 * The standard app as a bare Fetch-API handler wrapped by `fetchHandler` (test/fixtures/runtimes/
 * apps.mjs, the same app Bun, Deno and workerd serve in test/runtimes/), on Node through
 * @hono/node-server.
 */
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { fetchHandler } from '../../../src/adapters/fetch/index.js';
import { honoMiddleware } from '../../../src/adapters/hono/index.js';
import { serverFetch } from '../../fixtures/runtimes/apps.mjs';
import type { Target } from '../spec.js';
import { honoNodeServerVersion } from './hono.js';
import { listen } from './serve.js';

export const fetchTargets: Target[] = [
  {
    name: `fetchHandler on Node ${process.versions.node} (@hono/node-server ${honoNodeServerVersion})`,
    sdkType: 'JsFetch',
    template: (pattern) => pattern,
    start: (apitoolkit) =>
      listen(
        createAdaptorServer({
          fetch: serverFetch('fetch', apitoolkit, { fetchHandler, honoMiddleware, Hono, streamSSE }),
          overrideGlobalObjects: false,
        }) as import('node:http').Server,
      ),
  },
];
