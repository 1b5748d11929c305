import { HistoryEvent } from '../engine';

/**
 * History rows a transaction keeps of the replies it ignored; later ones are only counted
 * (`ignored_replies`). A participant, or anyone who can write to the reply topic, could
 * otherwise grow a transaction's history without bound by replaying replies.
 */
export const MAX_IGNORED_REPLY_EVENTS = 20;

/**
 * A decision's history rows without the `step.reply_ignored` ones past the cap, given how
 * many replies the transaction had ignored before; and how many this decision ignored.
 */
export function capIgnoredReplies<E extends { event: HistoryEvent }>(events: readonly E[], ignoredBefore: number): { kept: E[]; ignored: number } {
  const kept: E[] = [];
  let ignored = 0;
  for (const entry of events) {
    if (entry.event.type !== 'step.reply_ignored') kept.push(entry);
    else if (ignoredBefore + ignored++ < MAX_IGNORED_REPLY_EVENTS) kept.push(entry);
  }
  return { kept, ignored };
}
