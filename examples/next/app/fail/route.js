import { nextRouteHandler } from '../../../../src/adapters/next/index.js';
import { apitoolkit } from '../../lib/apitoolkit.js';

// Next answers the thrown error with a 500; the record holds it with its cause.
export const GET = nextRouteHandler(apitoolkit, () => {
  throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
});
