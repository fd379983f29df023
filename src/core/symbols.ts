/**
 * Symbols for state the SDK attaches to objects it does not own, and for package-internal methods.
 * Registered (`Symbol.for`) so that an ESM and a CommonJS copy of the package in one process, e.g.
 * the client from `import` and the adapter from `require`, still understand each other.
 */

/** The per-request `Exchange` on a framework's request object. */
export const kExchange = Symbol.for('apitoolkit-node.exchange');
/** `APIToolkit` internal: start observing a request (used by adapters only). */
export const kObserve = Symbol.for('apitoolkit-node.observe');
/** `APIToolkit` internal: attach an error to the exchange of a request (used by adapters only). */
export const kRecordError = Symbol.for('apitoolkit-node.recordError');
