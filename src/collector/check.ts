/**
 * Wire-format checks for decoded records. The real backend silently drops what it can't use; the
 * collector names the problem instead, so SDK bugs show up locally.
 */

type FieldKind = 'string' | 'integer' | 'string|null' | 'strings' | 'string-map' | 'string-list-map' | 'errors';

/** Every field of the wire format (docs/wire-format.md §2) and its JSON shape. */
const FIELDS: Readonly<Record<string, FieldKind>> = {
  timestamp: 'string',
  duration: 'integer',
  project_id: 'string',
  sdk_type: 'string',
  method: 'string',
  host: 'string',
  url_path: 'string',
  raw_url: 'string',
  path_params: 'string-map',
  query_params: 'string-list-map',
  request_headers: 'string-list-map',
  response_headers: 'string-list-map',
  request_body: 'string',
  response_body: 'string',
  status_code: 'integer',
  proto_major: 'integer',
  proto_minor: 'integer',
  referer: 'string',
  errors: 'errors',
  service_version: 'string|null',
  tags: 'strings',
  msg_id: 'string',
  parent_id: 'string|null',
};

const ERROR_FIELDS = ['when', 'error_type', 'message', 'root_error_type', 'root_error_message', 'stack_trace'] as const;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');

function kindOk(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isSafeInteger(v);
    case 'string|null':
      return v === null || typeof v === 'string';
    case 'strings':
      return isStrings(v);
    case 'string-map':
      return isObject(v) && Object.values(v).every((s) => typeof s === 'string');
    case 'string-list-map':
      return isObject(v) && Object.values(v).every(isStrings);
    case 'errors':
      return Array.isArray(v) && v.every((e) => isObject(e) && ERROR_FIELDS.every((f) => typeof e[f] === 'string'));
  }
}

/**
 * Lists how a decoded message departs from the APIToolkit wire format; `[]` when it conforms.
 *
 * @example
 * checkRecord({ ...record, duration: 1.5 }); // ['duration: expected integer, got 1.5']
 */
export function checkRecord(value: unknown): string[] {
  if (!isObject(value)) return [`expected a JSON object, got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}`];
  const problems: string[] = [];
  const missing = Object.keys(FIELDS).filter((field) => !(field in value));
  const unknown = Object.keys(value).filter((field) => !(field in FIELDS));
  if (missing.length > 0) problems.push(`missing ${missing.length === 1 ? 'field' : 'fields'}: ${missing.join(', ')}`);
  if (unknown.length > 0) problems.push(`unknown ${unknown.length === 1 ? 'field' : 'fields'}: ${unknown.join(', ')}`);
  for (const [field, kind] of Object.entries(FIELDS)) {
    if (field in value && !kindOk(kind, value[field])) problems.push(`${field}: expected ${kind}, got ${short(value[field])}`);
  }
  if (problems.length > 0) return problems;
  // Shapes are right; now the values the backend parses.
  const r = value as Record<string, string | number | null>;
  if (!RFC3339.test(r.timestamp as string)) problems.push(`timestamp: not RFC 3339 with a zone: ${short(r.timestamp)}`);
  if (!UUID.test(r.msg_id as string)) problems.push(`msg_id: not a UUID: ${short(r.msg_id)}`);
  if (r.parent_id !== null && !UUID.test(r.parent_id as string)) problems.push(`parent_id: not a UUID: ${short(r.parent_id)}`);
  if ((r.duration as number) < 0) problems.push(`duration: negative: ${r.duration}`);
  if (r.method !== (r.method as string).toUpperCase()) problems.push(`method: not upper case: ${short(r.method)}`);
  for (const field of ['request_body', 'response_body'] as const) {
    if (!BASE64.test(r[field] as string)) problems.push(`${field}: not base64`);
  }
  return problems;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
