/**
 * The wire format: one `ApiRecord` per observed request, published as the UTF-8 JSON of the
 * object (see the project's docs/wire-format contract). Field names and types are the contract.
 */

/**
 * Headers as node and the SDK's captures give them (`req.headersDistinct`, `req.headers`,
 * `res.getHeaders()`): what a record's header sets are made from, before redaction.
 */
export type HeaderInput = Record<string, string | readonly string[] | number | undefined>;

/** One error raised while serving a request. */
export interface ErrorRecord {
  /** RFC 3339 timestamp of when the error was recorded. */
  when: string;
  /** Constructor name of the error, e.g. `TypeError`. */
  error_type: string;
  message: string;
  /** Type of the innermost `cause` (the error itself when it has none). */
  root_error_type: string;
  /** Message of the innermost `cause`. */
  root_error_message: string;
  stack_trace: string;
}

/** Which integration produced a record. */
export type SdkType =
  | 'JsExpress'
  | 'JsFastify'
  | 'JsKoa'
  | 'JsHono'
  | 'JsNest'
  | 'JsNext'
  | 'JsNode'
  | 'JsFetch'
  | 'JsFetchOutgoing'
  | 'JsHttpOutgoing'
  | 'JsAxiosOutgoing';

/** One observed request and its response, exactly as published. */
export interface ApiRecord {
  timestamp: string;
  /** Nanoseconds from request start to response end. */
  duration: number;
  project_id: string;
  sdk_type: SdkType;
  method: string;
  host: string;
  /** Route template (`/users/:id`), full mounted path; `""` when no route matched. */
  url_path: string;
  /** Path and query string as received. */
  raw_url: string;
  path_params: Record<string, string>;
  query_params: Record<string, string[]>;
  request_headers: Record<string, string[]>;
  response_headers: Record<string, string[]>;
  /** Base64 of the (redacted) request body bytes; `""` when empty. */
  request_body: string;
  /** Base64 of the (redacted) response body bytes; `""` when empty. */
  response_body: string;
  status_code: number;
  proto_major: number;
  proto_minor: number;
  referer: string;
  errors: ErrorRecord[];
  service_version: string | null;
  tags: string[];
  msg_id: string;
  parent_id: string | null;
}

/** The constant that replaces every redacted value. */
export const REDACTED = '[CLIENT_REDACTED]';
