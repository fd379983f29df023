/**
 * Platforms that freeze the process between invocations and may end it without notice (AWS
 * Lambda, Google Cloud Functions, Vercel's Node functions without `waitUntil`): a wrapper that
 * delivers each invocation's records before the invocation returns. Runtime-neutral.
 */
import type { APIToolkit } from './client.js';
import { OptionsInvalidError } from './core/errors.js';

/** Options of {@link withFlush}. */
export interface WithFlushOptions {
  /** The longest each invocation waits for delivery after the handler is done, in ms. Default 2 000. */
  timeoutMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 2_000; // 2 s

/**
 * Wraps an invocation handler (`async (event, context) => result`, a Lambda handler made by
 * `hono/aws-lambda`'s `handle(app)` or `serverless-http`, a Cloud Functions handler) so that each
 * invocation awaits `apitoolkit.flush(timeoutMs)` after the handler settled and before it returns
 * (or throws) the handler's own result, unchanged. A frozen process then holds no record, and none
 * is lost when the platform ends it. The wait is bounded: an unreachable endpoint costs each
 * invocation at most `timeoutMs`, and what is not delivered stays queued for the next one.
 *
 * @example
 * // AWS Lambda behind API Gateway or a function URL, with Hono
 * import { Hono } from 'hono';
 * import { handle } from 'hono/aws-lambda';
 * import { APIToolkit, withFlush } from 'apitoolkit-node';
 * import { honoMiddleware } from 'apitoolkit-node/hono';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 * const app = new Hono();
 * app.use('*', honoMiddleware(apitoolkit));
 * app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }));
 * export const handler = withFlush(apitoolkit, handle(app), { timeoutMs: 2_000 });
 */
export function withFlush<Args extends unknown[], Result>(
  client: APIToolkit,
  handler: (...args: Args) => Result,
  options: WithFlushOptions = {},
): (...args: Args) => Promise<Awaited<Result>> {
  if (typeof (client as Partial<APIToolkit> | null)?.flush !== 'function') {
    throw new OptionsInvalidError('withFlush(client)', 'expected an APIToolkit instance (new APIToolkit({...}))');
  }
  if (typeof handler !== 'function')
    throw new OptionsInvalidError('withFlush(client, handler)', `expected a function, got ${typeof handler}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 900_000) {
    throw new OptionsInvalidError(
      'withFlush timeoutMs',
      `expected an integer number of milliseconds from 0 to 900000, got ${String(timeoutMs)}`,
    );
  }
  return async function apitoolkitFlushed(this: unknown, ...args: Args): Promise<Awaited<Result>> {
    let result: Awaited<Result>;
    try {
      result = await handler.apply(this, args);
    } catch (error) {
      await client.flush(timeoutMs);
      throw error;
    }
    await client.flush(timeoutMs);
    return result;
  };
}
