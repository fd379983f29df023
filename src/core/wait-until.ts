/**
 * `waitUntil`: how a platform that freezes or tears down the isolate once the response is sent
 * (Cloudflare Workers, Vercel, Next.js on Vercel) lets work go on after it. Runtime-neutral.
 */

/** Keeps the isolate alive until `promise` settles. */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** Vercel's request context (what `waitUntil` of `@vercel/functions` reads), on its functions and edge. */
const VERCEL_REQUEST_CONTEXT = Symbol.for('@vercel/request-context');

/**
 * The platform's `waitUntil` for the request being served: the first of `candidates` (a handler's
 * arguments, Hono's `executionCtx`) with a `waitUntil` method (Workers' `ctx`, Vercel's and
 * Netlify's edge `context`, Next middleware's `event`), else Vercel's request context; undefined
 * where there is none (Node, Bun, Deno, AWS Lambda: see `withFlush`). Never throws.
 */
export function findWaitUntil(candidates: readonly unknown[]): WaitUntil | undefined {
  try {
    for (const candidate of candidates) {
      if (candidate !== null && typeof candidate === 'object' && typeof (candidate as { waitUntil?: unknown }).waitUntil === 'function') {
        const owner = candidate as { waitUntil(promise: Promise<unknown>): void };
        return (promise) => owner.waitUntil(promise);
      }
    }
    const vercel = (globalThis as Record<symbol, { get?: () => { waitUntil?: unknown } | undefined } | undefined>)[VERCEL_REQUEST_CONTEXT];
    const context = vercel?.get?.();
    if (typeof context?.waitUntil === 'function') {
      const owner = context as { waitUntil(promise: Promise<unknown>): void };
      return (promise) => owner.waitUntil(promise);
    }
  } catch {
    // A getter that throws (Hono's executionCtx off Workers) is no waitUntil.
  }
  return undefined;
}
