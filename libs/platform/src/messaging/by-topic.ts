/** Messages grouped by topic, each group in the order given (one pass: Map.groupBy needs Node 21). */
export function byTopic<M extends { topic: string }>(messages: readonly M[]): Map<string, M[]> {
  const groups = new Map<string, M[]>();
  for (const message of messages) {
    const group = groups.get(message.topic);
    if (group) group.push(message);
    else groups.set(message.topic, [message]);
  }
  return groups;
}
