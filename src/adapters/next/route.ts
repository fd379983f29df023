/**
 * Next's route templates (`/users/[id]`, `/docs/[...slug]`) rebuilt from a URL path and the
 * route's params: a handler does not know the file it was exported from.
 */
import type { RouteMatch } from '../../core/capture.js';

/**
 * A route's params as Next hands them over: catch-all segments as arrays.
 * @example
 * // app/files/[...path]/route.ts, GET /files/a/b: { path: ['a', 'b'] }, recorded as { path: 'a/b' }
 */
export type NextParams = Record<string, string | string[] | undefined>;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * `('/orgs/acme/projects/p9', { orgId: 'acme', projectId: 'p9' })` -> `/orgs/[orgId]/projects/[projectId]`.
 * A catch-all is the route's last segment, so its values are the path's last segments. Single
 * params are placed in the order Next lists them, each on the first segment after the previous
 * one that equals its value. An optional catch-all reads as `[...name]`, or is left out when empty
 * (Next gives no param then). `explicit` wins over all of this.
 */
export function nextTemplate(pathname: string, params: NextParams, explicit?: string): RouteMatch {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') flat[name] = value;
    else if (Array.isArray(value)) flat[name] = value.join('/');
  }
  if (explicit !== undefined) return { template: explicit, params: flat };

  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const raw = path.split('/').slice(1);
  const decoded = raw.map(decode);
  // Static segments as the folders are named: decoded.
  const out = [...decoded];
  let end = raw.length;
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value) && value.length > 0 && value.length <= end) {
      const start = end - value.length;
      if (value.every((v, i) => v === decoded[start + i])) {
        out.splice(start, value.length, `[...${name}]`);
        end = start;
      }
    }
  }
  let from = 0;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string') continue;
    for (let i = from; i < end; i++) {
      if (decoded[i] === value) {
        out[i] = `[${name}]`;
        from = i + 1;
        break;
      }
    }
  }
  return { template: raw.length === 1 && raw[0] === '' ? '/' : `/${out.join('/')}`, params: flat };
}
