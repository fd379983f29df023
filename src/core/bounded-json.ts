/**
 * `JSON.stringify` that stops once it has written more than a given length: a body parser's 50 MB
 * object is not serialised whole to keep its first MiB. Below the limit the text is exactly
 * `JSON.stringify(value)` (toJSON, boxed primitives, skipped and nulled members included; a property
 * test compares them), and a cut text is a prefix of it.
 */

/** The JSON text of `value`, or its first `max` characters or more, `cut`, when it is longer; undefined when JSON.stringify would throw or give undefined. */
export function boundedJson(value: unknown, max: number): { text: string; cut: boolean } | undefined {
  const writer = new Writer(max);
  try {
    const root = resolve('', value);
    if (skipped(root)) return undefined;
    writer.value(root, 0);
  } catch (error) {
    if (error === FULL) return { text: writer.parts.join(''), cut: true };
    return undefined; // a cycle, a BigInt, a throwing toJSON: as JSON.stringify would throw
  }
  return { text: writer.parts.join(''), cut: false };
}

// Thrown (and caught above) once the text is long enough, from however deep.
const FULL: unique symbol = Symbol('full');
// Past this nesting the text is cut, as the redactor would not evaluate it anyway.
const MAX_DEPTH = 1000;

/** A member's value as JSON.stringify sees it: after its toJSON, unboxed. */
function resolve(key: string, given: unknown): unknown {
  let value = given;
  if ((typeof value === 'object' && value !== null) || typeof value === 'bigint') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') value = toJSON.call(value, key);
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf();
  return value;
}

/** What JSON.stringify leaves out of an object (and writes as null in an array). */
function skipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

class Writer {
  readonly parts: string[] = [];
  readonly max: number;
  length = 0;
  readonly stack = new Set<object>();

  constructor(max: number) {
    this.max = max;
  }

  write(text: string): void {
    this.parts.push(text);
    this.length += text.length;
    if (this.length > this.max) throw FULL;
  }

  /** Writes a resolved value that is not skipped. */
  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
      case 'number':
      case 'boolean':
        this.write(JSON.stringify(value));
        return;
      case 'bigint':
        throw new TypeError('Do not know how to serialize a BigInt');
      default:
        if (value === null) {
          this.write('null');
          return;
        }
        if (depth >= MAX_DEPTH) throw FULL;
        if (this.stack.has(value as object)) throw new TypeError('Converting circular structure to JSON');
        this.stack.add(value as object);
        if (Array.isArray(value)) this.array(value, depth);
        else this.object(value as object, depth);
        this.stack.delete(value as object);
    }
  }

  array(value: unknown[], depth: number): void {
    this.write('[');
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) this.write(',');
      const item = resolve(String(i), value[i]);
      if (skipped(item)) this.write('null');
      else this.value(item, depth + 1);
    }
    this.write(']');
  }

  object(value: object, depth: number): void {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(value);
    // A record of strings, numbers, booleans and nulls that fits (the common element of a large
    // array): written by JSON.stringify at once, which gives the same text.
    let size = 2;
    for (const key of keys) {
      const item = record[key];
      if (typeof item === 'string') size += item.length + key.length + 8;
      else if (typeof item === 'number' || typeof item === 'boolean' || item === null) size += key.length + 28;
      else {
        size = Infinity;
        break;
      }
    }
    if (this.length + size <= this.max) {
      this.write(JSON.stringify(value));
      return;
    }
    this.write('{');
    let first = true;
    for (const key of keys) {
      const item = resolve(key, record[key]);
      if (skipped(item)) continue;
      this.write(`${first ? '' : ','}${JSON.stringify(key)}:`);
      first = false;
      this.value(item, depth + 1);
    }
    this.write('}');
  }
}
