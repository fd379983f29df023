/**
 * Human-readable rendering of collected records for the terminal. No dependencies: plain ANSI
 * escape codes, switched off unless asked for.
 */

import { STATUS_CODES } from 'node:http';
import { REDACTED, type ApiRecord } from '../core/record.js';
import { checkRecord } from './check.js';

/** Options of `formatRecord()` and `formatInvalidMessage()`. */
export interface FormatOptions {
  /** Use ANSI colours and highlight `[CLIENT_REDACTED]`. Default `false`; see `shouldColor()`. */
  color?: boolean;
  /** Append wire-format problems found by `checkRecord()`. Default `true`. */
  check?: boolean;
}

/** How much of a body is shown; the rest is summarised as a count. */
export const MAX_BODY_DISPLAY_CHARS = 2048;
/** Bodies larger than this are not pretty-printed as JSON (parsing them only to cut them is waste). */
const MAX_PRETTY_JSON_BYTES = 256 * 1024;
const STACK_LINES = 6;

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  marker: '\x1b[1;30;43m', // bold black on yellow: a redaction must be impossible to miss
} as const;

// C0/C1 controls except tab. Captured traffic is untrusted: an escape sequence in a header or
// body must not be able to drive the developer's terminal, nor a newline forge a line of output.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
const BINARY_CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/;

/**
 * Whether output to `stream` should be coloured: a TTY, `NO_COLOR` unset or empty
 * (https://no-color.org), or `FORCE_COLOR` set to anything but `0`.
 *
 * @example
 * formatRecord(record, { color: shouldColor(process.stdout) });
 */
export function shouldColor(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0';
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/**
 * Renders one wire-format record as a readable multi-line block: request line, status, duration,
 * ids, both header sets, decoded bodies (pretty JSON, text, or `<N bytes binary>`, cut at about
 * 2 KB), errors, and any wire-format problems. Safe on malformed records.
 *
 * @example
 * console.log(formatRecord(collector.records()[0], { color: true }));
 */
export function formatRecord(record: ApiRecord, opts: FormatOptions = {}): string {
  const p = painter(opts.color === true);
  const r = record as unknown as Record<string, unknown>;
  const status = num(r.status_code);
  const statusText = status === undefined ? '?' : `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  const durationNs = num(r.duration);
  const out: string[] = [];

  out.push(
    `${p(ANSI.bold, '━━')} ${p(ANSI.bold, text(r.method) || '?')} ${p(ANSI.bold, text(r.url_path) || '(no route)')} ` +
      `→ ${p(statusColor(status), statusText)}  ` +
      `${durationNs === undefined ? '? ms' : `${(durationNs / 1e6).toFixed(2)} ms`}  ${p(ANSI.dim, text(r.timestamp))}`,
  );
  const field = (label: string, value: string): void => {
    if (value !== '') out.push(`   ${p(ANSI.dim, label.padEnd(10))}${value}`);
  };
  field('raw_url', text(r.raw_url));
  field('host', [text(r.host), protoVersion(r), text(r.sdk_type) && `sdk ${text(r.sdk_type)}`].filter(Boolean).join('   '));
  field('msg_id', text(r.msg_id));
  field('parent_id', r.parent_id === null || r.parent_id === undefined ? '' : text(r.parent_id));
  field('project', text(r.project_id));
  field('path', pairs(r.path_params));
  field('query', pairs(r.query_params));
  field('referer', text(r.referer));
  field('version', r.service_version === null || r.service_version === undefined ? '' : text(r.service_version));
  field('tags', Array.isArray(r.tags) ? r.tags.map(text).join(', ') : '');

  section(out, p, 'request headers', headerLines(r.request_headers));
  section(out, p, 'request body', bodyLines(r.request_body, p));
  section(out, p, 'response headers', headerLines(r.response_headers));
  section(out, p, 'response body', bodyLines(r.response_body, p));
  if (Array.isArray(r.errors) && r.errors.length > 0) {
    section(
      out,
      p,
      `errors (${r.errors.length})`,
      r.errors.flatMap((e) => errorLines(e, p)),
    );
  }
  if (opts.check !== false) {
    for (const problem of checkRecord(record)) out.push(`   ${p(ANSI.yellow, `⚠ wire format: ${clean(problem)}`)}`);
  }
  return out.map((line) => mark(p, line)).join('\n');
}

/**
 * Renders a Pub/Sub message whose data is not a wire-format record (not UTF-8 JSON of an object).
 *
 * @example
 * formatInvalidMessage({ data: Buffer.from('oops'), messageId: '7', topic: 't' }, 'not JSON');
 */
export function formatInvalidMessage(
  message: { data: Buffer; messageId: string; topic: string },
  reason: string,
  opts: FormatOptions = {},
): string {
  const p = painter(opts.color === true);
  return [
    `${p(ANSI.red, '✗ invalid message')} ${message.messageId} on ${clean(message.topic)}: ${clean(reason)}`,
    ...renderBody(message.data).map((line) => `      ${line}`),
  ].join('\n');
}

type Paint = (code: string, s: string) => string;

function painter(color: boolean): Paint {
  return color ? (code, s) => (s === '' ? s : `${code}${s}${ANSI.reset}`) : (_code, s) => s;
}

function mark(p: Paint, line: string): string {
  // Painting twice would nest codes; markers are painted once, on the finished line.
  return line.includes(REDACTED) && !line.includes(ANSI.marker) ? line.replaceAll(REDACTED, p(ANSI.marker, REDACTED)) : line;
}

function statusColor(status: number | undefined): string {
  if (status === undefined || status >= 500) return ANSI.red;
  if (status >= 400) return ANSI.yellow;
  if (status >= 300) return ANSI.cyan;
  return ANSI.green;
}

function section(out: string[], p: Paint, title: string, lines: string[]): void {
  if (lines.length === 0) return;
  out.push(`   ${p(ANSI.dim, title)}`);
  for (const line of lines) out.push(`      ${line}`);
}

function headerLines(headers: unknown): string[] {
  if (typeof headers !== 'object' || headers === null) return [];
  const lines: string[] = [];
  for (const [name, values] of Object.entries(headers)) {
    for (const value of Array.isArray(values) ? values : [values]) lines.push(`${clean(name)}: ${clean(text(value))}`);
  }
  return lines;
}

function bodyLines(body: unknown, p: Paint): string[] {
  if (body === '' || body === undefined || body === null) return [];
  if (typeof body !== 'string' || !isBase64(body)) return [p(ANSI.red, '<not base64>')];
  return renderBody(Buffer.from(body, 'base64'));
}

function renderBody(bytes: Buffer): string[] {
  if (bytes.length === 0) return ['<empty>'];
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return [`<${bytes.length} bytes binary>`];
  }
  if (BINARY_CONTROL.test(decoded)) return [`<${bytes.length} bytes binary>`];
  let shown = decoded;
  if (bytes.length <= MAX_PRETTY_JSON_BYTES) {
    try {
      shown = JSON.stringify(JSON.parse(decoded), null, 2);
    } catch {
      // Not JSON: show as text.
    }
  }
  let suffix = '';
  if (shown.length > MAX_BODY_DISPLAY_CHARS) {
    suffix = `… (${bytes.length} bytes, cut at ${MAX_BODY_DISPLAY_CHARS} characters)`;
    shown = shown.slice(0, MAX_BODY_DISPLAY_CHARS);
  }
  const lines = shown.replace(/\r\n/g, '\n').split('\n').map(clean);
  if (suffix) lines.push(suffix);
  return lines;
}

function errorLines(error: unknown, p: Paint): string[] {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const lines = [p(ANSI.red, `${clean(text(e.error_type))}: ${clean(text(e.message))}`)];
  if (e.root_error_type !== e.error_type || e.root_error_message !== e.message) {
    lines.push(`  caused by ${clean(text(e.root_error_type))}: ${clean(text(e.root_error_message))}`);
  }
  const stack = (typeof e.stack_trace === 'string' ? e.stack_trace : '')
    .split('\n')
    .slice(1, 1 + STACK_LINES)
    .map((l) => `  ${clean(l.trim())}`);
  return [...lines, ...stack.map((l) => p(ANSI.dim, l))];
}

function protoVersion(r: Record<string, unknown>): string {
  const major = num(r.proto_major);
  const minor = num(r.proto_minor);
  return major === undefined ? '' : `HTTP/${major}.${minor ?? 0}`;
}

function pairs(map: unknown): string {
  if (typeof map !== 'object' || map === null) return '';
  return Object.entries(map)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${clean(k)}=${clean(text(one))}`))
    .join('  ');
}

function text(v: unknown): string {
  if (typeof v === 'string') return clean(v);
  if (v === undefined || v === null) return '';
  return clean(typeof v === 'object' ? JSON.stringify(v) : String(v));
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function clean(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function isBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}
