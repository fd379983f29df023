/**
 * Async context: the request being served, followed across `await` so that `reportError()` and
 * `currentMsgId()` find it. Node's `AsyncLocalStorage` where the runtime has one; runtime-neutral
 * (no `node:` import), so the Web build finds it at run time.
 */

/** The part of `AsyncLocalStorage` the SDK uses. */
export interface ContextStore<T> {
  run<R>(store: T, fn: () => R): R;
  getStore(): T | undefined;
  /** Makes `store` the context of the rest of the synchronous call and what it schedules. */
  enterWith(store: T): void;
  disable(): void;
}

type StoreClass = new <T>() => ContextStore<T>;

/**
 * `AsyncLocalStorage` as the runtime offers it without a `node:` import: a global (Vercel's edge
 * runtime, Next.js's edge sandbox), else `process.getBuiltinModule('node:async_hooks')` (Node 20.16+,
 * Bun, Deno, Cloudflare Workers with `nodejs_compat` or `nodejs_als`); undefined elsewhere.
 */
export function findAsyncLocalStorage(): StoreClass | undefined {
  const g = globalThis as { AsyncLocalStorage?: unknown; process?: { getBuiltinModule?: (id: string) => unknown } };
  if (typeof g.AsyncLocalStorage === 'function') return g.AsyncLocalStorage as StoreClass;
  try {
    // Next's edge sandbox answers every process method with a function that throws.
    const hooks = g.process?.getBuiltinModule?.('node:async_hooks') as { AsyncLocalStorage?: unknown } | undefined;
    if (typeof hooks?.AsyncLocalStorage === 'function') return hooks.AsyncLocalStorage as StoreClass;
  } catch {
    // None: see SyncContextStore.
  }
  return undefined;
}

/**
 * The fallback where the runtime has no async context at all (Cloudflare Workers without
 * `nodejs_compat`): the store is seen only during the synchronous part of `run()`. Never the wrong
 * request's: after the first `await` nothing is seen, because no two `run()`s interleave.
 */
export class SyncContextStore<T> implements ContextStore<T> {
  #current: T | undefined = undefined;

  run<R>(store: T, fn: () => R): R {
    const previous = this.#current;
    this.#current = store;
    try {
      return fn();
    } finally {
      this.#current = previous;
    }
  }

  getStore(): T | undefined {
    return this.#current;
  }

  enterWith(): void {
    // Nothing to follow without async context.
  }

  disable(): void {
    this.#current = undefined;
  }
}

/** `asyncContext: false`: runs everything as it is and follows nothing (`getStore()` is always undefined). */
export class NoContextStore<T> implements ContextStore<T> {
  run<R>(_store: T, fn: () => R): R {
    return fn();
  }

  getStore(): T | undefined {
    return undefined;
  }

  enterWith(): void {
    // Nothing is followed.
  }

  disable(): void {
    // Nothing was enabled.
  }
}

/** A context store: the runtime's `AsyncLocalStorage`, or {@link SyncContextStore} without one. */
export function webContextStore<T>(): ContextStore<T> {
  const Store = findAsyncLocalStorage();
  return Store === undefined ? new SyncContextStore<T>() : new Store<T>();
}
