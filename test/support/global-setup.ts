import { randomBytes } from 'crypto';
import { startInfra } from '../../tools/infra/infra';
import { ensureDatabase, withDatabase } from '../../tools/infra/postgres';

/**
 * Starts (or reuses) the same infrastructure as `npm start`, then gives this run a fresh
 * database and topic prefix, so runs never see each other's data.
 */
export default async function globalSetup() {
  const log = (line: string) => process.stdout.write(`[e2e] ${line}\n`);
  const infra = await startInfra(log);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `ordo_test_${runId}`;
  await ensureDatabase(infra.databaseUrl, database);
  process.env.ORDO_TEST_DATABASE_URL = withDatabase(infra.databaseUrl, database);
  process.env.ORDO_TEST_KAFKA_BROKERS = infra.kafkaBrokers;
  process.env.ORDO_TEST_TOPIC_PREFIX = `test-${runId}.`;
  (globalThis as Record<string, unknown>).__ORDO_E2E__ = { infra, database };
  log(`database ${database}, topic prefix test-${runId}.`);
}
