/**
 * Symbols for package-internal methods of `APIToolkit` that adapters call.
 * Registered (`Symbol.for`) so that an ESM and a CommonJS copy of the package in one process, e.g.
 * the client from `import` and the adapter from `require`, still understand each other.
 */

/** `APIToolkit` internal: start observing a request (used by adapters only). */
export const kObserve = Symbol.for('apitoolkit-node.observe');
/** `APIToolkit` internal: attach an error to the exchange of a request (used by adapters only). */
export const kRecordError = Symbol.for('apitoolkit-node.recordError');
