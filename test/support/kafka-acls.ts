import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Admin, ResourcePatternTypes } from 'kafkajs';
import { consumerGroups, topicNames } from '@ordo/protocol';

/** Who is who on the broker: the coordinator's principal and each participant's (by participant name). */
export interface Principals {
  coordinator: string;
  participants: Record<string, string>;
}

interface Grant {
  principal: string;
  operation: 'READ' | 'WRITE';
  resource: 'TOPIC' | 'GROUP';
  name: string;
}

/** The coordinator's dead letters: the reply topic's, and the outbox's (commands it could not publish). */
function coordinatorDeadLetters(prefix: string): string[] {
  const topics = topicNames(prefix);
  return [topics.deadLetter(topics.replies), topics.deadLetter(`${prefix}ordo.outbox`)];
}

/** Every topic of a deployment with these participants, by kind, as the platform team creates them. */
export function deploymentTopics(prefix: string, participants: string[]) {
  const topics = topicNames(prefix);
  return {
    commands: participants.map(topics.commands),
    replies: [topics.replies],
    deadLetters: [...participants.map((p) => topics.deadLetter(topics.commands(p))), ...coordinatorDeadLetters(prefix)],
  };
}

/**
 * The ACL matrix of docs/operations.md ("Kafka security") for topics that already exist
 * (KAFKA_CREATE_TOPICS=off): the coordinator reads the replies in its group and writes
 * commands and its dead letters; a participant reads its own commands in its own group and
 * writes replies and its own dead letters. Nothing else (READ and WRITE imply DESCRIBE).
 */
export function ordoAcls(prefix: string, principals: Principals): Grant[] {
  const topics = topicNames(prefix);
  const groups = consumerGroups(prefix);
  const participants = Object.keys(principals.participants);
  const coordinator = principals.coordinator;
  return [
    { principal: coordinator, operation: 'READ', resource: 'TOPIC', name: topics.replies },
    { principal: coordinator, operation: 'READ', resource: 'GROUP', name: groups.coordinator },
    ...[...participants.map(topics.commands), ...coordinatorDeadLetters(prefix)].map((name): Grant => ({
      principal: coordinator,
      operation: 'WRITE',
      resource: 'TOPIC',
      name,
    })),
    ...Object.entries(principals.participants).flatMap(([participant, principal]): Grant[] => [
      { principal, operation: 'READ', resource: 'TOPIC', name: topics.commands(participant) },
      { principal, operation: 'READ', resource: 'GROUP', name: groups.participant(participant) },
      { principal, operation: 'WRITE', resource: 'TOPIC', name: topics.replies },
      { principal, operation: 'WRITE', resource: 'TOPIC', name: topics.deadLetter(topics.commands(participant)) },
    ]),
  ];
}

/** Creates the grants with the Admin API (the admin must be a super user). */
export async function createAcls(admin: Admin, grants: Grant[]): Promise<void> {
  await admin.createAcls({
    acl: grants.map((grant) => ({
      resourceType: AclResourceTypes[grant.resource],
      resourceName: grant.name,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${grant.principal}`,
      host: '*',
      operation: AclOperationTypes[grant.operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  });
}
