import { Controller, Get, INestApplication, Module, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Request } from 'express';
import { storage } from 'nestjs-pino/storage';
import { configureApp, ObservabilityModule } from '@ordo/platform';

/** What the request log (pino-http) and nestjs-pino left on a request while it was handled. */
@Controller('probe')
class ProbeController {
  @Get()
  seen(@Req() request: Request) {
    return { requestId: request.id ?? null, logged: typeof request.log?.info === 'function', store: storage.getStore() !== undefined };
  }
}

@Module({ imports: [ObservabilityModule.forApp('probe')], controllers: [ProbeController] })
class ProbeModule {}

/**
 * The request log runs without a per-request AsyncLocalStorage: on Node 20 the first run of
 * one turns promise hooks on for the whole process, and every promise of every Kafka batch and
 * query pays for them from then on (10–14 % of an app's CPU at saturation, measured).
 */
describe('request logging', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await NestFactory.create(ProbeModule, { logger: ['error', 'warn'], bodyParser: false });
    configureApp(app, { name: 'probe', description: 'e2e' });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('gives each request an id and a logger, and keeps no context store while handling it', async () => {
    const response = await fetch(`${await app.getUrl()}/api/v1/probe`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ requestId: expect.anything(), logged: true, store: false });
  });
});
