import { allows } from './roles';

describe('allows', () => {
  it('orders the roles viewer < starter < operator < admin', () => {
    expect(allows('admin', 'operator')).toBe(true);
    expect(allows('operator', 'operator')).toBe(true);
    expect(allows('operator', 'admin')).toBe(false);
    expect(allows('viewer', 'operator')).toBe(false);
    expect(allows('operator', 'starter')).toBe(true);
    expect(allows('starter', 'starter')).toBe(true);
    expect(allows('starter', 'viewer')).toBe(true);
    expect(allows('starter', 'operator')).toBe(false);
    expect(allows('viewer', 'starter')).toBe(false);
  });

  it('lets the scopes reach their own routes only, and every role reach theirs', () => {
    expect(allows('metrics', 'metrics')).toBe(true);
    expect(allows('participant', 'participant')).toBe(true);
    for (const needed of ['viewer', 'starter', 'operator', 'admin'] as const) {
      expect(allows('metrics', needed)).toBe(false);
      expect(allows('participant', needed)).toBe(false);
    }
    expect(allows('metrics', 'participant')).toBe(false);
    expect(allows('participant', 'metrics')).toBe(false);
    expect(allows('viewer', 'metrics')).toBe(true);
    expect(allows('viewer', 'participant')).toBe(true);
    expect(allows('starter', 'participant')).toBe(true);
  });

  it("lets a scope's writes (a participant's report) be made by the scope and by operator or admin only", () => {
    expect(allows('participant', 'participant', true)).toBe(true);
    expect(allows('operator', 'participant', true)).toBe(true);
    expect(allows('admin', 'participant', true)).toBe(true);
    expect(allows('viewer', 'participant', true)).toBe(false);
    expect(allows('starter', 'participant', true)).toBe(false);
    expect(allows('operator', 'operator', true)).toBe(true);
  });
});
