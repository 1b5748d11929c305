import { allows, digest, parseApiKeys } from './api-keys';

describe('parseApiKeys', () => {
  it('maps each secret, by digest, to its name and role', () => {
    const keys = parseApiKeys(' ops:operator:0123456789abcdef , grafana:viewer:fedcba9876543210:with:colons');
    expect(keys.get(digest('0123456789abcdef'))).toEqual({ name: 'ops', role: 'operator' });
    expect(keys.get(digest('fedcba9876543210:with:colons'))).toEqual({ name: 'grafana', role: 'viewer' });
    expect(keys.size).toBe(2);
  });

  it('names every bad entry and never shows a secret', () => {
    const parse = () => parseApiKeys('ops:root:0123456789abcdef,bad name:viewer:short,ops:admin:0123456789abcdef');
    expect(parse).toThrow(
      'entry 1 (ops): the role must be one of viewer, operator, admin; ' +
        'entry 2: the name must be 1-100 letters, digits, ".", "_", "@" or "-"; entry 2: the secret must be at least 16 characters; ' +
        'entry 3 (ops): the name is used twice; entry 3 (ops): the secret is used twice',
    );
    expect(parse).not.toThrow(/0123456789abcdef|short/);
    expect(() => parseApiKeys(' , ')).toThrow('no key configured');
  });
});

describe('allows', () => {
  it('orders the roles viewer < operator < admin', () => {
    expect(allows('admin', 'operator')).toBe(true);
    expect(allows('operator', 'operator')).toBe(true);
    expect(allows('operator', 'admin')).toBe(false);
    expect(allows('viewer', 'operator')).toBe(false);
  });
});
