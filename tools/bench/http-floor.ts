import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Logger as PinoLogger } from 'nestjs-pino';
import { createHttpApp, ObservabilityModule } from '@ordo/platform';
import { StartTransactionDto } from '../../apps/coordinator/src/transactions/dto/transaction-requests.dto';
import { spawnService } from '../launcher/apps';
import { freePort, waitFor } from '../infra/proc';
import { Api } from './harness';
import { cpuMs } from './usage';

/**
 * The coordinator's HTTP stack alone: what `POST /transactions` costs its process before any
 * of Ordo's own work. An app of the same make (createHttpApp and the observability module:
 * security headers, JSON body limits, the DTO's validation, the request log at the bench's
 * level) whose handler validates a start and answers 201 at once; no
 * authentication, rate limit, database or Kafka, so a least figure.
 */

@Controller('transactions')
class StartController {
  @Post()
  @HttpCode(201)
  start(@Body() body: StartTransactionDto) {
    return { id: randomUUID(), definition: body.definition, status: 'running', createdAt: new Date().toISOString() };
  }
}

@Module({ imports: [ObservabilityModule.forApp('http-floor')], controllers: [StartController] })
class HttpFloorModule {}

async function serve(port: number) {
  const app = await createHttpApp(HttpFloorModule, { name: 'http-floor', description: "the coordinator's HTTP stack alone" }, undefined, {
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoLogger));
  await app.listen(port, '127.0.0.1');
}

export interface HttpFloor {
  concurrency: number;
  requests: number;
  /** The server process's CPU per request, ms. */
  cpuMsPerRequest: number;
}

/** Starts like the bench starts transactions (closed loop, kept-alive connections) for `seconds`, after as long a warm-up. */
export async function httpFloor(options: { concurrency: number; seconds: number; input: () => object }): Promise<HttpFloor> {
  const port = await freePort();
  const server = spawnService('http-floor', [__filename, 'serve', String(port)], { LOG_LEVEL: 'warn' }, 'inherit');
  try {
    const api = new Api(`http://127.0.0.1:${port}/api/v1`, 'none');
    await waitFor('the HTTP floor server', () => api.post('/transactions', { definition: 'warm-up', input: {} }).catch(() => undefined), 30_000);
    const run = async (seconds: number) => {
      let requests = 0;
      const until = Date.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          for (; Date.now() < until; requests++) await api.post('/transactions', { definition: 'bench-saga2', input: options.input() });
        }),
      );
      return requests;
    };
    await run(options.seconds);
    const before = cpuMs(server.pid!);
    const requests = await run(options.seconds);
    return { concurrency: options.concurrency, requests, cpuMsPerRequest: (cpuMs(server.pid!) - before) / requests };
  } finally {
    server.kill();
  }
}

if (require.main === module && process.argv[2] === 'serve') void serve(Number(process.argv[3]));
