/**
 * Whether the peer SDKs are installed (bench/peers/node_modules, `npm run bench:peers:install`)
 * and which versions. Imports none of them: the harness and CI run without them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PeerSpec } from '../apps.js';

const PEERS_DIR = fileURLToPath(new URL('.', import.meta.url));

/** The installed version of `name` in bench/peers/node_modules, or null. */
export function peerVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(`${PEERS_DIR}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Why `peer` cannot run (one line), or null when its packages are installed. */
export function peerMissing(peer: PeerSpec): string | null {
  const absent = peer.packages.filter((name) => peerVersion(name) === null);
  if (absent.length === 0) return null;
  return `not installed (${absent.join(', ')} absent from bench/peers/node_modules): run \`npm run bench:peers:install\``;
}
