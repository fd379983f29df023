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

/**
 * A bundled third-party file, minified, with a source map of its own that points at one empty
 * placeholder named `label`: dist's maps then carry none of its (minified, third-party) text. Also
 * used by tsup.config.ts for json-p3.
 */
export async function minifiedWithPlaceholderMap(path: string, label: string): Promise<string> {
  const { code } = await transform(await readFile(path, 'utf8'), { loader: 'js', minify: true, legalComments: 'inline' });
  const map = { version: 3, sources: [label], sourcesContent: [''], names: [], mappings: 'AAAA' };
  return `${code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

export const leakPackages: Plugin = {
  name: 'apitoolkit-leak-packages',
  setup(build) {
    build.onResolve({ filter: /^node:(path|fs|crypto)$/ }, (args) => (LEAK_PACKAGES.test(args.importer) ? { path: NODE_SHIM } : undefined));
    build.onLoad({ filter: LEAK_PACKAGES }, async (args) => {
      if (!/\.(c|m)?js$/.test(args.path)) return undefined;
      // 570 KB less in dist than with their text in the maps.
      const contents = await minifiedWithPlaceholderMap(args.path, 'leak-finder-patterns (bundled, see docs/third-party-notices.md)');
      return { contents, loader: 'js' };
    });
  },
};
