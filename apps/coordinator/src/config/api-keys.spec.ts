import { digest, parseApiKeys } from './api-keys';

describe('parseApiKeys', () => {
  it('maps each secret, by digest, to its name, role and expiry', () => {
    const keys = parseApiKeys(
      ' ops:operator:0123456789abcdef , grafana:metrics:fedcba9876543210:with:colons ;expires=2027-01-31,' +
        'inventory:participant:participant-secret-0123;expires=2027-01-31T18:30:00+01:00',
    );
    expect(keys.get(digest('0123456789abcdef'))).toEqual({ name: 'ops', role: 'operator' });
    expect(keys.get(digest('fedcba9876543210:with:colons'))).toEqual({
      name: 'grafana',
      role: 'metrics',
      expiresAt: Date.parse('2027-01-31T00:00:00Z'),
    });
    expect(keys.get(digest('participant-secret-0123'))).toEqual({
      name: 'inventory',
      role: 'participant',
      expiresAt: Date.parse('2027-01-31T17:30:00Z'),
    });
    expect(keys.size).toBe(3);
  });

  it('names every bad entry and never shows a secret', () => {
    const parse = () =>
      parseApiKeys(
        'ops:root:0123456789abcdef,bad name:viewer:short,ops:admin:0123456789abcdef,' +
          'a:viewer:aaaaaaaaaaaaaaaa;expires=31/01/2027,b:viewer:bbbbbbbbbbbbbbbb;expires=2027-01-31T10:00,c:viewer:cccccccccccccccc;dddd',
      );
    expect(parse).toThrow(
      'entry 1 (ops): the role must be one of viewer, starter, operator, admin, metrics, participant; ' +
        'entry 2: the name must be 1-100 letters, digits, ".", "_", "@" or "-"; entry 2: the secret must be at least 16 characters; ' +
        'entry 3 (ops): the name is used twice; entry 3 (ops): the secret is used twice; ' +
        'entry 4 (a): expires must be an ISO-8601 date (2027-01-31) or instant with its offset (2027-01-31T18:00:00Z); ' +
        'entry 5 (b): expires must be an ISO-8601 date (2027-01-31) or instant with its offset (2027-01-31T18:00:00Z); ' +
        'entry 6 (c): the only attribute is expires=<date or instant> (a secret cannot hold ";")',
    );
    expect(parse).not.toThrow(/0123456789abcdef|short|cccc|dddd/);
    expect(() => parseApiKeys(' , ')).toThrow('no key configured');
  });
});
