/**
 * NestJS adapter (Express and Fastify platforms): a global dynamic module that applies the
 * observing middleware to every path and registers a global guard and a global interceptor, which
 * note the route template for the record; the interceptor also records the errors handlers throw.
 * Imports no Nest code at run time, not even as types: the shapes below are structural, so the
 * CommonJS build needs no ESM-only package.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { APIToolkit } from '../../apitoolkit.js';
import type { CaptureAdapter, RouteMatch } from '../../core/capture.js';
import { OptionsInvalidError } from '../../core/errors.js';
import { kObserve, kRecordError } from '../../core/symbols.js';
import { assertNodeClient } from '../node-client.js';
import { stringParams } from '../params.js';

/** The route the guard or interceptor saw, on node's request: shared by every copy of the adapter. */
const kNestRoute = Symbol.for('apitoolkit-node.nestRoute');

/** Nest's injection token for the client (besides the `APIToolkit` class itself). */
export const APITOOLKIT_CLIENT = 'APITOOLKIT_CLIENT';

type RawRequest = IncomingMessage & {
  [kNestRoute]?: RouteMatch;
  body?: unknown;
  rawBody?: unknown;
  route?: { path?: unknown };
  params?: unknown;
};

/** Express platform: the request is node's. Fastify platform: Fastify's request, node's under `raw`. */
interface PlatformRequest {
  raw?: RawRequest;
  params?: unknown;
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
}

/**
 * The template as the platform routed it: Nest registers every route on the platform with its
 * full path (global prefix, version, `RouterModule` and controller paths included).
 */
function platformRoute(request: PlatformRequest): RouteMatch | undefined {
  const url = request.routeOptions?.url; // Fastify
  if (typeof url === 'string') return { template: url, params: stringParams(request.params) };
  const path = request.route?.path; // Express
  if (typeof path === 'string') return { template: path, params: stringParams(request.params) };
  return undefined;
}

const adapter: CaptureAdapter = {
  sdkType: 'JsNest',
  // Without a note (no route matched, or a global guard of the app refused before ours), the
  // Express platform still knows the route; the Fastify platform does not tell node's request.
  route: (req: RawRequest) => req[kNestRoute] ?? platformRoute(req) ?? { template: '', params: {} },
  // Express platform: Nest's JSON and form parsers run before module middleware; with Nest's
  // `rawBody: true` their exact bytes are kept.
  parsedBody: (req: RawRequest) => (Buffer.isBuffer(req.rawBody) ? req.rawBody : req.body),
};

/** A Nest (Express or Fastify platform) middleware: node's request and response. */
export type NestMiddlewareFunction = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The observing middleware alone, for `app.use()`. `APIToolkitModule.forRoot()` already applies it
 * to every route; add it with `app.use()` as well (before `listen()`) only to observe requests
 * from the very start, e.g. to record the raw request bytes before Nest's body parsers on the
 * Express platform. A request is observed once either way.
 *
 * @example
 * const app = await NestFactory.create(AppModule); // AppModule imports APIToolkitModule.forRoot(...)
 * app.use(nestMiddleware(apitoolkit));
 * await app.listen(3000);
 */
export function nestMiddleware(client: APIToolkit): NestMiddlewareFunction {
  assertNodeClient(client, 'nestMiddleware');
  return observer(() => client);
}

/** The client, once known: `forRootAsync` learns it when Nest has run the app's factory. */
type ClientRef = () => APIToolkit | undefined;

function observer(client: ClientRef): NestMiddlewareFunction {
  return function apitoolkitNest(req, res, next) {
    const c = client();
    if (c === undefined) next();
    else c[kObserve](req, res, adapter, next);
  };
}

/** The parts of Nest's `ExecutionContext` the interceptor reads. */
interface ExecutionContextLike {
  getType(): string;
  switchToHttp(): { getRequest(): unknown };
}

interface Observer {
  next(value: unknown): void;
  error(error: unknown): void;
  complete(): void;
}

/** An rxjs Observable, as Nest's `CallHandler.handle()` returns it. */
interface ObservableLike {
  subscribe(observer: Observer): unknown;
}

/** Notes the route the platform matched on node's request, for `adapter.route`; returns node's request. */
function noteRoute(context: ExecutionContextLike): RawRequest | undefined {
  try {
    const request = context.switchToHttp().getRequest() as PlatformRequest;
    const req = (request.raw ?? request) as RawRequest;
    if (req[kNestRoute] === undefined) {
      const route = platformRoute(request);
      if (route !== undefined) req[kNestRoute] = route;
    }
    return req;
  } catch {
    return undefined; // never let capture break the request
  }
}

/**
 * A global guard that always lets the request through: it runs before controller and route
 * guards, so a request they refuse still gets its route template (the Fastify platform does not
 * tell node's request which route matched).
 */
function makeGuard() {
  return {
    canActivate(context: ExecutionContextLike): boolean {
      if (context.getType() === 'http') noteRoute(context);
      return true;
    },
  };
}

/** The global interceptor: notes the route for the record and records errors on their way to Nest's filters. */
function makeInterceptor(client: ClientRef) {
  return {
    intercept(context: ExecutionContextLike, next: { handle(): ObservableLike }): ObservableLike {
      const source = next.handle();
      const c = client();
      if (context.getType() !== 'http' || c === undefined) return source;
      const req = noteRoute(context);
      if (req === undefined) return source;
      // A new Observable of the same (rxjs) class as Nest's, so that no rxjs import is needed.
      const Observable = source.constructor as new (subscribe: (subscriber: Observer) => unknown) => ObservableLike;
      return new Observable((subscriber) =>
        source.subscribe({
          next: (value) => subscriber.next(value),
          error: (error) => {
            c[kRecordError](req, error);
            subscriber.error(error);
          },
          complete: () => subscriber.complete(),
        }),
      );
    },
  };
}

/** Options of `APIToolkitModule.forRoot`. */
export interface APIToolkitModuleOptions {
  /** The `APIToolkit` instance that receives the records. */
  client: APIToolkit;
}

/**
 * Options of `APIToolkitModule.forRootAsync`, as Nest's own modules take them: `useFactory` gets
 * the `inject` providers (from `imports`) and returns the client, e.g. built from `ConfigService`.
 */
export interface APIToolkitModuleAsyncOptions {
  /** Modules whose providers `useFactory` needs (e.g. `ConfigModule`). */
  imports?: any[] | undefined;
  /** Tokens of the providers handed to `useFactory`, in order (e.g. `[ConfigService]`). */
  inject?: any[] | undefined;
  /** Returns (or resolves to) `{ client }`. */
  useFactory: (...args: any[]) => APIToolkitModuleOptions | Promise<APIToolkitModuleOptions>;
}

/** A provider of the module, in Nest's shapes. */
export type APIToolkitProvider =
  | { provide: string | Function; useValue: unknown }
  | { provide: string | Function; useFactory: (...args: any[]) => unknown; inject: any[] }
  | { provide: string | Function; useExisting: string | Function };

/** What `forRoot` and `forRootAsync` return: a Nest `DynamicModule`. */
export interface APIToolkitDynamicModule {
  module: new () => unknown;
  global: boolean;
  imports?: any[];
  providers: APIToolkitProvider[];
  exports: (string | Function)[];
}

/** The part of Nest's `MiddlewareConsumer` the module uses. */
interface MiddlewareConsumerLike {
  apply(...middleware: NestMiddlewareFunction[]): { forRoutes(...routes: string[]): unknown };
}

/**
 * The Nest module: import `APIToolkitModule.forRoot({ client })` once, in your root module. It is
 * global: it observes every request (404s included), records the route template Nest matched
 * (`/orgs/:orgId/projects/:projectId`, global prefix and controller paths included), and records
 * errors thrown by handlers, pipes and interceptors, with their cause chain, before your exception
 * filters answer them unchanged. The client is injectable as `APIToolkit` (the class it was made
 * from) and as `APITOOLKIT_CLIENT`.
 *
 * @example
 * ```ts
 * import { Controller, Get, Module, Param } from '@nestjs/common';
 * import { NestFactory } from '@nestjs/core';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { APIToolkitModule } from 'apitoolkit-node/nest';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 *
 * @Controller('users')
 * class UsersController {
 *   @Get(':id') find(@Param('id') id: string) { return { id } }
 * }
 *
 * @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit })], controllers: [UsersController] })
 * class AppModule {}
 *
 * const app = await NestFactory.create(AppModule);
 * await app.listen(3000);
 * ```
 */
export class APIToolkitModule {
  /**
   * A global module observing every request with `options.client`.
   * @example
   * ```ts
   * @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit })] })
   * class AppModule {}
   * ```
   */
  static forRoot(options: APIToolkitModuleOptions): APIToolkitDynamicModule {
    const client = options?.client;
    assertNodeClient(client, 'APIToolkitModule.forRoot');
    return {
      ...globalModule(() => client),
      providers: [
        ...hooks(() => client),
        { provide: client.constructor, useValue: client },
        { provide: APITOOLKIT_CLIENT, useValue: client },
      ],
      exports: [client.constructor, APITOOLKIT_CLIENT],
    };
  }

  /**
   * `forRoot` for a client built from other providers, as Nest's own modules do it. The client is
   * injectable as `APITOOLKIT_CLIENT` and as the `APIToolkit` class.
   * @example
   * ```ts
   * @Module({
   *   imports: [ConfigModule.forRoot(), APIToolkitModule.forRootAsync({
   *     imports: [ConfigModule],
   *     inject: [ConfigService],
   *     useFactory: (config: ConfigService) => ({ client: new APIToolkit({ apiKey: config.get('APITOOLKIT_KEY') }) }),
   *   })],
   * })
   * class AppModule {}
   * ```
   */
  static forRootAsync(options: APIToolkitModuleAsyncOptions): APIToolkitDynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new OptionsInvalidError(
        'APIToolkitModule.forRootAsync(options).useFactory',
        `expected a function, got ${typeof options?.useFactory}`,
      );
    }
    // Nest runs the factory before the app serves: every request finds the client set.
    let client: APIToolkit | undefined;
    const get = (): APIToolkit | undefined => client;
    return {
      ...globalModule(get),
      imports: options.imports ?? [],
      providers: [
        ...hooks(get),
        {
          provide: APITOOLKIT_CLIENT,
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => {
            const made = (await options.useFactory(...args))?.client;
            assertNodeClient(made, 'APIToolkitModule.forRootAsync');
            client = made;
            return made;
          },
        },
        { provide: APIToolkit, useExisting: APITOOLKIT_CLIENT },
      ],
      exports: [APIToolkit, APITOOLKIT_CLIENT],
    };
  }
}

/** The global module applying the observing middleware to every path. */
function globalModule(client: ClientRef): { module: new () => unknown; global: boolean } {
  const middleware = observer(client);
  // Nest builds modules without constructor arguments here (no decorator metadata), so the
  // module that applies the middleware closes over it instead of injecting it.
  const module = class extends APIToolkitModule {
    configure(consumer: MiddlewareConsumerLike): void {
      // '*' is every path, unmatched ones included; Nest 11+ reads it as '{*path}'.
      consumer.apply(middleware).forRoutes('*');
    }
  };
  Object.defineProperty(module, 'name', { value: 'APIToolkitModule' }); // as Nest's logs show it
  return { module, global: true };
}

/** The global guard and interceptor. */
function hooks(client: ClientRef): APIToolkitProvider[] {
  return [
    { provide: 'APP_GUARD', useValue: makeGuard() },
    { provide: 'APP_INTERCEPTOR', useValue: makeInterceptor(client) },
  ];
}
