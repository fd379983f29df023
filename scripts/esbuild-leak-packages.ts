/**
 * An esbuild plugin for the leak finder's pattern and checksum packages, bundled into dist (see
 * README "Leak finder"): it minifies them as they are loaded (they are mostly data tables: ~445 KB
 * as published, ~255 KB minified), and points the `node:path`, `node:fs` and `node:crypto` imports of
 * secretlint's preset (used only for files on disk) at src/leaks/node-shim.ts, so the leak finder needs no Node module (Bun, Deno, Workers).
 * Used by tsup.config.ts, and by test/leaks/portable.test.ts to bundle the leak finder alone.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform, type Plugin } from 'esbuild';

const LEAK_PACKAGES =
  /[\\/]node_modules[\\/](@secretlint[\\/]secretlint-rule-preset-recommend|stdnum|libphonenumber-js|credit-card-type)[\\/]/;
const NODE_SHIM = fileURLToPath(new URL('../src/leaks/node-shim.ts', import.meta.url));

const EMPTY_MAP = Buffer.from(
  JSON.stringify({
    version: 3,
    sources: ['leak-finder-patterns (bundled, see docs/third-party-notices.md)'],
    sourcesContent: [''],
    names: [],
    mappings: 'AAAA',
  }),
).toString('base64');

export const leakPackages: Plugin = {
  name: 'apitoolkit-leak-packages',
  setup(build) {
    build.onResolve({ filter: /^node:(path|fs|crypto)$/ }, (args) => (LEAK_PACKAGES.test(args.importer) ? { path: NODE_SHIM } : undefined));
    build.onLoad({ filter: LEAK_PACKAGES }, async (args) => {
      if (!/\.(c|m)?js$/.test(args.path)) return undefined;
      const source = await readFile(args.path, 'utf8');
      const { code } = await transform(source, { loader: 'js', minify: true, legalComments: 'inline' });
      // A source map of their own that points at one empty placeholder: dist's maps then carry none
      // of their (minified, third-party) text: 570 KB less in dist.
      return { contents: `${code}\n//# sourceMappingURL=data:application/json;base64,${EMPTY_MAP}\n`, loader: 'js' };
    });
  },
};
