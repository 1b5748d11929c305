/**
 * Topic names. Every name takes the deployment's prefix (KAFKA_TOPIC_PREFIX), so several
 * Ordo deployments, or test runs, can share one Kafka cluster.
 */
export interface TopicNames {
  commands: (participant: string) => string;
  replies: string;
  deadLetter: (topic: string) => string;
}

export const DEFAULT_REPLY_TOPIC = 'ordo.replies';

export function topicNames(prefix = '', replyTopic = DEFAULT_REPLY_TOPIC): TopicNames {
  return {
    commands: (participant) => `${prefix}${participant}.commands`,
    replies: `${prefix}${replyTopic}`,
    deadLetter: (topic) => `${topic}.dlq`,
  };
}

/**
 * Consumer group ids, also prefixed: broker ACLs name them. All coordinator instances share
 * one group on the reply topic; all instances of one participant share one on its commands.
 */
export function consumerGroups(prefix = '') {
  return {
    coordinator: `${prefix}ordo-coordinator`,
    participant: (participant: string) => `${prefix}${participant}`,
  };
}

/** Participant names become topic names, so they are restricted to Kafka-safe characters. */
export const PARTICIPANT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
