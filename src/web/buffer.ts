/**
 * `Buffer` for the Web build, injected by the bundler (tsup.config.ts) wherever the SDK's code
 * names it: the runtime's own where there is one (Bun, Deno, Workers with `nodejs_compat`), else
 * the `buffer` package (the de facto standard polyfill, bundled: Workers without `nodejs_compat`,
 * Vercel's and Next.js's edge runtime), so that redaction runs there unchanged.
 */
import { Buffer as Polyfill } from 'buffer';

export const Buffer: BufferConstructor =
  (globalThis as { Buffer?: BufferConstructor }).Buffer ?? (Polyfill as unknown as BufferConstructor);
