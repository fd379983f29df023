/**
 * Shape inference for the endpoint catalog: which field paths the bodies of an endpoint have, with
 * the JSON types seen at each and whether the SDK redacted them. Paths are written as the JSONPath
 * that `redactRequestBody` / `redactResponseBody` accept, so a field can be copied into a rule.
 */

import { REDACTED } from '../../core/record.js';
import type { BodyKind } from './body.js';
import { memberPath } from '../../leaks/paths.js';

/** The JSON types a value can have. */
export type JsonType = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

/** One field path of a shape. */
export interface ShapeField {
  /** JSONPath of the field: `$.user.name`, `$.items[*].id`, `$['content-type']`; `$` is the body itself. */
  path: string;
  /** Types seen here, in a stable order (a redacted value adds none: its type is hidden). */
  types: JsonType[];
  /** Bodies in which the path occurred. */
  seen: number;
  /** Bodies in which its value was `[CLIENT_REDACTED]`. */
  redacted: number;
}

/** The merged shape of several bodies. */
export interface BodyShape {
  /** Bodies observed. */
  bodies: number;
  /** How many bodies were of each kind (`json`, `form`, `empty`, `text`, `binary`). */
  kinds: Partial<Record<BodyKind, number>>;
  /** Field paths, sorted by path. */
  fields: ShapeField[];
  /** `true` when limits (depth, field count) cut the inference short. */
  truncated: boolean;
}

/** Limits that keep one odd body from costing more than the whole catalog. */
export const SHAPE_LIMITS = {
  /** Nesting depth below which fields are not listed. */
  maxDepth: 16,
  /** Distinct paths kept per shape. */
  maxFields: 300,
  /** Elements of each array looked at. */
  maxArrayItems: 100,
} as const;

const TYPE_ORDER: readonly JsonType[] = ['object', 'array', 'string', 'number', 'boolean', 'null'];

/** What one body contributes: path -> the types seen there and whether it was redacted. */
export type Observation = Map<string, { types: Set<JsonType>; redacted: boolean }>;

/**
 * The field paths of one parsed JSON value. `truncated` is set on the result when a limit applied.
 *
 * @example
 * [...observe({ user: { name: 'Ann', password: '[CLIENT_REDACTED]' } }).keys()];
 * // ['$', '$.user', '$.user.name', '$.user.password']
 */
export function observe(value: unknown): Observation & { truncated?: boolean } {
  const out: Observation & { truncated?: boolean } = new Map();
  walk(value, '$', 0, out);
  return out;
}

function walk(value: unknown, path: string, depth: number, out: Observation & { truncated?: boolean }): void {
  let slot = out.get(path);
  if (slot === undefined) {
    if (out.size >= SHAPE_LIMITS.maxFields) {
      out.truncated = true;
      return;
    }
    slot = { types: new Set(), redacted: false };
    out.set(path, slot);
  }
  if (value === REDACTED) {
    slot.redacted = true;
    return;
  }
  const type = jsonType(value);
  slot.types.add(type);
  if (type !== 'object' && type !== 'array') return;
  if (depth >= SHAPE_LIMITS.maxDepth) {
    out.truncated = true;
    return;
  }
  if (type === 'array') {
    const items = value as unknown[];
    if (items.length > SHAPE_LIMITS.maxArrayItems) out.truncated = true;
    for (const item of items.slice(0, SHAPE_LIMITS.maxArrayItems)) walk(item, `${path}[*]`, depth + 1, out);
    return;
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) walk(child, memberPath(path, key), depth + 1, out);
}

/** A shape that grows one body at a time; see {@link createShapeBuilder}. */
export interface ShapeBuilder {
  /** Adds one body: its kind, and for `json`/`form` bodies its parsed value's observation. */
  add(kind: BodyKind, observation?: Observation & { truncated?: boolean }): void;
  /** The merged shape so far. */
  result(): BodyShape;
}

/**
 * Merges the shapes of many bodies. A path seen with several types lists them all; a path whose
 * value was redacted counts it, and its original type stays unknown.
 *
 * @example
 * const shape = createShapeBuilder();
 * shape.add('json', observe({ id: 1 }));
 * shape.add('json', observe({ id: 'a1', extra: null }));
 * shape.result().fields; // [{ path: '$', ... }, { path: '$.extra', types: ['null'], seen: 1, ... }, { path: '$.id', types: ['string', 'number'], seen: 2, ... }]
 */
export function createShapeBuilder(): ShapeBuilder {
  const kinds: Partial<Record<BodyKind, number>> = {};
  const fields = new Map<string, { types: Set<JsonType>; seen: number; redacted: number }>();
  let bodies = 0;
  let truncated = false;
  return {
    add(kind: BodyKind, observation?: Observation & { truncated?: boolean }): void {
      bodies++;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      if (observation === undefined) return;
      if (observation.truncated === true) truncated = true;
      for (const [path, seen] of observation) {
        let field = fields.get(path);
        if (field === undefined) {
          if (fields.size >= SHAPE_LIMITS.maxFields) {
            truncated = true;
            continue;
          }
          field = { types: new Set(), seen: 0, redacted: 0 };
          fields.set(path, field);
        }
        field.seen++;
        if (seen.redacted) field.redacted++;
        for (const type of seen.types) field.types.add(type);
      }
    },
    result(): BodyShape {
      return {
        bodies,
        kinds: { ...kinds },
        fields: [...fields]
          .sort(([a], [b]) => comparePaths(a, b))
          .map(([path, field]) => ({
            path,
            types: TYPE_ORDER.filter((type) => field.types.has(type)),
            seen: field.seen,
            redacted: field.redacted,
          })),
        truncated,
      };
    },
  };
}

/**
 * Infers the merged shape of a list of parsed bodies in one call (the catalog builds it
 * incrementally instead).
 *
 * @example
 * inferShape([{ a: 1 }, { a: 'x', b: [true] }]).fields.map((f) => `${f.path}: ${f.types.join('|')}`);
 * // ['$: object', '$.a: string|number', '$.b: array', '$.b[*]: boolean']
 */
export function inferShape(values: readonly unknown[]): BodyShape {
  const builder = createShapeBuilder();
  for (const value of values) builder.add('json', observe(value));
  return builder.result();
}

/**
 * The JSON type of a parsed value (anything else JSON.parse cannot produce is reported as its nearest).
 *
 * @example
 * jsonType([1]); // 'array'
 */
export function jsonType(value: unknown): JsonType {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
    case 'bigint':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'object';
  }
}

/** Parents before children, then by name: `$.a`, `$.a.b`, `$.a[*]`, `$.b`. */
function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
