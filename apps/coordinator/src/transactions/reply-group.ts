import { consumerGroups } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';

/** The consumer group all coordinator instances share on the reply topic. */
export function replyGroupId(config: CoordinatorConfig): string {
  return consumerGroups(config.KAFKA_TOPIC_PREFIX).coordinator;
}
