import { randomBytes } from 'crypto';
import { bearer, TEST_KEYS, testActor } from '../support/auth';
import { CoordinatorApi } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';

/**
 * API keys and roles on the coordinator's REST API: health is open, everything else needs
 * a key whose role allows it; failed authentications are limited per client address.
 */
describe('authentication and roles', () => {
  const name = `auth-${randomBytes(3).toString('hex')}`;
  const definition = {
    name,
    type: 'saga',
    steps: [{ id: 'only', participant: `nobody-${name}`, action: 'act', compensation: 'undo' }],
  };
  let coordinator: RunningApp;
  const as = (role: keyof typeof TEST_KEYS | null) => new CoordinatorApi(coordinator.url, role);
  const codeOf = (response: { status: number; body: unknown }) => [response.status, (response.body as { error?: { code: string } })?.error?.code];

  beforeAll(async () => {
    // A low failure limit, so the test reaches it; this coordinator is the file's own.
    coordinator = await startApp('coordinator', { AUTH_FAILURES_PER_MINUTE: '5', DATABASE_SCHEMA: 'ordo_auth' });
  });

  it('serves health without credentials and refuses everything else without a valid key', async () => {
    expect((await fetch(`${coordinator.url}/api/v1/health`)).status).toBe(200);
    expect(codeOf(await as(null).request('GET', '/transactions'))).toEqual([401, 'UNAUTHENTICATED']);
    expect(codeOf(await as(null).request('GET', '/definitions', undefined, { authorization: 'Bearer not-a-key-of-ours' }))).toEqual([
      401,
      'UNAUTHENTICATED',
    ]);
    // X-Api-Key works as well as a bearer token.
    expect((await as(null).request('GET', '/participants', undefined, { 'x-api-key': TEST_KEYS.viewer })).status).toBe(200);
  });

  it('lets each role do what it may and no more', async () => {
    expect(codeOf(await as('operator').request('POST', '/definitions', definition))).toEqual([403, 'FORBIDDEN']);
    expect((await as('admin').request('POST', '/definitions', definition)).status).toBe(201);

    expect((await as('viewer').request('GET', `/definitions/${name}`)).status).toBe(200);
    expect(codeOf(await as('viewer').request('POST', '/transactions', { definition: name, input: {} }))).toEqual([403, 'FORBIDDEN']);
    const started = await as('operator').request<{ id: string }>('POST', '/transactions', { definition: name, input: {} });
    expect(started.status).toBe(201);

    const id = started.body.id;
    expect(codeOf(await as('viewer').request('POST', `/transactions/${id}/abort`, {}))).toEqual([403, 'FORBIDDEN']);
    expect((await as('viewer').request('GET', `/transactions/${id}/events`)).status).toBe(200);
    expect((await as('operator').request('POST', `/transactions/${id}/abort`, { reason: 'test' })).status).toBe(200);
    // The history names the key that acted.
    const events = await as('viewer').events(id);
    expect(events.find((e) => e.type === 'operator.aborted')?.actor).toBe(testActor('operator'));
  });

  it('refuses a client with too many failed authentications, whatever key it then sends', async () => {
    // The earlier tests failed twice from this address; three more reach the limit of five.
    for (let i = 0; i < 3; i++) expect((await as(null).request('GET', '/transactions', undefined, { 'x-api-key': `wrong-${i}` })).status).toBe(401);
    const blocked = await fetch(`${coordinator.url}/api/v1/transactions`, { headers: bearer('admin') });
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_FAILED_LOGINS');
    // Health stays open, and the failures were logged without the keys tried.
    expect((await fetch(`${coordinator.url}/api/v1/health`)).status).toBe(200);
    expect(coordinator.output()).toMatch(/refused GET \/api\/v1\/transactions from .*unknown API key/);
    expect(coordinator.output()).not.toContain('wrong-0');
  });
});
