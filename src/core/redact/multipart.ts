/**
 * `multipart/form-data` bodies: text fields kept and redacted as form fields are (forms.ts), file
 * parts replaced by a placeholder, the body written back as multipart.
 */
import { REDACTED } from '../record.js';
import { unchanged, withheld, WITHHELD, type BodyRedaction } from './body.js';
import { formView, selectInForm, type Field } from './forms.js';
import type { RuleSet } from './rules.js';

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
 * `multipart/form-data`: text fields are kept (and redacted by the same JSONPath rules as a form's
 * fields), while each file part's bytes become a placeholder naming its content type and size,
 * `[FILE image/png 12345 bytes]`. The body is written back as multipart with the same boundary and
 * part headers (preamble and epilogue dropped). A part cut at maxBodyBytes is kept as far as it goes
 * (a file's placeholder then says `(cut)`); a part without a name or whose headers were cut is
 * replaced whole. A body whose boundary cannot be read from its content type, or in which not one
 * delimiter is found, is withheld when rules apply (a parser may still have read something from it).
 */
export function redactMultipart(body: Buffer, contentType: string, rules: RuleSet): BodyRedaction {
  const boundary = boundaryOf(contentType);
  const parts = boundary === undefined ? undefined : multipartParts(body, boundary);
  if (boundary === undefined || parts === undefined) return rules.rules.length > 0 ? withheld() : unchanged(body);

  const fields: Field[] = [];
  const fieldOf = new Map<Part, number>();
  for (const part of parts) {
    if (part.fileType !== undefined || part.name === undefined) continue;
    fieldOf.set(part, fields.length);
    fields.push({ key: part.name, value: part.content.toString('utf8') });
  }
  const selection = selectInForm(formView(fields), rules);
  if (selection === WITHHELD) return withheld();

  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const out: Buffer[] = [];
  for (const part of parts) {
    let content: Buffer;
    const field = fieldOf.get(part);
    if (part.fileType !== undefined) {
      const size = `${part.content.length} bytes${part.incomplete ? ' (cut)' : ''}`;
      content = Buffer.from(`[FILE ${part.fileType} ${size}]`, 'utf8');
    } else if (field === undefined) {
      // A part that is not a form field (no name): nothing says what it holds, so keep nothing.
      content = Buffer.from(REDACTED, 'utf8');
    } else {
      content = selection.hidden[field] ? Buffer.from(REDACTED, 'utf8') : part.content;
    }
    out.push(delimiter, CRLF);
    if (part.head.length > 0) out.push(part.head, CRLF);
    out.push(CRLF, content, CRLF);
  }
  out.push(delimiter, Buffer.from('--\r\n'));
  return { body: Buffer.concat(out), redactions: selection.redactions, unparsable: false };
}

/**
 * The `boundary` parameter of a multipart content type, read as busboy (multer's parser) reads
 * it: `type/subtype`, then `; name=value` parameters, each value a token or a quoted string with
 * `\` escapes, the first of a name winning; any length. Undefined when there is none, or the
 * parameters are malformed (busboy refuses those bodies).
 */
export function boundaryOf(contentType: string): string | undefined {
  const type = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(contentType);
  if (type === null) return undefined;
  const param = /[ \t]*;[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=(?:"((?:[^"\\]|\\[\s\S])*)"|([!#$%&'*+\-.^_`|~0-9A-Za-z]+))/y;
  let at = type[0].length;
  let boundary: string | undefined;
  while (at < contentType.length) {
    param.lastIndex = at;
    const m = param.exec(contentType);
    if (m === null) {
      if (!/^[ \t]*$/.test(contentType.slice(at))) return undefined;
      break;
    }
    if (m[1]!.toLowerCase() === 'boundary' && boundary === undefined)
      boundary = m[2] !== undefined ? m[2].replace(/\\([\s\S])/g, '$1') : m[3];
    at = param.lastIndex;
  }
  return boundary === '' ? undefined : boundary;
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
  let disposition: string | undefined;
  let type: string | undefined;
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // The first of each header and of each parameter counts, as busboy reads them.
    if (key === 'content-disposition') disposition ??= value;
    else if (key === 'content-type') type ??= value;
  }
  const params = new Map<string, string>();
  for (const m of (disposition ?? '').matchAll(/;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
    const param = m[1]!.toLowerCase();
    if (!params.has(param)) params.set(param, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim());
  }
  const mediaType = type === undefined ? undefined : type.split(';')[0]!.trim().toLowerCase();
  // A file: it says so (filename), or it carries something other than text (RFC 7578 §4.4: text/plain is the default).
  const isFile =
    params.has('filename') || params.has('filename*') || (mediaType !== undefined && mediaType !== '' && mediaType !== 'text/plain');
  const fileType = isFile
    ? type === undefined || type === ''
      ? 'application/octet-stream'
      : type.replace(/[\s\]]+/g, ' ').trim()
    : undefined;
  return { name: params.get('name'), fileType };
}
