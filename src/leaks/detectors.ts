/**
 * Detectors that look at one value at a time, with the name of the field it sits in. Checksums and
 * brand tables come from maintained packages (bundled into the build): card brands and lengths from
 * `credit-card-type`, national identity numbers from `stdnum`, phone numbers from
 * `libphonenumber-js`. Only the Luhn sum, the JWT header check and the field-name lists are ours.
 * Every function here is pure and uses nothing but ECMAScript (plus `atob`), so it runs on Node,
 * Bun, Deno and Workers alike.
 */

import creditCardType from 'credit-card-type';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import brCpf from 'stdnum/lib/cjs/br/cpf.js';
import caSin from 'stdnum/lib/cjs/ca/sin.js';
import cnRic from 'stdnum/lib/cjs/cn/ric.js';
import esDni from 'stdnum/lib/cjs/es/dni.js';
import esNie from 'stdnum/lib/cjs/es/nie.js';
import fiHetu from 'stdnum/lib/cjs/fi/hetu.js';
import frNir from 'stdnum/lib/cjs/fr/nir.js';
import gbNino from 'stdnum/lib/cjs/gb/nino.js';
import inAadhaar from 'stdnum/lib/cjs/in/aadhaar.js';
import itCodiceFiscale from 'stdnum/lib/cjs/it/codicefiscale.js';
import nlBsn from 'stdnum/lib/cjs/nl/bsn.js';
import sePersonnummer from 'stdnum/lib/cjs/se/personnummer.js';
import usSsn from 'stdnum/lib/cjs/us/ssn.js';
import type { LeakConfidence, LeakKind } from './types.js';

/** The field a value sits in, as detectors see it. */
export interface ValueContext {
  /** The last name on the way to the value: a header name, a query parameter, a JSON member. */
  key: string;
  /** Every name on the way, lower case, joined by `.` (`credit-card.number`). */
  path: string;
  /** True for a value that is a whole field (a header value, a JSON leaf), false for free text. */
  whole: boolean;
}

/** What a detector found in one value: `[start, end)` of the flagged text within it. */
export interface ValueMatch {
  detector: string;
  source: string;
  kind: LeakKind;
  confidence: LeakConfidence;
  description: string;
  start: number;
  end: number;
}

/** A detector of values. */
export interface ValueDetector {
  readonly id: string;
  /** Appends what it finds in `value` to `out`. Must not throw on any input. */
  run(value: string, context: ValueContext, out: ValueMatch[]): void;
}

const OURS = 'apitoolkit-node';

/** Splits a field name into lower-case words: `newPassword` and `new_password` give `new`, `password`. */
export function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

// ------------------------------------------------------------------ credentials by field name

/** Last words of a field name that hold a password. */
const PASSWORD_WORDS = new Set(['password', 'passwd', 'pwd', 'passphrase', 'passcode']);
/** Last words (or word pairs) of a field name that hold another credential. */
const CREDENTIAL_WORDS = new Set([
  'secret',
  'token',
  'apikey',
  'credential',
  'credentials',
  'privatekey',
  'otp',
  'totp',
  'pin',
  'sessionid',
  'sid',
]);
const CREDENTIAL_PAIRS = new Set([
  'api key',
  'private key',
  'access key',
  'secret key',
  'signing key',
  'session id',
  'auth code',
  'authorization code',
]);
/** Words after `password` that still name a password-derived value. */
const PASSWORD_TAILS = new Set(['hash', 'digest', 'confirmation', 'confirm', 'repeat', 'salt']);
const CARD_CODE_WORDS = new Set(['cvv', 'cvc', 'cvv2', 'cvc2', 'cid', 'csc']);

/** Values that are not a credential whatever the field is called. */
function placeholder(value: string): boolean {
  const v = value.trim();
  if (v.length === 0) return true;
  if (/^(null|undefined|none|true|false|n\/a|-)$/i.test(v)) return true;
  // `********`, `xxxx`: already masked by the app.
  return v.length >= 3 && /^(.)\1+$/.test(v);
}

/**
 * What a field name says its value is: `password`, `credential`, `card-code`, or `null`. Only the
 * last word (or two) counts, so `password_changed_at`, `token_type` and `secret_santa_id` do not.
 *
 * @example
 * credentialName('newPassword'); // 'password'
 * credentialName('x-api-key'); // 'credential'
 * credentialName('token_type'); // null
 */
export function credentialName(name: string): 'password' | 'credential' | 'card-code' | null {
  let known = nameCache.get(name);
  if (known === undefined) {
    known = classifyName(name);
    // Field names repeat from record to record; a bounded memo keeps the per-value cost near zero.
    if (nameCache.size >= NAME_CACHE_SIZE) nameCache.clear();
    nameCache.set(name, known);
  }
  return known;
}

const NAME_CACHE_SIZE = 4_096;
const nameCache = new Map<string, 'password' | 'credential' | 'card-code' | null>();

function classifyName(name: string): 'password' | 'credential' | 'card-code' | null {
  const w = words(name);
  if (w.length === 0) return null;
  const last = w[w.length - 1]!;
  const pair = w.length >= 2 ? `${w[w.length - 2]} ${last}` : '';
  if (PASSWORD_WORDS.has(last)) return 'password';
  if (PASSWORD_TAILS.has(last) && w.some((x) => PASSWORD_WORDS.has(x))) return 'password';
  if (CARD_CODE_WORDS.has(last) || pair === 'security code' || pair === 'card code') return 'card-code';
  if (CREDENTIAL_WORDS.has(last) || CREDENTIAL_PAIRS.has(pair)) return 'credential';
  if (w.length >= 2 && pair.endsWith(' token')) return 'credential';
  return null;
}

const credentialField: ValueDetector = {
  id: 'credential-field',
  run(value, context, out) {
    if (!context.whole || placeholder(value)) return;
    const what = credentialName(context.key);
    if (what === null) return;
    if (what === 'card-code') {
      if (!/^\s*\d{3,4}\s*$/.test(value)) return;
      out.push({
        detector: 'card-security-code',
        source: OURS,
        kind: 'secret',
        confidence: 'high',
        description: `card security code in a field named "${context.key}"`,
        start: 0,
        end: value.length,
      });
      return;
    }
    if (what === 'password') {
      out.push({
        detector: 'password-field',
        source: OURS,
        kind: 'secret',
        confidence: 'high',
        description: `password in a field named "${context.key}"`,
        start: 0,
        end: value.length,
      });
      return;
    }
    // A PIN or an OTP is short; other credentials shorter than 8 characters are rarely real.
    const short = value.trim().length < 8;
    const pinLike = /(^|[^a-z])(pin|otp|totp)$/i.test(context.key);
    out.push({
      detector: 'credential-field',
      source: OURS,
      kind: 'secret',
      confidence: short && !pinLike ? 'medium' : 'high',
      description: `credential in a field named "${context.key}"`,
      start: 0,
      end: value.length,
    });
  },
};

// ------------------------------------------------------------------ tokens with a known shape

const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

function base64UrlJson(segment: string): unknown {
  try {
    const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

const jwt: ValueDetector = {
  id: 'jwt',
  run(value, _context, out) {
    if (!value.includes('eyJ')) return;
    for (const m of value.matchAll(JWT)) {
      const [header] = m[0].split('.');
      const decoded = base64UrlJson(header!);
      if (typeof decoded !== 'object' || decoded === null || typeof (decoded as { alg?: unknown }).alg !== 'string') continue;
      const signed = !m[0].endsWith('.');
      out.push({
        detector: 'jwt',
        source: OURS,
        kind: 'secret',
        confidence: signed ? 'high' : 'medium',
        description: signed ? 'JSON Web Token (signed)' : 'JSON Web Token (unsigned)',
        start: m.index!,
        end: m.index! + m[0].length,
      });
    }
  },
};

const BEARER = /\bBearer\s+([A-Za-z0-9\-._~+/]{16,}=*)/g;
const BASIC = /\bBasic\s+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/g;

const httpCredential: ValueDetector = {
  id: 'http-credential',
  run(value, _context, out) {
    if (value.includes('Bearer')) {
      for (const m of value.matchAll(BEARER)) {
        out.push({
          detector: 'bearer-credential',
          source: OURS,
          kind: 'secret',
          confidence: 'high',
          description: 'Bearer credential',
          start: m.index!,
          end: m.index! + m[0].length,
        });
      }
    }
    if (value.includes('Basic')) {
      for (const m of value.matchAll(BASIC)) {
        let decoded: string;
        try {
          decoded = atob(m[1]!);
        } catch {
          continue;
        }
        // user:password, printable.
        if (!/^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded)) continue;
        out.push({
          detector: 'basic-credential',
          source: OURS,
          kind: 'secret',
          confidence: 'high',
          description: 'HTTP Basic credential (user:password)',
          start: m.index!,
          end: m.index! + m[0].length,
        });
      }
    }
  },
};

// Google's API keys: "AIza" and 35 more characters (the shape gitleaks' gcp-api-key rule uses;
// secretlint's gcp rule looks for service-account files instead).
const GOOGLE_API_KEY = /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g;

const googleApiKey: ValueDetector = {
  id: 'google-api-key',
  run(value, _context, out) {
    if (!value.includes('AIza')) return;
    for (const m of value.matchAll(GOOGLE_API_KEY)) {
      out.push({
        detector: 'google-api-key',
        source: OURS,
        kind: 'secret',
        confidence: 'high',
        description: 'Google API key',
        start: m.index!,
        end: m.index! + m[0].length,
      });
    }
  },
};

// ------------------------------------------------------------------ payment cards

// 13 to 19 digits, optionally in groups split by one space or dash.
const CARD = /(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d.,])/g;
const ID_FIELD = new Set([
  'id',
  'ids',
  'uuid',
  'guid',
  'ref',
  'reference',
  'no',
  'nr',
  'seq',
  'sequence',
  'ts',
  'timestamp',
  'time',
  'at',
  'date',
  'created',
  'updated',
  'version',
  'serial',
  'count',
  'total',
  'size',
  'offset',
  'cursor',
  'nonce',
]);
const CARD_HINT = /\d{6}|\d{4}[ -]\d{4}/;
const CARD_FIELD = /(^|[^a-z])(card|cards|cc|pan|ccnum|ccnumber|cardnumber|cardno|creditcard|credit)([^a-z]|$)/;

/**
 * The Luhn (mod 10) checksum of a string of digits.
 *
 * @example
 * luhnValid('4111111111111111'); // true
 */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The brand of a card number whose prefix and length fit it (credit-card-type's table), or `null`. */
export function cardBrand(digits: string): string | null {
  for (const type of creditCardType(digits)) {
    if (type.lengths.includes(digits.length)) return type.niceType;
  }
  return null;
}

const paymentCard: ValueDetector = {
  id: 'payment-card',
  run(value, context, out) {
    // At least six digits in a row, or two groups of four: every card number has one of them.
    if (!CARD_HINT.test(value)) return;
    for (const m of value.matchAll(CARD)) {
      const text = m[0];
      const digits = text.replace(/[ -]/g, '');
      if (digits.length < 13 || digits.length > 19 || /^(\d)\1+$/.test(digits.slice(0, -1)) || !luhnValid(digits)) continue;
      const brand = cardBrand(digits);
      if (brand === null) continue;
      const named = CARD_FIELD.test(context.path);
      const grouped = /^\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}$/.test(text) || /^\d{4}([ -])\d{6}\1\d{4,5}$/.test(text);
      // One in ten digit strings passes Luhn: a number in a field named as an id or a time is most
      // likely that.
      const idLike = !named && ID_FIELD.has(words(context.key).at(-1) ?? '');
      out.push({
        detector: 'payment-card',
        source: 'credit-card-type',
        kind: 'secret',
        confidence: named || grouped ? 'high' : idLike ? 'low' : 'medium',
        description: `payment card number (${brand}, Luhn-valid)`,
        start: m.index!,
        end: m.index! + text.length,
      });
    }
  },
};

// ------------------------------------------------------------------ personal data

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;

const email: ValueDetector = {
  id: 'email',
  run(value, _context, out) {
    if (!value.includes('@')) return;
    for (const m of value.matchAll(EMAIL)) {
      // `user@host` in a URL's authority is a basic-auth credential, not a mailbox.
      if (/:\/\/[^/\s]*$/.test(value.slice(0, m.index!))) continue;
      out.push({
        detector: 'email',
        source: OURS,
        kind: 'pii',
        confidence: 'low',
        description: 'email address',
        start: m.index!,
        end: m.index! + m[0].length,
      });
    }
  },
};

const PHONE_FIELD = /(^|[^a-z])(phone|mobile|tel|telephone|msisdn|cell|cellphone|fax|whatsapp)([^a-z]|$)/;
const INTERNATIONAL_PHONE = /(?<![\w+])\+\d[\d ().-]{6,20}\d(?!\d)/g;

const phone: ValueDetector = {
  id: 'phone',
  run(value, context, out) {
    if (!value.includes('+')) return;
    for (const m of value.matchAll(INTERNATIONAL_PHONE)) {
      const parsed = parsePhoneNumberFromString(m[0]);
      if (parsed === undefined || !parsed.isValid()) continue;
      out.push({
        detector: 'phone',
        source: 'libphonenumber-js',
        kind: 'pii',
        confidence: PHONE_FIELD.test(context.path) ? 'medium' : 'low',
        description: `phone number (${parsed.country ?? `+${parsed.countryCallingCode}`})`,
        start: m.index!,
        end: m.index! + m[0].length,
      });
    }
  },
};

interface IdValidator {
  validate(value: string): { isValid: boolean };
}

/** A national identity number: its name, validator, the field names that announce it, a shape distinctive enough to find it anywhere. */
interface NationalId {
  id: string;
  name: string;
  validator: IdValidator;
  fields: RegExp;
  /** Found in any text when it has this shape and its checksum holds; `null`: only in a field named for it. */
  shape: RegExp | null;
}

const NATIONAL_IDS: readonly NationalId[] = [
  {
    id: 'us-ssn',
    name: 'US Social Security number',
    validator: usSsn,
    fields: /(^|[^a-z])(ssn|social ?security( ?number)?)([^a-z]|$)/,
    shape: /(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g,
  },
  {
    id: 'br-cpf',
    name: 'Brazilian CPF',
    validator: brCpf,
    fields: /(^|[^a-z])cpf([^a-z]|$)/,
    shape: /(?<![\d.])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\d-])/g,
  },
  { id: 'nl-bsn', name: 'Dutch BSN', validator: nlBsn, fields: /(^|[^a-z])(bsn|burgerservicenummer)([^a-z]|$)/, shape: null },
  {
    id: 'es-dni',
    name: 'Spanish DNI',
    validator: esDni,
    fields: /(^|[^a-z])(dni|nif)([^a-z]|$)/,
    shape: /(?<![\dA-Z])\d{8}-?[A-Z](?![\dA-Za-z])/g,
  },
  {
    id: 'es-nie',
    name: 'Spanish NIE',
    validator: esNie,
    fields: /(^|[^a-z])(nie|nif)([^a-z]|$)/,
    shape: /(?<![\dA-Z])[XYZ]-?\d{7}-?[A-Z](?![\dA-Za-z])/g,
  },
  {
    id: 'it-codice-fiscale',
    name: 'Italian codice fiscale',
    validator: itCodiceFiscale,
    fields: /(^|[^a-z])(codice ?fiscale|cf|tax ?code)([^a-z]|$)/,
    shape: /(?<![A-Z0-9])[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?![A-Z0-9])/g,
  },
  {
    id: 'fr-nir',
    name: 'French NIR (social security number)',
    validator: frNir,
    fields: /(^|[^a-z])(nir|insee|numero ?securite ?sociale|secu)([^a-z]|$)/,
    shape: /(?<!\d)[12]\d{2}(0[1-9]|1[0-2])(\d{2}|2[AB])\d{6}\d{2}(?!\d)/g,
  },
  {
    id: 'in-aadhaar',
    name: 'Indian Aadhaar number',
    validator: inAadhaar,
    fields: /(^|[^a-z])(aadhaa?r|uid)([^a-z]|$)/,
    shape: /(?<![\d ])[2-9]\d{3} \d{4} \d{4}(?![\d ])/g,
  },
  {
    id: 'se-personnummer',
    name: 'Swedish personnummer',
    validator: sePersonnummer,
    fields: /(^|[^a-z])(personnummer|personal ?number)([^a-z]|$)/,
    shape: /(?<![\d-])(19|20)?\d{6}[-+]\d{4}(?![\d-])/g,
  },
  {
    id: 'fi-hetu',
    name: 'Finnish HETU',
    validator: fiHetu,
    fields: /(^|[^a-z])(hetu|henkilotunnus)([^a-z]|$)/,
    shape: /(?<![\dA-Z])\d{6}[-+A]\d{3}[0-9A-Y](?![\dA-Za-z])/g,
  },
  {
    id: 'cn-ric',
    name: 'Chinese resident identity card number',
    validator: cnRic,
    fields: /(^|[^a-z])(ric|resident ?id|shenfenzheng)([^a-z]|$)/,
    shape: /(?<!\d)\d{17}[\dX](?![\dX])/g,
  },
  { id: 'ca-sin', name: 'Canadian SIN', validator: caSin, fields: /(^|[^a-z])(sin|social ?insurance( ?number)?)([^a-z]|$)/, shape: null },
  {
    id: 'gb-nino',
    name: 'UK National Insurance number',
    validator: gbNino,
    fields: /(^|[^a-z])(nino|national ?insurance( ?number)?|ni ?number)([^a-z]|$)/,
    shape: null,
  },
];

const GENERIC_ID_FIELD =
  /(^|[^a-z])(national ?id|national ?identity|id ?number|identity ?number|tax ?id|taxpayer ?id|personal ?id)( ?number)?([^a-z]|$)/;

const idFieldCache = new Map<string, { id: NationalId; exact: boolean }[]>();

/** The numbers a field's name announces (all of them, not exactly, for a generic national-id name). */
function idFieldsOf(path: string): { id: NationalId; exact: boolean }[] {
  let known = idFieldCache.get(path);
  if (known === undefined) {
    const field = path.replace(/[_\-.]+/g, ' ');
    const exact = NATIONAL_IDS.filter((id) => id.fields.test(field)).map((id) => ({ id, exact: true }));
    known = exact.length > 0 ? exact : GENERIC_ID_FIELD.test(field) ? NATIONAL_IDS.map((id) => ({ id, exact: false })) : [];
    if (idFieldCache.size >= NAME_CACHE_SIZE) idFieldCache.clear();
    idFieldCache.set(path, known);
  }
  return known;
}

function validId(validator: IdValidator, text: string): boolean {
  try {
    return validator.validate(text).isValid;
  } catch {
    return false;
  }
}

const nationalId: ValueDetector = {
  id: 'national-id',
  run(value, context, out) {
    let digits = 0;
    for (let i = 0; i < value.length && digits < 7; i++) {
      const c = value.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
    }
    // Every number below has at least seven digits.
    if (digits < 7) return;
    const trimmed = value.trim();
    if (context.whole && trimmed.length <= 24) {
      const named = idFieldsOf(context.path);
      for (const { id, exact } of named) {
        // A whole value in a field named for the number (or a generic national-id field).
        if (!validId(id.validator, trimmed)) continue;
        const start = value.indexOf(trimmed);
        out.push({
          detector: `national-id/${id.id}`,
          source: 'stdnum',
          kind: 'pii',
          confidence: exact ? 'high' : 'medium',
          description: `${id.name} (checksum valid)`,
          start,
          end: start + trimmed.length,
        });
        return;
      }
    }
    for (const id of NATIONAL_IDS) {
      if (id.shape === null) continue;
      for (const m of value.matchAll(id.shape)) {
        if (!validId(id.validator, m[0])) continue;
        out.push({
          detector: `national-id/${id.id}`,
          source: 'stdnum',
          kind: 'pii',
          confidence: 'medium',
          description: `${id.name} (checksum valid)`,
          start: m.index!,
          end: m.index! + m[0].length,
        });
      }
    }
  },
};

/** Every value detector, in the order their findings are listed. */
export const VALUE_DETECTORS: readonly ValueDetector[] = [
  credentialField,
  paymentCard,
  jwt,
  httpCredential,
  googleApiKey,
  nationalId,
  email,
  phone,
];
