/**
 * The same body is redacted the same way however it arrives: with the SDK mounted before the body
 * parser (it records the bytes it saw) and after it (it records what the parser made), on real
 * Express 4 and 5 apps on loopback, for every body kind an app parses: JSON under every JSON-like
 * type, text/plain parsed as JSON or as text, forms with bracket keys read by the extended (qs) and
 * the flat parser, multipart read by multer (with a quoted boundary of 80 characters too).
 *
 * "Identical" compares the decoded, redacted body as a value: the raw bytes keep the client's
 * whitespace where the parser's JSON does not, so JSON bodies are compared parsed; form bodies are
 * recorded as the JSON of their nested fields either way, byte for byte the same. A multipart body
 * recorded before the parser is multipart (each hidden field's part holds the marker; files become
 * placeholders) and after it the JSON of the fields multer read (a hidden list is one marker): for
 * it "identical" is field by field, the same fields hidden and the same values kept. No planted
 * secret may be in either record.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test, type TestContext } from 'node:test';
import type { RequestHandler } from 'express';
import { APIToolkit, MemoryTransport, REDACTED, type ApiRecord } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { expressVersions } from '../helpers/express.js';
import { serve, unb64 } from '../helpers/http.js';

// multer and its parser busboy, as apps use them (dependencies of @nestjs/platform-express).
const require = createRequire(import.meta.url);
const multer = require('multer') as typeof import('multer');
const Busboy = require('busboy') as typeof import('busboy');

type Express = (typeof expressVersions)[number]['express'];

/**
 * Rules for both views of a form: nested names, flat bracket names (`$['user[token]']`, written for
 * what the flat parser makes), a descendant name, an appended list, an index. On JSON the flat ones
 * name members JSON does not have.
 */
const RULES = ['$.user.password', "$['user[token]']", '$..secret', '$.password', "$['pin[]']", '$.cards[1].number'];
const SECRETS = {
  password: 'S3CR3T-pw-1',
  token: 'S3CR3T-tok-2',
  secret: 'S3CR3T-deep-3',
  list: 'S3CR3T-list-4',
  pin: 'S3CR3T-pin-5',
  card: 'S3CR3T-card-6',
};
/** What the flat rules hide in a form; in JSON they are public. */
const FORM_ONLY = [SECRETS.token, SECRETS.pin];

/** The fields every form-like body carries, as a client writes them, and where a nested parser puts them. */
const FIELDS: [string, string, (string | number)[]][] = [
  ['user[name]', 'ann', ['user', 'name']],
  ['user[password]', SECRETS.password, ['user', 'password']],
  ['user[token]', SECRETS.token, ['user', 'token']],
  ['a[b][secret]', SECRETS.secret, ['a', 'b', 'secret']],
  ['password[]', SECRETS.list, ['password', 0]],
  ['pin[]', SECRETS.pin, ['pin', 0]],
  ['cards[0][number]', '4000-public', ['cards', 0, 'number']],
  ['cards[1][number]', SECRETS.card, ['cards', 1, 'number']],
  ['note', 'kept', ['note']],
];
const PAIRS = FIELDS.map(([name, value]): [string, string] => [name, value]);

/** The same content as JSON: what the extended parser makes of FIELDS. */
const DOCUMENT = {
  user: { name: 'ann', password: SECRETS.password, token: SECRETS.token },
  a: { b: { secret: SECRETS.secret } },
  password: [SECRETS.list],
  pin: [SECRETS.pin],
  cards: [{ number: '4000-public' }, { number: SECRETS.card }],
  note: 'kept',
};

interface Kind {
  name: string;
  contentType: string;
  body: Buffer;
  parser: (express: Express) => RequestHandler;
  /** The record's request body as a value to compare. */
  read: (record: ApiRecord) => unknown;
}

const json = (text: string): unknown => JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

function multipartBody(boundary: string): Buffer {
  const parts = PAIRS.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  return Buffer.from(`preamble\r\n${parts.join('')}--${boundary}--\r\nepilogue`);
}

/** Each field's value in a recorded multipart body, read with busboy: name -> value (the marker when hidden). */
async function multipartFields(record: ApiRecord): Promise<Record<string, string>> {
  const contentType = record.request_headers['content-type']![0]!;
  const fields: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    const parser = Busboy({ headers: { 'content-type': contentType } });
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('close', resolve);
    parser.on('error', reject);
    parser.end(Buffer.from(record.request_body, 'base64'));
  });
  return fields;
}

/** Each field's value in the JSON of nested fields: the marker when it, or a value around it, is hidden. */
function nestedFields(value: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, , path] of FIELDS) {
    let node = value;
    for (const step of path) {
      if (node === REDACTED) break;
      node = (node as Record<string | number, unknown>)[step];
    }
    fields[name] = node as string;
  }
  return fields;
}

const LONG_BOUNDARY = `----=_Part:${'q'.repeat(60)} long (80)=`;

const KINDS: Kind[] = [
  ...['application/json', 'text/json', 'application/x-json', 'application/vnd.api+json', 'text/plain'].map(
    (type): Kind => ({
      name: `JSON as ${type}`,
      contentType: type,
      body: Buffer.from(JSON.stringify(DOCUMENT, null, 2)),
      parser: (express) => express.json({ type }),
      read: (record) => json(unb64(record.request_body)),
    }),
  ),
  {
    name: 'JSON as text/plain read by express.text()',
    contentType: 'text/plain',
    body: Buffer.from(JSON.stringify(DOCUMENT)),
    parser: (express) => express.text(),
    read: (record) => json(unb64(record.request_body)),
  },
  {
    name: 'form with bracket keys, extended parser (qs)',
    contentType: 'application/x-www-form-urlencoded',
    body: Buffer.from(new URLSearchParams(PAIRS).toString()),
    parser: (express) => express.urlencoded({ extended: true }),
    read: (record) => unb64(record.request_body),
  },
  {
    name: 'form with bracket keys, flat parser (extended: false)',
    contentType: 'application/x-www-form-urlencoded',
    body: Buffer.from(new URLSearchParams(PAIRS).toString()),
    parser: (express) => express.urlencoded({ extended: false }),
    read: (record) => unb64(record.request_body),
  },
  {
    // Express 4's default is extended (qs), Express 5's is not.
    name: "form with bracket keys, the version's default express.urlencoded()",
    contentType: 'application/x-www-form-urlencoded',
    body: Buffer.from(new URLSearchParams(PAIRS).toString()),
    parser: (express) => express.urlencoded(),
    read: (record) => unb64(record.request_body),
  },
  {
    name: 'form with percent-encoded brackets, extended parser',
    contentType: 'application/x-www-form-urlencoded',
    body: Buffer.from(PAIRS.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
    parser: (express) => express.urlencoded({ extended: true }),
    read: (record) => unb64(record.request_body),
  },
  ...[
    ['multipart', 'XyZbOuNdArY'],
    ['multipart, quoted 80-character boundary', LONG_BOUNDARY],
  ].map(
    ([name, boundary]): Kind => ({
      name: `${name} read by multer`,
      contentType: `multipart/form-data; boundary="${boundary}"`,
      body: multipartBody(boundary!),
      parser: () => multer().none(),
      read: () => undefined, // compared by fields, below
    }),
  ),
];

async function record(t: TestContext, express: Express, kind: Kind, sdkFirst: boolean): Promise<ApiRecord> {
  const transport = new MemoryTransport({ projectId: '11111111-2222-4333-8444-555555555555' });
  const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, redactRequestBody: RULES });
  t.after(() => apitoolkit.shutdown(1_000));
  const app = express();
  const sdk = expressMiddleware(apitoolkit) as RequestHandler;
  const parser = kind.parser(express);
  if (sdkFirst) app.use(sdk, parser);
  else app.use(parser, sdk);
  let seen: unknown;
  app.post('/in', (req, res) => {
    seen = req.body;
    res.json({ ok: true });
  });
  const url = await serve(t, app);
  const res = await fetch(`${url}/in`, { method: 'POST', headers: { 'content-type': kind.contentType }, body: kind.body });
  assert.equal(res.status, 200, `${kind.name}: the app answered`);
  await res.text();
  // The parser really read the body (else "after" would compare nothing).
  assert.ok(JSON.stringify(seen).includes(SECRETS.password), `${kind.name}: the parser read ${JSON.stringify(seen)}`);
  const [one] = await transport.waitForRecords(1);
  return one!;
}

function assertNoSecret(record: ApiRecord, secrets: string[], where: string): void {
  const text = JSON.stringify(record) + unb64(record.request_body);
  for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} leaked ${where}: ${unb64(record.request_body)}`);
}

for (const { name: version, express } of expressVersions) {
  describe(`${version}: the SDK before and after the body parser records the same redacted body`, () => {
    for (const kind of KINDS) {
      test(kind.name, async (t) => {
        const before = await record(t, express, kind, true);
        const after = await record(t, express, kind, false);
        const isJson = !kind.contentType.startsWith('multipart/') && !kind.contentType.startsWith('application/x-www-form');
        const secrets = Object.values(SECRETS).filter((secret) => !isJson || !FORM_ONLY.includes(secret));
        assertNoSecret(before, secrets, 'with the SDK before the parser');
        assertNoSecret(after, secrets, 'with the SDK after the parser');
        let value: unknown;
        if (kind.contentType.startsWith('multipart/')) {
          const fields = await multipartFields(before);
          value = JSON.parse(unb64(after.request_body));
          assert.deepEqual(fields, nestedFields(value));
        } else {
          const a = kind.read(before);
          const b = kind.read(after);
          // Forms: the same JSON text, byte for byte.
          if (typeof a === 'string') assert.equal(a, b);
          value = typeof b === 'string' ? JSON.parse(b) : b;
          assert.deepEqual(typeof a === 'string' ? JSON.parse(a) : a, value);
        }
        // What is hidden, and what is kept, in both.
        const fields = nestedFields(value);
        for (const [name, original] of FIELDS) {
          const hidden = secrets.includes(original);
          assert.equal(fields[name], hidden ? REDACTED : original, `${name} in ${JSON.stringify(value)}`);
        }
      });
    }
  });
}
