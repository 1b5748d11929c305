import fc from 'fast-check';
import placeOrder from '../../../../order/place-order.saga.json';
import { DEFINITION_LIMITS, Problem, validateDefinition } from './definition-validator';

type Body = Record<string, unknown>;
const withSteps = (steps: unknown[], extra: Body = {}): Body => ({ name: 'n', type: 'saga', steps, ...extra });
const step = (id: string, extra: Body = {}): Body => ({ id, participant: 'svc', action: 'run', ...extra });

function problemsOf(body: unknown): readonly Problem[] {
  const result = validateDefinition(body);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

function codesAt(body: unknown): string[] {
  return problemsOf(body).map((problem) => `${problem.path}: ${problem.code}`);
}

describe('validateDefinition', () => {
  it('accepts the design example and returns exactly what was given', () => {
    const result = validateDefinition(placeOrder);
    expect(result).toEqual({ ok: true, definition: placeOrder });
  });

  it('accepts tcc and 2pc steps without compensation', () => {
    expect(validateDefinition(withSteps([step('a')], { type: 'tcc' })).ok).toBe(true);
    expect(validateDefinition(withSteps([step('a')], { type: '2pc' })).ok).toBe(true);
  });

  it.each([null, [], 'text', 42])('refuses a body that is not an object: %p', (body) => {
    expect(codesAt(body)).toEqual([': invalid_type']);
  });

  it('reports every problem of a broken definition at once', () => {
    const body = {
      name: 'Bad Name',
      type: 'xa',
      timeoutMs: -1,
      color: 'blue',
      defaults: { timeoutMs: 1.5, retry: { maxAttempts: 0, multiplier: 0.5, jitter: 'some', backoff: 1 } },
      steps: [
        step('a', { participant: 'Bad_Participant', dependsOn: ['a', 'ghost', 'ghost'] }),
        step('a', { action: '' }),
        { id: 'b.c', participant: 'svc', extra: true, dependsOn: [3, 'a'] },
      ],
    };
    expect(codesAt(body)).toEqual([
      'color: unknown_field',
      'name: invalid_format',
      'type: invalid_value',
      'timeoutMs: out_of_range',
      'defaults.timeoutMs: invalid_type',
      'defaults.retry.backoff: unknown_field',
      'defaults.retry.maxAttempts: out_of_range',
      'defaults.retry.multiplier: out_of_range',
      'defaults.retry.jitter: invalid_value',
      'steps[0].participant: invalid_format',
      'steps[0].dependsOn[2]: duplicate_dependency',
      'steps[1].action: invalid_format',
      'steps[2].extra: unknown_field',
      'steps[2].id: invalid_format',
      'steps[2].action: required',
      'steps[2].dependsOn[0]: invalid_type',
      'steps[1].id: duplicate_step_id',
      'steps[0].dependsOn[0]: self_dependency',
      'steps[0].dependsOn[1]: unknown_dependency',
      'steps[0].dependsOn[2]: unknown_dependency',
    ]);
  });

  it('requires name, type and steps', () => {
    expect(codesAt({})).toEqual(['name: required', 'type: required', 'steps: required']);
  });

  it('refuses an empty list of steps and too many steps', () => {
    expect(codesAt(withSteps([]))).toEqual(['steps: no_steps']);
    const many = Array.from({ length: DEFINITION_LIMITS.maxSteps + 1 }, (_, i) => step(`s${i}`));
    expect(codesAt(withSteps(many))).toEqual(['steps: too_many_steps']);
    expect(validateDefinition(withSteps(many.slice(1))).ok).toBe(true);
  });

  it('names the steps of a dependency cycle', () => {
    const problems = problemsOf(
      withSteps([step('a', { dependsOn: ['c'] }), step('b', { dependsOn: ['a'] }), step('c', { dependsOn: ['b'] }), step('d')]),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'steps[0].dependsOn', code: 'dependency_cycle' });
    expect(problems[0].message).toContain('a → c → b → a');
  });

  it('checks timeouts are positive integers with an upper bound', () => {
    expect(codesAt(withSteps([step('a', { timeoutMs: 0 })]))).toEqual(['steps[0].timeoutMs: out_of_range']);
    expect(codesAt(withSteps([step('a', { timeoutMs: '5s' })]))).toEqual(['steps[0].timeoutMs: invalid_type']);
    expect(codesAt(withSteps([step('a', { timeoutMs: DEFINITION_LIMITS.maxStepTimeoutMs + 1 })]))).toEqual(['steps[0].timeoutMs: out_of_range']);
    expect(codesAt(withSteps([step('a')], { timeoutMs: Number.MAX_SAFE_INTEGER }))).toEqual(['timeoutMs: out_of_range']);
  });

  describe('retry policy', () => {
    const retry = (policy: Body, defaults?: Body): string[] =>
      codesAt(withSteps([step('a', { retry: policy })], defaults ? { defaults: { retry: defaults } } : {}));

    it('checks each field', () => {
      expect(retry({ maxAttempts: 1.5, initialDelayMs: -1, multiplier: 11, maxDelayMs: 'x' })).toEqual([
        'steps[0].retry.maxAttempts: invalid_type',
        'steps[0].retry.initialDelayMs: out_of_range',
        'steps[0].retry.multiplier: out_of_range',
        'steps[0].retry.maxDelayMs: invalid_type',
      ]);
    });

    it('needs maxDelayMs ≥ initialDelayMs once layered over the defaults', () => {
      expect(retry({ initialDelayMs: 500, maxDelayMs: 100 })).toEqual(['steps[0].retry.maxDelayMs: invalid_retry_policy']);
      expect(retry({ initialDelayMs: 500 }, { maxDelayMs: 200 })).toEqual(['steps[0].retry.maxDelayMs: invalid_retry_policy']);
      expect(codesAt(withSteps([step('a')], { defaults: { retry: { initialDelayMs: 20_000 } } }))).toEqual([
        'defaults.retry.maxDelayMs: invalid_retry_policy',
      ]);
      expect(validateDefinition(withSteps([step('a', { retry: { initialDelayMs: 20_000, maxDelayMs: 20_000 } })])).ok).toBe(true);
    });
  });

  describe('adaptive timeout', () => {
    const adaptive = (timeout: unknown, extra: Body = {}): string[] => codesAt(withSteps([step('a', { adaptiveTimeout: timeout, ...extra })]));

    it('is accepted on a step and in the defaults, with or without percentile and factor', () => {
      const full = { minMs: 200, maxMs: 5000, percentile: 99.9, factor: 1.5 };
      const body = withSteps([step('a', { adaptiveTimeout: full }), step('b')], { defaults: { adaptiveTimeout: { minMs: 1, maxMs: 1 } } });
      expect(validateDefinition(body)).toEqual({ ok: true, definition: body });
    });

    it('checks each field, and needs minMs and maxMs', () => {
      expect(adaptive({ minMs: 0, maxMs: 1.5, percentile: 49, factor: 11, slack: 1 })).toEqual([
        'steps[0].adaptiveTimeout.slack: unknown_field',
        'steps[0].adaptiveTimeout.minMs: out_of_range',
        'steps[0].adaptiveTimeout.maxMs: invalid_type',
        'steps[0].adaptiveTimeout.percentile: out_of_range',
        'steps[0].adaptiveTimeout.factor: out_of_range',
      ]);
      expect(adaptive({ percentile: 101 })).toEqual([
        'steps[0].adaptiveTimeout.minMs: required',
        'steps[0].adaptiveTimeout.maxMs: required',
        'steps[0].adaptiveTimeout.percentile: out_of_range',
      ]);
      expect(adaptive(300)).toEqual(['steps[0].adaptiveTimeout: invalid_type']);
      expect(adaptive({ minMs: 1, maxMs: DEFINITION_LIMITS.maxStepTimeoutMs + 1 })).toEqual(['steps[0].adaptiveTimeout.maxMs: out_of_range']);
    });

    it('refuses a factor of 1, which could never outgrow the timeouts it observes', () => {
      expect(problemsOf(withSteps([step('a', { adaptiveTimeout: { minMs: 1, maxMs: 2, factor: 1 } })]))).toEqual([
        { path: 'steps[0].adaptiveTimeout.factor', code: 'out_of_range', message: 'must be greater than 1' },
      ]);
    });

    it('needs maxMs ≥ minMs', () => {
      expect(problemsOf(withSteps([step('a')], { defaults: { adaptiveTimeout: { minMs: 500, maxMs: 499 } } }))).toEqual([
        { path: 'defaults.adaptiveTimeout.maxMs', code: 'invalid_adaptive_timeout', message: 'maxMs (499) must be at least minMs (500)' },
      ]);
    });

    it('is either that or timeoutMs at one level, while a step may override the defaults in either form', () => {
      expect(adaptive({ minMs: 1, maxMs: 2 }, { timeoutMs: 100 })).toEqual(['steps[0].adaptiveTimeout: not_applicable']);
      expect(codesAt(withSteps([step('a')], { defaults: { timeoutMs: 100, adaptiveTimeout: { minMs: 1, maxMs: 2 } } }))).toEqual([
        'defaults.adaptiveTimeout: not_applicable',
      ]);
      const overriding = withSteps([step('a', { timeoutMs: 100 })], { defaults: { adaptiveTimeout: { minMs: 1, maxMs: 2 } } });
      expect(validateDefinition(overriding).ok).toBe(true);
    });
  });

  describe('compensation', () => {
    it('is optional in a saga: a step without one is a pivot', () => {
      expect(validateDefinition(withSteps([step('a')])).ok).toBe(true);
    });

    it('does not belong to tcc or 2pc steps, whose undo phases are implicit', () => {
      expect(codesAt(withSteps([step('a', { compensation: 'undo' })], { type: 'tcc' }))).toEqual(['steps[0].compensation: not_applicable']);
      expect(codesAt(withSteps([step('a', { compensation: 'undo' })], { type: '2pc' }))).toEqual(['steps[0].compensation: not_applicable']);
    });
  });

  describe('input mapping', () => {
    const mapped = (input: unknown, dependsOn: string[] = ['a']): string[] =>
      codesAt(withSteps([step('a'), step('b'), step('c', { dependsOn, input })]));

    it('accepts references to the input and to ancestors, directly or transitively', () => {
      const body = withSteps([
        step('a'),
        step('b', { dependsOn: ['a'] }),
        step('c', {
          dependsOn: ['b'],
          input: { x: '$.steps.a.output.id', y: ['$.steps.b.output', { z: '$.input' }], n: 1 },
        }),
      ]);
      expect(validateDefinition(body).ok).toBe(true);
    });

    it('refuses a reference to a step that is not an ancestor', () => {
      expect(mapped({ x: '$.steps.b.output' })).toEqual(['steps[2].input.x: reference_not_ancestor']);
      expect(mapped({ x: '$.steps.c.output' })).toEqual(['steps[2].input.x: reference_not_ancestor']);
    });

    it('refuses a reference to an unknown step and a malformed reference', () => {
      expect(mapped({ x: { y: '$.steps.ghost.output' }, 'odd key': ['$.input..a'] })).toEqual([
        'steps[2].input["odd key"][0]: invalid_reference',
        'steps[2].input.x.y: unknown_step_reference',
      ]);
    });

    it('refuses a mapping that is not an object, or too deep', () => {
      expect(mapped(['$.input'])).toEqual(['steps[2].input: invalid_type']);
      let deep: unknown = 1;
      for (let i = 0; i < DEFINITION_LIMITS.maxMappingDepth + 5; i++) deep = [deep];
      expect(mapped({ deep })).toHaveLength(1);
      expect(mapped({ deep })[0]).toMatch(/: out_of_range$/);
    });

    it('refuses values that are not JSON', () => {
      expect(mapped({ x: Number.NaN, y: () => 1 })).toEqual(['steps[2].input.x: invalid_type', 'steps[2].input.y: invalid_type']);
    });
  });
});

describe('validateDefinition on arbitrary input', () => {
  const paths = (value: unknown, prefix: string[] = []): string[][] =>
    value !== null && typeof value === 'object'
      ? [prefix, ...Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key]))]
      : [prefix];

  const replaceAt = (value: unknown, [key, ...rest]: string[], replacement: unknown): unknown => {
    if (key === undefined) return replacement;
    const copy = (Array.isArray(value) ? [...value] : { ...(value as Body) }) as Body;
    copy[key] = replaceAt(copy[key], rest, replacement);
    return copy;
  };

  it('never throws, and always explains a refusal', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (body) => {
        const result = validateDefinition(body);
        expect(result.ok || result.problems.length > 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws when any part of a valid definition is replaced by random JSON', () => {
    const all = paths(placeOrder);
    fc.assert(
      fc.property(fc.nat(all.length - 1), fc.jsonValue({ maxDepth: 3 }), (index, replacement) => {
        const result = validateDefinition(replaceAt(placeOrder, all[index], replacement));
        if (!result.ok) expect(result.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });
});
