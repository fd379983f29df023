/**
 * Byte-level redaction of JSON bodies for the two rule shapes users write most (`$.a.b` and `$..a`):
 * one strict, validating pass over the body's bytes finds the spans of the values the rules select,
 * and the output is the input with each outermost selected span replaced by the marker as a JSON
 * string. No string is decoded, no object is built, nothing is re-serialised: whitespace, number
 * spellings and string escapes stay as sent.
 *
 * The scanner gives up (returns null, and the caller evaluates the parsed body) on anything it is
 * not sure of: text JSON.parse would reject, a member name written with a `\` escape or a byte
 * >= 0x80, nesting as deep as the caller's limit, and any object with two members of the same name
 * (JSON.parse keeps the last one and drops the others, which a splice cannot do; an earlier
 * duplicate left in the bytes could carry a secret). Two different names whose hashes collide count
 * as a duplicate too: giving up is always safe, it only costs the slow path.
 */

/** A rule the splice can apply: a member chain from the root (`$.a.b`) or a descendant name (`$..a`). */
export type SpliceRule =
  | { readonly kind: 'members'; readonly names: readonly string[] }
  | { readonly kind: 'descendant'; readonly name: string };

/** A compiled rule list for {@link spliceJson}; build it once with {@link compileSplice}. */
export interface SplicePlan {
  readonly rules: readonly SpliceRule[];
  /** Bit i set: rule i is a descendant rule. */
  readonly descendantBits: number;
  /** The member-chain rules alive at the root object: all whose names a plain key can spell. */
  readonly rootBits: number;
  /** The names the rules use that a key may spell as plain ASCII, their bytes and hashes. */
  readonly names: readonly Uint8Array[];
  readonly hashes: readonly number[];
  /** Per name: the descendant rules naming it. */
  readonly descendantBitsOf: readonly number[];
  /** Per name, per level (0: members of the root object): the member-chain rules naming it there. */
  readonly membersBitsOf: readonly (readonly number[])[];
  /** Per level: the member-chain rules whose last name is at that level. */
  readonly lastBitsAt: readonly number[];
  /** A value this many levels down (the root is level 1) makes the scanner give up. */
  readonly maxDepth: number;
  /** The bytes that replace a selected value: the marker as a JSON string. */
  readonly marker: Uint8Array;
  /** The marker's text, to recognise a value that already holds it. */
  readonly markerText: string;
}

/** The outcome of {@link spliceJson} when it did not give up. */
export interface SpliceResult {
  /** The spliced body; the input itself when nothing was replaced. */
  readonly body: Buffer;
  /** Values replaced by the marker, counted as the parse-and-walk path counts them. */
  readonly redactions: number;
  /** Per rule, in plan order: the values it selected, counted as the parse-and-walk path counts them. */
  readonly matches: readonly number[];
}

// Rules are tracked as bits of a small integer.
const MAX_RULES = 30;

/**
 * Compiles `rules` for {@link spliceJson}, or returns null when there are more than 30 of them (the
 * caller then keeps its general path). With no rules, {@link spliceJson} only checks the text (and
 * gives up, as ever, on anything it is not sure of, a repeated member name included). `marker` is the replacement text (it is written as a JSON
 * string, and must not need escapes); `maxDepth` the nesting at which the scanner gives up.
 *
 * @example
 * const plan = compileSplice([{ kind: 'descendant', name: 'secret' }], '[CLIENT_REDACTED]', 1024)!;
 * spliceJson(Buffer.from('{"secret": 1}'), plan)!.body.toString(); // '{"secret": "[CLIENT_REDACTED]"}'
 */
export function compileSplice(rules: readonly SpliceRule[], marker: string, maxDepth: number): SplicePlan | null {
  if (rules.length > MAX_RULES) return null;
  const names: string[] = [];
  const indexOf = (name: string): number => {
    let i = names.indexOf(name);
    if (i === -1) i = names.push(name) - 1;
    return i;
  };
  const levels = Math.max(0, ...rules.map((rule) => (rule.kind === 'members' ? rule.names.length : 0)));
  const descendantBitsOf: number[] = [];
  const membersBitsOf: number[][] = [];
  const lastBitsAt = new Array<number>(levels).fill(0);
  let descendantBits = 0;
  let rootBits = 0;
  const ensure = (i: number): void => {
    while (descendantBitsOf.length <= i) {
      descendantBitsOf.push(0);
      membersBitsOf.push(new Array<number>(levels).fill(0));
    }
  };
  rules.forEach((rule, r) => {
    const bit = 1 << r;
    if (rule.kind === 'descendant') {
      descendantBits |= bit;
      if (!plainKey(rule.name)) return; // no key the scanner accepts can spell it
      const i = indexOf(rule.name);
      ensure(i);
      descendantBitsOf[i]! |= bit;
      return;
    }
    if (!rule.names.every(plainKey)) return; // can never match: leave it out of the root bits too
    rootBits |= bit;
    lastBitsAt[rule.names.length - 1]! |= bit;
    rule.names.forEach((name, level) => {
      const i = indexOf(name);
      ensure(i);
      membersBitsOf[i]![level]! |= bit;
    });
  });
  const bytes = names.map((name) => Buffer.from(name, 'latin1'));
  return Object.freeze({
    rules,
    descendantBits,
    rootBits,
    maxDepth,
    names: bytes,
    hashes: bytes.map((b) => hashOf(b, 0, b.length)),
    descendantBitsOf,
    membersBitsOf,
    lastBitsAt,
    marker: Buffer.from(JSON.stringify(marker), 'latin1'),
    markerText: marker,
  });
}

/** A name a key the scanner accepts can spell: printable ASCII other than `"` and `\` (no escape needed). */
function plainKey(name: string): boolean {
  return /^[\x20-\x21\x23-\x5b\x5d-\x7f]*$/.test(name);
}

function hashOf(bytes: Uint8Array, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i += 1) h = (Math.imul(h, 31) + bytes[i]!) | 0;
  return h;
}

/**
 * Applies `plan` to the JSON text in `body` (a leading UTF-8 byte order mark is allowed, as the
 * general path allows it). Returns null when the scanner gives up (see the file comment): the
 * caller must then take its general path (parse and walk). Selections and counts
 * are those of the general path: every rule selects its values in the body as received, a rule
 * counts every value it selects (one inside another selected value too), and the outermost
 * selected values are replaced, each counted once, unless they already hold the marker.
 *
 * @example
 * const plan = compileSplice([{ kind: 'members', names: ['a', 'b'] }], '[CLIENT_REDACTED]', 1024)!;
 * spliceJson(Buffer.from('{"a":{"b":[1, 2]}}'), plan); // body '{"a":{"b":"[CLIENT_REDACTED]"}}', redactions 1, matches [1]
 * spliceJson(Buffer.from('{"a":1,"a":2}'), plan);      // null (duplicate name)
 */
export function spliceJson(body: Buffer, plan: SplicePlan): SpliceResult | null {
  const scan = new Scanner(body, plan);
  if (!scan.document()) return null;
  return apply(body, plan, scan);
}

// Returned by the scanner's methods instead of a position when it gives up.
const FAIL = -1;

/**
 * One pass over the bytes. Every value that some rule may select is an entry (where it starts and
 * ends, which rules select it, whether it already holds the marker), in document order; the
 * methods return the index just past what they read, or FAIL.
 */
class Scanner {
  readonly b: Buffer;
  readonly n: number;
  readonly plan: SplicePlan;
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly bits: number[] = [];
  readonly markers: boolean[] = [];
  /** Hashes of the member names of the objects being read, innermost last, up to `top`. */
  readonly keys: number[] = [];
  top = 0;
  /** Where the JSON text starts: 3 after a byte order mark. */
  textStart = 0;
  /** Whether the string read last held a `\` escape. */
  escaped = false;
  /** Where the next backslash is, once a long string looked for it (`n`: none left). */
  backslash = -1;
  /** The body as 32-bit words, for {@link plainRun}; made on the first long string. */
  view: DataView | undefined = undefined;

  constructor(body: Buffer, plan: SplicePlan) {
    this.b = body;
    this.n = body.length;
    this.plan = plan;
  }

  document(): boolean {
    const b = this.b;
    // The byte order mark the general path strips before JSON.parse.
    this.textStart = this.n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    const end = this.value(this.space(this.textStart), 1, this.plan.rootBits);
    return end !== FAIL && this.space(end) === this.n;
  }

  space(i: number): number {
    const b = this.b;
    const n = this.n;
    while (i < n) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i += 1;
    }
    return i;
  }

  /** The value at `i` (whitespace already skipped), `depth` levels down; `chain`: member-chain rules alive here. */
  value(i: number, depth: number, chain: number): number {
    if (i >= this.n || depth >= this.plan.maxDepth) return FAIL;
    switch (this.b[i]) {
      case 0x7b:
        return this.object(i, depth, chain); // {
      case 0x5b:
        return this.array(i, depth); // [
      case 0x22:
        return this.string(i); // "
      case 0x74:
        return this.word(i, TRUE);
      case 0x66:
        return this.word(i, FALSE);
      case 0x6e:
        return this.word(i, NULL);
      default:
        return this.number(i);
    }
  }

  object(i: number, depth: number, chain: number): number {
    const b = this.b;
    const n = this.n;
    const plan = this.plan;
    const keys = this.keys;
    const first = this.top;
    i = this.space(i + 1);
    if (b[i] === 0x7d) return i + 1; // }
    const level = depth - 1;
    const alive = level < plan.lastBitsAt.length ? chain : 0;
    for (;;) {
      if (i >= n || b[i] !== 0x22) return FAIL;
      // The name: plain ASCII without escapes, hashed as it is read.
      const keyStart = i + 1;
      let j = keyStart;
      let h = 0;
      for (;;) {
        if (j >= n) return FAIL;
        const c = b[j]!;
        if (c === 0x22) break;
        if (c < 0x20 || c >= 0x80 || c === 0x5c) return FAIL;
        h = (Math.imul(h, 31) + c) | 0;
        j += 1;
      }
      keys[this.top] = h;
      this.top += 1;
      i = this.space(j + 1);
      if (i >= n || b[i] !== 0x3a) return FAIL; // :
      i = this.space(i + 1);
      // Which rules select this member's value, and which chains go on into it.
      let selected = 0;
      let next = 0;
      const name = this.nameAt(keyStart, j, h);
      if (name !== -1) {
        selected = plan.descendantBitsOf[name]!;
        if (alive !== 0) {
          const named = alive & plan.membersBitsOf[name]![level]!;
          const last = named & plan.lastBitsAt[level]!;
          selected |= last;
          next = named & ~last;
        }
      }
      if (selected !== 0) {
        const entry = this.starts.push(i) - 1;
        this.ends.push(0);
        this.bits.push(selected);
        this.markers.push(false);
        i = this.value(i, depth + 1, next);
        if (i === FAIL) return FAIL;
        this.ends[entry] = i;
        this.markers[entry] = this.holdsMarker(this.starts[entry]!, i);
      } else {
        i = this.value(i, depth + 1, next);
        if (i === FAIL) return FAIL;
      }
      i = this.space(i);
      if (i >= n) return FAIL;
      const c = b[i];
      if (c === 0x2c) {
        // ,
        i = this.space(i + 1);
        continue;
      }
      if (c !== 0x7d) return FAIL; // }
      if (hasDuplicate(keys, first, this.top)) return FAIL;
      this.top = first;
      return i + 1;
    }
  }

  array(i: number, depth: number): number {
    const b = this.b;
    i = this.space(i + 1);
    if (b[i] === 0x5d) return i + 1; // ]
    for (;;) {
      // Member chains go through objects only, never through array elements.
      i = this.value(i, depth + 1, 0);
      if (i === FAIL) return FAIL;
      i = this.space(i);
      if (i >= this.n) return FAIL;
      const c = b[i];
      if (c === 0x2c) {
        // ,
        i = this.space(i + 1);
        continue;
      }
      return c === 0x5d ? i + 1 : FAIL; // ]
    }
  }

  string(i: number): number {
    const b = this.b;
    const n = this.n;
    let j = i + 1;
    this.escaped = false;
    for (;;) {
      // Most strings are short: byte by byte up to SHORT_RUN bytes, then natively (this is most of
      // the scan: a 1 KB body is mostly one or two long strings).
      const stop = Math.min(j + SHORT_RUN, n);
      while (j < stop && SPECIAL[b[j]!] === 0) j += 1;
      if (j === stop && j < n) j = this.plainRun(j);
      if (j >= n) return FAIL;
      const c = b[j]!;
      if (c === 0x22) return j + 1;
      if (c === 0x5c) {
        this.escaped = true;
        const e = b[j + 1];
        if (e === 0x75) {
          // \uXXXX; a lone surrogate is fine for JSON.parse
          if (!isHex(b[j + 2]) || !isHex(b[j + 3]) || !isHex(b[j + 4]) || !isHex(b[j + 5])) return FAIL;
          j += 6;
        } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          j += 2;
        } else {
          return FAIL;
        }
        continue;
      }
      return FAIL; // a control character
    }
  }

  /**
   * From `j`, inside a string, the index of the first byte a string cannot hold as it is (a quote,
   * a backslash or a control character; `n` when there is none): the quote and the backslash are
   * found by `indexOf` (memchr), the control characters 8 bytes at a time.
   */
  plainRun(j: number): number {
    const b = this.b;
    let quote = b.indexOf(0x22, j);
    if (quote === -1) quote = this.n;
    if (this.backslash < j) {
      const k = b.indexOf(0x5c, j);
      this.backslash = k === -1 ? this.n : k;
    }
    const end = Math.min(quote, this.backslash);
    const view = (this.view ??= new DataView(b.buffer, b.byteOffset, b.byteLength));
    // A word holds a byte below 0x20 exactly when (x - 0x20202020) & ~x & 0x80808080 is not 0.
    while (j + 8 <= end) {
      const x = view.getInt32(j, true);
      const y = view.getInt32(j + 4, true);
      if ((((x - 0x20202020) & ~x) | ((y - 0x20202020) & ~y)) & 0x80808080) break;
      j += 8;
    }
    while (j < end && b[j]! >= 0x20) j += 1;
    return j;
  }

  number(i: number): number {
    const b = this.b;
    let j = i;
    if (b[j] === 0x2d) j += 1; // -
    if (b[j] === 0x30)
      j += 1; // a leading 0 stands alone
    else if (isNonZeroDigit(b[j])) j = this.digits(j + 1);
    else return FAIL;
    if (b[j] === 0x2e) {
      // .
      if (!isDigit(b[j + 1])) return FAIL;
      j = this.digits(j + 1);
    }
    if (b[j] === 0x65 || b[j] === 0x45) {
      // e E
      j += 1;
      if (b[j] === 0x2b || b[j] === 0x2d) j += 1; // + -
      if (!isDigit(b[j])) return FAIL;
      j = this.digits(j);
    }
    return j;
  }

  digits(j: number): number {
    while (isDigit(this.b[j])) j += 1;
    return j;
  }

  word(i: number, word: Uint8Array): number {
    const b = this.b;
    if (i + word.length > this.n) return FAIL;
    for (let k = 1; k < word.length; k += 1) if (b[i + k] !== word[k]) return FAIL;
    return i + word.length;
  }

  /** The index of the rule name spelled by the key bytes [start, end) of hash `h`, or -1. */
  nameAt(start: number, end: number, h: number): number {
    const hashes = this.plan.hashes;
    for (let k = 0; k < hashes.length; k += 1) {
      if (hashes[k] !== h) continue;
      const name = this.plan.names[k]!;
      if (name.length !== end - start) continue;
      let same = true;
      for (let m = 0; m < name.length && same; m += 1) same = this.b[start + m] === name[m];
      if (same) return k;
    }
    return -1;
  }

  /** Whether the value [start, end) is a string holding the marker, however it is spelled. */
  holdsMarker(start: number, end: number): boolean {
    const b = this.b;
    if (b[start] !== 0x22) return false;
    const marker = this.plan.marker;
    if (end - start === marker.length) {
      let same = true;
      for (let k = 1; k < marker.length - 1 && same; k += 1) same = b[start + k] === marker[k];
      if (same) return true;
    }
    // Spelled with escapes (at most 6 bytes per character): decode, it is short. `escaped` is
    // still about this string: the value was read last.
    if (!this.escaped || end - start > marker.length * 6) return false;
    return JSON.parse(b.toString('latin1', start, end)) === this.plan.markerText;
  }
}

// Bytes of a string read one at a time before plainRun() takes over with native searches.
const SHORT_RUN = 16;

/**
 * The bytes a string cannot hold as they are: `"`, `\` and control characters. Bytes >= 0x80 need
 * no check: JSON.parse reads the decoded text, in which an invalid sequence is U+FFFD, and a quote
 * or backslash byte is never part of a sequence.
 */
const SPECIAL = new Uint8Array(256);
SPECIAL.fill(1, 0, 0x20);
SPECIAL[0x22] = 1;
SPECIAL[0x5c] = 1;

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isNonZeroDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x31 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** Whether two of the name hashes in [first, end) are equal (then the scanner gives up). */
function hasDuplicate(keys: readonly number[], first: number, end: number): boolean {
  const count = end - first;
  if (count < 2) return false;
  if (count <= 16) {
    for (let x = first + 1; x < end; x += 1) {
      const h = keys[x];
      for (let y = first; y < x; y += 1) if (keys[y] === h) return true;
    }
    return false;
  }
  const seen = new Set<number>();
  for (let x = first; x < end; x += 1) {
    if (seen.has(keys[x]!)) return true;
    seen.add(keys[x]!);
  }
  return false;
}

/**
 * Every entry is a value some rule selects in the body as received; the outermost ones are
 * replaced (the others go with them), unless they already hold the marker. Entries are in document
 * order and their spans nest like the values they are, so "inside a selected value" is the top of
 * a stack of open spans.
 */
function apply(body: Buffer, plan: SplicePlan, scan: Scanner): SpliceResult {
  const { starts, ends, bits, markers } = scan;
  const count = starts.length;
  const matches: number[] = [];
  for (let r = 0; r < plan.rules.length; r += 1) matches.push(0);
  // 1: replaced; 0: kept (inside a replaced value, or holding the marker already).
  const replaced: number[] = [];
  let redactions = 0;
  const open: number[] = []; // ends of the selected spans around the current entry
  for (let e = 0; e < count; e += 1) {
    const start = starts[e]!;
    while (open.length > 0 && open[open.length - 1]! <= start) open.pop();
    for (let b = bits[e]!; b !== 0; b &= b - 1) matches[31 - Math.clz32(b & -b)]! += 1;
    const replace = open.length === 0 && !markers[e];
    replaced.push(replace ? 1 : 0);
    if (replace) redactions += 1;
    open.push(ends[e]!);
  }
  if (redactions === 0) return { body, redactions, matches };
  // A changed body loses its byte order mark, as a re-serialised one did.
  const text = scan.textStart === 0 ? body : body.subarray(scan.textStart);
  const shift = scan.textStart;
  for (let e = 0; e < count && shift !== 0; e += 1) {
    starts[e]! -= shift;
    ends[e]! -= shift;
  }
  return { body: spliced(text, plan.marker, starts, ends, replaced), redactions, matches };
}

/** `body` with each outermost replaced span written as `marker`. */
function spliced(
  body: Buffer,
  marker: Uint8Array,
  starts: readonly number[],
  ends: readonly number[],
  replaced: readonly number[],
): Buffer {
  let size = body.length;
  let covered = 0;
  for (let e = 0; e < starts.length; e += 1) {
    if (replaced[e] === 0 || starts[e]! < covered) continue;
    size += marker.length - (ends[e]! - starts[e]!);
    covered = ends[e]!;
  }
  const out = Buffer.allocUnsafe(size);
  let from = 0;
  let to = 0;
  covered = 0;
  for (let e = 0; e < starts.length; e += 1) {
    if (replaced[e] === 0 || starts[e]! < covered) continue;
    to += body.copy(out, to, from, starts[e]);
    out.set(marker, to);
    to += marker.length;
    from = ends[e]!;
    covered = from;
  }
  body.copy(out, to, from);
  return out;
}
