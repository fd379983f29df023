/**
 * Inputs and reporting shared by the micro-benchmarks (one file per pipeline stage): bodies of
 * 1 KB and 64 KB, the macro benchmark's redaction rules plus 20 that match nothing, a record as the
 * SDK builds it, and the conversion of tinybench results to report rows.
 */
import { Bench, type Task } from 'tinybench';
import type { ApiRecord } from '../../src/core/record.js';
import { REDACT_REQUEST_BODY, REDACT_RESPONSE_BODY, REQUEST_BODY, responseBody } from '../servers/common.js';

export { REDACT_REQUEST_BODY, REDACT_RESPONSE_BODY };

/** 20 rules that match nothing in these bodies: their cost should not grow with the body. */
export const NON_MATCHING_RULES = Array.from({ length: 20 }, (_, i) => `$.absent${i}.field`);

/** Request and response bodies of about 1 KB: the macro benchmark's. */
export const REQUEST_1K = Buffer.from(REQUEST_BODY);
export const RESPONSE_1K = Buffer.from(JSON.stringify(responseBody('42', 'Ada')));

/** About 64 KB of nested JSON with the same redacted fields (so `$..secret` has many nodes to visit). */
function items(bytes: number): object[] {
  const list: object[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const item = { id: i, title: `item ${i} ${'t'.repeat(40)}`, tags: ['a', 'b', 'c'], price: { amount: i * 3, currency: 'EUR' } };
    size += JSON.stringify(item).length + 1;
    list.push(item);
  }
  return list;
}
const request = JSON.parse(REQUEST_BODY) as Record<string, unknown>;
export const REQUEST_64K = Buffer.from(JSON.stringify({ ...request, bio: 'b'.repeat(100), items: items(64 * 1024 - 300) }));
export const RESPONSE_64K = Buffer.from(
  JSON.stringify({ ...(responseBody('42', 'Ada') as Record<string, unknown>), padding: '', items: items(64 * 1024 - 200) }),
);

export const JSON_TYPE = 'application/json';

/** A record as the SDK queues it, with redacted bodies of the given sizes (base64, as sent). */
export function sampleRecord(requestBody: Buffer, responseBodyBytes: Buffer): ApiRecord {
  return {
    timestamp: new Date().toISOString(),
    duration: 1_234_567,
    project_id: '00000000-0000-4000-8000-000000000000',
    sdk_type: 'JsExpress',
    method: 'POST',
    host: '127.0.0.1:3000',
    url_path: '/users/:id',
    raw_url: '/users/42',
    path_params: { id: '42' },
    query_params: {},
    request_headers: {
      host: ['127.0.0.1:3000'],
      'content-type': ['application/json'],
      'content-length': [String(requestBody.length)],
      'user-agent': ['autocannon'],
      authorization: ['[CLIENT_REDACTED]'],
    },
    response_headers: {
      'x-powered-by': ['Express'],
      'content-type': ['application/json; charset=utf-8'],
      'content-length': [String(responseBodyBytes.length)],
      etag: ['W/"3d5-abc"'],
    },
    request_body: requestBody.toString('base64'),
    response_body: responseBodyBytes.toString('base64'),
    status_code: 200,
    proto_major: 1,
    proto_minor: 1,
    referer: '',
    errors: [],
    service_version: 'bench',
    tags: [],
    msg_id: '2c0c4f7e-8f0b-4a43-9b59-4f3b2c9d1e11',
    parent_id: null,
  };
}

/** One line of the micro table. */
export interface MicroRow {
  stage: string;
  case: string;
  /** Median time per operation, microseconds (per message for a batch divided up); robust to a noisy machine. */
  medianUs: number;
  /** Mean time per operation, microseconds (same unit). */
  meanUs: number;
  /** 99th percentile of the samples, microseconds (same unit). */
  p99Us: number;
  samples: number;
  /** Extra words: the unit, how it was derived. */
  note?: string;
}

export interface MicroOptions {
  /** Time budget per task, milliseconds. */
  timeMs: number;
}

export function newBench(options: MicroOptions): Bench {
  return new Bench({ time: options.timeMs, warmupTime: Math.max(50, Math.round(options.timeMs / 4)) });
}

/** A row from a finished task; `divideBy` turns a batch's figures into per-message ones. */
export function rowOf(task: Task, stage: string, name: string, divideBy = 1, note?: string): MicroRow {
  const result = task.result;
  if (result.state !== 'completed') {
    const why = result.state === 'errored' ? result.error.message : result.state;
    throw new Error(`micro ${stage} / ${name}: ${why}`);
  }
  return {
    stage,
    case: name,
    medianUs: (result.latency.p50 * 1_000) / divideBy,
    meanUs: (result.latency.mean * 1_000) / divideBy,
    p99Us: (result.latency.p99 * 1_000) / divideBy,
    samples: result.latency.samplesCount,
    ...(note === undefined ? {} : { note }),
  };
}

/** The task named `name` of `bench`. */
export function task(bench: Bench, name: string): Task {
  const found = bench.tasks.find((t) => t.name === name);
  if (found === undefined) throw new Error(`no task ${name}`);
  return found;
}

export function kb(buffer: Buffer): string {
  return `${Math.round(buffer.length / 1024)} KB`;
}
