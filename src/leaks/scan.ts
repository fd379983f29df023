/**
 * Scanning: every detector over every value of a record ({@link scanRecord}), and many records
 * summed up per endpoint and field with the redaction rule that would hide it ({@link scanRecords}).
 */

import type { ApiRecord } from '../core/record.js';
import { VALUE_DETECTORS, type ValueMatch } from './detectors.js';
import { slotsOf } from './record.js';
import { scanWithSecretlint } from './secretlint.js';
import { atLeast, CONFIDENCE_ORDER, maskValue, type LeakConfidence, type LeakFinding, type LeakKind, type LeakLocation } from './types.js';

/** Options of {@link scanRecord} and {@link scanRecords}. */
export interface ScanOptions {
  /** Findings below this confidence are left out. Default `'low'` (all). */
  minConfidence?: LeakConfidence;
}

/**
 * Every finding in one record, in the order of its values (request first). A value several
 * detectors flag is listed once per detector.
 *
 * @example
 * const findings = scanRecord(record);
 * findings[0]; // { detector: 'payment-card', confidence: 'high', location: { part: 'request_body', field: "$['credit-card'].number", ... }, ... }
 */
export function scanRecord(record: ApiRecord, options: ScanOptions = {}): LeakFinding[] {
  const min = options.minConfidence ?? 'low';
  const slots = slotsOf(record);
  const secretlint = scanWithSecretlint(slots.map((slot) => ({ key: slot.whole ? slot.key : '', value: slot.value, whole: slot.whole })));
  const findings: LeakFinding[] = [];
  const matches: ValueMatch[] = [];
  const context = { key: '', path: '', whole: true };
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    // No detector flags one or two characters (a CVV has three, a PIN four).
    if (slot.value.length < 3 && secretlint[i]!.length === 0) continue;
    matches.length = 0;
    context.key = slot.key;
    context.path = slot.path;
    context.whole = slot.whole;
    for (const detector of VALUE_DETECTORS) {
      try {
        detector.run(slot.value, context, matches);
      } catch {
        // A detector must not stop the others (nor the request it looks at).
      }
    }
    for (const m of secretlint[i]!) matches.push(m);
    if (matches.length === 0) continue;
    let seen: Set<string> | null = null;
    for (const m of matches) {
      if (!atLeast(m.confidence, min)) continue;
      if (matches.length > 1) {
        const key = `${m.detector} ${m.start} ${m.end}`;
        seen ??= new Set();
        if (seen.has(key)) continue;
        seen.add(key);
      }
      const match = slot.value.slice(m.start, m.end);
      findings.push({
        detector: m.detector,
        source: m.source,
        kind: m.kind,
        confidence: m.confidence,
        description: m.description,
        location: { ...slot.location },
        preview: maskValue(match),
        match,
      });
    }
  }
  return findings;
}

/** The redaction rule that hides a field: the option and the value to add to it. */
export interface SuggestedRule {
  /** `redactHeaders`, `redactQueryParams`, `redactRequestBody`, `redactOutgoingResponseBody`... */
  option: string;
  /** The header name, parameter name or JSONPath. */
  value: string;
  /** Ready to paste into `new APIToolkit({...})`: `redactRequestBody: ["$['credit-card'].number"]`. */
  text: string;
}

/** One field of one endpoint that some detector flagged, over all the records scanned. */
export interface LeakGroup {
  /** Stable and readable: `POST /login request_body $['credit-card'].number`. Dismissals name it. */
  id: string;
  /** `METHOD route` as the inspector's catalog keys endpoints (`GET api.example.com/v1/x` for outgoing calls). */
  endpoint: string;
  method: string;
  route: string;
  outgoing: boolean;
  location: Omit<LeakLocation, 'exact'>;
  kind: LeakKind;
  /** The highest confidence among its detectors. */
  confidence: LeakConfidence;
  /** Each detector that flagged the field, with its best confidence and how many records it flagged. */
  detectors: { detector: string; source: string; description: string; confidence: LeakConfidence; records: number }[];
  /** Records in which the field was flagged. */
  records: number;
  /** `msg_id`s of the newest of those records (at most {@link MAX_GROUP_EXAMPLES}). */
  msgIds: string[];
  /** A masked preview of a flagged value. */
  preview: string;
  /** The rule to add, or `null` when no rule can reach the field (see `advice`). */
  rule: SuggestedRule | null;
  /** What to do, in words. */
  advice: string;
  /** `true` when listed in the dismissals given to {@link scanRecords}. */
  dismissed: boolean;
}

/** What {@link scanRecords} returns. */
export interface LeakReport {
  /** Records scanned. */
  records: number;
  /** Every flagged field, most certain and most frequent first. */
  groups: LeakGroup[];
  /** The groups that are not dismissed and reach `failOn`. */
  open: LeakGroup[];
  /** `true` when `open` is empty. */
  ok: boolean;
  /** The rules of the open groups, per option, ready for `new APIToolkit({...})`. */
  rules: Record<string, string[]>;
}

/** Options of {@link scanRecords}. */
export interface ScanRecordsOptions extends ScanOptions {
  /** Ids of groups dismissed as false positives (the inspector's dismissals). Default none. */
  dismissed?: Iterable<string>;
  /** Open groups below this confidence do not make the report fail. Default `'medium'`. */
  failOn?: LeakConfidence;
}

export const MAX_GROUP_EXAMPLES = 50;

const isOutgoing = (record: ApiRecord): boolean => typeof record.sdk_type === 'string' && record.sdk_type.endsWith('Outgoing');

/** `METHOD route`, the inspector catalog's key of the endpoint a record belongs to. */
export function endpointOf(record: ApiRecord): { key: string; method: string; route: string; outgoing: boolean } {
  const method = typeof record.method === 'string' ? record.method : '?';
  const outgoing = isOutgoing(record);
  const path = typeof record.url_path === 'string' ? record.url_path : '';
  const route = outgoing ? `${typeof record.host === 'string' ? record.host : ''}${path}` : path;
  return { key: `${method} ${route}`, method, route, outgoing };
}

/**
 * The rule that hides a location, or `null` with advice when none can.
 *
 * @example
 * suggestRule({ part: 'request_body', field: "$['credit-card'].number" }, false).rule?.text;
 * // `redactRequestBody: ["$['credit-card'].number"]`
 */
export function suggestRule(location: Omit<LeakLocation, 'exact'>, outgoing: boolean): { rule: SuggestedRule | null; advice: string } {
  const make = (option: string, value: string): { rule: SuggestedRule; advice: string } => ({
    rule: { option, value, text: `${option}: [${JSON.stringify(value)}]` },
    advice: `add ${option}: [${JSON.stringify(value)}] to the options of new APIToolkit()`,
  });
  switch (location.part) {
    case 'request_header':
    case 'response_header':
      return make(outgoing ? 'redactOutgoingHeaders' : 'redactHeaders', location.field);
    case 'query':
      return make('redactQueryParams', location.field);
    case 'request_body':
    case 'response_body': {
      if (location.field === '') {
        return {
          rule: null,
          advice:
            'the body is neither JSON nor form fields, so no JSONPath rule reaches it: stop sending the value, or drop it in beforeSend',
        };
      }
      const side = location.part === 'request_body' ? 'RequestBody' : 'ResponseBody';
      return make(`redact${outgoing ? 'Outgoing' : ''}${side}`, location.field);
    }
    case 'url_path':
      return {
        rule: null,
        advice: `the URL path carries it (path parameter "${location.field}"): move it to a header or the body, or drop the record with ignorePaths`,
      };
    case 'error':
      return { rule: null, advice: 'an error message carries it: take it out of the message, or rewrite errors in beforeSend' };
  }
}

/**
 * Scans many records (a `MemoryTransport`'s, a collector's) and sums up the findings per endpoint
 * and field, with the rule to add for each.
 *
 * @example
 * const report = scanRecords(transport.records());
 * if (!report.ok) console.log(report.rules); // { redactRequestBody: ["$['credit-card'].number"] }
 */
export function scanRecords(records: Iterable<ApiRecord>, options: ScanRecordsOptions = {}): LeakReport {
  return summarize(records, (record) => scanRecord(record, options), options);
}

/**
 * Like {@link scanRecords}, with the findings of each record from `findingsOf` (the collector
 * caches them per record).
 */
export function summarize(
  records: Iterable<ApiRecord>,
  findingsOf: (record: ApiRecord) => readonly LeakFinding[],
  options: ScanRecordsOptions = {},
): LeakReport {
  const dismissed = new Set(options.dismissed ?? []);
  const failOn = options.failOn ?? 'medium';
  const min = options.minConfidence ?? 'low';
  const groups = new Map<string, LeakGroup & { detectorMap: Map<string, LeakGroup['detectors'][number]> }>();
  let count = 0;
  for (const record of records) {
    if (typeof record !== 'object' || record === null) continue;
    count++;
    const endpoint = endpointOf(record);
    const touched = new Set<string>();
    const touchedDetectors = new Set<string>();
    for (const finding of findingsOf(record)) {
      if (!atLeast(finding.confidence, min)) continue;
      const { part, field } = finding.location;
      const id = `${endpoint.key} ${part} ${field}`;
      let group = groups.get(id);
      if (group === undefined) {
        const { rule, advice } = suggestRule({ part, field }, endpoint.outgoing);
        group = {
          id,
          endpoint: endpoint.key,
          method: endpoint.method,
          route: endpoint.route,
          outgoing: endpoint.outgoing,
          location: { part, field },
          kind: finding.kind,
          confidence: finding.confidence,
          detectors: [],
          records: 0,
          msgIds: [],
          preview: finding.preview,
          rule,
          advice,
          dismissed: dismissed.has(id),
          detectorMap: new Map(),
        };
        groups.set(id, group);
      }
      if (rank(finding.confidence) < rank(group.confidence)) {
        group.confidence = finding.confidence;
        group.preview = finding.preview;
      }
      if (finding.kind === 'secret') group.kind = 'secret';
      let detector = group.detectorMap.get(finding.detector);
      if (detector === undefined) {
        detector = {
          detector: finding.detector,
          source: finding.source,
          description: finding.description,
          confidence: finding.confidence,
          records: 0,
        };
        group.detectorMap.set(finding.detector, detector);
        group.detectors.push(detector);
      } else if (rank(finding.confidence) < rank(detector.confidence)) {
        detector.confidence = finding.confidence;
        detector.description = finding.description;
      }
      if (!touchedDetectors.has(`${id} ${finding.detector}`)) {
        touchedDetectors.add(`${id} ${finding.detector}`);
        detector.records++;
      }
      if (!touched.has(id)) {
        touched.add(id);
        group.records++;
        if (typeof record.msg_id === 'string') {
          group.msgIds.push(record.msg_id);
          if (group.msgIds.length > MAX_GROUP_EXAMPLES) group.msgIds.shift();
        }
      }
    }
  }
  const list: LeakGroup[] = [...groups.values()].map(({ detectorMap: _d, ...group }) => {
    group.detectors.sort((a, b) => rank(a.confidence) - rank(b.confidence) || b.records - a.records);
    return group;
  });
  list.sort(
    (a, b) =>
      rank(a.confidence) - rank(b.confidence) ||
      (a.kind === b.kind ? 0 : a.kind === 'secret' ? -1 : 1) ||
      b.records - a.records ||
      (a.id < b.id ? -1 : 1),
  );
  const open = list.filter((group) => !group.dismissed && atLeast(group.confidence, failOn));
  return { records: count, groups: list, open, ok: open.length === 0, rules: rulesOf(open) };
}

function rank(confidence: LeakConfidence): number {
  return CONFIDENCE_ORDER.indexOf(confidence);
}

const OPTION_ORDER = [
  'redactHeaders',
  'redactQueryParams',
  'redactRequestBody',
  'redactResponseBody',
  'redactOutgoingHeaders',
  'redactOutgoingRequestBody',
  'redactOutgoingResponseBody',
];

/** The rules of these groups merged per option (in the README's order), each value once, sorted. */
export function rulesOf(groups: readonly LeakGroup[]): Record<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const group of groups) {
    if (group.rule === null) continue;
    let set = sets.get(group.rule.option);
    if (set === undefined) sets.set(group.rule.option, (set = new Set()));
    set.add(group.rule.value);
  }
  const rules: Record<string, string[]> = {};
  for (const option of OPTION_ORDER) {
    const set = sets.get(option);
    if (set !== undefined) rules[option] = [...set].sort();
  }
  return rules;
}
