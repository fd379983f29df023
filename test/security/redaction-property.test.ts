/**
 * Redaction cannot leak: property-based tests over random JSON documents and random rules written
 * the way users write them (member chains, `-` in dot notation, `[*]`, `..`, indexes, quoted names,
 * with or without `$`). An oracle that shares no code with the SDK finds the values each rule
 * selects; a unique secret is planted at each, a unique public marker everywhere else. The secret
 * must appear nowhere in the published message (as itself or base64-encoded) or in the debug log,
 * and every public marker must survive.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import express from 'express';
import { APIToolkit, MemoryTransport, REDACTED, type ApiRecord } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { encodeRecord } from '../../src/core/encode.js';
import { compileRedactor } from '../../src/core/redact/index.js';
import {
  documentArb,
  labelPublic,
  plantSecrets,
  renderRule,
  ruleArb,
  rulesAimedAt,
  secretForms,
  select,
  stringLeaves,
  type Json,
  type RuleCase,
} from '../helpers/redaction-cases.js';

const CORE_RUNS = Number(process.env.REDACTION_PROPERTY_RUNS ?? 10_000);
const PIPELINE_RUNS = 300;
const JSON_TYPES = ['application/json', 'application/merge-patch+json; charset=utf-8', undefined] as const;
const PUBLIC = /^pub\d+z$/;

/** A document and 1-3 rules: mostly aimed at its nodes, some entirely random. */
const casesArb = documentArb.chain((doc) =>
  fc.tuple(
    fc.constant(doc),
    fc.array(fc.oneof({ weight: 3, arbitrary: rulesAimedAt(labelPublic(doc).doc) }, { weight: 1, arbitrary: ruleArb }), {
      minLength: 1,
      maxLength: 3,
    }),
  ),
);

function secretFactory(): () => string {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  return () => `S3CR3T${run}X${(n++).toString(36).padStart(4, '0')}Q`;
}

/** The document with a secret at every value some rule selects in it as received (rules are evaluated together). */
function plant(doc: Json, rules: RuleCase[], nextSecret: () => string): { doc: Json; secrets: string[]; publics: string[] } {
  const labelled = labelPublic(doc).doc;
  const planted = plantSecrets(
    labelled,
    rules.flatMap((rule) => select(labelled, rule.segments)),
    nextSecret,
  );
  return { doc: planted.doc, secrets: planted.secrets, publics: stringLeaves(planted.doc).filter((s) => PUBLIC.test(s)) };
}

function baseRecord(): ApiRecord {
  return {
    timestamp: new Date(0).toISOString(),
    duration: 1,
    project_id: 'p',
    sdk_type: 'JsExpress',
    method: 'POST',
    host: 'h',
    url_path: '/x',
    raw_url: '/x',
    path_params: {},
    query_params: {},
    request_headers: {},
    response_headers: {},
    request_body: '',
    response_body: '',
    status_code: 200,
    proto_major: 1,
    proto_minor: 1,
    referer: '',
    errors: [],
    service_version: null,
    tags: [],
    msg_id: '00000000-0000-4000-8000-000000000000',
    parent_id: null,
  };
}

function assertNoSecret(haystack: string, secrets: string[], where: string): void {
  for (const secret of secrets) {
    for (const form of secretForms(secret)) {
      assert.ok(!haystack.includes(form), `secret ${secret} (as ${JSON.stringify(form)}) found in ${where}`);
    }
  }
}

describe('redaction property: random documents x random rules', () => {
  test(`${CORE_RUNS} cases through the real redactor and encoder: no planted secret in the message, every other value kept`, () => {
    const nextSecret = secretFactory();
    let withSecrets = 0;
    let secretsPlanted = 0;
    let publicsChecked = 0;
    fc.assert(
      fc.property(casesArb, fc.constantFrom(...JSON_TYPES), fc.boolean(), ([raw, rules], contentType, onRequest) => {
        const { doc, secrets, publics } = plant(raw, rules, nextSecret);
        const paths = rules.map(renderRule);
        const body = Buffer.from(JSON.stringify(doc));
        const redactor = compileRedactor(onRequest ? { redactRequestBody: paths } : { redactResponseBody: paths });
        const result = onRequest ? redactor.requestBody(body, contentType) : redactor.responseBody(body, contentType);
        // The other direction's rules are not these: the same bytes pass it untouched.
        const other = onRequest ? redactor.responseBody(body, contentType) : redactor.requestBody(body, contentType);
        assert.equal(other.body, body);

        const record = baseRecord();
        record[onRequest ? 'request_body' : 'response_body'] = result.body.toString('base64');
        const encoded = encodeRecord(record);
        assert.ok(encoded.ok);
        const message = encoded.message.toString('utf8');
        const sent = Buffer.from((JSON.parse(message) as ApiRecord)[onRequest ? 'request_body' : 'response_body'], 'base64').toString(
          'utf8',
        );
        assertNoSecret(message, secrets, `the message for rules ${JSON.stringify(paths)}`);
        assertNoSecret(sent, secrets, `the decoded body for rules ${JSON.stringify(paths)}: ${sent}`);
        assert.equal(result.unparsable, false, `withheld for rules ${JSON.stringify(paths)}`);
        for (const pub of publics) assert.ok(sent.includes(`"${pub}"`), `${pub} was lost for rules ${JSON.stringify(paths)}: ${sent}`);
        if (secrets.length > 0) {
          assert.ok(sent.includes(JSON.stringify(REDACTED)), 'the marker stands where the secrets were');
          assert.ok(result.redactions >= 1);
        } else {
          assert.equal(sent, body.toString('utf8'), 'nothing matched: the bytes as sent');
        }
        withSecrets += secrets.length > 0 ? 1 : 0;
        secretsPlanted += secrets.length;
        publicsChecked += publics.length;
      }),
      { numRuns: CORE_RUNS },
    );
    console.log(
      `redaction property: ${CORE_RUNS} cases, ${withSecrets} with planted secrets (${secretsPlanted} secrets), ${publicsChecked} public values checked; 0 leaks`,
    );
    // Not vacuous: most cases must actually plant something.
    assert.ok(withSecrets >= CORE_RUNS * 0.3, `only ${withSecrets} of ${CORE_RUNS} cases planted a secret`);
  });

  test('form-encoded bodies: secrets at matched fields are redacted, other fields kept', () => {
    const nextSecret = secretFactory();
    const keys = fc.constantFrom('password', 'token', 'credit-card', 'odd.name', '__proto__', 'ключ', 'a b', 'user');
    fc.assert(
      fc.property(
        fc.uniqueArray(keys, { minLength: 1, maxLength: 6 }),
        fc.subarray(['password', 'credit-card', 'odd.name', '__proto__', 'ключ'], { minLength: 1 }),
        fc.boolean(),
        (fields, redacted, dotted) => {
          const secrets: string[] = [];
          const publics: string[] = [];
          const form = new URLSearchParams();
          for (const key of fields) {
            // A field named __proto__ is dropped by qs: where a nested parser puts it is in doubt, so
            // it is hidden whenever rules apply (see forms.ts).
            const hidden = redacted.includes(key) || key === '__proto__';
            const value = hidden ? nextSecret() : `pub${publics.length}z`;
            (hidden ? secrets : publics).push(value);
            form.append(key, value);
          }
          const paths = redacted.map((k) => (dotted && !/[.\s]/.test(k) ? `$.${k}` : `$['${k}']`));
          const result = compileRedactor({ redactRequestBody: paths }).requestBody(
            Buffer.from(form.toString()),
            'application/x-www-form-urlencoded',
          );
          const text = result.body.toString('utf8');
          assertNoSecret(text, secrets, `the form for ${JSON.stringify(paths)}`);
          for (const pub of publics) assert.ok(text.includes(pub), `${pub} lost`);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('redaction property: the whole pipeline (Express, MemoryTransport, debug log)', () => {
  let server: Server;
  let url: string;
  // Each case mounts its own client; the app stays up.
  let current: { parserFirst: boolean; handler: express.RequestHandler; responseBody: string } | undefined;
  before(async () => {
    const app = express();
    const json = express.json({ limit: '5mb' });
    app.use((req, res, next) => (current!.parserFirst ? json(req, res, next) : next()));
    app.use((req, res, next) => current!.handler(req, res, next));
    app.use((req, res, next) => (current!.parserFirst ? next() : json(req, res, next)));
    app.post('/echo', (_req, res) => res.type('application/json').send(current!.responseBody));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  test(`${PIPELINE_RUNS} requests: secrets in request and response bodies and headers never reach the record or the log`, async () => {
    const nextSecret = secretFactory();
    let leaksChecked = 0;
    await fc.assert(
      fc.asyncProperty(
        casesArb,
        casesArb,
        fc.boolean(),
        fc.constantFrom('X-Api-Key', 'x-api-key', 'X-API-KEY', 'x-Api-kEY'),
        async ([rawRequest, requestRules], [rawResponse, responseRules], parserFirst, headerCasing) => {
          const request = plant(rawRequest, requestRules, nextSecret);
          const response = plant(rawResponse, responseRules, nextSecret);
          const headerSecrets = [nextSecret(), nextSecret(), nextSecret()];
          const lines: string[] = [];
          const transport = new MemoryTransport();
          const apitoolkit = new APIToolkit({
            transport,
            flushIntervalMs: 0,
            debug: true,
            logger: (line) => lines.push(line),
            redactHeaders: [headerCasing],
            redactRequestBody: requestRules.map(renderRule),
            redactResponseBody: responseRules.map(renderRule),
          });
          current = {
            parserFirst,
            handler: expressMiddleware(apitoolkit) as express.RequestHandler,
            responseBody: JSON.stringify(response.doc),
          };
          try {
            const res = await fetch(`${url}/echo`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${headerSecrets[0]}`,
                cookie: `session=${headerSecrets[1]}`,
                'x-api-key': headerSecrets[2]!,
              },
              body: JSON.stringify(request.doc),
            });
            assert.equal(await res.text(), JSON.stringify(response.doc), 'the client gets the real response');
            const [record] = await transport.waitForRecords(1);
            await apitoolkit.shutdown(1_000);
            const message = JSON.stringify(record);
            const log = lines.join('\n');
            const secrets = [...request.secrets, ...response.secrets, ...headerSecrets];
            assertNoSecret(message, secrets, 'the record');
            assertNoSecret(log, secrets, 'the debug log');
            const sentRequest = Buffer.from(record!.request_body, 'base64').toString('utf8');
            const sentResponse = Buffer.from(record!.response_body, 'base64').toString('utf8');
            assertNoSecret(sentRequest + sentResponse, secrets, 'the decoded bodies');
            for (const pub of request.publics)
              assert.ok(sentRequest.includes(`"${pub}"`), `${pub} lost from the request body: ${sentRequest}`);
            for (const pub of response.publics) assert.ok(sentResponse.includes(`"${pub}"`), `${pub} lost from the response body`);
            assert.deepEqual(record!.request_headers['x-api-key'], [REDACTED]);
            assert.ok(log.includes('sending {'), 'debug mode logged the record');
            leaksChecked += secrets.length;
          } finally {
            await apitoolkit.shutdown(1_000);
          }
        },
      ),
      { numRuns: PIPELINE_RUNS },
    );
    console.log(`redaction pipeline property: ${PIPELINE_RUNS} requests, ${leaksChecked} planted secrets (bodies and headers); 0 leaks`);
  });
});
