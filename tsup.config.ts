import { defineConfig } from 'tsup';
import { leakPackages } from './scripts/esbuild-leak-packages.js';

// Two builds. The Node build (Node and Bun): ESM (.js + .d.ts) and CommonJS (.cjs + .d.cts), one
// entry per subpath. The Web build (dist/web, ESM only, no `node:` import): what the `workerd`,
// `edge-light` and `deno` export conditions resolve; it shares the Node build's type declarations.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'express/index': 'src/adapters/express/index.ts',
      'fastify/index': 'src/adapters/fastify/index.ts',
      'koa/index': 'src/adapters/koa/index.ts',
      'hono/index': 'src/adapters/hono/index.ts',
      'nest/index': 'src/adapters/nest/index.ts',
      'next/index': 'src/adapters/next/index.ts',
      'http/index': 'src/adapters/http/index.ts',
      'fetch/index': 'src/adapters/fetch/index.ts',
      'collector/index': 'src/collector/index.ts',
      cli: 'src/cli.ts',
      // Zero-code start: node --import apitoolkit-node/register app.js
      register: 'src/register.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // import.meta.url in the CommonJS build (the package's version, axios through createRequire).
    shims: true,
    splitting: true,
    esbuildPlugins: [leakPackages],
  },
  {
    entry: {
      index: 'src/web/index.ts',
      'fetch/index': 'src/adapters/fetch/index.ts',
      'hono/index': 'src/adapters/hono/index.ts',
      'next/index': 'src/adapters/next/index.ts',
    },
    outDir: 'dist/web',
    format: ['esm'],
    dts: false,
    clean: false,
    sourcemap: true,
    // What Workers, Deno and the edge runtimes all run.
    target: 'es2022',
    platform: 'neutral',
    splitting: true,
    // The `buffer` polyfill goes into the bundle: it must never resolve to a runtime's node:buffer.
    noExternal: ['buffer'],
    esbuildPlugins: [leakPackages],
    esbuildOptions(options) {
      options.inject = ['src/web/buffer.ts'];
      options.mainFields = ['module', 'main'];
    },
  },
]);
