import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

/** The leak finder's pattern and checksum packages, bundled into dist (see README "Leak finder"). */
const LEAK_PACKAGES = /[\\/]node_modules[\\/](@secretlint[\\/]secretlint-rule-preset-recommend|stdnum|libphonenumber-js|credit-card-type)[\\/]/;
const NODE_SHIM = fileURLToPath(new URL('./src/leaks/node-shim.ts', import.meta.url));

/**
 * Bundles the leak finder's packages minified (they hold data tables: ~445 KB as published,
 * ~255 KB minified, per format), and points the `node:path` / `node:fs` imports of secretlint's
 * preset at a shim, so the leak finder needs no Node module (Bun, Deno, Workers).
 */
const leakPackages: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'apitoolkit-leak-packages',
  setup(build) {
    build.onResolve({ filter: /^node:(path|fs)$/ }, (args) => (LEAK_PACKAGES.test(args.importer) ? { path: NODE_SHIM } : undefined));
    build.onLoad({ filter: LEAK_PACKAGES }, async (args) => {
      if (!/\.(c|m)?js$/.test(args.path)) return undefined;
      const source = await readFile(args.path, 'utf8');
      const { code } = await transform(source, { loader: 'js', minify: true, legalComments: 'inline' });
      return { contents: code, loader: 'js' };
    });
  },
};

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
    // The publishing thread's entry (src/transport/thread.ts finds it next to the chunks).
    'transport/pubsub-worker': 'src/transport/pubsub-worker.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  // import.meta.url in the CommonJS build (the collector locates the .proto files with it).
  shims: true,
  splitting: true,
  esbuildPlugins: [leakPackages],
});
