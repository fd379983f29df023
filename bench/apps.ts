/**
 * The apps the macro benchmark runs, as data. Each framework is one group: its bare app
 * (`bare-<name>`) and the same app with this SDK's adapter (`<name>`), both served by
 * `bench/servers/<name>.ts` (modes `bare` and `sdk`). Express also gets the published
 * `apitoolkit-express@2.4.6`, the peer SDKs of `PEERS` (installed apart, in bench/peers/) and, on
 * request, a no-op-transport variant.
 *
 * To add an adapter: write `bench/servers/<name>.ts` (copy `fastify.ts`) and add a line to
 * FRAMEWORKS. A group whose adapter is not exported yet is reported as skipped, with the reason.
 */

import { peerVersion } from './peers/index.js';

export interface FrameworkSpec {
  /** `bench/servers/<name>.ts`, `src/adapters/<name>/index.ts`, app ids `<name>` and `bare-<name>`. */
  name: string;
  /** How the report names it. */
  label: string;
  /** The adapter function the server mounts; its absence means "adapter not written yet". */
  adapterExport: string;
  /** Extra words for the report, e.g. how the app is served. */
  note?: string;
}

export const FRAMEWORKS: readonly FrameworkSpec[] = [
  { name: 'express', label: 'Express 5', adapterExport: 'expressMiddleware' },
  { name: 'fastify', label: 'Fastify 5', adapterExport: 'fastifyPlugin' },
  { name: 'koa', label: 'Koa 3 + @koa/router', adapterExport: 'koaMiddleware' },
  { name: 'hono', label: 'Hono 4 on @hono/node-server', adapterExport: 'honoMiddleware' },
  { name: 'nest', label: 'NestJS (Express platform)', adapterExport: 'nestMiddleware' },
  {
    name: 'next',
    label: 'Next.js route handler',
    adapterExport: 'nextRouteHandler',
    note: 'an App Router route handler served through a node:http to fetch bridge, not `next start`',
  },
  { name: 'http', label: 'node:http', adapterExport: 'httpHandler' },
];

export type SdkKind = 'none' | 'this' | 'noop' | 'legacy' | 'peer';

/**
 * Another vendor's SDK on the Express app (mode `<name>` of bench/servers/express.ts, set up by
 * bench/peers/express.ts), delivering to the bench's own sink (bench/peer-sink.ts) on loopback.
 * Its packages live in bench/peers/ (`npm run bench:peers:install`), not in the root package.
 */
export interface PeerSpec {
  /** Mode of the Express server, app id `express-<name>`, path prefix at the sink. */
  name: 'apitally' | 'moesif' | 'otel';
  /** How the report names it; `{package}` becomes its installed version (see `allApps`). */
  label: string;
  /** The packages of bench/peers/package.json it needs. */
  packages: readonly string[];
}

export const PEERS: readonly PeerSpec[] = [
  { name: 'apitally', label: 'apitally {apitally} (request logging, bodies on)', packages: ['apitally'] },
  { name: 'moesif', label: 'moesif-nodejs {moesif-nodejs} (bodies on)', packages: ['moesif-nodejs'] },
  {
    name: 'otel',
    label: 'OpenTelemetry {@opentelemetry/sdk-trace-node} http + express, OTLP/HTTP JSON (no bodies)',
    packages: [
      '@opentelemetry/sdk-trace-node',
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-express',
      '@opentelemetry/exporter-trace-otlp-http',
    ],
  },
];

export interface AppSpec {
  /** `bare-express`, `express`, `express-noop`, `express-2.4.6`, `http-noop`... */
  id: string;
  label: string;
  framework: FrameworkSpec;
  /** argv[2] of the server. */
  mode: string;
  sdk: SdkKind;
  /** The peer SDK, when `sdk` is `peer`. */
  peer?: PeerSpec;
  /** Run unless the app list is given explicitly. */
  byDefault: boolean;
}

/** Every app that can run, group by group, bare first in each group. */
export function allApps(): AppSpec[] {
  const apps: AppSpec[] = [];
  for (const framework of FRAMEWORKS) {
    apps.push({ id: `bare-${framework.name}`, label: `${framework.label}, bare`, framework, mode: 'bare', sdk: 'none', byDefault: true });
    apps.push({
      id: framework.name,
      label: `${framework.label} + this SDK`,
      framework,
      mode: 'sdk',
      sdk: 'this',
      byDefault: true,
    });
    if (framework.name === 'express') {
      apps.push({
        id: 'express-2.4.6',
        label: 'Express 5 + apitoolkit-express@2.4.6',
        framework,
        mode: 'legacy',
        sdk: 'legacy',
        byDefault: true,
      });
      for (const spec of PEERS) {
        const label = spec.label.replace(/\{([^}]+)\}/g, (_, name: string) => peerVersion(name) ?? '').replace(/ {2,}/g, ' ');
        const peer = { ...spec, label };
        apps.push({
          id: `express-${peer.name}`,
          label: `Express 5 + ${peer.label}`,
          framework,
          mode: peer.name,
          sdk: 'peer',
          peer,
          byDefault: true,
        });
      }
      apps.push({
        id: 'express-noop',
        label: 'Express 5 + this SDK, no-op transport',
        framework,
        mode: 'sdk-noop',
        sdk: 'noop',
        byDefault: false,
      });
    }
    if (framework.name === 'http') {
      apps.push({
        id: 'http-noop',
        label: 'node:http + this SDK, no-op transport',
        framework,
        mode: 'sdk-noop',
        sdk: 'noop',
        byDefault: false,
      });
    }
  }
  return apps;
}

/** The headline group: compared pinned and unpinned, with the most rounds. */
export const MAIN_FRAMEWORK = 'express';
