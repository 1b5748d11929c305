import { INestApplication } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'crypto';
import { DataSource } from 'typeorm';
import { createHttpApp } from '@ordo/platform';
import { CoordinatorModule } from '../../apps/coordinator/src/coordinator.module';
import { canonicalDefinition, WorkflowDefinition } from '../../apps/coordinator/src/engine';
import { PLACE_ORDER_DEFINITION } from '../../apps/coordinator/src/definitions/dto/definition.dto';
import { testEnv } from '../support/test-env';
import { bearer, testActor } from '../support/auth';

interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
}

/** A fresh definition name: the run's database is shared by every test file of the run. */
function uniqueName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** The documented place-order example under another name (each test registers its own). */
function placeOrder(name: string, timeoutMs = 30_000): WorkflowDefinition {
  return { ...PLACE_ORDER_DEFINITION, name, timeoutMs };
}

/**
 * The definitions API served in-process exactly as `npm start` serves it (prefix, pipes,
 * error filter, OpenAPI), against the run's real database.
 */
describe('definitions API', () => {
  const env = testEnv();
  let app: INestApplication;
  let baseUrl: string;

  /** `body` is sent as JSON, or as is when it is already a string. */
  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResponse> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...bearer('admin'), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const register = (body: unknown) => call('POST', '/api/v1/definitions', body);

  beforeAll(async () => {
    Object.assign(process.env, {
      DATABASE_URL: env.databaseUrl,
      DATABASE_SCHEMA: 'ordo',
      KAFKA_BROKERS: env.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: env.topicPrefix,
      LOG_LEVEL: 'warn',
    });
    app = await createHttpApp(CoordinatorModule, { name: 'coordinator', description: 'e2e' }, undefined, { logger: ['error', 'warn'] });
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('registers a new definition as version 1 and stores its canonical form and hash', async () => {
    const definition = placeOrder(uniqueName('register'));
    const { status, body } = await register(definition);

    expect(status).toBe(201);
    expect(body).toEqual({
      name: definition.name,
      version: 1,
      type: 'saga',
      createdAt: expect.any(String),
      registeredBy: testActor('admin'),
      definition,
    });
    expect(new Date(body.createdAt as string).toISOString()).toBe(body.createdAt);
    // The body is served in canonical form, as hashed.
    const canonical = canonicalDefinition(definition);
    expect(JSON.stringify(body.definition)).toBe(canonical);
    const [row] = await app
      .get<DataSource>(getDataSourceToken())
      .query('SELECT body_hash FROM definitions WHERE name = $1 AND version = 1', [definition.name]);
    expect(row.body_hash).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('returns the latest version with 200 for an identical body, whatever its key order', async () => {
    const definition = placeOrder(uniqueName('identical'));
    const first = await register(definition);
    const { steps, ...rest } = definition;
    const reordered = { steps: steps.map((step) => Object.fromEntries(Object.entries(step).reverse())), ...rest };
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(definition));

    const again = await register(reordered);

    expect(first.status).toBe(201);
    expect(again).toEqual({ status: 200, body: first.body });
  });

  it('registers a changed body as the next version and serves latest and specific versions', async () => {
    const name = uniqueName('versions');
    const v1 = await register(placeOrder(name, 30_000));
    const v2 = await register(placeOrder(name, 60_000));
    expect([v1.status, v1.body.version, v2.status, v2.body.version]).toEqual([201, 1, 201, 2]);
    // Re-registering an older body is a change from the latest: a new version.
    const v3 = await register(placeOrder(name, 30_000));
    expect([v3.status, v3.body.version]).toEqual([201, 3]);

    expect(await call('GET', `/api/v1/definitions/${name}`)).toEqual({ status: 200, body: v3.body });
    expect(await call('GET', `/api/v1/definitions/${name}/versions/1`)).toEqual({ status: 200, body: v1.body });
    expect(await call('GET', `/api/v1/definitions/${name}/versions/2`)).toEqual({ status: 200, body: v2.body });
  });

  it('lists every name with its latest version, sorted by name', async () => {
    const prefix = uniqueName('list');
    const tcc: WorkflowDefinition = {
      name: `${prefix}-a.tcc`,
      type: 'tcc',
      steps: [{ id: 'reserve', participant: 'inventory', action: 'reserve' }],
    };
    await register(placeOrder(`${prefix}-b`, 1000));
    const latestOfB = await register(placeOrder(`${prefix}-b`, 2000));
    const onlyOfA = await register(tcc);

    const { status, body } = await call('GET', '/api/v1/definitions?limit=500');

    expect(status).toBe(200);
    const items = (body.items as { name: string }[]).filter((item) => item.name.startsWith(prefix));
    const registeredBy = testActor('admin');
    expect(items).toEqual([
      { name: tcc.name, latestVersion: 1, type: 'tcc', createdAt: onlyOfA.body.createdAt, registeredBy, versions: 1 },
      { name: `${prefix}-b`, latestVersion: 2, type: 'saga', createdAt: latestOfB.body.createdAt, registeredBy, versions: 2 },
    ]);

    // Pages of a bounded size follow each other by name.
    const first = await call('GET', '/api/v1/definitions?limit=1');
    const second = await call('GET', `/api/v1/definitions?limit=1&cursor=${first.body.nextCursor as string}`);
    const [a, b] = [first, second].map((page) => (page.body.items as { name: string }[])[0].name);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(-1);
    expect((await call('GET', '/api/v1/definitions?limit=501')).status).toBe(400);
  });

  it('answers an unknown definition or version with 404 DEFINITION_NOT_FOUND', async () => {
    const name = uniqueName('missing');
    const unknown = await call('GET', `/api/v1/definitions/${name}`);
    expect(unknown).toEqual({
      status: 404,
      body: { error: { code: 'DEFINITION_NOT_FOUND', message: `no definition named "${name}"` } },
    });
    await register(placeOrder(name));
    const noVersion = await call('GET', `/api/v1/definitions/${name}/versions/2`);
    expect(noVersion).toEqual({
      status: 404,
      body: { error: { code: 'DEFINITION_NOT_FOUND', message: `definition "${name}" has no version 2` } },
    });
  });

  it.each(['abc', '1.5', '0', '-1', '99999999999'])('refuses version "%s" with 400', async (version) => {
    const { status, body } = await call('GET', `/api/v1/definitions/place-order/versions/${version}`);
    expect(status).toBe(400);
    expect(body).toEqual({
      error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/^version: /), details: expect.any(Array) },
    });
  });

  it('refuses an invalid definition with 400 naming every problem at once, and stores nothing', async () => {
    const name = uniqueName('invalid');
    const { status, body } = await register({
      name,
      type: 'saga',
      steps: [
        { id: 'a', participant: 'order', action: 'create', dependsOn: ['b'] },
        { id: 'b', participant: 'inventory', action: 'reserve', dependsOn: ['a'] },
        { id: 'c', participant: 'payment', action: 'charge', dependsOn: ['ghost'] },
        { id: 'c', participant: 'payment', action: 'refund' },
        { id: 'd', participant: 'order', action: 'confirm', retry: { initialDelayMs: 500, maxDelayMs: 100 } },
      ],
    });

    expect(status).toBe(400);
    expect(body).toEqual({
      error: {
        code: 'INVALID_DEFINITION',
        message: 'invalid definition: 4 problems',
        details: expect.arrayContaining([
          { path: 'steps[3].id', code: 'duplicate_step_id', message: expect.any(String) },
          { path: 'steps[2].dependsOn[0]', code: 'unknown_dependency', message: expect.any(String) },
          { path: 'steps[0].dependsOn', code: 'dependency_cycle', message: expect.stringContaining('a → b → a') },
          { path: 'steps[4].retry.maxDelayMs', code: 'invalid_retry_policy', message: expect.any(String) },
        ]),
      },
    });
    expect((await call('GET', `/api/v1/definitions/${name}`)).status).toBe(404);
  });

  it('refuses a string containing U+0000 with 400 (jsonb cannot store it)', async () => {
    const definition = placeOrder(uniqueName('nul'));
    const { status, body } = await register({ ...definition, steps: [{ ...definition.steps[0], input: { note: 'a\u0000b' } }] });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'INVALID_DEFINITION' } });
  });

  it('answers malformed JSON with 400 in the error shape', async () => {
    const { status, body } = await register('{"name": "place-order", ');
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
  });

  it('gives 20 concurrent registrations of one name the versions 1..20, each its own', async () => {
    const name = uniqueName('concurrent');
    const bodies = Array.from({ length: 20 }, (_, i) => placeOrder(name, 1000 + i));

    const responses = await Promise.all(bodies.map(register));

    expect(responses.map((r) => r.status)).toEqual(bodies.map(() => 201));
    const versions = responses.map((r) => r.body.version as number);
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const [i, response] of responses.entries()) {
      const stored = await call('GET', `/api/v1/definitions/${name}/versions/${versions[i]}`);
      expect(stored.body.definition).toEqual(bodies[i]);
      expect(stored.body).toEqual(response.body);
    }
  });

  it('diffs two versions step by step and counts the running transactions of each version', async () => {
    const name = uniqueName('versions');
    const v1 = placeOrder(name);
    const [create, reserve, charge, confirm] = v1.steps;
    const v2 = { ...v1, timeoutMs: 60_000, steps: [create, reserve, { ...charge, timeoutMs: 9_000, dependsOn: ['create-order', 'reserve-stock'] }] };
    expect((await register(v1)).status).toBe(201);
    expect((await register(v2)).status).toBe(201);
    for (const version of [1, 1, 2]) {
      expect((await call('POST', '/api/v1/transactions', { definition: name, version, input: {} })).status).toBe(201);
    }

    const versions = await call('GET', `/api/v1/definitions/${name}/versions`);
    expect(versions.status).toBe(200);
    expect(versions.body.items).toEqual([
      { version: 2, createdAt: expect.any(String), registeredBy: testActor('admin'), running: 1 },
      { version: 1, createdAt: expect.any(String), registeredBy: testActor('admin'), running: 2 },
    ]);

    const diff = await call('GET', `/api/v1/definitions/${name}/diff?from=1&to=2`);
    expect(diff).toEqual({
      status: 200,
      body: {
        name,
        from: 1,
        to: 2,
        fields: [{ path: 'timeoutMs', kind: 'changed', from: 30_000, to: 60_000 }],
        steps: [
          {
            id: 'charge',
            kind: 'changed',
            fields: [
              { path: 'dependsOn', kind: 'changed', from: ['create-order'], to: ['create-order', 'reserve-stock'] },
              { path: 'timeoutMs', kind: 'added', to: 9_000 },
            ],
          },
          { id: 'confirm-order', kind: 'removed', fields: expect.arrayContaining([{ path: 'action', kind: 'removed', from: confirm.action }]) },
        ],
      },
    });
    expect((await call('GET', `/api/v1/definitions/${name}/diff?from=2&to=2`)).body).toMatchObject({ fields: [], steps: [] });
    expect((await call('GET', `/api/v1/definitions/${name}/diff?from=1&to=3`)).status).toBe(404);
    expect((await call('GET', `/api/v1/definitions/${name}/diff?from=1`)).status).toBe(400);
    expect((await call('GET', `/api/v1/definitions/${uniqueName('none')}/versions`)).status).toBe(404);
  });

  it('publishes the definitions API in the OpenAPI document', async () => {
    const response = await fetch(`${baseUrl}/api/docs/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/api/v1/definitions', '/api/v1/definitions/{name}', '/api/v1/definitions/{name}/versions/{version}']),
    );
    expect(Object.keys(document.paths['/api/v1/definitions'])).toEqual(expect.arrayContaining(['get', 'post']));
  });
});
