/** The outcome of redacting one body, and the ways a body leaves the redactor. */
import type { JSONValue } from 'json-p3';
import { REDACTED } from '../record.js';

/** The outcome of redacting one body. */
export interface BodyRedaction {
  /** The bytes to record: the input itself when nothing had to change. */
  body: Buffer;
  /** How many values were replaced by the marker. */
  redactions: number;
  /**
   * `true` when the rules could not be applied (the body claimed to be JSON but did not parse, or
   * was too deep to evaluate), so the whole body was replaced by the JSON string `"[CLIENT_REDACTED]"`.
   */
  unparsable: boolean;
}

// Sentinel for "the rules could not be evaluated": the body must be withheld.
export const WITHHELD: unique symbol = Symbol('withheld');

export function serialise(result: { value: JSONValue | typeof WITHHELD; redactions: number }): BodyRedaction {
  if (result.value === WITHHELD) return withheld();
  try {
    return { body: Buffer.from(JSON.stringify(result.value), 'utf8'), redactions: result.redactions, unparsable: false };
  } catch {
    // Too deep for JSON.stringify: fail closed rather than leak.
    return withheld();
  }
}

export function unchanged(body: Buffer): BodyRedaction {
  return { body, redactions: 0, unparsable: false };
}

export function withheld(): BodyRedaction {
  // A fresh Buffer each time: Buffers are mutable and must not be shared between records.
  return { body: Buffer.from(JSON.stringify(REDACTED), 'utf8'), redactions: 1, unparsable: true };
}
