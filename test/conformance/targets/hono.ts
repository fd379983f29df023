/**
 * The standard app (spec.ts) on Hono 4, served by @hono/node-server: the same Hono app Bun, Deno and
 * workerd serve in test/runtimes/ (test/fixtures/runtimes/apps.mjs), built from the sources.
 */
import { readFileSync } from 'node:fs';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { fetchHandler } from '../../../src/adapters/fetch/index.js';
import { honoMiddleware } from '../../../src/adapters/hono/index.js';
import { serverFetch } from '../../fixtures/runtimes/apps.mjs';
import type { Target } from '../spec.js';
import { listen } from './serve.js';

const version = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
export const honoVersion = version('hono');
export const honoNodeServerVersion = version('@hono/node-server');

export const honoTargets: Target[] = [
  {
    name: `hono ${honoVersion} on @hono/node-server ${honoNodeServerVersion}`,
    sdkType: 'JsHono',
    template: (pattern) => pattern,
    // overrideGlobalObjects: false keeps the process's own Request/Response for the other targets
    // of this suite; test/adapters/hono.test.ts runs with the default (overridden) globals.
    start: (apitoolkit) =>
      listen(
        createAdaptorServer({
          fetch: serverFetch('hono', apitoolkit, { fetchHandler, honoMiddleware, Hono, streamSSE }),
          overrideGlobalObjects: false,
        }) as import('node:http').Server,
      ),
  },
];
