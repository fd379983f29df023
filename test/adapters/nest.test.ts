/**
 * NestJS adapter beyond the conformance table, on the Express and the Fastify platform: global
 * prefix, guards that refuse, pipes that throw, the app's own exception filters, the client
 * injected into services, SSE and StreamableFile bodies, `app.use(nestMiddleware())` together with
 * the module, Nest's `rawBody`, misuse.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import 'reflect-metadata';
import {
  Catch,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  Post,
  Body,
  Sse,
  StreamableFile,
  UseGuards,
  type ArgumentsHost,
  type ExceptionFilter,
  type MessageEvent,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { interval, map, take, type Observable } from 'rxjs';
import { APIToolkit, MemoryTransport, OptionsInvalidError } from '../../src/index.js';
import { APITOOLKIT_CLIENT, APIToolkitModule, nestMiddleware } from '../../src/adapters/nest/index.js';
import { rawResponse, startNest, type NestPlatform } from '../conformance/targets/nest.js';
import { unb64, unb64json } from '../helpers/http.js';
import { memoryClient, oneRecord } from '../helpers/client.js';

const client = memoryClient;

type Root = new () => unknown;

async function serveNest(
  t: TestContext,
  platform: NestPlatform,
  root: Root,
  setup?: Parameters<typeof startNest>[2],
  options?: object,
): Promise<string> {
  const server = await startNest(platform, root, setup, options);
  t.after(() => server.close());
  return server.url;
}

test('forRoot and nestMiddleware refuse anything but an APIToolkit, at setup', () => {
  const coded = (name: RegExp) => (error: unknown) =>
    error instanceof OptionsInvalidError && error.code === 'APITOOLKIT_ERR_OPTIONS_INVALID' && name.test(error.message);
  assert.throws(() => APIToolkitModule.forRoot({} as never), coded(/APIToolkitModule\.forRoot\(client\)/));
  assert.throws(() => APIToolkitModule.forRoot(undefined as never), coded(/APIToolkitModule\.forRoot\(client\)/));
  assert.throws(() => nestMiddleware({} as APIToolkit), coded(/nestMiddleware\(client\)/));
});

test('the middleware has a name for stack traces; forRoot is a global module exporting the client', (t) => {
  const { apitoolkit } = client(t);
  assert.equal(nestMiddleware(apitoolkit).name, 'apitoolkitNest');
  const module = APIToolkitModule.forRoot({ client: apitoolkit });
  assert.equal(module.global, true);
  assert.equal(module.module.name, 'APIToolkitModule');
  assert.deepEqual(module.exports, [APIToolkit, APITOOLKIT_CLIENT]);
});

test('forRootAsync refuses a missing factory at setup', () => {
  assert.throws(
    () => APIToolkitModule.forRootAsync({} as never),
    (e: unknown) => e instanceof OptionsInvalidError && /forRootAsync\(options\)\.useFactory/.test(e.message),
  );
});

for (const platform of ['express', 'fastify'] as const) {
  describe(`nest (${platform} platform)`, () => {
    test('forRootAsync: the client built by a factory from an imported config provider observes, records errors, and is injectable', async (t) => {
      const transport = new MemoryTransport();
      const made: APIToolkit[] = [];
      t.after(() => Promise.all(made.map((c) => c.shutdown(1_000))));
      class ConfigService {
        get(key: string): string | undefined {
          return { SERVICE_VERSION: '7.1.0' }[key];
        }
      }
      @Module({ providers: [ConfigService], exports: [ConfigService] })
      class ConfigModule {}
      @Injectable()
      class Reporter {
        constructor(
          @Inject(APITOOLKIT_CLIENT) readonly byToken: APIToolkit,
          @Inject(APIToolkit) readonly byClass: APIToolkit,
        ) {}
      }
      @Controller('async')
      class AsyncController {
        constructor(@Inject(Reporter) private readonly reporter: Reporter) {}
        @Get(':id')
        find(@Param('id', ParseIntPipe) id: number) {
          return { id, same: this.reporter.byToken === this.reporter.byClass && this.reporter.byToken === made[0] };
        }
      }
      @Module({
        imports: [
          APIToolkitModule.forRootAsync({
            imports: [ConfigModule],
            inject: [ConfigService],
            useFactory: async (config: ConfigService) => {
              await Promise.resolve();
              const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, serviceVersion: config.get('SERVICE_VERSION') });
              made.push(apitoolkit);
              return { client: apitoolkit };
            },
          }),
        ],
        controllers: [AsyncController],
        providers: [Reporter],
      })
      class AppModule {}
      const url = await serveNest(t, platform, AppModule);
      assert.deepEqual(await (await fetch(`${url}/async/5`)).json(), { id: 5, same: true });
      let record = await oneRecord(made[0]!, transport);
      assert.equal(record.url_path, '/async/:id');
      assert.equal(record.service_version, '7.1.0');
      transport.clear();
      assert.equal((await fetch(`${url}/async/x`)).status, 400);
      record = await oneRecord(made[0]!, transport);
      assert.deepEqual(
        record.errors.map((e) => e.error_type),
        ['BadRequestException'],
      );
      assert.equal(made.length, 1);
    });

    test('global prefix and params: the full template; a ParseIntPipe error is recorded and answered 400 by Nest', async (t) => {
      const { transport, apitoolkit } = client(t);
      @Controller('items')
      class ItemsController {
        @Get(':id')
        find(@Param('id', ParseIntPipe) id: number) {
          return { id };
        }
      }
      @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit })], controllers: [ItemsController] })
      class AppModule {}
      const url = await serveNest(t, platform, AppModule, (app) => app.setGlobalPrefix('api'));

      assert.deepEqual(await (await fetch(`${url}/api/items/12`)).json(), { id: 12 });
      let record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/api/items/:id');
      assert.deepEqual(record.path_params, { id: '12' });
      assert.deepEqual(record.errors, []);

      transport.clear();
      assert.equal((await fetch(`${url}/api/items/abc`)).status, 400);
      record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/api/items/:id');
      assert.deepEqual(
        record.errors.map((e) => e.error_type),
        ['BadRequestException'],
      );
    });

    test('a controller guard that refuses: the record keeps the route template', async (t) => {
      const { transport, apitoolkit } = client(t);
      const refuse = { canActivate: () => false };
      @Controller('admin')
      @UseGuards(refuse)
      class AdminController {
        @Get('stats/:day')
        stats() {
          return { never: true };
        }
      }
      @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit })], controllers: [AdminController] })
      class AppModule {}
      const url = await serveNest(t, platform, AppModule);
      assert.equal((await fetch(`${url}/admin/stats/monday`)).status, 403);
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/admin/stats/:day');
      assert.deepEqual(record.path_params, { day: 'monday' });
      assert.equal(record.status_code, 403);
    });

    test("the app's own exception filter still answers; the error is recorded once with its cause", async (t) => {
      const { transport, apitoolkit } = client(t);
      @Catch()
      class TeapotFilter implements ExceptionFilter {
        catch(exception: unknown, host: ArgumentsHost) {
          rawResponse(host.switchToHttp().getResponse())
            .writeHead(418, { 'content-type': 'application/json' })
            .end(JSON.stringify({ handled: (exception as Error).message }));
        }
      }
      @Controller()
      class KettleController {
        @Get('kettle')
        kettle() {
          throw new Error('kettle broke', { cause: new TypeError('no water') });
        }
      }
      @Module({
        imports: [APIToolkitModule.forRoot({ client: apitoolkit })],
        controllers: [KettleController],
        providers: [{ provide: APP_FILTER, useClass: TeapotFilter }],
      })
      class AppModule {}
      const url = await serveNest(t, platform, AppModule);
      const res = await fetch(`${url}/kettle`);
      assert.equal(res.status, 418);
      assert.deepEqual(await res.json(), { handled: 'kettle broke' });
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/kettle');
      assert.equal(record.errors.length, 1);
      assert.equal(record.errors[0]!.message, 'kettle broke');
      assert.equal(record.errors[0]!.root_error_message, 'no water');
    });

    test('the client is injectable by its class and by APITOOLKIT_CLIENT; reportError from a service lands on the record', async (t) => {
      const { transport, apitoolkit } = client(t);
      @Injectable()
      class PaymentsService {
        constructor(
          @Inject(APIToolkit) readonly byClass: APIToolkit,
          @Inject(APITOOLKIT_CLIENT) readonly byToken: APIToolkit,
        ) {}
        async charge(): Promise<{ ok: boolean }> {
          await new Promise((resolve) => setImmediate(resolve));
          this.byClass.reportError(new RangeError('card nearly expired'));
          return { ok: this.byToken === this.byClass };
        }
      }
      @Controller('payments')
      class PaymentsController {
        constructor(@Inject(PaymentsService) private readonly payments: PaymentsService) {}
        @Post()
        charge(@Body() _body: unknown) {
          return this.payments.charge();
        }
      }
      @Module({ controllers: [PaymentsController], providers: [PaymentsService] })
      class PaymentsModule {}
      @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit }), PaymentsModule] })
      class AppModule {}
      const url = await serveNest(t, platform, AppModule);
      const res = await fetch(`${url}/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":1}' });
      assert.deepEqual(await res.json(), { ok: true });
      const record = await oneRecord(apitoolkit, transport);
      assert.deepEqual(
        record.errors.map((e) => e.message),
        ['card nearly expired'],
      );
      assert.deepEqual(unb64json(record.request_body), { amount: 1 });
    });

    test('@Sse() and StreamableFile bodies are recorded as sent', async (t) => {
      const { transport, apitoolkit } = client(t);
      @Controller()
      class StreamsController {
        @Sse('events')
        events(): Observable<MessageEvent> {
          return interval(5).pipe(
            take(3),
            map((n) => ({ data: { n } })),
          );
        }

        @Get('file')
        file() {
          return new StreamableFile(Readable.from(['chunk-1,', 'chunk-2']), { type: 'text/plain' });
        }
      }
      @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit })], controllers: [StreamsController] })
      class AppModule {}
      const url = await serveNest(t, platform, AppModule);

      const sse = await (await fetch(`${url}/events`)).text();
      let record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/events');
      assert.equal(unb64(record.response_body), sse);
      assert.match(sse, /data: \{"n":2\}/);

      transport.clear();
      assert.equal(await (await fetch(`${url}/file`)).text(), 'chunk-1,chunk-2');
      record = await oneRecord(apitoolkit, transport);
      assert.equal(unb64(record.response_body), 'chunk-1,chunk-2');
    });

    test('app.use(nestMiddleware()) with the module: observed from the start, one record, the exact body bytes', async (t) => {
      const { transport, apitoolkit } = client(t);
      @Controller('echo')
      class EchoController {
        @Post(':id')
        echo(@Param('id') id: string, @Body() body: { name: string }) {
          return { id, name: body.name };
        }
      }
      @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit })], controllers: [EchoController] })
      class AppModule {}
      const url = await serveNest(t, platform, AppModule, (app) => app.use(nestMiddleware(apitoolkit)));
      const body = '{"name":"ada",   "n":1.0}';
      const res = await fetch(`${url}/echo/5`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.deepEqual(await res.json(), { id: '5', name: 'ada' });
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/echo/:id');
      assert.equal(unb64(record.request_body), body);
    });
  });
}

test('nest (express platform) with rawBody: true: the JSON bytes as received, though parsed before the module', async (t) => {
  const { transport, apitoolkit } = client(t);
  @Controller('echo')
  class EchoController {
    @Post()
    echo(@Body() body: { name: string }) {
      return { name: body.name };
    }
  }
  @Module({ imports: [APIToolkitModule.forRoot({ client: apitoolkit })], controllers: [EchoController] })
  class AppModule {}
  const url = await serveNest(t, 'express', AppModule, undefined, { rawBody: true });
  const body = '{"name":"ada",   "n":1.0}';
  await (await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text();
  const record = await oneRecord(apitoolkit, transport);
  assert.equal(unb64(record.request_body), body);
});
