/**
 * The quick-start example on NestJS (Express platform): the same API as examples/express,
 * instrumented by apitoolkit-node, sending to the embedded local collector, which prints every
 * record it receives.
 *
 *   npm start -- nest     # then, in another terminal, run the curl commands it prints
 */
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Param, Post } from '@nestjs/common';
import { NestFactory, RouterModule } from '@nestjs/core';
import { APIToolkit } from '../../src/index.js';
import { APIToolkitModule } from '../../src/adapters/nest/index.js';
import { collectorSettings, port, printBanner, startLocalCollector, stopOnSignals } from '../local.js';

// 1. The local collector stands in for APIToolkit: it serves client metadata and a Pub/Sub endpoint.
const collector = await startLocalCollector();

// 2. The SDK, configured as a user would, plus the settings that point it at the collector.
const apitoolkit = new APIToolkit({
  apiKey: process.env.APITOOLKIT_KEY ?? 'local-development-key',
  redactHeaders: ['X-Api-Key'],
  redactRequestBody: ['$.password', '$.credit-card.number', '$.credit-card.cvv'],
  redactResponseBody: ['$.token'],
  serviceVersion: '1.4.0',
  tags: ['example'],
  ...collectorSettings(collector),
});

// 3. An ordinary Nest app: controllers, a nested module under /orgs, and the SDK's module.
type Credentials = { username?: string };
type Payment = { amount?: number };

@Controller()
class AppController {
  @Get('users/:id')
  user(@Param('id') id: string) {
    return { id, name: 'Ada Lovelace' };
  }

  @Post('login')
  @HttpCode(200)
  login(@Body() body: Credentials) {
    return { user: body?.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' };
  }

  @Post('payments')
  pay(@Body() body: Payment) {
    return { amount: body?.amount ?? 0, status: 'accepted' };
  }

  @Get('fail')
  fail() {
    throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
  }
}

@Controller(':orgId/projects')
class ProjectsController {
  @Get(':projectId')
  project(@Param('orgId') org: string, @Param('projectId') project: string) {
    return { org, project };
  }
}

@Module({ controllers: [ProjectsController] })
class OrgsModule {}

@Module({
  imports: [APIToolkitModule.forRoot({ client: apitoolkit }), OrgsModule, RouterModule.register([{ path: 'orgs', module: OrgsModule }])],
  controllers: [AppController],
})
class AppModule {}

// No Nest logger: the record shows the error; no stack trace in the terminal.
const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(port, '127.0.0.1');
// Before the banner: a Ctrl-C sent as soon as it appears must find the handler.
stopOnSignals({ collector, client: apitoolkit, close: () => app.close() });
printBanner(collector, app.getHttpServer().address(), { framework: 'NestJS' });
