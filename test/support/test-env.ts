/**
 * What the global setup hands to every e2e test file (through the environment, which
 * Jest's workers inherit): the run's own database and topic prefix on shared infra.
 */
export interface TestEnv {
  databaseUrl: string;
  kafkaBrokers: string;
  topicPrefix: string;
}

export function testEnv(): TestEnv {
  const databaseUrl = process.env.ORDO_TEST_DATABASE_URL;
  const kafkaBrokers = process.env.ORDO_TEST_KAFKA_BROKERS;
  const topicPrefix = process.env.ORDO_TEST_TOPIC_PREFIX;
  if (!databaseUrl || !kafkaBrokers || topicPrefix === undefined) {
    throw new Error('e2e tests run through `npm test` (its global setup provides the database and broker)');
  }
  return { databaseUrl, kafkaBrokers, topicPrefix };
}
