import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import { leakPackages, minifiedWithPlaceholderMap } from './scripts/esbuild-leak-packages.js';

/** The Web build: redaction's `node:zlib` (gunzip of a body of unknown type) is src/web/zlib.ts. */
const webZlib: Plugin = {
  name: 'apitoolkit-web-zlib',
  setup(build) {
    const shim = fileURLToPath(new URL('./src/web/zlib.ts', import.meta.url));
    build.onResolve({ filter: /^(node:)?zlib$/ }, (args) => (/[\\/]src[\\/]core[\\/]redact[\\/]/.test(args.importer) ? { path: shim } : undefined));
  },
};

/**
 * json-p3 goes into the bundle as its ES module build: imported from our ESM build as the package's
 * `main` (CommonJS), node would run its CommonJS lexer over 150 KB and load it apart, a block of
 * ~10 ms on the app's thread at start-up (bench/results/INSITU.md). Minified as it is loaded
 * (150 -> ~70 KB to compile at start-up; its errors set their names themselves), with a source map
 * of its own that points at one placeholder, so dist's maps do not carry its text three times.
 */
const jsonP3Esm: Plugin = {
  name: 'apitoolkit-json-p3-esm',
  setup(build) {
    const esm = fileURLToPath(new URL('./node_modules/json-p3/dist/json-p3.esm.js', import.meta.url));
    build.onResolve({ filter: /^json-p3$/ }, () => ({ path: esm }));
    build.onLoad({ filter: /[\\/]json-p3[\\/]dist[\\/]json-p3\.esm\.js$/ }, async (args) => ({
      contents: await minifiedWithPlaceholderMap(args.path, 'json-p3 2.3.1 (bundled, see docs/third-party-notices.md)'),
      loader: 'js',
    }));
  },
};

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
    noExternal: ['json-p3'],
    esbuildPlugins: [leakPackages, jsonP3Esm],
    // The inspector's page files ship as they are (src/collector/inspector/assets.ts finds them here).
    onSuccess: async () => {
      cpSync('src/collector/inspector/assets', 'dist/inspector', { recursive: true, filter: (path) => !path.endsWith('tsconfig.json') });
    },
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
    noExternal: ['buffer', 'json-p3'],
    // Keep `node:` on imports, so that webZlib sees redaction's and check-package.mjs any other.
    removeNodeProtocol: false,
    esbuildPlugins: [leakPackages, jsonP3Esm, webZlib],
    esbuildOptions(options) {
      options.inject = ['src/web/buffer.ts'];
      options.mainFields = ['module', 'main'];
    },
  },
]);
