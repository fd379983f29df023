/**
 * Route template and path params of a finished Express 4/5 request, without
 * patching Express.
 *
 * Express only leaves us the final `Route` (`req.route`, whose `.path` is the
 * route's own pattern); the patterns of the routers and sub-apps it is mounted
 * under are never recorded on the request. So we:
 *  1. find every chain of mount layers that leads from the root app to the
 *     layer holding `req.route` (DFS over the router tree, cached per Route);
 *  2. replay routing of the request path along those chains, exactly as the
 *     router did: each mount layer consumes its prefix of the path and the
 *     route layer must match what is left. The first chain that does is the
 *     one Express took (DFS order is stack order), and the matches give the
 *     param values;
 *  3. take each layer's pattern as written (Express 5 keeps it: `match()`
 *     returns `pattern`) or, for Express 4, the matched text with every
 *     capture group replaced by `:name` (exact, thanks to the `d` regexp flag,
 *     even when a literal segment equals a param value).
 *
 * Replaying the full path (`req.baseUrl + req.url`) rather than `req.baseUrl`
 * alone keeps this correct after a router has exited (e.g. an error thrown in a
 * nested route and handled by an app-level error handler restores `baseUrl`).
 */

export interface ExpressRoute {
  template: string;
  params: Record<string, string>;
}

// Express internals are untyped (and differ between 4 and 5).
type Layer = any;
type Chain = Layer[];

interface LayerMatch {
  /** The part of the path this layer consumed (as Express trims it). */
  consumed: string;
  /** This layer's template part (mount layers: no trailing slash). */
  template: string;
  params: Record<string, unknown>;
  /** Express 5: the pattern entry that matched (for array routes). */
  pattern?: unknown;
  /** Express 4: the matched text with capture groups replaced by `:name`. */
  rebuilt?: string;
}

interface CacheEntry {
  root: unknown;
  chains: Chain[];
  /**
   * Re-DFS attempts that found nothing, per `req.app`: bounded so a route we
   * can never resolve stays cheap, per app because what the DFS can reach
   * depends on it (see below).
   */
  failures: WeakMap<object, number>;
}

const EMPTY = (): ExpressRoute => ({ template: '', params: {} });
const MAX_DEPTH = 32;
const MAX_FAILED_REFRESHES = 3;
const chainCache = new WeakMap<object, CacheEntry>();
const indexedRegexps = new WeakMap<RegExp, RegExp>();

export function expressRoute(req: any): ExpressRoute {
  try {
    const route = req?.route;
    if (!route || typeof route !== 'object') return EMPTY();

    // Most apps are not mounted in another: then req.app is the root and the list of apps
    // (needed only to search the router tree) is not made on every request.
    const app = req.app;
    let apps: any[] | undefined = app && !app.parent ? undefined : appAncestors(app);
    const root = apps === undefined ? app : apps[apps.length - 1];
    const path = (typeof req.baseUrl === 'string' ? req.baseUrl : '') + pathname(req.url);

    let entry = chainCache.get(route);
    const fresh = !entry || entry.root !== root;
    if (!entry || fresh) {
      apps ??= appAncestors(app);
      entry = { root, chains: findChains(root, apps, route), failures: new WeakMap() };
      chainCache.set(route, entry);
    }
    const hit = replayAll(entry.chains, path);
    if (hit || fresh) return hit ?? EMPTY();
    apps ??= appAncestors(app);
    const from: object = apps[0] ?? route;
    const failures = entry.failures.get(from) ?? 0;
    if (failures >= MAX_FAILED_REFRESHES) return EMPTY();

    // The tree may have grown since the DFS (e.g. the router was mounted at a
    // new path). Keep the old chains if the new DFS doesn't help: after a
    // sub-app has exited, req.app is its parent and the sub-app is unreachable.
    const chains = findChains(root, apps, route);
    const retried = replayAll(chains, path);
    if (retried) entry.chains = chains;
    else entry.failures.set(from, failures + 1);
    return retried ?? EMPTY();
  } catch {
    return EMPTY();
  }
}

/** `req.app` is the innermost app; mounted apps link to where they were mounted via `.parent`. */
function appAncestors(app: any): any[] {
  const apps: any[] = [];
  for (let a = app; a && apps.length < MAX_DEPTH && !apps.includes(a); a = a.parent) apps.push(a);
  return apps;
}

function routerOf(app: any): any {
  if (app?._router) return app._router; // Express 4 (its `app.router` getter throws)
  try {
    return app?.router; // Express 5
  } catch {
    return undefined;
  }
}

function findChains(root: any, apps: any[], route: object): Chain[] {
  const chains: Chain[] = [];
  const onPath: unknown[] = []; // guards against a router mounted inside itself

  const visit = (app: any, stack: unknown, chain: Chain): void => {
    if (!Array.isArray(stack) || onPath.includes(stack) || chain.length > MAX_DEPTH) return;
    onPath.push(stack);
    for (const layer of stack) {
      if (!layer) continue;
      if (layer.route) {
        if (layer.route === route) chains.push([...chain, layer]);
        continue;
      }
      const handle = layer.handle;
      if (!handle) continue;
      const next = [...chain, layer];
      if (Array.isArray(handle.stack)) {
        visit(app, handle.stack, next); // a Router
      } else if (typeof handle.handle === 'function' && typeof handle.set === 'function') {
        visit(handle, routerOf(handle)?.stack, next); // an app passed to router.use()
      } else if (handle.name === 'mounted_app') {
        // app.use(subApp) hides the sub-app in a closure; the only sub-apps that
        // can hold our route are the ancestors of req.app mounted right here.
        for (const child of apps) if (child.parent === app) visit(child, routerOf(child)?.stack, next);
      }
    }
    onPath.pop();
  };

  visit(root, routerOf(root)?.stack, []);
  return chains;
}

function replayAll(chains: Chain[], path: string): ExpressRoute | null {
  for (const chain of chains) {
    const hit = replay(chain, path);
    if (hit) return hit;
  }
  return null;
}

function replay(chain: Chain, path: string): ExpressRoute | null {
  let template = '';
  let rest = path;
  const params: Record<string, string> = {};
  for (let i = 0; i < chain.length - 1; i++) {
    const m = matchLayer(chain[i], rest);
    if (!m) return null;
    template = join(template, m.template);
    addParams(params, m.params);
    rest = rest.slice(m.consumed.length);
    if (rest[0] !== '/') rest = `/${rest}`; // as the router does after trimming
  }
  const layer = chain[chain.length - 1];
  const m = matchLayer(layer, rest);
  if (!m) return null;
  addParams(params, m.params); // route params win over mount params
  return { template: join(template, routeTemplate(layer.route.path, m, rest)) || '/', params };
}

function matchLayer(layer: Layer, path: string): LayerMatch | null {
  try {
    if (Array.isArray(layer.matchers)) {
      // Express 5 (router 2.x): match() is side-effect free and reports the pattern as written.
      const m = layer.match(path);
      if (!m) return null;
      const p = m.pattern;
      const template = typeof p === 'string' ? trimSlash(p) : p instanceof RegExp ? String(p) : '';
      return { consumed: m.path, template, params: m.params, pattern: p };
    }
    if (layer.regexp instanceof RegExp) return matchExpress4(layer, path);
  } catch {
    // a malformed %-escape: Express answered 400 without running this layer
  }
  return null;
}

/**
 * Express 4 layers keep only the compiled regexp and its keys, so we rebuild
 * the template from the matched text. We don't call `layer.match()`: it stores
 * its result on the shared layer.
 */
function matchExpress4(layer: Layer, path: string): LayerMatch | null {
  const re: RegExp & { fast_slash?: boolean; fast_star?: boolean } = layer.regexp;
  if (re.fast_slash) return { consumed: '', template: '', params: {} };
  if (re.fast_star) return { consumed: path, template: '*', params: { 0: decode(path) } };

  let indexed = indexedRegexps.get(re);
  if (!indexed) {
    indexed = new RegExp(re.source, `${re.flags.replace(/[gyd]/g, '')}d`);
    indexedRegexps.set(re, indexed);
  }
  const m = indexed.exec(path);
  if (!m?.indices) return null;

  const keys: { name: string | number; optional?: boolean }[] = layer.keys ?? [];
  const params: Record<string, unknown> = {};
  const start = m.index;
  let template = '';
  let last = 0;
  for (let i = 1; i < m.length; i++) {
    const key = keys[i - 1];
    const span = m.indices[i];
    if (m[i] === undefined || !span) continue;
    if (key) params[key.name] = decode(m[i]!);
    if (span[0] - start < last) continue; // a group nested in one already replaced
    const name = key && typeof key.name === 'string' ? `:${key.name}${key.optional ? '?' : ''}` : '*';
    template += m[0].slice(last, span[0] - start) + name;
    last = span[1] - start;
  }
  template += m[0].slice(last);

  // path-to-regexp 0.1 ends every mount regexp with this lookahead; anything
  // else is a user RegExp, whose uncaptured parts may hold ids.
  const generated = /\(\?=\\\/\|\$\)$/.test(re.source);
  return { consumed: m[0], template: generated ? trimSlash(template) : String(re), params, rebuilt: template };
}

function routeTemplate(path: unknown, m: LayerMatch, rest: string): string {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (!Array.isArray(path)) return '';
  if (m.pattern !== undefined) return typeof m.pattern === 'string' ? m.pattern : String(m.pattern);
  // Express 4 compiles an array into one regexp: pick the entry that the
  // rebuilt template (or, for a RegExp entry, the path) points to.
  const rebuilt = trimSlash(m.rebuilt ?? '').toLowerCase();
  for (const entry of path.flat(Infinity)) {
    if (entry instanceof RegExp) {
      entry.lastIndex = 0;
      if (entry.test(rest)) return String(entry);
    } else if (typeof entry === 'string' && trimSlash(entry).toLowerCase() === rebuilt) {
      return entry;
    }
  }
  return m.rebuilt || '/';
}

function join(prefix: string, part: string): string {
  if (!part || part === '/') return prefix;
  return prefix + (part[0] === '/' ? part : `/${part}`);
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

function addParams(into: Record<string, string>, params: Record<string, unknown> | undefined): void {
  if (!params) return;
  for (const k of Object.keys(params)) {
    const v = params[k];
    if (v === undefined) continue;
    into[k] = Array.isArray(v) ? v.join('/') : String(v); // Express 5 wildcards are segment arrays
  }
}

function decode(value: string): string {
  return value.length === 0 || !value.includes('%') ? value : decodeURIComponent(value);
}

/** The path part of `req.url`, which may be absolute-form (`http://host/p?q`). */
function pathname(url: unknown): string {
  if (typeof url !== 'string') return '';
  let q = url.indexOf('?');
  const hash = url.indexOf('#');
  if (hash >= 0 && (q < 0 || hash < q)) q = hash;
  let p = q < 0 ? url : url.slice(0, q);
  if (p[0] !== '/') {
    const scheme = p.indexOf('://');
    if (scheme >= 0) {
      const slash = p.indexOf('/', scheme + 3);
      p = slash < 0 ? '/' : p.slice(slash);
    }
  }
  return p;
}
