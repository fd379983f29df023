/**
 * The vocabulary of the leak finder: where in a record a value sits, what a detector says about it,
 * and how sure it is. Plain data, shared by the client (`detectLeaks`), the collector's inspector,
 * `doctor --scan` and `scanRecords()`.
 */

/** How sure a detector is that the value is what it says. */
export type LeakConfidence = 'high' | 'medium' | 'low';

/** `secret`: a credential that grants access; `pii`: personal data about someone. */
export type LeakKind = 'secret' | 'pii';

/** The part of a record a value was found in. */
export type LeakPart = 'request_header' | 'response_header' | 'query' | 'request_body' | 'response_body' | 'url_path' | 'error';

/** Where a value sits in a record. */
export interface LeakLocation {
  part: LeakPart;
  /**
   * The field, as a redaction rule names it: a header name (lower case), a query parameter name, a
   * body JSONPath with every array index written `[*]` (`$.items[*].card`), a path parameter name,
   * `errors[*].message`; `''` for a whole body that is not JSON or form fields.
   */
  field: string;
  /** The exact JSONPath of this one value (`$.items[2].card`); equals `field` outside bodies. */
  exact: string;
}

/** One value a detector flagged in one record. */
export interface LeakFinding {
  /** Stable id of the detector: `payment-card`, `jwt`, `password-field`, `secretlint/github`... */
  detector: string;
  /** Where its patterns come from: `apitoolkit-node`, `secretlint`, `stdnum`, `libphonenumber-js`... */
  source: string;
  kind: LeakKind;
  confidence: LeakConfidence;
  /** What was found, in words; never the value itself. */
  description: string;
  location: LeakLocation;
  /** A masked preview of the value (`4111…1111 (16 chars)`); never the whole value. */
  preview: string;
  /**
   * The flagged text: the value, or the part of a longer text (an error message, a text body) that
   * holds it. Needed to highlight or redact it; never print it.
   */
  match: string;
}

/** Confidence levels from the most to the least certain. */
export const CONFIDENCE_ORDER: readonly LeakConfidence[] = ['high', 'medium', 'low'];

/**
 * True when `confidence` is at least `min`.
 *
 * @example
 * atLeast('medium', 'low'); // true
 * atLeast('low', 'medium'); // false
 */
export function atLeast(confidence: LeakConfidence, min: LeakConfidence): boolean {
  return CONFIDENCE_ORDER.indexOf(confidence) <= CONFIDENCE_ORDER.indexOf(min);
}

/**
 * A preview that shows a person which value was meant without repeating it: a few characters at
 * each end of long values, none of short ones.
 *
 * @example
 * maskValue('4111111111111111'); // '4111…1111 (16 chars)'
 * maskValue('hunter2'); // '******* (7 chars)'
 */
export function maskValue(value: string): string {
  const chars = [...value];
  const n = chars.length;
  if (n >= 16) return `${chars.slice(0, 4).join('')}…${chars.slice(-4).join('')} (${n} chars)`;
  if (n >= 10) return `${chars.slice(0, 2).join('')}…${chars.slice(-2).join('')} (${n} chars)`;
  return `${'*'.repeat(n)} (${n} chars)`;
}
