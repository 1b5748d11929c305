import { consumerGroups } from '@ordo/protocol';
import { kafkaAdmin } from '../infra/kafka';
import { waitFor } from '../infra/proc';

/**
 * Waits until each consumer group is stable with the members it should have: every instance
 * that started has joined, and no rebalance (which stops the group's consumption for its
 * length) falls into a measurement. `members` maps a group id to its instance count.
 */
export async function groupsSettled(brokers: string, members: Record<string, number>, timeoutMs = 60_000): Promise<void> {
  const admin = kafkaAdmin({ ...process.env, KAFKA_BROKERS: brokers });
  await admin.connect();
  try {
    let last = '';
    await waitFor(
      'the consumer groups to settle',
      async () => {
        const { groups } = await admin.describeGroups(Object.keys(members));
        last = groups.map((g) => `${g.groupId} ${g.state} with ${g.members.length}`).join(', ');
        return groups.every((g) => g.state === 'Stable' && g.members.length === members[g.groupId]) ? true : undefined;
      },
      timeoutMs,
    ).catch((error: Error) => {
      throw new Error(`${error.message} (last seen: ${last})`);
    });
  } finally {
    await admin.disconnect();
  }
}

/** The groups of a system with `coordinators` coordinator instances and `participants` instances of each named participant. */
export function systemGroups(
  topicPrefix: string,
  coordinators: number,
  participantNames: readonly string[],
  participants: number,
): Record<string, number> {
  const groups = consumerGroups(topicPrefix);
  return Object.fromEntries([
    [groups.coordinator, coordinators],
    ...participantNames.map((name): [string, number] => [groups.participant(name), participants]),
  ]);
}
