/**
 * A value as an error message shows it: strings quoted, containers named, never dumped (a dump
 * could carry a secret, or be huge).
 *
 * @example
 * describeValue('x'); // '"x"'
 * describeValue(42);  // 'number 42'
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
