/**
 * False-positive and recall rates on a corpus built here, deterministically (seeded PRNG): benign
 * values an API really carries (ids, uuids, hashes, timestamps, prices, words, URLs, user agents,
 * numeric ids of every length) under the field names they usually have, and generated secrets and
 * personal data of each kind. The rates are printed as test diagnostics; the bounds fail the test
 * when a change makes a detector noisier or blinder.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanRecord } from '../../src/leaks/index.js';
import { luhnValid } from '../../src/leaks/detectors.js';
import { b64, makeRecord } from '../inspector/helpers.js';
import { prng } from '../helpers/prng.js';

const rand = prng(19);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
const chars = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join('');
const HEX = '0123456789abcdef';
const DIGITS = '0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const WORDS = [
  'alpha',
  'order',
  'shipped',
  'pending',
  'blue',
  'large',
  'invoice',
  'refund',
  'welcome',
  'team',
  'plan',
  'pro',
  'free',
  'monthly',
  'report',
  'draft',
];

/** [field name, value] pairs a typical JSON API carries. */
const BENIGN: Record<string, () => [string, unknown]> = {
  uuid: () => ['id', `${chars(HEX, 8)}-${chars(HEX, 4)}-4${chars(HEX, 3)}-a${chars(HEX, 3)}-${chars(HEX, 12)}`],
  numericId: () => ['id', Number(chars(DIGITS, 1 + int(15)).replace(/^0+/, '') || '7')],
  stringIdAnyLength: () => [pick(['order_id', 'user_id', 'ref', 'customer_id']), chars(DIGITS, 6 + int(14))],
  timestampMs: () => ['created_at', 1_600_000_000_000 + int(200_000_000_000)],
  iso: () => ['updated', new Date(1_600_000_000_000 + int(200_000_000_000)).toISOString()],
  sha256: () => ['checksum', chars(HEX, 64)],
  gitSha: () => ['commit', chars(HEX, 40)],
  base64Blob: () => ['data', btoa(chars(ALNUM, 24 + int(40)))],
  price: () => ['amount', Math.round(rand() * 100_000) / 100],
  quantity: () => ['quantity', int(1000)],
  sentence: () => ['description', Array.from({ length: 4 + int(10) }, () => pick(WORDS)).join(' ')],
  slug: () => ['slug', `${pick(WORDS)}-${pick(WORDS)}-${int(999)}`],
  url: () => ['href', `https://api.example.com/v1/${pick(WORDS)}/${int(99999)}?page=${int(20)}`],
  userAgent: () => [
    'user_agent',
    `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/${100 + int(30)}.0.${int(9999)}.${int(200)} Safari/537.36`,
  ],
  etag: () => ['etag', `W/"${int(99999).toString(16)}-${chars(ALNUM, 27)}"`],
  semver: () => ['version', `${int(20)}.${int(50)}.${int(100)}`],
  ip: () => ['client_ip', `${1 + int(254)}.${int(255)}.${int(255)}.${1 + int(254)}`],
  name: () => ['name', `${pick(['Ada', 'Grace', 'Linus', 'Barbara'])} ${pick(['Lovelace', 'Hopper', 'Liskov'])}`],
  status: () => ['status', pick(['active', 'pending', 'canceled', 'past_due'])],
  random16Digits: () => ['reference_number', chars(DIGITS, 16)],
  coordinates: () => ['lat', (rand() * 180 - 90).toFixed(6)],
  tokenType: () => ['token_type', 'Bearer'],
  passwordPolicy: () => ['password_min_length', 8 + int(8)],
  phoneNoPlus: () => ['extension', chars(DIGITS, 3 + int(4))],
  hexColor: () => ['color', `#${chars(HEX, 6)}`],
};

function cardNumber(prefix: string, length: number): string {
  const body = prefix + chars(DIGITS, length - prefix.length - 1);
  for (let d = 0; d < 10; d++) if (luhnValid(body + d)) return body + d;
  return body;
}

/** Values that must be flagged at medium or higher: [field, value, detector prefix]. */
const SECRETS: Record<string, () => [string, unknown, string]> = {
  visa: () => [pick(['card_number', 'number', 'pan']), cardNumber('4', 16), 'payment-card'],
  mastercard: () => ['cc', cardNumber(`5${1 + int(5)}`, 16), 'payment-card'],
  amex: () => ['card', cardNumber(pick(['34', '37']), 15), 'payment-card'],
  password: () => [pick(['password', 'newPassword', 'pwd', 'current_password']), chars(ALNUM, 6 + int(10)), 'password-field'],
  token: () => [
    pick(['access_token', 'refresh_token', 'api_key', 'client_secret', 'sessionId']),
    chars(ALNUM, 20 + int(20)),
    'credential-field',
  ],
  jwt: () => [
    'id',
    `${btoa('{"alg":"HS256","typ":"JWT"}').replace(/=+$/, '')}.${btoa(`{"sub":"${int(1e6)}"}`).replace(/=+$/, '')}.${chars(ALNUM, 43)}`,
    'jwt',
  ],
  github: () => ['note', `ghp_${chars(ALNUM, 36)}`, 'secretlint/github'],
  stripe: () => ['note', `sk_live_${chars(ALNUM, 24)}`, 'secretlint/stripe'],
  googleKey: () => ['config', `AIza${chars(ALNUM, 35)}`, 'google-api-key'],
  awsId: () => ['note', `AKIA${chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`, 'secretlint/aws'],
  bearer: () => ['forwarded_auth', `Bearer ${chars(ALNUM, 32)}`, 'bearer-credential'],
  cvv: () => ['cvv', chars(DIGITS, 3), 'card-security-code'],
  ssn: () => ['ssn', `${100 + int(500)}-${10 + int(89)}-${1000 + int(8999)}`, 'national-id/us-ssn'],
};

const bodyRecord = (key: string, value: unknown) =>
  makeRecord({
    method: 'POST',
    request_headers: { 'content-type': ['application/json'] },
    request_body: b64(JSON.stringify({ [key]: value })),
    response_body: '',
  });

test('false positives on benign API values, and recall on generated secrets', (t) => {
  const PER_KIND = 400;
  let benign = 0;
  let flaggedMedium = 0;
  let flaggedAny = 0;
  const noisy: Record<string, number> = {};
  for (const [kind, make] of Object.entries(BENIGN)) {
    for (let i = 0; i < PER_KIND; i++) {
      const [key, value] = make();
      const findings = scanRecord(bodyRecord(key, value));
      benign++;
      if (findings.length > 0) flaggedAny++;
      if (findings.some((f) => f.confidence !== 'low')) {
        flaggedMedium++;
        noisy[kind] = (noisy[kind] ?? 0) + 1;
      }
    }
  }
  let secrets = 0;
  let found = 0;
  const missed: string[] = [];
  for (const [kind, make] of Object.entries(SECRETS)) {
    for (let i = 0; i < PER_KIND / 4; i++) {
      const [key, value, detector] = make();
      secrets++;
      if (scanRecord(bodyRecord(key, value), { minConfidence: 'medium' }).some((f) => f.detector.startsWith(detector))) found++;
      else if (missed.length < 5) missed.push(`${kind}: ${key}=${String(value)}`);
    }
  }
  const fpMedium = flaggedMedium / benign;
  const fpAny = flaggedAny / benign;
  const recall = found / secrets;
  t.diagnostic(
    `benign values: ${benign}; flagged at medium or high: ${flaggedMedium} (${(fpMedium * 100).toFixed(2)}%) ${JSON.stringify(noisy)}; at any confidence: ${flaggedAny} (${(fpAny * 100).toFixed(2)}%)`,
  );
  t.diagnostic(`generated secrets and ids: ${secrets}; found at medium or high: ${found} (${(recall * 100).toFixed(2)}%)`);
  assert.ok(fpMedium <= 0.005, `false-positive rate at medium+ ${fpMedium} (${JSON.stringify(noisy)})`);
  assert.equal(recall, 1, `missed: ${missed.join('; ')}`);
});
