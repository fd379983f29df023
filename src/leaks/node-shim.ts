/**
 * What secretlint's preset imports from `node:path`, `node:fs` and `node:crypto`, for the build only: the build
 * points those imports here (tsup.config.ts) so that the leak finder bundles without Node's
 * modules, for Bun, Deno and Workers. The preset uses them for files on disk only (`filePath`),
 * which the leak finder never passes: `basename` is there for completeness, `readFileSync` throws
 * (and the preset catches it), and there is no `createHash` (the preset then uses Web Crypto).
 */

/** The last segment of a path. */
export function basename(path: string): string {
  return (
    path
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? ''
  );
}

/** Always throws: there is no file system here. */
export function readFileSync(): never {
  throw new Error('apitoolkit-node leak finder: no file system');
}

export default { basename, readFileSync };
