/**
 * The Web build's platform: delivery over the runtime's `fetch`, async context where the runtime
 * has it, gzip/deflate through `DecompressionStream`, start-up on first use (Workers forbid I/O at
 * the top level of a module). No `node:` import anywhere in its module graph.
 */
import { webDecompress } from '../core/capture-web.js';
import { webContextStore } from '../core/context.js';
import type { Platform } from '../core/platform.js';
import { fetchHttpClient } from '../transport/http.js';

export const WEB: Platform = Object.freeze({
  name: 'Web build (Deno, Cloudflare Workers, the edge)',
  http: () => fetchHttpClient(),
  context: webContextStore,
  decompress: webDecompress,
  lazyStart: true,
});
