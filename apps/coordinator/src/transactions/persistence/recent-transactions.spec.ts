import { TransactionRecord } from './transaction-record';
import { RecentTransactions } from './recent-transactions';

const record = (id: string, status: TransactionRecord['state']['status'] = 'running', input = {}): TransactionRecord => ({
  id,
  definitionName: 'd',
  definitionVersion: 1,
  type: 'saga',
  input,
  idempotencyKey: null,
  tags: null,
  startedBy: 'ann',
  traceparent: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  version: 0,
  ignoredReplies: 0,
  layout: [],
  state: { status, paused: null, startedAt: 0, deadline: null, rollback: null, steps: {} },
});

describe('RecentTransactions', () => {
  it('gives back the latest record put for a transaction', () => {
    const recent = new RecentTransactions(1 << 20);
    recent.put(record('a'));
    recent.put({ ...record('a'), version: 3 });
    expect(recent.get('a')?.version).toBe(3);
    expect(recent.get('b')).toBeUndefined();
  });

  it('drops a transaction once it is finished, and one it is told to forget', () => {
    const recent = new RecentTransactions(1 << 20);
    recent.put(record('a'));
    recent.put(record('b'));
    recent.put(record('a', 'completed'));
    recent.forget('b');
    expect(recent.get('a')).toBeUndefined();
    expect(recent.get('b')).toBeUndefined();
  });

  it('evicts the least recently used entries once the inputs held pass the budget', () => {
    const big = { blob: 'x'.repeat(2000) };
    // Room for two such entries (about 3 KB each with the overhead), not three.
    const recent = new RecentTransactions(7000);
    recent.put(record('a', 'running', big));
    recent.put(record('b', 'running', big));
    recent.get('a');
    recent.put(record('c', 'running', big));
    expect(recent.get('b')).toBeUndefined();
    expect(recent.get('a')).toBeDefined();
    expect(recent.get('c')).toBeDefined();
  });

  it('keeps nothing with a budget of zero', () => {
    const recent = new RecentTransactions(0);
    recent.put(record('a'));
    expect(recent.get('a')).toBeUndefined();
  });
});
