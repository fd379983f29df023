/**
 * Path params as the wire format wants them (string -> string), from what a router gives: strings,
 * numbers, and arrays for wildcards and repeated segments (joined with `/`). Keys from the network
 * become own members (`__proto__` included); missing values are left out.
 */
import { setOwn } from '../core/own.js';

export function stringParams(params: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (params === null || typeof params !== 'object') return out;
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string') setOwn(out, key, value);
    else if (Array.isArray(value)) setOwn(out, key, value.join('/'));
    else if (value !== undefined && value !== null) setOwn(out, key, String(value));
  }
  return out;
}
