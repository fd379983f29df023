/** Symbols for state the SDK attaches to objects it does not own, and for package-internal methods. */

/** The per-request `Exchange` on a framework's request object. */
export const kExchange = Symbol('apitoolkit.exchange');
/** `APIToolkit` internal: start observing a request (used by adapters only). */
export const kObserve = Symbol('apitoolkit.observe');
/** `APIToolkit` internal: attach an error to the exchange of a request (used by adapters only). */
export const kRecordError = Symbol('apitoolkit.recordError');
