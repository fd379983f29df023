/**
 * `multipart/form-data` bodies: text fields kept and redacted by the same rules as a form, file
 * parts replaced by a placeholder, the body written back as multipart.
 */
import type { JSONValue } from 'json-p3';
import { setOwn } from '../own.js';
import { REDACTED } from '../record.js';
import { unchanged, withheld, WITHHELD, type BodyRedaction } from './body.js';
import type { FormFields } from './forms.js';
import type { Rule } from './rules.js';
import { redactValue } from './walk.js';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** One part of a multipart body, as found in the bytes. */
interface Part {
  /** The raw header block (without the blank line that ends it). */
  readonly head: Buffer;
  readonly content: Buffer;
  /** The body ended before this part did (cut at maxBodyBytes). */
  readonly incomplete: boolean;
  readonly name: string | undefined;
  /** Set for a file: what the placeholder says it was. */
  readonly fileType: string | undefined;
}

/**
 * `multipart/form-data`: text fields are kept (and redacted by the same JSONPath rules as a form,
 * as a JSON object of their values), while each file part's bytes become a placeholder naming its
 * content type and size, `[FILE image/png 12345 bytes]`. The body is written back as multipart with
 * the same boundary and part headers (preamble and epilogue dropped). A part cut at maxBodyBytes is
 * kept as far as it goes (a file's placeholder then says `(cut)`); a part without a name or whose
 * headers were cut is replaced whole.
 */
export function redactMultipart(body: Buffer, contentType: string, rules: readonly Rule[]): BodyRedaction {
  const boundary = boundaryOf(contentType);
  const parts = boundary === undefined ? undefined : multipartParts(body, boundary);
  // Not multipart at all (no boundary, or not one delimiter in the bytes): no form parser would
  // read fields or files from it either, so it is left as it is, like any other non-JSON body.
  if (boundary === undefined || parts === undefined) return unchanged(body);

  // Text values by field name, in order; a repeated name becomes an array, as in a form.
  const fields: FormFields = {};
  const texts: string[] = [];
  for (const part of parts) {
    if (part.fileType !== undefined || part.name === undefined) continue;
    const text = part.content.toString('utf8');
    texts.push(text);
    const previous = Object.hasOwn(fields, part.name) ? fields[part.name] : undefined;
    if (previous === undefined) setOwn(fields, part.name, text);
    else if (Array.isArray(previous)) previous.push(text);
    else setOwn(fields, part.name, [previous, text]);
  }
  let redacted: JSONValue = fields;
  let redactions = 0;
  if (rules.length > 0 && texts.length > 0) {
    const result = redactValue(fields, rules, undefined);
    if (result.value === WITHHELD) return withheld();
    redacted = result.value;
    redactions = result.redactions;
  }

  const seen = new Map<string, number>();
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const out: Buffer[] = [];
  for (const part of parts) {
    let content: Buffer;
    if (part.fileType !== undefined) {
      const size = `${part.content.length} bytes${part.incomplete ? ' (cut)' : ''}`;
      content = Buffer.from(`[FILE ${part.fileType} ${size}]`, 'utf8');
    } else if (part.name === undefined) {
      // A part that is not a form field (no name): nothing says what it holds, so keep nothing.
      content = Buffer.from(REDACTED, 'utf8');
    } else {
      const index = seen.get(part.name) ?? 0;
      seen.set(part.name, index + 1);
      content = Buffer.from(fieldValue(redacted, part.name, index) ?? REDACTED, 'utf8');
    }
    out.push(delimiter, CRLF);
    if (part.head.length > 0) out.push(part.head, CRLF);
    out.push(CRLF, content, CRLF);
  }
  out.push(delimiter, Buffer.from('--\r\n'));
  return { body: Buffer.concat(out), redactions, unparsable: false };
}

/** The text the rules left for the `index`-th field called `name`, or undefined when it was redacted away. */
function fieldValue(redacted: JSONValue, name: string, index: number): string | undefined {
  if (typeof redacted !== 'object' || redacted === null || Array.isArray(redacted) || !Object.hasOwn(redacted, name)) return undefined;
  const value = redacted[name];
  const item = Array.isArray(value) ? value[index] : index === 0 ? value : undefined;
  // A whole list replaced by the marker redacts every part of that name.
  if (!Array.isArray(value) && value === REDACTED) return REDACTED;
  return typeof item === 'string' ? item : undefined;
}

/** The `boundary` parameter of a multipart content type (RFC 2046: 1-70 characters). */
function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return match === null ? undefined : (match[1] ?? match[2]);
}

/**
 * Splits a multipart body into its parts (RFC 2046 §5.1.1; preamble and epilogue are dropped).
 * Returns undefined when not even the first delimiter is there. A body cut short yields its last
 * part as `incomplete`.
 */
function multipartParts(body: Buffer, boundary: string): Part[] | undefined {
  const first = Buffer.from(`--${boundary}`, 'latin1');
  const next = Buffer.from(`\r\n--${boundary}`, 'latin1');
  let at = body.subarray(0, first.length).equals(first) ? 0 : body.indexOf(next);
  if (at === -1) return undefined;
  if (at > 0) at += 2; // past the CRLF that belongs to the delimiter
  const parts: Part[] = [];
  for (;;) {
    let cursor = at + first.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) break; // "--": the close delimiter
    // The rest of the delimiter line (transport padding) up to its CRLF.
    const lineEnd = body.indexOf(CRLF, cursor);
    if (lineEnd === -1) break; // cut inside a delimiter line: no part follows
    cursor = lineEnd + 2;
    const headEnd = body.indexOf(HEADER_END, cursor - 2);
    const end = body.indexOf(next, cursor);
    if (headEnd === -1 || (end !== -1 && headEnd > end)) {
      // Cut inside the headers (or a part with none): what there is says nothing safe to keep.
      const head = body.subarray(cursor, end === -1 ? body.length : end);
      parts.push({ head: Buffer.alloc(0), content: head, incomplete: end === -1, name: undefined, fileType: 'application/octet-stream' });
      if (end === -1) break;
      at = end + 2;
      continue;
    }
    const head = headEnd < cursor ? Buffer.alloc(0) : body.subarray(cursor, headEnd);
    const contentStart = headEnd + 4;
    const content = body.subarray(contentStart, end === -1 ? body.length : end);
    parts.push({ head, content, incomplete: end === -1, ...describePart(head.toString('utf8')) });
    if (end === -1) break;
    at = end + 2;
  }
  return parts;
}

/** The field name of a part and, when it is a file, its type. */
function describePart(head: string): { name: string | undefined; fileType: string | undefined } {
  let disposition = '';
  let type: string | undefined;
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-disposition') disposition = value;
    else if (key === 'content-type') type = value;
  }
  const params = new Map<string, string>();
  for (const m of disposition.matchAll(/;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim());
  }
  const mediaType = type?.split(';')[0]!.trim().toLowerCase();
  // A file: it says so (filename), or it carries something other than text (RFC 7578 §4.4: text/plain is the default).
  const isFile = params.has('filename') || params.has('filename*') || (mediaType !== undefined && mediaType !== '' && mediaType !== 'text/plain');
  const fileType = isFile ? (type === undefined || type === '' ? 'application/octet-stream' : type.replace(/[\s\]]+/g, ' ').trim()) : undefined;
  return { name: params.get('name'), fileType };
}
