import { HistoryEvent } from '../engine';
import { capIgnoredReplies, MAX_IGNORED_REPLY_EVENTS } from './ignored-replies';

const ignored = (attempt: number) => ({
  event: { type: 'step.reply_ignored', stepId: 'a', phase: 'execute', attempt, outcome: 'success', reason: 'not_awaited' } as HistoryEvent,
});
const replied = { event: { type: 'step.replied', stepId: 'a', phase: 'execute', attempt: 1, outcome: 'success' } as HistoryEvent };

describe('capIgnoredReplies', () => {
  it('keeps every row while the transaction is under the cap, and counts the ignored replies', () => {
    const events = [ignored(1), replied, ignored(2)];
    expect(capIgnoredReplies(events, 0)).toEqual({ kept: events, ignored: 2 });
  });

  it('drops the ignored replies past the cap, never other rows, and still counts them', () => {
    const events = [ignored(1), replied, ignored(2), ignored(3)];
    expect(capIgnoredReplies(events, MAX_IGNORED_REPLY_EVENTS - 1)).toEqual({ kept: [ignored(1), replied], ignored: 3 });
    expect(capIgnoredReplies(events, MAX_IGNORED_REPLY_EVENTS + 100)).toEqual({ kept: [replied], ignored: 3 });
  });

  it('changes nothing in a decision without ignored replies', () => {
    expect(capIgnoredReplies([replied], 500)).toEqual({ kept: [replied], ignored: 0 });
  });
});
