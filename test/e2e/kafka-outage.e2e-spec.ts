import { mkdtempSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { KafkaOptions, kafkaBrokers, kafkaPid, startKafka, stopKafka } from '../../tools/infra/kafka';
import { sleep } from '../../tools/infra/proc';
import { testBus } from '../support/kafka';
import { RunningApp, freePort, startApp } from '../support/processes';

interface HealthBody {
  details?: Record<string, { status: string } | undefined>;
}

async function kafkaStatus(app: RunningApp): Promise<string | undefined> {
  const response = await fetch(`${app.url}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as HealthBody;
  return body.details?.kafka?.status;
}

async function secondsUntil(app: RunningApp, status: 'up' | 'down', limitMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if ((await kafkaStatus(app)) === status) return (Date.now() - started) / 1000;
    await sleep(250);
  }
  throw new Error(`Kafka health did not turn ${status} within ${limitMs} ms`);
}

/**
 * Health follows the broker: a killed broker shows as down within 10 s, and a restarted
 * one as up again, with no restart of the app. The test kills a broker of its own so the
 * run's shared broker keeps serving the other tests.
 */
describe('Kafka outage', () => {
  let broker: KafkaOptions;
  let coordinator: RunningApp;

  beforeAll(async () => {
    broker = { dir: mkdtempSync(join(tmpdir(), 'ordo-kafka-')), port: await freePort(), controllerPort: await freePort(), heapMb: 384 };
    await startKafka(broker);
    coordinator = await startApp('coordinator', { KAFKA_BROKERS: kafkaBrokers(broker) });
  });

  afterAll(async () => {
    await coordinator?.stop();
    await stopKafka(broker);
    rmSync(broker.dir, { recursive: true, force: true });
  });

  it('reports Kafka down within 10 s of a SIGKILL and up again after a restart', async () => {
    expect(await kafkaStatus(coordinator)).toBe('up');

    process.kill(kafkaPid(broker)!, 'SIGKILL');
    const down = await secondsUntil(coordinator, 'down', 10_000);
    expect(down).toBeLessThan(10);
    const response = await fetch(`${coordinator.url}/api/v1/health`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as HealthBody).details?.database?.status).toBe('up');

    await startKafka(broker);
    const up = await secondsUntil(coordinator, 'up', 30_000);
    process.stdout.write(`[kafka-outage] health down after ${down.toFixed(1)} s; up ${up.toFixed(1)} s after the broker was ready again\n`);
    expect(coordinator.process.exitCode).toBeNull();
  });

  it('leaves nothing running after a consumer is closed while its broker is down', async () => {
    await coordinator.stop(); // it would dial the broker too
    const bus = testBus('kafka-outage', { KAFKA_BROKERS: kafkaBrokers(broker) });
    await bus.ensureTopics({ replies: ['kafka-outage.closed'] });
    const subscription = await bus.subscribe({ groupId: 'kafka-outage-closed', topics: ['kafka-outage.closed'], handleBatch: async () => undefined });
    process.kill(kafkaPid(broker)!, 'SIGKILL');
    // Long enough for kafkajs to give up a fetch and restart the consumer, reconnecting.
    await sleep(8000);
    await subscription.close();
    await bus.close();
    // A consumer that outlived its close keeps dialing its broker: count who knocks.
    let knocks = 0;
    const listener = createServer((socket) => {
      knocks++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(broker.port, '127.0.0.1', resolve));
    await sleep(6000);
    await new Promise((resolve) => listener.close(resolve));
    expect(knocks).toBe(0);
  });
});
