/**
 * Each detector with values it must flag and look-alikes it must not, as one value in one field of a
 * record (so the field name is part of the test, as it is in real traffic).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scanRecord, type LeakConfidence, type LeakFinding } from '../../src/leaks/index.js';
import { credentialName, luhnValid } from '../../src/leaks/detectors.js';
import { b64, makeRecord } from '../inspector/helpers.js';

/** The findings for one JSON body field `key: value`. */
function inBody(key: string, value: unknown): LeakFinding[] {
  return scanRecord(
    makeRecord({
      method: 'POST',
      request_headers: { 'content-type': ['application/json'] },
      request_body: b64(JSON.stringify({ [key]: value })),
      response_body: '',
    }),
  );
}

function detectors(findings: LeakFinding[]): string[] {
  return findings.map((f) => `${f.detector}:${f.confidence}`);
}

function flags(key: string, value: unknown, detector: string, confidence?: LeakConfidence): void {
  const found = inBody(key, value).filter((f) => f.detector === detector);
  assert.equal(
    found.length,
    1,
    `${detector} on ${key}=${JSON.stringify(value)}: got ${detectors(inBody(key, value)).join(', ') || 'nothing'}`,
  );
  if (confidence !== undefined) assert.equal(found[0]!.confidence, confidence, `${detector} confidence on ${key}=${JSON.stringify(value)}`);
}

function clean(key: string, value: unknown, atLeast: LeakConfidence[] = ['high', 'medium', 'low']): void {
  const found = inBody(key, value).filter((f) => atLeast.includes(f.confidence));
  assert.deepEqual(detectors(found), [], `nothing on ${key}=${JSON.stringify(value)}`);
}

describe('payment cards (Luhn + brand table from credit-card-type)', () => {
  test('Luhn sum', () => {
    assert.equal(luhnValid('4111111111111111'), true);
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(luhnValid('79927398713'), true);
  });
  test('flags valid numbers of every common brand, plain or grouped', () => {
    flags('number', '4111111111111111', 'payment-card', 'medium');
    flags('card_number', '4111111111111111', 'payment-card', 'high');
    flags('note', 'paid with 5555 5555 5555 4444 yesterday', 'payment-card', 'high');
    flags('pan', '378282246310005', 'payment-card', 'high'); // Amex
    flags('x', '6011111111111117', 'payment-card'); // Discover
    flags('x', '3530111333300000', 'payment-card'); // JCB
    flags('x', 4111111111111111, 'payment-card'); // as a JSON number
  });
  test('leaves Luhn-invalid numbers, unknown brands, ids and timestamps alone', () => {
    clean('number', '4111111111111112');
    clean('x', '0000000000000000');
    clean('created', 1714560000000);
    clean('x', '1234567812345678');
    // Luhn-valid, Visa-shaped, but in a field named as an id: low only.
    clean('order_id', '4242424242424242', ['high', 'medium']);
    clean('version', '1.2.3.4111111111111111.5');
  });
});

describe('credentials by field name', () => {
  test('field names', () => {
    assert.equal(credentialName('password'), 'password');
    assert.equal(credentialName('newPassword'), 'password');
    assert.equal(credentialName('password_hash'), 'password');
    assert.equal(credentialName('x-api-key'), 'credential');
    assert.equal(credentialName('access_token'), 'credential');
    assert.equal(credentialName('clientSecret'), 'credential');
    assert.equal(credentialName('cvv'), 'card-code');
    assert.equal(credentialName('password_changed_at'), null);
    assert.equal(credentialName('token_type'), null);
    assert.equal(credentialName('expires_in'), null);
    assert.equal(credentialName('secret_santa_id'), null);
    assert.equal(credentialName('tokens_used'), null);
  });
  test('flags passwords, tokens and card codes', () => {
    flags('password', 'hunter2', 'password-field', 'high');
    flags('refresh_token', 'def50200a1b2c3d4e5f6', 'credential-field', 'high');
    flags('cvv', '123', 'card-security-code', 'high');
    flags('pin', '1234', 'credential-field', 'high');
  });
  test('leaves masks, empties and look-alike names alone', () => {
    clean('password', '********');
    clean('password', '');
    clean('password', null);
    clean('token_type', 'Bearer');
    clean('password_required', 'true');
    clean('cvv', 'required');
    clean('has_password', true);
  });
});

describe('tokens with a known shape', () => {
  const JWT =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
  test('JWTs, Bearer and Basic credentials, Google API keys', () => {
    flags('data', JWT, 'jwt', 'high');
    flags('msg', `session ${JWT} expired`, 'jwt', 'high');
    flags('forwarded', 'Bearer abcdefghijklmnopqrstuvwxyz012345', 'bearer-credential', 'high');
    flags('upstream', `Basic ${btoa('admin:s3cret')}`, 'basic-credential', 'high');
    flags('maps', 'AIzaSyA1234567890abcdefghijklmnopqrstuv', 'google-api-key', 'high');
  });
  test('leaves their look-alikes alone', () => {
    clean('data', 'eyJhbGciOiJIUzI1NiJ9.secret');
    clean('data', 'eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxMjMifQ.abc'); // header without alg
    clean('text', 'Bearer in mind that this is short');
    clean('text', 'Basic plan includes 3 seats');
    clean('text', `Basic ${btoa('no colon here')}`);
    clean('key', 'AIzaTooShort');
  });
});

describe('cloud and SaaS keys (secretlint recommended preset)', () => {
  test('flags the well-known shapes', () => {
    flags('token', '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', 'secretlint/github', 'high');
    flags('stripe', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'secretlint/stripe', 'high');
    flags('hook', 'xoxb-123456789012-1234567890123-abcdefghijABCDEFGHIJklmn', 'secretlint/slack', 'high');
    flags('aws_secret_access_key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX', 'secretlint/aws', 'high');
    flags('key_id', 'AKIAZ2BQLRQFEXAMPLE1', 'secretlint/aws', 'high');
    flags('dsn', 'postgres://admin:s3cr3tpass@db.internal:5432/app', 'secretlint/database-connection-string', 'high');
    const pem = `-----BEGIN RSA PRIVATE KEY-----\nMII${'A'.repeat(200)}\n-----END RSA PRIVATE KEY-----`;
    flags('key', pem, 'secretlint/privatekey', 'high');
  });
  test('the documented example values and placeholders are not flagged', () => {
    clean('key_id', 'AKIAIOSFODNN7EXAMPLE');
    clean('key', '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----');
    clean('url', 'https://example.com/users/42?page=2');
    clean('sha', 'ghp_is_not_a_token');
  });
});

describe('personal data', () => {
  test('emails and phone numbers (libphonenumber-js), low unless the field says so', () => {
    flags('contact', 'ada@example.com', 'email', 'low');
    flags('note', 'write to ada.lovelace+api@mail.example.org today', 'email', 'low');
    flags('mobile', '+44 7911 123456', 'phone', 'medium');
    flags('text', 'call +1 415 555 2671', 'phone', 'low');
  });
  test('no email in a URL authority, no phone in an invalid or local number', () => {
    clean('url', 'https://user@example.com/');
    clean('text', 'version 1.2@latest');
    clean('mobile', '+1 000 000');
    clean('count', '+12345');
  });
  test('national ids with a checksum (stdnum), by field name or by a distinctive shape', () => {
    flags('ssn', '078-05-1121', 'national-id/us-ssn', 'high');
    flags('text', 'SSN 219-09-9998 on file', 'national-id/us-ssn', 'medium');
    flags('bsn', '111222333', 'national-id/nl-bsn', 'high');
    flags('cpf', '390.533.447-05', 'national-id/br-cpf', 'high');
    flags('text', 'CPF 390.533.447-05', 'national-id/br-cpf', 'medium');
    flags('dni', '54362315K', 'national-id/es-dni', 'high');
    flags('codice_fiscale', 'RCCMNL83S18D969H', 'national-id/it-codice-fiscale', 'high');
    flags('aadhaar', '234123412346', 'national-id/in-aadhaar', 'high');
    flags('national_id', '111222333', 'national-id/us-ssn', 'medium'); // the first valid one of the list
  });
  test('wrong checksums and unnamed bare digits are not national ids', () => {
    clean('ssn', '078-05-1120x');
    clean('bsn', '111222334');
    clean('cpf', '390.533.447-06');
    clean('dni', '54362315A');
    clean('quantity', '111222333');
    clean('text', 'order 000-00-0000');
  });
});

describe('where values are looked for', () => {
  test('headers, query and path parameters, bodies at any depth, error messages', () => {
    const findings = scanRecord(
      makeRecord({
        request_headers: {
          'x-upstream-auth': ['Bearer abcdefghijklmnopqrstuvwxyz012345'],
          referer: ['https://app.example.com/cb?code=x&access_token=ya29.a0AfH6SMBx1234567890'],
        },
        query_params: { api_key: ['sk_live_4eC39HqLyjWDarjtT1zdp7dc'] },
        path_params: { token: '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' },
        response_headers: { 'content-type': ['application/json'] },
        response_body: b64(JSON.stringify({ users: [{ card: { pan: '4111 1111 1111 1111' } }] })),
        errors: [
          {
            when: '',
            error_type: 'Error',
            message: `login failed for ${btoa('x')} with Bearer abcdefghijklmnopqrstuvwxyz012345`,
            root_error_type: 'Error',
            root_error_message: 'x',
            stack_trace: '',
          },
        ],
      }),
    );
    const where = new Set(findings.map((f) => `${f.location.part} ${f.location.field}`));
    for (const expected of [
      'request_header x-upstream-auth',
      'query access_token',
      'query api_key',
      'url_path token',
      'response_body $.users[*].card.pan',
      'error errors[*].message',
    ]) {
      assert.ok(where.has(expected), `${expected} in ${[...where].join(' | ')}`);
    }
    const card = findings.find((f) => f.detector === 'payment-card')!;
    assert.equal(card.location.exact, '$.users[0].card.pan');
    assert.equal(card.preview, '4111…1111 (19 chars)');
    assert.ok(
      findings.every((f) => !f.description.includes('sk_live') && !f.preview.includes('4eC39H')),
      'no value in words meant for logs',
    );
  });
  test('redacted values, binary bodies and empty records give nothing', () => {
    assert.deepEqual(
      scanRecord(
        makeRecord({
          request_headers: { authorization: ['[CLIENT_REDACTED]'] },
          request_body: b64(JSON.stringify({ password: '[CLIENT_REDACTED]' })),
          response_headers: { 'content-type': ['image/png'] },
          response_body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]).toString('base64'),
        }),
      ),
      [],
    );
    assert.deepEqual(scanRecord(makeRecord({ response_body: 'not base64 at all ###' })), []);
  });
  test('never throws on malformed records', () => {
    const odd = [
      {},
      { errors: 'x' },
      { request_headers: null, query_params: 5, path_params: [1] },
      makeRecord({ request_body: b64('{"a":'), response_body: b64('[[[[[[') }),
    ];
    for (const record of odd) assert.doesNotThrow(() => scanRecord(record as never));
  });
});
