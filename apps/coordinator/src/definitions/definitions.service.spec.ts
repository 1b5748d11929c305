import { HttpStatus } from '@nestjs/common';
import { createHash } from 'crypto';
import { ApiError, AppConfig, MessageBus, MissingTopics } from '@ordo/platform';
import { canonicalDefinition } from '../engine';
import { DefinitionCandidate, DefinitionRepository, Registration, StoredDefinition } from './definition.repository';
import { DefinitionsService } from './definitions.service';
import { PLACE_ORDER_DEFINITION } from './dto/definition.dto';

/** Records what the service hands to persistence; versioning itself is covered end to end. */
function service(found?: StoredDefinition, missingTopics: string[] = []) {
  const candidates: DefinitionCandidate[] = [];
  const repository: Pick<DefinitionRepository, 'register' | 'find' | 'list'> = {
    register: async (candidate): Promise<Registration> => {
      candidates.push(candidate);
      const { name, type } = candidate.definition;
      return {
        created: true,
        stored: { name, type, version: 1, createdAt: new Date(0), registeredBy: candidate.registeredBy, definition: candidate.definition },
      };
    },
    find: async () => found,
    list: async () => [],
  };
  const topics: string[] = [];
  const bus = {
    ensureTopics: async (names: { commands: string[] }) => {
      if (missingTopics.length > 0) throw new MissingTopics(missingTopics);
      topics.push(...names.commands);
    },
  } as unknown as MessageBus;
  const config = { KAFKA_TOPIC_PREFIX: 'p.' } as AppConfig;
  return { candidates, topics, definitions: new DefinitionsService(repository as DefinitionRepository, bus, config) };
}

/** The same JSON with the keys of every object in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, item]) => [key, reverseKeys(item)]),
  );
}

async function errorOf(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return { status: error.getStatus(), body: error.getResponse() };
}

describe('DefinitionsService', () => {
  it('stores the canonical text with its sha256, whatever the key order of the body', async () => {
    const { candidates, definitions } = service();
    const reordered = reverseKeys(PLACE_ORDER_DEFINITION);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(PLACE_ORDER_DEFINITION));
    await definitions.register(PLACE_ORDER_DEFINITION, 'ann');
    await definitions.register(reordered, 'ann');

    const canonical = canonicalDefinition(PLACE_ORDER_DEFINITION);
    const expected = { canonical, bodyHash: createHash('sha256').update(canonical).digest('hex') };
    expect(candidates.map(({ canonical, bodyHash }) => ({ canonical, bodyHash }))).toEqual([expected, expected]);
  });

  it("creates its participants' command topics before storing it", async () => {
    const { topics, definitions } = service();
    await definitions.register(PLACE_ORDER_DEFINITION, 'ann');
    const participants = new Set(PLACE_ORDER_DEFINITION.steps.map((step) => step.participant));
    expect(topics.sort()).toEqual([...participants].map((p) => `p.${p}.commands`).sort());
  });

  it('refuses a definition whose command topics are missing while topic creation is off, naming them', async () => {
    const { candidates, definitions } = service(undefined, ['p.payment.commands']);
    const { status, body } = await errorOf(definitions.register(PLACE_ORDER_DEFINITION, 'ann'));
    expect(status).toBe(HttpStatus.CONFLICT);
    expect(body).toEqual({
      error: { code: 'TOPICS_MISSING', message: expect.stringContaining('p.payment.commands'), details: [{ topic: 'p.payment.commands' }] },
    });
    expect(candidates).toEqual([]);
  });

  it('refuses an invalid body with every problem and stores nothing', async () => {
    const { candidates, topics, definitions } = service();
    const { status, body } = await errorOf(definitions.register({ name: 'Bad Name', type: 'saga', steps: [], extra: 1 }, 'ann'));
    expect(status).toBe(HttpStatus.BAD_REQUEST);
    expect(body).toEqual({
      error: {
        code: 'INVALID_DEFINITION',
        message: 'invalid definition: 3 problems',
        details: [
          { path: 'extra', code: 'unknown_field', message: expect.any(String) },
          { path: 'name', code: 'invalid_format', message: expect.any(String) },
          { path: 'steps', code: 'no_steps', message: expect.any(String) },
        ],
      },
    });
    expect(topics).toEqual([]);
    expect(candidates).toEqual([]);
  });

  it.each([
    ['U+0000', 'a\u0000b'],
    ['an unpaired surrogate', 'cut \ud83d'],
  ])('refuses %s, which PostgreSQL cannot store in jsonb', async (_name, note) => {
    const { candidates, definitions } = service();
    const [step] = PLACE_ORDER_DEFINITION.steps;
    const body = { ...PLACE_ORDER_DEFINITION, steps: [{ ...step, input: { note } }] };
    const { status, body: error } = await errorOf(definitions.register(body, 'ann'));
    expect(status).toBe(HttpStatus.BAD_REQUEST);
    expect(error).toMatchObject({ error: { code: 'INVALID_DEFINITION', details: [{ path: 'steps[0].input.note', code: 'invalid_value' }] } });
    expect(candidates).toEqual([]);
  });

  it('answers a missing definition or version with DEFINITION_NOT_FOUND', async () => {
    const { definitions } = service();
    expect(await errorOf(definitions.get('nope'))).toEqual({
      status: HttpStatus.NOT_FOUND,
      body: { error: { code: 'DEFINITION_NOT_FOUND', message: 'no definition named "nope"' } },
    });
    expect(await errorOf(definitions.get('nope', 3))).toEqual({
      status: HttpStatus.NOT_FOUND,
      body: { error: { code: 'DEFINITION_NOT_FOUND', message: 'definition "nope" has no version 3' } },
    });
  });
});
