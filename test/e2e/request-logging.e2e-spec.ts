import { Controller, Get, INestApplication, Module, Req } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { storage } from 'nestjs-pino/storage';
import { createHttpApp, ObservabilityModule } from '@ordo/platform';

/** What the request log (pino-http) and nestjs-pino left on a request while it was handled. */
@Controller('probe')
class ProbeController {
  @Get()
  seen(@Req() { raw }: FastifyRequest) {
    return { requestId: raw.id ?? null, logged: typeof raw.log?.info === 'function', store: storage.getStore() !== undefined };
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
    app = await createHttpApp(ProbeModule, { name: 'probe', description: 'e2e' }, undefined, { logger: ['error', 'warn'] });
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
