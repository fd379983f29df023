/**
 * This package's own version, read from its package.json through the package's self-reference
 * (`exports` lists `./package.json`), so it is right in the source tree and in the built package.
 */

import { createRequire } from 'node:module';

/**
 * The version of apitoolkit-node that is running, or `'unknown'` when its package.json cannot be read.
 *
 * @example
 * packageVersion(); // '0.1.0'
 */
export function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('apitoolkit-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
