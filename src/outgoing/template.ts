/**
 * URL templates for outgoing calls: the backend groups calls by `url_path`, so `/users/42` and
 * `/users/43` must both become `/users/:id`. User patterns are tried first, in order; the default
 * rule replaces the path segments that look like ids. Everything is compiled once, at construction.
 */
import { OptionsInvalidError } from '../core/errors.js';
import type { RouteMatch } from '../core/capture.js';
import { setOwn } from '../core/own.js';

/** Turns the host and path of an outgoing call into a template and its params. */
export interface UrlTemplater {
  /** `host` as in the URL (`api.example.com`, `127.0.0.1:8080`); `path` without the query. */
  match(host: string, path: string): RouteMatch;
}

interface Pattern {
  /** Lower-cased; `undefined` matches any host. */
  readonly host: string | undefined;
  readonly template: string;
  /** One entry per segment: a literal, or `{ param }`. */
  readonly segments: readonly (string | { readonly param: string })[];
}

const DIGITS = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// 16+ hex digits: Mongo ObjectIds (24), SHA-1/256 digests, most opaque hex tokens.
const LONG_HEX = /^[0-9a-f]{16,}$/i;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:\d{1,5})?$/;

/**
 * True for a path segment the default rule treats as an id: all digits (`42`), a UUID
 * (`3f2b…-…`), or at least 16 hex digits (`507f1f77bcf86cd799439011`).
 *
 * @example
 * isIdSegment('42');      // true
 * isIdSegment('v1');      // false
 */
export function isIdSegment(segment: string): boolean {
  return DIGITS.test(segment) || UUID.test(segment) || LONG_HEX.test(segment);
}

/**
 * The default template of a path: every id segment (see {@link isIdSegment}) becomes `:id`, the
 * second `:id2`, the third `:id3`, and so on; the params hold the (decoded) values.
 *
 * @example
 * defaultTemplate('/orgs/7/users/42'); // { template: '/orgs/:id/users/:id2', params: { id: '7', id2: '42' } }
 */
export function defaultTemplate(path: string): RouteMatch {
  const segments = path.split('/');
  const params: Record<string, string> = {};
  let count = 0;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    if (segment === '' || !isIdSegment(segment)) continue;
    count += 1;
    const name = count === 1 ? 'id' : `id${count}`;
    params[name] = segment;
    segments[i] = `:${name}`;
  }
  return { template: count === 0 ? path : segments.join('/'), params };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// `/a/b/` and `/a/b` name the same endpoint for matching purposes.
function splitPath(path: string): string[] {
  const segments = path.split('/');
  if (segments.length > 2 && segments[segments.length - 1] === '') segments.pop();
  return segments;
}

function compilePattern(pattern: string, option: string): Pattern {
  const slash = pattern.indexOf('/');
  if (slash === -1)
    throw new OptionsInvalidError(
      option,
      `expected a path such as "/users/:id" or "api.example.com/users/:id", got ${JSON.stringify(pattern)}`,
    );
  const host = slash === 0 ? undefined : pattern.slice(0, slash).toLowerCase();
  // `users/:id` is a path missing its `/`, not a host named "users": say so rather than never match.
  if (host !== undefined && (!HOST.test(host) || !(host === 'localhost' || /[.:]/.test(host)))) {
    throw new OptionsInvalidError(
      option,
      `expected a path starting with "/" (or a host such as "api.example.com/…"), got ${JSON.stringify(pattern)}`,
    );
  }
  const template = pattern.slice(slash);
  if (/[?#]/.test(template))
    throw new OptionsInvalidError(option, `a pattern matches the path only, without query or fragment: ${JSON.stringify(pattern)}`);
  const names = new Set<string>();
  const segments = splitPath(template).map((segment) => {
    if (!segment.startsWith(':')) return segment;
    const param = segment.slice(1);
    if (!PARAM_NAME.test(param))
      throw new OptionsInvalidError(option, `invalid parameter name ${JSON.stringify(segment)} in ${JSON.stringify(pattern)}`);
    if (names.has(param))
      throw new OptionsInvalidError(option, `parameter ${JSON.stringify(segment)} appears twice in ${JSON.stringify(pattern)}`);
    names.add(param);
    return { param };
  });
  return Object.freeze({ host, template, segments: Object.freeze(segments) });
}

function matchPattern(pattern: Pattern, host: string, path: string): RouteMatch | undefined {
  if (pattern.host !== undefined && pattern.host !== host.toLowerCase() && pattern.host !== hostname(host).toLowerCase()) return undefined;
  const segments = splitPath(path);
  if (segments.length !== pattern.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i += 1) {
    const expected = pattern.segments[i]!;
    const actual = segments[i]!;
    if (typeof expected === 'string') {
      if (expected !== actual) return undefined;
    } else {
      if (actual === '') return undefined;
      setOwn(params, expected.param, decode(actual));
    }
  }
  return { template: pattern.template, params };
}

function hostname(host: string): string {
  // `[::1]:8080` -> `[::1]`; `example.com:8080` -> `example.com`.
  const colon = host.lastIndexOf(':');
  return colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
}

/**
 * Validates and compiles `outgoingUrlPatterns` once. Throws `OptionsInvalidError` naming the entry
 * (`outgoingUrlPatterns[1]`) for a pattern that cannot be used.
 *
 * @example
 * const t = compileUrlTemplates(['api.github.com/repos/:owner/:repo']);
 * t.match('api.github.com', '/repos/nodejs/node'); // { template: '/repos/:owner/:repo', params: { owner: 'nodejs', repo: 'node' } }
 * t.match('example.com', '/users/42');             // { template: '/users/:id', params: { id: '42' } }
 */
export function compileUrlTemplates(patterns: readonly string[], option = 'outgoingUrlPatterns'): UrlTemplater {
  const compiled = patterns.map((pattern, i) => compilePattern(pattern.trim(), `${option}[${i}]`));
  return Object.freeze({
    match(host: string, path: string): RouteMatch {
      for (const pattern of compiled) {
        const match = matchPattern(pattern, host, path);
        if (match !== undefined) return match;
      }
      return defaultTemplate(path);
    },
  });
}
