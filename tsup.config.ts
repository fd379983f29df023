import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { leakPackages } from './scripts/esbuild-leak-packages.js';

// One build, two formats: ESM (.js + .d.ts) and CommonJS (.cjs + .d.cts), one entry per subpath.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'express/index': 'src/adapters/express/index.ts',
    'fastify/index': 'src/adapters/fastify/index.ts',
    'koa/index': 'src/adapters/koa/index.ts',
    'hono/index': 'src/adapters/hono/index.ts',
    'nest/index': 'src/adapters/nest/index.ts',
    'next/index': 'src/adapters/next/index.ts',
    'http/index': 'src/adapters/http/index.ts',
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
  // The inspector's page files ship as they are (src/collector/inspector/assets.ts finds them here).
  onSuccess: async () => {
    cpSync('src/collector/inspector/assets', 'dist/inspector', { recursive: true, filter: (path) => !path.endsWith('tsconfig.json') });
  },
});
