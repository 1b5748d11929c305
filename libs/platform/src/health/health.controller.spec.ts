import { HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { HEALTH_CACHE_MS, HealthController } from './health.controller';
import { KafkaHealthIndicator } from './kafka.health';
import { ShutdownState } from './shutdown-state';

describe('HealthController', () => {
  const indicators = new HealthIndicatorService();
  let pings = 0;
  const database = {
    pingCheck: async (key: string) => {
      pings++;
      return indicators.check(key).down({ message: 'connect ECONNREFUSED db-7.internal.example:5432' });
    },
  } as unknown as TypeOrmHealthIndicator;
  const kafka = { check: async (key: string) => indicators.check(key).up() } as unknown as KafkaHealthIndicator;
  // Runs the indicators as Terminus does, without its 503.
  const health = { check: async (checks: (() => Promise<object>)[]) => Promise.all(checks.map((check) => check())) } as unknown as HealthCheckService;
  const controller = new HealthController(health, database, kafka, indicators, { shuttingDown: false } as ShutdownState);

  it('answers with each dependency status only, never the error text', async () => {
    expect(await controller.check()).toEqual([{ database: { status: 'down' } }, { kafka: { status: 'up' } }]);
  });

  it('checks the dependencies once per period, however many probes come', async () => {
    jest.useFakeTimers({ now: Date.now() + 10 * HEALTH_CACHE_MS });
    try {
      pings = 0;
      await Promise.all(Array.from({ length: 50 }, () => controller.ready()));
      expect(pings).toBe(1);
      jest.setSystemTime(Date.now() + HEALTH_CACHE_MS);
      await controller.check();
      expect(pings).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });
});
