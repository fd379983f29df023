/**
 * The endpoint catalog: one row per method + route template, with traffic figures and the shape of
 * request and response bodies. Bodies are decoded and walked once per record (cached), so rebuilding
 * the catalog after each new record costs a pass over small summaries, not over the bodies.
 */

import type { ApiRecord } from '../../core/record.js';
import { decodeBody, headerValue, isObject } from './body.js';
import { createShapeBuilder, observe, type BodyShape, type Observation } from './shape.js';

/** One row of the catalog. */
export interface EndpointSummary {
  /** `METHOD route`, unique per row. */
  key: string;
  method: string;
  /** The route template (`url_path`); `''` when no route matched. Outgoing calls: host + path. */
  route: string;
  /** `true` for outgoing calls (`sdk_type` ending in `Outgoing`). */
  outgoing: boolean;
  count: number;
  /** Responses 400-499. */
  clientErrors: number;
  /** Responses 500 and up, or with a recorded error. */
  errors: number;
  /** `errors / count`, 0-1. */
  errorRate: number;
  /** Latency percentiles (nearest rank) and maximum, in milliseconds. */
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** `timestamp` of the newest record. */
  lastSeen: string;
  /** Count per status code, e.g. `{ '200': 3, '404': 1 }`. */
  statuses: Record<string, number>;
  request: BodyShape;
  response: BodyShape;
}

interface RecordFacts {
  key: string;
  method: string;
  route: string;
  outgoing: boolean;
  status: number;
  failed: boolean;
  durationMs: number;
  timestamp: string;
  request: { kind: ReturnType<typeof decodeBody>['kind']; observation?: Observation };
  response: { kind: ReturnType<typeof decodeBody>['kind']; observation?: Observation };
}

/** Builds catalogs from records; see {@link createCatalog}. */
export interface Catalog {
  /** The catalog of these records, busiest endpoint first. */
  build(records: Iterable<ApiRecord>): EndpointSummary[];
}

/**
 * A catalog builder with its own per-record cache (records are immutable once stored).
 *
 * @example
 * const catalog = createCatalog();
 * const [row] = catalog.build(collector.records());
 * row.key; // 'GET /users/:id'
 */
export function createCatalog(): Catalog {
  const cache = new WeakMap<object, RecordFacts>();
  const factsOf = (record: ApiRecord): RecordFacts => {
    let facts = cache.get(record);
    if (facts === undefined) {
      facts = recordFacts(record);
      cache.set(record, facts);
    }
    return facts;
  };
  return {
    build(records: Iterable<ApiRecord>): EndpointSummary[] {
      const groups = new Map<string, RecordFacts[]>();
      for (const record of records) {
        if (!isObject(record)) continue;
        const facts = factsOf(record);
        const group = groups.get(facts.key);
        if (group === undefined) groups.set(facts.key, [facts]);
        else group.push(facts);
      }
      return [...groups.values()].map(summarise).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
  };
}

function recordFacts(record: ApiRecord): RecordFacts {
  const method = typeof record.method === 'string' ? record.method : '?';
  const outgoing = typeof record.sdk_type === 'string' && record.sdk_type.endsWith('Outgoing');
  const path = typeof record.url_path === 'string' ? record.url_path : '';
  const route = outgoing ? `${typeof record.host === 'string' ? record.host : ''}${path}` : path;
  const status = Number.isFinite(record.status_code) ? record.status_code : 0;
  const duration = Number.isFinite(record.duration) ? record.duration : 0;
  return {
    key: `${method} ${route}`,
    method,
    route,
    outgoing,
    status,
    failed: status >= 500 || (Array.isArray(record.errors) && record.errors.length > 0),
    durationMs: duration / 1e6,
    timestamp: typeof record.timestamp === 'string' ? record.timestamp : '',
    request: bodyFacts(record.request_body, headerValue(record.request_headers, 'content-type')),
    response: bodyFacts(record.response_body, headerValue(record.response_headers, 'content-type')),
  };
}

function bodyFacts(base64: unknown, contentType: string | undefined): RecordFacts['request'] {
  const body = decodeBody(base64, contentType);
  return body.kind === 'json' || body.kind === 'form' ? { kind: body.kind, observation: observe(body.json) } : { kind: body.kind };
}

function summarise(group: RecordFacts[]): EndpointSummary {
  const first = group[0] as RecordFacts;
  const durations = group.map((f) => f.durationMs).sort((a, b) => a - b);
  const request = createShapeBuilder();
  const response = createShapeBuilder();
  const statuses: Record<string, number> = {};
  let errors = 0;
  let clientErrors = 0;
  let lastSeen = '';
  for (const facts of group) {
    request.add(facts.request.kind, facts.request.observation);
    response.add(facts.response.kind, facts.response.observation);
    statuses[facts.status] = (statuses[facts.status] ?? 0) + 1;
    if (facts.failed) errors++;
    else if (facts.status >= 400) clientErrors++;
    // RFC 3339 UTC timestamps compare as strings; a malformed one sorts wherever it sorts.
    if (facts.timestamp > lastSeen) lastSeen = facts.timestamp;
  }
  return {
    key: first.key,
    method: first.method,
    route: first.route,
    outgoing: first.outgoing,
    count: group.length,
    clientErrors,
    errors,
    errorRate: errors / group.length,
    p50Ms: percentile(durations, 0.5),
    p95Ms: percentile(durations, 0.95),
    maxMs: durations[durations.length - 1] ?? 0,
    lastSeen,
    statuses,
    request: request.result(),
    response: response.result(),
  };
}

/**
 * Nearest-rank percentile of an ascending list: the smallest value with at least `p` of the list
 * at or below it.
 *
 * @example
 * percentile([1, 2, 3, 4], 0.5); // 2
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}
