import { randomBytes } from 'crypto';
import { IncomingMessage, kafkaConfigFromEnv, KafkajsMessageBus } from '@ordo/platform';
import { testEnv } from './test-env';

/** A message bus on the run's broker; the topics it creates have 2 partitions, like the apps' in tests. */
export function testBus(clientId = 'e2e', settings: Record<string, string> = {}): KafkajsMessageBus {
  return new KafkajsMessageBus({
    clientId,
    kafka: kafkaConfigFromEnv({ KAFKA_BROKERS: testEnv().kafkaBrokers, KAFKA_TOPIC_PARTITIONS: '2', ...settings }),
  });
}

/** Collects the messages of `topics` from the beginning, for assertions. */
export async function collect(bus: KafkajsMessageBus, topics: string[]) {
  const received: IncomingMessage[] = [];
  const subscription = await bus.subscribe({
    groupId: `e2e-${randomBytes(4).toString('hex')}`,
    topics,
    handleBatch: async (messages) => void received.push(...messages),
  });
  return {
    received,
    close: () => subscription.close(),
    /** Waits until a message matching `match` arrives. */
    async waitFor(match: (m: IncomingMessage) => boolean, timeoutMs = 30_000): Promise<IncomingMessage> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(match);
        if (found) return found;
        if (Date.now() > until) throw new Error(`no matching message on ${topics.join(', ')} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

export function json(message: IncomingMessage): Record<string, unknown> {
  return JSON.parse(message.value!.toString());
}
