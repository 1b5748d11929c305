import { CoordinatorConfig } from '../config/coordinator.config';

/** The consumer group all coordinator instances share on the reply topic. */
export function replyGroupId(config: CoordinatorConfig): string {
  return `${config.KAFKA_TOPIC_PREFIX}ordo-coordinator`;
}
