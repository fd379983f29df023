/**
 * Symbols for package-internal methods of `APIToolkit` that adapters call.
 * Registered (`Symbol.for`) so that an ESM and a CommonJS copy of the package in one process, e.g.
 * the client from `import` and the adapter from `require`, still understand each other.
 */

/** `APIToolkit` internal: start observing a request (used by adapters only). */
export const kObserve = Symbol.for('apitoolkit-node.observe');
/** `APIToolkit` internal: attach an error to the exchange of a request (used by adapters only). */
export const kRecordError = Symbol.for('apitoolkit-node.recordError');
/** `APIToolkit` internal: observe a Web Request/Response exchange (fetch-style adapters only). */
export const kObserveWeb = Symbol.for('apitoolkit-node.observeWeb');
/** `APIToolkit` internal: the request being served in the current async context (outgoing capture). */
export const kCurrentRequest = Symbol.for('apitoolkit-node.currentRequest');
/** `APIToolkit` internal: queue a finished exchange built outside the node:http path (outgoing capture). */
export const kSubmit = Symbol.for('apitoolkit-node.submit');
/**
 * `APIToolkit` internal: start observing a request and make it the current async context for the
 * rest of the synchronous call (zero-code start: no middleware to wrap the app's listener).
 */
export const kEnter = Symbol.for('apitoolkit-node.enter');
