/**
 * The API keys every coordinator a test starts accepts (ORDO_API_KEYS), one per role and
 * scope. Test-only secrets: they guard nothing but a throwaway database.
 */
export const TEST_KEYS = {
  admin: 'test-admin-key-0123456789',
  operator: 'test-operator-key-0123456789',
  viewer: 'test-viewer-key-0123456789',
  starter: 'test-starter-key-0123456789',
  metrics: 'test-metrics-key-0123456789',
  participant: 'test-participant-key-0123456789',
} as const;

export const TEST_API_KEYS = Object.entries(TEST_KEYS)
  .map(([role, secret]) => `test-${role}:${role}:${secret}`)
  .join(',');

/** The name the coordinator records for what a role's test key did (operator actions, starts, registrations). */
export const testActor = (role: keyof typeof TEST_KEYS) => `test-${role}`;

export const bearer = (role: keyof typeof TEST_KEYS) => ({ authorization: `Bearer ${TEST_KEYS[role]}` });
