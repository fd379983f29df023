/**
 * Opt-in shutdown on process signals. The SDK never installs signal handlers by itself: a library
 * that did would change how the host app stops. This helper is for apps that want the queue
 * flushed on SIGTERM/SIGINT without writing the handler themselves.
 */
import { constants } from 'node:os';
import type { APIToolkit, ShutdownResult } from './apitoolkit.js';
import { describeValue } from './core/describe.js';
import { OptionsInvalidError } from './core/errors.js';
import { within } from './core/within.js';

/** Options of {@link shutdownOnSignals}. */
export interface ShutdownOnSignalsOptions {
  /** Signals to handle. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[] | undefined;
  /** Passed to `shutdown()`: the longest the flush may take, in ms. Default 5 000. */
  timeoutMs?: number | undefined;
  /** Called once shutdown resolved, before the process goes on stopping. Must not throw. */
  onShutdown?: ((result: ShutdownResult, signal: NodeJS.Signals) => void) | undefined;
}

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGTERM', 'SIGINT'] as NodeJS.Signals[]);
const DEFAULT_TIMEOUT_MS = 5_000; // 5 s
// shutdown() never hangs (it races every wait against its timeout); this is a last resort.
const GRACE_MS = 3_000; // 3 s

/**
 * On the first of `signals`, calls `client.shutdown(timeoutMs)` and then lets the process stop
 * the way it would have without the SDK:
 *
 * - if the app has its own listener for that signal, the listener runs as usual; a
 *   `process.exit()` it makes meanwhile waits until the shutdown is over, then exits with the
 *   app's code;
 * - if the app has no listener, the signal is raised again once the shutdown is over, so the
 *   process ends with the conventional status (128 + signal number, e.g. 143 for SIGTERM).
 *
 * A second signal during the shutdown is not intercepted (the default action or the app's own
 * listener applies, e.g. a second Ctrl-C stops at once). Returns a function that removes the
 * listeners again.
 *
 * @example
 * import { APIToolkit, shutdownOnSignals } from 'apitoolkit-node';
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 * shutdownOnSignals(apitoolkit, { signals: ['SIGTERM', 'SIGINT'], timeoutMs: 5_000 });
 */
export function shutdownOnSignals(client: APIToolkit, options: ShutdownOnSignalsOptions = {}): () => void {
  if (typeof (client as Partial<APIToolkit> | null)?.shutdown !== 'function') {
    throw new OptionsInvalidError('shutdownOnSignals(client)', 'expected an APIToolkit instance (new APIToolkit({...}))');
  }
  if (options === null || typeof options !== 'object') {
    throw new OptionsInvalidError('shutdownOnSignals(options)', `expected an object, got ${describeValue(options)}`);
  }
  const signals = signalList(options.signals);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 3_600_000) {
    throw new OptionsInvalidError(
      'timeoutMs',
      `expected an integer number of milliseconds from 0 to 3600000, got ${describeValue(timeoutMs)}`,
    );
  }
  const onShutdown = options.onShutdown;
  if (onShutdown !== undefined && typeof onShutdown !== 'function') {
    throw new OptionsInvalidError('onShutdown', `expected a function, got ${describeValue(onShutdown)}`);
  }

  let installed = true;
  const listeners = new Map<NodeJS.Signals, () => void>();
  const uninstall = (): void => {
    if (!installed) return;
    installed = false;
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
    listeners.clear();
  };

  for (const signal of signals) {
    const listener = (): void => {
      uninstall();
      void stop(client, signal, timeoutMs, onShutdown);
    };
    listeners.set(signal, listener);
    // First, so that an app listener's process.exit() finds the exit already deferred.
    process.prependListener(signal, listener);
  }
  return uninstall;
}

async function stop(
  client: APIToolkit,
  signal: NodeJS.Signals,
  timeoutMs: number,
  onShutdown: ShutdownOnSignalsOptions['onShutdown'],
): Promise<void> {
  // Node calls the app's own listeners for this signal right after ours, in the same tick.
  const appHandlesIt = process.listenerCount(signal) > 0;
  const realExit = process.exit;
  let requestedExit: { code: string | number | null | undefined } | undefined;
  const deferredExit = function deferredExit(code?: string | number | null): never {
    requestedExit ??= { code };
    return undefined as never;
  };
  process.exit = deferredExit;
  let result: ShutdownResult = { flushed: false, dropped: 0 };
  try {
    result = await within(client.shutdown(timeoutMs), timeoutMs + GRACE_MS, (): ShutdownResult => ({ flushed: false, dropped: 0 }));
  } catch {
    // shutdown() never rejects; a foreign object's might. Stopping the process matters more.
  } finally {
    if (process.exit === deferredExit) process.exit = realExit;
  }
  try {
    onShutdown?.(result, signal);
  } catch {
    // The process is stopping: a throwing callback must not keep it from doing so.
  }
  if (requestedExit !== undefined) {
    realExit.call(process, requestedExit.code ?? undefined);
  } else if (!appHandlesIt && process.listenerCount(signal) === 0) {
    // Nobody else handles it: the default action ends the process with the conventional status.
    process.kill(process.pid, signal);
  }
}

function signalList(value: unknown): readonly NodeJS.Signals[] {
  if (value === undefined) return DEFAULT_SIGNALS;
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionsInvalidError('signals', `expected a non-empty array of signal names, got ${describeValue(value)}`);
  }
  value.forEach((signal: unknown, i) => {
    if (typeof signal !== 'string' || !Object.hasOwn(constants.signals, signal) || signal === 'SIGKILL' || signal === 'SIGSTOP') {
      throw new OptionsInvalidError(
        `signals[${i}]`,
        `expected a signal name that can be handled, such as "SIGTERM", got ${describeValue(signal)}`,
      );
    }
  });
  return [...new Set(value as NodeJS.Signals[])];
}
