/**
 * Keys that arrive from the network (`__proto__` in a query string, a header, a JSON body) must
 * become plain own members of the objects we build, never reach the prototype setter.
 */

/** `target[key] = value`, except that `__proto__` is defined as an own member. Returns `value`. */
export function setOwn<T>(target: object, key: string, value: T): T {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
  return value;
}
