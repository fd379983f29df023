/**
 * Cloud and SaaS credentials with well-known shapes, found by secretlint's recommended rule preset
 * (`@secretlint/secretlint-rule-preset-recommend`, MIT, bundled into the build): AWS, GCP service
 * accounts, private keys, GitHub, GitLab, Slack, Stripe, SendGrid, Shopify, npm, OpenAI, Anthropic,
 * database connection strings and more. Secretlint runs rules over files; here a small host runs
 * the same rules over the values of a record, all in one text, and maps each report back to the
 * value it starts in.
 */

import { rules as presetRules } from '@secretlint/secretlint-rule-preset-recommend';
import type { ValueMatch } from './detectors.js';

/** The little of secretlint's rule API that the preset's scanner rules use. */
interface RuleContext {
  report(descriptor: { message: string; range: readonly [number, number] }): void;
  createTranslator(messages: Record<string, unknown>): (id: string, props?: unknown) => string;
  ignore(descriptor: unknown): void;
  registerRule(rule: unknown): void;
  sharedOptions: Record<string, unknown>;
}

interface RuleCreator {
  meta: { id: string; type?: string };
  create(context: RuleContext, options: Record<string, unknown>): { file?(source: SourceLike): unknown };
}

interface SourceLike {
  content: string;
  contentType: 'text';
  filePath: undefined;
  ext: string;
}

/** Rules of the preset left out: a filter, not a scanner, and one that only reads files. */
const SKIPPED = new Set(['@secretlint/secretlint-rule-filter-comments']);
/** Per-rule options: AWS access key ids are reported too (off by default in secretlint). */
const RULE_OPTIONS: Readonly<Record<string, Record<string, unknown>>> = {
  '@secretlint/secretlint-rule-aws': { enableIDScanRule: true },
};

/** Values shorter than this can't hold any credential the preset knows (`https://a:b@c.d` is 15). */
export const MIN_SECRETLINT_CHARS = 12;
/** Between values: breaks every pattern of the preset (none spans a NUL between newlines). */
const SEPARATOR = '\n\u0000\n';

interface CompiledRule {
  id: string;
  name: string;
  file: (source: SourceLike) => unknown;
}

let compiled: CompiledRule[] | null = null;
let sink: { message: string; range: readonly [number, number]; rule: CompiledRule }[] = [];

function compile(): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const rule of presetRules as unknown as RuleCreator[]) {
    if (SKIPPED.has(rule.meta.id) || rule.meta.type === 'filter') continue;
    const entry: CompiledRule = {
      id: rule.meta.id,
      name: rule.meta.id.replace(/^@secretlint\/secretlint-rule-/, ''),
      file: () => undefined,
    };
    const context: RuleContext = {
      report: (descriptor) => sink.push({ message: descriptor.message, range: descriptor.range, rule: entry }),
      // The message id ("AWSSecretAccessKey") describes what was found without repeating the value.
      createTranslator: () => (id: string) => id,
      ignore: () => {},
      registerRule: () => {},
      sharedOptions: {},
    };
    const handlers = rule.create(context, RULE_OPTIONS[rule.meta.id] ?? {});
    if (typeof handlers.file !== 'function') continue;
    entry.file = handlers.file.bind(handlers);
    out.push(entry);
  }
  return out;
}

/** The ids of the secretlint rules in use (`@secretlint/secretlint-rule-aws`, ...). */
export function secretlintRuleIds(): string[] {
  compiled ??= compile();
  return compiled.map((rule) => rule.id);
}

/** `AWSSecretAccessKey` -> `AWS Secret Access Key`; `STRIPE_SECRET_KEY_LIVE` -> `Stripe secret key live`. */
function words(messageId: string): string {
  if (messageId.includes('_')) {
    const text = messageId.toLowerCase().replace(/_+/g, ' ').trim();
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  return messageId.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
}

/**
 * Runs every rule of the preset once over `texts` (one line each, with an optional `key: ` in front
 * for rules that need the field name, like AWS's `aws_secret_access_key = ...`) and returns, per
 * text, what was found in its value. Texts shorter than {@link MIN_SECRETLINT_CHARS} are skipped.
 */
export function scanWithSecretlint(texts: readonly { key: string; value: string; whole: boolean }[]): ValueMatch[][] {
  compiled ??= compile();
  const results: ValueMatch[][] = texts.map(() => []);
  const starts: number[] = [];
  const prefixes: number[] = [];
  const indexes: number[] = [];
  const parts: string[] = [];
  let offset = 0;
  texts.forEach((text, i) => {
    if (text.value.length < MIN_SECRETLINT_CHARS) return;
    const prefix = text.key === '' ? '' : `${text.key}: `;
    starts.push(offset);
    prefixes.push(prefix.length);
    indexes.push(i);
    parts.push(prefix + text.value);
    offset += prefix.length + text.value.length + SEPARATOR.length;
  });
  if (parts.length === 0) return results;
  const source: SourceLike = { content: parts.join(SEPARATOR), contentType: 'text', filePath: undefined, ext: '' };
  sink = [];
  for (const rule of compiled) {
    try {
      const pending = rule.file(source);
      // The rules that can be async only do file-system work, skipped here without a path.
      if (pending !== null && typeof pending === 'object' && typeof (pending as Promise<unknown>).catch === 'function')
        (pending as Promise<unknown>).catch(() => {});
    } catch {
      // A rule that throws on odd input finds nothing; the other rules still run.
    }
  }
  const reports = sink;
  sink = [];
  for (const report of reports) {
    const at = report.range[0];
    // The last text starting at or before `at`.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    const valueStart = starts[lo]! + prefixes[lo]!;
    const value = texts[indexes[lo]!]!.value;
    // Some rules report the start of `key = value` with the value's length: keep the value's part.
    if (report.range[1] <= valueStart) continue; // only the field name matched
    let start = Math.max(0, Math.min(value.length, at - valueStart));
    let end = Math.max(start, Math.min(value.length, report.range[1] - valueStart));
    if (texts[indexes[lo]!]!.whole) {
      // A whole field is flagged whole (and some rules' ranges are off by the key's length).
      start = 0;
      end = value.length;
    } else {
      // In free text, widen to the surrounding non-blank run: never leave a tail of the secret.
      while (start > 0 && !/\s/.test(value.charAt(start - 1))) start--;
      while (end < value.length && !/\s/.test(value.charAt(end))) end++;
    }
    results[indexes[lo]!]!.push({
      detector: `secretlint/${report.rule.name}`,
      source: 'secretlint',
      kind: 'secret',
      confidence: 'high',
      description: words(report.message),
      start,
      end: end === start ? value.length : end,
    });
  }
  return results;
}
