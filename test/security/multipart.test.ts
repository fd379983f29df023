/**
 * Multipart bodies are read as busboy (multer's parser) reads them: the boundary from the content
 * type (quoted, escaped, any length), the first Content-Disposition and the first of each of its
 * parameters. A field busboy would give the app under a name is redacted under that name; what
 * the SDK cannot read is withheld. Compared with busboy itself over generated bodies.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REDACTED } from '../../src/core/record.js';
import { compileRedactor } from '../../src/core/redact/index.js';
import { boundaryOf } from '../../src/core/redact/multipart.js';

const require = createRequire(import.meta.url);
const Busboy = require('busboy') as typeof import('busboy');
const busboyUtils = require('busboy/lib/utils.js') as { parseContentType(s: string): { params: Record<string, string> } | undefined };

const RUNS = Number(process.env.MULTIPART_RUNS ?? 1_000);
const MARKER = JSON.stringify(REDACTED);

/** The fields busboy reads from a body: [name, value] in order. */
function busboyFields(body: Buffer, contentType: string): Promise<[string, string][]> {
  return new Promise((resolve) => {
    const fields: [string, string][] = [];
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({ headers: { 'content-type': contentType } });
    } catch {
      resolve(fields);
      return;
    }
    parser.on('field', (name, value) => fields.push([name, value]));
    parser.on('file', (_name, stream) => stream.resume());
    parser.on('close', () => resolve(fields));
    parser.on('error', () => resolve(fields));
    parser.end(body);
  });
}

describe('multipart boundaries', () => {
  it('a quoted boundary of 71 characters or more is read (busboy reads it), and the fields are redacted', () => {
    for (const length of [70, 71, 80, 200]) {
      const boundary = `=_${'b'.repeat(length - 5)} :?`;
      assert.equal(boundary.length, length);
      const body = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\nS3CR3T\r\n--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nann\r\n--${boundary}--\r\n`,
      );
      const out = compileRedactor({ redactRequestBody: ['$.password'] })
        .requestBody(body, `multipart/form-data; boundary="${boundary}"`)
        .body.toString();
      assert.ok(!out.includes('S3CR3T'), `${length}: ${out}`);
      assert.ok(out.includes(`\r\n\r\n${REDACTED}\r\n`) && out.includes('\r\n\r\nann\r\n'));
    }
  });

  const tokenChars = fc.constantFrom(...'abcXYZ019-_.!#$&+^`|~'.split(''));
  const quotedChars = fc.constantFrom(...'ab =:;,?"\\\t()'.split(''));
  const paramArb = fc.tuple(
    fc.constantFrom('boundary', 'BOUNDARY', 'charset', 'b'),
    fc.oneof(
      fc.string({ unit: tokenChars, minLength: 1, maxLength: 90 }).map((v) => v),
      fc.string({ unit: quotedChars, maxLength: 90 }).map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`),
    ),
    fc.constantFrom('; ', ';', ' ; ', ';\t', '; ', ' '),
  );
  it(`${RUNS} content types: the boundary busboy reads, or none where busboy reads none`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom('multipart/form-data', 'Multipart/Form-Data', 'multipart/form-data '),
        fc.array(paramArb, { maxLength: 3 }),
        fc.constantFrom('', ' ', ';', 'x'),
        (type, params, tail) => {
          const contentType = `${type}${params.map(([name, value, sep]) => `${sep}${name}=${value}`).join('')}${tail}`;
          const theirs = busboyUtils.parseContentType(contentType)?.params.boundary;
          const ours = boundaryOf(contentType);
          // Where busboy reads one the SDK reads the same; the SDK reads none where busboy would read an empty one.
          if (theirs === undefined || theirs === '') assert.equal(ours, undefined, contentType);
          else assert.equal(ours, theirs, contentType);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('multipart parts as busboy reads them', () => {
  const redactor = compileRedactor({ redactRequestBody: ['$.password'] });
  const type = 'multipart/form-data; boundary=XyZ';
  const part = (head: string, value: string): string => `--XyZ\r\n${head}\r\n\r\n${value}\r\n`;

  it('the first Content-Disposition and the first name parameter name the field', async () => {
    const bodies = [
      part('Content-Disposition: form-data; name="password"; name="public"', 'S3CR3T'),
      part('Content-Disposition: form-data; name="password"\r\nContent-Disposition: form-data; name="public"', 'S3CR3T'),
      part('content-disposition: form-data; NAME=password', 'S3CR3T'),
    ];
    for (const text of bodies) {
      const body = Buffer.from(`${text}--XyZ--\r\n`);
      assert.deepEqual(await busboyFields(body, type), [['password', 'S3CR3T']], 'busboy reads it as password');
      const out = redactor.requestBody(body, type).body.toString();
      assert.ok(!out.includes('S3CR3T'), out);
    }
  });

  it('a part without a name it can read is withheld whole (folded headers, name*)', () => {
    for (const head of ['Content-Disposition: form-data;\r\n name="password"', "Content-Disposition: form-data; name*=UTF-8''password"]) {
      const out = redactor.requestBody(Buffer.from(`${part(head, 'S3CR3T')}--XyZ--\r\n`), type).body.toString();
      assert.ok(!out.includes('S3CR3T'), out);
    }
  });

  it('a multipart body with no boundary or no delimiter is withheld under rules', () => {
    const body = Buffer.from('password=S3CR3T');
    for (const t of [
      'multipart/form-data',
      'multipart/form-data; boundary=nope',
      'multipart/form-data; boundary=""',
      'multipart/form-data; boundary="x',
    ]) {
      assert.equal(redactor.requestBody(body, t).body.toString(), MARKER, t);
    }
  });

  const nameArb = fc.oneof(
    fc.constantFrom('password', 'user', 'a[b]', 'password[]', 'x'),
    fc.string({ maxLength: 6, unit: fc.constantFrom('p', 'a', 's', '"', '\\', ';', '=', ' ') }),
  );
  const headArb = fc
    .tuple(nameArb, nameArb, fc.boolean(), fc.boolean(), fc.constantFrom('', 'text/plain', 'application/json', 'application/octet-stream'))
    .map(([name, other, quoted, twice, contentType]) => {
      const value = quoted ? `"${name.replace(/["\\]/g, '\\$&')}"` : name;
      const disposition = `Content-Disposition: form-data; name=${value}${twice ? `; name="${other.replace(/["\\]/g, '\\$&')}"` : ''}`;
      return contentType === '' ? disposition : `${disposition}\r\nContent-Type: ${contentType}`;
    });
  it(`${RUNS} generated bodies: every field busboy reads under a name a rule selects is hidden`, async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(headArb, { minLength: 1, maxLength: 5 }), async (heads) => {
        const body = Buffer.from(`${heads.map((head, i) => part(head, `v${i}q`)).join('')}--XyZ--\r\n`);
        const fields = await busboyFields(body, type);
        const rules = ['$.password', '$.a.b', "$['x']", '$..user'];
        const out = compileRedactor({ redactRequestBody: rules }).requestBody(body, type).body.toString();
        for (const [name, value] of fields) {
          if (['password', 'a[b]', 'x', 'user', 'password[]'].includes(name)) {
            assert.ok(!out.includes(`\r\n\r\n${value}\r\n`), `${name}=${value} recorded: ${out}`);
            checked += 1;
          }
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(checked > RUNS / 2, `only ${checked} fields checked`);
  });
});
