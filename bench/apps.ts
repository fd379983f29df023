/**
 * The apps the macro benchmark runs, as data. Each framework is one group: its bare app
 * (`bare-<name>`) and the same app with this SDK's adapter (`<name>`), both served by
 * `bench/servers/<name>.ts` (modes `bare` and `sdk`). Express also gets the published
 * `apitoolkit-express@2.4.6` and, on request, a no-op-transport variant.
 *
 * To add an adapter: write `bench/servers/<name>.ts` (copy `fastify.ts`) and add a line to
 * FRAMEWORKS. A group whose adapter is not exported yet is reported as skipped, with the reason.
 */

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

export type SdkKind = 'none' | 'this' | 'noop' | 'legacy';

export interface AppSpec {
  /** `bare-express`, `express`, `express-noop`, `express-2.4.6`, `http-noop`... */
  id: string;
  label: string;
  framework: FrameworkSpec;
  /** argv[2] of the server. */
  mode: string;
  sdk: SdkKind;
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
