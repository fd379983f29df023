import type { APIToolkit } from '../apitoolkit.js';
import { OptionsInvalidError } from '../core/errors.js';
import { kObserve } from '../core/symbols.js';

/** Fails at start-up, not on every request, when an adapter is handed something other than an APIToolkit. */
export function assertClient(client: unknown, name: string): asserts client is APIToolkit {
  if (typeof (client as Partial<APIToolkit> | null)?.[kObserve] !== 'function') {
    throw new OptionsInvalidError(`${name}(client)`, 'expected an APIToolkit instance (new APIToolkit({...}))');
  }
}
