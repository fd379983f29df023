/**
 * JSONPath member names as `redactRequestBody` / `redactResponseBody` accept them: RFC 9535
 * shorthand (`$.user.name`) where the name allows it, bracket notation (`$['credit-card']`) where
 * it does not. Shared by the leak finder and the inspector's catalog.
 */

/**
 * `parent.name` when `name` is RFC 9535 member-name shorthand, `parent['odd-name']` otherwise.
 *
 * @example
 * memberPath('$', 'credit-card'); // "$['credit-card']"
 * memberPath('$.user', 'name'); // '$.user.name'
 */
export function memberPath(parent: string, key: string): string {
  return parent + memberSuffix(key);
}

const SUFFIX_CACHE_SIZE = 4_096;
const suffixes = new Map<string, string>();

/** `.name` or `['odd-name']`: what {@link memberPath} appends (member names repeat: memoised, bounded). */
export function memberSuffix(key: string): string {
  let suffix = suffixes.get(key);
  if (suffix !== undefined) return suffix;
  suffix = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*$/.test(key)
    ? `.${key}`
    : `['${key
        .replace(/\\/g, '\\\\')
        .replace(/'/g, "\\'")
        .replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}']`;
  if (suffixes.size >= SUFFIX_CACHE_SIZE) suffixes.clear();
  suffixes.set(key, suffix);
  return suffix;
}
