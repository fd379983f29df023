/**
 * The NestJS app of the benchmark (Express platform, its built-in JSON body parser): `bare`, or
 * `sdk` with `nestMiddleware(client)` from `apitoolkit-node/nest` mounted with `app.use()` (adjust
 * here if the adapter's shape differs). Decorators are applied as plain calls, so no compiler
 * flag is needed. The same route, bodies and rules as every app (see common.ts).
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { RequestHandler } from 'express';
import { benchClient, closing, loadAdapter, responseBody, sdkControl, serveHarness, startApp, usage, type Control } from './common.js';

const MODES = ['bare', 'sdk'] as const;

class UsersController {
  create(id: string, body: { name?: unknown } | undefined): object {
    return responseBody(id, body?.name);
  }
}
// @Controller('users') class UsersController { @Post(':id') @HttpCode(200) create(@Param('id') id, @Body() body) }
const create = Object.getOwnPropertyDescriptor(UsersController.prototype, 'create')!;
Param('id')(UsersController.prototype, 'create', 0);
Body()(UsersController.prototype, 'create', 1);
HttpCode(200)(UsersController.prototype, 'create', create);
Post(':id')(UsersController.prototype, 'create', create);
Controller('users')(UsersController);

class AppModule {}
Module({ controllers: [UsersController] })(AppModule);

startApp(async (mode, env) => {
  if (!(MODES as readonly string[]).includes(mode)) throw usage('nest.ts', MODES, mode);
  const app = await NestFactory.create(AppModule, { logger: false });
  let control: Control = {};
  if (mode === 'sdk') {
    const nestMiddleware = await loadAdapter<(client: unknown) => RequestHandler>('nest', 'nestMiddleware');
    const client = await benchClient(env);
    app.use(nestMiddleware(client));
    control = sdkControl(client);
  }
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  serveHarness(
    port,
    closing(control, () => app.close()),
  );
});
