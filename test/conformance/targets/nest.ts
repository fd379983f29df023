/** The standard app (spec.ts) on NestJS, on its Express and its Fastify platform. */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import 'reflect-metadata';
import {
  Body,
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  Module,
  Param,
  Post,
  Req,
  Res,
  type INestApplication,
  type NestApplicationOptions,
} from '@nestjs/common';
import { NestFactory, RouterModule } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { APIToolkit } from '../../../src/index.js';
import { APIToolkitModule } from '../../../src/adapters/nest/index.js';
import type { Target } from '../spec.js';
import { pause } from './serve.js';

const version = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;

export const nestVersion = version('@nestjs/core');
export type NestPlatform = 'express' | 'fastify';

/** Node's response under either platform's (`@Res()`): Fastify's reply is hijacked first. */
export function rawResponse(res: ServerResponse | { raw: ServerResponse; hijack(): void }): ServerResponse {
  if ('hijack' in res) {
    res.hijack();
    return res.raw;
  }
  return res;
}

/** Node's request under either platform's (`@Req()`). */
export const rawRequest = (req: IncomingMessage | { raw: IncomingMessage }): IncomingMessage => ('raw' in req ? req.raw : req);

async function consume(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return; // a body parser read it already
  for await (const _chunk of req);
}

/** The standard app's root module, with the SDK's module when a client is given. */
export function standardModule(apitoolkit: APIToolkit | undefined): new () => unknown {
  @Controller('users')
  class UsersController {
    @Get(':id')
    @Header('Set-Cookie', 'session=abc')
    find(@Param('id') id: string) {
      return { id, token: 'secret-token' };
    }

    @Post(':id')
    create(@Param('id') id: string, @Body() body: unknown, @Headers('content-type') type: string | undefined) {
      const name = type?.startsWith('application/json') ? ((body as { name?: unknown } | undefined)?.name ?? null) : null;
      return { id, token: 'tok-123', name };
    }
  }

  @Controller(':orgId/projects')
  class ProjectsController {
    @Get(':projectId')
    find(@Param('orgId') orgId: string, @Param('projectId') projectId: string) {
      return { orgId, projectId };
    }
  }

  @Module({ controllers: [ProjectsController] })
  class OrgsModule {}

  @Controller()
  class AppController {
    @Post('upload')
    @HttpCode(200)
    async upload(@Req() req: IncomingMessage | { raw: IncomingMessage }) {
      await consume(rawRequest(req));
      return { ok: true };
    }

    @Get('boom')
    boom() {
      throw new Error('outer failure', { cause: new TypeError('inner cause') });
    }

    @Get('report')
    @HttpCode(202)
    @Header('content-type', 'text/plain')
    async report() {
      await pause(1);
      apitoolkit?.reportError(new RangeError('handled but worth knowing'));
      return 'accepted';
    }

    @Get('stream')
    async stream(@Res() reply: ServerResponse) {
      const res = rawResponse(reply);
      res.setHeader('content-type', 'text/plain');
      res.write('part one, ');
      await pause(10);
      res.write('part two, ');
      await pause(10);
      res.end('end');
    }

    @Get('sse')
    async sse(@Res() reply: ServerResponse) {
      const res = rawResponse(reply);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const n of [1, 2, 3]) {
        res.write(`data: ${n}\n\n`);
        await pause(10);
      }
      res.end();
    }

    @Get('gzip')
    gzip(@Res() reply: ServerResponse) {
      rawResponse(reply)
        .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        .end(gzipSync(JSON.stringify({ compressed: true, token: 'secret-token' })));
    }

    @Get('big')
    @Header('content-type', 'text/plain')
    big() {
      return 'x'.repeat(2_000_000);
    }

    @Get('empty')
    @HttpCode(204)
    empty() {}

    @Get('slow')
    slow(@Res() reply: ServerResponse) {
      const res = rawResponse(reply);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first,');
    }
  }

  @Module({
    imports: [
      ...(apitoolkit ? [APIToolkitModule.forRoot({ client: apitoolkit })] : []),
      OrgsModule,
      RouterModule.register([{ path: 'orgs', module: OrgsModule }]),
    ],
    controllers: [UsersController, AppController],
  })
  class AppModule {}
  return AppModule;
}

/** Creates a Nest app on `platform` with the body parsers the standard app needs, listening on 127.0.0.1. */
export async function startNest(
  platform: NestPlatform,
  root: new () => unknown,
  setup?: (app: INestApplication) => void,
  options: NestApplicationOptions = {},
): Promise<{ url: string; close(): Promise<void>; app: INestApplication }> {
  let app: INestApplication;
  if (platform === 'express') {
    const express = await NestFactory.create(root, { logger: false, ...options });
    // Nest parses JSON and forms; text too, as an app taking text bodies would.
    (express as unknown as { useBodyParser(type: string): void }).useBodyParser('text');
    app = express;
  } else {
    app = await NestFactory.create(root, new FastifyAdapter(), { logger: false, ...options });
    // Fastify answers 415 to types it has no parser for: take everything else as bytes.
    (app.getHttpAdapter().getInstance() as FastifyInstance).addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
  }
  setup?.(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      app.getHttpServer().closeAllConnections();
      await app.close();
    },
  };
}

export const nestTargets: Target[] = (['express', 'fastify'] as const).map((platform) => ({
  name: `nest ${nestVersion} (${platform} platform)`,
  sdkType: 'JsNest',
  template: (pattern) => pattern,
  start: (apitoolkit) => startNest(platform, standardModule(apitoolkit)),
  ...(platform === 'express' && {
    exceptions: {
      'malformed JSON: no excerpt of the body in the record': {
        recorded: false,
        why: "Nest's JSON parser fails before any module middleware runs (README: add app.use(nestMiddleware(apitoolkit)) to see such requests)",
      },
    },
  }),
}));
