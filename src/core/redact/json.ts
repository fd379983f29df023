/**
 * JSON bodies: spliced on their bytes (json-splice.ts) when every rule is a member chain or a
 * descendant name and the scanner is sure of the text, else parsed and walked (walk.ts).
 */
import type { JSONValue } from 'json-p3';
import { REDACTED } from '../record.js';
import { serialise, unchanged, withheld, WITHHELD, type BodyRedaction } from './body.js';
import { compileSplice, spliceJson, type SplicePlan } from './json-splice.js';
import { MAX_RECURSION_DEPTH, type RuleSet } from './rules.js';
import { redactValue } from './walk.js';

// Sentinel for "JSON.parse failed": every JSON value, including null, is a valid parse result.
const NOT_JSON: unique symbol = Symbol('not-json');
// A parsed body and its text (for the needles), or NOT_JSON.
type ParsedJson = { readonly value: JSONValue; readonly text: string } | typeof NOT_JSON;

/**
 * A body that is JSON (its content type says so) or may be (sniffed), under at least one rule:
 * spliced on its bytes when the rules allow it, else parsed and walked; withheld when it does not
 * parse (cut at maxBodyBytes, or not JSON after all), as nothing then says what it holds.
 */
export function redactJson(body: Buffer, { rules, scan, splice }: RuleSet): BodyRedaction {
  // Whether the scanner already read this body and gave up: the check below would give up too.
  let scannerGaveUp = false;
  if (splice !== null) {
    // The same selections and counts as below, on the bytes; null when the scanner was not sure
    // of something (invalid JSON included), and then the general path (parse and walk) decides.
    const spliced = spliceJson(body, splice);
    scannerGaveUp = spliced === null;
    if (spliced !== null) {
      for (let i = 0; i < rules.length; i += 1) rules[i]!.stat.matches += spliced.matches[i]!;
      return { body: spliced.body, redactions: spliced.redactions, unparsable: false };
    }
  }
  // Parsed even when no rule can match: a body that may be JSON and does not parse gets withheld.
  const parsed = parseJson(body);
  if (parsed === NOT_JSON) return withheld();
  const result = redactValue(parsed.value, rules, { text: parsed.text, scan });
  // Nothing matched: the original bytes, exactly as sent (no re-serialisation, no lost precision),
  // when JSON.parse saw every value they hold. With a member name repeated in an object it kept only
  // the last one, and an earlier copy, which the rules never saw, could hold what they select
  // (`{"card":{"cvv":"123"},"card":"x"}` under `$.card.cvv`): the parsed value is recorded then.
  // The check is the splice scanner with no rule; it also gives up on member names written with
  // escapes or non-ASCII bytes (`"c\u0061rd"` repeats `"card"`), and those bodies are re-serialised too.
  // A body the splice scanner gave up on is not read twice.
  if (result.redactions === 0 && result.value !== WITHHELD && !scannerGaveUp && spliceJson(body, EVERY_MEMBER_SEEN) !== null)
    return unchanged(body);
  return serialise(result);
}

/** The scanner without rules: null unless the text is valid JSON with plain member names, none repeated in an object. */
const EVERY_MEMBER_SEEN: SplicePlan = compileSplice([], REDACTED, MAX_RECURSION_DEPTH)!;

/** Whether `body` starts with `{` or `[`, after a UTF-8 byte order mark and JSON whitespace. */
export function startsLikeJson(body: Buffer): boolean {
  const bom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  for (let i = bom; i < body.length; i += 1) {
    const byte = body[i]!;
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b; // `{` or `[`
  }
  return false;
}

function parseJson(body: Buffer): ParsedJson {
  const text = body.toString('utf8');
  try {
    // A UTF-8 byte order mark is legal in the wild but not to JSON.parse.
    return { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as JSONValue, text };
  } catch {
    return NOT_JSON;
  }
}
