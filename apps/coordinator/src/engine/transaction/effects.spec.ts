import { toCommand } from './effects';

describe('toCommand', () => {
  it('builds the wire command, with the deadline as an ISO-8601 instant', () => {
    const command = toCommand('tx-1', 'saga', {
      kind: 'send',
      stepId: 'charge',
      participant: 'payment',
      phase: 'compensate',
      action: 'refund',
      attempt: 2,
      input: { amount: 5 },
      deadline: Date.UTC(2026, 0, 1),
    });
    expect(command).toEqual({
      txId: 'tx-1',
      stepId: 'charge',
      type: 'saga',
      phase: 'compensate',
      action: 'refund',
      attempt: 2,
      input: { amount: 5 },
      deadline: '2026-01-01T00:00:00.000Z',
    });
  });
});
