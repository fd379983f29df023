/**
 * Export as HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): the recorded requests in the
 * format browsers' network panels, proxies and API tools import. What HAR has no field for (route
 * template, ids, errors) goes in `_apitoolkit`, as the spec allows for custom fields.
 */

import { STATUS_CODES } from 'node:http';
import type { ApiRecord } from '../../core/record.js';
import { decodeBody, encodeForm, headerValue, isObject, recordURL } from './body.js';

/** A name/value pair (headers, query string, form parameters). */
export interface HarNameValue {
  name: string;
  value: string;
}

/** HAR 1.2 `postData`. */
export interface HarPostData {
  mimeType: string;
  text: string;
  params?: HarNameValue[];
  comment?: string;
}

/** HAR 1.2 `content`. */
export interface HarContent {
  size: number;
  mimeType: string;
  text?: string;
  encoding?: 'base64';
}

/** One HAR 1.2 entry. */
export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    queryString: HarNameValue[];
    postData?: HarPostData;
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    content: HarContent;
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { blocked: number; dns: number; connect: number; ssl: number; send: number; wait: number; receive: number };
  _apitoolkit: {
    msg_id: unknown;
    parent_id: unknown;
    url_path: unknown;
    sdk_type: unknown;
    path_params: unknown;
    errors: unknown;
    service_version: unknown;
    tags: unknown;
  };
}

/** A HAR 1.2 document. */
export interface Har {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    entries: HarEntry[];
    comment?: string;
  };
}

/**
 * Builds a HAR 1.2 log from records, oldest first. Bodies are decoded (binary ones stay base64 with
 * `encoding: 'base64'`); redacted values stay `[CLIENT_REDACTED]`. The wire format has no timing
 * breakdown, so the whole duration is `wait`.
 *
 * @example
 * const har = toHar(collector.records(), { name: 'apitoolkit-node', version: '0.1.0' });
 * writeFileSync('traffic.har', JSON.stringify(har, null, 2));
 */
export function toHar(records: readonly ApiRecord[], creator: { name: string; version: string }): Har {
  const entries = records.filter(isObject).map((record) => toEntry(record as unknown as ApiRecord));
  entries.sort((a, b) => (a.startedDateTime < b.startedDateTime ? -1 : a.startedDateTime > b.startedDateTime ? 1 : 0));
  return {
    log: {
      version: '1.2',
      creator: { name: creator.name, version: creator.version },
      entries,
      comment: 'Exported by the apitoolkit-node inspector: values the SDK redacted read [CLIENT_REDACTED].',
    },
  };
}

function toEntry(record: ApiRecord): HarEntry {
  const time = Number.isFinite(record.duration) && record.duration > 0 ? record.duration / 1e6 : 0;
  const httpVersion = `HTTP/${Number.isInteger(record.proto_major) ? record.proto_major : 1}.${Number.isInteger(record.proto_minor) ? record.proto_minor : 1}`;
  const status = Number.isInteger(record.status_code) ? record.status_code : 0;
  const requestType = headerValue(record.request_headers, 'content-type');
  const responseType = headerValue(record.response_headers, 'content-type');
  const requestBody = decodeBody(record.request_body, requestType);
  const responseBody = decodeBody(record.response_body, responseType);
  const timestamp =
    typeof record.timestamp === 'string' && !Number.isNaN(Date.parse(record.timestamp)) ? record.timestamp : new Date(0).toISOString();

  let postData: HarPostData | undefined;
  if (requestBody.kind === 'form' && isObject(requestBody.json)) {
    const text = encodeForm(requestBody.json);
    postData = {
      mimeType: requestType ?? 'application/x-www-form-urlencoded',
      text,
      params: [...new URLSearchParams(text)].map(([name, value]) => ({ name, value })),
    };
  } else if (requestBody.kind === 'binary') {
    // postData has no encoding field: say what the text is.
    postData = {
      mimeType: requestType ?? 'application/octet-stream',
      text: requestBody.bytes.toString('base64'),
      comment: 'base64 of a binary body',
    };
  } else if (requestBody.kind !== 'empty') {
    postData = {
      mimeType: requestType ?? (requestBody.kind === 'json' ? 'application/json' : 'text/plain'),
      text: requestBody.text as string,
    };
  }

  const content: HarContent = {
    size: responseBody.bytes.length,
    mimeType: responseType ?? (responseBody.kind === 'empty' ? 'x-unknown' : 'application/octet-stream'),
  };
  if (responseBody.kind === 'binary') {
    content.text = responseBody.bytes.toString('base64');
    content.encoding = 'base64';
  } else if (responseBody.kind !== 'empty') {
    content.text = responseBody.text as string;
  }

  return {
    startedDateTime: timestamp,
    time,
    request: {
      method: typeof record.method === 'string' ? record.method : 'GET',
      url: recordURL(record),
      httpVersion,
      cookies: [],
      headers: pairs(record.request_headers),
      queryString: pairs(record.query_params),
      ...(postData === undefined ? {} : { postData }),
      headersSize: -1,
      bodySize: requestBody.bytes.length,
    },
    response: {
      status,
      statusText: STATUS_CODES[status] ?? '',
      httpVersion,
      cookies: [],
      headers: pairs(record.response_headers),
      content,
      redirectURL: headerValue(record.response_headers, 'location') ?? '',
      headersSize: -1,
      bodySize: responseBody.bytes.length,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: time, receive: 0 },
    _apitoolkit: {
      msg_id: record.msg_id,
      parent_id: record.parent_id,
      url_path: record.url_path,
      sdk_type: record.sdk_type,
      path_params: record.path_params,
      errors: record.errors,
      service_version: record.service_version,
      tags: record.tags,
    },
  };
}

/** `{ a: ['1', '2'] }` -> `[{ name: 'a', value: '1' }, { name: 'a', value: '2' }]`. */
function pairs(map: unknown): HarNameValue[] {
  if (!isObject(map)) return [];
  const out: HarNameValue[] = [];
  for (const [name, values] of Object.entries(map)) {
    for (const value of Array.isArray(values) ? values : [values])
      out.push({ name, value: typeof value === 'string' ? value : String(value) });
  }
  return out;
}
