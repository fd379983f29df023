/**
 * The inspector's page, stylesheet, script and icon: real files in `assets/` (the script plain
 * browser JavaScript, type-checked with `// @ts-check` and linted like the rest), served as they
 * are, with no build step. The build copies them to `dist/inspector/`; this module reads them once,
 * from beside its source file when run from the sources, else from the package's `dist/inspector/`.
 * The page holds no inline script or style (the CSP forbids both).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface InspectorAssets {
  readonly html: string;
  readonly css: string;
  readonly script: string;
  readonly favicon: string;
}

let cached: InspectorAssets | undefined;

/** The four files, read on first use and kept. Throws when they cannot be found (a broken install). */
export function inspectorAssets(): InspectorAssets {
  if (cached !== undefined) return cached;
  const dir = assetsDir();
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  cached = Object.freeze({
    html: read('inspector.html'),
    css: read('inspector.css'),
    script: read('inspector.js'),
    favicon: read('favicon.svg'),
  });
  return cached;
}

/** `src/collector/inspector/assets` next to this source file, else `dist/inspector` of the package. */
function assetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'assets');
  if (existsSync(join(beside, 'inspector.js'))) return beside;
  // Built: this code sits in dist/ or one of its subfolders (dist/collector/); the assets in dist/inspector/.
  for (let dir = here; dirname(dir) !== dir; dir = dirname(dir)) {
    const candidate = join(dir, 'inspector');
    if (existsSync(join(candidate, 'inspector.js'))) return candidate;
    if (existsSync(join(dir, 'package.json'))) break;
  }
  throw new Error(`apitoolkit-node inspector: its page files are missing (looked in ${beside} and dist/inspector)`);
}
