import { randomBytes, randomUUID } from 'crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { bearer, TEST_API_KEYS, TEST_KEYS, testActor } from '../support/auth';
import { codeOf, CoordinatorApi } from '../support/coordinator-api';
import { RunningApp, runAppToExit, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';
import { waitFor } from '../../tools/infra/proc';

const EXPIRED_KEY = 'test-expired-key-0123456789';
const LATER_KEY = 'test-later-key-0123456789';

/**
 * API keys, roles and scopes on the coordinator's REST API: health is open, everything else
 * needs an unexpired key whose role allows it; what a key starts or registers names it;
 * failed authentications are limited per client (behind a trusted proxy) and key. This
 * coordinator reads its keys and database URL from files, as from mounted secrets.
 */
describe('authentication, roles and scopes', () => {
  const name = `auth-${randomBytes(3).toString('hex')}`;
  const definition = {
    name,
    type: 'saga',
    steps: [{ id: 'only', participant: `nobody-${name}`, action: 'act', compensation: 'undo' }],
  };
  const secrets = mkdtempSync(join(tmpdir(), 'ordo-auth-'));
  let coordinator: RunningApp;
  const as = (role: keyof typeof TEST_KEYS | null) => new CoordinatorApi(coordinator.url, role);
  /** A GET from a client behind the proxy, with this credential. */
  const from = (client: string, key: string, path = '/transactions') =>
    fetch(`${coordinator.url}/api/v1${path}`, { headers: { 'x-forwarded-for': client, authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    const file = (fileName: string, content: string) => {
      const path = join(secrets, fileName);
      writeFileSync(path, content);
      return path;
    };
    const keys = `${TEST_API_KEYS},test-expired:viewer:${EXPIRED_KEY};expires=2020-01-01,test-later:viewer:${LATER_KEY};expires=2099-12-31T00:00:00Z\n`;
    coordinator = await startApp('coordinator', {
      // A low failure limit, so the test reaches it; this coordinator is the file's own.
      AUTH_FAILURES_PER_MINUTE: '5',
      DATABASE_SCHEMA: 'ordo_auth',
      // One proxy in front: the client is the last X-Forwarded-For address.
      TRUST_PROXY: '1',
      MAX_STREAMS_PER_KEY: '2',
      // Registrations are logged at this level.
      LOG_LEVEL: 'log',
      ORDO_API_KEYS: undefined,
      ORDO_API_KEYS_FILE: file('keys', keys),
      DATABASE_URL: undefined,
      DATABASE_URL_FILE: file('database-url', `${testEnv().databaseUrl}\n`),
    });
  });

  afterAll(() => rmSync(secrets, { recursive: true, force: true }));

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

  it('lets each role do what it may and no more, and records who started and registered what', async () => {
    expect(codeOf(await as('operator').request('POST', '/definitions', definition))).toEqual([403, 'FORBIDDEN']);
    const registered = await as('admin').request<{ registeredBy: string }>('POST', '/definitions', definition);
    expect([registered.status, registered.body.registeredBy]).toEqual([201, testActor('admin')]);
    // The log line may reach the pipe a moment after the response.
    const line = `definition ${name} version 1 registered by ${testActor('admin')}`;
    await waitFor('the registration logged', async () => (coordinator.output().includes(line) ? true : undefined), 5_000);

    const listed = await as('viewer').request<{ items: { name: string; registeredBy: string }[] }>('GET', '/definitions?limit=500');
    expect(listed.body.items.find((d) => d.name === name)?.registeredBy).toBe(testActor('admin'));
    expect(codeOf(await as('viewer').request('POST', '/transactions', { definition: name, input: {} }))).toEqual([403, 'FORBIDDEN']);
    const started = await as('operator').request<{ id: string; startedBy: string }>('POST', '/transactions', { definition: name, input: {} });
    expect([started.status, started.body.startedBy]).toEqual([201, testActor('operator')]);

    const id = started.body.id;
    expect(codeOf(await as('viewer').request('POST', `/transactions/${id}/abort`, {}))).toEqual([403, 'FORBIDDEN']);
    expect((await as('viewer').request('GET', `/transactions/${id}/events`)).status).toBe(200);
    expect((await as('operator').request('POST', `/transactions/${id}/abort`, { reason: 'test' })).status).toBe(200);
    // The history names the key that started it and the one that acted.
    const events = await as('viewer').events(id);
    expect(events.find((e) => e.type === 'transaction.started')?.actor).toBe(testActor('operator'));
    expect(events.find((e) => e.type === 'operator.aborted')?.actor).toBe(testActor('operator'));
    expect((await as('viewer').get(id)) as unknown).toMatchObject({ startedBy: testActor('operator') });
  });

  it('lets a starter key start transactions and read them, and repair nothing', async () => {
    const started = await as('starter').request<{ id: string; startedBy: string }>('POST', '/transactions', { definition: name, input: {} });
    expect([started.status, started.body.startedBy]).toEqual([201, testActor('starter')]);
    const id = started.body.id;
    expect((await as('starter').request('GET', `/transactions/${id}`)).status).toBe(200);
    expect(codeOf(await as('starter').request('POST', `/transactions/${id}/abort`, {}))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await as('starter').request('POST', '/definitions', definition))).toEqual([403, 'FORBIDDEN']);
  });

  it('lets a metrics key scrape and nothing else, and a participant key read decisions and nothing else', async () => {
    const twoPc = { name: `${name}-2pc`, type: '2pc', steps: [{ id: 'only', participant: `nobody-${name}`, action: 'act' }] };
    await as('admin').register(twoPc);
    const { id } = await as('operator').start(twoPc.name, {});

    const scrape = await fetch(`${coordinator.url}/metrics`, { headers: bearer('metrics') });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('ordo_transactions_started_total');
    for (const path of ['/transactions', `/transactions/${id}`, `/transactions/${id}/decision`, '/definitions', '/auth/me']) {
      expect([path, ...codeOf(await as('metrics').request('GET', path))]).toEqual([path, 403, 'FORBIDDEN']);
    }

    expect((await as('participant').request('GET', `/transactions/${id}/decision`)).body).toEqual({ id, type: '2pc', decision: 'pending' });
    // Never decided: the participant presumes abort on this code.
    expect(codeOf(await as('participant').request('GET', `/transactions/${randomUUID()}/decision`))).toEqual([404, 'TRANSACTION_NOT_FOUND']);
    for (const path of [`/transactions/${id}`, `/transactions/${id}/events`, '/transactions', '/definitions', '/participants']) {
      expect([path, ...codeOf(await as('participant').request('GET', path))]).toEqual([path, 403, 'FORBIDDEN']);
    }
    expect((await fetch(`${coordinator.url}/metrics`, { headers: bearer('participant') })).status).toBe(403);
    // The roles above hold both scopes.
    expect((await as('viewer').request('GET', `/transactions/${id}/decision`)).status).toBe(200);
    expect((await fetch(`${coordinator.url}/metrics`, { headers: bearer('viewer') })).status).toBe(200);
  });

  it("keeps each caller's idempotency keys its own", async () => {
    const key = `order-${randomBytes(4).toString('hex')}`;
    const start = (role: 'operator' | 'admin') =>
      as(role).request<{ id: string; startedBy: string; idempotencyKey: string }>('POST', '/transactions', {
        definition: name,
        input: { role },
        idempotencyKey: key,
      });
    const first = await start('operator');
    const again = await start('operator');
    const other = await start('admin');
    const otherAgain = await start('admin');
    expect([first.status, again.status, other.status, otherAgain.status]).toEqual([201, 200, 201, 200]);
    expect(again.body.id).toBe(first.body.id);
    expect(other.body.id).not.toBe(first.body.id);
    expect(otherAgain.body.id).toBe(other.body.id);
    expect(other.body.startedBy).toBe(testActor('admin'));
    // Each caller sees its key as it sent it.
    const read = (await as('viewer').get(other.body.id)) as unknown as { idempotencyKey: string };
    expect([first.body.idempotencyKey, other.body.idempotencyKey, read.idempotencyKey]).toEqual([key, key, key]);
  });

  it('refuses an expired key with its own 401, logged once, and accepts one that has not expired yet', async () => {
    for (let i = 0; i < 3; i++) {
      const refused = await from('192.0.2.10', EXPIRED_KEY);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string; message: string } }).error).toEqual({
        code: 'KEY_EXPIRED',
        message: 'the API key test-expired expired at 2020-01-01T00:00:00.000Z; ask for a new one',
      });
    }
    expect(coordinator.output().match(/refused the API key test-expired/g)).toHaveLength(1);
    expect((await from('192.0.2.10', LATER_KEY)).status).toBe(200);
  });

  it('limits failed logins per client behind the proxy and per key: a valid key is not refused for the failures of others', async () => {
    const flooder = '203.0.113.7';
    const neighbour = '203.0.113.8';
    // A client that authenticated before the flood, from the address that will flood.
    expect((await from(flooder, TEST_KEYS.viewer)).status).toBe(200);

    // One wrong key repeated: that client and key are refused, nothing else.
    for (let i = 0; i < 5; i++) expect((await from(flooder, 'a-wrong-key-repeated')).status).toBe(401);
    const blocked = await from(flooder, 'a-wrong-key-repeated');
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_FAILED_LOGINS');
    expect((await from(flooder, TEST_KEYS.operator)).status).toBe(200);

    // Many wrong keys (guessing): the address is refused for any key it has not used before…
    for (let i = 0; i < 4; i++) expect((await from(flooder, `guess-${i}`)).status).toBe(401);
    expect((await from(flooder, 'guess-next')).status).toBe(429);
    expect((await from(flooder, TEST_KEYS.admin)).status).toBe(429);
    // …but keys established from it keep working, and every other client is unaffected.
    expect((await from(flooder, TEST_KEYS.viewer)).status).toBe(200);
    expect((await from(neighbour, TEST_KEYS.admin)).status).toBe(200);
    expect((await from(neighbour, 'a-wrong-key-repeated')).status).toBe(401);

    // Health stays open, and the failures were logged with the client's address, without the keys tried.
    expect((await fetch(`${coordinator.url}/api/v1/health`, { headers: { 'x-forwarded-for': flooder } })).status).toBe(200);
    expect(coordinator.output()).toContain(`refused GET /api/v1/transactions from ${flooder}: unknown API key`);
    expect(coordinator.output()).not.toContain('guess-0');
  });

  it('caps the live-update streams each key holds open', async () => {
    const open = async (role: keyof typeof TEST_KEYS) => {
      const abort = new AbortController();
      const response = await fetch(`${coordinator.url}/api/v1/transactions/stream`, { headers: bearer(role), signal: abort.signal });
      const body = response.status === 200 ? null : ((await response.json()) as { error: { code: string } });
      return { status: response.status, body, close: () => abort.abort() };
    };
    const [first, second] = [await open('viewer'), await open('viewer')];
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await open('viewer');
    expect([third.status, third.body?.error.code]).toEqual([429, 'TOO_MANY_STREAMS']);
    const operator = await open('operator');
    expect(operator.status).toBe(200);
    first.close();
    let reopened = await open('viewer');
    for (let tries = 0; reopened.status === 429 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reopened = await open('viewer');
    }
    expect(reopened.status).toBe(200);
    [second, operator, reopened].forEach((stream) => stream.close());
  });

  it('sends security headers on the dashboard and the API, and health without error text', async () => {
    for (const path of ['/', '/api/v1/auth/me']) {
      const response = await fetch(`${coordinator.url}${path}`, { headers: bearer('viewer') });
      expect(response.status).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self';");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
      expect(response.headers.get('x-powered-by')).toBeNull();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
    // Swagger UI's page alone may inline styles.
    const docs = await fetch(`${coordinator.url}/api/docs`);
    expect(docs.headers.get('content-security-policy')).toContain("style-src 'self' 'unsafe-inline'");

    const health = await fetch(`${coordinator.url}/api/v1/health`);
    expect(await health.json()).toEqual({
      status: 'ok',
      info: { database: { status: 'up' }, kafka: { status: 'up' } },
      error: {},
      details: { database: { status: 'up' }, kafka: { status: 'up' } },
    });
    // A flood of probes is answered from one check a second.
    const started = performance.now();
    const flood = await Promise.all(Array.from({ length: 200 }, () => fetch(`${coordinator.url}/api/v1/health`).then((r) => r.status)));
    expect(flood).toEqual(Array(200).fill(200));
    process.stdout.write(`[auth] 200 concurrent health probes answered in ${(performance.now() - started).toFixed(0)} ms\n`);
  });

  it('refuses to start with a secret given both ways, or from a file it cannot read, naming neither value', async () => {
    const env = { DATABASE_URL: testEnv().databaseUrl, KAFKA_BROKERS: testEnv().kafkaBrokers };
    const both = await runAppToExit('coordinator', { ...env, ORDO_API_KEYS: TEST_API_KEYS, ORDO_API_KEYS_FILE: join(secrets, 'keys') });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('ORDO_API_KEYS: set either ORDO_API_KEYS or ORDO_API_KEYS_FILE, not both');
    expect(both.stderr).not.toContain(TEST_KEYS.admin);
    const missing = await runAppToExit('coordinator', { ...env, ORDO_API_KEYS: undefined, ORDO_API_KEYS_FILE: join(secrets, 'no-such-file') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ORDO_API_KEYS_FILE: cannot read .*no-such-file \(ENOENT\)/);
  });
});
