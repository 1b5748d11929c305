import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { topicNames } from '@ordo/protocol';
import { sleep } from '../infra/proc';
import { median } from './harness';

/**
 * Where an idle 2-step saga's time goes, p50 of each hop in ms. Each message carries the
 * time its producer created it (Kafka's CreateTime; every process runs on this machine's
 * clock), the row its `created_at` and terminal `updated_at`:
 * - `start`: created → first command sent (the start's commit and publish);
 * - `first` / `second`: a command sent → its reply sent (delivery to the participant, its
 *   local transaction, the reply's produce);
 * - `between`: first reply sent → second command sent (delivery to the coordinator, the
 *   decision's commit);
 * - `end`: second reply sent → completed (delivery, the last decision).
 */
export interface IdleHops {
  sagas: number;
  start: number;
  first: number;
  between: number;
  second: number;
  end: number;
}

/** The hops of the 2-step sagas (`steps` in order) that completed at or after `since`. */
export async function idleHops(
  brokers: string,
  topicPrefix: string,
  db: Client,
  since: Date,
  steps: readonly { id: string; participant: string }[],
): Promise<IdleHops> {
  const { rows } = await db.query<{ id: string; created: number; ended: number }>(
    `SELECT id, extract(epoch FROM created_at) * 1000 AS created, extract(epoch FROM updated_at) * 1000 AS ended
     FROM transactions WHERE created_at >= $1 AND status = 'completed'`,
    [since],
  );
  const topics = topicNames(topicPrefix);
  const [firstTopic, secondTopic] = steps.map((step) => topics.commands(step.participant));
  /** Per transaction, the first time each of its four messages was sent. */
  const sent = new Map<string, Partial<Record<'command1' | 'reply1' | 'command2' | 'reply2', number>>>(rows.map((r) => [r.id, {}]));
  const complete = () => [...sent.values()].every((s) => Object.keys(s).length === 4);
  const kafka = new Kafka({ clientId: `${topicPrefix}idle-hops`, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${topicPrefix}idle-hops-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [firstTopic, secondTopic, topics.replies], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        const at = Number(message.timestamp);
        const times = at >= since.getTime() && message.key ? sent.get(message.key.toString()) : undefined;
        if (times) {
          const reply =
            topic === topics.replies && (JSON.parse(message.value!.toString()) as { stepId: string }).stepId === steps[0].id ? 'reply1' : 'reply2';
          times[topic === firstTopic ? 'command1' : topic === secondTopic ? 'command2' : reply] ??= at;
        }
        return Promise.resolve();
      },
    });
    for (const until = Date.now() + 30_000; !complete() && Date.now() < until;) await sleep(100);
  } finally {
    await consumer.disconnect();
  }
  const hops = { start: [] as number[], first: [] as number[], between: [] as number[], second: [] as number[], end: [] as number[] };
  for (const { id, created, ended } of rows) {
    const s = sent.get(id)!;
    if (s.command1 === undefined || s.reply1 === undefined || s.command2 === undefined || s.reply2 === undefined) continue;
    hops.start.push(s.command1 - created);
    hops.first.push(s.reply1 - s.command1);
    hops.between.push(s.command2 - s.reply1);
    hops.second.push(s.reply2 - s.command2);
    hops.end.push(ended - s.reply2);
  }
  const p50 = (figures: number[]) => Math.round(10 * median(figures)) / 10;
  return {
    sagas: hops.start.length,
    start: p50(hops.start),
    first: p50(hops.first),
    between: p50(hops.between),
    second: p50(hops.second),
    end: p50(hops.end),
  };
}
