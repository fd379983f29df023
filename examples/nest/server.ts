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
import { startCollector } from '../../src/collector/index.js';

const port = Number(process.env.PORT ?? 3000);

// 1. The local collector stands in for APIToolkit: it serves client metadata and a Pub/Sub endpoint.
const collector = await startCollector({ print: true, jsonlPath: process.env.APITOOLKIT_JSONL ?? 'apitoolkit-records.jsonl' });

// 2. The SDK, configured as a user would, plus the two settings that point it at the collector.
const apitoolkit = new APIToolkit({
  apiKey: process.env.APITOOLKIT_KEY ?? 'local-development-key',
  rootURL: collector.rootURL,
  pubsubEndpoint: collector.pubsubEndpoint,
  redactHeaders: ['X-Api-Key'],
  redactRequestBody: ['$.password', '$.credit-card.cvv'],
  redactResponseBody: ['$.token'],
  serviceVersion: '1.4.0',
  tags: ['example'],
  flushIntervalMs: 100,
  debug: process.env.APITOOLKIT_DEBUG === '1',
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
  imports: [
    APIToolkitModule.forRoot({ client: apitoolkit }),
    OrgsModule,
    RouterModule.register([{ path: 'orgs', module: OrgsModule }]),
  ],
  controllers: [AppController],
})
class AppModule {}

// No Nest logger: the record shows the error; no stack trace in the terminal.
const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(port, '127.0.0.1');
const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
console.log(`
Example API (NestJS) listening on ${base} (records print below and go to ${collector.jsonlPath ?? 'memory'})
Try:
  curl ${base}/users/42?expand=teams
  curl -X POST ${base}/login -H 'content-type: application/json' -H 'X-Api-Key: abc123' \\
       -d '{"username":"ada","password":"hunter2"}'
  curl -X POST ${base}/payments -H 'content-type: application/json' \\
       -d '{"amount":42,"credit-card":{"number":"4111111111111111","cvv":"123"}}'
  curl ${base}/orgs/acme/projects/apollo
  curl ${base}/fail
Press Ctrl+C to stop.
`);

async function stop(): Promise<void> {
  await app.close();
  const result = await apitoolkit.shutdown(3_000);
  await collector.close();
  console.log(`\nstopped: ${apitoolkit.stats().published} record(s) delivered, ${result.dropped} dropped`);
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
