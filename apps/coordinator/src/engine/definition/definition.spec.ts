import { BUILT_IN_DEFAULTS, resolveDefinition, WorkflowDefinition } from './definition';

describe('resolveDefinition', () => {
  const definition: WorkflowDefinition = {
    name: 'place-order',
    type: 'saga',
    defaults: { timeoutMs: 5000, retry: { maxAttempts: 5, initialDelayMs: 100 } },
    steps: [
      { id: 'a', participant: 'order', action: 'create', compensation: 'cancel' },
      { id: 'b', participant: 'payment', action: 'charge', dependsOn: ['a'], timeoutMs: 700, retry: { maxAttempts: 1 } },
    ],
  };

  it('applies step values over defaults over built-in values, field by field', () => {
    const [a, b] = resolveDefinition(definition).steps;
    expect(a).toEqual({
      id: 'a',
      participant: 'order',
      action: 'create',
      compensation: 'cancel',
      dependsOn: [],
      input: null,
      timeoutMs: 5000,
      adaptiveTimeout: null,
      retry: { ...BUILT_IN_DEFAULTS.retry, maxAttempts: 5, initialDelayMs: 100 },
    });
    expect(b).toMatchObject({
      compensation: null,
      dependsOn: ['a'],
      timeoutMs: 700,
      retry: { ...BUILT_IN_DEFAULTS.retry, maxAttempts: 1, initialDelayMs: 100 },
    });
  });

  it('has no deadline unless the definition sets timeoutMs', () => {
    expect(resolveDefinition(definition).timeoutMs).toBeNull();
    expect(resolveDefinition({ ...definition, timeoutMs: 30_000 }).timeoutMs).toBe(30_000);
  });

  it('falls back to built-in values without defaults', () => {
    const [step] = resolveDefinition({ ...definition, defaults: undefined }).steps;
    expect(step).toMatchObject({ timeoutMs: BUILT_IN_DEFAULTS.timeoutMs, adaptiveTimeout: null, retry: BUILT_IN_DEFAULTS.retry });
  });

  it("takes a step's own timeout, fixed or adaptive, over the defaults' (either form), with the built-in percentile and factor", () => {
    const adaptiveTimeout = { minMs: 200, maxMs: 4000 };
    const [a, b, c] = resolveDefinition({
      ...definition,
      defaults: { adaptiveTimeout },
      steps: [
        { id: 'a', participant: 'order', action: 'create' },
        { id: 'b', participant: 'order', action: 'confirm', timeoutMs: 700 },
        { id: 'c', participant: 'order', action: 'ship', adaptiveTimeout: { minMs: 50, maxMs: 100, percentile: 90, factor: 3 } },
      ],
    }).steps;
    expect(a).toMatchObject({ timeoutMs: 4000, adaptiveTimeout: { minMs: 200, maxMs: 4000, percentile: 99, factor: 2 } });
    expect(b).toMatchObject({ timeoutMs: 700, adaptiveTimeout: null });
    expect(c).toMatchObject({ timeoutMs: 100, adaptiveTimeout: { minMs: 50, maxMs: 100, percentile: 90, factor: 3 } });
    const [fixed] = resolveDefinition({ ...definition, steps: [{ id: 'a', participant: 'order', action: 'create', adaptiveTimeout }] }).steps;
    expect(fixed.adaptiveTimeout).toEqual({ ...adaptiveTimeout, percentile: 99, factor: 2 });
  });
});
